"""Keras 3's weights layout: ``model.weights.h5`` inside ``.keras`` files, and ``.weights.h5`` files.

Keras 3 (``keras/src/saving/saving_lib.py``) stores every object's own variables as HDF5 datasets
``<object path>/vars/<i>``, where the object path follows attributes from the model (a Functional
or Sequential model's layers as ``layers/<class in snake_case>[_<n>]``, a recurrent layer's cell
as ``cell``, the compiled model's optimizer as ``optimizer``) and ``i`` counts the object's
variables, trainable ones first, in creation order. Each object gets a ``vars`` group (also when
it has no variables) whose ``name`` attribute is the object's name.

graphkit's object paths (:mod:`graphkit.train.object_graph`) number layers the same way, so the
layout is graphkit's weight keys with the weight names replaced by their index. Two places
differ and are translated here: graphkit's SimpleRNN/LSTM/GRU hold the cell's weights
themselves (Keras: ``<rnn>/cell/vars/<i>``), and Keras creates the slots an optimizer asks for
in one call interleaved per model variable (Adam's momentum and velocity: ``m0, v0, m1, v1``)
where graphkit keeps one block per slot name; Keras's slots follow its ``model.layers`` order
(``map_graph``'s depth order), graphkit's the order the model runs its layers.

Reading checks the whole file (every dataset is read, and must fit the model) before any
variable changes; a corrupt or truncated file is one :class:`FileFormatError`.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy

from .archive import FileFormatError

WEIGHTS_H5_NAME = "model.weights.h5"
WEIGHTS_H5_SUFFIX = ".weights.h5"
_OPTIMIZER = "optimizer"
# Slot names Keras's optimizers create in one add_optimizer_variables call (interleaved per variable).
_INTERLEAVED_SLOTS = (("momentum", "velocity"),)


def _h5py():
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - h5py is a dependency
        raise ImportError("Keras's weights files (.keras, .weights.h5) need h5py: pip install h5py.") from exc
    return h5py


# ------------------------------------------------------------------------------ layout
@dataclass
class KerasLayout:
    """Where a model's variables go in Keras's HDF5 file.

    ``datasets``: graphkit weight key -> HDF5 dataset path; ``groups``: ``vars`` group path ->
    the object name Keras records on it; ``owners``: the object paths whose ``vars`` the model
    fills (a dataset under one of them that the model lacks is unexpected); ``variable_order``:
    variable id -> position in Keras's ``model.variables`` order (which its optimizer slots follow).
    """

    datasets: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    owners: set[str] = field(default_factory=set)
    variable_order: dict[int, int] = field(default_factory=dict)

    def add_object(self, path: str, name: str, keys: list[str]) -> None:
        """Record the object at ``path`` whose variables have the weight ``keys``, in Keras's order."""
        group = f"{path}/vars" if path else "vars"
        self.groups[group] = name
        self.owners.add(path)
        for index, key in enumerate(keys):
            self.datasets[key] = f"{group}/{index}"


def _is_rnn(layer: Any) -> bool:
    from ..layers.recurrent import _RNNBase
    return isinstance(layer, _RNNBase)


def keras_layout(model: Any, include_optimizer: bool = True) -> KerasLayout:
    """The Keras 3 HDF5 layout of ``model``'s (built) variables, keyed by graphkit's weight keys."""
    from ..train.object_graph import ObjectGraph
    graph = ObjectGraph({"": model})
    layout = KerasLayout()
    for variable in _variables_in_keras_order(model, set()):
        layout.variable_order.setdefault(id(variable), len(layout.variable_order))
    _place(model, "", graph.keys_by_id, layout, set(), include_optimizer)
    unplaced = [k for k in graph.variables if k not in layout.datasets
                and (include_optimizer or not k.startswith(_OPTIMIZER + "/"))]
    if unplaced:
        raise ValueError(f"Model '{getattr(model, 'name', model)}' has variables outside Keras's layout (not "
                         f"created by a layer's add_weight or by its optimizer): {unplaced}. Save it as '.gk' "
                         f"or '.weights.npz' instead.")
    return layout


def _place(obj: Any, path: str, key_of: dict, layout: KerasLayout, seen: set, include_optimizer: bool) -> None:
    """Keras's ``_save_state`` walk: the object's own variables, then its children depth-first
    (a model's layers first, in Keras's order), each object at the first path that reaches it."""
    from ..layers.layer import Layer
    from ..train.object_graph import class_key, is_optimizer, own_weight_names
    if id(obj) in seen:
        return
    seen.add(id(obj))
    join = (lambda name: f"{path}/{name}" if path else name)
    if is_optimizer(obj):
        order = keras_optimizer_variables(obj, layout.variable_order)
        layout.add_object(path, getattr(obj, "name", _OPTIMIZER), [key_of[id(v)] for v in order])
        return
    if not isinstance(obj, Layer):
        return
    own = [key_of[id(v)] for _, v in own_weight_names(obj) if id(v) in key_of]
    if _is_rnn(obj):  # Keras: the RNN layer holds no variables, its cell does
        layout.add_object(path, obj.name, [])
        layout.add_object(join("cell"), f"{class_key(obj)}_cell", own)
    else:
        layout.add_object(path, obj.name, own)
    for name, child in _keras_children(obj, include_optimizer and not path):
        _place(child, join(name), key_of, layout, seen, include_optimizer)


def _variables_in_keras_order(layer: Any, seen: set) -> list:
    """Keras's ``layer.variables`` order: the layer's own, then its sublayers' in the order they
    were assigned (a model's layers in Keras's ``model.layers`` order)."""
    from ..layers.layer import Layer
    from ..train.object_graph import children, own_weight_names
    if id(layer) in seen or not isinstance(layer, Layer):
        return []
    seen.add(id(layer))
    found = [v for _, v in own_weight_names(layer)]
    sublayers = _keras_ordered_layers(layer)
    if sublayers is None:
        sublayers = [child for _, child in children(layer) if isinstance(child, Layer)]
    for sublayer in sublayers:
        found.extend(_variables_in_keras_order(sublayer, seen))
    return found


def _keras_children(obj: Any, with_optimizer: bool) -> list[tuple[str, Any]]:
    """(path, child) for the layers and optimizers under ``obj``, in Keras's visiting order."""
    from ..engine.variable import Variable
    from ..train.object_graph import children, class_key, is_optimizer
    layers = _keras_ordered_layers(obj)
    named: list[tuple[str, Any]] = []
    if layers is not None:
        used: dict[str, int] = {}
        for layer in layers:
            base = class_key(layer)
            count = used.get(base)
            used[base] = 0 if count is None else count + 1
            named.append((f"layers/{base}" if count is None else f"layers/{base}_{count + 1}", layer))
    others = [(name, child) for name, child in children(obj)
              if not isinstance(child, Variable) and not (layers is not None and name.startswith("layers/"))
              and (with_optimizer or not is_optimizer(child))]
    others.sort(key=lambda item: ("~" + item[0]) if item[0].startswith("_") else item[0])
    return named + others


def _keras_ordered_layers(model: Any) -> list | None:
    """A Functional model's layers in Keras's ``model.layers`` order (``map_graph``'s depth order
    over the inputs and outputs flattened as Keras flattens them: dicts by sorted key); a
    Sequential model's layers without its InputLayer; None for other objects."""
    from ..graph.topology import Topology
    from ..layers.input_layer import InputLayer
    from ..models.functional import Functional
    from ..models.sequential import Sequential
    if isinstance(model, Sequential):
        return [layer for layer in model.layers if not isinstance(layer, InputLayer)]
    if isinstance(model, Functional):
        topology = Topology(_keras_flatten(model._inputs_struct), _keras_flatten(model._outputs_struct))
        return list(topology.depth_order)
    return None


def _keras_flatten(structure: Any) -> list:
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in _keras_flatten(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in _keras_flatten(item)]
    return [structure]


def keras_optimizer_variables(optimizer: Any, model_order: dict[int, int]) -> list:
    """The optimizer's variables in Keras 3's order: the slots follow the model's variables in
    ``model_order`` (id -> position, Keras's ``trainable_variables`` order), and slots Keras creates
    together are interleaved."""
    variables = list(optimizer.variables)
    slots: dict[str, list] = dict(getattr(optimizer, "_slots", {}))
    in_slots = {id(v) for group in slots.values() for v in group}
    ordered = [v for v in variables if id(v) not in in_slots]
    model_variables = list(getattr(optimizer, "model_variables", ()))
    positions = sorted(range(len(model_variables)),
                       key=lambda i: model_order.get(id(model_variables[i]), len(model_order) + i))
    names = list(slots)
    index = 0
    while index < len(names):
        together = next((group for group in _INTERLEAVED_SLOTS
                         if tuple(names[index:index + len(group)]) == group), (names[index],))
        if any(len(slots[n]) != len(model_variables) for n in together):
            return variables  # slots that do not follow the model variables: keep graphkit's order
        ordered.extend(slots[n][i] for i in positions for n in together)
        index += len(together)
    if len(ordered) != len(variables):  # variables this walk does not know: keep graphkit's order
        return variables
    return ordered


# ------------------------------------------------------------------------------ write
def h5_bytes(model: Any, arrays: dict[str, numpy.ndarray], include_optimizer: bool = True) -> bytes:
    """An HDF5 file in Keras 3's layout holding ``arrays`` (graphkit weight key -> values)."""
    h5py = _h5py()
    layout = keras_layout(model, include_optimizer)
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        for group, name in sorted(layout.groups.items()):
            h5.require_group(group).attrs["name"] = name
        for key, dataset in layout.datasets.items():
            if key in arrays:
                h5[dataset] = arrays[key]
    return buffer.getvalue()


# ------------------------------------------------------------------------------- read
def read_h5(source: bytes | str, label: str) -> dict[str, numpy.ndarray]:
    """Every dataset of a Keras weights file (path -> array), or one FileFormatError."""
    h5py = _h5py()
    arrays: dict[str, numpy.ndarray] = {}
    opened = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with h5py.File(opened, "r") as h5:
            def visit(name: str, obj: Any) -> None:
                if isinstance(obj, h5py.Dataset):
                    arrays[name] = numpy.asarray(obj[()])
            h5.visititems(visit)
    except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
        raise FileFormatError(f"Cannot read Keras weights file '{label}': the file is truncated, corrupt or not "
                              f"HDF5 ({type(exc).__name__}: {exc}).") from None
    return arrays


def model_arrays(model: Any, h5_arrays: dict[str, numpy.ndarray], label: str) -> dict[str, numpy.ndarray]:
    """``h5_arrays`` keyed by the model's weight keys.

    A dataset inside a ``vars`` group the model fills, but with no variable of the model, keeps
    its HDF5 path as key (so the strict check reports it as unexpected); datasets of objects
    graphkit does not keep (metrics' running totals, random seed states) are left out. The
    optimizer's values are kept only when they fit its variables one to one (it must be built to
    place Keras's slot order); otherwise they are skipped with a warning, as Keras does.
    """
    from ..layers.layer import Layer
    unbuilt = [layer.name for layer in _layers(model) if isinstance(layer, Layer) and not layer.built]
    if unbuilt:
        raise ValueError(f"Cannot load Keras weights '{label}' into model '{getattr(model, 'name', model)}': "
                         f"layers {unbuilt} are not built yet (their variables do not exist); call the model "
                         f"on data or build() it first.")
    layout = keras_layout(model)
    by_dataset = {dataset: key for key, dataset in layout.datasets.items()}
    result: dict[str, numpy.ndarray] = {}
    for path, array in h5_arrays.items():
        key = by_dataset.get(path)
        if key is not None:
            result[key] = array
        elif path.startswith("layers/") or _owner_path(path) in layout.owners:
            result[path] = array
    saved = sorted(p for p in h5_arrays if _owner_path(p) == _OPTIMIZER)
    placed = sorted(d for d in layout.datasets.values() if _owner_path(d) == _OPTIMIZER)
    if saved and placed and saved != placed:
        import warnings
        warnings.warn(f"Skipping the optimizer state in '{label}': it holds {len(saved)} optimizer variables, the "
                      f"model's optimizer has {len(placed)} (train a step or build the optimizer before loading "
                      f"to restore it).", stacklevel=4)
        result = {k: v for k, v in result.items() if not k.startswith(_OPTIMIZER + "/")}
    return result


def _owner_path(dataset: str) -> str | None:
    """``a/b`` for ``a/b/vars/0``, ``""`` for ``vars/0``, None for a dataset outside a ``vars`` group."""
    if dataset.startswith("vars/"):
        return ""
    owner, found, _ = dataset.rpartition("/vars/")
    return owner if found else None


def _layers(model: Any) -> list:
    submodules = getattr(model, "submodules", None)
    return [model, *submodules] if submodules is not None else [model]
