"""``gk.Sequential``: a plain stack of single-input, single-output layers."""
from __future__ import annotations

from typing import Any, Sequence

from .. import backend
from ..graph.recording import announce_model
from ..graph.symbolic import SymbolicTensor
from ..layers.input_layer import Input, InputLayer
from ..layers.layer import Layer, _shape_structure
from .functional import Functional
from .model import Model


class Sequential(Model):
    """Layers applied one after another. Built as soon as the input shape is known
    (an ``gk.Input``/``InputLayer`` first, ``input_shape=`` on the first layer, or the first call).

    The graph grows with the stack: ``add`` calls only the new layer on the last symbolic output
    (each layer keeps a single node), ``pop`` drops the last one; the Functional model that runs
    the stack is made again only when it is next needed.
    """

    _convert_input_args = False  # the inner Functional converts inputs to the Input's dtype
    _autocast = False

    def __init__(self, layers: Sequence[Layer] | None = None, trainable: bool = True, name: str | None = None):
        super().__init__(trainable=trainable, name=name)
        self._stack: list[Layer] = []
        self._input_layer: InputLayer | None = None
        self._graph_input: SymbolicTensor | None = None   # set once the input shape is known
        self._chain: list[SymbolicTensor] = []            # symbolic output of each layer of the stack
        self._functional_cache: Functional | None = None
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_build_from_declared_shape()
        if not trainable:
            self.trainable = False

    # ---------------------------------------------------------------- the stack
    def add(self, layer: Layer | SymbolicTensor, rebuild: bool = True) -> None:
        """Append a layer (or a ``gk.Input`` tensor as the first entry)."""
        if isinstance(layer, SymbolicTensor):
            producer = layer._keras_history[0] if layer._keras_history else None
            if not isinstance(producer, InputLayer):
                raise TypeError("Sequential.add accepts a symbolic tensor only when it comes from gk.Input; "
                                "add layers instead.")
            layer = producer
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a layer, got {type(layer).__name__}.")
        if isinstance(layer, InputLayer):
            if self._stack or self._input_layer is not None:
                raise ValueError("An InputLayer can only be the first entry of a Sequential model.")
            self._input_layer = layer
            if rebuild:
                self._maybe_build_from_declared_shape()
            return
        if any(existing.name == layer.name for existing in self._stack):
            raise ValueError(f"Sequential '{self.name}' already has a layer named {layer.name!r}: "
                             "duplicate layer name.")
        self._stack.append(layer)
        self._functional_cache = None
        if not rebuild:
            return
        if self._graph_input is not None:
            try:
                self._chain.append(layer(self._chain[-1] if self._chain else self._graph_input))
            except Exception:
                self._stack.pop()  # a layer that does not fit is not added
                raise
            announce_model(self)
        else:
            self._maybe_build_from_declared_shape()

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self._stack:
            raise TypeError(f"Sequential '{self.name}' has no layers to pop.")
        layer = self._stack.pop()
        if len(self._chain) > len(self._stack):
            self._chain.pop()
        self._functional_cache = None
        if self._graph_input is not None:
            announce_model(self)
        return layer

    @property
    def layers(self) -> list[Layer]:
        return list(self._stack)

    def _tracked_attributes(self):
        # Weights follow the stack order (the functional graph holds the same layers).
        yield "_stack", self._stack

    # ----------------------------------------------------------------- building
    def _maybe_build_from_declared_shape(self) -> None:
        if self._graph_input is not None:
            return
        if self._input_layer is not None:
            self._start_graph(self._input_layer.output)
        elif self._stack and self._stack[0]._batch_input_shape is not None:
            self._start_graph(Input(batch_shape=self._stack[0]._batch_input_shape))

    def _start_graph(self, inputs: SymbolicTensor) -> None:
        """Call every layer of the stack on ``inputs`` (once), making the model built."""
        chain = []
        x = inputs
        for layer in self._stack:
            x = layer(x)
            chain.append(x)
        self._graph_input, self._chain = inputs, chain
        self._functional_cache = None
        self.built = True
        announce_model(self)

    @property
    def _functional(self) -> Functional | None:
        """The Functional model running the stack (None until the input shape is known)."""
        if self._functional_cache is None and self._graph_input is not None:
            self._functional_cache = Functional(self._graph_input, self._chain[-1] if self._chain else
                                                self._graph_input, name=self.name, _announce=False)
        return self._functional_cache

    def build(self, input_shape: Any = None, dtype: Any = None) -> None:
        if self._graph_input is not None:
            return
        if input_shape is None:
            raise ValueError(f"Sequential '{self.name}' cannot be built without an input shape.")
        batch_shape = tuple(None if i == 0 else d for i, d in enumerate(input_shape))
        self._start_graph(Input(batch_shape=batch_shape, dtype=dtype or backend.FLOATX))

    def _build_once(self, input_shape: Any) -> None:
        """Deferred: call() / compute_output_spec() build from the first inputs (shape and dtype)."""

    def _build_from(self, inputs: Any) -> None:
        if isinstance(inputs, (list, tuple, dict)) and not isinstance(_shape_structure(inputs), tuple):
            raise ValueError(f"Sequential '{self.name}' takes a single input, got {type(inputs).__name__} "
                             f"of {len(inputs)} entries.")
        dtype = getattr(inputs, "dtype", None)
        kind = getattr(dtype, "kind", None)
        keep = dtype is not None and (isinstance(inputs, SymbolicTensor) or (kind is not None and kind in "iub"))
        self.build(_shape_structure(inputs), dtype=dtype if keep else None)

    # ---------------------------------------------------------------- execution
    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        model = self._functional
        if model is None:
            self._build_from(inputs)
            model = self._functional
        return model.call(inputs, training=training)

    def compute_output_spec(self, args: tuple, kwargs: dict) -> Any:
        if self._functional is None:
            self._build_from(args[0])
        return self._functional.compute_output_spec(args, kwargs)

    # ------------------------------------------------------------ graph views
    @property
    def inputs(self) -> list:
        return [self._graph_input] if self._graph_input is not None else []

    @property
    def outputs(self) -> list:
        if self._graph_input is None:
            return []
        return [self._chain[-1] if self._chain else self._graph_input]

    def _require_graph(self, what: str) -> Functional:
        model = self._functional
        if model is None:
            raise AttributeError(f"Sequential '{self.name}' has no {what} yet: its input shape is unknown. "
                                 "Start it with gk.Input(shape), pass input_shape= to the first layer, or "
                                 "call it on data.")
        return model

    @property
    def input(self) -> Any:
        return self._require_graph("input").input

    @property
    def output(self) -> Any:
        return self._require_graph("output").output

    @property
    def input_shape(self) -> Any:
        return self._require_graph("input_shape").input_shape

    @property
    def output_shape(self) -> Any:
        return self._require_graph("output_shape").output_shape

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict:
        """Keras 3's Sequential config: name, trainable, dtype, layers (with the InputLayer once built)
        and build_input_shape."""
        from ..saving.serialization import sequential_get_config
        return sequential_get_config(self)

    @classmethod
    def from_config(cls, config: Any, custom_objects: dict | None = None) -> "Sequential":
        from ..saving.serialization import sequential_from_config
        return sequential_from_config(cls, config, custom_objects)
