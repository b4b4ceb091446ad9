"""From a Functional (or Sequential) model to an ONNX graph: the layer-converter registry and
the walk over the model's graph of layer calls, nested models inlined.

A converter is ``fn(g, layer, node, args) -> list of output names`` registered for layer classes
with :func:`converts`: ``g`` is the :class:`~.graph.GraphBuilder`, ``node`` the layer call (its
symbolic tensors give the static shapes), ``args`` the call's positional arguments with each
symbolic tensor replaced by its ONNX value name. The names it returns match
``node.output_tensors``.
"""
from __future__ import annotations

from typing import Any, Callable

from ...graph.node import flatten_structure, map_structure
from ...graph.symbolic import SymbolicTensor
from .graph import GraphBuilder

Converter = Callable[..., list]
_CONVERTERS: dict[type, Converter] = {}


class UnsupportedLayerError(ValueError):
    """A layer (or a use of one) that ONNX export does not cover."""


def unsupported(layer: Any, reason: str) -> UnsupportedLayerError:
    """The error for ``layer``, naming it and its class."""
    return UnsupportedLayerError(f"Cannot export layer '{layer.name}' ({type(layer).__name__}) to ONNX: {reason}.")


def converts(*classes: type) -> Callable[[Converter], Converter]:
    """Register the decorated function as the converter of ``classes`` (and their subclasses)."""
    def register(fn: Converter) -> Converter:
        for cls in classes:
            _CONVERTERS[cls] = fn
        return fn
    return register


def _converter_for(layer: Any) -> Converter | None:
    """The converter of the layer's class, or of a base class whose ``call`` it keeps (a
    subclass with its own ``call`` computes something else)."""
    for cls in type(layer).__mro__:
        if cls in _CONVERTERS:
            return _CONVERTERS[cls] if type(layer).call is cls.call else None
    return None


def graph_of(model: Any):
    """The Functional graph that runs ``model`` (a Functional model, or a built Sequential)."""
    functional = model._functional
    if functional is None:
        from ...models.sequential import Sequential
        reason = ("it is not built yet: give it an Input or call it once" if isinstance(model, Sequential)
                  else "it is a subclassed model (its call() is Python code, not a graph of layers); build it "
                       "with the Functional API or Sequential")
        raise unsupported(model, reason)
    return functional


def convert_graph(g: GraphBuilder, functional: Any, values: dict[int, str], scope: str = "") -> None:
    """Add the nodes of ``functional``'s layer calls to ``g``; ``values`` maps each symbolic
    tensor's id to its ONNX name (the inputs' on entry, every tensor's on return)."""
    from ...models.model import Model
    for node in functional._topology.nodes:
        if node.is_input:
            continue
        layer = node.operation
        if any(isinstance(v, SymbolicTensor) for v in flatten_structure(node.call_kwargs)):
            names = sorted(k for k, v in node.call_kwargs.items()
                           if any(isinstance(t, SymbolicTensor) for t in flatten_structure(v)))
            raise unsupported(layer, f"its call passes tensors as {names}, which the export does not cover")
        args = map_structure(lambda v: values[id(v)] if isinstance(v, SymbolicTensor) else v, node.call_args)
        if isinstance(layer, Model):
            outputs = _inline_model(g, layer, args, values, f"{scope}{layer.name}/")
        else:
            converter = _converter_for(layer)
            if converter is None:
                raise unsupported(layer, "graphkit has no ONNX converter for this layer class")
            g.scope = scope + layer.name
            outputs = converter(g, layer, node, args)
        for tensor, name in zip(node.output_tensors, outputs):
            values[id(tensor)] = name
    g.scope = ""


def _inline_model(g: GraphBuilder, model: Any, args: tuple, values: dict[int, str], scope: str) -> list[str]:
    """Convert a nested model's graph in place; returns its output names in ``outputs`` order."""
    inner = graph_of(model)
    given = args[0]
    if isinstance(given, dict):
        flat = [given[k] for k in inner._input_keys(given)]
    else:
        flat = flatten_structure(given)
    inner_values = {id(t): name for t, name in zip(inner.inputs, flat)}
    convert_graph(g, inner, inner_values, scope)
    return [inner_values[id(t)] for t in inner.outputs]
