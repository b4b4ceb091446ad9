"""``ProgbarLogger``: Keras-style progress output for ``fit``/``evaluate``/``predict``."""
from __future__ import annotations

import sys

from ..utils import progress as _progress
from .callback import Callback


class ProgbarLogger(Callback):
    """Callback that prints metrics to stdout (``keras.callbacks.ProgbarLogger``).

    ``verbose`` comes from the trainer's params: 0 silent, 1 a progress bar (``"auto"`` means 1),
    2 one line per epoch. In a Jupyter kernel, ``verbose=1`` animates an ipywidgets bar with live
    metrics (:class:`graphkit.utils.progress.ProgressWidget`) instead of the ``\r`` text bar and
    prints the same per-epoch text as Keras; when the run ends the bar is removed (``evaluate``
    and ``predict`` leave their one line in its place), so saved and exported notebooks keep
    that text alone. ``verbose=2`` stays text. ``display`` ("auto",
    "text" or "widget") overrides that choice (a graphkit extension; Keras's ProgbarLogger
    takes no arguments).
    """

    def __init__(self, display: str = "auto") -> None:
        super().__init__()
        if display not in ("auto", "text", "widget"):
            raise ValueError(f"ProgbarLogger: display must be 'auto', 'text' or 'widget', got {display!r}.")
        self.display = display
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False
        self._widget = None  # the one notebook widget reused across the epochs of a fit

    def set_params(self, params: dict) -> None:
        super().set_params(params)
        verbose = params.get("verbose", 1)
        if verbose == "auto":
            verbose = 1
        self.verbose = int(verbose or 0)
        self.epochs = params.get("epochs", 1) or 1
        self.target = params.get("steps")

    def _use_widget(self) -> bool:
        if self.verbose != 1 or self.display == "text":
            return False
        return self.display == "widget" or _progress.in_notebook()

    def on_train_begin(self, logs=None):
        # When this logger is called inside `fit`, validation is silent.
        self._called_in_fit = True
        self._close_widget()

    def on_train_end(self, logs=None):
        self._called_in_fit = False
        self._close_widget()

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset_progbar()
            self._maybe_init_progbar()

    def on_predict_begin(self, logs=None):
        self._reset_progbar()
        self._maybe_init_progbar()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset_progbar()
        description = f"Epoch {epoch + 1}/{self.epochs}"
        if self._use_widget():
            if self._widget is None:
                self._widget = _progress.ProgressWidget(self.target, description=description)
            else:
                self._widget.reset(self.target, description=description)
            self.progbar = self._widget
        else:
            self._maybe_init_progbar()
        if self.verbose and self.epochs > 1:
            print(description)
            sys.stdout.flush()

    def reads_batch_logs(self, hook: str) -> bool:
        """Whether the batch-end ``hook`` reads its logs: only the ``verbose=1`` bar shows them, and
        not those of fit's validation or of predict. When no callback reads them, CallbackList
        passes them on without copying them to the host."""
        if self.verbose != 1 or hook == "on_predict_batch_end":
            return False
        return hook != "on_test_batch_end" or not self._called_in_fit

    def on_train_batch_end(self, batch, logs=None):
        self._update_progbar(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update_progbar(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        # Don't pass prediction results.
        self._update_progbar(batch, None)

    def on_epoch_end(self, epoch, logs=None):
        self._finalize_progbar(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize_progbar(logs)
            self._close_widget()

    def on_predict_end(self, logs=None):
        self._finalize_progbar(logs)
        self._close_widget()

    def _reset_progbar(self):
        self.seen = 0
        self.progbar = None

    def _maybe_init_progbar(self):
        if self.progbar is None:
            if self._use_widget():
                self.progbar = self._widget = _progress.ProgressWidget(self.target, history=False)
            else:
                self.progbar = _progress.Progbar(target=self.target, verbose=self.verbose, unit_name="step")

    def _update_progbar(self, batch, logs=None):
        logs = logs or {}
        self._maybe_init_progbar()
        self.seen = batch + 1  # One-indexed.
        if self.verbose == 1:
            self.progbar.update(self.seen, list(logs.items()), finalize=False)

    def _finalize_progbar(self, logs):
        logs = logs or {}
        self._maybe_init_progbar()
        if self.target is None:
            self.target = self.seen
            self.progbar.target = self.target
        if self.verbose:
            self.progbar.update(self.target, list(logs.items()), finalize=True)

    def _close_widget(self):
        if self._widget is not None:
            self._widget.close()
            self._widget = None
