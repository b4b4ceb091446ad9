"""Turning op arguments into tensors with matching dtypes."""
from __future__ import annotations

from typing import Any

import numpy

from ..backend import FLOATX
from ..engine import dtypes
from ..engine.tensor import Tensor, to_array, wrap
from .cast import cast


def as_tensor(value: Any, dtype: Any = None) -> Tensor:
    """``value`` as a Tensor (tensors pass through unchanged unless a cast is asked for)."""
    if isinstance(value, Tensor):
        return value if dtype is None else cast(value, dtype)
    return wrap(to_array(value, dtype), None, 0)


def as_float(value: Any) -> Tensor:
    """``value`` as a floating tensor: integer and bool input becomes float32 (for ops such as
    ``exp`` or ``mean`` whose result is real, so numpy never silently makes float64)."""
    x = as_tensor(value)
    return x if x.data.dtype.kind in "fc" else cast(x, FLOATX)


def canonical_axis(axis: int, ndim: int, op: str) -> int:
    """``axis`` in ``[0, ndim)``; an axis outside ``[-ndim, ndim)`` is an error, never wrapped around."""
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor of rank {ndim}.")
    return axis % ndim


def result_dtype(dx: numpy.dtype, dy: numpy.dtype) -> numpy.dtype:
    """The dtype two tensors meet in: an integer tensor takes the float dtype, two floats promote."""
    if dx.kind in "fc" and dy.kind not in "fc":
        return dx
    if dy.kind in "fc" and dx.kind not in "fc":
        return dy
    return numpy.promote_types(dx, dy)


def binary_operands(x: Any, y: Any) -> tuple[Tensor, Tensor]:
    """Both operands as tensors of one dtype.

    A Python scalar or non-tensor array takes the tensor operand's dtype (``x * 2`` stays
    float32; ``int_tensor * 0.5`` becomes float32); an integer tensor meeting a float tensor is
    cast to the float dtype; two float tensors promote as numpy does.
    """
    if isinstance(x, Tensor):
        if not isinstance(y, Tensor):
            y = wrap(to_array(y, _partner_dtype(y, x.data.dtype)), None, 0)
    elif isinstance(y, Tensor):
        x = wrap(to_array(x, _partner_dtype(x, y.data.dtype)), None, 0)
    else:
        x, y = as_tensor(x), as_tensor(y)
    dx, dy = x.data.dtype, y.data.dtype
    if dx == dy:
        return x, y
    dtype = result_dtype(dx, dy)
    return cast(x, dtype), cast(y, dtype)


def _partner_dtype(value: Any, tensor_dtype: numpy.dtype):
    """The dtype a non-tensor operand takes beside a tensor of ``tensor_dtype`` (an array's own
    dtype is read, never converted: a device array stays where it is)."""
    if tensor_dtype.kind in "fc":
        return tensor_dtype
    value_dtype = value.dtype if hasattr(value, "dtype") else numpy.asarray(value).dtype
    if value_dtype.kind in "fc":
        return dtypes.default_for(value) or value_dtype
    return tensor_dtype
