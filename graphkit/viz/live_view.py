"""``gk.live()``: an anywidget that draws every symbolic layer call as it happens.

The widget speaks the protocol of docs/frontend.md: ``hello`` with ``need_core`` gets the core
bundle, ``hello`` gets the whole graph, ``details`` gets one node's weight statistics; every
layer call or model creation sends one small ``delta``. The graph itself lives in a
:class:`~graphkit.viz.live_graph.LiveGraph`.

Several views may be open at once: each records every call from its creation until
:meth:`LiveView.close`, independently of the others. A view subscribes to the ``layer_call``
(symbolic calls only) and ``model`` events of :mod:`graphkit.events`; a failure while drawing is
reported as a warning, never raised into the model code.
"""
from __future__ import annotations

import uuid
import warnings
from typing import Any

import anywidget
import traitlets

from .. import events
from .assets import core_message, loader_source
from .dot import graph_to_dot
from .live_graph import LiveGraph

__all__ = ["LiveView", "live"]


class LiveView(anywidget.AnyWidget):
    """A live graph of the layer calls made on symbolic tensors (see :func:`live`).

    Python-side state, readable without a browser: ``nodes`` (node dicts), ``edges`` ((source,
    target) pairs of node ids), ``total_params``, ``graph`` (the graph JSON) and ``dot``.
    """

    _esm = traitlets.Unicode().tag(sync=True)
    # The front end keys its per-widget graph by _uid, uses JupyterLab's copy of the core only
    # when it is _version, and starts from _initial (the graph at seq 0) before any delta.
    _uid = traitlets.Unicode().tag(sync=True)
    _version = traitlets.Unicode().tag(sync=True)
    _initial = traitlets.Dict().tag(sync=True)
    _shown_in_cell = False  # gk.live() displayed it in the running cell

    def __init__(self, model: Any = None) -> None:
        from .. import __version__
        from ..models.model import Model
        if model is not None and not isinstance(model, Model):
            raise TypeError(f"gk.live(model) shows a gk.Model; got {type(model).__name__}.")
        live = LiveGraph()
        if model is not None:
            live.add_model(model)
            live.take_delta()  # part of the initial graph
        super().__init__(_esm=loader_source(), _uid=uuid.uuid4().hex, _version=__version__,
                         _initial={"seq": 0, "graph": live.document()})
        self._live = live
        self._seq = 0
        self.on_msg(self._on_message)
        events.subscribe("layer_call", self._on_call)
        events.subscribe("model", self._on_model)

    # ------------------------------------------------------------------ state
    @property
    def nodes(self) -> list[dict]:
        """The node dicts (id, name, class_name, status, output_shape, params, error, ...)."""
        return self._live.nodes

    @property
    def edges(self) -> list[tuple[str, str]]:
        """(source, target) node ids of every edge."""
        return self._live.edges

    @property
    def total_params(self) -> int:
        """Parameters of every layer drawn (each shared layer once; failed calls add none)."""
        return self._live.total_params

    @property
    def graph(self) -> dict:
        """The whole graph JSON (docs/frontend.md)."""
        return self._live.document()

    @property
    def dot(self) -> str:
        """The graph as DOT text (groups as clusters, pending nodes dashed, errors red)."""
        return graph_to_dot(self._live.document())

    def clear(self) -> None:
        """Forget every node and redraw the empty graph; recording goes on."""
        self._live.clear()
        self._send_graph()

    def close(self) -> None:
        """Stop recording and close the widget (its state stays readable)."""
        events.unsubscribe("layer_call", self._on_call)
        events.unsubscribe("model", self._on_model)
        super().close()

    # ------------------------------------------------------------ notebooks
    def _show_once_in_cell(self) -> None:
        """Display the view now; until the cell ends, displaying it again (``view`` as the cell's
        last line after ``view = gk.live()``) shows nothing more."""
        from IPython import get_ipython
        from IPython.display import display
        display(self)
        self._shown_in_cell = True
        events = get_ipython().events

        def cell_done(*_args: Any) -> None:
            self._shown_in_cell = False
            events.unregister("post_run_cell", cell_done)

        events.register("post_run_cell", cell_done)

    def _ipython_display_(self) -> None:
        if self._shown_in_cell:
            return
        from IPython.display import display
        data, metadata = self._repr_mimebundle_()
        display(data, metadata=metadata, raw=True)

    # ------------------------------------------------------------ messaging
    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _send_delta(self) -> None:
        delta = self._live.take_delta()
        if delta is not None:
            self.send({"type": "delta", "seq": self._next_seq(), **delta})

    def _send_graph(self) -> None:
        self._live.take_delta()  # the whole graph includes them
        self.send({"type": "graph", "seq": self._next_seq(), "graph": self._live.document()})

    def _on_call(self, layer, args, _outputs, node, error, _start_ns, _end_ns) -> None:
        if node is None and error is None:
            return  # an eager call (on data): not part of the graph
        try:
            if error is None:
                self._live.layer_called(layer, node)
            else:
                self._live.layer_failed(layer, error, args)
            self._send_delta()
        except Exception as exc:  # noqa: BLE001 - drawing must not break the model code
            _warn_failed(exc)

    def _on_model(self, model, error) -> None:
        try:
            if error is None:
                self._live.add_model(model)
            else:
                self._live.model_failed(model, error)
            self._send_delta()
        except Exception as exc:  # noqa: BLE001 - drawing must not break the model code
            _warn_failed(exc)

    def _on_message(self, _widget, content: Any, _buffers) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "hello" and content.get("need_core"):
            self.send(core_message())
        elif kind == "hello":
            self._send_graph()
        elif kind == "details":
            item_id = content.get("id")
            self.send({"type": "details", "id": item_id, "weights": self._live.details(str(item_id))})


def _warn_failed(exc: Exception) -> None:
    warnings.warn(f"graphkit: the live view failed to draw ({type(exc).__name__}: {exc}); the layer call "
                  "itself is unaffected.", RuntimeWarning, stacklevel=4)


def live(model: Any = None) -> LiveView:
    """A live view of the layer graph: from now on every layer call on symbolic tensors anywhere
    in the kernel adds to it (new nodes dashed until a ``gk.Model`` groups them; failed calls
    red with their error). ``model``: start from an existing model (nested models collapsed).

    Inside a notebook the view is displayed at once, once per cell: ``view = gk.live()`` shows
    it (a following ``view`` line in the same cell adds no second copy; in a later cell it
    shows the view again).
    """
    view = LiveView(model)
    from ..utils.progress import in_notebook
    if in_notebook():
        view._show_once_in_cell()
    return view
