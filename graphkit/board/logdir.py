"""LogDir: the runs under a log directory, followed incrementally while training writes them.

A run is a directory (at any depth) holding TensorBoard event files (``*tfevents*``) and/or
graphkit's side files (``graphkit-spans.jsonl``, ``graphkit-graph.json``); its name is its path
relative to the log directory, the directory's own name for the top one. Each :meth:`LogDir.refresh`
reads only what was appended since the last: one :class:`~graphkit.summary.EventFileReader` per
event file, a byte offset into the spans file (a partial last line waits for the next refresh),
and the graph file again only when its size or modification time changed. Runs and files that
appear, disappear or shrink while being read are taken as they are found (docs/board.md).
"""
from __future__ import annotations

import json
import os
import secrets
import warnings
from dataclasses import dataclass, field

import numpy

from ..summary import EventFileReader, HistogramEvent, ScalarSeries, TextEvent
from ..trace.graphs import GRAPH_FILE
from ..trace.store import SPANS_FILE

SPAN_TEXT_COLUMNS = ("name", "layer", "phase", "kind", "thread")
SPAN_NUMBER_COLUMNS = ("step", "start_ns", "end_ns", "flops", "bytes")

__all__ = ["LogDir", "Run", "SpanLog", "SPANS_FILE", "GRAPH_FILE", "is_event_file"]


def is_event_file(name: str) -> bool:
    """Whether ``name`` is a TensorBoard event file (TensorBoard's own test: "tfevents" in it)."""
    return "tfevents" in name


@dataclass
class _EventFileData:
    """What one event file held so far (scalar chunks are joined when asked for)."""
    reader: EventFileReader
    scalar_chunks: dict[str, list[ScalarSeries]] = field(default_factory=dict)
    histograms: dict[str, list[HistogramEvent]] = field(default_factory=dict)
    texts: dict[str, list[TextEvent]] = field(default_factory=dict)

    def read_new(self) -> bool:
        """Add what the file gained since the last read; True when anything changed."""
        batch = self.reader.read_new()
        if batch.restarted:
            self.scalar_chunks.clear()
            self.histograms.clear()
            self.texts.clear()
        for tag, series in batch.scalars.items():
            self.scalar_chunks.setdefault(tag, []).append(series)
        for tag, events in batch.histograms.items():
            self.histograms.setdefault(tag, []).extend(events)
        for tag, events in batch.texts.items():
            self.texts.setdefault(tag, []).extend(events)
        return batch.restarted or bool(batch.scalars or batch.histograms or batch.texts)

    def scalars(self) -> dict[str, ScalarSeries]:
        for tag, chunks in self.scalar_chunks.items():
            if len(chunks) > 1:
                chunks[:] = [_join_series(chunks)]
        return {tag: chunks[0] for tag, chunks in self.scalar_chunks.items()}


def _join_series(parts: list[ScalarSeries]) -> ScalarSeries:
    return ScalarSeries(*(numpy.concatenate(column) for column in
                          zip(*((part.step, part.wall_time, part.value) for part in parts))))


class SpanLog:
    """Follows ``graphkit-spans.jsonl``: complete lines appended since the last read become
    rows of columns (docs/board.md); a partial last line is left for the next read."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._clear()

    def _clear(self) -> None:
        self.offset = 0
        self.text: dict[str, list] = {name: [] for name in SPAN_TEXT_COLUMNS}
        self.numbers: dict[str, list] = {name: [] for name in SPAN_NUMBER_COLUMNS}

    @property
    def count(self) -> int:
        return len(self.text["name"])

    def read_new(self) -> bool:
        """Add the spans appended since the last read; True when anything changed."""
        with open(self.path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            restarted = size < self.offset
            if restarted:
                warnings.warn(f"{self.path}: the file shrank from {self.offset} to {size} bytes; "
                              "reading it again from the start", RuntimeWarning, stacklevel=2)
                self._clear()
            file.seek(self.offset)
            data = file.read(size - self.offset)
        end = data.rfind(b"\n") + 1
        if end == 0:
            return restarted
        self.offset += end
        for number, line in enumerate(data[:end].splitlines()):
            if line.strip():
                self._add(line, number)
        return True

    def _add(self, line: bytes, number: int) -> None:
        try:
            span = json.loads(line)
            row_text = [span["name"], span.get("layer"), span["phase"], span["kind"],
                        span.get("thread_name") or span.get("thread")]
            step = span.get("step")
            row_numbers = [numpy.nan if step is None else float(step), float(span["start_ns"]),
                           float(span["end_ns"]), float(span.get("flops") or 0), float(span.get("bytes") or 0)]
        except (ValueError, KeyError, TypeError) as error:
            warnings.warn(f"{self.path}: a span line could not be read ({error!r}); skipped",
                          RuntimeWarning, stacklevel=3)
            return
        for name, value in zip(SPAN_TEXT_COLUMNS, row_text):
            self.text[name].append(value)
        for name, value in zip(SPAN_NUMBER_COLUMNS, row_numbers):
            self.numbers[name].append(value)


class _GraphFile:
    """``graphkit-graph.json``, read again when its size or modification time changes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.stamp: tuple[int, int] | None = None
        self.graph: dict | None = None

    def read_new(self) -> bool:
        stat = os.stat(self.path)
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self.stamp:
            return False
        self.stamp = stamp
        try:
            with open(self.path, encoding="utf-8") as file:
                graph = json.load(file)
        except ValueError as error:
            warnings.warn(f"{self.path}: not valid graph JSON ({error}); keeping the previous graph",
                          RuntimeWarning, stacklevel=3)
            return False
        if not isinstance(graph, dict):
            warnings.warn(f"{self.path}: the graph JSON is not an object; ignored", RuntimeWarning, stacklevel=3)
            return False
        self.graph = graph
        return True


class Run:
    """One run's files and what has been read from them."""

    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.path = path
        self.event_files: dict[str, _EventFileData] = {}
        self.spans: SpanLog | None = None
        self._graph: _GraphFile | None = None

    @property
    def graph(self) -> dict | None:
        return self._graph.graph if self._graph else None

    def refresh(self, file_names: list[str]) -> bool:
        """Follow the run's files (``file_names``: the directory's current listing); True when
        anything changed."""
        changed = False
        present = {os.path.join(self.path, name) for name in file_names if is_event_file(name)}
        for gone in set(self.event_files) - present:
            del self.event_files[gone]
            changed = True
        for path in sorted(present):             # event file names start with their creation time
            data = self.event_files.get(path)
            if data is None:
                data = self.event_files[path] = _EventFileData(EventFileReader(path))
            changed |= self._follow(path, data.read_new, lambda: self.event_files.pop(path, None))
        if SPANS_FILE in file_names:
            self.spans = self.spans or SpanLog(os.path.join(self.path, SPANS_FILE))
            changed |= self._follow(self.spans.path, self.spans.read_new, self._drop_spans)
        elif self.spans is not None:
            self.spans, changed = None, True
        if GRAPH_FILE in file_names:
            self._graph = self._graph or _GraphFile(os.path.join(self.path, GRAPH_FILE))
            changed |= self._follow(self._graph.path, self._graph.read_new, self._drop_graph)
        elif self._graph is not None:
            self._graph, changed = None, True
        return changed

    def _drop_spans(self) -> None:
        self.spans = None

    def _drop_graph(self) -> None:
        self._graph = None

    @staticmethod
    def _follow(path: str, read_new, drop) -> bool:
        """``read_new()``; a file deleted meanwhile is dropped, one unreadable is warned about."""
        try:
            return read_new()
        except FileNotFoundError:
            drop()
            return True
        except OSError as error:
            warnings.warn(f"{path}: could not be read ({error}); trying again at the next refresh",
                          RuntimeWarning, stacklevel=3)
            return False

    def scalars(self) -> dict[str, ScalarSeries]:
        """Each tag's points, the event files' in file-name order."""
        merged: dict[str, list[ScalarSeries]] = {}
        for path in sorted(self.event_files):
            for tag, series in self.event_files[path].scalars().items():
                merged.setdefault(tag, []).append(series)
        return {tag: parts[0] if len(parts) == 1 else _join_series(parts) for tag, parts in merged.items()}

    def histograms(self) -> dict[str, list[HistogramEvent]]:
        return self._merged("histograms")

    def texts(self) -> dict[str, list[TextEvent]]:
        return self._merged("texts")

    def _merged(self, kind: str) -> dict[str, list]:
        merged: dict[str, list] = {}
        for path in sorted(self.event_files):
            for tag, events in getattr(self.event_files[path], kind).items():
                merged.setdefault(tag, []).extend(events)
        return merged


class LogDir:
    """The runs under ``path``. :meth:`refresh` follows them; :attr:`token` changes exactly
    when a refresh found something new, so a viewer can ask "anything new since <token>?"."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.path.abspath(os.fspath(path))
        if not os.path.isdir(self.path):
            raise FileNotFoundError(f"board: the log directory {self.path} does not exist")
        self.title = os.path.basename(self.path.rstrip(os.sep)) or self.path
        self.runs: dict[str, Run] = {}
        self._session = secrets.token_hex(4)
        self._generation = 0

    @property
    def token(self) -> str:
        return f"{self._session}-{self._generation}"

    def refresh(self) -> bool:
        """Find the runs and read what their files gained; True when anything changed."""
        found = self._listing()
        changed = False
        for name in set(self.runs) - set(found):
            del self.runs[name]
            changed = True
        for name in sorted(found):
            directory, file_names = found[name]
            run = self.runs.get(name)
            if run is None:
                run = self.runs[name] = Run(name, directory)
                changed = True
            changed |= run.refresh(file_names)
        if changed:
            self._generation += 1
        return changed

    def _listing(self) -> dict[str, tuple[str, list[str]]]:
        """Run name -> (directory, its file names), for directories holding run files."""
        found = {}
        for directory, _, file_names in os.walk(self.path, onerror=lambda error: None):
            if any(is_event_file(name) or name in (SPANS_FILE, GRAPH_FILE) for name in file_names):
                relative = os.path.relpath(directory, self.path)
                name = self.title if relative == "." else relative.replace(os.sep, "/")
                found[name] = (directory, file_names)
        return found
