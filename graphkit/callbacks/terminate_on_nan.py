"""``TerminateOnNaN``."""
from __future__ import annotations

from .callback import Callback
from ._monitor import is_bad_number


class TerminateOnNaN(Callback):
    """Stops training when a batch loss is NaN or infinite (``keras.callbacks.TerminateOnNaN``).

    Sets ``model.stop_training = True``; the trainer stops after the current batch.
    """

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        loss = logs.get("loss")
        if loss is not None and is_bad_number(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
