"""``gk.viz``: layer graphs as data. ``model_graph`` (the graph JSON of a model),
``graph_to_dot`` (its DOT text) and ``live`` (the live builder widget, ``gk.live``).

The front-end contract (graph JSON, widget messages, DOM) is docs/frontend.md.
"""
from __future__ import annotations

from typing import Any

from .dot import graph_to_dot
from .graph_data import GRAPH_MIME, model_graph

__all__ = ["GRAPH_MIME", "LiveView", "graph_to_dot", "live", "model_graph"]


def live(model: Any = None):
    """A :class:`LiveView` of every symbolic layer call from now on (see :func:`graphkit.viz.live_view.live`)."""
    from .live_view import live as _live
    return _live(model)


def __getattr__(name: str) -> Any:
    if name == "LiveView":  # imported on first use: anywidget loads ipywidgets
        from .live_view import LiveView
        return LiveView
    raise AttributeError(f"module 'graphkit.viz' has no attribute {name!r}")
