"""Shared helpers: monitored values, improvement direction, learning-rate access."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .callback_list import to_py

# substrings of metric names that are maximised when mode="auto" (Keras's "acc" rule, widened)
_MAX_HINTS = ("acc", "auc", "precision", "recall", "fmeasure", "f1", "iou", "r2")
_MIN_HINTS = ("loss", "error", "crossentropy", "hinge", "divergence", "mae", "mse", "mape",
              "msle", "logcosh", "huber", "poisson")


def metric_direction(monitor: str, model: Any = None) -> str | None:
    """``"max"``, ``"min"`` or None (unknown) for a monitored name, as Keras 3's ``mode="auto"``.

    A metric object on ``model.metrics`` with ``_direction`` ("up"/"down") decides first; then
    the name: ``loss`` and error-like names are minimised, accuracy/AUC-like names maximised.
    """
    name = monitor[4:] if monitor.startswith("val_") else monitor
    if name == "loss":
        return "min"
    for m in _model_metrics(model):
        if getattr(m, "name", None) == name and getattr(m, "_direction", None) in ("up", "down"):
            return "max" if m._direction == "up" else "min"
    low = name.lower()
    if any(h in low for h in _MAX_HINTS):
        return "max"
    if any(h in low for h in _MIN_HINTS) or low.endswith("_loss"):
        return "min"
    return None


def _model_metrics(model: Any) -> list:
    if model is None:
        return []
    try:
        metrics = list(getattr(model, "metrics", None) or [])
    except Exception:
        return []
    out = []
    for m in metrics:
        out.append(m)
        out.extend(getattr(m, "metrics", None) or [])  # compile-metrics containers
    return out


def monitor_value(logs: dict | None, monitor: str, what: str) -> float | None:
    """``logs[monitor]`` as a float; warns (listing the available keys) when it is missing."""
    logs = logs or {}
    value = logs.get(monitor)
    if value is None:
        warnings.warn(f"{what} conditioned on metric `{monitor}` which is not available. "
                      f"Available metrics are: {','.join(list(logs.keys()))}", stacklevel=3)
        return None
    return to_py(value)


def get_lr(model: Any, who: str) -> float:
    """The optimizer's current learning rate as a float."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError(f'{who}: the model\'s optimizer must have a "learning_rate" attribute '
                         "(compile the model first).")
    lr = optimizer.learning_rate
    value = to_py(lr)
    if not isinstance(value, float):
        raise TypeError(f"{who}: the optimizer's learning_rate is {type(lr).__name__}, not a number "
                        "(an optimizer created with a LearningRateSchedule cannot have its rate set "
                        "by a callback).")
    return value


def set_lr(model: Any, value: float) -> None:
    """Sets ``model.optimizer.learning_rate`` (the optimizer's setter handles Variables)."""
    model.optimizer.learning_rate = float(value)


def is_bad_number(value: Any) -> bool:
    value = to_py(value)
    try:
        return bool(np.isnan(value) or np.isinf(value))
    except TypeError:
        return False
