"""``LivePlot``: loss/metric curves redrawn while ``fit`` runs (matplotlib)."""
from __future__ import annotations

import os
from typing import Sequence

from ..utils import progress as _progress
from ..utils.plotting import draw_history, metric_names
from .callback import Callback
from .callback_list import to_py


class LivePlot(Callback):
    """Draws training curves (train solid, ``val_`` dashed) as training runs. A graphkit callback.

    Args:
        metrics: base metric names to draw (default: every metric logged, loss first).
        every: redraw every ``every`` epochs (and always at the end of training).
        to_file: optional image path (``.png``/``.svg``/...) rewritten at each redraw; this is the
            way to see progress from a script. Without it, a script draws nothing.
        figsize: figure size in inches.

    In a notebook one figure is shown and updated in place through an IPython display handle.
    ``figure`` holds the matplotlib Figure, ``history`` the logged values, ``draws`` the number
    of redraws.
    """

    def __init__(self, metrics: Sequence[str] | str | None = None, every: int = 1, to_file: str | None = None,
                 figsize: tuple | None = None, notebook: bool | None = None):
        super().__init__()
        if int(every) < 1:
            raise ValueError(f"LivePlot: every must be >= 1, got {every}.")
        self.metrics = [metrics] if isinstance(metrics, str) else (list(metrics) if metrics else None)
        self.every = int(every)
        self.to_file = os.fspath(to_file) if to_file is not None else None
        self.figsize = figsize
        self.notebook = notebook
        self.figure = None
        self.history: dict = {}
        self.epochs: list = []
        self.draws = 0
        self._handle = None
        self._dirty = False

    def _in_notebook(self) -> bool:
        return _progress.in_notebook() if self.notebook is None else bool(self.notebook)

    def on_train_begin(self, logs=None):
        self.history = {}
        self.epochs = []
        self._handle = None
        self._dirty = False

    def on_epoch_end(self, epoch, logs=None):
        for k, v in (logs or {}).items():
            v = to_py(v)
            if isinstance(v, float):
                self.history.setdefault(k, []).append(v)
        self.epochs.append(epoch + 1)
        self._dirty = True
        if len(self.epochs) % self.every == 0:
            self.draw()

    def on_train_end(self, logs=None):
        if self._dirty:
            self.draw()

    def draw(self) -> None:
        """Redraws the figure now (and shows / saves it)."""
        self._dirty = False
        notebook = self._in_notebook()
        if not notebook and self.to_file is None:
            return
        if not self.history:
            return
        names = metric_names(list(self.history), self.metrics) if self.metrics else metric_names(list(self.history))
        import math

        cols = min(max(len(names), 1), 3)
        rows = math.ceil(max(len(names), 1) / cols)
        if self.figure is None:
            if notebook:
                import matplotlib.pyplot as plt

                self.figure = plt.figure(figsize=self.figsize or (4.5 * cols, 3.5 * rows))
                plt.close(self.figure)  # shown through the display handle only
            else:
                from matplotlib.figure import Figure

                self.figure = Figure(figsize=self.figsize or (4.5 * cols, 3.5 * rows))
        draw_history(self.figure, self.history, self.epochs, names)
        self.draws += 1
        if self.to_file is not None:
            folder = os.path.dirname(self.to_file)
            if folder:
                os.makedirs(folder, exist_ok=True)
            self.figure.savefig(self.to_file)
        if notebook:
            try:
                from IPython.display import display
            except ImportError:  # pragma: no cover
                return
            if self._handle is None:
                self._handle = display(self.figure, display_id=True)
            else:
                self._handle.update(self.figure)
