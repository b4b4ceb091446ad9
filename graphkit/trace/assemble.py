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
from math import prod
from operator import attrgetter
from typing import Iterable

from .flops import estimate_flops
from .spans import Span

PRIM, LAYER, OPTIMIZER, STEP = range(4)      # raw record kinds (first item of each record tuple)

_DTYPE_NAMES: dict = {}
_COSTS: dict = {}


def _dtype_name(dtype) -> str | None:
    """``str(dtype)``, cached (numpy's is slow)."""
    if dtype is None:
        return None
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = str(dtype)
    return name


def _costs(op: str, inputs: tuple, outputs: tuple, dtype) -> tuple[int, int, int]:
    """``(FLOPs, input bytes, input and output bytes)`` of a forward call, cached by op, shapes
    and dtype (a training loop repeats them)."""
    key = (op, inputs, outputs, dtype)
    costs = _COSTS.get(key)
    if costs is None:
        if len(_COSTS) > 65536:
            _COSTS.clear()
        input_bytes = _nbytes(inputs, dtype.itemsize)
        costs = _COSTS[key] = (estimate_flops(op, inputs, outputs), input_bytes,
                               input_bytes + _nbytes(outputs, dtype.itemsize))
    return costs


_IO_BYTES: dict = {}


def _io_bytes(inputs: tuple, outputs: tuple, dtype) -> int:
    """Bytes of a layer call's inputs and outputs (all of ``dtype``), cached."""
    key = (inputs, outputs, dtype)
    nbytes = _IO_BYTES.get(key)
    if nbytes is None:
        if len(_IO_BYTES) > 65536:
            _IO_BYTES.clear()
        nbytes = _IO_BYTES[key] = _nbytes(inputs + outputs, 0 if dtype is None else dtype.itemsize)
    return nbytes


def _nbytes(shapes: Iterable[tuple], itemsize: int) -> int:
    return sum(prod(shape) for shape in shapes) * itemsize


class SpanAssembler:
    """Builds the spans of one trace, batch by batch of raw records (ids keep counting)."""

    def __init__(self, level: str, thread: int, thread_name: str, backend: str, device: str) -> None:
        self.level = level
        self.context = (thread, thread_name, backend, device)
        self._ids = itertools.count(1)
        self._flows = itertools.count(1)

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
                span = Span(next(self._ids), name, "step", phase, start, end, step, None, None, (), (), None, 0, 0,
                            self.context)
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
        return Span(next(self._ids), name, "layer", "forward", start, end, step, name, None, inputs, outputs,
                    _dtype_name(dtype), 0, _io_bytes(inputs, outputs, dtype), self.context)

    def _optimizer(self, record: tuple, seen: dict[int, tuple]) -> Span:
        _, optimizer, start, end, step, variables = record
        summary = seen.get(id(variables))
        if summary is None:
            shapes = tuple(tuple(v.shape) for v in variables)
            dtype = variables[0].dtype if variables else None
            summary = seen[id(variables)] = (shapes, dtype, sum(prod(shape) for shape in shapes))
        shapes, dtype, size = summary
        name = getattr(optimizer, "name", type(optimizer).__name__)
        return Span(next(self._ids), name, "op", "optimizer", start, end, step, None, "optimizer_update", shapes,
                    shapes, _dtype_name(dtype), 4 * size, 3 * size * (0 if dtype is None else dtype.itemsize),
                    self.context)

    def _ops(self, raw: list[tuple], containers: list[Span | None], steps: dict[int, Span]) -> list[Span]:
        """Account for every primitive record: FLOPs into its layers and step, backward spans of
        layer calls; returns the backward layer spans and, at level ``"op"``, the op spans."""
        keep_ops = self.level == "op"
        forward_by_inputs: dict[int, tuple] = {}   # id(inputs) -> (op, owner, costs, inputs, dtype)
        backward_of: dict[int, Span] = {}          # forward layer span id -> its backward span
        out: list[Span] = []
        for record, container in zip(raw, containers):
            if record[0] != PRIM:
                continue
            _, prim, inputs_id, start, end, phase, step, inputs, outputs, dtype = record
            name = prim.name
            if phase == "forward":
                owner = None if container is None else container.layer_span
                costs = _costs(name, inputs, outputs, dtype)
                flops = costs[0]
                forward_by_inputs[inputs_id] = (name, owner, costs, inputs, dtype)
                layer = owner
                while layer is not None and layer.kind == "layer":     # into the layer and those around it
                    layer.flops += flops
                    layer = layer.parent_span
                if keep_ops:
                    span = Span(next(self._ids), name, "op", phase, start, end, step, None, name, inputs, outputs,
                                _dtype_name(dtype), flops, costs[2], self.context)
                    span.parent_span = container
                    span.layer = None if owner is None else owner.layer
                    out.append(span)
            else:
                forward = forward_by_inputs.get(inputs_id)
                if forward is not None and forward[0] != name:
                    forward = None
                flops, nbytes, owner, shapes, dtype = 0, 0, None, (), None
                if forward is not None:
                    _, owner, costs, shapes, dtype = forward
                    flops, nbytes = 2 * costs[0], 2 * costs[1]
                backward = None
                if owner is not None:
                    backward = backward_of.get(owner.id)
                    if backward is None:
                        backward = backward_of[owner.id] = self._backward_span(owner, start, end, step, container)
                        out.append(backward)
                    else:
                        if start < backward.start_ns:
                            backward.start_ns = start
                        if end > backward.end_ns:
                            backward.end_ns = end
                    backward.flops += flops
                    backward.bytes += nbytes
                if keep_ops:    # gradients have the inputs' shapes
                    span = Span(next(self._ids), name, "op", phase, start, end, step, None, name, shapes, shapes,
                                _dtype_name(dtype), flops, nbytes, self.context)
                    span.parent_span = container if backward is None else backward
                    span.layer = None if owner is None else owner.layer
                    out.append(span)
            if step in steps:
                steps[step].flops += flops
        self._nest_backward(backward_of, out)
        return out

    def _backward_span(self, layer: Span, start: int, end: int, step: int | None, container: Span | None) -> Span:
        """A new backward span for the forward layer span ``layer`` (``container``: the span
        around its first backward op, its parent unless a layer around ``layer`` gives one)."""
        if layer.flow is None:
            layer.flow = next(self._flows)
        backward = Span(next(self._ids), layer.name, "layer", "backward", start, end, step, layer.layer, None,
                        layer.outputs, layer.inputs, layer.dtype, 0, 0, self.context)
        backward.flow = layer.flow
        backward.layer_span = layer                     # a backward span's forward call
        backward.parent_span = container
        return backward

    def _nest_backward(self, backward_of: dict[int, Span], out: list[Span]) -> None:
        """Give the layers around each backward span a backward span covering it (times, FLOPs,
        bytes) and make it the parent. Forward layer spans were numbered as their calls ended,
        so in id order every layer comes after the layers it called."""
        pending = list(backward_of)
        while pending:                                  # every enclosing layer gets a backward span
            layer_id = pending.pop()
            parent = _enclosing_layer(backward_of[layer_id].layer_span)
            if parent is not None and parent.id not in backward_of:
                child = backward_of[layer_id]
                backward_of[parent.id] = self._backward_span(parent, child.start_ns, child.end_ns, child.step,
                                                             child.parent_span)
                out.append(backward_of[parent.id])
                pending.append(parent.id)
        for layer_id in sorted(backward_of):
            parent = _enclosing_layer(backward_of[layer_id].layer_span)
            if parent is None:
                continue
            child, backward = backward_of[layer_id], backward_of[parent.id]
            if child.start_ns < backward.start_ns:
                backward.start_ns = child.start_ns
            if child.end_ns > backward.end_ns:
                backward.end_ns = child.end_ns
            backward.flops += child.flops
            backward.bytes += child.bytes
            child.parent_span = backward


def _nest(raw: list[tuple], spans: list[Span | None]) -> list[Span | None]:
    """Set ``parent_span`` and ``layer_span`` of the spans of non-primitive records and return the
    innermost of them around each primitive record (by position; None for the others), in one
    backward scan.

    Records arrive as their spans end (one thread), so scanning backwards every span that
    ended later and started no later than a span encloses it, and the innermost such is the
    one ending first; one that started later ran after it (and after every earlier record).
    """
    around: list[Span | None] = [None] * len(raw)
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


_START = attrgetter("start_ns")
