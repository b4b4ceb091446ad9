"""The one DOT writer: :class:`DotText` assembles statements, :func:`graph_to_dot` draws graph JSON.

:class:`DotText` is where DOT text is put together for every picture of the package: node and
cluster statements nested by group in the order they are added, then the edges (each once per
key). Two looks feed it: :func:`graph_to_dot` below (the graph JSON of docs/frontend.md, as the
live view and the JupyterLab extension draw it) and ``plot_model``'s Keras look
(graphkit.utils.model_visualization).

:func:`graph_to_dot` is mirrored line for line by the front end's ``labextension/src/core/dot.ts``;
tests/test_dot_snapshots.py holds both to the DOT stored in tests/snapshots/dot/. Its drawing:
nodes named by their graph id, boxes reading ``name (Class)``, the output shape and the parameter
count; groups are clusters (nested as their ``parent`` says), or, when in ``collapsed``, one
``box3d`` node that edges of the layers inside it attach to; ``pending`` nodes and edges are
dashed, ``error`` nodes red with the error text; edges carry the shape label.
"""
from __future__ import annotations

from typing import Any, Collection

__all__ = ["DotText", "LIGHT_THEME", "graph_to_dot", "quote_id", "wrap_text"]

LIGHT_THEME = {"background": "#ffffff", "text": "#212121", "muted": "#616161", "border": "#bdbdbd",
               "accent": "#1976d2", "error": "#d32f2f", "fill": "#ffffff"}
"""The front end's colours without a JupyterLab theme (labextension/src/core/theme.ts)."""

_ERROR_FILL = "#fdecea"
_FONT = "Helvetica"


def quote_id(text: Any) -> str:
    """A DOT quoted id (backslashes avoided: a trailing one would escape the closing quote)."""
    return '"' + str(text).replace("\\", "%5C").replace('"', '\\"').replace("\n", " ") + '"'


def _quote_lines(lines: list[str]) -> str:
    """A DOT quoted label of several centred lines."""
    return '"' + "\\n".join(quote_id(line)[1:-1] for line in lines) + '"'


def wrap_text(text: str, width: int, max_lines: int) -> list[str]:
    """``text`` in at most ``max_lines`` lines of at most ``width`` characters, broken at spaces
    (a longer word is cut), the last line ending in ``…`` when some text is left out."""
    lines: list[str] = []
    line = ""
    for word in " ".join(text.split()).split(" "):
        while len(word) > width:
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:width])
            word = word[width:]
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][:width - 1] + "…"
    return lines


class DotText:
    """DOT statements in drawing order: nodes and clusters, each in its group's scope, then edges."""

    def __init__(self) -> None:
        self._scopes: dict[str | None, list[str | tuple[str, str]]] = {None: []}
        self._edges: list[str] = []
        self._edge_keys: set[tuple] = set()

    def add_node(self, node_id: str, attributes: list[str], group: str | None = None) -> None:
        """``"node_id" [attributes];`` inside cluster ``group`` (None: the top level)."""
        self._scopes[group].append(f"{quote_id(node_id)} [{', '.join(attributes)}];")

    def add_cluster(self, group_id: str, attributes: str, parent: str | None = None) -> None:
        """``subgraph "cluster_<group_id>"`` (first line ``attributes``) inside cluster ``parent``."""
        self._scopes[parent].append((group_id, attributes))
        self._scopes[group_id] = []

    def add_edge(self, source: str, target: str, attributes: list[str], key: Any = None) -> None:
        """``"source" -> "target" [attributes];``, unless an edge with the same (source, target,
        key) is already there."""
        if (source, target, key) in self._edge_keys:
            return
        self._edge_keys.add((source, target, key))
        tail = f" [{', '.join(attributes)}]" if attributes else ""
        self._edges.append(f"\t{quote_id(source)} -> {quote_id(target)}{tail};")

    def text(self, opening: str, settings: list[str]) -> str:
        """The whole text: ``opening`` (``digraph "name" {``), one line per setting, the body."""
        lines = [opening, *(f"\t{setting}" for setting in settings)]
        self._emit(None, "\t", lines)
        lines += self._edges
        lines.append("}")
        return "\n".join(lines) + "\n"

    def _emit(self, scope: str | None, indent: str, lines: list[str]) -> None:
        for item in self._scopes[scope]:
            if isinstance(item, str):
                lines.append(indent + item)
                continue
            group_id, attributes = item
            lines.append(f"{indent}subgraph {quote_id('cluster_' + group_id)} {{")
            lines.append(f"{indent}\t{attributes}")
            self._emit(group_id, indent + "\t", lines)
            lines.append(f"{indent}}}")


# ----------------------------------------------------------------------------- graph JSON
def _node_attributes(node: dict, colors: dict) -> list[str]:
    lines = [f"{node['name']} ({node['class_name']})"]
    if node.get("output_shape"):
        lines.append(node["output_shape"])
    if node.get("params"):
        lines.append(f"{node['params']:,} params")
    status = node.get("status")
    if status == "error":
        lines += wrap_text(node.get("error") or "error", 60, 4)
    attributes = [f"label={_quote_lines(lines)}"]
    if status == "pending":
        attributes.append('style="rounded,dashed"')
    elif status == "error":
        error = quote_id(colors["error"])
        attributes.append(f'style="rounded,filled", color={error}, fillcolor="{_ERROR_FILL}", fontcolor={error}')
    return attributes


class _GraphDrawing:
    """Graph JSON into a :class:`DotText`, with the groups in ``collapsed`` drawn as boxes."""

    def __init__(self, graph: dict, collapsed: Collection[str], colors: dict) -> None:
        self.graph, self.collapsed, self.colors = graph, collapsed, colors
        self.groups = {group["id"]: group for group in graph.get("groups", [])}
        self.nodes = {node["id"]: node for node in graph.get("nodes", [])}
        known = lambda group_id: group_id if group_id in self.groups else None  # noqa: E731
        self.children: dict[str | None, list[dict]] = {}
        for group in graph.get("groups", []):
            self.children.setdefault(known(group.get("parent")), []).append(group)
        self.members: dict[str | None, list[dict]] = {}
        for node in graph.get("nodes", []):
            self.members.setdefault(known(node.get("group")), []).append(node)
        self.drawn: set[str] = set()  # layers drawn as their own node
        self.boxes: set[str] = set()  # collapsed groups drawn as one node
        self.dot = DotText()

    def draw(self) -> str:
        c = self.colors
        self._scope(None)
        endpoints: dict[str, str | None] = {}
        for edge in self.graph.get("edges", []):
            for end in (edge["source"], edge["target"]):
                if end not in endpoints:
                    endpoints[end] = self._endpoint(end)
            source, target = endpoints[edge["source"]], endpoints[edge["target"]]
            if source is None or target is None or (source == target and source in self.boxes):
                continue
            label = edge.get("label")
            attributes = [f"label={quote_id(label)}"] if label else []
            if edge.get("status") == "pending":
                attributes.append("style=dashed")
            elif edge.get("status") == "error":
                attributes.append(f"color={quote_id(c['error'])}")
            self.dot.add_edge(source, target, attributes, label)
        font = quote_id(_FONT)
        return self.dot.text(
            f"digraph {quote_id(self.graph.get('title') or 'graph')} {{",
            [f"graph [rankdir={quote_id(self.graph.get('rankdir') or 'TB')}, bgcolor=\"transparent\", "
             f"fontname={font}, fontsize=10, fontcolor={quote_id(c['text'])}, nodesep=0.3, ranksep=0.35, pad=0.1];",
             f"node [shape=box, style=\"rounded,filled\", fillcolor={quote_id(c['fill'])}, "
             f"color={quote_id(c['border'])}, fontcolor={quote_id(c['text'])}, fontname={font}, fontsize=10, "
             f"margin=\"0.1,0.04\"];",
             f"edge [color={quote_id(c['muted'])}, fontcolor={quote_id(c['muted'])}, fontname={font}, "
             f"fontsize=9, arrowsize=0.7];"])

    def _scope(self, group_id: str | None) -> None:
        for node in self.members.get(group_id, []):
            self.dot.add_node(node["id"], _node_attributes(node, self.colors), group_id)
            self.drawn.add(node["id"])
        for group in self.children.get(group_id, []):
            if group["id"] in self.collapsed:
                layers = self._count_layers(group["id"])
                lines = [f"{group['name']} ({group['class_name']})",
                         f"{layers:,} layer{'' if layers == 1 else 's'} · {group.get('params') or 0:,} params"]
                self.dot.add_node(group["id"], [f"label={_quote_lines(lines)}", "shape=box3d"], group_id)
                self.boxes.add(group["id"])
            else:
                title = f"{group['name']} ({group['class_name']}, {group.get('params') or 0:,} params)"
                self.dot.add_cluster(group["id"], f"label={quote_id(title)}; labeljust=l; style=dashed; "
                                                  f"color={quote_id(self.colors['accent'])};", group_id)
                self._scope(group["id"])

    def _count_layers(self, group_id: str) -> int:
        """Layers inside a group, nested groups included."""
        return len(self.members.get(group_id, [])) + sum(self._count_layers(child["id"])
                                                         for child in self.children.get(group_id, []))

    def _endpoint(self, node_id: str) -> str | None:
        """What an edge of layer ``node_id`` attaches to: its node, else the box of the outermost
        collapsed group holding it (None when neither is drawn)."""
        if node_id in self.drawn:
            return node_id
        box, seen = None, set()
        group = self.groups.get((self.nodes.get(node_id) or {}).get("group"))
        while group is not None and group["id"] not in seen:
            seen.add(group["id"])
            if group["id"] in self.boxes:
                box = group["id"]
            group = self.groups.get(group.get("parent"))
        return box


def graph_to_dot(graph: dict, collapsed: Collection[str] = (), theme: dict | None = None) -> str:
    """The DOT text of ``graph`` (the graph JSON of docs/frontend.md), every group drawn open
    except those in ``collapsed``; ``theme`` overrides colours of :data:`LIGHT_THEME`."""
    return _GraphDrawing(graph, frozenset(collapsed), {**LIGHT_THEME, **(theme or {})}).draw()
