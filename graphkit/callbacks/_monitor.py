"""Shared helpers of the callbacks: monitored values, learning-rate access, NaN checks (the
improvement direction is :mod:`.monitor_callback`'s)."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .callback_list import to_py

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
