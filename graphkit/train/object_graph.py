"""Checkpoint keys: paths through the object graph (``tf.train.Checkpoint``'s model).

A variable's key is the path of attribute-like names from a root object to it, joined by ``/``
(``model/encoder/dense_1/kernel``). Names along the path:

- a root: its keyword in ``Checkpoint(model=..., optimizer=...)`` (no root name in model files:
  ``model.save``/``save_weights`` keys start inside the model);
- a layer's own weights (``add_weight``): the weight's name (``kernel``, ``bias``, ``gamma``,
  ``moving_mean``...), ``_1``, ``_2``... appended when a layer has two weights of one name;
- a Functional or Sequential model's layers: ``layers/<class>`` where ``<class>`` is the layer's
  class in snake_case numbered within the model as Keras 3's weights files do (``layers/dense``,
  ``layers/dense_1``, ``layers/conv2d``; the InputLayer has no weights, so no key). Keys therefore
  do not depend on the auto-generated layer names (``dense_7``), only on the architecture;
- any other attribute of a Module/Layer (a subclassed model's ``self.encoder``, a tf.Module-style
  ``self.w``): the attribute name; inside a list or tuple a Module is named by its class like
  model layers and anything else by its index (``blocks/dense_1``, ``ws/0``); inside a dict by
  its key (``/`` escaped as ``%2F``);
- an optimizer (anything with ``variables`` and ``apply_gradients``/``build``): ``vars/<i>`` for
  its i-th variable, as Keras 3 writes them (iterations, the learning rate, then the slots in build
  order); a compiled model's ``optimizer`` is followed too (``model/optimizer/vars/0``). Metrics
  and losses are not (the trainer lists them in ``_TRACKING_IGNORED``).

Objects are visited breadth-first from the roots in sorted root-name order and each object gets
its shortest path only (so a layer shared by two roots or two models is stored once), exactly
like TensorFlow's object-based checkpoints.
"""
from __future__ import annotations

import re
from collections import deque
from typing import Any, Iterator

from ..engine.variable import Variable
from ..module import Module

_SNAKE_1 = re.compile(r"(.)([A-Z][a-z]+)")
_SNAKE_2 = re.compile(r"([a-z])([A-Z])")


def class_key(obj: Any) -> str:
    """Keras's snake_case of the class name (``UpSampling2D`` -> ``up_sampling2d``)."""
    name = re.sub(r"\W+", "", type(obj).__name__)
    return _SNAKE_2.sub(r"\1_\2", _SNAKE_1.sub(r"\1_\2", name)).lower()


def escape(name: Any) -> str:
    return str(name).replace("%", "%25").replace("/", "%2F")


def is_optimizer(obj: Any) -> bool:
    """Duck-typed Keras optimizer: holds ``variables`` and applies gradients."""
    if isinstance(obj, (Variable, type)):
        return False
    cls = type(obj)
    return hasattr(cls, "apply_gradients") and hasattr(cls, "build") and hasattr(obj, "variables")


def is_trackable(obj: Any) -> bool:
    return isinstance(obj, (Variable, Module)) or is_optimizer(obj)


# Attributes never followed: bookkeeping that points back at parents or at pending restores.
_SKIPPED = frozenset({"_pending_restore", "_name_scope", "_parent_models"})
_SKIPPED_IN_LAYERS = _SKIPPED | {"_trainable_created", "_non_trainable_created", "_inbound_nodes", "_outbound_nodes",
                                 "input_spec"}
# A Functional/Sequential model's layers are walked as "layers/..."; its copies of them are skipped.
_SKIPPED_IN_MODELS = _SKIPPED_IN_LAYERS | {"_layers", "_stack", "_functional_cache", "_input_layer"}


def _unique(name: str, used: set[str]) -> str:
    if name not in used:
        used.add(name)
        return name
    count = 1
    while f"{name}_{count}" in used:
        count += 1
    name = f"{name}_{count}"
    used.add(name)
    return name


def _container(prefix: str, value: Any, used_in: set[str] | None = None) -> Iterator[tuple[str, Any]]:
    """(relative name, object) for trackables inside nested lists/tuples/dicts."""
    if isinstance(value, (list, tuple)):
        used: set[str] = set()
        for index, item in enumerate(value):
            if isinstance(item, Module) and not isinstance(item, Variable):
                yield from _container(f"{prefix}/{_unique(class_key(item), used)}", item)
            elif isinstance(item, (list, tuple, dict)):
                yield from _container(f"{prefix}/{index}", item)
            elif is_trackable(item):
                yield f"{prefix}/{index}", item
    elif isinstance(value, dict):
        for key in sorted(value, key=str):
            yield from _container(f"{prefix}/{escape(key)}", value[key])
    elif is_trackable(value):
        yield prefix, value


def own_weight_names(layer: Any) -> list[tuple[str, Variable]]:
    """A layer's own weights with their keys (names from add_weight, deduplicated)."""
    used: set[str] = set()
    out = []
    for variable in [*layer.__dict__.get("_trainable_created", ()), *layer.__dict__.get("_non_trainable_created", ())]:
        short = escape(str(variable.name).rsplit("/", 1)[-1] or "variable")
        out.append((_unique(short, used), variable))
    return out


def children(obj: Any) -> Iterator[tuple[str, Any]]:
    """(name, child) edges leaving ``obj``, in a deterministic order; names may hold ``/`` (containers)."""
    if isinstance(obj, Variable):
        return
    if is_optimizer(obj):
        for index, variable in enumerate(list(obj.variables)):
            yield f"vars/{index}", variable
        return
    if not isinstance(obj, Module):
        return
    from ..layers.layer import Layer
    used: set[str] = set()
    state = vars(obj)
    skipped = _SKIPPED
    if isinstance(obj, Layer):
        skipped = _SKIPPED_IN_LAYERS
        for name, variable in own_weight_names(obj):
            used.add(name)
            yield name, variable
        layers = _model_layers(obj)
        if layers is not None:
            skipped = _SKIPPED_IN_MODELS
            used.add("layers")
            yield from _container("layers", layers)
        optimizer = state.get("optimizer")
        if optimizer is not None and is_optimizer(optimizer):  # a compiled model's optimizer, as in TF
            used.add("optimizer")
            yield "optimizer", optimizer
        keys = list(state)
    else:
        keys = sorted(state)
    ignored = getattr(type(obj), "_TRACKING_IGNORED", frozenset())
    for key in keys:
        if key in skipped or key in ignored:
            continue
        value = state[key]
        if not isinstance(value, (list, tuple, dict)) and not is_trackable(value):
            continue
        name = _unique(escape(key), used) if key in used else key
        used.add(name)
        yield from _container(name, value)


def _model_layers(obj: Any) -> list | None:
    """The layers of a Functional or Sequential model (None for other layers)."""
    from ..models.functional import Functional
    from ..models.sequential import Sequential
    if isinstance(obj, Sequential):
        return list(obj.__dict__.get("_stack", ()))
    if isinstance(obj, Functional):
        return list(obj.__dict__.get("_layers", ()))
    return None


class ObjectGraph:
    """Every trackable object reachable from ``roots`` with its key (shortest path, BFS)."""

    def __init__(self, roots: dict[str, Any]) -> None:
        self.objects: dict[str, Any] = {}
        seen: dict[int, str] = {}
        queue: deque = deque()
        for name in sorted(roots):
            obj = roots[name]
            if id(obj) in seen:
                continue
            seen[id(obj)] = name
            self.objects[name] = obj
            queue.append((name, obj))
        while queue:
            path, obj = queue.popleft()
            for name, child in children(obj):
                if id(child) in seen:
                    continue
                key = f"{path}/{name}" if path else name
                seen[id(child)] = key
                self.objects[key] = child
                if not isinstance(child, Variable):
                    queue.append((key, child))
        self.keys_by_id = seen

    @property
    def variables(self) -> dict[str, Variable]:
        return {k: v for k, v in self.objects.items() if isinstance(v, Variable) and k}

    def owner(self, key: str) -> tuple[str, Any] | None:
        """The deepest existing non-variable object on the path of ``key`` (``(its key, object)``)."""
        parts = key.split("/")
        for cut in range(len(parts) - 1, -1, -1):
            prefix = "/".join(parts[:cut])
            obj = self.objects.get(prefix)
            if obj is not None and not isinstance(obj, Variable):
                return prefix, obj
        return None
