"""Protocol-buffer wire format by hand: just what event files need, no protobuf runtime.

Encoding builds bytes field by field (``varint_field``, ``bytes_field``, ``double_field``...);
fields are written in field-number order, as protobuf's own serializers do, so our bytes equal
``Message.SerializeToString()`` for the same values. Decoding walks a message once
(:func:`fields`) and yields ``(field number, wire type, value)`` where a length-delimited value
is a ``memoryview`` slice (no copy) and a fixed64/fixed32 value is its raw 8/4 bytes.
"""
from __future__ import annotations

import math
import struct
from typing import Iterator

import numpy

VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5

_DOUBLE = struct.Struct("<d")
_FLOAT = struct.Struct("<f")


def varint(value: int) -> bytes:
    """``value`` as a base-128 varint (negative int64 values take ten bytes, as in protobuf)."""
    if 0 <= value < 0x80:
        return bytes((value,))
    value &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def key(field: int, wire_type: int) -> bytes:
    return varint(field << 3 | wire_type)


def varint_field(field: int, value: int) -> bytes:
    return key(field, VARINT) + varint(value)


def bytes_field(field: int, value: bytes | str) -> bytes:
    if isinstance(value, str):
        value = value.encode("utf-8")
    return key(field, LENGTH_DELIMITED) + varint(len(value)) + value


def double_field(field: int, value: float) -> bytes:
    return key(field, FIXED64) + _DOUBLE.pack(value)


def float32_bytes(value: float) -> bytes:
    """``value`` as a little-endian float32; beyond float32's range it becomes an infinity, as
    numpy rounds it."""
    try:
        return _FLOAT.pack(value)
    except OverflowError:
        return _FLOAT.pack(math.copysign(math.inf, value))


def float_field(field: int, value: float) -> bytes:
    return key(field, FIXED32) + float32_bytes(value)


def packed_doubles_field(field: int, values) -> bytes:
    """A ``repeated double`` field, packed (one length-delimited run of little-endian doubles)."""
    return bytes_field(field, numpy.asarray(values, dtype="<f8").tobytes())


def read_varint(data: memoryview | bytes, position: int) -> tuple[int, int]:
    """The varint at ``position`` and the position after it."""
    result = shift = 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than ten bytes")


def as_int64(value: int) -> int:
    """A decoded varint read as a signed 64-bit integer (protobuf's ``int64``)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def fields(data: memoryview | bytes) -> Iterator[tuple[int, int, object]]:
    """``(field number, wire type, value)`` for each field of one encoded message."""
    data = memoryview(data)
    position, end = 0, len(data)
    while position < end:
        tag, position = read_varint(data, position)
        field, wire_type = tag >> 3, tag & 7
        if wire_type == VARINT:
            value, position = read_varint(data, position)
        elif wire_type == LENGTH_DELIMITED:
            size, position = read_varint(data, position)
            value = data[position:position + size]
            if len(value) != size:
                raise ValueError(f"field {field} runs past the end of its message")
            position += size
        elif wire_type == FIXED64:
            value = data[position:position + 8]
            position += 8
        elif wire_type == FIXED32:
            value = data[position:position + 4]
            position += 4
        else:
            raise ValueError(f"unsupported wire type {wire_type} (field {field})")
        yield field, wire_type, value
    if position != end:
        raise ValueError("message ends inside a field")


def as_double(raw: memoryview) -> float:
    return _DOUBLE.unpack(raw)[0]


def as_float(raw: memoryview) -> float:
    return _FLOAT.unpack(raw)[0]
