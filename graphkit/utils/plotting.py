"""``plot_history``: training curves from a ``History`` (matplotlib)."""
from __future__ import annotations

import math
from typing import Any, Sequence

__all__ = ["plot_history", "history_dict", "metric_names"]


def history_dict(history: Any) -> tuple[dict, list]:
    """``(dict of lists, epoch numbers starting at 1)`` from a History, a dict or ``model``."""
    epochs = None
    if hasattr(history, "history") and isinstance(getattr(history, "history"), dict):
        epochs = list(getattr(history, "epoch", []) or [])
        history = history.history
    elif hasattr(history, "history") and hasattr(history.history, "history"):  # a model
        return history_dict(history.history)
    if not isinstance(history, dict):
        raise TypeError("plot_history expects a History (the value fit returns), its `.history` dict, "
                        f"or a model that has been fit; got {type(history).__name__}.")
    n = max((len(v) for v in history.values()), default=0)
    if not epochs or len(epochs) != n:
        epochs = list(range(n))
    return dict(history), [int(e) + 1 for e in epochs]


def metric_names(keys: Sequence[str], metrics: Sequence[str] | str | None = None) -> list[str]:
    """Base metric names to plot (``val_`` stripped), ``loss`` first, in first-seen order."""
    if isinstance(metrics, str):
        metrics = [metrics]
    if metrics is not None:
        out = []
        for m in metrics:
            m = m[4:] if m.startswith("val_") else m
            if m not in keys and f"val_{m}" not in keys:
                raise ValueError(f"plot_history: no metric {m!r} in the history. Available: {', '.join(keys)}.")
            if m not in out:
                out.append(m)
        return out
    out = []
    for k in keys:
        base = k[4:] if k.startswith("val_") else k
        if base not in out:
            out.append(base)
    if "loss" in out:
        out.remove("loss")
        out.insert(0, "loss")
    return out


def draw_history(fig: Any, hist: dict, epochs: list, metrics: Sequence[str], title: str | None = None) -> Any:
    """(Re)draws one subplot per metric on ``fig``: train solid, ``val_`` dashed."""
    fig.clear()
    n = max(len(metrics), 1)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    for i, name in enumerate(metrics):
        ax = fig.add_subplot(rows, cols, i + 1)
        for key, style in ((name, "-"), (f"val_{name}", "--")):
            values = hist.get(key)
            if values:
                xs = epochs[: len(values)] if len(epochs) >= len(values) else list(range(1, len(values) + 1))
                ax.plot(xs, [float(v) for v in values], style, marker="o" if len(values) < 30 else None,
                        markersize=3, label=key)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
        if ax.lines:
            ax.legend(fontsize="small")
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_history(history: Any, metrics: Sequence[str] | str | None = None, figsize: tuple | None = None,
                 title: str | None = None) -> Any:
    """A matplotlib ``Figure`` of the training curves in ``history``.

    Args:
        history: the ``History`` that ``fit`` returns (or its ``.history`` dict, or a fitted model).
        metrics: base metric names to plot (e.g. ``["loss", "accuracy"]``); default all, loss first.
            Each gets one subplot with the training curve (solid, label ``name``) and the
            validation curve (dashed, label ``val_name``) when present.
        figsize: figure size in inches; default ``(4.5 * columns, 3.5 * rows)``.
        title: optional figure title.

    In a notebook the figure is closed in pyplot so it shows once, as the cell's value; in a
    script it stays open, so ``plt.show()`` displays it.
    """
    import matplotlib.pyplot as plt

    from .progress import in_notebook

    hist, epochs = history_dict(history)
    names = metric_names(list(hist), metrics)
    n = max(len(names), 1)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig = plt.figure(figsize=figsize or (4.5 * cols, 3.5 * rows))
    draw_history(fig, hist, epochs, names, title)
    if in_notebook():
        plt.close(fig)
    return fig
