"""``LearningRateScheduler``."""
from __future__ import annotations

import numpy as np

from .callback import Callback
from ._monitor import get_lr, set_lr


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of every epoch (``keras.callbacks.LearningRateScheduler``).

    ``schedule(epoch, lr) -> new_lr`` with a 0-based epoch and the current rate as a float
    (a one-argument ``schedule(epoch)`` is accepted too, as Keras). Adds ``logs["learning_rate"]``
    at each epoch end.
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = get_lr(self.model, "LearningRateScheduler")
        try:  # new API
            learning_rate = self.schedule(epoch, lr)
        except TypeError:  # Support for old API for backward compatibility
            learning_rate = self.schedule(epoch)
        if isinstance(learning_rate, (np.ndarray, np.generic)) and np.ndim(learning_rate) == 0:
            learning_rate = float(learning_rate)
        if not isinstance(learning_rate, (float, int, np.floating)) or isinstance(learning_rate, bool):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {learning_rate}")
        set_lr(self.model, float(learning_rate))
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {learning_rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = get_lr(self.model, "LearningRateScheduler")
