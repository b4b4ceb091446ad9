"""Matrix products, including the fused dense primitive used by Dense layers."""
from __future__ import annotations

from typing import Any

import numpy

from ..engine.autograd import Primitive
from ..engine.tensor import Tensor
from ._operands import binary_operands
from .cast import cast


def _matmul_forward(ops, a, b):
    return ops.matmul(a, b), (a, b)


def _matmul_backward(ops, saved, g):
    return ops.matmul_backward(g, *saved)


_matmul_p = Primitive("matmul", _matmul_forward, _matmul_backward)


def matmul(x: Any, y: Any) -> Tensor:
    """Matrix product with numpy's rules for 1-D operands and broadcast batch dimensions."""
    x, y = binary_operands(x, y)
    if x.data.ndim == 0 or y.data.ndim == 0:
        raise ValueError("matmul needs operands of rank >= 1; use multiply for scalars.")
    inner = y.shape[-2 if y.data.ndim > 1 else 0]
    if x.shape[-1] != inner:
        raise ValueError(f"matmul: shapes {x.shape} and {y.shape} are incompatible ({x.shape[-1]} != {inner}).")
    try:
        numpy.broadcast_shapes(x.shape[:-2], y.shape[:-2])
    except ValueError:
        raise ValueError(f"matmul: shapes {x.shape} and {y.shape} have batch dimensions that do not "
                         "broadcast.") from None
    return _matmul_p.apply(x, y)


def _dense_forward(ops, x, w, b=None):
    return ops.dense(x, w, b), (x, w, b is not None)


def _dense_backward(ops, saved, g, needs_input_grad):
    """No input GEMM (a third of a dense layer's backward) when the input needs no gradient:
    a batch of data, as in a model's first layer during training."""
    x, w, with_bias = saved
    gx, gw, gb = ops.dense_backward(g, x, w, with_bias, input_grad=needs_input_grad[0])
    return (gx, gw, gb) if with_bias else (gx, gw)


_dense_p = Primitive("dense", _dense_forward, _dense_backward)


def dense(x: Any, kernel: Any, bias: Any = None) -> Tensor:
    """``x @ kernel + bias`` as one fused primitive (one GEMM forward, two backward)."""
    x, kernel = binary_operands(x, kernel)
    if x.data.ndim == 0 or kernel.data.ndim != 2 or x.shape[-1] != kernel.shape[0]:
        raise ValueError(f"dense: input shape {x.shape} does not match kernel shape {kernel.shape}.")
    if bias is None:
        return _dense_p.apply(x, kernel)
    x, bias = binary_operands(x, bias)
    if bias.shape != kernel.shape[1:]:
        raise ValueError(f"dense: bias shape {bias.shape} does not match kernel shape {kernel.shape}.")
    return _dense_p.apply(x, cast(kernel, x.data.dtype), bias)
