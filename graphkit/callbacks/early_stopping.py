"""``EarlyStopping``."""
from __future__ import annotations

from ._monitor import monitor_value
from .monitor_callback import MonitorCallback


class EarlyStopping(MonitorCallback):
    """Stop training when a monitored metric has stopped improving (``keras.callbacks.EarlyStopping``).

    Args:
        monitor: quantity to be monitored (default ``"val_loss"``).
        min_delta: minimum change that counts as an improvement (absolute value used).
        patience: number of epochs with no improvement after which training stops.
        verbose: 1 prints a message when the callback acts.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (the direction rule of :class:`MonitorCallback`).
        baseline: value the metric has to beat; training stops if it does not within ``patience``.
        restore_best_weights: restore the weights (``model.get_weights()``/``set_weights``) from the
            epoch with the best value at the end of training. As in Keras they are restored
            whenever a best epoch was recorded, even if training was not stopped early.
        start_from_epoch: number of warm-up epochs before improvement is monitored.

    Sets ``model.stop_training = True``; ``stopped_epoch`` and ``best_epoch`` are 0-based.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights = None
        self.start_from_epoch = start_from_epoch
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        # Allow instances to be re-used
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
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
