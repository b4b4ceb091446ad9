"""Progress display: Keras's text ``Progbar`` and a notebook widget bar with the same interface.

``Progbar(target, width=20, verbose=1, interval=0.05, stateful_metrics=None, unit_name="step")``
mirrors ``keras.utils.Progbar``. :class:`ProgressWidget` is an ipywidgets ``IntProgress`` plus an
``HTML`` label of live metrics that prints Keras's finished line to stdout, so saved and exported
notebooks keep the text; its Python state (``value``, ``max``, ``metrics``, ``text``, ``lines``)
can be read without a browser. ``ProgbarLogger`` picks the widget for ``verbose=1`` inside a
Jupyter kernel (:func:`in_notebook`).
"""
from __future__ import annotations

import html
import math
import os
import sys
import time
from typing import Any, Iterable

__all__ = ["Progbar", "ProgressWidget", "in_notebook", "format_metrics", "format_time"]


def in_notebook() -> bool:
    """True inside an IPython kernel (Jupyter, VS Code, nbclient): ``get_ipython()`` has a ``kernel``.

    ``GRAPHKIT_PROGRESS=text`` (or ``widget``) forces the choice.
    """
    forced = os.environ.get("GRAPHKIT_PROGRESS", "").strip().lower()
    if forced in ("text", "terminal"):
        return False
    if forced in ("widget", "notebook"):
        return True
    ipython_mod = sys.modules.get("IPython")
    if ipython_mod is None:
        return False
    try:
        shell = ipython_mod.get_ipython()
    except Exception:
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def format_time(time_per_unit: float, unit_name: str = "step") -> str:
    """Keras's time-per-step text: `` 3ms/step``, `` 2s/step``, `` 45us/step``."""
    if time_per_unit >= 1 or time_per_unit == 0:
        return f" {time_per_unit:.0f}s/{unit_name}"
    if time_per_unit >= 1e-3:
        return f" {time_per_unit * 1e3:.0f}ms/{unit_name}"
    return f" {time_per_unit * 1e6:.0f}us/{unit_name}"


def format_value(value: Any) -> str:
    """``.4f`` for numbers above 1e-3 in magnitude, ``.4e`` below (as Keras), ``str`` otherwise."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{v:.4f}" if abs(v) > 1e-3 else f"{v:.4e}"


def format_metrics(metrics: dict) -> str:
    """`` - accuracy: 0.5000 - loss: 1.2000`` for a dict of metrics."""
    return "".join(" " + item for item in _metric_items(metrics))


def _metric_items(metrics: dict) -> list[str]:
    return [f"- {k}: {format_value(v)}" for k, v in metrics.items()]


def _colour(stream: Any) -> bool:
    """ANSI colours for a terminal or a Jupyter kernel (which renders them), not for files/pipes."""
    if "ipykernel" in sys.modules:
        return True
    try:
        return bool(stream.isatty())
    except Exception:
        return False


def _format_eta(eta: float) -> str:
    if eta > 3600:
        return "%d:%02d:%02d" % (eta // 3600, (eta % 3600) // 60, eta % 60)
    if eta > 60:
        return "%d:%02d" % (eta // 60, eta % 60)
    return "%ds" % eta


class _ProgressState:
    """Timing and metric book-keeping shared by the text bar and the widget."""

    def __init__(self, target: int | None, stateful_metrics: Iterable[str] | None = None,
                 unit_name: str = "step", stateless_metrics: Iterable[str] | None = None) -> None:
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError("Only one of `stateful_metrics` and `stateless_metrics` may be provided.")
        self.target = target
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics) if stateful_metrics is not None else None
        self.stateless_metrics = set(stateless_metrics) if stateless_metrics is not None else None
        if self.stateful_metrics is None and self.stateless_metrics is None:
            self.stateful_metrics = set()
        self._values: dict = {}
        self._values_order: list = []
        self._seen_so_far = 0
        self._start = time.time()
        self._last_update = 0.0
        self._time_after_first_step: float | None = None

    def _record_update(self, current: int, values: Iterable | dict | None,
                       finalize: bool | None) -> tuple[bool, float, float]:
        """Records an ``update`` (``finalize`` defaults to reaching the target); returns
        ``(finalize, now, time_per_unit)``."""
        if finalize is None:
            finalize = False if self.target is None else current >= self.target
        self._record(current, values, finalize)
        now = time.time()
        return finalize, now, self._estimate_step_duration(current, now)

    def _record(self, current: int, values: Iterable | dict | None, finalize: bool) -> None:
        if isinstance(values, dict):
            values = values.items()
        for k, v in values or []:
            if k not in self._values_order:
                self._values_order.append(k)
            if self.stateful_metrics is not None:
                stateless = k not in self.stateful_metrics
            else:
                stateless = k in self.stateless_metrics
            if not stateless or finalize or not _is_number(v):
                # Keras 3 trainers log running means, and the final logs are exact: show as given.
                self._values[k] = [v, 1]
            else:
                base = max(current - self._seen_so_far, 1)
                if k not in self._values or not _is_number(self._values[k][0]):
                    self._values[k] = [v * base, base]
                else:
                    self._values[k][0] += v * base
                    self._values[k][1] += base
        self._seen_so_far = current

    @property
    def metrics(self) -> dict:
        """The displayed metric values (mean over the steps seen, or the last value given)."""
        out = {}
        for k in self._values_order:
            total, count = self._values[k]
            out[k] = total / max(1, count) if _is_number(total) else total
        return out

    def _bar_line(self, current: int, target: int | None, t: str, time_per_unit: float, width: int,
                  colour: bool) -> tuple[str, int]:
        """Keras's line ``4/4 ━━━━━━━━━━━━━━━━━━━━ 0s 3ms/step - loss: 0.5000`` (``t`` is the ETA or
        the elapsed time; ANSI bold/green with ``colour``) and its visible width."""
        bold, reset, green, grey = ("\x1b[1m", "\x1b[0m", "\x1b[32m", "\x1b[37m") if colour else ("",) * 4
        if target is not None:
            numdigits = int(math.log10(max(target, 1))) + 1
            count = ("%" + str(numdigits) + "d/%d") % (current, target)
            done = int(width * min(float(current) / max(target, 1), 1.0))
            # without colours the part still to do is drawn thin ("─") so progress stays visible
            todo = "━" if colour else "─"
            plain_bar = f"{count} " + "━" * width
            bar = f"{bold}{count}{reset} "
            if done > 0:
                bar += f"{green}{'━' * done}{reset}"
            bar += f"{grey}{todo * (width - done)}{reset}"
        else:
            plain_bar = bar = "%7d/Unknown" % current
        rest = format_time(time_per_unit, self.unit_name) + format_metrics(self.metrics)
        return bar + f" {bold}{t}{reset}" + rest, len(plain_bar) + 1 + len(t) + len(rest)

    def _estimate_step_duration(self, current: int, now: float) -> float:
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            per = (now - self._time_after_first_step) / (current - 1)
        else:
            per = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per


def _is_number(v: Any) -> bool:
    try:
        float(v)
        return not isinstance(v, (str, bytes))
    except (TypeError, ValueError):
        return False


class Progbar(_ProgressState):
    """Displays a progress bar (``keras.utils.Progbar``).

    Args:
        target: total number of steps expected, ``None`` if unknown.
        width: progress bar width on screen.
        verbose: 0 (silent), 1 (bar redrawn with ``\\r``), 2 (one line when finished).
        interval: minimum seconds between updates.
        stateful_metrics: names of metrics shown as given instead of averaged over steps.
        stateless_metrics: alternatively, the names that *are* averaged (all others as given).
        unit_name: display name for the step counts (usually "step" or "sample").
        file: the stream written to (default ``sys.stdout`` at each write).

    Colours (ANSI bold/green, as Keras) are written only to a terminal or inside a Jupyter kernel;
    elsewhere the part still to do is drawn ``─`` instead of a grey ``━``.
    """

    def __init__(self, target: int | None, width: int = 20, verbose: int = 1, interval: float = 0.05,
                 stateful_metrics: Iterable[str] | None = None, stateless_metrics: Iterable[str] | None = None,
                 unit_name: str = "step", file: Any = None) -> None:
        super().__init__(target, stateful_metrics, unit_name, stateless_metrics)
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.file = file
        self._prev_total_width = 0

    def _stream(self):
        return self.file if self.file is not None else sys.stdout

    def _write(self, message: str) -> None:
        stream = self._stream()
        stream.write(message)
        try:
            stream.flush()
        except Exception:  # pragma: no cover
            pass

    def _colour(self) -> bool:
        return _colour(self._stream())

    def update(self, current: int, values: Iterable | dict | None = None, finalize: bool | None = None) -> None:
        """Updates the progress bar to step ``current`` with ``values``: ``[(name, value), ...]`` or a dict."""
        finalize, now, time_per_unit = self._record_update(current, values, finalize)
        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            self._write(self._line_v1(current, now, time_per_unit, finalize))
        elif self.verbose == 2 and finalize:
            self._write(self._line_v2(current, now, time_per_unit) + "\n")
        self._last_update = now

    def add(self, n: int, values: Iterable | dict | None = None) -> None:
        self.update(self._seen_so_far + n, values)

    def _line_v1(self, current: int, now: float, time_per_unit: float, finalize: bool) -> str:
        if self.target is not None and not finalize:
            t = _format_eta(time_per_unit * (self.target - current))
        else:
            t = f"{now - self._start:.0f}s"
        line, visible = self._bar_line(current, self.target, t, time_per_unit, self.width, self._colour())
        message = "\r" + line
        if self._prev_total_width > visible:
            message += " " * (self._prev_total_width - visible)
        if finalize:
            message += "\n"
        self._prev_total_width = visible
        return message

    def _line_v2(self, current: int, now: float, time_per_unit: float) -> str:
        target = self.target if self.target is not None else current
        numdigits = int(math.log10(max(target, 1))) + 1
        count = ("%" + str(numdigits) + "d/%d") % (current, target)
        return (f"{count} - {now - self._start:.0f}s -" + format_time(time_per_unit, self.unit_name)
                + format_metrics(self.metrics))


WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"


class ProgressWidget(_ProgressState):
    """A notebook progress bar: ipywidgets ``IntProgress`` + an ``HTML`` label with live metrics.

    Same ``update(current, values, finalize)`` interface as :class:`Progbar`. The bar is displayed
    with an empty ``text/plain`` (never the widget's repr) and :meth:`close` replaces it with
    Keras's text, so saved and exported notebooks and front ends that cannot draw widgets keep
    the text and no widget. With ``history`` (a fit's epochs) each finished cycle's line is
    printed to stdout as it ends and the bar leaves empty text; without it (an evaluation, a
    prediction) the finished line takes the bar's place. Readable state: ``value``/``max`` (the
    bar), ``metrics`` (dict shown), ``text`` (the label as plain text), ``lines`` (the finished
    lines, without colours) and ``widget`` (the ``HBox`` displayed). One widget can be reused
    across epochs with :meth:`reset`.
    """

    def __init__(self, target: int | None = None, description: str = "", unit_name: str = "step",
                 interval: float = 0.05, display: bool = True, file: Any = None, history: bool = True) -> None:
        import ipywidgets as widgets

        super().__init__(target, None, unit_name)
        self.interval = interval
        self.description = description
        self.file = file
        self.history = history
        self.lines: list[str] = []
        self._unprinted: list[str] = []  # finished lines (coloured) that close() shows in the bar's place
        self.bar = widgets.IntProgress(value=0, min=0, max=max(int(target or 1), 1),
                                       description=description, bar_style="info",
                                       layout=widgets.Layout(width="40%", flex="0 0 auto"),
                                       style={"description_width": "initial"})
        self.label = widgets.HTML(value="")
        self.widget = widgets.HBox([self.bar, self.label], layout=widgets.Layout(align_items="center"))
        self.text = ""
        self._handle = None
        self._shell = None  # the IPython shell whose cell end closes the bar
        if display:
            self.show()

    def show(self) -> None:
        """Displays the bar in the current cell output (once), with an empty ``text/plain``. The
        bar is closed when the cell ends at the latest, so an interrupted run leaves text too."""
        if self._handle is not None:
            return
        ipython_mod = sys.modules.get("IPython")
        shell = ipython_mod.get_ipython() if ipython_mod is not None else None
        if shell is None:
            return  # no IPython shell: nothing to display into (state stays readable)
        from IPython.display import display as ipy_display

        view = {"version_major": 2, "version_minor": 0, "model_id": self.widget.model_id}
        self._handle = ipy_display({"text/plain": "", WIDGET_VIEW_MIME: view}, raw=True, display_id=True)
        self._shell = shell
        shell.events.register("post_run_cell", self._close_at_cell_end)

    def _close_at_cell_end(self, *_args: Any) -> None:
        self.close()

    def close(self) -> None:
        """Replaces the bar with the finished lines not printed (empty text with ``history``) and
        closes its widgets."""
        if self._shell is not None:
            self._shell.events.unregister("post_run_cell", self._close_at_cell_end)
            self._shell = None
        if self._handle is not None:
            self._handle.update({"text/plain": "\n".join(self._unprinted)}, raw=True)
            self._handle = None
            self._unprinted = []
        for widget in (self.widget, self.bar, self.label):
            widget.close()

    @property
    def value(self) -> int:
        return int(self.bar.value)

    @property
    def max(self) -> int:
        return int(self.bar.max)

    def reset(self, target: int | None = None, description: str | None = None) -> None:
        """Starts a new cycle (a new epoch): bar back to 0, metrics cleared, finished lines kept."""
        _ProgressState.__init__(self, target, None, self.unit_name)
        if description is not None:
            self.description = description
            self.bar.description = description
        self.bar.max = max(int(target or 1), 1)
        self.bar.value = 0
        self.bar.bar_style = "info"
        self.text = ""
        self.label.value = ""

    def update(self, current: int, values: Iterable | dict | None = None, finalize: bool | None = None) -> None:
        finalize, now, time_per_unit = self._record_update(current, values, finalize)
        if now - self._last_update < self.interval and not finalize:
            return
        self._last_update = now
        if self.target is None:
            # unknown length: keep the bar moving, grow its max
            self.bar.max = max(self.bar.max, current + 1) if not finalize else max(current, 1)
        target = self.target if self.target is not None else (current if finalize else None)
        self.bar.value = min(int(current), self.bar.max)
        count = f"{current}/{target}" if target is not None else f"{current}/Unknown"
        if target is not None and not finalize:
            t = _format_eta(time_per_unit * (target - current))
        else:
            t = f"{now - self._start:.0f}s"
        head = f"{count} {t}" + format_time(time_per_unit, self.unit_name)
        items = _metric_items(self.metrics)
        self.text = " ".join([head, *items])
        # each piece unbreakable: a narrow output wraps between metrics, never inside one
        self.label.value = "<code>" + " ".join(
            f"<span style='white-space:nowrap'>{html.escape(piece)}</span>" for piece in [head, *items]) + "</code>"
        if finalize:
            self.bar.value = self.bar.max
            self.bar.bar_style = "success"
            self.lines.append(self._bar_line(current, target, t, time_per_unit, 20, False)[0])
            stream = self.file if self.file is not None else sys.stdout
            line = self._bar_line(current, target, t, time_per_unit, 20, _colour(stream))[0]
            if self.history or self._handle is None:
                stream.write(line + "\n")
                stream.flush()
            else:
                self._unprinted.append(line)
