"""Recording a layer call on symbolic tensors, and telling listeners (the live view) about it."""
from __future__ import annotations

from typing import Any, Callable

from .node import Node, map_structure
from .symbolic import SymbolicTensor

_listeners: list[Callable] = []


def add_listener(callback: Callable) -> None:
    """``callback(layer, node, error)`` runs after every symbolic layer call (error is None on success)."""
    _listeners.append(callback)


def remove_listener(callback: Callable) -> None:
    if callback in _listeners:
        _listeners.remove(callback)


def _shapes(structure: Any) -> Any:
    return map_structure(lambda t: t.shape if isinstance(t, SymbolicTensor) else t, structure)


def record_call(layer, args: tuple, kwargs: dict) -> Any:
    """Build ``layer`` if needed, infer its output spec and record a :class:`Node`."""
    inputs = args[0]
    try:
        layer._check_input_spec(inputs)
        if not layer.built:
            layer._build_once(_shapes(inputs))
        try:
            outputs = layer.compute_output_spec(args, kwargs)
        except (ValueError, TypeError, IndexError) as exc:
            raise ValueError(f"{type(layer).__name__} '{layer.name}' cannot be called on inputs of shape "
                             f"{_shapes(inputs)}: {exc}") from exc
    except Exception as exc:
        for listener in list(_listeners):
            listener(layer, None, exc, args)
        raise
    node = Node(layer, args, kwargs, outputs)
    for index, tensor in enumerate(node.output_tensors):
        if tensor.name is None:
            tensor.name = layer.name if len(node.output_tensors) == 1 else f"{layer.name}_{index}"
    for listener in list(_listeners):
        listener(layer, node, None, args)
    return outputs


