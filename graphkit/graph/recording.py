"""Recording a layer call on symbolic tensors, and publishing it (``layer_call``, ``model``).

Every symbolic layer call publishes a ``layer_call`` event (:mod:`graphkit.events`) with the
recorded node, or with the error about to be raised when the call failed; the model classes
publish ``model`` through :func:`announce_model`. With no subscriber, each costs one attribute check.
"""
from __future__ import annotations

from typing import Any

from .. import events
from ..global_state import SUBSCRIBERS
from .node import Node, map_structure
from .symbolic import SymbolicTensor


def announce_model(model, error: BaseException | None = None) -> None:
    """Publish the ``model`` event: ``model`` now holds its layers (called again when a
    Sequential's stack changes), or making it raised ``error`` (the model is then half made: its
    ``name``, maybe its ``outputs``)."""
    if SUBSCRIBERS.model:
        events.publish("model", model, error)


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
        if SUBSCRIBERS.layer_call:
            events.publish("layer_call", layer, args, None, None, exc, None, None)
        raise
    node = Node(layer, args, kwargs, outputs)
    for index, tensor in enumerate(node.output_tensors):
        if tensor.name is None:
            tensor.name = layer.name if len(node.output_tensors) == 1 else f"{layer.name}_{index}"
    if SUBSCRIBERS.layer_call:
        events.publish("layer_call", layer, args, outputs, node, None, None, None)
    return outputs
