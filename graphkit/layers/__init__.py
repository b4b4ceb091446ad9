"""``gk.layers``: the built-in layers (Keras 3 semantics, channels-last)."""
from .core import Activation, Dense, Dropout, Embedding, Lambda
from .input_layer import Input, InputLayer
from .input_spec import InputSpec
from .layer import Layer
from .merging import (Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract, add, average, concatenate,
                      maximum, minimum, multiply, subtract)
from .normalization import BatchNormalization, LayerNormalization
from .reshaping import Cropping2D, Flatten, Permute, RepeatVector, Reshape, UpSampling2D, ZeroPadding2D

__all__ = ["Activation", "Dense", "Input", "InputLayer", "InputSpec", "Layer",
           "Dropout", "Embedding", "Lambda",
           "Add", "Average", "Concatenate", "Maximum", "Minimum", "Multiply", "Subtract",
           "add", "average", "concatenate", "maximum", "minimum", "multiply", "subtract",
           "BatchNormalization", "LayerNormalization",
           "Cropping2D", "Flatten", "Permute", "RepeatVector", "Reshape", "UpSampling2D", "ZeroPadding2D"]
