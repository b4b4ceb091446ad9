"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate."""
from __future__ import annotations

import functools

from ...layers.merging import Add, Average, Concatenate, Maximum, Merge, Minimum, Multiply, Subtract
from .convert import converts, unsupported
from .graph import GraphBuilder

_PAIRWISE = {Add: "Add", Subtract: "Sub", Multiply: "Mul", Average: "Add", Maximum: "Max", Minimum: "Min"}


def _same_rank(g: GraphBuilder, names: list[str], node) -> list[str]:
    """Inputs of lower rank get size-1 axes after the batch axis, as Keras's merges do."""
    ranks = [len(t.shape) for t in node.input_tensors]
    top = max(ranks)
    return [name if rank == top else g.op("Unsqueeze", [name, g.ints(range(1, 1 + top - rank))])
            for name, rank in zip(names, ranks)]


@converts(*_PAIRWISE)
def elementwise_merge(g: GraphBuilder, layer: Merge, node, args) -> list:
    op_type = _PAIRWISE.get(type(layer))
    if op_type is None:
        raise unsupported(layer, "a Merge subclass with its own merge function has no ONNX converter")
    names = _same_rank(g, list(args[0]), node)
    total = functools.reduce(lambda a, b: g.op(op_type, [a, b]), names)
    if isinstance(layer, Average) and len(names) > 1:
        total = g.op("Div", [total, g.constant(float(len(names)), "count")])
    return [total]


@converts(Concatenate)
def concatenate(g: GraphBuilder, layer: Concatenate, node, args) -> list:
    return [g.op("Concat", list(args[0]), axis=layer.axis)]
