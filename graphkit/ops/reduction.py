"""Reductions with ``axis`` and ``keepdims``."""
from __future__ import annotations

from typing import Any, Sequence, Union

from ..engine.autograd import Primitive
from ..engine.tensor import Tensor
from ._operands import as_float, as_tensor, canonical_axis
from .math import sqrt, square

Axis = Union[int, Sequence[int], None]


def _normalize_axis(axis, ndim: int, op: str) -> tuple:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    axes = tuple(sorted(canonical_axis(a, ndim, op) for a in axes))
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: repeated axis in {axis}.")
    return axes


def _expand_to(ops, g, shape: tuple, axes: tuple, keepdims: bool):
    """A reduced gradient spread back over ``shape`` (a fresh, writable array)."""
    if not keepdims and len(axes) != len(shape):
        g = g.reshape(tuple(1 if i in axes else n for i, n in enumerate(shape)))
    out = ops.xp.empty(shape, dtype=g.dtype)
    out[...] = g
    return out


def _sum_forward(ops, a, axes, keepdims):
    dtype = None if a.dtype.kind == "b" else a.dtype  # numpy would widen int32 sums to int64
    return a.sum(axis=axes, keepdims=keepdims, dtype=dtype), (a.shape, axes, keepdims)


def _sum_backward(ops, saved, g):
    shape, axes, keepdims = saved
    return (_expand_to(ops, g, shape, axes, keepdims),)


def _mean_forward(ops, a, axes, keepdims):
    return a.mean(axis=axes, keepdims=keepdims), (a.shape, axes, keepdims)


def _mean_backward(ops, saved, g):
    shape, axes, keepdims = saved
    count = 1
    for a in axes:
        count *= shape[a]
    return (_expand_to(ops, g / count, shape, axes, keepdims),)


def _drop_axes(y_keep, axes: tuple):
    return y_keep.reshape(tuple(n for i, n in enumerate(y_keep.shape) if i not in axes))


def _extreme_forward(pick):
    def forward(ops, a, axes, keepdims):
        y_keep = pick(a, axes)
        return (y_keep if keepdims else _drop_axes(y_keep, axes)), (a, y_keep, axes, keepdims)
    return forward


def _extreme_backward(ops, saved, g):
    a, y_keep, axes, keepdims = saved
    hits = (a == y_keep).astype(a.dtype)  # ties share the gradient evenly
    share = hits / hits.sum(axis=axes, keepdims=True)
    return (_expand_to(ops, g, a.shape, axes, keepdims) * share,)


def _logsumexp_forward(ops, a, axes, keepdims):
    xp = ops.xp
    peak = a.max(axis=axes, keepdims=True)
    peak = xp.where(xp.isfinite(peak), peak, 0)
    y_keep = xp.log(xp.exp(a - peak).sum(axis=axes, keepdims=True)) + peak
    return (y_keep if keepdims else _drop_axes(y_keep, axes)), (a, y_keep, axes, keepdims)


def _logsumexp_backward(ops, saved, g):
    a, y_keep, axes, keepdims = saved
    return (_expand_to(ops, g, a.shape, axes, keepdims) * ops.xp.exp(a - y_keep),)


_sum_p = Primitive("sum", _sum_forward, _sum_backward)
_mean_p = Primitive("mean", _mean_forward, _mean_backward)
_max_p = Primitive("max", _extreme_forward(lambda a, axes: a.max(axis=axes, keepdims=True)), _extreme_backward)
_min_p = Primitive("min", _extreme_forward(lambda a, axes: a.min(axis=axes, keepdims=True)), _extreme_backward)
_logsumexp_p = Primitive("logsumexp", _logsumexp_forward, _logsumexp_backward)


def _reduce(prim: Primitive, x: Any, axis, keepdims: bool, floating: bool = False) -> Tensor:
    x = as_float(x) if floating else as_tensor(x)
    return prim.apply(x, axes=_normalize_axis(axis, x.data.ndim, prim.name), keepdims=bool(keepdims))


def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over ``axis`` (all axes when None)."""
    return _reduce(_sum_p, x, axis, keepdims)


def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Arithmetic mean over ``axis``."""
    return _reduce(_mean_p, x, axis, keepdims, floating=True)


def max(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Maximum over ``axis``; tied maxima share the gradient."""
    return _reduce(_max_p, x, axis, keepdims)


def min(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Minimum over ``axis``; tied minima share the gradient."""
    return _reduce(_min_p, x, axis, keepdims)


def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` over ``axis``, computed stably."""
    return _reduce(_logsumexp_p, x, axis, keepdims, floating=True)


def var(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Population variance over ``axis``."""
    x = as_float(x)
    centered = x - mean(x, axis=axis, keepdims=True)
    return mean(square(centered), axis=axis, keepdims=keepdims)


def std(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Population standard deviation over ``axis``."""
    return sqrt(var(x, axis=axis, keepdims=keepdims))


def _index_reduction(name: str, pick):
    prim = Primitive(name, lambda ops, a, axis, keepdims: (pick(ops.xp, a, axis, keepdims), None), None)

    def op(x: Any, axis: int | None = -1, keepdims: bool = False) -> Tensor:
        return prim.apply(as_tensor(x), axis=axis, keepdims=keepdims)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Indices of the {name[3:]}imum along ``axis`` (not differentiable)."
    return op


argmax = _index_reduction("argmax", lambda xp, a, axis, keepdims: xp.argmax(a, axis=axis, keepdims=keepdims))
argmin = _index_reduction("argmin", lambda xp, a, axis, keepdims: xp.argmin(a, axis=axis, keepdims=keepdims))
