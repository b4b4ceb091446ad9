"""Core layers (Dense, Activation, Dropout, Embedding) and the activation functions by name."""
from __future__ import annotations

import inspect
import math
from typing import Any, Callable

from ... import activations
from ...backend.host import to_host
from ...layers.core import Activation, Dense, Dropout, Embedding
from . import proto
from .convert import converts, unsupported
from .graph import GraphBuilder


def weight(variable: Any):
    """A layer weight as a host float32 array."""
    return to_host(variable).astype("float32", copy=False)


# ---------------------------------------------------------------- activations
def _gelu(g: GraphBuilder, x: str, approximate: bool = False, **_: Any) -> str:
    half_x = g.op("Mul", [x, g.constant(0.5, "half")])
    if approximate:  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.op("Mul", [g.op("Mul", [x, x]), x])
        inner = g.op("Add", [x, g.op("Mul", [cube, g.constant(0.044715, "gelu_coefficient")])])
        t = g.op("Tanh", [g.op("Mul", [inner, g.constant(math.sqrt(2 / math.pi), "sqrt_2_over_pi")])])
    else:  # 0.5 x (1 + erf(x / sqrt(2)))
        t = g.op("Erf", [g.op("Mul", [x, g.constant(1 / math.sqrt(2), "one_over_sqrt2")])])
    return g.op("Mul", [half_x, g.op("Add", [t, g.constant(1.0, "one")])])


def _simple(op_type: str) -> Callable[..., str]:
    return lambda g, x, **_: g.op(op_type, [x])


# name -> emitter(g, x, **the activation's keyword arguments); ``axis`` is the channel axis.
ACTIVATIONS: dict[str, Callable[..., str]] = {
    "linear": lambda g, x, **_: x,
    "relu": _simple("Relu"),
    "relu6": lambda g, x, **_: g.op("Clip", [x, g.constant(0.0, "zero"), g.constant(6.0, "six")]),
    "sigmoid": _simple("Sigmoid"),
    "tanh": _simple("Tanh"),
    "softmax": lambda g, x, axis=-1, **_: g.op("Softmax", [x], axis=int(axis)),
    "log_softmax": lambda g, x, axis=-1, **_: g.op("LogSoftmax", [x], axis=int(axis)),
    "gelu": _gelu,
    "elu": lambda g, x, alpha=1.0, **_: g.op("Elu", [x], alpha=float(alpha)),
    "selu": lambda g, x, **_: g.op("Selu", [x], alpha=1.6732632423543772, gamma=1.0507009873554805),
    "silu": lambda g, x, **_: g.op("Mul", [x, g.op("Sigmoid", [x])]),
    "swish": lambda g, x, **_: g.op("Mul", [x, g.op("Sigmoid", [x])]),
    "softplus": _simple("Softplus"),
    "softsign": _simple("Softsign"),
    "leaky_relu": lambda g, x, negative_slope=0.2, **_: g.op("LeakyRelu", [x], alpha=float(negative_slope)),
    "hard_sigmoid": lambda g, x, **_: g.op("HardSigmoid", [x], alpha=1 / 6, beta=0.5),
    "exponential": _simple("Exp"),
}
_AXIS_ACTIVATIONS = {"softmax", "log_softmax"}


def keyword_defaults(fn: Callable) -> dict:
    """The keyword arguments ``fn`` has defaults for (``gelu``'s ``approximate``...)."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


def activation(g: GraphBuilder, layer: Any, fn: Callable, x: str, channel_axis: int = -1) -> str:
    """``fn(x)`` for an activation function of :mod:`graphkit.activations`. ``channel_axis`` is
    where the channels are in ``x`` (softmax runs along them, as Keras's ``axis=-1`` does)."""
    name = activations.serialize(fn)
    if name not in ACTIVATIONS or activations.get(name) is not fn:
        raise unsupported(layer, f"activation {name!r} is not one of the built-in activations it exports "
                                 f"({sorted(ACTIVATIONS)})")
    kwargs = keyword_defaults(fn)
    if name in _AXIS_ACTIVATIONS and kwargs.get("axis", -1) == -1:
        kwargs["axis"] = channel_axis
    return ACTIVATIONS[name](g, x, **kwargs)


# --------------------------------------------------------------------- layers
@converts(Dense)
def dense(g: GraphBuilder, layer: Dense, node, args) -> list:
    y = g.op("MatMul", [args[0], g.constant(weight(layer.kernel), "kernel")])
    if layer.use_bias:
        y = g.op("Add", [y, g.constant(weight(layer.bias), "bias")])
    return [activation(g, layer, layer.activation, y)]


@converts(Activation)
def activation_layer(g: GraphBuilder, layer: Activation, node, args) -> list:
    return [activation(g, layer, layer.activation, args[0])]


@converts(Dropout)
def dropout(g: GraphBuilder, layer: Dropout, node, args) -> list:
    return [args[0]]  # inference: the identity


@converts(Embedding)
def embedding(g: GraphBuilder, layer: Embedding, node, args) -> list:
    if layer.mask_zero:
        raise unsupported(layer, "mask_zero=True (ONNX export does not carry masks to the layers that follow)")
    ids = args[0]
    if node.input_tensors[0].dtype.kind not in "iu":
        ids = g.op("Cast", [ids], to=proto.data_type("int64"))
    return [g.op("Gather", [g.constant(weight(layer.embeddings), "embeddings"), ids], axis=0)]
