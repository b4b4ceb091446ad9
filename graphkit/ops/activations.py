"""Activation functions and softmax, as differentiable primitives."""
from __future__ import annotations

from typing import Any

from ..engine.autograd import Primitive
from ..engine.tensor import Tensor
from ._operands import as_float, as_tensor
from .math import _unary, exp

relu = _unary("relu", lambda ops, a: ops.relu(a), lambda ops, g, y: ops.relu_backward(g, y), keep="y")
relu6 = _unary("relu6", lambda ops, a: ops.xp.clip(a, 0, 6),
               lambda ops, g, a: g * ((a > 0) & (a < 6)))
sigmoid = _unary("sigmoid", lambda ops, a: ops.sigmoid(a), lambda ops, g, y: ops.sigmoid_backward(g, y),
                 keep="y", floating=True)
tanh = _unary("tanh", lambda ops, a: ops.tanh(a), lambda ops, g, y: ops.tanh_backward(g, y), keep="y",
              floating=True)
softplus = _unary("softplus", lambda ops, a: ops.softplus(a), lambda ops, g, a: g * ops.sigmoid(a),
                  floating=True)
softsign = _unary("softsign", lambda ops, a: a / (1 + ops.xp.abs(a)),
                  lambda ops, g, a: g / (1 + ops.xp.abs(a)) ** 2, floating=True)
silu = _unary("silu", lambda ops, a: a * ops.sigmoid(a),
              lambda ops, g, a: g * _silu_slope(ops, a), floating=True)
swish = silu
hard_sigmoid = _unary("hard_sigmoid", lambda ops, a: ops.xp.clip(a / 6 + 0.5, 0, 1),
                      lambda ops, g, a: g * ((a > -3) & (a < 3)) / 6, floating=True)


def _expm1_neg(ops, a):
    """``expm1`` of the negative part only (the branch elu/selu use), so large inputs never overflow."""
    return ops.xp.expm1(ops.xp.minimum(a, 0))


def _exp_neg(ops, a):
    return ops.xp.exp(ops.xp.minimum(a, 0))


SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
selu = _unary("selu", lambda ops, a: SELU_SCALE * ops.xp.where(a > 0, a, SELU_ALPHA * _expm1_neg(ops, a)),
              lambda ops, g, a: g * SELU_SCALE * ops.xp.where(a > 0, 1, SELU_ALPHA * _exp_neg(ops, a)),
              floating=True)


def _silu_slope(ops, a):
    s = ops.sigmoid(a)
    return s * (1 + a * (1 - s))


def _attr_forward(compute, keep_input=True):
    def forward(ops, a, **attrs):
        y = compute(ops, a, **attrs)
        return y, ((a if keep_input else y), attrs)
    return forward


def _leaky_relu_backward(ops, saved, g):
    a, attrs = saved
    return (g * ops.xp.where(a > 0, 1, attrs["negative_slope"]).astype(a.dtype),)


def _elu_backward(ops, saved, g):
    a, attrs = saved
    return (g * ops.xp.where(a > 0, 1, attrs["alpha"] * _exp_neg(ops, a)).astype(a.dtype),)


def _gelu_backward(ops, saved, g):
    a, attrs = saved
    return (ops.gelu_backward(g, a, attrs["approximate"]),)


def _softmax_backward(ops, saved, g):
    y, attrs = saved
    return (ops.softmax_backward(g, y, attrs["axis"]),)


def _log_softmax_backward(ops, saved, g):
    y, attrs = saved
    return (ops.log_softmax_backward(g, y, attrs["axis"]),)


_leaky_relu_p = Primitive(
    "leaky_relu",
    _attr_forward(lambda ops, a, negative_slope: ops.xp.where(a > 0, a, a * negative_slope)),
    _leaky_relu_backward)
_elu_p = Primitive(
    "elu", _attr_forward(lambda ops, a, alpha: ops.xp.where(a > 0, a, alpha * _expm1_neg(ops, a))), _elu_backward)
_gelu_p = Primitive("gelu", _attr_forward(lambda ops, a, approximate: ops.gelu(a, approximate)), _gelu_backward)
_softmax_p = Primitive("softmax", _attr_forward(lambda ops, a, axis: ops.softmax(a, axis), keep_input=False),
                       _softmax_backward)
_log_softmax_p = Primitive(
    "log_softmax", _attr_forward(lambda ops, a, axis: ops.log_softmax(a, axis), keep_input=False),
    _log_softmax_backward)


def leaky_relu(x: Any, negative_slope: float = 0.2) -> Tensor:
    """``x`` where positive, ``negative_slope * x`` elsewhere (Keras 3's default slope 0.2)."""
    return _leaky_relu_p.apply(as_float(x), negative_slope=negative_slope)


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    """Exponential linear unit."""
    return _elu_p.apply(as_float(x), alpha=alpha)


def gelu(x: Any, approximate: bool = True) -> Tensor:
    """Gaussian error linear unit; ``approximate=False`` is the exact erf form.

    The default follows ``keras.ops.gelu`` (tanh approximation); ``gk.nn.gelu`` and the
    "gelu" activation name default to the exact form, as ``tf.nn.gelu`` and Keras layers do.
    """
    return _gelu_p.apply(as_float(x), approximate=bool(approximate))


def softmax(x: Any, axis: int = -1) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``axis`` (numerically stable)."""
    return _softmax_p.apply(as_float(x), axis=axis)


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """``log(softmax(x))`` computed stably along ``axis``."""
    return _log_softmax_p.apply(as_float(x), axis=axis)


def linear(x: Any) -> Tensor:
    """The identity activation."""
    return as_tensor(x)


def exponential(x: Any) -> Tensor:
    """``exp(x)``, under its activation name."""
    return exp(x)

