"""The order of a Functional graph, computed once when the model is made.

One depth-first walk from the outputs towards the inputs gives everything the rest of the
package reads about a graph:

* ``nodes``: the execution order (the model's input nodes, then every node after its parents);
* ``layers``: each layer once, in execution order (``model.layers``);
* ``depth_order`` and ``nodes_by_depth``: Keras's ``map_graph`` order, used by ``summary()``,
  configs and pictures (depth counts from the outputs, 0, towards the inputs; layers are
  listed from the deepest on, ties broken by the order the walk first meets them; a shared
  layer takes the greatest depth of its nodes);
* ``calls(layer)``: the recorded calls of a layer that belong to this graph (a layer used in
  several models keeps every model's calls in ``_inbound_nodes``).

The walk is iterative, so thousand-layer models need no deep recursion. Reaching an Input that
is not one of the model's inputs raises "Graph disconnected" naming the tensor.
"""
from __future__ import annotations

from typing import Any

from .node import Node
from .symbolic import SymbolicTensor

__all__ = ["Topology"]


def _producer(tensor: SymbolicTensor) -> Node:
    layer, node_index, _ = tensor._keras_history
    return layer._inbound_nodes[node_index]


class Topology:
    """The nodes and layers between ``inputs`` and ``outputs``, in execution and in Keras's order."""

    __slots__ = ("inputs", "outputs", "nodes", "layers", "depth_order", "nodes_by_depth", "node_ids")

    def __init__(self, inputs: list[SymbolicTensor], outputs: list[SymbolicTensor]) -> None:
        self.inputs, self.outputs = list(inputs), list(outputs)
        post_order, first_seen = self._walk()
        input_nodes = [_producer(t) for t in self.inputs]
        self.nodes: list[Node] = input_nodes + [n for n in post_order if not n.is_input]
        self.node_ids: frozenset[int] = frozenset(id(n) for n in self.nodes)
        self.layers: list = list({id(n.operation): n.operation for n in self.nodes}.values())
        self.depth_order, self.nodes_by_depth = self._depths(post_order, first_seen, input_nodes)

    def calls(self, layer) -> list[Node]:
        """The calls of ``layer`` recorded in this graph, in call order."""
        return [node for node in layer._inbound_nodes if id(node) in self.node_ids]

    def _walk(self) -> tuple[list[Node], dict[int, int]]:
        """(every node reached from the outputs, parents first; {id(layer): order first met})."""
        input_ids = {id(t) for t in self.inputs}
        post_order: list[Node] = []
        first_seen: dict[int, int] = {}
        entered: set[int] = set()

        def enter(tensor: SymbolicTensor, consumer: str):
            node = _producer(tensor)
            if id(node) in entered:
                return None
            if node.is_input and id(tensor) not in input_ids:
                raise ValueError(f"Graph disconnected: cannot obtain a value for tensor {tensor.name!r} "
                                 f"(shape {tensor.shape}) needed by {consumer}: it is not one of the model's "
                                 f"inputs {[t.name for t in self.inputs]}.")
            entered.add(id(node))
            first_seen.setdefault(id(node.operation), len(first_seen))
            parents = iter(()) if node.is_input or id(tensor) in input_ids else iter(node.input_tensors)
            return node, parents

        for output in self.outputs:
            first = enter(output, "the model outputs")
            stack = [first] if first else []
            while stack:
                node, parents = stack[-1]
                for parent in parents:
                    entry = enter(parent, f"layer '{node.operation.name}'")
                    if entry:
                        stack.append(entry)
                        break
                else:
                    stack.pop()
                    post_order.append(node)
        return post_order, first_seen

    @staticmethod
    def _depths(post_order: list[Node], first_seen: dict[int, int],
                input_nodes: list[Node]) -> tuple[list, dict[int, list[Node]]]:
        node_depth: dict[int, int] = {}
        nodes_by_id: dict[int, Node] = {}
        layer_depth: dict[int, int] = {}
        layers_by_id: dict[int, Any] = {}
        for node in reversed(post_order):
            layer_id = id(node.operation)
            depth = max(node_depth.get(id(node), 0), layer_depth.get(layer_id, 0))
            nodes_by_id[id(node)] = node
            layers_by_id[layer_id] = node.operation
            layer_depth[layer_id] = node_depth[id(node)] = depth
            if not node.is_input:
                for tensor in node.input_tensors:
                    parent = _producer(tensor)
                    nodes_by_id[id(parent)] = parent
                    node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
        for node in input_nodes:  # inputs that no output depends on
            layer_id = id(node.operation)
            if layer_id not in layer_depth:
                layer_depth[layer_id] = node_depth[id(node)] = 0
                first_seen[layer_id] = -1
                layers_by_id[layer_id] = node.operation
                nodes_by_id[id(node)] = node
        nodes_by_depth: dict[int, list[Node]] = {}
        for node_id, depth in node_depth.items():
            nodes_by_depth.setdefault(depth, []).append(nodes_by_id[node_id])
        order = sorted(layer_depth, key=lambda i: (-layer_depth[i], first_seen[i]))
        return [layers_by_id[i] for i in order], nodes_by_depth
