"""GraphDef, the graph an event file carries for TensorBoard's Graphs dashboard.

``GraphDef`` (node=1, versions=4) of ``NodeDef`` (name=1, op=2, input=3, device=4,
attr=5 map<string, AttrValue>). Attribute values map to ``AttrValue`` fields by Python type:

=====================================  ==========================================
``str`` / ``bytes``                    ``s`` (2)
``bool``                               ``b`` (5)
``int``                                ``i`` (3)
``float``                              ``f`` (4)
``numpy.dtype``                        ``type`` (6), TensorFlow's DataType number
``Shape((None, 32))``                  ``shape`` (7); ``None`` is an unknown size (-1)
a list of one of these                 ``list`` (1) of that kind
=====================================  ==========================================

TensorBoard shows ``_output_shapes`` (a list of shapes) on the edges leaving a node.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy

from .messages import DATA_TYPES, NUMPY_DTYPES
from .wire import (FIXED32, LENGTH_DELIMITED, as_float, as_int64, bytes_field, fields, float_field,
                   read_varint, varint_field)

PRODUCER_VERSION = 22     # VersionDef.producer; TensorBoard reads graphs of any producer


@dataclass(frozen=True)
class Shape:
    """A tensor shape for an attribute; ``None`` marks a size not known (a batch dimension)."""
    dims: tuple[int | None, ...]


@dataclass(frozen=True)
class NodeDef:
    """One graph node: ``inputs`` name other nodes (``"name"`` or ``"name:output_index"``)."""
    name: str
    op: str
    inputs: tuple[str, ...] = ()
    device: str = ""
    attr: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GraphDef:
    """A graph as a list of nodes."""
    nodes: tuple[NodeDef, ...]

    def encode(self) -> bytes:
        versions = varint_field(1, PRODUCER_VERSION)
        return b"".join(bytes_field(1, _encode_node(node)) for node in self.nodes) + bytes_field(4, versions)

    @classmethod
    def decode(cls, data: bytes | memoryview) -> "GraphDef":
        return cls(tuple(_decode_node(value) for number, kind, value in fields(data)
                         if number == 1 and kind == LENGTH_DELIMITED))


def _encode_node(node: NodeDef) -> bytes:
    out = bytes_field(1, node.name) + bytes_field(2, node.op)
    out += b"".join(bytes_field(3, name) for name in node.inputs)
    if node.device:
        out += bytes_field(4, node.device)
    for key in sorted(node.attr):                      # map entries: key=1, value=2
        try:
            encoded = _encode_attr(node.attr[key])
        except TypeError as error:
            raise TypeError(f"NodeDef {node.name!r}: attribute {key!r}: {error}") from None
        out += bytes_field(5, bytes_field(1, key) + bytes_field(2, encoded))
    return out


def _encode_attr(value: Any) -> bytes:
    if isinstance(value, (list, tuple)):
        return bytes_field(1, b"".join(_encode_scalar_attr(item, in_list=True) for item in value))
    return _encode_scalar_attr(value, in_list=False)


def _encode_scalar_attr(value: Any, in_list: bool) -> bytes:
    # Field numbers are the same in AttrValue and AttrValue.ListValue for s, i, f, b, type, shape.
    if isinstance(value, (str, bytes)):
        return bytes_field(2, value)
    if isinstance(value, (bool, numpy.bool_)):
        return varint_field(5, int(value))
    if isinstance(value, (int, numpy.integer)):
        return varint_field(3, int(value))
    if isinstance(value, (float, numpy.floating)):
        return float_field(4, float(value))
    if isinstance(value, numpy.dtype) or (isinstance(value, type) and issubclass(value, numpy.generic)):
        dtype = numpy.dtype(value)
        if dtype not in DATA_TYPES:
            raise TypeError(f"dtype {dtype} has no TensorFlow DataType")
        return varint_field(6, DATA_TYPES[dtype])
    if isinstance(value, Shape):
        dims = b"".join(bytes_field(2, varint_field(1, -1 if size is None else int(size)))
                        for size in value.dims)
        return bytes_field(7, dims)
    raise TypeError(f"{type(value).__name__} values cannot be graph attributes"
                    f"{' list items' if in_list else ''}")


def _decode_node(data: memoryview) -> NodeDef:
    name = op = device = ""
    inputs: list[str] = []
    attr: dict[str, Any] = {}
    for number, _, value in fields(data):
        text = bytes(value).decode("utf-8", "replace") if number in (1, 2, 3, 4) else ""
        if number == 1:
            name = text
        elif number == 2:
            op = text
        elif number == 3:
            inputs.append(text)
        elif number == 4:
            device = text
        elif number == 5:
            entry = {n: v for n, _, v in fields(value)}
            attr[bytes(entry.get(1, b"")).decode("utf-8", "replace")] = _decode_attr(entry.get(2, b""))
    return NodeDef(name, op, tuple(inputs), device, attr)


def _decode_attr(data: memoryview) -> Any:
    items = list(fields(data))
    if items and items[0][0] == 1:                     # a list: every item, in order
        return [item for number, kind, value in fields(items[0][2])
                for item in _decode_list_field(number, kind, value)]
    return _decode_attr_item(*items[0]) if items else None


def _decode_list_field(number: int, kind: int, value: Any) -> list:
    """The items of one ListValue field; numbers may come packed (one length-delimited run)."""
    if kind != LENGTH_DELIMITED or number in (2, 7):
        return [_decode_attr_item(number, kind, value)]
    if number == 4:
        return numpy.frombuffer(value, dtype="<f4").tolist()
    items, position = [], 0
    while position < len(value):
        item, position = read_varint(value, position)
        items.append(_decode_attr_item(number, 0, item))
    return items


def _decode_attr_item(number: int, kind: int, value: Any) -> Any:
    if number == 2:
        return bytes(value).decode("utf-8", "replace")
    if number == 3:
        return as_int64(value)
    if number == 4 and kind == FIXED32:
        return as_float(value)
    if number == 5:
        return bool(value)
    if number == 6:
        return numpy.dtype(NUMPY_DTYPES[value]) if value in NUMPY_DTYPES else value
    if number == 7:
        dims = []
        for dim_number, _, dim in fields(value):
            if dim_number == 2:
                size = next((as_int64(v) for n, _, v in fields(dim) if n == 1), 0)
                dims.append(None if size == -1 else size)
        return Shape(tuple(dims))
    return bytes(value) if kind == LENGTH_DELIMITED else value
