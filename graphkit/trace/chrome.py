"""Spans as Trace Event JSON, the format Perfetto and chrome://tracing open.

Each span is a complete event (``"ph": "X"``, ``ts`` and ``dur`` in microseconds from the
trace's first span), on ``pid`` = this process and ``tid`` = the recording thread, named by
``"M"`` (metadata) ``process_name``/``thread_name`` events. A forward layer span and the
backward span of the same call are joined by a flow: ``"s"`` at the forward span's start and
``"f"`` with ``"bp": "e"`` (bound to the enclosing slice) at the backward span's start, both with
the span's ``flow`` number as ``id``. ``args`` carry the span's other fields.
"""
from __future__ import annotations

import json
import os
from typing import Sequence

from ..saving.atomic import atomic_write_bytes
from .spans import Span

_ARGS = ("layer", "op", "step", "inputs", "outputs", "dtype", "backend", "device", "bytes", "flops", "id",
         "parent", "flow")


def chrome_trace(spans: Sequence[Span], pid: int | None = None) -> dict:
    """The Trace Event JSON object (``{"traceEvents": [...], "displayTimeUnit": "ms"}``) of ``spans``."""
    pid = os.getpid() if pid is None else pid
    origin = min((span.start_ns for span in spans), default=0)
    events: list[dict] = [{"name": "process_name", "ph": "M", "pid": pid, "tid": 0, "args": {"name": "graphkit"}}]
    for thread, name in sorted({(span.thread, span.thread_name) for span in spans}):
        events.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": thread, "args": {"name": name}})
    flows: dict[int, dict[str, Span]] = {}
    for span in spans:
        record = span.as_dict()
        events.append({"name": span.name, "cat": f"{span.kind},{span.phase}", "ph": "X", "pid": pid,
                       "tid": span.thread, "ts": (span.start_ns - origin) / 1000.0,
                       "dur": (span.end_ns - span.start_ns) / 1000.0,
                       "args": {key: record[key] for key in _ARGS}})
        if span.flow is not None:
            flows.setdefault(span.flow, {})[span.phase] = span
    for flow, pair in sorted(flows.items()):
        forward, backward = pair.get("forward"), pair.get("backward")
        if forward is None or backward is None:
            continue
        common = {"name": f"{forward.name} backward", "cat": "flow", "id": flow, "pid": pid}
        events.append({**common, "ph": "s", "tid": forward.thread, "ts": (forward.start_ns - origin) / 1000.0})
        events.append({**common, "ph": "f", "bp": "e", "tid": backward.thread,
                       "ts": (backward.start_ns - origin) / 1000.0})
    return {"traceEvents": events, "displayTimeUnit": "ms"}


def write_chrome_trace(spans: Sequence[Span], path: str | os.PathLike) -> str:
    """Write :func:`chrome_trace` of ``spans`` to ``path`` (atomically); returns the path."""
    data = json.dumps(chrome_trace(spans), separators=(",", ":")).encode("utf-8")
    return atomic_write_bytes(path, data)
