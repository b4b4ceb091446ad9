"""``gk.board.show(logdir)``: the board inline in a notebook.

The display carries the embedded payload as ``application/vnd.graphkit.board+json`` (drawn by
graphkit's JupyterLab extension, also from a saved notebook with no kernel), a static HTML
snapshot for other viewers (one SVG chart per scalar tag, a line per run, with each run's last,
minimum and maximum) and a plain-text line.
"""
from __future__ import annotations

import html
import os

import numpy

from .logdir import LogDir
from .payload import build_payload, extreme_indices

BOARD_MIME = "application/vnd.graphkit.board+json"
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
CHART_WIDTH, CHART_HEIGHT = 280, 90
SNAPSHOT_BUCKETS = 200          # polyline points per run: each bucket's minimum and maximum

__all__ = ["BOARD_MIME", "BoardDisplay", "show"]


class BoardDisplay:
    """What :func:`show` returns: displays as the board (see the module docstring)."""

    def __init__(self, payload: dict, snapshot: str, text: str) -> None:
        self.payload = payload
        self.snapshot = snapshot
        self.text = text

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {BOARD_MIME: self.payload, "text/html": self.snapshot, "text/plain": self.text}

    def __repr__(self) -> str:
        return self.text


def show(logdir: str | os.PathLike) -> BoardDisplay:
    """The board of ``logdir`` as it is now, for a notebook cell's output."""
    board = LogDir(logdir)
    board.refresh()
    return BoardDisplay(build_payload(board, embedded=True), _snapshot(board), _describe(board))


def _describe(board: LogDir) -> str:
    tags = {tag for run in board.runs.values() for tag in run.scalars()}
    return (f"graphkit board of {board.path}: {len(board.runs)} run(s), {len(tags)} scalar tag(s) "
            f"(interactive in JupyterLab with graphkit's extension, or `graphkit board --logdir {board.path}`)")


def _snapshot(board: LogDir) -> str:
    runs = sorted(board.runs.items())
    by_tag: dict[str, list[tuple[int, str, object]]] = {}
    for index, (name, run) in enumerate(runs):
        for tag, series in run.scalars().items():
            by_tag.setdefault(tag, []).append((index, name, series))
    charts = "".join(_chart(tag, lines) for tag, lines in sorted(by_tag.items()))
    note = ("Static snapshot. The interactive board needs JupyterLab with graphkit's extension, or "
            f"<code>graphkit board --logdir {html.escape(board.path)}</code>.")
    body = charts or "<p>No scalars recorded yet.</p>"
    return (f"<div class=\"graphkit-board-snapshot\" style=\"font:12px sans-serif\">"
            f"<p><b>{html.escape(board.title)}</b>: {len(runs)} run(s)</p>"
            f"<div style=\"display:flex;flex-wrap:wrap;gap:12px\">{body}</div><p>{note}</p></div>")


def _chart(tag: str, lines: list) -> str:
    finite = [(index, name, series) for index, name, series in lines if numpy.isfinite(series.value).any()]
    if not finite:
        return ""
    steps = numpy.concatenate([series.step for _, _, series in finite]).astype(numpy.float64)
    values = numpy.concatenate([series.value[numpy.isfinite(series.value)] for _, _, series in finite])
    x_low, x_span = steps.min(), max(float(steps.max() - steps.min()), 1.0)
    y_low, y_span = values.min(), max(float(values.max() - values.min()), 1e-12)
    polylines, legend = [], []
    for index, name, series in finite:
        keep = extreme_indices(series.value, SNAPSHOT_BUCKETS) if series.value.size > 2 * SNAPSHOT_BUCKETS \
            else numpy.arange(series.value.size)
        x = (series.step[keep] - x_low) / x_span * (CHART_WIDTH - 4) + 2
        y = CHART_HEIGHT - 2 - (series.value[keep] - y_low) / y_span * (CHART_HEIGHT - 4)
        ok = numpy.isfinite(y)
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x[ok].tolist(), y[ok].tolist()))
        color = COLORS[index % len(COLORS)]
        polylines.append(f"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.2\" points=\"{points}\"/>")
        shown = series.value[numpy.isfinite(series.value)]
        legend.append(f"<div><span style=\"color:{color}\">■</span> {html.escape(name)}: last {series.value[-1]:.4g}, "
                      f"min {shown.min():.4g}, max {shown.max():.4g}</div>")
    return (f"<figure style=\"margin:0\"><figcaption><b>{html.escape(tag)}</b></figcaption>"
            f"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{CHART_WIDTH}\" height=\"{CHART_HEIGHT}\" "
            f"viewBox=\"0 0 {CHART_WIDTH} {CHART_HEIGHT}\" style=\"border:1px solid #ddd\">{''.join(polylines)}</svg>"
            f"{''.join(legend)}</figure>")
