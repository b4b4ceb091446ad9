"""``EarlyStopping``."""
from __future__ import annotations

import warnings

import numpy as np

from .callback import Callback
from ._monitor import metric_direction, monitor_value


class EarlyStopping(Callback):
    """Stop training when a monitored metric has stopped improving (``keras.callbacks.EarlyStopping``).

    Args:
        monitor: quantity to be monitored (default ``"val_loss"``).
        min_delta: minimum change that counts as an improvement (absolute value used).
        patience: number of epochs with no improvement after which training stops.
        verbose: 1 prints a message when the callback acts.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (direction inferred from the metric).
        baseline: value the metric has to beat; training stops if it does not within ``patience``.
        restore_best_weights: restore the weights (``model.get_weights()``/``set_weights``) from the
            epoch with the best value at the end of training. As in Keras they are restored
            whenever a best epoch was recorded, even if training was not stopped early.
        start_from_epoch: number of warm-up epochs before improvement is monitored.

    Sets ``model.stop_training = True``; ``stopped_epoch`` and ``best_epoch`` are 0-based.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor = monitor
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.min_delta = abs(min_delta)
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights = None
        self.start_from_epoch = start_from_epoch
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"EarlyStopping mode {mode} is unknown, fallback to auto mode.", stacklevel=2)
            mode = "auto"
        self.mode = mode
        self.monitor_op = None
        self.best = None
        self.best_epoch = 0

    def _set_monitor_op(self):
        direction = self.mode if self.mode != "auto" else metric_direction(self.monitor, self.model)
        if direction is None:
            raise ValueError(
                f"EarlyStopping callback received monitor={self.monitor} but graphkit isn't able to "
                "automatically determine whether that metric should be maximized or minimized. "
                "Pass `mode='max'` in order to do early stopping based on the highest metric value, "
                "or pass `mode='min'` in order to use the lowest value.")
        self.monitor_op = np.less if direction == "min" else np.greater
        if self.monitor_op is np.less:
            self.min_delta = -abs(self.min_delta)
        else:
            self.min_delta = abs(self.min_delta)

    def on_train_begin(self, logs=None):
        # Allow instances to be re-used
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            # Delay setup until the model's metrics are all built
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            # If no monitor value exists or still in initial warm-up stage.
            return
        if self.restore_best_weights and self.best_weights is None:
            # If best weights were never set, then the current weights are the best.
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch

        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # Only restart wait if we beat both the baseline and our previous best.
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return

        if self.wait >= self.patience and epoch > 0:
            # Patience has been exceeded: stop training
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        return monitor_value(logs, self.monitor, "Early stopping")

    def _is_improvement(self, monitor_value, reference_value):
        if reference_value is None:
            return True
        return bool(self.monitor_op(monitor_value - self.min_delta, reference_value))
