"""Graphs for the board and for TensorBoard: the op graph of a ``gk.function`` trace as graph JSON,
any graph JSON as GraphDef nodes, and ``graphkit-graph.json``.

A traced function's graph JSON has the layout of :func:`graphkit.viz.graph_data.model_graph`'s
(what the live view draws): one node per argument (``Input``), captured variable (``Variable``),
constant (``Const``) and primitive call (``class_name`` = the primitive), edges labelled with
the shapes they carry. TensorBoard gets the same graph as ``NodeDef`` s: ``op`` = the class
name, ``input`` = the edge sources, attributes ``output_shape`` (text) and ``dtype``.
"""
from __future__ import annotations

import json
import os
from typing import Any, Mapping

from ..saving.atomic import atomic_write_bytes
from ..summary.graph_def import NodeDef
from ..viz.graph_data import graph_document
from ..viz.walk import format_shape

GRAPH_FILE = "graphkit-graph.json"


def _node(node_id: str, class_name: str, output_shape: Any, dtype: Any, input_shapes: list[str],
          params: int = 0, trainable: bool = False) -> dict:
    return {"id": node_id, "name": node_id, "class_name": class_name, "group": None, "status": "model",
            "input_shapes": input_shapes, "output_shape": format_shape(output_shape) if output_shape is not None
            else None, "dtype": None if dtype is None else str(dtype), "params": int(params),
            "trainable": bool(trainable), "formula": None, "activation": None, "config": None, "error": None,
            "weights": None}


def function_graph(concrete_function: Any) -> dict:
    """The graph JSON of a ``gk.function`` concrete function's op graph."""
    graph = concrete_function.graph
    nodes: list[dict] = []
    ids: dict[tuple, str] = {}
    shapes: dict[tuple, tuple] = {}
    for k, spec in enumerate(graph.inputs):
        ref = ("input", k)
        ids[ref], shapes[ref] = spec.name or f"input_{k}", spec.shape
        nodes.append(_node(ids[ref], "Input", spec.shape, spec.dtype, []))
    for k, variable in enumerate(graph.captures):
        ref = ("capture", k)
        ids[ref], shapes[ref] = variable.name, tuple(variable.shape)
        nodes.append(_node(ids[ref], "Variable", variable.shape, variable.dtype, [], params=variable.data.size,
                           trainable=getattr(variable, "trainable", False)))
    for k, constant in enumerate(graph.constants):
        ref = ("const", k)
        ids[ref], shapes[ref] = f"const_{k}", tuple(constant.shape)
        nodes.append(_node(ids[ref], "Const", constant.shape, constant.dtype, []))
    edges: list[dict] = []
    for i, node in enumerate(graph.nodes):
        for j, spec in enumerate(node.outputs):
            ids[("node", i, j)], shapes[("node", i, j)] = node.name, spec.shape
        nodes.append(_node(node.name, node.op, node.outputs[0].shape if node.outputs else None,
                           node.outputs[0].dtype if node.outputs else None,
                           [format_shape(shapes[ref]) for ref in node.inputs]))
        for ref in node.inputs:
            edges.append({"source": ids[ref], "target": node.name, "label": format_shape(shapes[ref]),
                          "status": "model"})
    params = sum(n["params"] for n in nodes if n["class_name"] == "Variable")
    trainable = sum(n["params"] for n in nodes if n["class_name"] == "Variable" and n["trainable"])
    return graph_document(concrete_function.name, nodes, edges, [], params, trainable)


def graph_def_nodes(graph: Mapping[str, Any], scope: str = "") -> list[NodeDef]:
    """The nodes of a graph JSON as TensorBoard ``NodeDef`` s, names prefixed with ``scope/``
    when a scope is given (TensorBoard draws ``/`` as nesting)."""
    prefix = f"{scope}/" if scope else ""
    sources: dict[str, list[str]] = {}
    for edge in graph.get("edges", ()):
        sources.setdefault(edge["target"], []).append(prefix + edge["source"])
    out = []
    for node in graph.get("nodes", ()):
        attr = {key: node[key] for key in ("output_shape", "dtype") if node.get(key)}
        out.append(NodeDef(prefix + node["id"], node["class_name"], tuple(dict.fromkeys(sources.get(node["id"], ()))),
                           attr=attr))
    return out


def write_graph_file(logdir: str | os.PathLike, model_graph: Mapping[str, Any] | None = None,
                     op_graphs: Mapping[str, Any] | None = None, title: str = "") -> str:
    """Write ``<logdir>/graphkit-graph.json`` atomically: ``model_graph`` (or the graph already
    there, or an empty graph titled ``title``) with ``op_graphs`` merged into its ``"op_graphs"``."""
    path = os.path.join(os.fspath(logdir), GRAPH_FILE)
    existing: dict = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as file:
            existing = json.load(file)
    document = dict(model_graph) if model_graph is not None else \
        existing or graph_document(title, [], [], [], 0, 0)
    merged = {**existing.get("op_graphs", {}), **document.get("op_graphs", {}), **(op_graphs or {})}
    if merged:
        document["op_graphs"] = merged
    data = json.dumps(document, separators=(",", ":")).encode("utf-8")
    return atomic_write_bytes(path, data)
