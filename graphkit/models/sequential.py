"""``gk.Sequential``: a plain stack of single-input, single-output layers."""
from __future__ import annotations

from typing import Any, Sequence

from ..graph.symbolic import SymbolicTensor
from ..layers.input_layer import Input, InputLayer
from ..layers.layer import Layer
from .functional import Functional
from .model import Model


class Sequential(Model):
    """Layers applied one after another. Built as soon as the input shape is known
    (an ``gk.Input``/``InputLayer`` first, ``input_shape=`` on the first layer, or the first call)."""

    def __init__(self, layers: Sequence[Layer] | None = None, trainable: bool = True, name: str | None = None):
        super().__init__(trainable=trainable, name=name)
        self._stack: list[Layer] = []
        self._input_layer: InputLayer | None = None
        self._functional: Functional | None = None
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_build_from_declared_shape()

    def add(self, layer: Layer | SymbolicTensor, rebuild: bool = True) -> None:
        """Append a layer (or a ``gk.Input`` tensor as the first entry)."""
        if isinstance(layer, SymbolicTensor):
            layer = layer._keras_history[0]
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a layer, got {type(layer).__name__}.")
        if isinstance(layer, InputLayer):
            if self._stack or self._input_layer is not None:
                raise ValueError("An InputLayer can only be the first entry of a Sequential model.")
            self._input_layer = layer
        else:
            if any(existing.name == layer.name for existing in self._stack):
                raise ValueError(f"Sequential '{self.name}' already has a layer named {layer.name!r}: "
                                 "duplicate layer name.")
            self._stack.append(layer)
        self._functional = None
        self.built = False
        if rebuild:
            self._maybe_build_from_declared_shape()

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self._stack:
            raise TypeError(f"Sequential '{self.name}' has no layers to pop.")
        layer = self._stack.pop()
        self._functional = None
        self.built = False
        self._maybe_build_from_declared_shape()
        return layer

    @property
    def layers(self) -> list[Layer]:
        return list(self._stack)

    def _tracked_attributes(self):
        # Weights follow the stack order (the functional graph holds the same layers).
        yield "_stack", self._stack

    def _maybe_build_from_declared_shape(self) -> None:
        if self._input_layer is not None:
            self._build_graph(self._input_layer.output)
        elif self._stack and self._stack[0]._batch_input_shape is not None:
            self._build_graph(Input(batch_shape=self._stack[0]._batch_input_shape))

    def _build_graph(self, inputs: SymbolicTensor) -> None:
        if not self._stack:
            return
        x = inputs
        for layer in self._stack:
            x = layer(x)
        self._functional = Functional(inputs, x, name=self.name)
        self.built = True

    def build(self, input_shape: Any = None) -> None:
        if input_shape is None:
            raise ValueError(f"Sequential '{self.name}' cannot be built without an input shape.")
        self._build_graph(Input(batch_shape=tuple(input_shape)))

    def _build_once(self, input_shape: Any) -> None:
        if self._functional is None:
            self.build(tuple(None if i == 0 else d for i, d in enumerate(input_shape)))

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        if self._functional is None:
            self.build(tuple(None if i == 0 else d for i, d in enumerate(inputs.shape)))
        return self._functional.call(inputs, training=training)

    def compute_output_spec(self, args: tuple, kwargs: dict) -> Any:
        if self._functional is None:
            self.build(args[0].shape)
        return self._functional.compute_output_spec(args, kwargs)

    @property
    def inputs(self) -> list:
        return self._functional.inputs if self._functional else []

    @property
    def outputs(self) -> list:
        return self._functional.outputs if self._functional else []
