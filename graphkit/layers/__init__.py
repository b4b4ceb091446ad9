"""``gk.layers``: the built-in layers (Keras 3 semantics, channels-last)."""
from .core import Activation, Dense
from .input_layer import Input, InputLayer
from .input_spec import InputSpec
from .layer import Layer

__all__ = ["Activation", "Dense", "Input", "InputLayer", "InputSpec", "Layer"]
