"""ONNX export: ``model.export("m.onnx", format="onnx")`` for Functional and Sequential models of
built-in layers.

The model's graph of layer calls becomes one ONNX graph (opset 18 by default, nested models
inlined) with float32 weights, a dynamic batch dimension (``dim_param "batch"``) and the model's
input and output names. Channels-last convolutions and pooling run as ONNX's channels-first
operators between transposes; transposes that undo each other are removed. The file is
written by hand (no ``onnx`` package needed) and atomically: a layer that cannot be exported
raises :class:`UnsupportedLayerError` naming it, and nothing is written.

One module per layer family registers its converters (:mod:`.core`, :mod:`.convolution`,
:mod:`.reshaping`, :mod:`.normalization`, :mod:`.recurrent`, :mod:`.merging`,
:mod:`.op_layers`).
"""
from __future__ import annotations

import os
from typing import Any

from . import convolution, core, merging, normalization, op_layers, recurrent, reshaping  # noqa: F401 (register)
from . import proto
from .convert import UnsupportedLayerError, convert_graph, graph_of
from .graph import GraphBuilder, OnnxNode

DEFAULT_OPSET = 18
# The opsets written (18: reductions take their axes as an input) and the IR version of each.
_IR_VERSIONS = {18: 8, 19: 9, 20: 9, 21: 10, 22: 10}
_PROTOBUF_LIMIT = 2 ** 31 - 2 ** 24  # protobuf's 2 GB message limit, less room for the graph itself


def export_onnx(model: Any, filepath: str | os.PathLike, opset: int = DEFAULT_OPSET) -> str:
    """Write ``model`` as an ONNX file at ``filepath``; returns the path."""
    from ...saving.atomic import atomic_write
    parts = onnx_buffers(model, opset)
    return atomic_write(filepath, lambda handle: handle.writelines(parts))


def onnx_bytes(model: Any, opset: int = DEFAULT_OPSET) -> bytes:
    """The serialized ONNX ModelProto of ``model``."""
    return b"".join(onnx_buffers(model, opset))


def onnx_buffers(model: Any, opset: int = DEFAULT_OPSET) -> proto.Buffers:
    """The serialized ONNX ModelProto of ``model`` as consecutive buffers (its weights' memory
    among them, uncopied)."""
    if isinstance(opset, bool) or opset not in _IR_VERSIONS:
        raise ValueError(f"ONNX export of model '{model.name}': the opset must be one of {list(_IR_VERSIONS)}, "
                         f"got {opset!r}.")
    from ... import __version__
    functional = graph_of(model)
    g = GraphBuilder()
    input_names = [g.fresh(name) for name in functional.input_names]
    output_names = [g.fresh(name) for name in functional.output_names]
    values = {id(t): name for t, name in zip(functional.inputs, input_names)}
    convert_graph(g, functional, values)
    results = [values[id(t)] for t in functional.outputs]
    g.simplify(results)
    size = sum(array.nbytes for array in g.initializers.values())
    if size >= _PROTOBUF_LIMIT:
        raise ValueError(f"ONNX export of model '{model.name}': its {size:,} bytes of weights exceed the 2 GB a "
                         "single ONNX file holds (external weight files are not written by graphkit).")
    _name_outputs(g, results, output_names, set(input_names))
    inputs = [proto.value_info(name, proto.exported_dtype(t.dtype), _dims(t.shape))
              for t, name in zip(functional.inputs, input_names)]
    outputs = [proto.value_info(name, proto.exported_dtype(t.dtype), _dims(t.shape))
               for t, name in zip(functional.outputs, output_names)]
    graph_proto = g.encode(model.name, inputs, outputs)
    return proto.model(graph_proto, opset, _IR_VERSIONS[opset], "graphkit", __version__)


def _name_outputs(g: GraphBuilder, results: list[str], output_names: list[str], inputs: set[str]) -> None:
    """Give each graph output its model output name: rename the value that a node makes, or add
    an Identity where it is an input, a weight or another output's value."""
    renamed: dict[str, str] = {}
    for value, name in zip(results, output_names):
        if value in renamed:
            g.nodes.append(_identity(renamed[value], name))
        elif value in inputs or value in g.initializers:
            g.nodes.append(_identity(value, name))
        else:
            g.rename(value, name)
            renamed[value] = name


def _identity(value: str, name: str) -> OnnxNode:
    return OnnxNode("Identity", [value], [name], name, {})


def _dims(shape: tuple) -> list:
    """A Keras shape's ONNX dims: the batch axis is ``"batch"``, other unknown sizes stay unknown."""
    return ["batch", *shape[1:]] if shape else []


__all__ = ["DEFAULT_OPSET", "UnsupportedLayerError", "export_onnx", "onnx_buffers", "onnx_bytes"]
