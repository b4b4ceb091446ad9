"""Nodes: one per call of a layer on symbolic tensors (Keras's ``Node``)."""
from __future__ import annotations

from typing import Any, Callable

from .symbolic import SymbolicTensor


def flatten_structure(structure: Any) -> list:
    """Leaves of nested lists/tuples/dicts (dicts in insertion order)."""
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten_structure(item)]
    if isinstance(structure, dict):
        return [leaf for value in structure.values() for leaf in flatten_structure(value)]
    return [structure]


def map_structure(fn: Callable, structure: Any) -> Any:
    """Apply ``fn`` to every leaf, keeping the nesting."""
    if isinstance(structure, list):
        return [map_structure(fn, item) for item in structure]
    if isinstance(structure, tuple):
        return tuple(map_structure(fn, item) for item in structure)
    if isinstance(structure, dict):
        return {key: map_structure(fn, value) for key, value in structure.items()}
    return fn(structure)


class Node:
    """A recorded call ``outputs = operation(*call_args, **call_kwargs)`` on symbolic tensors."""

    def __init__(self, operation, call_args: tuple = (), call_kwargs: dict | None = None,
                 outputs: Any = None) -> None:
        self.operation = operation
        self.call_args = call_args
        self.call_kwargs = call_kwargs or {}
        self.outputs = outputs
        self.input_tensors = [t for t in flatten_structure((call_args, self.call_kwargs))
                              if isinstance(t, SymbolicTensor)]
        self.output_tensors = [t for t in flatten_structure(outputs) if isinstance(t, SymbolicTensor)]
        self.node_index = len(operation._inbound_nodes)
        operation._inbound_nodes.append(self)
        for index, tensor in enumerate(self.output_tensors):
            tensor._keras_history = (operation, self.node_index, index)
        for tensor in self.input_tensors:
            if tensor._keras_history is not None:
                tensor._keras_history[0]._outbound_nodes.append(self)

    @property
    def is_input(self) -> bool:
        """True for the node of an InputLayer (it has no inputs)."""
        return not self.input_tensors

    @property
    def parent_nodes(self) -> list["Node"]:
        parents = []
        for tensor in self.input_tensors:
            layer, node_index, _ = tensor._keras_history
            parents.append(layer._inbound_nodes[node_index])
        return parents

    def __repr__(self) -> str:
        return f"<Node {self.operation.name}#{self.node_index}>"
