"""Python operators and convenience methods of :class:`gk.Tensor`, bound to the ops."""
from __future__ import annotations

from ..engine.tensor import Tensor
from . import array, linalg, math, reduction


def _swap(op):
    def reflected(self, other):
        return op(other, self)
    return reflected


def install(namespace: dict | None = None) -> None:
    """Attach the operators to Tensor (and so to Variable).

    Binary operators take their functions from ``namespace`` (the ``gk.ops`` names, whose wrappers
    also accept a symbolic operand: ``tensor * symbolic`` records an op layer) when given.
    """
    ops = namespace or {}
    binary = {
        "add": ops.get("add", math.add), "sub": ops.get("subtract", math.subtract),
        "mul": ops.get("multiply", math.multiply), "truediv": ops.get("true_divide", math.divide),
        "floordiv": ops.get("floor_divide", math.floor_divide), "mod": ops.get("mod", math.mod),
        "pow": ops.get("power", math.power), "matmul": ops.get("matmul", linalg.matmul),
        "and": ops.get("logical_and", math.logical_and), "or": ops.get("logical_or", math.logical_or),
        "xor": ops.get("logical_xor", math.logical_xor),
    }
    for name, op in binary.items():
        setattr(Tensor, f"__{name}__", op)
        setattr(Tensor, f"__r{name}__", _swap(op))
    comparisons = {"lt": ops.get("less", math.less), "le": ops.get("less_equal", math.less_equal),
                   "gt": ops.get("greater", math.greater), "ge": ops.get("greater_equal", math.greater_equal),
                   "eq": ops.get("equal", math.equal), "ne": ops.get("not_equal", math.not_equal)}
    for name, op in comparisons.items():
        setattr(Tensor, f"__{name}__", op)
    Tensor.__neg__ = math.negative
    Tensor.__pos__ = lambda self: self
    Tensor.__abs__ = math.abs
    Tensor.__invert__ = math.logical_not
    Tensor.__getitem__ = array.getitem
    Tensor.reshape = lambda self, *shape: array.reshape(
        self, shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape)
    Tensor.transpose = lambda self, *axes: array.transpose(
        self, (axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else axes) or None)
    Tensor.T = property(lambda self: array.transpose(self))
    Tensor.astype = array.cast
    Tensor.sum = reduction.sum
    Tensor.mean = reduction.mean
    Tensor.max = reduction.max
    Tensor.min = reduction.min
    Tensor.argmax = reduction.argmax
