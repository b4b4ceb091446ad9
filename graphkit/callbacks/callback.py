"""The Keras 3 ``Callback`` base class."""
from __future__ import annotations

from typing import Any


class Callback:
    """Base class for callbacks (``keras.callbacks.Callback``).

    The trainer calls :meth:`set_model` and :meth:`set_params` before training, then the
    hooks below. ``logs`` is a dict of metric name -> float (``val_`` prefixed for
    validation); ``batch``/``epoch`` are 0-based indices.
    """

    # class-level defaults keep subclasses that forget ``super().__init__()`` working
    params: dict = {}
    _model: Any = None

    def __init__(self) -> None:
        self.params = {}
        self._model = None

    def set_params(self, params: dict) -> None:
        self.params = params

    def set_model(self, model: Any) -> None:
        self._model = model

    @property
    def model(self) -> Any:
        return self._model

    @model.setter
    def model(self, value: Any) -> None:
        self._model = value

    # legacy aliases (Keras 3 keeps them: on_batch_* is on_train_batch_*)
    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """A backwards compatibility alias for `on_train_batch_begin`."""

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """A backwards compatibility alias for `on_train_batch_end`."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Called at the start of an epoch (training only)."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Called at the end of an epoch; ``logs`` hold train and ``val_`` metrics."""

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called at the start of a batch in `evaluate` (and validation in `fit`)."""

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called at the end of a batch in `evaluate`."""

    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called at the start of a batch in `predict`."""

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called at the end of a batch in `predict`."""

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Called at the beginning of training."""

    def on_train_end(self, logs: dict | None = None) -> None:
        """Called at the end of training."""

    def on_test_begin(self, logs: dict | None = None) -> None:
        """Called at the beginning of evaluation or validation."""

    def on_test_end(self, logs: dict | None = None) -> None:
        """Called at the end of evaluation or validation."""

    def on_predict_begin(self, logs: dict | None = None) -> None:
        """Called at the beginning of prediction."""

    def on_predict_end(self, logs: dict | None = None) -> None:
        """Called at the end of prediction."""
