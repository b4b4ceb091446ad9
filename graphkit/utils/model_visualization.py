"""``model_to_dot`` and ``plot_model``: Keras 3's model pictures as DOT text, in pure Python.

The DOT follows Keras 3's ``keras.utils.model_to_dot`` look: one plaintext node per layer whose
HTML-like label is a table with a black header ``<b>name</b> (ClassName)`` and white cells for
the activation, ``Input shape``/``Output shape``, ``Output dtype``, ``Params`` and a green
``Trainable`` / red ``Non-trainable`` cell; ``splines=ortho``; edges of width 2.

Differences from Keras, on purpose:

* node ids are layer names (``"dense"``; ``"encoder/conv2d"`` inside a nested model), not
  ``id(layer)``, so the output is the same on every run (snapshot tests);
* with ``expand_nested`` each nested Functional/Sequential model is a ``subgraph
  cluster_<name>``, and edges go into the inner ``InputLayer`` of the input they feed and out of
  the inner layer that makes the output they carry (Keras joins the first and last inner node,
  which is wrong for multi-input/multi-output inner models);
* a layer called several times inside one model (a shared layer) is one node with one edge per
  (producer, consumer) pair; its shapes list each call's shapes when they differ;
* ``show_shapes="edges"`` puts the tensor shapes on the edges instead of in the nodes
  (``"both"`` does both); ``show_params`` adds a ``Params: 50,240`` cell;
* ``concentrate`` is not set (graphviz's edge merging misbehaves with clusters);
* a ``gk.function`` ConcreteFunction (or its ``Graph``) is drawn too: inputs, captured
  variables, constants, ops and outputs as nodes, each labelled with its output shape.
"""
from __future__ import annotations

import html
import os
from typing import Any

from ..viz.dot import DotText, quote_id as _quote
from ..viz.nodes import layer_node, param_count, param_counts
from ..viz.walk import ModelWalker, activation_name, call_inputs, call_outputs, format_shape, shapes_text
from . import graphviz as _gv

__all__ = ["model_to_dot", "plot_model", "DotGraph", "ModelPlot"]


# --------------------------------------------------------------------------- DOT pieces
def _h(text: Any) -> str:
    return html.escape(str(text), quote=True)


class _Options:
    __slots__ = ("show_node_shapes", "show_edge_shapes", "show_dtype", "show_layer_names", "expand_nested",
                 "show_layer_activations", "show_trainable", "show_params")

    def __init__(self, show_shapes, show_dtype, show_layer_names, expand_nested, show_layer_activations,
                 show_trainable, show_params) -> None:
        if isinstance(show_shapes, str):
            if show_shapes not in ("nodes", "edges", "both"):
                raise ValueError(f"show_shapes must be True/False or one of 'nodes', 'edges', 'both'; "
                                 f"got {show_shapes!r}.")
            self.show_node_shapes = show_shapes in ("nodes", "both")
            self.show_edge_shapes = show_shapes in ("edges", "both")
        else:
            self.show_node_shapes, self.show_edge_shapes = bool(show_shapes), False
        self.show_dtype = bool(show_dtype)
        self.show_layer_names = bool(show_layer_names)
        self.expand_nested = bool(expand_nested)
        self.show_layer_activations = bool(show_layer_activations)
        self.show_trainable = bool(show_trainable)
        self.show_params = bool(show_params)


def _label(title_bold: str, title_rest: str, rows: list[str], cols: list[str]) -> str:
    """Keras 3's table label: black header, then one row per entry of ``rows`` (full width),
    then the ``cols`` side by side."""
    span = max(1, len(cols))
    out = ['<<table border="0" cellborder="1" bgcolor="black" cellpadding="10">',
           f'<tr><td colspan="{span}" bgcolor="black"><font point-size="16" color="white">'
           f"<b>{title_bold}</b>{title_rest}</font></td></tr>"]
    for row in rows:
        out.append(f'<tr><td bgcolor="white" colspan="{span}"><font point-size="14">{row}</font></td></tr>')
    if cols:
        out.append("<tr>" + "".join(cols) + "</tr>")
    out.append("</table>>")
    return "".join(out)


def _white(text: str) -> str:
    return f'<td bgcolor="white"><font point-size="14">{text}</font></td>'


class _Writer(ModelWalker):
    """Feeds a :class:`~graphkit.viz.dot.DotText`: layers as Keras-style table nodes, nested
    models as clusters, edges labelled with shapes when ``show_shapes`` says so; ``nodes`` collects
    the graph JSON node of each layer drawn (the details the front end shows on a click), with
    weight statistics when ``with_weights``."""

    def __init__(self, opts: _Options, with_weights: bool = False) -> None:
        super().__init__(opts.expand_nested)
        self.opts = opts
        self.with_weights = with_weights
        self.dot = DotText()
        self.nodes: list[dict] = []

    def node(self, node_id: str, label: str, group: str | None = None) -> None:
        self.dot.add_node(node_id, [f"label={label}"], group)

    def edge(self, src: str, dst: str, shape_label: str | None, key: Any = None) -> None:
        # one edge per (producer, consumer, tensor): a layer fed twice the same tensor gets one edge,
        # a shared layer's two outputs going to one consumer get two
        show = shape_label is not None and self.opts.show_edge_shapes
        self.dot.add_edge(src, dst, [f"label={_quote(shape_label)}"] if show else [], key)

    def on_node(self, node_id: str, layer, calls: list, group: str | None) -> None:
        self.node(node_id, _layer_label(layer, calls, self.opts), group)
        self.nodes.append(layer_node(layer, node_id, calls, group=group, with_weights=self.with_weights))

    def on_group_start(self, group_id: str, model, parent: str | None) -> None:
        self.dot.add_cluster(group_id, f"label=<{_h(model.name)}>; style=dashed; labeljust=l;", parent)

    def on_edge(self, source: str, target: str, tensor) -> None:
        self.edge(source, target, format_shape(tensor.shape) if tensor is not None else None, id(tensor))


# ------------------------------------------------------------------------- layer labels
def _joined(values: list[str]) -> str:
    return "<br/>".join(_h(v) for v in dict.fromkeys(values)) if values else "?"


def _layer_label(layer, calls: list, opts: _Options) -> str:
    class_name = type(layer).__name__
    if opts.show_layer_names:
        bold, rest = _h(layer.name), f" ({_h(class_name)})"
    else:
        bold, rest = _h(class_name), ""
    rows = []
    if opts.show_layer_activations:
        name = activation_name(layer)
        if name is not None:
            rows.append(f"Activation: <b>{_h(name)}</b>")
    cols = []
    is_input = class_name == "InputLayer"
    if opts.show_node_shapes:
        if not is_input:
            cols.append(_white(f"Input shape: <b>{_joined([call_inputs(n) for n in calls])}</b>"))
        cols.append(_white(f"Output shape: <b>{_joined([call_outputs(n) for n in calls])}</b>"))
    if opts.show_dtype:
        dtypes = [", ".join(str(getattr(t.dtype, "name", t.dtype)) for t in n.output_tensors) for n in calls]
        cols.append(_white(f"Output dtype: <b>{_joined(dtypes)}</b>"))
    weights = list(getattr(layer, "weights", None) or []) if opts.show_params or opts.show_trainable else []
    if opts.show_params:  # (count_params() would walk the weights a second time)
        count = param_count({id(v): v for v in weights}.values())
        cols.append(_white(f"Params: <b>{count:,}</b>"))
    if opts.show_trainable and weights:
        if layer.trainable:
            cols.append('<td bgcolor="forestgreen"><font point-size="14" color="white"><b>Trainable</b></font></td>')
        else:
            cols.append('<td bgcolor="firebrick"><font point-size="14" color="white"><b>Non-trainable</b>'
                        "</font></td>")
    return _label(bold, rest, rows, cols)


def _draw_function_graph(w: _Writer, graph) -> None:
    """Inputs, captured variables, constants, ops and outputs of a traced ``gk.function`` graph."""
    opts = w.opts

    def spec_label(bold: str, kind: str, specs: list) -> str:
        rest = f" ({_h(kind)})" if opts.show_layer_names else ""
        if not opts.show_layer_names:
            bold = _h(kind)
        cols = [_white(f"Output shape: <b>{_h(shapes_text(specs))}</b>")]
        if opts.show_dtype:
            cols.append(_white(f"Output dtype: <b>{_h(', '.join(str(s.dtype) for s in specs))}</b>"))
        return _label(bold, rest, [], cols)

    from ..function.tensor_spec import TensorSpec
    ids: dict[tuple, str] = {}
    specs: dict[tuple, Any] = {}
    for k, spec in enumerate(graph.inputs):
        node_id = ids[("input", k)] = w.new_id(spec.name or f"input_{k}")
        specs[("input", k)] = spec
        w.node(node_id, spec_label(_h(spec.name or f"input_{k}"), "Input", [spec]))
    for k, var in enumerate(graph.captures):
        name = getattr(var, "name", None) or f"variable_{k}"
        spec = TensorSpec(tuple(var.shape), var.dtype)
        node_id = ids[("capture", k)] = w.new_id(name)
        specs[("capture", k)] = spec
        w.node(node_id, spec_label(_h(name), "Variable", [spec]))
    for k, const in enumerate(graph.constants):
        spec = TensorSpec(tuple(const.shape), const.dtype)
        node_id = ids[("const", k)] = w.new_id(f"const_{k}")
        specs[("const", k)] = spec
        w.node(node_id, spec_label(f"const_{k}", "Constant", [spec]))
    for i, node in enumerate(graph.nodes):
        node_id = w.new_id(node.name)
        for j, spec in enumerate(node.outputs):
            ids[("node", i, j)] = node_id
            specs[("node", i, j)] = spec
        w.node(node_id, spec_label(_h(node.name), node.op, list(node.outputs)))
        for ref in node.inputs:
            ref = tuple(ref)
            if ref in ids:
                w.edge(ids[ref], node_id, format_shape(specs[ref].shape), ref)
    out_refs = _output_refs(graph.structured_outputs)
    for k, ref in enumerate(out_refs):
        ref = tuple(ref)
        if ref not in ids:
            continue
        node_id = w.new_id(f"output_{k}")
        w.node(node_id, spec_label(f"output_{k}", "Output", [specs[ref]]))
        w.edge(ids[ref], node_id, format_shape(specs[ref].shape))


def _output_refs(structure: Any) -> list:
    if isinstance(structure, tuple) and len(structure) == 2 and structure[0] in ("ref", "py") \
            and not hasattr(structure, "_fields"):
        return [structure[1]] if structure[0] == "ref" else []
    if isinstance(structure, (list, tuple)):
        return [r for item in structure for r in _output_refs(item)]
    if isinstance(structure, dict):
        return [r for key in structure for r in _output_refs(structure[key])]
    return []


def _function_graph(obj: Any):
    """(graph, name) when ``obj`` is a gk.function Graph / ConcreteFunction / Function, else None."""
    from ..function.function import ConcreteFunction, Function
    from ..function.graph import Graph
    if isinstance(obj, Graph):
        return obj, "graph"
    if isinstance(obj, ConcreteFunction):
        return obj.graph, obj.name
    if isinstance(obj, Function):
        concrete = obj.concrete_functions
        if len(concrete) != 1:
            raise ValueError(f"model_to_dot: the gk.function {getattr(obj, '__name__', '')!r} has "
                             f"{len(concrete)} traced graphs; pass one ConcreteFunction "
                             "(fn.get_concrete_function(...)).")
        return concrete[0].graph, concrete[0].name
    return None


# ---------------------------------------------------------------------------- results
class DotGraph(str):
    """DOT text (a ``str``) with pydot-like helpers: ``source``, ``to_string()``, ``create(format)``,
    ``write(path)``, and a notebook display (see :class:`ModelPlot`). ``nodes``: the graph JSON
    nodes of the layers drawn."""

    nodes: list[dict]

    def __new__(cls, text: str, nodes: list[dict] | None = None, title: str = "graph") -> "DotGraph":
        self = super().__new__(cls, text)
        self.nodes = nodes or []
        self._title = title
        return self

    @property
    def source(self) -> str:
        return str.__str__(self)

    def to_string(self) -> str:
        return self.source

    def create(self, prog: str | None = None, format: str = "svg") -> bytes:  # noqa: A002 - pydot's name
        return _gv.render(self.source, format)

    def write(self, path: Any) -> str:
        return _gv.write_rendered(self.source, os.fspath(path))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        plain = f"<DotGraph {self._title!r}: {len(self.nodes)} layers; .source is the DOT text>"
        return _mimebundle(self.source, _svg_or_none(self.source, {}), self._title, (0, 0), self.nodes, plain, "")


def _svg_or_none(source: str, cache: dict) -> str | None:
    """The SVG of graphviz's ``dot`` for ``source``, kept in ``cache``; None where ``dot`` is
    missing or fails."""
    if "svg" not in cache:
        if not _gv.have_dot():
            return None
        try:
            cache["svg"] = _gv.render(source, "svg").decode("utf-8")
        except _gv.GraphvizError:
            return None
    return cache["svg"]


def _mimebundle(source: str, svg: str | None, title: str, params: tuple[int, int], nodes: list[dict],
                plain: str, summary_html: str) -> dict:
    """The notebook display of a picture, never its raw DOT as what is shown: the graph MIME
    (DOT and nodes, laid out in the browser by graphkit's JupyterLab extension, no system
    graphviz needed), the DOT as ``text/vnd.graphviz``, ``plain`` as text and, for front ends
    without the extension, ``svg`` (graphviz's, None without ``dot``) also as HTML, else
    ``summary_html`` and one line saying what to install."""
    from ..viz.graph_data import GRAPH_MIME, dot_document
    bundle = {"text/plain": plain, "text/vnd.graphviz": source,
              GRAPH_MIME: dot_document(title, source, *params, nodes=nodes)}
    if svg is not None:
        bundle["image/svg+xml"] = svg
        bundle["text/html"] = _gv.svg_html(svg, picture_alt(title, len(nodes), params[0]))
    else:
        bundle["text/html"] = summary_html + _gv.NO_PICTURE_HTML
    return bundle


def picture_alt(title: str, layers: int, total_params: int) -> str:
    """The alt text of a model's picture: "graph of model 'mlp': 9 layers, 54,966 params"."""
    params = f", {total_params:,} params" if total_params else ""
    return f"graph of model {title!r}: {layers} layers{params}"


class ModelPlot:
    """What ``plot_model`` returns: displays inline in notebooks; ``source`` is the DOT text,
    ``path`` the file written (or None); ``svg()`` the rendered SVG; ``save(path)`` writes again.
    ``nodes`` are the graph JSON nodes of the layers drawn (with weight statistics), shown when a
    node of the notebook picture is clicked."""

    def __init__(self, source: str, path: str | None = None, title: str = "graph",
                 params: tuple[int, int] = (0, 0), nodes: list[dict] | None = None,
                 summary_html: str = "") -> None:
        self.source = source
        self.path = path
        self.title = title
        self.params = params  # (total, trainable) parameter counts shown beside the picture
        self.nodes = nodes or []
        self._summary_html = summary_html  # shown, with a hint, where no picture can be drawn
        self._cache: dict = {}

    def svg(self) -> str:
        if "svg" not in self._cache:
            self._cache["svg"] = _gv.render(self.source, "svg").decode("utf-8")
        return self._cache["svg"]

    def save(self, path: Any) -> str:
        return _write(self.source, path)

    def _repr_svg_(self) -> str | None:
        return _svg_or_none(self.source, self._cache)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        return _mimebundle(self.source, self._repr_svg_(), self.title, self.params, self.nodes, repr(self),
                           self._summary_html)

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        where = f", written to {self.path!r}" if self.path else ""
        return f"<ModelPlot of {self.title!r}: {self.source.count(' [label=')} nodes{where}>"


# --------------------------------------------------------------------------------- API
def model_to_dot(model: Any, show_shapes: bool | str = False, show_dtype: bool = False,
                 show_layer_names: bool = True, rankdir: str = "TB", expand_nested: bool = False,
                 dpi: int = 96, subgraph: bool = False, show_layer_activations: bool = False,
                 show_trainable: bool = False, show_params: bool = False, **kwargs: Any) -> DotGraph:
    """The DOT text of ``model`` (a model, a layer, or a ``gk.function`` ConcreteFunction/Graph).

    ``show_shapes``: True (or ``"nodes"``) puts ``Input shape``/``Output shape`` in the nodes as
    Keras does, ``"edges"`` labels the edges with tensor shapes, ``"both"`` does both.
    ``subgraph=True`` returns a ``subgraph cluster_<name> {...}`` block instead of a digraph.
    """
    opts = _checked_options(rankdir, kwargs, show_shapes, show_dtype, show_layer_names, expand_nested,
                            show_layer_activations, show_trainable, show_params)
    return _draw(model, opts, rankdir, dpi, subgraph, with_weights=False)


def _checked_options(rankdir: str, kwargs: dict, *flags: Any) -> _Options:
    if kwargs.pop("layer_range", None) is not None:
        raise NotImplementedError("model_to_dot: layer_range is not supported (Keras 3 does not support it either).")
    if kwargs:
        raise TypeError(f"model_to_dot got unexpected keyword arguments {sorted(kwargs)}.")
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"rankdir must be 'TB', 'LR', 'BT' or 'RL'; got {rankdir!r}.")
    return _Options(*flags)


def _draw(model: Any, opts: _Options, rankdir: str, dpi: int, subgraph: bool, with_weights: bool) -> DotGraph:
    """model_to_dot's work, after its arguments are checked; ``with_weights`` puts weight
    statistics in the nodes."""
    w = _Writer(opts, with_weights)
    fn_graph = _function_graph(model)
    if fn_graph is not None:
        graph, name = fn_graph
        _draw_function_graph(w, graph)
    else:
        if not hasattr(model, "name") or not hasattr(model, "_inbound_nodes"):
            raise TypeError(f"model_to_dot expects a graphkit model, layer or gk.function graph; got "
                            f"{type(model).__name__}.")
        name = model.name
        w.walk(model)
    defaults = ["node [shape=plaintext, fontname=Helvetica, margin=0];", "edge [penwidth=2];"]
    if subgraph:
        text = w.dot.text(f"subgraph {_quote('cluster_' + name)} {{",
                          [f"label=<{_h(name)}>; style=dashed; labeljust=l;", *defaults])
    else:
        splines = "" if opts.show_edge_shapes else ", splines=ortho"
        text = w.dot.text(f"digraph {_quote(name)} {{", [f"graph [rankdir={rankdir}, dpi={int(dpi)}{splines}];",
                                                         *defaults])
    return DotGraph(text, w.nodes, name)


def _write(source: str, to_file: Any) -> str:
    path = os.fspath(to_file)
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in _gv.RENDERED_FORMATS and ext not in _gv.DOT_FORMATS:
        raise ValueError(f"plot_model cannot write {path!r}: unknown file extension "
                         f"{'.' + ext if ext else '(none)'}; use .svg, .png, .pdf or .dot.")
    if ext in _gv.RENDERED_FORMATS and _gv.find_dot() is None:
        raise _gv.GraphvizNotFoundError(_gv.missing_dot_message(path))
    try:
        return _gv.write_rendered(source, path)
    except (_gv.GraphvizNotFoundError, _gv.GraphvizError) as error:
        raise type(error)(str(error)) from None


def plot_model(model: Any, to_file: Any = None, show_shapes: bool | str = False, show_dtype: bool = False,
               show_layer_names: bool = True, rankdir: str = "TB", expand_nested: bool = False, dpi: int = 96,
               show_layer_activations: bool = False, show_trainable: bool = False, show_params: bool = False,
               **kwargs: Any) -> ModelPlot:
    """Draw ``model`` (see :func:`model_to_dot` for the options).

    Returns a :class:`ModelPlot` that shows inline in notebooks: JupyterLab (with graphkit's
    extension) lays it out in the browser, and clicking a layer shows its details; other front
    ends get the SVG of graphviz's ``dot`` when installed, else the model summary and a line
    saying what to install (never the DOT text). ``to_file`` writes ``.svg``/``.png``/``.pdf`` (needs ``dot``)
    or ``.dot``, atomically; without ``dot`` a rendered format raises one GraphvizNotFoundError saying how
    to install graphviz, and nothing is written.
    """
    opts = _checked_options(rankdir, kwargs, show_shapes, show_dtype, show_layer_names, expand_nested,
                            show_layer_activations, show_trainable, show_params)
    dot = _draw(model, opts, rankdir, dpi, subgraph=False, with_weights=True)
    path = _write(dot.source, to_file) if to_file is not None else None
    return ModelPlot(dot.source, path, getattr(model, "name", "graph"), _param_counts(model), dot.nodes,
                     _summary_html(model))


def _summary_html(model: Any) -> str:
    """The HTML summary of a built model (shown where no picture can be drawn); "" for anything else."""
    from ..models.model import Model
    if not isinstance(model, Model) or not model.built:
        return ""
    from ..models.summary import summary_html
    return summary_html(model)


def _param_counts(model: Any) -> tuple[int, int]:
    """(total, trainable) parameters of a built layer or model; (0, 0) for anything else."""
    if not getattr(model, "built", False) or not hasattr(model, "weights"):
        return 0, 0
    return param_counts(model)
