"""Functional models: a graph of layer calls from symbolic inputs to outputs, run in topological order."""
from __future__ import annotations

from typing import Any

from ..engine.tensor import Tensor, to_array, wrap
from ..graph.node import Node, flatten_structure, map_structure
from ..graph.symbolic import SymbolicTensor
from ..layers.input_layer import InputLayer
from ..layers.layer import Layer
from .model import Model


class Functional(Model):
    """A model defined by ``gk.Model(inputs, outputs)``: single, list or dict inputs and outputs."""

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None, trainable: bool = True,
                 **kwargs: Any) -> None:
        Layer.__init__(self, name=name, trainable=trainable, **kwargs)
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self.inputs = _symbolic_leaves(inputs, "inputs")
        self.outputs = _symbolic_leaves(outputs, "outputs")
        for tensor in self.inputs:
            layer = tensor._keras_history[0]
            if not isinstance(layer, InputLayer):
                # Keras allows intermediate tensors as inputs only via gk.Input; say so.
                raise ValueError(f"Model inputs must come from gk.Input; tensor {tensor.name!r} was produced by "
                                 f"layer '{layer.name}'.")
        self._nodes = _topological_nodes(self.inputs, self.outputs)
        self._layers = _unique([node.operation for node in self._nodes])
        _check_unique_names(self._layers, self.name)
        self._plan = [_Step(node) for node in self._nodes if not node.is_input]
        self.built = True

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    @property
    def input_names(self) -> list[str]:
        return [t._keras_history[0].name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [t._keras_history[0].name for t in self.outputs]

    # ------------------------------------------------------------- execution
    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        values: dict[int, Any] = {}
        for tensor, value in zip(self.inputs, self._match_inputs(inputs)):
            values[id(tensor)] = value
        for step in self._plan:
            step.run(values, training)
        return map_structure(lambda t: values[id(t)], self._outputs_struct)

    def _match_inputs(self, inputs: Any) -> list:
        """Flatten call inputs in ``self.inputs`` order, checking count, rank and known dims."""
        if isinstance(inputs, dict):
            names = self.input_names
            missing = [n for n in names if n not in inputs]
            unexpected = [k for k in inputs if k not in names]
            if missing or unexpected:
                raise ValueError(f"Model '{self.name}' expects inputs named {names}; missing {missing}, "
                                 f"unexpected {unexpected}.")
            flat = [inputs[n] for n in names]
        else:
            flat = flatten_structure(inputs)
        if len(flat) != len(self.inputs):
            raise ValueError(f"Model '{self.name}' expects {len(self.inputs)} input(s) "
                             f"({self.input_names}), got {len(flat)}.")
        checked = []
        for spec, value in zip(self.inputs, flat):
            if not isinstance(value, Tensor):
                value = wrap(to_array(value, spec.dtype), None, 0)
            elif value.dtype != spec.dtype:
                from ..ops.cast import cast
                value = cast(value, spec.dtype)
            _check_compatible(self, spec, value)
            checked.append(value)
        return checked

    def compute_output_spec(self, args: tuple, kwargs: dict) -> Any:
        """Output symbolic tensors for new symbolic inputs, without recording inner nodes."""
        values: dict[int, Any] = {}
        for tensor, value in zip(self.inputs, flatten_structure(args[0]) if not isinstance(args[0], dict)
                                 else [args[0][n] for n in self.input_names]):
            _check_compatible(self, tensor, value)
            values[id(tensor)] = value
        for step in self._plan:
            step.infer(values)
        return map_structure(lambda t: values[id(t)], self._outputs_struct)

    def compute_output_shape(self, input_shape: Any) -> Any:
        raise NotImplementedError  # compute_output_spec above handles symbolic calls


class _Step:
    """One node of the plan: where its inputs come from and where its outputs go."""

    __slots__ = ("layer", "args", "kwargs", "single_input", "output_ids", "output_struct")

    def __init__(self, node: Node) -> None:
        self.layer = node.operation
        self.args = node.call_args
        self.kwargs = {k: v for k, v in node.call_kwargs.items() if k != "training"}
        simple = len(self.args) == 1 and isinstance(self.args[0], SymbolicTensor) and not self.kwargs
        self.single_input = id(self.args[0]) if simple else None
        self.output_ids = [id(t) for t in node.output_tensors]

    def _resolve(self, values: dict):
        lookup = lambda v: values[id(v)] if isinstance(v, SymbolicTensor) else v  # noqa: E731
        return map_structure(lookup, self.args), map_structure(lookup, self.kwargs)

    def run(self, values: dict, training: bool | None) -> None:
        if self.single_input is not None:
            outputs = self.layer(values[self.single_input], training=training) if training is not None \
                else self.layer(values[self.single_input])
        else:
            args, kwargs = self._resolve(values)
            if training is not None:
                kwargs["training"] = training
            outputs = self.layer(*args, **kwargs)
        for tid, out in zip(self.output_ids, flatten_structure(outputs)):
            values[tid] = out

    def infer(self, values: dict) -> None:
        args, kwargs = self._resolve(values)
        layer = self.layer
        layer._check_input_spec(args[0])
        outputs = layer.compute_output_spec(args, kwargs)
        for tid, out in zip(self.output_ids, flatten_structure(outputs)):
            values[tid] = out


def _symbolic_leaves(structure: Any, what: str) -> list[SymbolicTensor]:
    leaves = flatten_structure(structure)
    for leaf in leaves:
        if not isinstance(leaf, SymbolicTensor):
            raise TypeError(f"Model {what} must be symbolic tensors (from gk.Input and layer calls), "
                            f"got {type(leaf).__name__}.")
    return leaves


def _producer(tensor: SymbolicTensor) -> Node:
    layer, node_index, _ = tensor._keras_history
    return layer._inbound_nodes[node_index]


def _topological_nodes(inputs: list[SymbolicTensor], outputs: list[SymbolicTensor]) -> list[Node]:
    """Input nodes (in model order), then every node between inputs and outputs after its parents.

    Iterative depth-first search, so thousand-layer models need no deep recursion. Reaching an
    Input that is not one of ``inputs`` raises "Graph disconnected" naming the tensor.
    """
    input_ids = {id(t) for t in inputs}
    order: list[Node] = []
    done: set[int] = set()

    def enter(tensor: SymbolicTensor, consumer: str):
        node = _producer(tensor)
        if id(tensor) in input_ids or id(node) in done:
            return None
        if node.is_input:
            raise ValueError(f"Graph disconnected: cannot obtain a value for tensor {tensor.name!r} "
                             f"(shape {tensor.shape}) needed by {consumer}: it is not one of the model's "
                             f"inputs {[t.name for t in inputs]}.")
        done.add(id(node))
        return node, iter(node.input_tensors)

    for output in outputs:
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
                order.append(node)
    return [_producer(t) for t in inputs] + order


def _unique(items: list) -> list:
    seen: set[int] = set()
    out = []
    for item in items:
        if id(item) not in seen:
            seen.add(id(item))
            out.append(item)
    return out


def _check_unique_names(layers: list[Layer], model_name: str) -> None:
    seen: dict[str, Layer] = {}
    for layer in layers:
        if layer.name in seen:
            raise ValueError(f"Model '{model_name}' has a duplicate layer name {layer.name!r}: every layer in a "
                             f"model needs a unique name.")
        seen[layer.name] = layer


def _check_compatible(model: Functional, spec: SymbolicTensor, value: Any) -> None:
    shape = tuple(value.shape)
    input_name = spec._keras_history[0].name
    if len(shape) != len(spec.shape):
        raise ValueError(f"Input '{input_name}' of model '{model.name}' expected shape {spec.shape} "
                         f"(rank {len(spec.shape)}), got shape {shape} (rank {len(shape)}).")
    for expected, got in zip(spec.shape, shape):
        if expected is not None and got is not None and expected != got:
            raise ValueError(f"Input '{input_name}' of model '{model.name}' expected shape {spec.shape}, "
                             f"got {shape}.")
