"""Walking a model's layer graph, shared by ``model_to_dot`` (DOT) and ``model_graph`` (JSON).

One node per layer (a shared layer once, with every call's edges); with ``expand_nested`` each
nested Functional/Sequential model becomes a group whose edges go into the inner ``InputLayer``
of the input they feed and out of the inner layer making the output they carry. Node ids are
layer names, ``"encoder/conv2d"`` inside group ``"encoder"``, made unique with ``#2``, ``#3``.
Also here: the text of shapes and activations that both pictures show.
"""
from __future__ import annotations

from typing import Any

__all__ = ["ModelWalker", "Ports", "format_shape", "shapes_text", "call_inputs", "call_outputs", "activation_name",
           "is_functional", "is_sequential", "is_expandable", "nested_input_order", "unique_id"]


# ------------------------------------------------------------------------------- text
def format_shape(shape: Any) -> str:
    """``(None, 64)``; a one-dimensional shape keeps Python's comma: ``(64,)``."""
    if shape is None:
        return "?"
    return "(" + ", ".join(str(d) for d in shape) + (",)" if len(shape) == 1 else ")")


def _structure_shapes(structure: Any) -> str:
    from ..graph.symbolic import SymbolicTensor
    if isinstance(structure, SymbolicTensor):
        return format_shape(structure.shape)
    if isinstance(structure, dict):
        return ", ".join(f"{k}: {_structure_shapes(v)}" for k, v in structure.items())
    if isinstance(structure, (list, tuple)):
        return "[" + ", ".join(_structure_shapes(v) for v in structure) + "]"
    return "?"


def shapes_text(tensors: list) -> str:
    """The shapes of some tensors: ``(None, 784)`` for one, ``[(None, 8), (None, 4)]`` for several."""
    if len(tensors) == 1:
        return format_shape(tensors[0].shape)
    return "[" + ", ".join(format_shape(t.shape) for t in tensors) + "]"


def call_inputs(node) -> str:
    """The input shapes of one recorded call (a dict of inputs as ``name: shape`` pairs)."""
    tensors = node.input_tensors
    if len(tensors) != 1 and len(node.call_args) == 1 and isinstance(node.call_args[0], dict):
        return _structure_shapes(node.call_args[0])
    return shapes_text(tensors)


def call_outputs(node) -> str:
    """The output shapes of one recorded call (lists and dicts as given)."""
    return _structure_shapes(node.outputs) if node.outputs is not None else \
        _structure_shapes(node.output_tensors)


def activation_name(layer) -> str | None:
    """The serialized name of the layer's ``activation`` (``"relu"``), or None when it has none."""
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    if isinstance(activation, str):
        return activation
    try:
        from ..activations import serialize
        return serialize(activation)
    except Exception:  # noqa: BLE001 - a label, never an error
        return getattr(activation, "__name__", str(activation))


# ------------------------------------------------------------------------------ models
def is_functional(model) -> bool:
    from ..models.functional import Functional
    return isinstance(model, Functional)


def is_sequential(model) -> bool:
    from ..models.sequential import Sequential
    return isinstance(model, Sequential)


def is_expandable(layer) -> bool:
    """Whether ``layer`` is a model with a layer graph to draw inside it (Functional, or a
    Sequential holding layers)."""
    return is_functional(layer) or (is_sequential(layer) and bool(layer.layers))


def nested_input_order(layer, node) -> list:
    """The tensors of a call of nested model ``layer`` in the order of ``layer.inputs``."""
    args = node.call_args
    if is_functional(layer) and len(args) >= 1 and isinstance(args[0], dict):
        try:
            return [args[0][k] for k in layer._input_keys(args[0])]
        except Exception:  # noqa: BLE001
            pass
    return node.input_tensors


def unique_id(wanted: str, used: set[str]) -> str:
    """``wanted``, else ``wanted#2``, ``wanted#3``...: the first one not in ``used`` (added to it)."""
    candidate, k = wanted, 1
    while candidate in used:
        k += 1
        candidate = f"{wanted}#{k}"
    used.add(candidate)
    return candidate


class Ports:
    """Where edges attach to a drawn layer: ``entries[k]`` for its k-th input, ``exits[j]`` for output j."""

    __slots__ = ("entries", "exits")

    def __init__(self, entries: list[str], exits: list[str]) -> None:
        self.entries, self.exits = entries, exits

    def entry(self, k: int) -> str:
        return self.entries[min(k, len(self.entries) - 1)]

    def exit(self, j: int) -> str:
        return self.exits[min(j, len(self.exits) - 1)]


class ModelWalker:
    """Visits a model's layers, groups and edges in drawing order; subclasses say what to emit.

    Hooks: :meth:`on_node` (one per drawn layer), :meth:`on_group_start` / :meth:`on_group_end`
    (around the contents of an expanded nested model), :meth:`on_edge` (one per tensor from a
    producer to a consumer call; the same tensor fed twice to one layer repeats it).
    """

    def __init__(self, expand_nested: bool) -> None:
        self.expand_nested = bool(expand_nested)
        self.used: set[str] = set()

    def new_id(self, wanted: str) -> str:
        return unique_id(wanted, self.used)

    # ----------------------------------------------------------------- hooks
    def on_node(self, node_id: str, layer, calls: list, group: str | None) -> None:
        raise NotImplementedError

    def on_group_start(self, group_id: str, model, parent: str | None) -> None:
        raise NotImplementedError

    def on_group_end(self, group_id: str, model) -> None:
        """A group's layers are all walked (nothing to do unless a subclass closes something)."""

    def on_edge(self, source: str, target: str, tensor) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------- walk
    def walk(self, model) -> None:
        """Visit ``model``: a Functional/Sequential/subclassed model, or a single layer."""
        if is_functional(model) or is_sequential(model) or getattr(model, "layers", None):
            self._model(model, "", None)
        else:
            self._layer(model, list(model._inbound_nodes[-1:]), "", None)

    def _layer(self, layer, calls: list, prefix: str, group: str | None) -> Ports:
        if self.expand_nested and is_expandable(layer):
            group_id = self.new_id(f"{prefix}{layer.name}")
            self.on_group_start(group_id, layer, group)
            ports = self._model(layer, f"{prefix}{layer.name}/", group_id)
            self.on_group_end(group_id, layer)
            return ports
        node_id = self.new_id(f"{prefix}{layer.name}")
        self.on_node(node_id, layer, calls, group)
        return Ports([node_id], [node_id])

    def _model(self, model, prefix: str, group: str | None) -> Ports:
        """Nodes (and groups) of ``model``'s layers, then its edges. Returns its ports."""
        if is_functional(model):
            topology = model._topology
            layers = topology.depth_order
            calls = {id(layer): topology.calls(layer) for layer in layers}
            ports = {id(layer): self._layer(layer, calls[id(layer)], prefix, group) for layer in layers}
            for layer in layers:
                expanded = self.expand_nested and is_expandable(layer)
                for node in calls[id(layer)]:
                    if node.is_input:
                        continue
                    tensors = nested_input_order(layer, node) if expanded else node.input_tensors
                    for k, tensor in enumerate(tensors):
                        source, _, index = tensor._keras_history
                        self.on_edge(ports[id(source)].exit(index), ports[id(layer)].entry(k), tensor)
            entries = [ports[id(t._keras_history[0])].entry(0) for t in model.inputs]
            exits = [ports[id(t._keras_history[0])].exit(t._keras_history[2]) for t in model.outputs]
            return Ports(entries, exits)
        layers = list(getattr(model, "layers", []))
        drawn = [self._layer(layer, list(layer._inbound_nodes[-1:]), prefix, group) for layer in layers]
        if is_sequential(model):
            for previous, layer, current in zip(drawn, layers[1:], drawn[1:]):
                tensors = layer._inbound_nodes[-1].input_tensors if layer._inbound_nodes else []
                self.on_edge(previous.exit(0), current.entry(0), tensors[0] if tensors else None)
            if drawn:
                return Ports([drawn[0].entry(0)], [drawn[-1].exit(0)])
        return Ports([], [])
