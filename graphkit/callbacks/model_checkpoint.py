"""``ModelCheckpoint``."""
from __future__ import annotations

import os
import re
import warnings

from .callback_list import to_py
from .monitor_callback import MonitorCallback

_WEIGHTS_SUFFIX = re.compile(r"\.weights\.[A-Za-z0-9]+$")


class ModelCheckpoint(MonitorCallback):
    """Save the model or its weights at some frequency (``keras.callbacks.ModelCheckpoint``).

    Args:
        filepath: where to save; may hold ``str.format`` fields filled with ``epoch`` (1-based),
            ``batch`` (1-based, with an integer ``save_freq``) and the logs, e.g.
            ``"ckpt/w.{epoch:02d}-{val_loss:.2f}.weights.npz"``. Missing folders are created.
        monitor: metric used by ``save_best_only``.
        verbose: 1 prints a line when saving / not improving.
        save_best_only: save only when ``monitor`` improves on the best value so far.
        save_weights_only: call ``model.save_weights(path)`` instead of ``model.save(path)``.
            Paths ending in ``.weights.<ext>`` (e.g. ``.weights.npz``) always save weights only.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (the direction rule of :class:`MonitorCallback`:
            ``val_auc`` or ``val_accuracy`` maximised, ``val_loss`` minimised).
        save_freq: ``"epoch"`` or an integer number of batches.
        initial_value_threshold: best value to beat at the start (``save_best_only``).

    Unlike Keras, the file extension is not checked (Keras requires ``.keras``/``.weights.h5``):
    the saving functions decide what they accept.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__(monitor, mode, baseline=initial_value_threshold)
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0
        if self.save_freq != "epoch" and not (isinstance(self.save_freq, int) and self.save_freq > 0):
            raise ValueError(f"Unrecognized save_freq: {self.save_freq}. "
                             "Expected save_freq are 'epoch' or integer values")

    def _weights_only(self, filepath: str) -> bool:
        return bool(self.save_weights_only or _WEIGHTS_SUFFIX.search(filepath))

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(epoch=self._current_epoch, batch=batch, logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save_model(epoch=epoch, batch=None, logs=logs)

    def _should_save_on_batch(self, batch):
        if self.save_freq == "epoch":
            return False
        if batch <= self._last_batch_seen:  # New epoch.
            add_batches = batch + 1
        else:
            add_batches = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add_batches
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _save_model(self, epoch, batch, logs):
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, batch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise IOError("Please specify a non-directory filepath for ModelCheckpoint. "
                          f"Filepath used is an existing directory: {filepath}")
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if self._weights_only(filepath):
            self.model.save_weights(filepath)
        else:
            self.model.save(filepath)

    def _should_save_model(self, epoch, batch, logs, filepath):
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available. "
                          f"Available metrics are: {','.join(list(logs.keys()))}", stacklevel=3)
            return True
        current = to_py(current)
        if not isinstance(current, float):
            warnings.warn(f"Can save best model only when `monitor` is a scalar value. Received: {current}. "
                          "Falling back to `save_best_only=False`.", stacklevel=3)
            return True
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to {current:.5f}, "
                      f"saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}")
        return False

    def _get_file_path(self, epoch, batch, logs):
        try:
            # `filepath` may contain placeholders such as `{epoch:02d}`, `{batch:02d}` and
            # `{mape:.2f}`; a mismatch between logged metrics and placeholders fails here.
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". Reason: {e}. '
                           f"Available keys: epoch, {', '.join(logs)}") from None
