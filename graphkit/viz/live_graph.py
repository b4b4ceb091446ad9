"""The live view's graph as plain data, updated one event at a time (no widget here).

Events: a successful symbolic layer call, a failed one, a model created over symbolic tensors.
Each event changes a few nodes, edges and groups; :meth:`LiveGraph.take_delta` hands out just
those changes (the ``delta`` message of docs/frontend.md), so the work per layer call does not
grow with the graph.

Rules:

* a node per layer object; its id is the layer name when first seen (``#2``, ``#3`` when
  taken) and never changes. A layer called again (shared) stays one node, with one edge per
  (producer, consumer, shape). A model layer with a graph (Functional, Sequential) is a group
  instead: edges into it go to its inner ``InputLayer`` nodes, edges out of it leave from the
  inner layer making that output;
* new nodes are ``pending`` (drawn dashed). Creating a model turns its layers' nodes to
  ``model`` and puts them in the model's group, unless a model created earlier already holds
  them; models inside it become its child groups. A Sequential's group follows its stack;
* a failed call becomes an ``error`` node (id ``"<name>:error"``) with the error text and
  edges from its inputs. It adds no parameters. It is removed by the next successful call of
  the same layer or of any layer consuming one of its input tensors (the fixed call, typically
  a re-run cell), or by a later failure on those inputs (which shows its own error);
* a Functional model whose creation fails ("Graph disconnected") becomes an error node
  (``"<model>:error"``) with edges from the outputs it was given; the next model created
  removes it, as does a call consuming one of those outputs;
* a model built before the view saw it (``gk.live(model)``, or calling an older model) is
  added whole: its nested models as groups, collapsed;
* a graph scoped to a model (``LiveGraph(model)``) keeps only what grows out of it: calls
  consuming a tensor it draws, models made over its tensors (``in_scope``);
* the title is the name of the last model added (``"live"`` before any).
"""
from __future__ import annotations

from ..graph.node import flatten_structure
from ..graph.symbolic import SymbolicTensor
from .graph_data import graph_document
from .nodes import edge_dict, error_node, group_dict, layer_node, param_count, unique_weights, weight_stats
from .walk import Ports, is_expandable, is_functional, is_sequential, nested_input_order, unique_id

__all__ = ["LiveGraph"]


class LiveGraph:
    """Nodes, edges and groups of everything recorded since creation (or :meth:`clear`); with a
    ``scope`` model, that model and what grows out of it."""

    def __init__(self, scope=None) -> None:
        self.scope = scope
        self.clear()

    def clear(self) -> None:
        """Forget everything (pending changes included); a scoped graph starts again from its model."""
        self.title = "live"
        self._nodes: dict[str, dict] = {}
        self._layer_at: dict[str, object] = {}         # node id -> layer (kept alive: ids are by identity)
        self._node_of: dict[int, str] = {}              # id(layer) -> node id
        self._edges: dict[tuple, dict] = {}             # (source, target, label) -> edge
        self._edges_at: dict[str, set[tuple]] = {}      # node id -> keys of its edges
        self._groups: dict[str, dict] = {}
        self._model_at: dict[str, object] = {}          # group id -> model
        self._group_of: dict[int, str] = {}             # id(model) -> group id
        self._ports: dict[int, Ports] = {}              # id(model) -> where its edges attach
        self._errors: dict[str, tuple] = {}             # error node id -> (layer, its input tensors)
        self._failed_models: set = set()                # models whose creation failed (error nodes)
        self._recorded: set[int] = set()                # id() of the call nodes drawn (alive in their layers)
        self._used: set[str] = set()
        self.total_params = 0
        self.trainable_params = 0
        self._trainable_of: dict[str, int] = {}         # node id -> its layer's trainable parameters
        self._changed_nodes: dict[str, dict] = {}
        self._changed_edges: dict[tuple, dict] = {}
        self._changed_groups: dict[str, dict] = {}
        self._removed: list[str] = []
        if self.scope is not None:
            self.add_model(self.scope)

    # ------------------------------------------------------------------ state
    @property
    def nodes(self) -> list[dict]:
        return list(self._nodes.values())

    @property
    def edges(self) -> list[tuple[str, str]]:
        return [(edge["source"], edge["target"]) for edge in self._edges.values()]

    def document(self) -> dict:
        """The whole graph JSON (no summary)."""
        return graph_document(self.title, list(self._nodes.values()), list(self._edges.values()),
                              list(self._groups.values()), self.total_params, self.trainable_params)

    def in_scope(self, tensors) -> bool:
        """Whether an event on ``tensors`` (a call's inputs, a model's inputs or outputs) belongs
        here: always without a scope, else when one of them leaves a layer or model drawn here."""
        if self.scope is None:
            return True
        for tensor in tensors:
            history = getattr(tensor, "_keras_history", None)
            if history is not None and (id(history[0]) in self._node_of or id(history[0]) in self._group_of):
                return True
        return False

    def details(self, item_id: str) -> list[dict] | None:
        """Weight statistics of a node's layer or a group's model, computed now (None if unknown)."""
        layer = self._layer_at.get(item_id) or self._model_at.get(item_id)
        return weight_stats(layer) if layer is not None else None

    def take_delta(self) -> dict | None:
        """The changes since the last call, as a ``delta`` message body (None when nothing changed)."""
        if not (self._changed_nodes or self._changed_edges or self._changed_groups or self._removed):
            return None
        delta = {"nodes": list(self._changed_nodes.values()), "remove": self._removed,
                 "edges": list(self._changed_edges.values()), "groups": list(self._changed_groups.values()),
                 "total_params": self.total_params, "trainable_params": self.trainable_params,
                 "title": self.title}
        self._changed_nodes, self._changed_edges, self._changed_groups, self._removed = {}, {}, {}, []
        return delta

    # ----------------------------------------------------------------- events
    def layer_called(self, layer, node) -> None:
        """A successful call of ``layer`` recorded ``node``."""
        if not self.in_scope(node.input_tensors):
            return
        self._remove_errors(layer, node.input_tensors)
        self._record(layer, node)

    def layer_failed(self, layer, error: BaseException, args: tuple) -> None:
        """A call of ``layer`` on ``args`` raised ``error``."""
        inputs = [t for t in flatten_structure(args) if isinstance(t, SymbolicTensor)]
        if not self.in_scope(inputs):
            return
        self._remove_errors(layer, inputs)
        node_id = unique_id(f"{layer.name}:error", self._used)
        self._layer_at[node_id] = layer
        self._errors[node_id] = (layer, inputs)
        self._put_node(error_node(layer, node_id, error, inputs))
        for tensor in inputs:
            self._connect(tensor, node_id)

    def add_model(self, model) -> None:
        """``model`` groups its layers: a model just created (or a Sequential whose stack changed),
        or an existing model to show. Its calls not seen yet are added, its nested models as
        collapsed groups. Error nodes of models that failed to be made go."""
        if model is not self.scope and not self.in_scope(getattr(model, "inputs", None) or []):
            return
        for node_id, (failed, _) in list(self._errors.items()):
            if failed in self._failed_models:
                self._failed_models.discard(failed)
                del self._errors[node_id]
                self._remove_node(node_id)
        self._absorb(model, collapsed=False)
        self.title = model.name

    def clear_errors(self) -> None:
        """Remove every error node (stale failures the user no longer cares about)."""
        for node_id in list(self._errors):
            self._remove_node(node_id)
        self._errors.clear()
        self._failed_models.clear()

    def model_failed(self, model, error: BaseException) -> None:
        """Making ``model`` raised ``error`` (e.g. "Graph disconnected"): an error node named after
        it, with edges from the outputs it was given."""
        outputs = [t for t in getattr(model, "outputs", None) or [] if isinstance(t, SymbolicTensor)]
        if not self.in_scope(outputs):
            return
        node_id = unique_id(f"{model.name}:error", self._used)
        self._layer_at[node_id] = model
        self._errors[node_id] = (model, outputs)
        self._failed_models.add(model)
        self._put_node(error_node(model, node_id, error, outputs))
        for tensor in outputs:
            self._connect(tensor, node_id)

    # ---------------------------------------------------------------- helpers
    def _put_node(self, node: dict) -> None:
        old = self._nodes.get(node["id"])
        self.total_params += node["params"] - (old["params"] if old else 0)
        layer = self._layer_at[node["id"]]
        trainable = 0 if node["status"] == "error" else param_count(w for w in unique_weights(layer) if w.trainable)
        self.trainable_params += trainable - self._trainable_of.get(node["id"], 0)
        self._trainable_of[node["id"]] = trainable
        self._nodes[node["id"]] = node
        self._changed_nodes[node["id"]] = node
        self._edges_at.setdefault(node["id"], set())

    def _upsert_layer(self, layer) -> str:
        """The node of ``layer``, made or refreshed from all its calls; returns its id."""
        node_id = self._node_of.get(id(layer))
        if node_id is None:
            node_id = unique_id(layer.name, self._used)
            self._node_of[id(layer)] = node_id
            self._layer_at[node_id] = layer
            group, status = None, "pending"
        else:
            old = self._nodes[node_id]
            group, status = old["group"], old["status"]
        self._put_node(layer_node(layer, node_id, layer._inbound_nodes, group=group, status=status,
                                  with_weights=False))
        return node_id

    def _record(self, layer, node) -> None:
        """Draw one call: the layer's node (or its model's group) and edges from the call's inputs."""
        if id(node) in self._recorded:
            return
        self._recorded.add(id(node))
        if is_expandable(layer):
            ports = self._model_ports(layer)
            tensors = nested_input_order(layer, node)
            targets = [ports.entry(k) for k in range(len(tensors))]
        else:
            tensors = node.input_tensors
            targets = [self._upsert_layer(layer)] * len(tensors)
        for tensor, target in zip(tensors, targets):
            self._connect(tensor, target)

    def _exit(self, layer, index: int) -> str:
        """The node id that output ``index`` of ``layer`` leaves from (added when unseen)."""
        if is_expandable(layer):
            return self._model_ports(layer).exit(index)
        return self._node_of.get(id(layer)) or self._upsert_layer(layer)

    def _connect(self, tensor: SymbolicTensor, target: str) -> None:
        producer, _, index = tensor._keras_history
        source = self._exit(producer, index)
        edge = edge_dict(source, target, tensor, self._edge_status(source, target))
        key = (source, target, edge["label"])
        if self._edges.get(key) != edge:
            self._edges[key] = self._changed_edges[key] = edge
            self._edges_at[source].add(key)
            self._edges_at[target].add(key)

    def _edge_status(self, source: str, target: str) -> str:
        statuses = (self._nodes[source]["status"], self._nodes[target]["status"])
        if "error" in statuses:
            return "error"
        return "model" if statuses == ("model", "model") else "pending"

    def _set_status(self, node_id: str, group: str | None, status: str) -> None:
        node = self._nodes[node_id]
        if (node["group"], node["status"]) == (group, status):
            return
        node["group"], node["status"] = group, status
        self._changed_nodes[node_id] = node
        for key in self._edges_at[node_id]:
            edge = self._edges[key]
            new = self._edge_status(edge["source"], edge["target"])
            if edge["status"] != new:
                edge["status"] = new
                self._changed_edges[key] = edge

    def _remove_errors(self, layer, tensors: list) -> None:
        if not self._errors:
            return
        for node_id, (failed, inputs) in list(self._errors.items()):
            if failed is layer or any(t is s for t in tensors for s in inputs):
                del self._errors[node_id]
                self._remove_node(node_id)

    def _remove_node(self, node_id: str) -> None:
        node = self._nodes.pop(node_id)
        self.total_params -= node["params"]
        self.trainable_params -= self._trainable_of.pop(node_id)
        self._changed_nodes.pop(node_id, None)
        del self._layer_at[node_id]
        for key in self._edges_at.pop(node_id):
            edge = self._edges.pop(key, None)
            if edge is None:
                continue
            self._changed_edges.pop(key, None)
            other = edge["target"] if edge["source"] == node_id else edge["source"]
            self._edges_at.get(other, set()).discard(key)
        self._removed.append(node_id)

    # ----------------------------------------------------------------- models
    def _model_ports(self, model) -> Ports:
        if id(model) not in self._ports:
            self._absorb(model, collapsed=True)
        return self._ports[id(model)]

    def _absorb(self, model, collapsed: bool) -> None:
        """Draw the calls inside ``model`` not drawn yet, then group it."""
        calls = model._topology.nodes if is_functional(model) else \
            model._functional._topology.nodes if is_sequential(model) and model.inputs else []
        for node in calls:
            if node.is_input:
                self._exit(node.operation, 0)
            else:
                self._record(node.operation, node)
        self._group(model, collapsed)

    def _group(self, model, collapsed: bool) -> None:
        group_id = self._group_of.get(id(model))
        if group_id is None:
            group_id = unique_id(model.name, self._used)
            self._group_of[id(model)] = group_id
            self._model_at[group_id] = model
            self._groups[group_id] = group_dict(model, group_id, None, collapsed)
        else:
            self._groups[group_id]["params"] = param_count(unique_weights(model))
        self._changed_groups[group_id] = self._groups[group_id]
        inputs, outputs = list(getattr(model, "inputs", None) or []), list(getattr(model, "outputs", None) or [])
        members = list({id(layer): layer for layer in
                        [t._keras_history[0] for t in inputs] + list(model.layers)}.values())
        member_nodes = set()
        for layer in members:
            child = self._group_of.get(id(layer))
            if child is not None and is_expandable(layer):
                if child != group_id and self._groups[child]["parent"] is None:
                    self._groups[child]["parent"] = group_id
                    self._changed_groups[child] = self._groups[child]
                continue
            node_id = self._node_of.get(id(layer)) or self._upsert_layer(layer)
            member_nodes.add(node_id)
            self._set_status(node_id, self._nodes[node_id]["group"] or group_id, "model")
        for node_id, node in list(self._nodes.items()):  # layers that left (Sequential.pop)
            if node["group"] == group_id and node_id not in member_nodes:
                self._set_status(node_id, None, "pending")
        self._ports[id(model)] = Ports([self._exit(t._keras_history[0], t._keras_history[2]) for t in inputs],
                                       [self._exit(t._keras_history[0], t._keras_history[2]) for t in outputs])
