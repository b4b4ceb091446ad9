"""``gk.trace``: record what a block of code runs as timed spans.

>>> with gk.trace(logdir="logs/run1", level="layer") as tr:
...     model.fit(x, y, epochs=2)
>>> tr.summary()                      # the slowest layers
>>> tr.to_chrome_trace("trace.json")  # Perfetto / chrome://tracing

While the block runs the tracer subscribes to graphkit's events (:mod:`graphkit.events`) and
keeps only those of the thread that opened it, as small raw records (times, shapes, ids); the
records become :class:`Span` objects (:mod:`graphkit.trace.assemble`) at each training epoch's
end, when many are waiting (see ``FLUSH_RECORDS``) and when the block ends, and with ``logdir``
are appended to ``<logdir>/graphkit-spans.jsonl`` then. Level ``"layer"`` keeps layer,
optimizer and step spans; ``"op"`` adds a span per primitive call. Both listen to primitive
calls: backward work is attributed to layers through them.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable

from numpy import ndarray

from .. import events
from ..backend.host import to_host_scalar
from ..engine.tensor import Tensor
from ..global_state import PROCESS
from . import assemble, chrome, report, store
from .device import backend_and_device, span_end_clock
from .spans import Span

LEVELS = ("layer", "op")
# Records are also turned into spans once this many wait, at the next point where no span is
# open: a training step's end, or an optimizer update outside fit (after its step's backward).
FLUSH_RECORDS = 1 << 16
_clock = time.perf_counter_ns
_get_ident = threading.get_ident


def _shapes(structure: Any) -> tuple:
    """Shapes of the tensors/arrays in a (nested) call argument or result."""
    if isinstance(structure, Tensor):
        return (structure.data.shape,)
    if isinstance(structure, (list, tuple)):
        return tuple(shape for item in structure for shape in _shapes(item))
    if isinstance(structure, dict):
        return tuple(shape for key in structure for shape in _shapes(structure[key]))
    shape = getattr(structure, "shape", None)
    return (tuple(shape),) if shape is not None and hasattr(structure, "dtype") else ()


def _first_dtype(structure: Any) -> Any:
    if isinstance(structure, Tensor):
        return structure.data.dtype
    if isinstance(structure, (list, tuple)):
        for item in structure:
            dtype = _first_dtype(item)
            if dtype is not None:
                return dtype
    return getattr(structure, "dtype", None) if not isinstance(structure, dict) else None


class Trace:
    """A recording of spans; use as ``with gk.trace(...) as tr:`` (see the module docstring).

    ``spans`` holds the :class:`Span` objects recorded so far (complete once the block has
    ended); ``summary()``, ``to_chrome_trace(path)`` and ``to_dicts()`` read them.
    """

    def __init__(self, logdir: str | os.PathLike | None = None, level: str = "layer") -> None:
        if level not in LEVELS:
            raise ValueError(f"gk.trace: level must be one of {LEVELS}, got {level!r}.")
        self.logdir = None if logdir is None else os.fspath(logdir)
        self.level = level
        self.spans: list[Span] = []
        self._raw: list[tuple] = []
        self._handlers: tuple = ()
        self._tail_handlers: tuple = ()
        self._tails_on = False
        self._active = False
        self._assembler: assemble.SpanAssembler | None = None
        self._ident = 0
        self._sync: Callable[[], int] | None = None
        self._step: int | None = None          # the training step running now (None between steps)
        self._step_count = 0                    # steps seen, for models without an optimizer
        self._step_start = 0
        self._batch_end = 0
        self._last_batch_end: int | None = None   # end of the previous step's callbacks (data span start)

    # ------------------------------------------------------------ lifetime
    def __enter__(self) -> "Trace":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def active(self) -> bool:
        """Whether the trace is recording."""
        return self._active

    def start(self) -> "Trace":
        """Start recording (what entering the ``with`` block does)."""
        if self._assembler is not None:
            raise RuntimeError("gk.trace: a trace records once; make a new gk.trace() to record again.")
        thread = threading.current_thread()
        ops = PROCESS.ops
        backend, device = backend_and_device(ops)
        self._assembler = assemble.SpanAssembler(
            level=self.level, thread=threading.get_native_id(), thread_name=thread.name, backend=backend,
            device=device)
        self._ident = _get_ident()
        self._sync = span_end_clock(ops)
        self._handlers = (
            *self._recording_handlers(), ("run_begin", self._on_run_begin),
            ("run_end", self._on_run_end), ("epoch_end", self._on_epoch_end),
            ("batch_begin", self._on_batch_begin), ("batch_end", self._on_batch_end))
        self._tail_handlers = (("batch_begin", self._on_batch_begin_tail), ("batch_end", self._on_batch_end_tail))
        self._active = True
        for kind, handler in self._handlers:
            events.subscribe(kind, handler)
        return self

    def stop(self) -> None:
        """Stop recording and turn what is left into spans (written to ``logdir`` if given)."""
        if not self._active:
            return
        self._active = False
        for kind, handler in self._handlers:
            events.unsubscribe(kind, handler)
        self._subscribe_tails(False)
        if self._step is not None:             # a step still running: it ends with the trace
            self._raw.append((assemble.STEP, self._step_start, _clock(), "train_step", None, self._step))
            self._step = None
        self.flush()

    def flush(self) -> list[Span]:
        """Turn the records so far into spans, append them to ``spans`` (and to
        ``<logdir>/graphkit-spans.jsonl``) and return them. Called at each training epoch's end
        and when the trace stops."""
        raw = self._raw[:]          # the handlers hold ``self._raw.append``: the list stays, emptied
        self._raw.clear()
        if not raw or self._assembler is None:
            return []
        new = self._assembler.assemble(raw)
        self.spans.extend(new)
        if self.logdir is not None:
            store.append_spans(self.logdir, new)
        return new

    # ------------------------------------------------------------ reading
    def to_dicts(self) -> list[dict]:
        """The spans as the JSON objects of ``graphkit-spans.jsonl``."""
        return [span.as_dict() for span in self.spans]

    def summary(self, print_fn: Callable[[str], Any] = print, top: int = 10) -> None:
        """Print the ``top`` slowest layers: calls, forward and backward time, total, mean per
        call and share of the traced time."""
        print_fn(report.layer_table(self.spans, top=top, level=self.level))

    def to_chrome_trace(self, path: str | os.PathLike) -> str:
        """Write the spans as Trace Event JSON (Perfetto, chrome://tracing); returns the path."""
        return chrome.write_chrome_trace(self.spans, path)

    def __repr__(self) -> str:
        state = "recording" if self._active else "stopped"
        return f"<gk.trace level={self.level!r} {state}, {len(self.spans)} spans>"

    # ------------------------------------------------------------ event handlers (hot paths)
    def _recording_handlers(self) -> tuple:
        """``(kind, handler)`` for the events that become records: closures over what they
        read, so that a call costs no attribute look-ups but the running step's. They keep
        what is cheap to take and needed later; the rest waits for assembly."""
        append, ident, sync, trace = self._raw.append, self._ident, self._sync, self
        forward, backward, layer_record, update = assemble.FORWARD, assemble.BACKWARD, assemble.LAYER, assemble.OPTIMIZER

        def on_primitive(prim, inputs, outputs, attrs, start, end, phase) -> None:
            if _get_ident() != ident:
                return
            if sync is not None:
                end = sync()
            if outputs is None:                # backward: shapes come from its forward call
                append((backward, start, end, prim, id(inputs), trace._step))
                return
            if prim.multi_output:
                data = outputs[0].data
                outputs = tuple([o.data.shape for o in outputs])
            else:
                data = outputs.data
                outputs = data.shape
            count = len(inputs)                # the usual arities spelled out: a comprehension costs a call
            if count == 2:
                append((forward, start, end, prim, id(inputs), trace._step, data.dtype, outputs, inputs[0].data.shape,
                        inputs[1].data.shape))
            elif count == 1:
                append((forward, start, end, prim, id(inputs), trace._step, data.dtype, outputs, inputs[0].data.shape))
            elif count == 3:
                append((forward, start, end, prim, id(inputs), trace._step, data.dtype, outputs, inputs[0].data.shape,
                        inputs[1].data.shape, inputs[2].data.shape))
            else:
                append((forward, start, end, prim, id(inputs), trace._step, data.dtype, outputs,
                        *[t.data.shape for t in inputs]))

        def on_layer_call(layer, args, outputs, node, error, start, end) -> None:
            if start is None or _get_ident() != ident:    # a symbolic call: nothing ran
                return
            if sync is not None:
                end = sync()
            first = args[0] if args else None
            if type(outputs) is Tensor:        # one tensor (or, for a model, array) in, one tensor out
                if type(first) is Tensor:
                    first = first.data
                if type(first) is ndarray:
                    data = outputs.data
                    append((layer_record, start, end, layer, trace._step, True, data.dtype, data.shape, first.shape))
                    return
            append((layer_record, start, end, layer, trace._step, False, _first_dtype(outputs), _shapes(outputs),
                    _shapes(first)))

        def on_optimizer_update(optimizer, variables, start, end) -> None:
            if _get_ident() != ident:
                return
            if sync is not None:
                end = sync()
            append((update, start, end, optimizer, trace._step, variables))
            if trace._step is None and len(trace._raw) >= FLUSH_RECORDS:    # a long hand-written loop
                trace.flush()

        return (("primitive", on_primitive), ("layer_call", on_layer_call), ("optimizer_update", on_optimizer_update))

    # ------------------------------------------------------------ training steps
    def _subscribe_tails(self, on: bool) -> None:
        """Handlers that run after the callbacks (subscribed later than fit's CallbackList), so
        the time callbacks take becomes ``callback`` spans of its own."""
        if on == self._tails_on:
            return
        self._tails_on = on
        for kind, handler in self._tail_handlers:
            (events.subscribe if on else events.unsubscribe)(kind, handler)

    def _on_run_begin(self, model, mode, logs) -> None:
        if mode == "train" and self._active and _get_ident() == self._ident:
            self._subscribe_tails(True)

    def _on_run_end(self, model, mode, logs) -> None:
        if mode == "train" and _get_ident() == self._ident:
            self._subscribe_tails(False)
            self._last_batch_end = None

    def _on_epoch_end(self, model, epoch, logs) -> None:
        if _get_ident() == self._ident and self._active:
            self._last_batch_end = None
            self.flush()

    def _on_batch_begin(self, model, mode, batch, logs) -> None:
        if mode != "train" or _get_ident() != self._ident or not self._active:
            return
        now = _clock()
        step = self._next_step(model)
        if self._last_batch_end is not None:
            self._raw.append((assemble.STEP, self._last_batch_end, now, "data", "data", step))
        self._step = step
        self._step_start = now

    def _on_batch_begin_tail(self, model, mode, batch, logs) -> None:
        if mode == "train" and self._step is not None and _get_ident() == self._ident:
            now = _clock()
            self._raw.append((assemble.STEP, self._step_start, now, "callbacks", "callback", self._step))
            self._step_start = now

    def _on_batch_end(self, model, mode, batch, logs) -> None:
        if mode != "train" or self._step is None or _get_ident() != self._ident:
            return
        now = _clock()
        self._raw.append((assemble.STEP, self._step_start, now, "train_step", None, self._step))
        self._batch_end = now
        if len(self._raw) >= FLUSH_RECORDS:                            # a long epoch
            self.flush()
        if not self._tails_on:
            self._last_batch_end = now
            self._step = None

    def _on_batch_end_tail(self, model, mode, batch, logs) -> None:
        if mode == "train" and self._step is not None and _get_ident() == self._ident:
            now = _clock()
            self._raw.append((assemble.STEP, self._batch_end, now, "callbacks", "callback", self._step))
            self._last_batch_end = now
            self._step = None

    def _next_step(self, model: Any) -> int:
        """The training step about to run, counted from 1: the optimizer's ``iterations`` after
        it (so spans line up with ``batch_*`` summaries), or the steps this trace has seen."""
        self._step_count += 1
        iterations = getattr(getattr(model, "optimizer", None), "iterations", None)
        if iterations is None:
            return self._step_count
        return int(to_host_scalar(iterations)) + 1


def trace(logdir: str | os.PathLike | None = None, level: str = "layer") -> Trace:
    """A :class:`Trace` to use as ``with gk.trace(logdir=None, level="layer") as tr:``."""
    return Trace(logdir, level)
