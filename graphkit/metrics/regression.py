"""Regression metrics: mean squared / absolute error and their root (functions and classes)."""
from __future__ import annotations

from typing import Any

from .. import losses as _losses
from ..backend import state as _backend
from ..engine.tensor import Tensor
from ..ops.losses import _squeeze_or_expand
from .base import ARRAY_KERNELS, Mean, MeanMetricWrapper, as_array, floating, mean_of, scalar


def _regression(kernel: str):
    def compute(y_true, y_pred):
        y_true = y_true.astype(y_pred.dtype, copy=False)
        y_true, y_pred = _squeeze_or_expand(y_true, y_pred)
        if y_true.shape != y_pred.shape:
            raise ValueError(f"{kernel}: y_true and y_pred have incompatible shapes: y_true.shape="
                             f"{tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}.")
        return getattr(_backend.ops, kernel)(y_pred, y_true)[0]
    return compute


mean_squared_error = mse = _losses.mean_squared_error
mean_absolute_error = mae = _losses.mean_absolute_error
ARRAY_KERNELS[_losses.mean_squared_error] = _regression("mean_squared_error")
ARRAY_KERNELS[_losses.mean_absolute_error] = _regression("mean_absolute_error")


class MeanSquaredError(MeanMetricWrapper):
    """Running mean of ``mean(square(y_true - y_pred), axis=-1)``."""

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None) -> None:
        super().__init__(mean_squared_error, name=name, dtype=dtype)
        self._direction = "down"

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


class MeanAbsoluteError(MeanMetricWrapper):
    """Running mean of ``mean(abs(y_true - y_pred), axis=-1)``."""

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None) -> None:
        super().__init__(mean_absolute_error, name=name, dtype=dtype)
        self._direction = "down"

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


class RootMeanSquaredError(Mean):
    """``sqrt`` of the running mean of squared errors."""

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self._direction = "down"

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = floating(as_array(y_pred)).astype(self._dtype, copy=False)
        y_true = as_array(y_true).astype(self._dtype, copy=False)
        y_true, y_pred = _squeeze_or_expand(y_true, y_pred)
        error = y_pred - y_true
        self._accumulate(error * error, sample_weight)

    def result(self) -> Tensor:
        return scalar(_backend.ops.xp.sqrt(mean_of(self.total.data, self.count.data)), self._dtype)
