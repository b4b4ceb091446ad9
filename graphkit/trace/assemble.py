"""Raw trace records -> :class:`Span` objects with parents, layers, FLOPs and flows.

Eager ``layer_call`` events arrive when a call *ends*, with its start and end times, so the
tracer does not track open calls while recording; it assigns parents after the fact, by interval
containment (one recording thread): a span's parent is the innermost span that contains it. A
primitive's times are taken inside its layer's, so an op span always lies within its layer span,
and a layer within the model that called it. Records arrive in the order their spans end, so
one backward scan over them nests everything without sorting (see :func:`_nest`).

Backward work is attributed through the tape: a backward ``primitive`` event carries the same
inputs tuple as the forward call that recorded the tape node, so ``id(inputs)`` (most recent
forward call with it, records taken in order) names the forward op, hence the layer call it
ran in. A layer call's backward span covers its backward ops and those of the layers it called
(first start to last end) and shares a ``flow`` number with the forward span. Backward spans
nest by the forward call tree (a backward op within its layer's backward span, that within its
model's); the outermost ones, and backward ops outside any layer (the loss), take the innermost
recorded span around them (the training step) as parent.

FLOPs: an op's estimate (:mod:`graphkit.trace.flops`; backward twice the forward), a layer
span's the sum of the ops it ran (its sublayers' included), a training step's the sum of every
op and optimizer update in it. At level ``"layer"`` op spans are not built, only their effect.
"""
from __future__ import annotations

import gc
import itertools
from operator import attrgetter
from math import prod
from typing import Iterable

import numpy

from .flops import estimate_flops
from .spans import Span

PRIM, LAYER, OPTIMIZER, STEP = range(4)      # raw record kinds (first item of each record tuple)

_DTYPE_NAMES: dict = {}
_FLOPS: dict = {}


def _dtype_name(dtype) -> str | None:
    """``str(dtype)``, cached (numpy's is slow)."""
    if dtype is None:
        return None
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = str(dtype)
    return name


def _flops(op: str, inputs: tuple, outputs: tuple) -> int:
    """:func:`estimate_flops`, cached by op and shapes (a training loop repeats them)."""
    key = (op, inputs, outputs)
    flops = _FLOPS.get(key)
    if flops is None:
        if len(_FLOPS) > 65536:
            _FLOPS.clear()
        flops = _FLOPS[key] = estimate_flops(op, inputs, outputs)
    return flops


def _nbytes(shapes: Iterable[tuple], itemsize: int) -> int:
    return sum(prod(shape) for shape in shapes) * itemsize


class SpanAssembler:
    """Builds the spans of one trace, batch by batch of raw records (ids keep counting)."""

    def __init__(self, level: str, thread: int, thread_name: str, backend: str, device: str,
                 first_id: int = 1) -> None:
        self.level = level
        self.context = (thread, thread_name, backend, device)
        self._ids = itertools.count(first_id)
        self._flows = itertools.count(1)

    def _span(self, *args, **kwargs) -> Span:
        return Span(next(self._ids), *args, context=self.context, **kwargs)

    def assemble(self, raw: list[tuple]) -> list[Span]:
        """The spans of ``raw`` (records in arrival order), sorted by start time. The garbage
        collector is paused meanwhile: the new objects all live on, so its passes would be waste."""
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._assemble(raw)
        finally:
            if collecting:
                gc.enable()

    def _assemble(self, raw: list[tuple]) -> list[Span]:
        spans: list[Span | None] = []   # by position in ``raw``: the span of a non-primitive record
        steps: dict[int, Span] = {}     # step number -> its train_step span
        variables: dict[int, tuple] = {}
        for record in raw:
            kind = record[0]
            if kind == PRIM:
                spans.append(None)
            elif kind == LAYER:
                spans.append(self._layer(record))
            elif kind == OPTIMIZER:
                spans.append(self._optimizer(record, variables))
            else:
                _, name, phase, start, end, step = record
                span = self._span(name, "step", phase, start, end, step)
                if phase is None:
                    steps[step] = span
                spans.append(span)
        containers = _nest(raw, spans)
        timed = [span for span in spans if span is not None]
        for span in timed:
            if span.phase == "optimizer" and span.step in steps:
                steps[span.step].flops += span.flops
        out = timed + self._ops(raw, containers, steps)
        out.sort(key=_START)
        for span in out:
            parent = span.parent_span
            span.parent = None if parent is None else parent.id
        return out

    # ------------------------------------------------------------ records
    def _layer(self, record: tuple) -> Span:
        _, layer, start, end, step, inputs, outputs, dtype = record
        name = layer.name
        return self._span(name, "layer", "forward", start, end, step, layer=name, inputs=inputs,
                          outputs=outputs, dtype=_dtype_name(dtype),
                          bytes=_nbytes(inputs + outputs, 0 if dtype is None else dtype.itemsize))

    def _optimizer(self, record: tuple, seen: dict[int, tuple]) -> Span:
        _, optimizer, start, end, step, variables = record
        summary = seen.get(id(variables))
        if summary is None:
            shapes = tuple(tuple(v.shape) for v in variables)
            dtype = variables[0].dtype if variables else None
            summary = seen[id(variables)] = (shapes, dtype, sum(prod(shape) for shape in shapes))
        shapes, dtype, size = summary
        name = getattr(optimizer, "name", type(optimizer).__name__)
        return self._span(name, "op", "optimizer", start, end, step, op="optimizer_update", inputs=shapes,
                          outputs=shapes, dtype=_dtype_name(dtype), flops=4 * size,
                          bytes=3 * size * (0 if dtype is None else dtype.itemsize))

    def _ops(self, raw: list[tuple], containers: dict[int, Span | None], steps: dict[int, Span]) -> list[Span]:
        """Account for every primitive record: FLOPs into its layers and step, backward spans of
        layer calls; returns the backward layer spans and, at level ``"op"``, the op spans."""
        keep_ops = self.level == "op"
        forward_by_inputs: dict[int, tuple] = {}   # id(inputs) -> (op, owner, flops, inputs, dtype)
        backward_of: dict[int, Span] = {}          # forward layer span id -> its backward span
        out: list[Span] = []
        for position, record in enumerate(raw):
            if record[0] != PRIM:
                continue
            _, prim, inputs_id, start, end, phase, step, inputs, outputs, dtype = record
            name = prim.name
            container = containers[position]
            if phase == "forward":
                owner = None if container is None else container.layer_span
                flops = _flops(name, inputs, outputs)
                forward_by_inputs[inputs_id] = (name, owner, flops, inputs, dtype)
                _add_flops(owner, flops)
                if keep_ops:
                    span = self._span(name, "op", phase, start, end, step, op=name, inputs=inputs,
                                      outputs=outputs, dtype=_dtype_name(dtype), flops=flops,
                                      bytes=_nbytes(inputs + outputs, dtype.itemsize))
                    span.parent_span = container
                    span.layer = None if owner is None else owner.layer
                    out.append(span)
            else:
                forward = forward_by_inputs.get(inputs_id)
                if forward is not None and forward[0] != name:
                    forward = None
                flops, nbytes, owner, shapes, dtype = 0, 0, None, (), None
                if forward is not None:
                    _, owner, forward_flops, shapes, dtype = forward
                    flops = 2 * forward_flops
                    nbytes = 2 * _nbytes(shapes, dtype.itemsize)
                backward = None if owner is None else self._extend_backward(
                    owner, start, end, step, flops, nbytes, container, backward_of, out)
                if keep_ops:    # gradients have the inputs' shapes
                    span = self._span(name, "op", phase, start, end, step, op=name, inputs=shapes, outputs=shapes,
                                      dtype=_dtype_name(dtype), flops=flops, bytes=nbytes)
                    span.parent_span = container if backward is None else backward
                    span.layer = None if owner is None else owner.layer
                    out.append(span)
            if step in steps:
                steps[step].flops += flops
        return out

    def _extend_backward(self, owner: Span, start: int, end: int, step: int | None, flops: int, nbytes: int,
                         container: Span | None, backward_of: dict[int, Span], out: list[Span]) -> Span:
        """Grow the backward spans of ``owner`` and of the layers around it to cover one backward
        op (``container``: the innermost recorded span around that op, the parent of a new
        outermost backward span); returns ``owner``'s."""
        innermost = child = None
        layer = owner
        while layer is not None:
            backward = backward_of.get(layer.id)
            if backward is None:
                if layer.flow is None:
                    layer.flow = next(self._flows)
                backward = backward_of[layer.id] = self._span(
                    layer.name, "layer", "backward", start, end, step, layer=layer.layer, inputs=layer.outputs,
                    outputs=layer.inputs, dtype=layer.dtype)
                backward.flow = layer.flow
                backward.layer_span = backward
                backward.parent_span = container
                out.append(backward)
            else:
                if start < backward.start_ns:
                    backward.start_ns = start
                if end > backward.end_ns:
                    backward.end_ns = end
            backward.flops += flops
            backward.bytes += nbytes
            if child is not None:
                child.parent_span = backward
            innermost = innermost or backward
            child = backward
            layer = _enclosing_layer(layer)
        return innermost


def _nest(raw: list[tuple], spans: list[Span | None]) -> dict[int, Span | None]:
    """Set ``parent_span`` and ``layer_span`` of the spans of non-primitive records and return the
    innermost of them around each primitive record (by position), in one backward scan.

    Records arrive as their spans end (one thread), so scanning backwards every span that
    ended later and started no later than a span encloses it, and the innermost such is the
    one ending first; one that started later ran after it (and after every earlier record).
    """
    around: dict[int, Span | None] = {}
    stack: list[Span] = []
    for position in range(len(raw) - 1, -1, -1):
        start = raw[position][3] if raw[position][0] == PRIM else spans[position].start_ns
        while stack and stack[-1].start_ns > start:
            stack.pop()
        parent = stack[-1] if stack else None
        span = spans[position]
        if span is None:
            around[position] = parent
            continue
        span.parent_span = parent
        span.layer_span = span if span.kind == "layer" else (None if parent is None else parent.layer_span)
        stack.append(span)
    return around


def _enclosing_layer(span: Span) -> Span | None:
    parent = span.parent_span
    return parent.layer_span if parent is not None else None


def _add_flops(layer: Span | None, flops: int) -> None:
    """Add ``flops`` to ``layer`` and the layers around it."""
    while layer is not None and layer.kind == "layer":
        layer.flops += flops
        layer = layer.parent_span


_START = attrgetter("start_ns")
