"""``tf.summary``'s functions: write to the thread's default writer at the default step.

Each returns True when it wrote and False when no writer is the default (TensorFlow's
behaviour); a summary with neither a ``step`` argument nor a default step raises ValueError.
Tags get the enclosing ``gk.name_scope`` prefixes, as TensorFlow's do.
"""
from __future__ import annotations

import os
import time
from typing import Any, Sequence

import numpy

from ..backend.host import to_host, to_host_scalar
from ..engine.naming import scoped
from ..global_state import THREAD
from . import messages
from .context import CONTEXT
from .graph_def import GraphDef, NodeDef
from .writer import SummaryWriter

DEFAULT_BUCKET_COUNT = 30      # tf.summary.histogram's default


def create_file_writer(logdir: str | os.PathLike, max_queue: int = 10, flush_millis: int = 120000,
                       filename_suffix: str = ".v2") -> SummaryWriter:
    """A writer for a new event file in ``logdir`` (created if needed). Records reach the file
    when more than ``max_queue`` are waiting, at the first write ``flush_millis`` after the last
    flush, and on ``flush()``."""
    return SummaryWriter(logdir, max_queue=max_queue, flush_millis=flush_millis,
                         filename_suffix=filename_suffix)


def scalar(name: str, data: Any, step: Any = None, description: str | None = None) -> bool:
    """Write a scalar (a Python or numpy number, a 0-d array or a one-element tensor)."""
    writer = CONTEXT.writer
    if writer is None:
        return False
    step = _step(name, step)
    if THREAD.scope_stack:
        name = scoped(name)
    value = data if type(data) is float else _as_float(name, data)
    if description is None:
        writer.write_scalar(name, value, step)
    else:
        metadata = messages.summary_metadata("scalars", description=description)
        _write(writer, step, messages.summary_value(name, simple_value=value, metadata=metadata))
    return True


def histogram(name: str, data: Any, step: Any = None, buckets: int | None = None,
              description: str | None = None) -> bool:
    """Write a histogram of all the values in ``data`` with TensorFlow's bucketing: ``buckets``
    (default 30) equal-width buckets from the minimum to the maximum."""
    writer = CONTEXT.writer
    if writer is None:
        return False
    step = _step(name, step)
    name = scoped(name)
    values = to_host(data, numpy.float64).ravel()
    if not numpy.isfinite(values).all():
        raise ValueError(f"gk.summary.histogram {name!r}: data holds NaN or infinity.")
    count = DEFAULT_BUCKET_COUNT if buckets is None else max(0, int(buckets))
    limits, counts = _buckets(values, count)
    histo = messages.histogram_proto(
        float(values.min()) if values.size else 0.0, float(values.max()) if values.size else 0.0,
        float(values.size), float(values.sum()), float(numpy.dot(values, values)), limits, counts)
    metadata = messages.summary_metadata("histograms", description=description) if description else b""
    _write(writer, step, messages.summary_value(name, histo=histo, metadata=metadata))
    return True


def _buckets(values: numpy.ndarray, count: int) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Right edges and counts of TensorFlow's ``count`` buckets (its histogram_v2 algorithm)."""
    if count == 0 or values.size == 0:
        return numpy.zeros(count), numpy.zeros(count)
    low, high = values.min(), values.max()
    if low == high:                       # one value: every edge at it, all in the last bucket
        counts = numpy.zeros(count)
        counts[-1] = values.size
        return numpy.full(count, high), counts
    index = numpy.floor((values - low) / ((high - low) / count)).astype(numpy.int64)
    counts = numpy.bincount(numpy.minimum(index, count - 1), minlength=count).astype(numpy.float64)
    edges = numpy.linspace(low, high, count + 1)
    edges[-1] = high
    return edges[1:], counts


def text(name: str, data: Any, step: Any = None, description: str | None = None) -> bool:
    """Write text (a string, or an array/nested list of strings; TensorBoard renders Markdown)."""
    writer = CONTEXT.writer
    if writer is None:
        return False
    step = _step(name, step)
    name = scoped(name)
    array = numpy.asarray(data, dtype=object)
    strings = [item if isinstance(item, bytes) else str(item).encode("utf-8") for item in array.ravel()]
    metadata = messages.summary_metadata("text", description=description or "")
    tensor = messages.string_tensor(strings, array.shape)
    _write(writer, step, messages.summary_value(name, tensor=tensor, metadata=metadata))
    return True


def graph(graph_data: GraphDef | Sequence[NodeDef]) -> bool:
    """Write a graph (a :class:`GraphDef` or a list of :class:`NodeDef`) for TensorBoard's Graphs
    dashboard."""
    writer = CONTEXT.writer
    if writer is None:
        return False
    if not isinstance(graph_data, GraphDef):
        graph_data = GraphDef(tuple(graph_data))
    writer.write_event(messages.event(time.time(), graph_def=graph_data.encode()))
    return True


def flush(writer: SummaryWriter | None = None) -> None:
    """Flush ``writer``, or the default writer (nothing happens when there is none)."""
    writer = writer if writer is not None else CONTEXT.writer
    if writer is not None:
        writer.flush()


def _write(writer: SummaryWriter, step: int, value: bytes) -> None:
    writer.write_event(messages.event(time.time(), step, summary=messages.summary([value])))


def _step(name: str, step: Any) -> int:
    if step is None:
        step = CONTEXT.step
        if step is None:
            raise ValueError(f"gk.summary {name!r}: no step given and no default step set "
                             "(pass step=, use writer.as_default(step=...) or "
                             "gk.summary.experimental.set_step).")
    if type(step) is int:
        return step
    try:
        return int(to_host_scalar(step))
    except (TypeError, ValueError):
        raise ValueError(f"gk.summary {name!r}: step must be one integer, got {step!r}.") from None


def _as_float(name: str, data: Any) -> float:
    if type(data) is int:
        return float(data)
    try:
        return float(to_host_scalar(data))
    except (TypeError, ValueError):
        shape = getattr(data, "shape", None)
        raise ValueError(f"gk.summary.scalar {name!r}: data must be one number, got "
                         f"{type(data).__name__}{'' if shape is None else f' of shape {tuple(shape)}'}."
                         ) from None
