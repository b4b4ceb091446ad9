"""ONNX's protocol-buffer messages (``onnx/onnx.proto``), encoded with graphkit's hand-written
wire format (:mod:`graphkit.summary.wire`), so writing a model needs no ``onnx`` package.

Only what an inference graph needs: ModelProto, OperatorSetIdProto, GraphProto, NodeProto,
AttributeProto, TensorProto (weights as ``raw_data``) and ValueInfoProto with a tensor type.
Field numbers are onnx.proto's; fields are written in field-number order, so the bytes equal
protobuf's own serialization. Messages that hold weights (TensorProto, GraphProto, ModelProto)
are lists of buffers, the weights' own memory among them, written one after another: a model
is never copied whole in memory.
"""
from __future__ import annotations

from typing import Sequence

import numpy

from ...summary.wire import LENGTH_DELIMITED, bytes_field, float_field, key, varint, varint_field

Buffers = list  # a message as consecutive bytes-like pieces

# TensorProto.DataType
_DATA_TYPES = {"float32": 1, "uint8": 2, "int8": 3, "uint16": 4, "int16": 5, "int32": 6, "int64": 7, "bool": 9,
               "float16": 10, "float64": 11, "uint32": 12, "uint64": 13}
# AttributeProto.AttributeType
_FLOAT, _INT, _STRING, _FLOATS, _INTS, _STRINGS = 1, 2, 3, 6, 7, 8


def exported_dtype(dtype: numpy.dtype | str) -> numpy.dtype:
    """The dtype a graphkit tensor has in the exported graph: floats are float32."""
    dtype = numpy.dtype(dtype)
    return numpy.dtype("float32") if dtype.kind == "f" else dtype


def data_type(dtype: numpy.dtype | str) -> int:
    """The TensorProto.DataType number of a numpy dtype."""
    name = numpy.dtype(dtype).name
    if name not in _DATA_TYPES:
        raise ValueError(f"ONNX export: dtype {name} has no ONNX tensor type here; use one of {sorted(_DATA_TYPES)}.")
    return _DATA_TYPES[name]


def _message_field(field: int, parts: Buffers) -> Buffers:
    """A length-delimited field holding the message ``parts``."""
    return [key(field, LENGTH_DELIMITED) + varint(sum(len(p) for p in parts)), *parts]


def tensor(name: str, array: numpy.ndarray) -> Buffers:
    """A TensorProto holding ``array`` as little-endian ``raw_data`` (the array's memory itself)."""
    array = numpy.asarray(array)
    raw = numpy.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).reshape(-1).view(numpy.uint8)
    header = (b"".join(varint_field(1, int(d)) for d in array.shape) + varint_field(2, data_type(array.dtype))
              + bytes_field(8, name))
    return [header, *_message_field(9, [raw])]


def attribute(name: str, value: object) -> bytes:
    """An AttributeProto; the type follows the Python value (bool and int: INT, float: FLOAT, str:
    STRING, and lists of ints, floats or strs)."""
    if isinstance(value, (bool, int, numpy.integer)):
        return bytes_field(1, name) + varint_field(3, int(value)) + varint_field(20, _INT)
    if isinstance(value, (float, numpy.floating)):
        return bytes_field(1, name) + float_field(2, float(value)) + varint_field(20, _FLOAT)
    if isinstance(value, str):
        return bytes_field(1, name) + bytes_field(4, value) + varint_field(20, _STRING)
    values = list(value)
    if all(isinstance(v, str) for v in values) and values:
        return bytes_field(1, name) + b"".join(bytes_field(9, v) for v in values) + varint_field(20, _STRINGS)
    if all(isinstance(v, (int, numpy.integer)) for v in values):
        return bytes_field(1, name) + b"".join(varint_field(8, int(v)) for v in values) + varint_field(20, _INTS)
    return bytes_field(1, name) + b"".join(float_field(7, float(v)) for v in values) + varint_field(20, _FLOATS)


def node(op_type: str, inputs: Sequence[str], outputs: Sequence[str], name: str, attributes: dict) -> bytes:
    """A NodeProto of the default (``ai.onnx``) domain; ``""`` marks an omitted optional input."""
    return (b"".join(bytes_field(1, i) for i in inputs) + b"".join(bytes_field(2, o) for o in outputs)
            + bytes_field(3, name) + bytes_field(4, op_type)
            + b"".join(bytes_field(5, attribute(k, v)) for k, v in attributes.items()))


def value_info(name: str, dtype: numpy.dtype | str, shape: Sequence[int | str | None]) -> bytes:
    """A ValueInfoProto for a tensor: each dim a size, a symbolic name or None (unknown)."""
    dims = b""
    for d in shape:
        if d is None:
            dims += bytes_field(1, b"")
        elif isinstance(d, str):
            dims += bytes_field(1, bytes_field(2, d))
        else:
            dims += bytes_field(1, varint_field(1, int(d)))
    tensor_type = varint_field(1, data_type(dtype)) + bytes_field(2, dims)
    return bytes_field(1, name) + bytes_field(2, bytes_field(1, tensor_type))


def graph(nodes: Sequence[bytes], name: str, initializers: Sequence[Buffers], inputs: Sequence[bytes],
          outputs: Sequence[bytes]) -> Buffers:
    """A GraphProto from encoded NodeProtos, TensorProtos and ValueInfoProtos."""
    head = b"".join(bytes_field(1, n) for n in nodes) + bytes_field(2, name)
    tail = b"".join(bytes_field(11, i) for i in inputs) + b"".join(bytes_field(12, o) for o in outputs)
    return [head, *(part for t in initializers for part in _message_field(5, t)), tail]


def model(graph_proto: Buffers, opset: int, ir_version: int, producer_name: str, producer_version: str) -> Buffers:
    """A ModelProto importing the default domain at ``opset``."""
    head = varint_field(1, ir_version) + bytes_field(2, producer_name) + bytes_field(3, producer_version)
    opset_import = bytes_field(1, "") + varint_field(2, opset)
    return [head, *_message_field(7, graph_proto), bytes_field(8, opset_import)]
