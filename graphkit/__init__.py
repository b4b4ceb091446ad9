"""graphkit: build, see and train neural networks in notebooks.

``import graphkit as gk`` gives a TensorFlow/Keras-shaped API: tensors and autograd
(``gk.constant``, ``gk.GradientTape``), modules (``gk.Module``) and ``gk.ops``.
"""
from __future__ import annotations

from typing import Any, Sequence

from . import activations, backend, events, initializers, layers, models, nn, ops, random, saving
from . import train
from . import optimizers
from . import callbacks, config, datasets, utils
from . import viz
from .viz import live
from . import losses, metrics
from . import summary
from . import trace  # noqa: E402  (gk.trace is the callable package graphkit/trace)
from . import board
from .backend import FLOATX
from .engine.autograd import GradientTape, Primitive, no_grad, observe, primitive
from .engine.dtypes import (bool_, float16, float32, float64, int8, int16, int32, int64, uint8)
from .engine.naming import name_scope
from .engine.tensor import Tensor, to_array, wrap
from .engine.variable import Variable
from .layers import Input
from .models import Model, Sequential
from .module import Module
from .ops import cast, matmul
from . import function, saved_model  # noqa: E402  (gk.function is the callable package graphkit/function)
from .function import TensorSpec

__version__ = "0.1.0"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where JupyterLab finds the prebuilt extension (``jupyter labextension develop`` uses it)."""
    return [{"src": "labextension", "dest": "graphkit-nn"}]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext graphkit``: the ``%graphkit board LOGDIR`` line magic (graphkit/board/magics.py)."""
    from .board.magics import load_ipython_extension as load
    load(ipython)


def constant(value: Any, dtype: Any = None, shape: Sequence[int] | None = None) -> Tensor:
    """A tensor holding ``value`` (float data defaults to float32), optionally reshaped/broadcast to ``shape``."""
    data = to_array(value, dtype)
    if shape is not None:
        shape = tuple(shape)
        if data.size == 1:
            data = backend.current().xp.full(shape, data.reshape(()), dtype=data.dtype)
        else:
            try:
                data = data.reshape(shape)
            except ValueError:
                raise ValueError(f"constant: {data.size} values cannot fill shape {shape}.") from None
    return wrap(data, None, 0)


convert_to_tensor = constant


def _shape(shape: int | Sequence[int]) -> tuple:
    return (int(shape),) if isinstance(shape, int) else tuple(int(n) for n in shape)


def zeros(shape: int | Sequence[int], dtype: Any = FLOATX) -> Tensor:
    """A tensor of zeros."""
    return wrap(backend.current().zeros(_shape(shape), dtype), None, 0)


def ones(shape: int | Sequence[int], dtype: Any = FLOATX) -> Tensor:
    """A tensor of ones."""
    return wrap(backend.current().ones(_shape(shape), dtype), None, 0)


def zeros_like(x: Any, dtype: Any = None) -> Tensor:
    x = ops.array.as_tensor(x)
    return zeros(x.shape, dtype or x.dtype)


def ones_like(x: Any, dtype: Any = None) -> Tensor:
    x = ops.array.as_tensor(x)
    return ones(x.shape, dtype or x.dtype)


__all__ = [
    "FLOATX", "GradientTape", "Input", "Model", "Module", "Sequential", "activations", "events", "initializers",
    "layers",
    "models", "Primitive", "Tensor", "Variable", "backend", "bool_", "cast",
    "constant", "convert_to_tensor", "float16", "float32", "float64", "int8", "int16", "int32", "int64",
    "matmul", "name_scope", "nn", "no_grad", "observe", "ones", "ones_like", "ops", "primitive",
    "random", "saving", "train", "function", "saved_model", "TensorSpec", "uint8", "callbacks", "datasets",
    "utils", "zeros", "zeros_like", "viz", "live", "summary", "board", "config",
]
