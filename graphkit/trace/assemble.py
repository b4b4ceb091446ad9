"""Raw trace records -> :class:`Span` objects with parents, layers, FLOPs and flows.

Eager ``layer_call`` events arrive when a call *ends*, with its start and end times, so the
tracer does not track open calls while recording; it assigns parents after the fact, by interval
containment (one recording thread): every span's parent is the innermost span that contains it.
A primitive's times are taken inside its layer's, so an op span always lies within its layer
span, and a layer within the model that called it.

Backward work is attributed through the tape: a backward ``primitive`` event carries the same
inputs tuple as the forward call that recorded the tape node, so ``id(inputs)`` (most recent
forward call with it, records taken in order) names the forward op span, hence the layer call
it ran in. A layer call's backward span covers its backward op spans and those of the layers
it called (first start to last end) and shares a ``flow`` number with the forward span.
Backward spans nest by the forward call tree (a backward op within its layer's backward span,
that within its model's); the outermost ones, and backward ops outside any layer (the loss),
take the innermost recorded span around them (the training step) as parent.
"""
from __future__ import annotations

import itertools
from math import prod
from typing import Iterable

import numpy

from .flops import estimate_flops
from .spans import Span

PRIM, LAYER, OPTIMIZER, STEP = range(4)      # raw record kinds (first item of each record tuple)


def _nbytes(shapes: Iterable[tuple], itemsize: int) -> int:
    return sum(prod(shape) for shape in shapes) * itemsize


class SpanAssembler:
    """Builds the spans of one trace, batch by batch of raw records (ids keep counting)."""

    def __init__(self, level: str, thread: int, thread_name: str, backend: str, device: str,
                 first_id: int = 1) -> None:
        self.level = level
        self.thread = thread
        self.thread_name = thread_name
        self.backend = backend
        self.device = device
        self._ids = itertools.count(first_id)
        self._flows = itertools.count(1)

    def _span(self, *args, **kwargs) -> Span:
        span = Span(next(self._ids), *args, **kwargs)
        span.thread = self.thread
        span.thread_name = self.thread_name
        span.backend = self.backend
        span.device = self.device
        return span

    def assemble(self, raw: list[tuple]) -> list[Span]:
        """The spans of ``raw`` (records in arrival order), sorted by start time."""
        timed: list[Span] = []          # forward, optimizer and step spans: nested by containment
        ops: dict[int, Span] = {}       # position in ``raw`` -> forward op span
        for position, record in enumerate(raw):
            kind = record[0]
            if kind == PRIM:
                if record[5] == "forward":
                    span = ops[position] = self._forward_op(record)
                    timed.append(span)
            elif kind == LAYER:
                timed.append(self._layer(record))
            elif kind == OPTIMIZER:
                timed.append(self._optimizer(record))
            else:
                _, name, phase, start, end, step = record
                timed.append(self._span(name, "step", phase, start, end, step))
        _nest(timed)
        for span in timed:
            if span.kind == "op" and span.phase == "forward":
                span.layer = span.layer_span.layer if span.layer_span is not None else None
                _add_flops_up(span)
        floating = self._backward(raw, ops)
        _nest_floating(timed, floating)
        spans = [span for span in timed + floating if self.level == "op" or span.kind != "op"
                 or span.phase == "optimizer"]
        spans.sort(key=lambda s: (s.start_ns, -s.end_ns, s.id))
        kept = {span.id for span in spans}
        for span in spans:
            parent = span.parent_span
            while parent is not None and parent.id not in kept:     # op spans left out at layer level
                parent = parent.parent_span
            span.parent = None if parent is None else parent.id
        return spans

    # ------------------------------------------------------------ forward records
    def _forward_op(self, record: tuple) -> Span:
        _, prim, _, start, end, phase, step, inputs, outputs, dtype = record
        name = prim.name
        return self._span(name, "op", phase, start, end, step, op=name, inputs=inputs, outputs=outputs,
                          dtype=str(dtype), flops=estimate_flops(name, inputs, outputs),
                          bytes=_nbytes(inputs + outputs, dtype.itemsize))

    def _layer(self, record: tuple) -> Span:
        _, layer, start, end, step, inputs, outputs, dtype = record
        return self._span(layer.name, "layer", "forward", start, end, step, layer=layer.name, inputs=inputs,
                          outputs=outputs, dtype=None if dtype is None else str(dtype),
                          bytes=_nbytes(inputs + outputs, 0 if dtype is None else dtype.itemsize))

    def _optimizer(self, record: tuple) -> Span:
        _, optimizer, start, end, step, variables = record
        shapes = tuple(tuple(v.shape) for v in variables)
        dtype = variables[0].dtype if variables else None
        size = sum(prod(shape) for shape in shapes)
        name = getattr(optimizer, "name", type(optimizer).__name__)
        return self._span(name, "op", "optimizer", start, end, step, op="optimizer_update", inputs=shapes,
                          outputs=shapes, dtype=None if dtype is None else str(dtype), flops=4 * size,
                          bytes=3 * size * (0 if dtype is None else dtype.itemsize))

    # ------------------------------------------------------------ backward records
    def _backward(self, raw: list[tuple], ops: dict[int, Span]) -> list[Span]:
        """Backward op spans and the backward spans of layer calls, parents set where the call
        tree decides them; returns every backward span (op spans first)."""
        forward_by_inputs: dict[int, Span] = {}
        layer_backward: dict[int, Span] = {}       # forward layer span id -> its backward span
        op_spans: list[Span] = []
        for position, record in enumerate(raw):
            if record[0] != PRIM:
                continue
            if record[5] == "forward":
                forward_by_inputs[record[2]] = ops[position]
                continue
            _, prim, inputs_id, start, end, phase, step, _, _, _ = record
            forward = forward_by_inputs.get(inputs_id)
            if forward is not None and forward.op != prim.name:
                forward = None
            span = self._span(prim.name, "op", "backward", start, end, step, op=prim.name)
            if forward is not None:
                span.inputs = span.outputs = forward.inputs        # gradients have the inputs' shapes
                span.dtype = forward.dtype
                span.flops = 2 * forward.flops
                span.bytes = 2 * _nbytes(forward.inputs, numpy.dtype(forward.dtype).itemsize)
                owner = forward.layer_span
                if owner is not None:
                    span.layer = owner.layer
                    span.layer_span = self._extend_backward(owner, span, layer_backward)
                    span.parent_span = span.layer_span
            op_spans.append(span)
        return op_spans + list(layer_backward.values())

    def _extend_backward(self, owner: Span, op: Span, layer_backward: dict[int, Span]) -> Span:
        """Grow the backward spans of ``owner`` and of the layers around it to cover ``op``;
        returns ``owner``'s."""
        innermost = None
        child = None
        layer = owner
        while layer is not None:
            backward = layer_backward.get(layer.id)
            if backward is None:
                if layer.flow is None:
                    layer.flow = next(self._flows)
                backward = layer_backward[layer.id] = self._span(
                    layer.name, "layer", "backward", op.start_ns, op.end_ns, op.step, layer=layer.layer,
                    inputs=layer.outputs, outputs=layer.inputs, dtype=layer.dtype)
                backward.flow = layer.flow
                backward.layer_span = backward
            else:
                backward.start_ns = min(backward.start_ns, op.start_ns)
                backward.end_ns = max(backward.end_ns, op.end_ns)
            backward.flops += op.flops
            backward.bytes += op.bytes
            if child is not None:
                child.parent_span = backward
            innermost = innermost or backward
            child = backward
            layer = _enclosing_layer(layer)
        return innermost


def _enclosing_layer(span: Span) -> Span | None:
    parent = span.parent_span
    return parent.layer_span if parent is not None else None


def _ancestor_chain(span: Span) -> list[Span]:
    chain = []
    while span is not None:
        chain.append(span)
        span = span.parent_span
    return chain


def _add_flops_up(op: Span) -> None:
    parent = op.parent_span
    while parent is not None:
        parent.flops += op.flops
        parent = parent.parent_span


def _order(spans: list[Span]) -> list[Span]:
    """Spans by start, outer first: longer first at equal starts, and at equal times the one that
    arrived later (an enclosing call's event is published after its contents')."""
    return [span for _, span in sorted(enumerate(spans), key=lambda item: (item[1].start_ns, -item[1].end_ns,
                                                                            -item[0]))]


def _nest(spans: list[Span]) -> None:
    """Set ``parent_span`` (innermost container) and ``layer_span`` of spans of one thread."""
    stack: list[Span] = []
    for span in _order(spans):
        while stack and stack[-1].end_ns < span.end_ns:
            stack.pop()
        parent = stack[-1] if stack else None
        span.parent_span = parent
        span.layer_span = span if span.kind == "layer" else (parent.layer_span if parent is not None else None)
        stack.append(span)


def _nest_floating(timed: list[Span], backward: list[Span]) -> None:
    """Give backward spans without a parent from the call tree the innermost forward-recorded
    span (a training step) around them."""
    floating = [span for span in backward if span.parent_span is None]
    if not floating:
        return
    marked = {id(span) for span in floating}
    stack: list[Span] = []
    for span in _order(timed + floating):
        while stack and stack[-1].end_ns < span.end_ns:
            stack.pop()
        if id(span) in marked:
            span.parent_span = stack[-1] if stack else None
            for flop_parent in _ancestor_chain(span.parent_span):
                flop_parent.flops += span.flops
        else:
            stack.append(span)
