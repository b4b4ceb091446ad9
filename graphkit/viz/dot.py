"""The one DOT writer: :class:`DotText` assembles statements, :func:`graph_to_dot` draws graph JSON.

:class:`DotText` is where DOT text is put together for every picture of the package: node and
cluster statements nested by group in the order they are added, then the edges (each once per
key). Two looks feed it: :func:`graph_to_dot` below (the graph JSON of docs/frontend.md, as the
live view and the JupyterLab extension draw it) and ``plot_model``'s Keras look
(graphkit.utils.model_visualization).

:func:`graph_to_dot` is mirrored line for line by the front end's ``labextension/src/core/dot.ts``;
tests/test_dot_snapshots.py holds both to the DOT stored in tests/snapshots/dot/. Its drawing:
nodes named by their graph id, with HTML-like labels: **name** (Class) muted, the output shape
and the parameter count smaller; ``pending`` nodes dashed (class ``gk-pending``), ``error`` nodes
outlined red with the error text in red lines (class ``gk-error``). Groups are model boxes in an
accent tint, solid and rounded: clusters (nested as their ``parent`` says) labelled
**name** (Class · params), or, when in ``collapsed``, one ``box3d`` node (class ``gk-box``) that
edges of the layers inside it attach to. Edges carry the shape label, padded off the line.
"""
from __future__ import annotations

import re
from typing import Any, Collection

__all__ = ["DotText", "LIGHT_THEME", "escape_html", "graph_to_dot", "html_table", "quote_id", "wrap_text"]

LIGHT_THEME = {"background": "#ffffff", "text": "#212121", "muted": "#616161", "border": "#bdbdbd",
               "accent": "#1976d2", "error": "#d32f2f", "fill": "#ffffff"}
"""The front end's colours without a JupyterLab theme (labextension/src/core/theme.ts)."""

_FONT = "Helvetica"


def quote_id(text: Any) -> str:
    """A DOT quoted id (backslashes avoided: a trailing one would escape the closing quote)."""
    return '"' + str(text).replace("\\", "%5C").replace('"', '\\"').replace("\n", " ") + '"'


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
_ERROR_LINE_WIDTH, _ERROR_LINES = 44, 4
_MODEL_BORDER_ALPHA, _MODEL_FILL_ALPHA = "80", "14"  # model boxes: an accent tint


def escape_html(text: Any) -> str:
    """``text`` for an HTML-like label: ``&``, ``<``, ``>`` and ``"`` as entities, a backslash
    doubled (graphviz expands ``\\N`` and the like in these labels too, entities decoded first)."""
    return (str(text).replace("\\", "\\\\").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def html_table(rows: list[str], padding: int = 1) -> str:
    """An HTML-like label: one borderless table cell per row (rows are HTML already)."""
    cells = "".join(f"<tr><td>{row}</td></tr>" for row in rows)
    return f'<<table border="0" cellborder="0" cellspacing="0" cellpadding="{padding}">{cells}</table>>'


def _tint(color: str, alpha: str) -> str:
    """``color`` (``#rrggbb`` or ``#rrggbbaa``) at opacity ``alpha`` (two hex digits); any other
    colour as it is."""
    return color[:7] + alpha if re.fullmatch(r"#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?", color) else color


def _title_row(name: str, class_name: str, detail: str, colors: dict) -> str:
    """``<b>name</b> (class_name<detail>)``, the parenthesis muted."""
    return (f"<b>{escape_html(name)}</b> <font color=\"{escape_html(colors['muted'])}\">"
            f"({escape_html(class_name)}{escape_html(detail)})</font>")


def _small_row(text: str, color: str | None = None) -> str:
    tint = f' color="{escape_html(color)}"' if color else ""
    return f'<font point-size="9"{tint}>{escape_html(text)}</font>'


def _node_attributes(node: dict, colors: dict) -> list[str]:
    rows = [_title_row(node["name"], node["class_name"], "", colors)]
    if node.get("output_shape"):
        rows.append(_small_row(node["output_shape"]))
    if node.get("params"):
        rows.append(_small_row(f"{node['params']:,} params"))
    attributes = []
    status = node.get("status")
    if status == "error":
        rows += [_small_row(line, colors["error"])
                 for line in wrap_text(node.get("error") or "error", _ERROR_LINE_WIDTH, _ERROR_LINES)]
        attributes += [f"color={quote_id(colors['error'])}", "penwidth=2", 'class="gk-error"']
    elif status == "pending":
        attributes += ['style="rounded,filled,dashed"', 'class="gk-pending"']
    attributes.append(f"label={html_table(rows)}")
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
            # A table label keeps the text exact while padding it away from the edge line.
            attributes = [f"label={html_table([escape_html(label)], 3)}"] if label else []
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
        c = self.colors
        border = quote_id(_tint(c["accent"], _MODEL_BORDER_ALPHA))
        fill = quote_id(_tint(c["accent"], _MODEL_FILL_ALPHA))
        for group in self.children.get(group_id, []):
            params = f"{group.get('params') or 0:,} params"
            if group["id"] in self.collapsed:
                layers = self._count_layers(group["id"])
                rows = [_title_row(group["name"], group["class_name"], "", c),
                        _small_row(f"{layers:,} layer{'' if layers == 1 else 's'} · {params}")]
                self.dot.add_node(group["id"], ["shape=box3d", "style=filled", f"color={border}", f"fillcolor={fill}",
                                                'class="gk-box"', f"label={html_table(rows)}"], group_id)
                self.boxes.add(group["id"])
            else:
                title = _title_row(group["name"], group["class_name"], f" · {params}", c)
                self.dot.add_cluster(group["id"], f"label=<{title}>; labeljust=l; style=\"rounded,filled\"; "
                                                  f"color={border}; fillcolor={fill};", group_id)
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
