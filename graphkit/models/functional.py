"""Functional models: a graph of layer calls from symbolic inputs to outputs, run in topological order."""
from __future__ import annotations

from typing import Any

from ..engine.tensor import Tensor, to_array, wrap
from ..graph.node import Node, flatten_structure, map_structure
from ..graph.recording import announce_model
from ..graph.symbolic import SymbolicTensor
from ..graph.topology import Topology
from ..layers.input_layer import InputLayer
from ..layers.layer import Layer, _numeric_nest
from ..utils import traceback_utils
from .model import Model


class Functional(Model):
    """A model defined by ``gk.Model(inputs, outputs)``: single, list or dict inputs and outputs."""

    _convert_input_args = False  # call() converts each input to its gk.Input's dtype
    _autocast = False

    @traceback_utils.filter_traceback
    def __init__(self, inputs: Any, outputs: Any, name: str | None = None, trainable: bool = True,
                 *, _announce: bool = True, **kwargs: Any) -> None:
        # _announce=False: the graph runner inside a Sequential (which announces itself) stays quiet
        Layer.__init__(self, name=name, trainable=trainable, **kwargs)
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        try:
            self._connect(inputs, outputs)
        except Exception as exc:
            if _announce:
                announce_model(self, exc)
            raise
        self._plan = [_Step(node) for node in self._topology.nodes if not node.is_input]
        # Fast paths for the common single-input / single-output model.
        self._single_input = self.inputs[0] if len(self.inputs) == 1 else None
        self._single_output_id = id(outputs) if isinstance(outputs, SymbolicTensor) else None
        self.built = True
        if not trainable:
            self.trainable = False  # freezes every layer of the graph, as Keras does
        if _announce:
            announce_model(self)

    def _connect(self, inputs: Any, outputs: Any) -> None:
        """Find the layers between ``inputs`` and ``outputs`` (or raise the error that says why not)."""
        self.inputs = _symbolic_leaves(inputs, "inputs")
        self.outputs = _symbolic_leaves(outputs, "outputs")
        for tensor in self.inputs:
            layer = tensor._keras_history[0]
            if not isinstance(layer, InputLayer):
                # Keras allows intermediate tensors as inputs only via gk.Input; say so.
                raise ValueError(f"Model inputs must come from gk.Input; tensor {tensor.name!r} was produced by "
                                 f"layer '{layer.name}'.")
        self._topology = Topology(self.inputs, self.outputs)
        self._layers = self._topology.layers  # the tracked list: weights and checkpoints are found through it
        _check_unique_names(self._layers, self.name)

    @property
    def _functional(self) -> "Functional":
        return self

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    @property
    def input_names(self) -> list[str]:
        return [t._keras_history[0].name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [t._keras_history[0].name for t in self.outputs]

    @property
    def input(self) -> Any:
        """The symbolic input(s) the model was built from (a tensor, list or dict, as given)."""
        return _unpack_singleton(self._inputs_struct)

    @property
    def output(self) -> Any:
        """The symbolic output(s) the model was built from (a tensor, list or dict, as given)."""
        return _unpack_singleton(self._outputs_struct)

    @property
    def input_shape(self) -> Any:
        return _unpack_singleton(map_structure(lambda t: t.shape, self._inputs_struct))

    @property
    def output_shape(self) -> Any:
        return _unpack_singleton(map_structure(lambda t: t.shape, self._outputs_struct))

    # ------------------------------------------------------------- execution
    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        spec = self._single_input
        if spec is not None and isinstance(inputs, Tensor):
            values: dict[int, Any] = {id(spec): _checked_input(self, spec, inputs)}
        else:
            values = {}
            for tensor, value in zip(self.inputs, self._match_inputs(inputs)):
                values[id(tensor)] = value
        for step in self._plan:
            step.run(values, training)
        if self._single_output_id is not None:
            return values[self._single_output_id]
        return map_structure(lambda t: values[id(t)], self._outputs_struct)

    def _input_keys(self, inputs: dict) -> list[str]:
        """The keys a dict of call inputs is read with: the model's input dict keys, else Input names."""
        struct = self._inputs_struct
        if isinstance(struct, dict) and all(isinstance(v, SymbolicTensor) for v in struct.values()):
            keys = list(struct)
            if any(k in inputs for k in keys) or not any(n in inputs for n in self.input_names):
                return keys
        return self.input_names

    def _checked_input_keys(self, inputs: dict, model_name: str) -> list[str]:
        """:meth:`_input_keys` of ``inputs``, which must hold exactly those keys (else one error naming them)."""
        names = self._input_keys(inputs)
        missing = [n for n in names if n not in inputs]
        unexpected = [k for k in inputs if k not in names]
        if missing or unexpected:
            raise ValueError(f"Model '{model_name}' expects inputs named {names}; the input dict is missing "
                             f"{missing} and has unexpected keys {unexpected}.")
        return names

    def _match_inputs(self, inputs: Any) -> list:
        """Flatten call inputs in ``self.inputs`` order, checking count, rank and known dims."""
        if isinstance(inputs, dict):
            flat = [inputs[n] for n in self._checked_input_keys(inputs, self.name)]
        elif len(self.inputs) == 1 and (not isinstance(inputs, (list, tuple)) or _numeric_nest(inputs)):
            flat = [inputs]  # one array, tensor or nested list of numbers
        else:
            flat = flatten_structure(inputs)
        if len(flat) != len(self.inputs):
            raise ValueError(f"Model '{self.name}' expects {len(self.inputs)} input(s) "
                             f"({self.input_names}), got {len(flat)}.")
        return [_checked_input(self, spec, value) for spec, value in zip(self.inputs, flat)]

    def compute_output_spec(self, args: tuple, kwargs: dict) -> Any:
        """Output symbolic tensors for new symbolic inputs, without recording inner nodes."""
        values: dict[int, Any] = {}
        for tensor, value in zip(self.inputs, flatten_structure(args[0]) if not isinstance(args[0], dict)
                                 else [args[0][n] for n in self._input_keys(args[0])]):
            _check_compatible(self, tensor, value)
            values[id(tensor)] = value
        for step in self._plan:
            step.infer(values)
        return map_structure(lambda t: values[id(t)], self._outputs_struct)

    def compute_output_shape(self, input_shape: Any) -> Any:
        raise NotImplementedError  # compute_output_spec above handles symbolic calls

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict:
        """Keras 3's Functional config (see graphkit.saving.serialization)."""
        from ..saving.serialization import _functional_like_constructor, functional_get_config
        if not _functional_like_constructor(type(self)):
            return Model.get_config(self)  # a subclass with its own constructor: its own config
        return functional_get_config(self)


class _Step:
    """One node of the plan: where its inputs come from and where its outputs go."""

    __slots__ = ("layer", "args", "kwargs", "single_input", "output_ids", "single_output", "direct")

    def __init__(self, node: Node) -> None:
        self.layer = node.operation
        self.args = node.call_args
        self.kwargs = dict(node.call_kwargs)  # a recorded training=... holds unless the model call sets one
        simple = len(self.args) == 1 and isinstance(self.args[0], SymbolicTensor) and not self.kwargs
        self.single_input = id(self.args[0]) if simple else None
        self.output_ids = [id(t) for t in node.output_tensors]
        self.single_output = self.output_ids[0] if isinstance(node.outputs, SymbolicTensor) else None
        # Built layers that keep Layer.__call__ are run without re-checking for symbolic inputs.
        self.direct = type(self.layer).__call__ is Layer.__call__

    def _resolve(self, values: dict):
        lookup = lambda v: values[id(v)] if isinstance(v, SymbolicTensor) else v  # noqa: E731
        return map_structure(lookup, self.args), map_structure(lookup, self.kwargs)

    def run(self, values: dict, training: bool | None) -> None:
        layer = self.layer
        if self.single_input is not None:
            x = values[self.single_input]
            if self.direct and layer.built and isinstance(x, Tensor):
                if layer.input_spec is not None:
                    layer._check_input_spec(x)
                outputs = layer._call_with_context(x, (), {} if training is None else {"training": training})
            elif training is None:
                outputs = layer(x)
            else:
                outputs = layer(x, training=training)
        else:
            args, kwargs = self._resolve(values)
            if training is not None:
                kwargs["training"] = training
            outputs = layer(*args, **kwargs)
        if self.single_output is not None:
            values[self.single_output] = outputs
        else:
            for tid, out in zip(self.output_ids, flatten_structure(outputs)):
                values[tid] = out

    def infer(self, values: dict) -> None:
        args, kwargs = self._resolve(values)
        layer = self.layer
        layer._check_input_spec(args[0])
        outputs = layer.compute_output_spec(args, kwargs)
        for tid, out in zip(self.output_ids, flatten_structure(outputs)):
            values[tid] = out


def _unpack_singleton(structure: Any) -> Any:
    if isinstance(structure, (list, tuple)) and len(structure) == 1:
        return structure[0]
    return structure


def _checked_input(model: "Functional", spec: SymbolicTensor, value: Any) -> Tensor:
    """``value`` as a tensor of the input's dtype, after checking its rank and known dims."""
    if not isinstance(value, Tensor):
        value = wrap(to_array(value, spec.dtype), None, 0)
    elif value.data.dtype != spec.dtype:
        from ..ops.cast import cast
        value = cast(value, spec.dtype)
    shape = value.data.shape
    if len(shape) != len(spec.shape) or any(e is not None and e != g for e, g in zip(spec.shape, shape)):
        _check_compatible(model, spec, value)
    return value


def _symbolic_leaves(structure: Any, what: str) -> list[SymbolicTensor]:
    leaves = flatten_structure(structure)
    for leaf in leaves:
        if not isinstance(leaf, SymbolicTensor):
            raise TypeError(f"Model {what} must be symbolic tensors (from gk.Input and layer calls), "
                            f"got {type(leaf).__name__}.")
    return leaves


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
