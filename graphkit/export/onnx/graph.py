"""An ONNX graph under construction: nodes, weights and unique value names, and the peephole
pass that removes the transposes layout changes leave back to back.

Converters add nodes with :meth:`GraphBuilder.op` (value names come from the layer being
converted: ``conv2d/Conv``, ``conv2d/Conv_1``...) and weights with :meth:`GraphBuilder.constant`.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy

from . import proto


class OnnxNode:
    """One operator call: ``op_type`` from ``inputs`` to ``outputs`` with ``attributes``."""

    __slots__ = ("op_type", "inputs", "outputs", "name", "attributes")

    def __init__(self, op_type: str, inputs: list[str], outputs: list[str], name: str, attributes: dict) -> None:
        self.op_type, self.inputs, self.outputs, self.name, self.attributes = \
            op_type, inputs, outputs, name, attributes


class GraphBuilder:
    """Collects the nodes (in topological order) and initializers of one graph."""

    def __init__(self) -> None:
        self.nodes: list[OnnxNode] = []
        self.initializers: dict[str, numpy.ndarray] = {}
        self.scope = ""  # the layer being converted: the prefix of new names
        self._taken: set[str] = set()

    def fresh(self, hint: str) -> str:
        """A new value or node name: ``scope/hint``, with ``_1``, ``_2``... when taken."""
        base = f"{self.scope}/{hint}" if self.scope else hint
        name, count = base, 0
        while name in self._taken:
            count += 1
            name = f"{base}_{count}"
        self._taken.add(name)
        return name

    def op(self, op_type: str, inputs: Sequence[str], outputs: int = 1, **attributes) -> str | list[str]:
        """Add a node; returns its output name (a list of names when ``outputs > 1``)."""
        names = [self.fresh(op_type)] + [self.fresh(f"{op_type}_out{i}") for i in range(1, outputs)]
        self.nodes.append(OnnxNode(op_type, list(inputs), names, names[0], attributes))
        return names[0] if outputs == 1 else names

    def constant(self, value, hint: str, dtype: str | None = None) -> str:
        """An initializer holding ``value``: float32 for floats, int64 for ints unless ``dtype``."""
        array = numpy.asarray(value)
        if dtype is None:
            dtype = "float32" if array.dtype.kind in "fc" else "int64" if array.dtype.kind in "iub" else array.dtype
        name = self.fresh(hint)
        self.initializers[name] = numpy.ascontiguousarray(array, dtype=dtype)
        return name

    def ints(self, values: Iterable[int], hint: str = "axes") -> str:
        """A 1-D int64 initializer (shapes, axes, pads, starts...)."""
        return self.constant([int(v) for v in values], hint, "int64")

    def transpose(self, x: str, perm: Sequence[int]) -> str:
        return self.op("Transpose", [x], perm=list(perm))

    # --------------------------------------------------------------- encoding
    def encode(self, name: str, inputs: list[bytes], outputs: list[bytes]) -> proto.Buffers:
        """The GraphProto, given the encoded input and output ValueInfoProtos."""
        nodes = [proto.node(n.op_type, n.inputs, n.outputs, n.name, n.attributes) for n in self.nodes]
        weights = [proto.tensor(k, v) for k, v in self.initializers.items()]
        return proto.graph(nodes, name, weights, inputs, outputs)

    # ----------------------------------------------------------- simplifying
    def simplify(self, outputs: Sequence[str]) -> None:
        """Drop transpose pairs that undo each other, then nodes and weights nothing uses.

        ``outputs`` (the graph's outputs) keep their names."""
        protected = set(outputs)
        producer: dict[str, OnnxNode] = {}
        replaced: dict[str, str] = {}
        for node in self.nodes:
            node.inputs = [replaced.get(i, i) for i in node.inputs]
            if node.op_type == "Transpose" and node.outputs[0] not in protected:
                source = producer.get(node.inputs[0])
                if source is not None and source.op_type == "Transpose" and _undoes(source, node):
                    replaced[node.outputs[0]] = source.inputs[0]
            for out in node.outputs:
                producer[out] = node
        self._remove_unused(protected)

    def _remove_unused(self, needed: set[str]) -> None:
        needed = set(needed)
        kept = []
        for node in reversed(self.nodes):
            if any(out in needed for out in node.outputs):
                kept.append(node)
                needed.update(node.inputs)
        self.nodes = kept[::-1]
        self.initializers = {k: v for k, v in self.initializers.items() if k in needed}

    def rename(self, old: str, new: str) -> None:
        """Rename the value ``old`` (a node output) to ``new`` wherever it appears."""
        for node in self.nodes:
            node.inputs = [new if i == old else i for i in node.inputs]
            node.outputs = [new if o == old else o for o in node.outputs]


def _undoes(first: OnnxNode, second: OnnxNode) -> bool:
    """Whether transposing by ``first`` then ``second`` leaves every axis where it was."""
    a, b = first.attributes["perm"], second.attributes["perm"]
    return len(a) == len(b) and all(a[b[i]] == i for i in range(len(a)))
