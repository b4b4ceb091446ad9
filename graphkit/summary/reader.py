"""EventFileReader: read an event file, and what was appended to it since the last read.

Records are framed by one Python loop over the lengths and CRC-checked for all records at once
(numpy). Scalar events in the common layout (``wall_time, [step], one Summary.Value {tag,
simple_value}``, as TensorBoard, PyTorch and graphkit write them) are decoded together with
numpy: the layout is checked and the fields gathered for every record at once. Any other event
(tensor-form scalars written by TF2, histograms, text, graphs, several values per event) goes
through the generic decoder in messages.py.
"""
from __future__ import annotations

import os
import warnings
from collections import defaultdict
from dataclasses import dataclass, field

import numpy

from .messages import DecodedValue, HistogramValue, decode_event
from .records import scan, unaligned

CHUNK_BYTES = 8 << 20           # read at most this much at a time (faster than larger chunks)


@dataclass(frozen=True)
class ScalarSeries:
    """One tag's scalar points, in file order."""
    step: numpy.ndarray          # int64
    wall_time: numpy.ndarray     # float64, seconds since the epoch
    value: numpy.ndarray         # float64


@dataclass(frozen=True)
class HistogramEvent:
    """One histogram: bucket ``i`` spans ``left[i]..right[i]`` and holds ``count[i]`` values
    (TensorBoard's own form; a HistogramProto's ``bucket_limit`` gives the right edges)."""
    step: int
    wall_time: float
    left: numpy.ndarray
    right: numpy.ndarray
    count: numpy.ndarray


@dataclass(frozen=True)
class TextEvent:
    """One text summary: ``text`` is a numpy object array of ``str`` (0-d for one string)."""
    step: int
    wall_time: float
    text: numpy.ndarray


@dataclass
class EventBatch:
    """What one :meth:`EventFileReader.read_new` found. ``graphs`` holds encoded GraphDefs
    (``GraphDef.decode`` reads them). ``restarted`` is True when the file had shrunk, so it
    was read again from its start and earlier batches should be dropped."""
    scalars: dict[str, ScalarSeries] = field(default_factory=dict)
    histograms: dict[str, list[HistogramEvent]] = field(default_factory=dict)
    texts: dict[str, list[TextEvent]] = field(default_factory=dict)
    graphs: list[bytes] = field(default_factory=list)
    file_version: str = ""
    restarted: bool = False

    @property
    def empty(self) -> bool:
        return not (self.scalars or self.histograms or self.texts or self.graphs or self.file_version)


class EventFileReader:
    """Reads one event file incrementally: each :meth:`read_new` returns the events written
    since the previous one. A record cut short at the end of the file (a writer mid-append) is
    left for the next call; a record with a bad CRC is skipped with a warning."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        self.offset = 0                                   # bytes of whole records read so far
        self._plugins: dict[str, str] = {}                # tag -> plugin named by its metadata

    def read_new(self) -> EventBatch:
        """The events appended since the last call (all of them on the first call)."""
        collector = _Collector(self.path, self._plugins)
        with open(self.path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            if size < self.offset:
                warnings.warn(f"{self.path}: the file shrank from {self.offset} to {size} bytes; "
                              "reading it again from the start", RuntimeWarning, stacklevel=2)
                self.offset, collector.batch.restarted = 0, True
                self._plugins.clear()
            file.seek(self.offset)
            pending = b""
            while True:
                chunk = file.read(CHUNK_BYTES)
                if not chunk:
                    break
                buffer = pending + chunk if pending else chunk
                found = scan(buffer, self.path, self.offset)
                collector.add(buffer, found.starts, found.lengths)
                self.offset += found.end
                pending = buffer[found.end:]
        return collector.finish()


class _Collector:
    """Decodes the records of successive buffers into one EventBatch."""

    def __init__(self, path: str, plugins: dict[str, str]) -> None:
        self.path = path
        self.batch = EventBatch()
        self.plugins = plugins
        self.scalar_parts: dict[str, list[tuple[numpy.ndarray, ...]]] = defaultdict(list)
        self.records_seen = 0                              # orders points across buffers

    def add(self, buffer: bytes, starts: numpy.ndarray, lengths: numpy.ndarray) -> None:
        fast = _fast_scalars(buffer, starts, lengths)
        order = self.records_seen + numpy.arange(starts.size)
        slow_points: dict[str, list[tuple[int, int, float, float]]] = defaultdict(list)
        for index in numpy.flatnonzero(~fast.matched).tolist():
            start = int(starts[index])
            self._add_event(memoryview(buffer)[start:start + int(lengths[index])],
                            slow_points, int(order[index]))
        if fast.tags:
            codes = fast.codes
            for code, tag in enumerate(fast.tags):
                chosen = numpy.flatnonzero(codes == code) if len(fast.tags) > 1 else slice(None)
                self.scalar_parts[tag].append((order[fast.records][chosen], fast.step[chosen],
                                               fast.wall_time[chosen], fast.value[chosen]))
        for tag, points in slow_points.items():
            indexes, step, wall_time, value = zip(*points)
            self.scalar_parts[tag].append((numpy.array(indexes, numpy.int64), numpy.array(step, numpy.int64),
                                           numpy.array(wall_time, numpy.float64), numpy.array(value, numpy.float64)))
        self.records_seen += starts.size

    def _add_event(self, data: memoryview, slow_points, order: int) -> None:
        try:
            event = decode_event(data)
        except (ValueError, IndexError) as error:
            warnings.warn(f"{self.path}: event {order} could not be decoded ({error}); skipped",
                          RuntimeWarning, stacklevel=4)
            return
        if event.file_version:
            self.batch.file_version = event.file_version
        if event.graph_def:
            self.batch.graphs.append(event.graph_def)
        for value in event.values:
            self._add_value(event, value, slow_points, order)

    def _add_value(self, event, value: DecodedValue, slow_points, order: int) -> None:
        if value.plugin_name:
            self.plugins[value.tag] = value.plugin_name
        plugin = self.plugins.get(value.tag, "")
        payload = value.payload
        if isinstance(payload, float):
            slow_points[value.tag].append((order, event.step, event.wall_time, payload))
        elif isinstance(payload, HistogramValue):
            # As TensorBoard reads a HistogramProto: from min through the limits to max.
            limits = payload.bucket_limit
            left = numpy.concatenate([[payload.min], limits[:-1]]) if limits.size else limits
            right = numpy.concatenate([limits[:-1], [payload.max]]) if limits.size else limits
            self._histogram(value.tag, event, left, right, payload.bucket)
        elif isinstance(payload, numpy.ndarray):
            if plugin == "scalars" and payload.size == 1:
                slow_points[value.tag].append((order, event.step, event.wall_time, float(payload.reshape(()))))
            elif plugin == "histograms" and payload.ndim == 2 and payload.shape[1] == 3:
                columns = payload.astype(numpy.float64).T
                self._histogram(value.tag, event, columns[0], columns[1], columns[2])
            elif plugin == "text" and payload.dtype == object:
                text = numpy.array([item.decode("utf-8", "replace") for item in payload.ravel()],
                                   dtype=object).reshape(payload.shape)
                self.batch.texts.setdefault(value.tag, []).append(TextEvent(event.step, event.wall_time, text))

    def _histogram(self, tag: str, event, left, right, count) -> None:
        self.batch.histograms.setdefault(tag, []).append(
            HistogramEvent(event.step, event.wall_time, numpy.asarray(left, numpy.float64),
                           numpy.asarray(right, numpy.float64), numpy.asarray(count, numpy.float64)))

    def finish(self) -> EventBatch:
        for tag, parts in self.scalar_parts.items():
            order, step, wall_time, value = (numpy.concatenate(column) for column in zip(*parts))
            if len(parts) > 1 and (numpy.diff(order) < 0).any():
                sort = numpy.argsort(order, kind="stable")
                step, wall_time, value = step[sort], wall_time[sort], value[sort]
            self.batch.scalars[tag] = ScalarSeries(step, wall_time, value.astype(numpy.float64))
        return self.batch


@dataclass(frozen=True)
class _FastScalars:
    """Scalar events decoded together: ``records`` indexes the matched records, ``codes`` gives
    each one's tag as an index into ``tags``."""
    matched: numpy.ndarray
    records: numpy.ndarray
    tags: list[str]
    codes: numpy.ndarray
    step: numpy.ndarray
    wall_time: numpy.ndarray
    value: numpy.ndarray


def _fast_scalars(buffer: bytes, starts: numpy.ndarray, lengths: numpy.ndarray) -> _FastScalars:
    """Decode every record laid out as ``09 <wall_time:8> [10 <step varint, 1-4 bytes>] 2a <n>
    0a <n> 0a <n> <tag> 15 <float:4>`` (one-byte lengths); ``matched`` marks them."""
    array = numpy.frombuffer(buffer, dtype=numpy.uint8)

    def at(positions):
        return array.take(positions, mode="clip").astype(numpy.int64)

    matched = (lengths >= 17) & (at(starts) == 0x09)
    after_wall = starts + 9
    has_step = at(after_wall) == 0x10
    step, step_size = numpy.zeros(starts.size, numpy.int64), numpy.zeros(starts.size, numpy.int64)
    going = has_step.copy()                          # still inside the step's varint
    for place in range(4):
        byte = at(after_wall + 1 + place)
        step |= numpy.where(going, (byte & 0x7F) << (7 * place), 0)
        step_size += going
        going &= byte >= 0x80
    matched &= ~going                                # a varint over four bytes: the generic decoder
    summary = after_wall + numpy.where(has_step, 1 + step_size, 0)
    summary_size, value_size, tag_size = at(summary + 1), at(summary + 3), at(summary + 5)
    float_at = summary + 6 + tag_size
    matched &= ((at(summary) == 0x2A) & (at(summary + 2) == 0x0A) & (at(summary + 4) == 0x0A)
                & (tag_size < 0x80) & (at(float_at) == 0x15) & (value_size == tag_size + 7)
                & (summary_size == value_size + 2) & (summary + 2 + summary_size == starts + lengths))
    records = numpy.flatnonzero(matched)
    if records.size == 0:
        return _FastScalars(matched, records, [], records, records, numpy.zeros(0), numpy.zeros(0))
    wall_time = unaligned(array, "<f8")[starts[records] + 1]
    value = unaligned(array, "<f4")[float_at[records] + 1].astype(numpy.float64)
    tags, codes = _group_tags(buffer, array, summary[records] + 6, tag_size[records])
    return _FastScalars(matched, records, tags, codes, step[records], wall_time, value)


_TAG_HASH_MULTIPLIER = numpy.uint64(0x100000001B3)      # FNV's prime; arithmetic mod 2**64


def _group_tags(buffer: bytes, array: numpy.ndarray, starts: numpy.ndarray,
                sizes: numpy.ndarray) -> tuple[list[str], numpy.ndarray]:
    """The distinct tags among ``buffer[start:start + size]`` and each one's index among them:
    rows of tag bytes hashed together, the hashes grouped, the groups checked byte for byte."""
    width = int(sizes.max())
    rows = array.take(starts[:, None] + numpy.arange(width), mode="clip")
    rows[numpy.arange(width) >= sizes[:, None]] = 0
    hashes = sizes.astype(numpy.uint64)
    for column in rows.T:
        hashes = hashes * _TAG_HASH_MULTIPLIER + column
    _, first, codes = numpy.unique(hashes, return_index=True, return_inverse=True)
    if not (rows == rows[first][codes]).all() or not (sizes == sizes[first][codes]).all():
        index: dict[bytes, int] = {}                 # a hash collision: group the bytes exactly
        codes = numpy.array([index.setdefault(buffer[a:a + n], len(index))
                             for a, n in zip(starts.tolist(), sizes.tolist())], dtype=numpy.int64)
        return [raw.decode("utf-8", "replace") for raw in index], codes
    tags = [buffer[int(starts[i]):int(starts[i] + sizes[i])].decode("utf-8", "replace") for i in first]
    return tags, codes.reshape(-1)
