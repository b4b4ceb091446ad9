"""``gk.live()``: an anywidget that draws every symbolic layer call as it happens.

The widget speaks the protocol of docs/frontend.md: ``hello`` with ``need_core`` gets the core
bundle, ``hello`` gets the whole graph, ``details`` gets one node's weight statistics; every
layer call or model creation sends one small ``delta``. The graph itself lives in a
:class:`~graphkit.viz.live_graph.LiveGraph`. The widget state's ``_initial`` is the graph as it
is when the state is asked for, so a view restored after a page reload starts complete.

Each display is two outputs: the widget, then its kernel-free picture (the graph JSON and a
static SVG in ``text/html``) that saved notebooks and exports keep; the picture is brought up
to date when a cell that changed the graph finishes. The front end hides whichever of the two
it cannot or need not show.

Several views may be open at once: each records from its creation until :meth:`LiveView.close`
(``gk.live(model)`` only what grows out of ``model``). Running again the notebook cell that
made a view closes it, so re-run cells do not stack recorders. A view subscribes to the
``layer_call`` (symbolic calls only) and ``model`` events of :mod:`graphkit.events` through
weak references; a failure while drawing is reported as a warning, never raised into the
model code.
"""
from __future__ import annotations

import html
import uuid
import warnings
import weakref
from typing import Any, Callable

import anywidget
import traitlets

from .. import events
from .assets import core_message, loader_source
from .dot import graph_to_dot
from .graph_data import GRAPH_MIME
from .live_graph import LiveGraph

__all__ = ["LiveView", "live"]

PICTURE_CLASS = "gk-live-picture"


class LiveView(anywidget.AnyWidget):
    """A live graph of the layer calls made on symbolic tensors (see :func:`live`).

    Python-side state, readable without a browser: ``nodes`` (node dicts), ``edges`` ((source,
    target) pairs of node ids), ``total_params``, ``title``, ``graph`` (the graph JSON) and ``dot``.
    """

    _esm = traitlets.Unicode().tag(sync=True)
    # The front end keys its per-widget graph by _uid, uses JupyterLab's copy of the core only
    # when it is _version, and starts from _initial (the graph at its seq) before any delta.
    _uid = traitlets.Unicode().tag(sync=True)
    _version = traitlets.Unicode().tag(sync=True)
    _initial = traitlets.Dict().tag(sync=True)
    _shown_in_cell = False  # gk.live() displayed it in the running cell

    def __init__(self, model: Any = None) -> None:
        from .. import __version__
        from ..models.model import Model
        self._subscriptions: list = []
        self._cell_hook: tuple | None = None  # (IPython's events, the post_run_cell callback)
        if model is not None and not isinstance(model, Model):
            raise TypeError(f"gk.live(model) shows a gk.Model; got {type(model).__name__}.")
        # get_state (called while the widget opens) reads these
        self._live = LiveGraph(model)
        self._live.take_delta()  # part of the initial graph
        self._seq = 0
        self._picture_stale = False
        uid = uuid.uuid4().hex
        super().__init__(_esm=loader_source(), _uid=uid, _version=__version__, _initial=self._current())
        self._picture_id = f"graphkit-live-{uid}"
        self.on_msg(self._on_message)
        self.comm.on_close(lambda _msg: self.close())  # the front end closed the widget: stop recording
        for kind, method in (("layer_call", self._on_call), ("model", self._on_model)):
            self._subscriptions.append((kind, events.subscribe(kind, _weak_callback(method))))
        weakref.finalize(self, _unsubscribe, self._subscriptions)

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
    def title(self) -> str:
        """The name of the last model drawn (``"live"`` before any): the view's title and the
        name of its exported files."""
        return self._live.title

    @property
    def graph(self) -> dict:
        """The whole graph JSON (docs/frontend.md)."""
        return self._live.document()

    @property
    def dot(self) -> str:
        """The graph as DOT text (groups as clusters, pending nodes dashed, errors red)."""
        return graph_to_dot(self._live.document())

    def clear(self) -> None:
        """Forget every node (a ``gk.live(model)`` view keeps its model) and redraw; recording goes on."""
        self._live.clear()
        self._send_graph()
        self._picture_stale = True

    def clear_errors(self) -> None:
        """Remove the red nodes of failed calls and failed models; recording goes on."""
        self._live.clear_errors()
        self._send_delta()

    def close(self) -> None:
        """Stop recording and close the widget (its state stays readable, its picture displayable)."""
        _unsubscribe(self._subscriptions)
        if self._cell_hook is not None:
            cell_events, callback = self._cell_hook
            cell_events.unregister("post_run_cell", callback)
            self._cell_hook = None
        super().close()

    def get_state(self, key: Any = None, drop_defaults: bool = False) -> dict:
        """ipywidgets' state, with ``_initial`` the graph now: a front end that opens the widget
        later (a reloaded page, a second tab) starts from the complete graph and its seq."""
        state = super().get_state(key, drop_defaults)
        if "_initial" in state:
            state["_initial"] = self._current()
        return state

    def __repr__(self) -> str:
        return f"<LiveView {self.title!r}: {len(self.nodes)} nodes, {self.total_params:,} params>"

    # ------------------------------------------------------------ notebooks
    def picture(self) -> dict:
        """The kernel-free output of the view's graph now: the graph JSON (drawn by graphkit's
        JupyterLab extension), ``text/html`` with a static SVG (graphviz's ``dot`` in the kernel;
        a line saying so without it) and ``text/plain``."""
        return self._picture(paired=False)

    def _picture(self, paired: bool) -> dict:
        """``paired``: displayed right after the widget's output, which the front end shows instead
        when it can (the graph JSON's ``widget`` and the HTML's ``data-gk-widget`` name it)."""
        graph = self._live.document()
        if paired:
            graph["widget"] = self._uid
        summary = f"{len(graph['nodes'])} nodes, {graph['total_params']:,} params"
        return {GRAPH_MIME: graph, "text/html": _picture_html(graph, summary, self._uid if paired else None),
                "text/plain": f"graphkit live view {graph['title']!r}: {summary}"}

    def _show_once_in_cell(self) -> None:
        """Display the view now; until the cell ends, displaying it again (``view`` as the cell's
        last line after ``view = gk.live()``) shows nothing more."""
        from IPython import get_ipython
        from IPython.display import display
        display(self)
        self._shown_in_cell = True
        cell_events = get_ipython().events

        def cell_done(*_args: Any) -> None:
            self._shown_in_cell = False
            cell_events.unregister("post_run_cell", cell_done)

        cell_events.register("post_run_cell", cell_done)

    def _ipython_display_(self) -> None:
        """Two outputs: the widget (while open), then its picture, kept current as cells finish."""
        if self._shown_in_cell:
            return
        from IPython.display import display
        paired = self.comm is not None
        if paired:
            data, metadata = self._repr_mimebundle_()
            # no text: where the widget cannot draw (exports, no ipywidgets) the picture stands in
            display({**data, "text/plain": ""}, metadata=metadata, raw=True)
            self._refresh_when_cells_finish()
        display(self._picture(paired), raw=True, display_id=self._picture_id)
        self._picture_stale = False

    def _refresh_when_cells_finish(self) -> None:
        """Once per view: after every cell that changed the graph, update its displayed pictures."""
        from IPython import get_ipython
        shell = get_ipython()
        if self._cell_hook is not None or shell is None:
            return
        view = weakref.ref(self)

        def refresh(*_args: Any) -> None:
            alive = view()
            if alive is None:
                shell.events.unregister("post_run_cell", refresh)
            elif alive._picture_stale:
                alive._refresh_picture()

        shell.events.register("post_run_cell", refresh)
        self._cell_hook = (shell.events, refresh)

    def _refresh_picture(self) -> None:
        """Updates the displayed pictures and the widget state's ``_initial``, so that a saved
        widget state (nbclient's, or JupyterLab's "save widget state") restores the graph now."""
        from IPython.display import update_display
        try:
            update_display(self._picture(paired=True), raw=True, display_id=self._picture_id)
            self.send_state("_initial")
        except Exception as exc:  # noqa: BLE001 - a picture must not break the notebook
            _warn_failed(exc)
        self._picture_stale = False

    # ------------------------------------------------------------ messaging
    def _current(self) -> dict:
        return {"seq": self._seq, "graph": self._live.document()}

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _send_delta(self) -> None:
        delta = self._live.take_delta()
        if delta is not None:
            self._picture_stale = True
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
        elif kind == "clear_errors":
            self.clear_errors()


def _weak_callback(method: Callable) -> Callable:
    """``method`` called through a weak reference: a subscription does not keep its view alive."""
    ref = weakref.WeakMethod(method)

    def call(*payload: Any) -> None:
        bound = ref()
        if bound is not None:
            bound(*payload)

    return call


def _unsubscribe(subscriptions: list) -> None:
    for kind, callback in subscriptions:
        events.unsubscribe(kind, callback)
    subscriptions.clear()


def _picture_html(graph: dict, summary: str, widget: str | None) -> str:
    """The graph's static SVG laid out by graphviz's ``dot`` as an image (or one line saying it is missing),
    in ``div.gk-live-picture``; ``data-gk-widget`` names the widget displayed just before it,
    which the front end shows instead while it is drawn."""
    from ..utils.graphviz import GraphvizError, picture_html
    title = html.escape(graph["title"])
    try:
        body = picture_html(graph_to_dot(graph), f"graph of live view {graph['title']!r}: {summary}")
    except GraphvizError as error:
        body = f"<p>(graphviz could not draw the graph: {html.escape(str(error))})</p>"
    pairing = f' data-gk-widget="{widget}"' if widget else ""
    caption = (f'<div style="font-size: 0.85em; opacity: 0.7">graphkit live view <b>{title}</b> as last drawn: '
               f"{summary} (the live, clickable view needs a running kernel and ipywidgets with graphkit's "
               "extension in the Jupyter server's environment)</div>")
    return f'<div class="{PICTURE_CLASS}"{pairing}>{body}{caption}</div>'


def _warn_failed(exc: Exception) -> None:
    warnings.warn(f"graphkit: the live view failed to draw ({type(exc).__name__}: {exc}); the layer call "
                  "itself is unaffected.", RuntimeWarning, stacklevel=4)


# ------------------------------------------------------------------ re-run cells
_views_of_cell: dict[str, tuple[str, list]] = {}  # notebook cell id -> (its run's message id, weakrefs of its views)


def _running_cell() -> tuple[str, str] | None:
    """(cell id, execution message id) of the notebook cell running now, when the front end
    says (JupyterLab and Notebook 7 put ``cellId`` in the execute request's metadata)."""
    from IPython import get_ipython
    parent = getattr(get_ipython(), "parent_header", None) or {}
    cell = (parent.get("metadata") or {}).get("cellId")
    run = (parent.get("header") or {}).get("msg_id")
    return (cell, run) if cell and run else None


def _replace_views_of_cell(view: LiveView) -> None:
    """Close the views an earlier run of the running cell made; remember ``view`` as this run's."""
    cell = _running_cell()
    if cell is None:
        return
    cell_id, run = cell
    last_run, views = _views_of_cell.get(cell_id, (None, []))
    if last_run != run:
        for ref in views:
            old = ref()
            if old is not None:
                old.close()
        views = []
    views.append(weakref.ref(view))
    _views_of_cell[cell_id] = (run, views)


def live(model: Any = None) -> LiveView:
    """A live view of the layer graph: from now on every layer call on symbolic tensors anywhere
    in the kernel adds to it (new nodes dashed until a ``gk.Model`` groups them; failed calls
    red with their error; ``view.clear_errors()`` removes those). ``model``: show that model and
    only what grows out of it (calls on its tensors, models made over them; nested models
    collapsed). The view's title (and exported file names) is the last model's name.

    Inside a notebook the view is displayed at once, once per cell: ``view = gk.live()`` shows
    it (a following ``view`` line in the same cell adds no second copy; in a later cell it
    shows the view again). Running the same cell again closes the views its last run made.
    """
    view = LiveView(model)
    _replace_views_of_cell(view)
    from ..utils.progress import in_notebook
    if in_notebook():
        view._show_once_in_cell()
    return view
