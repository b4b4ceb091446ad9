"""Activation functions by name (``gk.activations.get("relu")``), as Keras 3 names them."""
from __future__ import annotations

from typing import Any, Callable

from . import ops as _act  # the gk.ops functions (they also record op layers on symbolic tensors)


def gelu(x: Any, approximate: bool = False):
    """Exact (erf) gelu by default, as the Keras "gelu" activation."""
    return _act.gelu(x, approximate=approximate)


def softmax(x: Any, axis: int = -1):
    return _act.softmax(x, axis=axis)


def leaky_relu(x: Any, negative_slope: float = 0.2):
    return _act.leaky_relu(x, negative_slope=negative_slope)


relu = _act.relu
relu6 = _act.relu6
sigmoid = _act.sigmoid
tanh = _act.tanh
elu = _act.elu
selu = _act.selu
softplus = _act.softplus
softsign = _act.softsign
silu = _act.silu
hard_sigmoid = _act.hard_sigmoid
linear = _act.linear
exponential = _act.exponential
log_softmax = _act.log_softmax
swish = silu

_BY_NAME: dict[str, Callable] = {
    "relu": relu, "relu6": relu6, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax, "gelu": gelu,
    "elu": elu, "selu": selu, "silu": silu, "swish": swish, "softplus": softplus, "softsign": softsign,
    "linear": linear, "leaky_relu": leaky_relu, "hard_sigmoid": hard_sigmoid, "exponential": exponential,
    "log_softmax": log_softmax,
}


def get(identifier: Any) -> Callable:
    """The activation function for a name, None ("linear") or a callable."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]
    if isinstance(identifier, str):  # a custom function: custom_objects / gk.saving.register_serializable
        from .saving.serialization import get_registered_object
        found = get_registered_object(identifier)
        if callable(found):
            return found
    raise ValueError(f"Unknown activation {identifier!r}; valid names: {sorted(_BY_NAME)} (custom functions: "
                     "pass them in custom_objects or register them with gk.saving.register_serializable()).")


def serialize(activation: Callable) -> str:
    """The Keras name of an activation function (its ``__name__`` for custom ones)."""
    for name, fn in _BY_NAME.items():
        if fn is activation:
            return name
    from .saving.serialization import get_registered_name
    return get_registered_name(activation) or str(activation)
