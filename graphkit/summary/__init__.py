"""``gk.summary``: TensorFlow-style summaries written as TensorBoard event files.

>>> writer = gk.summary.create_file_writer("logs/run1")
>>> with writer.as_default(step=0):
...     gk.summary.scalar("loss", 0.25)

The files are the real format (TFRecord-framed ``Event`` protocol buffers, encoded here without
protobuf), so TensorBoard reads them; :class:`EventFileReader` reads them back fast, following a
file that is still being written. Format and API: docs/board.md.
"""
from . import experimental
from .api import create_file_writer, flush, graph, histogram, scalar, text
from .graph_def import GraphDef, NodeDef, Shape
from .reader import EventBatch, EventFileReader, HistogramEvent, ScalarSeries, TextEvent
from .writer import SummaryWriter
from ..trace.tf_api import trace_export, trace_off, trace_on  # noqa: E402  (the tracer builds on this package)

__all__ = ["EventBatch", "EventFileReader", "GraphDef", "HistogramEvent", "NodeDef", "ScalarSeries",
           "Shape", "SummaryWriter", "TextEvent", "create_file_writer", "experimental", "flush",
           "graph", "histogram", "scalar", "text", "trace_export", "trace_off", "trace_on"]
