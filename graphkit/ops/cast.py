"""The cast primitive (kept apart because operand conversion needs it)."""
from __future__ import annotations

from typing import Any

from ..engine import dtypes
from ..engine.autograd import Primitive
from ..engine.tensor import Tensor, to_array, wrap


def _cast_forward(ops, x, dtype):
    return x.astype(dtype), x.dtype


def _cast_backward(ops, source_dtype, grad):
    return (grad.astype(source_dtype) if source_dtype.kind in "fc" else None,)


cast_p = Primitive("cast", _cast_forward, _cast_backward)
_cast_to_discrete_p = Primitive("cast", _cast_forward, None, key="cast_to_discrete")  # to int/bool: no gradient (as TF)


def cast(x: Any, dtype: Any) -> Tensor:
    """``x`` converted to ``dtype``; gradients flow between floating dtypes only."""
    dtype = dtypes.standardize(dtype)
    if not isinstance(x, Tensor):
        return wrap(to_array(x, dtype), None, 0)
    if x.data.dtype == dtype:
        return x
    prim = cast_p if dtype.kind in "fc" else _cast_to_discrete_p
    return prim.apply(x, dtype=dtype)
