"""``model_graph(model)``: the graph JSON of a built model (``application/vnd.graphkit.graph+json``),
and the display hook that puts it (and the rendered picture) in every built model's notebook display."""
from __future__ import annotations

from ..display import register_display_hook
from .nodes import edge_dict, group_dict, layer_node, param_counts
from .walk import ModelWalker

__all__ = ["GRAPH_MIME", "model_graph", "graph_document", "dot_document"]

GRAPH_MIME = "application/vnd.graphkit.graph+json"


def graph_document(title: str, nodes: list[dict], edges: list[dict], groups: list[dict], total_params: int,
                   trainable_params: int, summary: str | None = None, rankdir: str = "TB") -> dict:
    """The graph JSON envelope (version 1) around nodes, edges and groups."""
    return {"format": "graphkit.graph", "version": 1, "title": title, "rankdir": rankdir,
            "total_params": int(total_params), "trainable_params": int(trainable_params), "summary": summary,
            "groups": groups, "nodes": nodes, "edges": edges}


def dot_document(title: str, dot: str, total_params: int = 0, trainable_params: int = 0,
                 nodes: list[dict] | None = None) -> dict:
    """A graph JSON that carries finished DOT text (``plot_model`` pictures): the front end lays
    it out as is with its WASM graphviz instead of building DOT from nodes and edges; ``nodes``
    (ids = the DOT's node ids) give the details shown when a node is clicked."""
    return {**graph_document(title, nodes or [], [], [], total_params, trainable_params), "dot": dot}


class _GraphBuilder(ModelWalker):
    """Collects the JSON nodes, groups and edges of a model walk (every nested model expanded
    into a group; ``collapsed`` only says how the front end first shows it)."""

    def __init__(self, collapsed: bool) -> None:
        super().__init__(expand_nested=True)
        self.collapsed = collapsed
        self.nodes: list[dict] = []
        self.groups: list[dict] = []
        self.edges: dict[tuple, dict] = {}

    def on_node(self, node_id: str, layer, calls: list, group: str | None) -> None:
        self.nodes.append(layer_node(layer, node_id, calls, group=group))

    def on_group_start(self, group_id: str, model, parent: str | None) -> None:
        self.groups.append(group_dict(model, group_id, parent, self.collapsed))

    def on_edge(self, source: str, target: str, tensor) -> None:
        edge = edge_dict(source, target, tensor)
        self.edges.setdefault((source, target, edge["label"]), edge)


def model_graph(model, expand_nested: bool = False, rankdir: str = "TB") -> dict:
    """The graph JSON of the built ``model`` (docs/frontend.md): its layers as nodes with weight
    statistics, nested Functional/Sequential models as groups holding their layers (collapsed
    unless ``expand_nested``), edges into the right inner layers and labelled with shapes, a
    shared layer as one node, and ``summary`` = the ``model.summary()`` text."""
    if not getattr(model, "built", False):
        raise ValueError(f"Model '{model.name}' is not built yet, so it has no graph: call it on an input "
                         "(or give it an input shape) first.")
    from ..models.summary import format_summary
    builder = _GraphBuilder(collapsed=not expand_nested)
    builder.walk(model)
    return graph_document(model.name, builder.nodes, list(builder.edges.values()), builder.groups,
                          *param_counts(model), summary=format_summary(model), rankdir=rankdir)


@register_display_hook
def _display_graph(model, bundle: dict) -> None:
    """Display hook (graphkit.display): the graph JSON for graphkit's JupyterLab extension and,
    after the HTML summary, the SVG picture when graphviz's ``dot`` is installed, else one line
    saying what to install (front ends without the extension show the HTML)."""
    from ..utils.graphviz import picture_html
    from ..utils.model_visualization import model_to_dot, picture_alt
    graph = bundle[GRAPH_MIME] = model_graph(model)
    bundle["text/html"] += picture_html(str(model_to_dot(model, show_shapes=True)),
                                        picture_alt(model.name, len(graph["nodes"]), graph["total_params"]))
