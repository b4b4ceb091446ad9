"""The TensorBoard messages an event file holds, encoded and decoded by hand.

Field numbers follow ``tensorboard/compat/proto``: ``event.proto`` (Event), ``summary.proto``
(Summary, Summary.Value, SummaryMetadata, HistogramProto), ``tensor.proto`` and
``tensor_shape.proto`` (TensorProto for text and TF2's tensor-form summaries). Like proto3
serializers, encoders leave out fields that hold their default (0, "", empty), so a step-0
event has no ``step`` field.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy

from .wire import (FIXED32, FIXED64, LENGTH_DELIMITED, VARINT, as_double, as_float, as_int64, bytes_field,
                   double_field, fields, float_field, packed_doubles_field, read_varint, varint_field)

FILE_VERSION = "brain.Event:2"

# TensorFlow's DataType numbers for the dtypes a tensor-form summary may hold.
DT_STRING = 7
NUMPY_DTYPES = {1: "<f4", 2: "<f8", 3: "<i4", 4: "u1", 5: "<i2", 6: "i1", 9: "<i8", 10: "?",
                17: "<u2", 19: "<f2", 22: "<u4", 23: "<u8"}
DATA_TYPES = {numpy.dtype(code): number for number, code in NUMPY_DTYPES.items()}


# ---------------------------------------------------------------- encoding

def event(wall_time: float, step: int = 0, *, file_version: str = "", graph_def: bytes = b"",
          summary: bytes = b"") -> bytes:
    """An ``Event``: wall_time=1, step=2, file_version=3, graph_def=4, summary=5."""
    out = double_field(1, wall_time)
    if step:
        out += varint_field(2, step)
    if file_version:
        out += bytes_field(3, file_version)
    if graph_def:
        out += bytes_field(4, graph_def)
    if summary:
        out += bytes_field(5, summary)
    return out


def summary(values: Iterable[bytes]) -> bytes:
    """A ``Summary`` of encoded ``Summary.Value`` messages (value=1, repeated)."""
    return b"".join(bytes_field(1, value) for value in values)


def summary_value(tag: str, *, simple_value: float | None = None, histo: bytes = b"",
                  tensor: bytes = b"", metadata: bytes = b"") -> bytes:
    """A ``Summary.Value``: tag=1, simple_value=2, histo=5, tensor=8, metadata=9."""
    out = bytes_field(1, tag)
    if simple_value is not None:
        out += float_field(2, simple_value)
    if histo:
        out += bytes_field(5, histo)
    if tensor:
        out += bytes_field(8, tensor)
    if metadata:
        out += bytes_field(9, metadata)
    return out


def summary_metadata(plugin_name: str, content: bytes = b"", description: str = "") -> bytes:
    """``SummaryMetadata``: plugin_data=1 {plugin_name=1, content=2}, summary_description=3."""
    plugin_data = bytes_field(1, plugin_name) + (bytes_field(2, content) if content else b"")
    return bytes_field(1, plugin_data) + (bytes_field(3, description) if description else b"")


def histogram_proto(minimum: float, maximum: float, count: float, total: float,
                    sum_squares: float, bucket_limit: numpy.ndarray, bucket: numpy.ndarray) -> bytes:
    """``HistogramProto``: min=1, max=2, num=3, sum=4, sum_squares=5 (doubles);
    bucket_limit=6 and bucket=7 (packed doubles)."""
    out = b"".join(double_field(number, value) for number, value in
                   enumerate((minimum, maximum, count, total, sum_squares), start=1) if value)
    if len(bucket_limit):
        out += packed_doubles_field(6, bucket_limit) + packed_doubles_field(7, bucket)
    return out


def string_tensor(strings: Sequence[bytes], shape: Sequence[int]) -> bytes:
    """A ``TensorProto`` of dtype DT_STRING: dtype=1, tensor_shape=2 {dim=2 {size=1}}, string_val=8."""
    shape_proto = b"".join(bytes_field(2, varint_field(1, size) if size else b"") for size in shape)
    return (varint_field(1, DT_STRING) + bytes_field(2, shape_proto)
            + b"".join(bytes_field(8, value) for value in strings))


# ---------------------------------------------------------------- decoding

@dataclass(frozen=True)
class HistogramValue:
    """A decoded ``HistogramProto``: bucket ``i`` counts values up to ``bucket_limit[i]``
    (from ``bucket_limit[i - 1]``, or from ``min`` for the first bucket)."""
    min: float
    max: float
    num: float
    sum: float
    sum_squares: float
    bucket_limit: numpy.ndarray
    bucket: numpy.ndarray


@dataclass(frozen=True)
class DecodedValue:
    """One ``Summary.Value``: its tag, the plugin its metadata names ("" when it has none) and
    its payload: a float (simple_value), a HistogramValue (histo) or a numpy array (tensor)."""
    tag: str
    plugin_name: str
    description: str
    payload: object


@dataclass(frozen=True)
class DecodedEvent:
    """The fields of an ``Event`` the board reads (``graph_def`` still encoded)."""
    wall_time: float
    step: int
    file_version: str
    graph_def: bytes
    values: tuple[DecodedValue, ...]


def decode_event(data: bytes | memoryview) -> DecodedEvent:
    """Decode an ``Event``; fields other than those the board reads are skipped."""
    wall_time, step, file_version, graph_def, values = 0.0, 0, "", b"", ()
    for field, wire_type, value in fields(data):
        if field == 1 and wire_type == FIXED64:
            wall_time = as_double(value)
        elif field == 2 and wire_type == VARINT:
            step = as_int64(value)
        elif field == 3 and wire_type == LENGTH_DELIMITED:
            file_version = bytes(value).decode("utf-8", "replace")
        elif field == 4 and wire_type == LENGTH_DELIMITED:
            graph_def = bytes(value)
        elif field == 5 and wire_type == LENGTH_DELIMITED:
            values = tuple(decode_value(item) for number, kind, item in fields(value)
                           if number == 1 and kind == LENGTH_DELIMITED)
    return DecodedEvent(wall_time, step, file_version, graph_def, values)


def decode_value(data: memoryview) -> DecodedValue:
    tag, plugin_name, description, payload = "", "", "", None
    for field, wire_type, value in fields(data):
        if field == 1:
            tag = bytes(value).decode("utf-8", "replace")
        elif field == 2 and wire_type == FIXED32:
            payload = as_float(value)
        elif field == 5 and wire_type == LENGTH_DELIMITED:
            payload = decode_histogram(value)
        elif field == 8 and wire_type == LENGTH_DELIMITED and _tensor_dtype(value) in _READABLE_DTYPES:
            payload = decode_tensor(value)      # other dtypes belong to plugins the board skips
        elif field == 9 and wire_type == LENGTH_DELIMITED:
            plugin_name, description = _decode_metadata(value)
    return DecodedValue(tag, plugin_name, description, payload)


def _decode_metadata(data: memoryview) -> tuple[str, str]:
    plugin_name = description = ""
    for field, wire_type, value in fields(data):
        if field == 1 and wire_type == LENGTH_DELIMITED:
            for number, kind, item in fields(value):
                if number == 1 and kind == LENGTH_DELIMITED:
                    plugin_name = bytes(item).decode("utf-8", "replace")
        elif field == 3 and wire_type == LENGTH_DELIMITED:
            description = bytes(value).decode("utf-8", "replace")
    return plugin_name, description


def decode_histogram(data: memoryview) -> HistogramValue:
    scalars = [0.0] * 5
    repeated: dict[int, list] = {6: [], 7: []}
    for field, wire_type, value in fields(data):
        if 1 <= field <= 5 and wire_type == FIXED64:
            scalars[field - 1] = as_double(value)
        elif field in repeated:     # packed or one unpacked value: raw little-endian doubles
            repeated[field].append(numpy.frombuffer(value, dtype="<f8"))
    limits, counts = (numpy.concatenate(repeated[n]) if repeated[n] else numpy.zeros(0)
                      for n in (6, 7))
    return HistogramValue(*scalars, bucket_limit=limits, bucket=counts)


def decode_tensor(data: memoryview) -> numpy.ndarray:
    """A ``TensorProto`` as a numpy array (DT_STRING gives an object array of ``bytes``)."""
    dtype, shape, content = 0, [], None
    typed: list = []
    strings: list[bytes] = []
    for field, wire_type, value in fields(data):
        if field == 1:
            dtype = value
        elif field == 2:
            shape = _shape(value)
        elif field == 4:
            content = bytes(value)
        elif field == 8:
            strings.append(bytes(value))
        elif field in _TYPED_FIELDS:
            typed.append((field, wire_type, value))
    size = int(numpy.prod(shape)) if shape else 1
    if dtype == DT_STRING:
        return numpy.array(strings + [b""] * (size - len(strings)), dtype=object).reshape(shape)
    if dtype not in NUMPY_DTYPES:
        raise ValueError(f"tensor of DataType {dtype} is not supported")
    if content is not None:
        return numpy.frombuffer(content, dtype=NUMPY_DTYPES[dtype]).reshape(shape)
    values = numpy.concatenate([_typed_values(*item) for item in typed]) if typed else numpy.zeros(0)
    if dtype == 19:                                   # half_val holds the float16 bit patterns
        values = values.astype(numpy.uint16).view(numpy.float16)
    if 0 < values.size < size:                         # TF's rule: the last value fills the rest
        values = numpy.concatenate([values, numpy.full(size - values.size, values[-1])])
    return values.astype(NUMPY_DTYPES[dtype]).reshape(shape)


_READABLE_DTYPES = {DT_STRING, *NUMPY_DTYPES}


def _tensor_dtype(data: memoryview) -> int:
    return next((value for field, wire_type, value in fields(data) if field == 1 and wire_type == VARINT), 0)


_TYPED_FIELDS = {5: "<f4", 6: "<f8", 7: None, 10: None, 11: None, 13: None}   # None: varints


def _shape(data: memoryview) -> list[int]:
    sizes = []
    for number, _, dim in fields(data):
        if number == 2:
            size = 0
            for inner, _, value in fields(dim):
                if inner == 1:
                    size = as_int64(value)
            sizes.append(size)
    return sizes


def _typed_values(field: int, wire_type: int, value) -> numpy.ndarray:
    code = _TYPED_FIELDS[field]
    if code is not None:                                # float_val / double_val, packed or not
        return numpy.frombuffer(value, dtype=code).astype(numpy.float64)
    if wire_type != LENGTH_DELIMITED:                   # one unpacked varint
        return numpy.array([as_int64(value)], dtype=numpy.int64)
    numbers, position = [], 0
    while position < len(value):
        number, position = read_varint(value, position)
        numbers.append(as_int64(number))
    return numpy.array(numbers, dtype=numpy.int64)
