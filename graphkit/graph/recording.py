"""Recording a layer call on symbolic tensors, and telling listeners (the live view) about it.

Two kinds of listeners: call listeners run after every symbolic layer call (failed ones
included), model listeners run when a Functional or Sequential model groups its layers, or
when creating a Functional model fails ("Graph disconnected"). With no
listener registered, a layer call costs one empty-list check. A listener that raises is reported
as a warning: drawing never breaks model building.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable

from .node import Node, map_structure
from .symbolic import SymbolicTensor

_listeners: list[Callable] = []
_model_listeners: list[Callable] = []


def add_listener(callback: Callable) -> None:
    """``callback(layer, node, error, args)`` runs after every symbolic layer call: ``node`` is the
    recorded :class:`Node` and ``error`` None on success; on failure ``node`` is None, ``error`` the
    exception about to be raised, and ``args`` the call's positional arguments."""
    _listeners.append(callback)


def remove_listener(callback: Callable) -> None:
    if callback in _listeners:
        _listeners.remove(callback)


def add_model_listener(callback: Callable) -> None:
    """``callback(model, error)`` runs when a Functional or Sequential model is created over
    symbolic tensors, and again when a Sequential's stack changes (``add``, ``pop``, a deferred
    build), with ``error`` None; and when creating a Functional model fails, with the exception
    about to be raised (the model is then half made: its ``name``, maybe its ``outputs``)."""
    _model_listeners.append(callback)


def remove_model_listener(callback: Callable) -> None:
    if callback in _model_listeners:
        _model_listeners.remove(callback)


def _notify(listeners: list[Callable], *event: Any) -> None:
    for listener in list(listeners):
        try:
            listener(*event)
        except Exception as exc:  # noqa: BLE001 - a drawing failure must not break the model code
            warnings.warn(f"graphkit: a graph listener failed ({type(exc).__name__}: {exc}); the layer call "
                          "itself is unaffected.", RuntimeWarning, stacklevel=3)


def announce_model(model, error: BaseException | None = None) -> None:
    """Tell model listeners that ``model`` now holds its layers, or that making it raised
    ``error`` (called by the model classes)."""
    if _model_listeners:
        _notify(_model_listeners, model, error)


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
        if _listeners:
            _notify(_listeners, layer, None, exc, args)
        raise
    node = Node(layer, args, kwargs, outputs)
    for index, tensor in enumerate(node.output_tensors):
        if tensor.name is None:
            tensor.name = layer.name if len(node.output_tensors) == 1 else f"{layer.name}_{index}"
    if _listeners:
        _notify(_listeners, layer, node, None, args)
    return outputs
