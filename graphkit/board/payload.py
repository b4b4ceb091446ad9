"""The board payload (docs/board.md, "Board data"): one JSON document with every run's scalars,
histograms, text, graph (with per-layer timing from its spans) and spans, which every surface
(served page, exported file, notebook MIME bundle) hands to the front end's ``mountBoard``.

Numeric columns travel as ``{"dtype": "float64", "b64": ...}`` (little-endian bytes). Embedded
payloads reduce a scalar tag of more than :data:`EMBED_POINT_LIMIT` points to each of
:data:`EMBED_BUCKETS` buckets' minimum and maximum, so no spike is lost.
"""
from __future__ import annotations

import base64
import time

import numpy

from ..summary import HistogramEvent, ScalarSeries, TextEvent
from .logdir import LogDir, Run, SpanLog

FORMAT = "graphkit.board"
VERSION = 1
EMBED_POINT_LIMIT = 200_000
EMBED_BUCKETS = 4096

__all__ = ["build_payload", "extreme_indices", "layer_timing", "numeric", "EMBED_POINT_LIMIT", "EMBED_BUCKETS"]


def numeric(values) -> dict:
    """A numeric array as the payload's base64 float64 form."""
    data = numpy.ascontiguousarray(values, dtype="<f8")
    return {"dtype": "float64", "b64": base64.b64encode(data.tobytes()).decode("ascii")}


def extreme_indices(values: numpy.ndarray, buckets: int) -> numpy.ndarray:
    """Indices of each bucket's minimum and maximum, ascending: ``values`` split into ``buckets``
    runs of equal length (the last one shorter). A NaN counts as both extremes of its bucket."""
    size = -(-values.size // buckets)
    rows = -(-values.size // size)
    padded_low = numpy.full(rows * size, numpy.inf)
    padded_low[:values.size] = values
    padded_high = numpy.full(rows * size, -numpy.inf)
    padded_high[:values.size] = values
    base = numpy.arange(rows) * size
    lows = base + padded_low.reshape(rows, size).argmin(axis=1)
    highs = base + padded_high.reshape(rows, size).argmax(axis=1)
    return numpy.unique(numpy.concatenate([lows, highs]))


def _scalar_tag(series: ScalarSeries, embedded: bool) -> dict:
    points = series.value.size
    if embedded and points > EMBED_POINT_LIMIT:
        keep = extreme_indices(series.value, EMBED_BUCKETS)
        return {"step": numeric(series.step[keep]), "wall_time": numeric(series.wall_time[keep]),
                "value": numeric(series.value[keep]), "reduced": True, "points": points}
    return {"step": numeric(series.step), "wall_time": numeric(series.wall_time), "value": numeric(series.value)}


def _histogram(event: HistogramEvent) -> dict:
    """TensorBoard's form: bucket i spans limits[i-1] (min for the first) to limits[i]."""
    low = float(event.left[0]) if event.left.size else 0.0
    high = float(event.right[-1]) if event.right.size else 0.0
    return {"step": int(event.step), "wall_time": float(event.wall_time), "min": low, "max": high,
            "limits": event.right.tolist(), "counts": event.count.tolist()}


def _text(event: TextEvent) -> dict:
    strings = event.text.ravel().tolist()
    return {"step": int(event.step), "wall_time": float(event.wall_time), "text": "\n".join(map(str, strings))}


def _spans(spans: SpanLog) -> dict:
    numbers = {name: numpy.asarray(column, dtype=numpy.float64) for name, column in spans.numbers.items()}
    origin = numbers["start_ns"].min() if spans.count else 0.0
    numbers["start_ns"] -= origin
    numbers["end_ns"] -= origin
    columns = {**spans.text, **{name: numeric(column) for name, column in numbers.items()}}
    return {"count": spans.count, "columns": columns}


def layer_timing(spans: SpanLog, graph: dict) -> dict[str, dict]:
    """Per graph node id: the total time of its layer's spans (forward and backward), the number
    of forward calls, and the mean time per call. Spans name layers (``dense``); nodes of nested
    models have path ids (``inner/dense``), so spans are matched through each node's name."""
    totals: dict[str, list] = {}
    text, numbers = spans.text, spans.numbers
    for kind, layer, name, phase, start, end in zip(text["kind"], text["layer"], text["name"], text["phase"],
                                                    numbers["start_ns"], numbers["end_ns"]):
        if kind == "layer":
            entry = totals.setdefault(layer or name, [0.0, 0])
            entry[0] += end - start
            entry[1] += phase == "forward"
    timing = {}
    for node in graph.get("nodes", ()):
        total, calls = totals.get(node.get("name", node["id"]), (0.0, 0))
        if total:
            timing[node["id"]] = {"total_ns": total, "count": calls, "mean_ns": total / max(calls, 1)}
    return timing


def _run(run: Run, embedded: bool) -> dict:
    graph = run.graph
    if graph is not None:
        graph = {**graph, "timing": layer_timing(run.spans, graph) if run.spans else {}}
    return {"name": run.name,
            "scalars": {tag: _scalar_tag(series, embedded) for tag, series in run.scalars().items()},
            "histograms": {tag: [_histogram(event) for event in events] for tag, events in run.histograms().items()},
            "text": {tag: [_text(event) for event in events] for tag, events in run.texts().items()},
            "graph": graph,
            "spans": _spans(run.spans) if run.spans else None}


def build_payload(logdir: LogDir, *, embedded: bool, live: bool = False) -> dict:
    """The payload of what ``logdir`` has read so far (call ``logdir.refresh()`` first).
    ``embedded`` reduces long scalar tags for notebooks and exported files; ``live`` tells the
    front end to poll the server."""
    return {"format": FORMAT, "version": VERSION, "title": logdir.title, "generated_wall_time": time.time(),
            "live": live, "token": logdir.token,
            "runs": [_run(run, embedded) for _, run in sorted(logdir.runs.items())]}
