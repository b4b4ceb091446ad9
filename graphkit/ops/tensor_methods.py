"""Python operators and convenience methods of :class:`gk.Tensor`, bound to the ops."""
from __future__ import annotations

from ..engine.tensor import Tensor
from . import array, linalg, math, reduction


def _swap(op):
    def reflected(self, other):
        return op(other, self)
    return reflected


def install() -> None:
    """Attach the operators to Tensor (and so to Variable)."""
    binary = {
        "add": math.add, "sub": math.subtract, "mul": math.multiply, "truediv": math.divide,
        "floordiv": math.floor_divide, "mod": math.mod, "pow": math.power, "matmul": linalg.matmul,
        "and": math.logical_and, "or": math.logical_or, "xor": math.logical_xor,
    }
    for name, op in binary.items():
        setattr(Tensor, f"__{name}__", op)
        setattr(Tensor, f"__r{name}__", _swap(op))
    comparisons = {"lt": math.less, "le": math.less_equal, "gt": math.greater, "ge": math.greater_equal,
                   "eq": math.equal, "ne": math.not_equal}
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
