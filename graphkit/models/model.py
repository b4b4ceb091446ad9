"""``gk.Model``: a layer made of layers — functional (inputs/outputs) or subclassed (call)."""
from __future__ import annotations

from typing import Any

from ..layers.layer import Layer
from ..module import _leaves


class Model(Layer):
    """A trainable stack of layers.

    ``gk.Model(inputs, outputs)`` builds a Functional model from symbolic tensors; subclassing
    ``gk.Model`` and writing ``call`` gives a subclassed model. Both are layers, so models nest.
    """

    def __new__(cls, *args: Any, **kwargs: Any):
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from .functional import Functional
            return Functional.__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args or "inputs" in kwargs:
            from .functional import Functional
            if not isinstance(self, Functional):
                raise TypeError("Pass inputs/outputs to gk.Model(...) itself or to a Functional subclass.")
        super().__init__(**kwargs)

    @property
    def layers(self) -> list[Layer]:
        """The model's direct sublayers, in the order they were assigned."""
        found = []
        for _, value in self._tracked_attributes():
            for leaf in _leaves(value):
                if isinstance(leaf, Layer) and all(leaf is not f for f in found):
                    found.append(leaf)
        return found

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A sublayer by name or by index in ``layers``."""
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"Model '{self.name}' has {len(layers)} layers; index {index} is out of range.")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No layer named {name!r} in model '{self.name}'; layers: {[l.name for l in layers]}.")

