"""Raw trace records -> :class:`Span` objects with parents, layers, FLOPs and flows.

Eager ``layer_call`` events arrive when a call *ends*, with its start and end times, so the
tracer does not track open calls while recording; it assigns parents after the fact, by interval
containment (one recording thread): a span's parent is the innermost span that contains it. A
primitive's times are taken inside its layer's, so an op span always lies within its layer span,
and a layer within the model that called it. Records arrive in the order their spans end, so
one backward scan over them nests everything without sorting (see :meth:`SpanAssembler._assemble`).

Backward work is attributed through the tape: a backward ``primitive`` event carries the same
inputs tuple as the forward call that recorded the tape node, alive until then, so ``id(inputs)``
names the most recent forward call with it, hence the layer call it ran in. A layer call's backward span covers its
backward ops and those of the layers it called (first start to last end) and shares a ``flow``
number with the forward span. Backward spans nest by the forward call tree (a backward op
within its layer's backward span, that within its model's); the outermost ones, and backward
ops outside any layer (the loss), take the innermost recorded span around them (the training
step) as parent.

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

# Raw record kinds, the first item of each record tuple; the start and end times follow
# (``record[1]``, ``record[2]``), then (see :mod:`graphkit.trace.recorder`):
#   FORWARD   prim, id(inputs), step, dtype, output shape (a tuple of them if multi-output),
#             one shape per input (flat: fewer objects kept per call)
#   BACKWARD  prim, id(inputs), step
#   LAYER     layer, step, whether the shapes are bare (one tensor in, one out), dtype,
#             output shape(s), input shape(s)
#   OPTIMIZER optimizer, step, variables
#   STEP      name, phase, step
FORWARD, BACKWARD, LAYER, OPTIMIZER, STEP = range(5)

_DTYPE_NAMES: dict = {None: None}
_COSTS: dict = {}
_LAYER_COSTS: dict = {}


def _dtype_name(dtype) -> str | None:
    """``str(dtype)``, cached (numpy's is slow)."""
    name = _DTYPE_NAMES.get(dtype)
    if name is None and dtype is not None:
        name = _DTYPE_NAMES[dtype] = str(dtype)
    return name


def _forward_costs(prim, signature: tuple) -> tuple:
    """``(op, input shapes, output shapes, dtype name, FLOPs, input bytes, input and output
    bytes)`` of a forward call of ``prim``, ``signature`` being its record from the dtype on;
    cached (a training loop repeats them)."""
    key = (prim, signature)
    costs = _COSTS.get(key)
    if costs is None:
        if len(_COSTS) > 65536:
            _COSTS.clear()
        dtype, outputs, *inputs = signature
        inputs, outputs = tuple(inputs), (outputs if prim.multi_output else (outputs,))
        input_bytes = _nbytes(inputs, dtype.itemsize)
        costs = _COSTS[key] = (prim.name, inputs, outputs, _dtype_name(dtype), estimate_flops(prim.name, inputs, outputs),
                               input_bytes, input_bytes + _nbytes(outputs, dtype.itemsize))
    return costs


def _layer_costs(signature: tuple) -> tuple[tuple, tuple, str | None, int]:
    """``(input shapes, output shapes, dtype name, bytes of inputs and outputs)`` of a layer call,
    ``signature`` being its record from the bare-shapes flag on; cached."""
    costs = _LAYER_COSTS.get(signature)
    if costs is None:
        if len(_LAYER_COSTS) > 65536:
            _LAYER_COSTS.clear()
        bare, dtype, outputs, inputs = signature
        if bare:
            inputs, outputs = (inputs,), (outputs,)
        costs = _LAYER_COSTS[signature] = (inputs, outputs, _dtype_name(dtype),
                                           _nbytes(inputs + outputs, 0 if dtype is None else dtype.itemsize))
    return costs


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
        """Scanning backwards, a span that ended later (came later) and started no later than a
        record's encloses it, and the innermost such is the one ending first; one that started
        later ran after it (and after every earlier record). So one backward scan with a stack
        nests the spans of layer, optimizer and step records, and gives each forward op's FLOPs
        to its layer and step; the backward ops follow, in arrival order."""
        context, keep_ops = self.context, self.level == "op"
        n = len(raw)
        base = next(self._ids)               # a record's span has the id ``base + position``
        self._ids = itertools.count(base + n)
        out: list[Span] = []
        add = out.append
        steps: dict[int, Span] = {}          # step number -> its train_step span
        layers: list[Span] = []              # forward layer spans, latest first
        around: list = [None] * n            # position of a backward record -> the innermost span around it
        forward_of: list = [None] * n        # position of a backward record -> its forward call's
        #                                      (owner layer span, costs)
        waiting: dict[int, list[int]] = {}   # id(inputs) -> positions of backward records not yet matched
        backwards: list[int] = []            # positions of backward records, latest first
        variables: dict[tuple, tuple] = {}   # optimizer span fields, by optimizer and variables
        stack: list[Span] = []
        push, pop = stack.append, stack.pop
        top = None                           # stack[-1]
        costs_of, layer_costs = _COSTS.get, _LAYER_COSTS.get
        for position in range(n - 1, -1, -1):
            record = raw[position]
            kind = record[0]
            start = record[1]
            while top is not None and top.start_ns > start:
                pop()
                top = stack[-1] if stack else None
            if kind == BACKWARD:
                around[position] = top
                backwards.append(position)
                matches = waiting.get(record[4])
                if matches is None:
                    waiting[record[4]] = [position]
                else:
                    matches.append(position)
                continue
            if kind == FORWARD:
                prim, inputs_id, step = record[3], record[4], record[5]
                signature = record[6:]
                costs = costs_of((prim, signature)) or _forward_costs(prim, signature)
                flops = costs[4]
                owner = None if top is None else top.layer_span
                if owner is not None:
                    owner.flops += flops             # the layers around it: after the scan
                total = steps.get(step)
                if total is not None:
                    total.flops += flops
                if keep_ops:
                    name, inputs, outputs, dtype_name = costs[:4]
                    span = Span(base + position, name, "op", "forward", start, record[2], step, None, name, inputs,
                                outputs, dtype_name, flops, costs[6], context)
                    span.parent_span = top
                    span.layer = None if owner is None else owner.layer
                    add(span)
                matches = waiting.pop(inputs_id, None)
                if matches is not None:
                    forward = (owner, costs)
                    for later in matches:
                        forward_of[later] = forward
                continue
            if kind == LAYER:
                layer, step, signature = record[3], record[4], record[5:]
                inputs, outputs, dtype_name, nbytes = layer_costs(signature) or _layer_costs(signature)
                name = layer.name
                span = Span(base + position, name, "layer", "forward", start, record[2], step, name, None, inputs,
                            outputs, dtype_name, 0, nbytes, context)
                span.layer_span = span
                layers.append(span)
            elif kind == STEP:
                _, start, end, name, phase, step = record
                span = Span(base + position, name, "step", phase, start, end, step, None, None, (), (), None, 0, 0,
                            context)
                span.layer_span = None if top is None else top.layer_span
                if phase is None:
                    steps[step] = span
            else:
                span = self._optimizer(base + position, record, variables)
                span.layer_span = None if top is None else top.layer_span
                total = steps.get(span.step)
                if total is not None:
                    total.flops += span.flops
            span.parent_span = top
            add(span)
            push(span)
            top = span
        for span in reversed(layers):        # a layer's FLOPs count in the layers around it
            parent = span.parent_span
            if parent is not None and parent.kind == "layer":
                parent.flops += span.flops
        self._backward_ops(raw, base, reversed(backwards), forward_of, around, steps, out)
        out.sort(key=_START)
        for span in out:
            parent = span.parent_span
            if parent is not None:
                span.parent = parent.id
        return out

    # ------------------------------------------------------------ records
    def _optimizer(self, span_id: int, record: tuple, seen: dict[tuple, tuple]) -> Span:
        _, start, end, optimizer, step, variables = record
        key = (id(optimizer), *map(id, variables))    # all held by the record (a list may be new each step)
        summary = seen.get(key)
        if summary is None:
            shapes = tuple(tuple(v.shape) for v in variables)
            dtype = variables[0].dtype if variables else None
            size = sum(prod(shape) for shape in shapes)
            summary = seen[key] = (getattr(optimizer, "name", type(optimizer).__name__), shapes, _dtype_name(dtype),
                                   4 * size, 3 * size * (0 if dtype is None else dtype.itemsize))
        name, shapes, dtype_name, flops, nbytes = summary
        return Span(span_id, name, "op", "optimizer", start, end, step, None, "optimizer_update", shapes, shapes,
                    dtype_name, flops, nbytes, self.context)

    def _backward_ops(self, raw: list[tuple], base: int, positions: Iterable[int], forward_of: list, around: list,
                      steps: dict[int, Span], out: list[Span]) -> None:
        """Account for the backward records at ``positions`` (in arrival order): FLOPs and bytes
        (twice their forward call's) into the backward span of the forward call's layer (made at
        its first backward op, whose surrounding span is its parent unless a layer around gives
        one) and into the step; at level ``"op"`` a span each."""
        keep_ops, context = self.level == "op", self.context
        backward_of: dict[int, Span] = {}    # forward layer span id -> its backward span
        for position in positions:
            _, start, end, prim, _, step = raw[position]
            forward = forward_of[position]
            flops = nbytes = 0
            owner = backward = None
            if forward is not None:
                owner, costs = forward
                flops, nbytes = 2 * costs[4], 2 * costs[5]
                if owner is not None:
                    backward = backward_of.get(owner.id)
                    if backward is None:
                        backward = backward_of[owner.id] = self._backward_span(owner, start, end, step,
                                                                                around[position])
                        out.append(backward)
                    elif end > backward.end_ns:
                        backward.end_ns = end
                    backward.flops += flops
                    backward.bytes += nbytes
            total = steps.get(step)
            if total is not None:
                total.flops += flops
            if keep_ops:    # gradients have the inputs' shapes
                name = prim.name
                shapes, dtype_name = ((), None) if forward is None else (costs[1], costs[3])
                span = Span(base + position, name, "op", "backward", start, end, step, None, name, shapes, shapes,
                            dtype_name, flops, nbytes, context)
                span.parent_span = around[position] if backward is None else backward
                span.layer = None if owner is None else owner.layer
                out.append(span)
        self._nest_backward(backward_of, out)

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
        """Give every layer around a layer with backward ops a backward span covering theirs
        (times, FLOPs, bytes) and make it their parent: each span made from backward ops adds its
        own totals to the backward spans of all the layers around it."""
        own = [(span, span.start_ns, span.end_ns, span.flops, span.bytes) for span in backward_of.values()]
        for child, start, end, flops, nbytes in own:
            layer = _enclosing_layer(child.layer_span)
            while layer is not None:
                backward = backward_of.get(layer.id)
                if backward is None:
                    backward = backward_of[layer.id] = self._backward_span(layer, start, end, child.step,
                                                                           child.parent_span)
                    out.append(backward)
                else:
                    if start < backward.start_ns:
                        backward.start_ns = start
                    if end > backward.end_ns:
                        backward.end_ns = end
                backward.flops += flops
                backward.bytes += nbytes
                child.parent_span = backward
                child = backward
                layer = _enclosing_layer(layer)


def _enclosing_layer(span: Span) -> Span | None:
    parent = span.parent_span
    return parent.layer_span if parent is not None else None


_START = attrgetter("start_ns")
