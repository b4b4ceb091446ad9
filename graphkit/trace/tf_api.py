"""``gk.summary.trace_on`` / ``trace_export`` / ``trace_off`` (TensorFlow's ``tf.summary`` trace API).

>>> writer = gk.summary.create_file_writer("logs/func")
>>> gk.summary.trace_on(graph=True, profiler=True)
>>> z = my_func(x, y)                       # a @gk.function
>>> with writer.as_default():
...     gk.summary.trace_export(name="my_func_trace", step=0, profiler_outdir="logs/func")

Between ``trace_on`` and the export, every ``gk.function`` that runs or is traced is collected
(``graph=True``) and, with ``profiler=True``, a :class:`~graphkit.trace.Trace` at op level records
the calling thread. ``trace_export`` writes, into the default writer's run:

- the collected graphs as one ``GraphDef`` event (each function's nodes under ``<function>/``),
  which TensorBoard's Graphs dashboard shows;
- their graph JSON into ``graphkit-graph.json`` under ``"op_graphs"`` as ``<name>/<function>``;
- the profile's spans (those outside a training step get ``step``) appended to
  ``graphkit-spans.jsonl``, and a Chrome trace ``<profiler_outdir or the run>/<name>.trace.json``;

then stops tracing, as TensorFlow's does. The trace state is per process, as TensorFlow's is.
"""
from __future__ import annotations

import os
import warnings
from typing import Any

from .. import events
from ..summary import api
from ..summary.context import CONTEXT
from ..summary.graph_def import GraphDef
from . import chrome, store
from .graphs import function_graph, graph_def_nodes, write_graph_file
from .recorder import Trace


class _TraceState:
    """What ``trace_on`` started: the functions seen (by id, in order) and the profiler."""

    def __init__(self, graph: bool, profiler: bool) -> None:
        self.functions: dict[int, Any] = {}
        self.graph = graph
        self.profile = Trace(level="op") if profiler else None

    def on_function_call(self, function: Any, concrete_function: Any) -> None:
        self.functions.setdefault(id(concrete_function), concrete_function)

    def start(self) -> None:
        if self.graph:
            events.subscribe("function_call", self.on_function_call)
        if self.profile is not None:
            self.profile.start()

    def stop(self) -> None:
        if self.graph:
            events.unsubscribe("function_call", self.on_function_call)
        if self.profile is not None:
            self.profile.stop()


_STATE: _TraceState | None = None


def trace_on(graph: bool = True, profiler: bool = False, profiler_outdir: str | os.PathLike | None = None) -> None:
    """Start collecting ``gk.function`` graphs (``graph``) and a profile (``profiler``) until
    :func:`trace_export` or :func:`trace_off`. ``profiler_outdir`` is accepted for TensorFlow's
    signature; the Chrome trace goes where ``trace_export`` says."""
    global _STATE
    if _STATE is not None:
        warnings.warn("gk.summary.trace_on: a trace is already on; call trace_off() or trace_export() first.",
                      RuntimeWarning, stacklevel=2)
        return
    _STATE = _TraceState(graph, profiler)
    _STATE.start()


def trace_off() -> None:
    """Stop tracing and drop what was collected."""
    global _STATE
    state, _STATE = _STATE, None
    if state is not None:
        state.stop()


def trace_export(name: str, step: Any = None, profiler_outdir: str | os.PathLike | None = None) -> None:
    """Write what was traced since :func:`trace_on` to the default writer's run (see the module
    docstring) and stop tracing. ``step`` defaults to the default step (ValueError without one)."""
    global _STATE
    state = _STATE
    if state is None:
        warnings.warn("gk.summary.trace_export: no trace is on (call gk.summary.trace_on() first); nothing "
                      "exported.", RuntimeWarning, stacklevel=2)
        return
    trace_off()
    writer = CONTEXT.writer
    run_dir = writer.logdir if writer is not None else profiler_outdir
    if run_dir is None:
        warnings.warn(f"gk.summary.trace_export {name!r}: no default summary writer and no profiler_outdir; "
                      "nothing exported.", RuntimeWarning, stacklevel=2)
        return
    step = api._step(name, step)
    functions = list(state.functions.values())
    if functions:
        graphs = {f"{name}/{cf.name}": function_graph(cf) for cf in functions}
        write_graph_file(run_dir, op_graphs=graphs, title=name)
        if writer is not None:
            nodes = [node for cf, graph in zip(functions, graphs.values())
                     for node in graph_def_nodes(graph, scope=cf.name)]
            api.graph(GraphDef(tuple(nodes)))
    if state.profile is not None:
        spans = state.profile.spans
        for span in spans:
            if span.step is None:
                span.step = step
        store.append_spans(run_dir, spans)
        chrome.write_chrome_trace(spans, os.path.join(os.fspath(profiler_outdir or run_dir), f"{name}.trace.json"))
    if writer is not None:
        writer.flush()
