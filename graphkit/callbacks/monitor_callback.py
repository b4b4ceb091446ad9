"""``MonitorCallback``: the one rule deciding whether a monitored value improved.

EarlyStopping, ModelCheckpoint and ReduceLROnPlateau all subclass it (as in Keras 3), so
``monitor="val_auc"`` is maximised and ``monitor="val_loss"`` minimised by every one of them.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .callback import Callback

# Substrings of metric names that are maximised / minimised when no metric object says (Keras 3
# asks the compiled metrics only; graphkit also reads the name, so custom functions work too).
_MAX_HINTS = ("acc", "auc", "precision", "recall", "fmeasure", "f1", "iou", "r2")
_MIN_HINTS = ("loss", "error", "crossentropy", "hinge", "divergence", "mae", "mse", "mape",
              "msle", "logcosh", "huber", "poisson")


def metric_direction(monitor: str, model: Any = None) -> str | None:
    """``"max"``, ``"min"`` or None (unknown) for a monitored name under ``mode="auto"``.

    ``loss`` is minimised; then a metric object on ``model.metrics`` (or inside a compiled-metrics
    container there) of that name decides by its ``_direction`` ("up"/"down"), as in Keras 3;
    then the name: accuracy/AUC/precision/recall/F1/IoU-like names are maximised, loss- and
    error-like names minimised.
    """
    name = monitor[4:] if monitor.startswith("val_") else monitor
    if name == "loss":
        return "min"
    for metric in _model_metrics(model):
        if getattr(metric, "name", None) == name and getattr(metric, "_direction", None) in ("up", "down"):
            return "max" if metric._direction == "up" else "min"
    low = name.lower()
    if any(hint in low for hint in _MAX_HINTS):
        return "max"
    if any(hint in low for hint in _MIN_HINTS):
        return "min"
    return None


def _model_metrics(model: Any) -> list:
    try:
        metrics = list(getattr(model, "metrics", None) or [])
    except Exception:  # a model whose metrics are not built yet
        return []
    found = []
    for metric in metrics:
        found.append(metric)
        found.extend(getattr(metric, "metrics", None) or [])  # compiled-metrics containers
    return found


class MonitorCallback(Callback):
    """Base class of callbacks that watch ``logs[monitor]`` and act when it improves (Keras 3's).

    Args:
        monitor: the logged value to watch (``"val_loss"``, ``"val_auc"``, ...).
        mode: ``"min"``, ``"max"`` or ``"auto"`` (:func:`metric_direction`; decided at the first
            :meth:`_is_improvement` after training starts, when the compiled metrics exist). An
            explicit mode always wins.
        baseline: the initial ``best`` value to beat (None: the first value is an improvement).
        min_delta: the smallest change that counts as an improvement.
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", baseline: float | None = None,
                 min_delta: float = 0.0) -> None:
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self) -> None:
        direction = self.mode if self.mode != "auto" else metric_direction(self.monitor, self.model)
        if direction is None:
            raise ValueError(
                f"{type(self).__name__} callback received monitor={self.monitor}, but graphkit isn't able to "
                "automatically determine whether that metric should be maximized or minimized. Pass "
                "`mode='max'` in order to monitor based on the highest metric value, or pass `mode='min'` "
                "in order to use the lowest value.")
        self.monitor_op = np.less if direction == "min" else np.greater
        self.min_delta = -abs(self.min_delta) if direction == "min" else abs(self.min_delta)

    def _is_improvement(self, monitor_value: float, reference_value: float | None) -> bool:
        """Whether ``monitor_value`` beats ``reference_value`` by at least ``min_delta``."""
        if self.monitor_op is None:
            self._set_monitor_op()
        if reference_value is None:
            return True
        return bool(self.monitor_op(monitor_value - self.min_delta, reference_value))
