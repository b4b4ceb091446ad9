"""``History``: records the epoch logs of ``fit`` (``model.history``)."""
from __future__ import annotations

from .callback import Callback


class History(Callback):
    """Callback that records events into a ``History`` object.

    ``history.history`` maps each log key to a list with one value per epoch and
    ``history.epoch`` lists the epoch indices. ``fit`` returns it and sets ``model.history``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict = {}
        self.epoch: list = []

    def on_train_begin(self, logs=None):
        # Keras 3 keeps appending across repeated fits only through a new History; epochs
        # restart here as in Keras (``self.epoch = []``).
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)
        if self.model is not None:
            try:
                self.model.history = self
            except AttributeError:
                pass

    def __repr__(self) -> str:
        return f"<History epochs={len(self.epoch)} keys={sorted(self.history)}>"
