"""DOT text from the graph JSON (``view.dot``), in plain Python.

Groups are clusters (nested as their ``parent`` says, always drawn open: collapsing is a state
of the front end's view), nodes are boxes reading ``name (Class)``, the output shape and the
parameter count; ``pending`` nodes and edges are dashed, ``error`` nodes red with the error
text; edges carry the shape label.
"""
from __future__ import annotations

import textwrap
from typing import Any

__all__ = ["graph_to_dot", "quote_id"]

_ERROR_COLOR = "#d32f2f"
_MODEL_COLOR = "#1976d2"


def quote_id(text: Any) -> str:
    """A DOT quoted id (backslashes avoided: a trailing one would escape the closing quote)."""
    return '"' + str(text).replace("\\", "%5C").replace('"', '\\"').replace("\n", " ") + '"'


def _quote_lines(lines: list[str]) -> str:
    """A DOT quoted label of several centred lines."""
    return '"' + "\\n".join(quote_id(line)[1:-1] for line in lines) + '"'


def _node_lines(node: dict) -> list[str]:
    lines = [f"{node['name']} ({node['class_name']})"]
    if node.get("output_shape"):
        lines.append(node["output_shape"])
    if node.get("params"):
        lines.append(f"{node['params']:,} params")
    if node.get("error"):
        lines += textwrap.wrap(node["error"], 60)
    return lines


def _node_statement(node: dict, indent: str) -> str:
    attrs = [f"label={_quote_lines(_node_lines(node))}"]
    status = node.get("status")
    if status == "pending":
        attrs.append('style="rounded,dashed"')
    elif status == "error":
        attrs.append(f'style="rounded,filled", color="{_ERROR_COLOR}", fillcolor="#fdecea", '
                     f'fontcolor="{_ERROR_COLOR}"')
    return f"{indent}{quote_id(node['id'])} [{', '.join(attrs)}];"


def graph_to_dot(graph: dict) -> str:
    """The DOT text of ``graph`` (the graph JSON of docs/frontend.md)."""
    children: dict[str | None, list[dict]] = {}
    for group in graph.get("groups", []):
        children.setdefault(group.get("parent"), []).append(group)
    members: dict[str | None, list[dict]] = {}
    for node in graph.get("nodes", []):
        members.setdefault(node.get("group"), []).append(node)
    lines = [f"digraph {quote_id(graph.get('title') or 'graph')} {{",
             f"\tgraph [rankdir={graph.get('rankdir') or 'TB'}];",
             '\tnode [shape=box, style=rounded, fontname=Helvetica];',
             "\tedge [fontname=Helvetica, fontsize=10];"]

    def emit(group_id: str | None, indent: str) -> None:
        for node in members.get(group_id, []):
            lines.append(_node_statement(node, indent))
        for group in children.get(group_id, []):
            title = f"{group['name']} ({group['class_name']}, {group.get('params') or 0:,} params)"
            lines.append(f"{indent}subgraph {quote_id('cluster_' + group['id'])} {{")
            lines.append(f"{indent}\tlabel={quote_id(title)}; labeljust=l; style=dashed; "
                         f'color="{_MODEL_COLOR}";')
            emit(group["id"], indent + "\t")
            lines.append(f"{indent}}}")

    emit(None, "\t")
    for edge in graph.get("edges", []):
        attrs = [f"label={quote_id(edge['label'])}"] if edge.get("label") else []
        if edge.get("status") == "pending":
            attrs.append("style=dashed")
        elif edge.get("status") == "error":
            attrs.append(f'color="{_ERROR_COLOR}"')
        tail = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"\t{quote_id(edge['source'])} -> {quote_id(edge['target'])}{tail};")
    lines.append("}")
    return "\n".join(lines) + "\n"
