"""Elementwise arithmetic, math functions and comparisons."""
from __future__ import annotations

from typing import Any, Callable

from ..backend import FLOATX
from ..engine.autograd import Primitive
from ..engine.tensor import Tensor
from ._operands import as_float, as_tensor, binary_operands
from .cast import cast

# ----------------------------------------------------------------- binary, differentiable


def _binary(name: str, compute: Callable, grads: Callable | None,
            floating: bool = False) -> Callable[[Any, Any], Tensor]:
    """Build a broadcasting binary op; ``grads(ops, g, a, b) -> (ga, gb)`` before unbroadcasting.
    A ``floating`` op (divide) computes integer operands in float32."""

    def forward(ops, a, b):
        return compute(ops.xp, a, b), (a, b)

    def backward(ops, saved, g):
        a, b = saved
        ga, gb = grads(ops, g, a, b)
        return ops.unbroadcast(ga, a.shape), ops.unbroadcast(gb, b.shape)

    prim = Primitive(name, forward, backward if grads else None)

    def op(x: Any, y: Any) -> Tensor:
        x, y = binary_operands(x, y)
        if floating and x.data.dtype.kind not in "fc":
            x, y = cast(x, FLOATX), cast(y, FLOATX)
        return prim.apply(x, y)

    op.__name__ = op.__qualname__ = name
    op.primitive = prim
    return op


def _add_forward(ops, a, b):
    return a + b, (a.shape, b.shape)


def _add_backward(ops, shapes, g):
    return ops.unbroadcast(g, shapes[0]), ops.unbroadcast(g, shapes[1])


def _subtract_forward(ops, a, b):
    return a - b, (a.shape, b.shape)


def _subtract_backward(ops, shapes, g):
    return ops.unbroadcast(g, shapes[0]), ops.unbroadcast(-g, shapes[1])


_add_p = Primitive("add", _add_forward, _add_backward)
_subtract_p = Primitive("subtract", _subtract_forward, _subtract_backward)


def add(x: Any, y: Any) -> Tensor:
    """``x + y`` with broadcasting."""
    x, y = binary_operands(x, y)
    return _add_p.apply(x, y)


def subtract(x: Any, y: Any) -> Tensor:
    """``x - y`` with broadcasting."""
    x, y = binary_operands(x, y)
    return _subtract_p.apply(x, y)


add.primitive, subtract.primitive = _add_p, _subtract_p


def _power_grads(ops, g, a, b):
    xp = ops.xp
    y = a ** b
    ga = g * b * a ** (b - 1)
    safe_log = xp.log(xp.where(a > 0, a, 1))
    gb = g * y * safe_log
    return ga, gb


def _winner_share(g, a, b, a_wins):
    """``g`` where ``a`` won, ``g / 2`` on ties (split evenly, as PyTorch and JAX do), else 0.

    Masks multiply ``g`` directly so the gradient keeps its dtype (a bool mask plus 0.5 is float64).
    """
    return g * a_wins + (g * 0.5) * (a == b)


multiply = _binary("multiply", lambda xp, a, b: a * b, lambda ops, g, a, b: (g * b, g * a))
divide = _binary("divide", lambda xp, a, b: a / b, lambda ops, g, a, b: (g / b, -g * a / (b * b)), floating=True)
power = _binary("power", lambda xp, a, b: a ** b, _power_grads)
maximum = _binary(
    "maximum", lambda xp, a, b: xp.maximum(a, b),
    lambda ops, g, a, b: (_winner_share(g, a, b, a > b), _winner_share(g, b, a, b > a)))
minimum = _binary(
    "minimum", lambda xp, a, b: xp.minimum(a, b),
    lambda ops, g, a, b: (_winner_share(g, a, b, a < b), _winner_share(g, b, a, b < a)))
true_divide = divide

# --------------------------------------------------------- binary, not differentiable
floor_divide = _binary("floor_divide", lambda xp, a, b: xp.floor_divide(a, b), None)
mod = _binary("mod", lambda xp, a, b: xp.mod(a, b), None)
equal = _binary("equal", lambda xp, a, b: a == b, None)
not_equal = _binary("not_equal", lambda xp, a, b: a != b, None)
less = _binary("less", lambda xp, a, b: a < b, None)
less_equal = _binary("less_equal", lambda xp, a, b: a <= b, None)
greater = _binary("greater", lambda xp, a, b: a > b, None)
greater_equal = _binary("greater_equal", lambda xp, a, b: a >= b, None)
logical_and = _binary("logical_and", lambda xp, a, b: xp.logical_and(a, b), None)
logical_or = _binary("logical_or", lambda xp, a, b: xp.logical_or(a, b), None)
logical_xor = _binary("logical_xor", lambda xp, a, b: xp.logical_xor(a, b), None)

# ------------------------------------------------------------------------------ unary


def _unary(name: str, compute: Callable, grad: Callable | None, keep: str = "x",
           floating: bool = False) -> Callable[[Any], Tensor]:
    """Build an elementwise op. ``grad(ops, g, saved)`` gets only what ``keep`` asks to save:
    the input ``"x"``, the output ``"y"``, or ``"xy"`` for both (as a pair).
    A ``floating`` op (exp, sigmoid...) computes integer input in float32."""

    def forward(ops, a):
        y = compute(ops, a)
        if keep == "x":
            return y, a
        if keep == "y":
            return y, y
        return y, (a, y)

    def backward(ops, saved, g):
        return (grad(ops, g, saved),)

    prim = Primitive(name, forward, backward if grad else None)

    def op(x: Any) -> Tensor:
        return prim.apply(as_float(x) if floating else as_tensor(x))

    op.__name__ = op.__qualname__ = name
    op.primitive = prim
    return op


negative = _unary("negative", lambda ops, a: -a, lambda ops, g, _: -g, keep="y")
abs = _unary("abs", lambda ops, a: ops.xp.abs(a), lambda ops, g, a: g * ops.xp.sign(a))  # noqa: A001
absolute = abs
exp = _unary("exp", lambda ops, a: ops.xp.exp(a), lambda ops, g, y: g * y, keep="y", floating=True)
expm1 = _unary("expm1", lambda ops, a: ops.xp.expm1(a), lambda ops, g, y: g * (y + 1), keep="y", floating=True)
log = _unary("log", lambda ops, a: ops.xp.log(a), lambda ops, g, a: g / a, floating=True)
log1p = _unary("log1p", lambda ops, a: ops.xp.log1p(a), lambda ops, g, a: g / (1 + a), floating=True)
sqrt = _unary("sqrt", lambda ops, a: ops.xp.sqrt(a), lambda ops, g, y: g * 0.5 / y, keep="y", floating=True)
rsqrt = _unary("rsqrt", lambda ops, a: 1 / ops.xp.sqrt(a), lambda ops, g, y: g * -0.5 * y * y * y,
               keep="y", floating=True)
square = _unary("square", lambda ops, a: a * a, lambda ops, g, a: g * 2 * a)
reciprocal = _unary("reciprocal", lambda ops, a: 1 / a, lambda ops, g, y: -g * y * y, keep="y", floating=True)
sin = _unary("sin", lambda ops, a: ops.xp.sin(a), lambda ops, g, a: g * ops.xp.cos(a), floating=True)
cos = _unary("cos", lambda ops, a: ops.xp.cos(a), lambda ops, g, a: -g * ops.xp.sin(a), floating=True)
erf = _unary("erf", lambda ops, a: ops.erf(a),
             lambda ops, g, a: g * (2 / 3.141592653589793 ** 0.5) * ops.xp.exp(-a * a), floating=True)
sign = _unary("sign", lambda ops, a: ops.xp.sign(a), None)
floor = _unary("floor", lambda ops, a: ops.xp.floor(a), None)
ceil = _unary("ceil", lambda ops, a: ops.xp.ceil(a), None)
round = _unary("round", lambda ops, a: ops.xp.round(a), None)  # noqa: A001
logical_not = _unary("logical_not", lambda ops, a: ops.xp.logical_not(a), None)
isnan = _unary("isnan", lambda ops, a: ops.xp.isnan(a), None)
isfinite = _unary("isfinite", lambda ops, a: ops.xp.isfinite(a), None)
