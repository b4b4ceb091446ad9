"""``gk.nn``: activation aliases in the style of ``tf.nn``."""
from __future__ import annotations

from typing import Any

from .engine.tensor import Tensor
from .ops import (elu, leaky_relu, log_softmax, relu, relu6, selu, sigmoid, silu, softmax, softplus,
                  softsign, swish, tanh)
from .ops import gelu as _ops_gelu

__all__ = ["elu", "gelu", "leaky_relu", "log_softmax", "relu", "relu6", "selu", "sigmoid", "silu",
           "softmax", "softplus", "softsign", "swish", "tanh"]


def gelu(features: Any, approximate: bool = False) -> Tensor:
    """Gaussian error linear unit; exact (erf) by default, as ``tf.nn.gelu``."""
    return _ops_gelu(features, approximate=approximate)
