"""``gk.layers``: the built-in layers (Keras 3 semantics, channels-last)."""
from .convolutional import (Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose, Conv3D, Conv3DTranspose,
                            Convolution1D, Convolution1DTranspose, Convolution2D, Convolution2DTranspose,
                            Convolution3D, Convolution3DTranspose, DepthwiseConv1D, DepthwiseConv2D,
                            SeparableConv1D, SeparableConv2D, SeparableConvolution1D, SeparableConvolution2D)
from .core import Activation, Dense, Dropout, Embedding, Lambda
from .input_layer import Input, InputLayer
from .input_spec import InputSpec
from .layer import Layer
from .merging import (Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract, add, average, concatenate,
                      maximum, minimum, multiply, subtract)
from .normalization import BatchNormalization, LayerNormalization
from .pooling import (AveragePooling1D, AveragePooling2D, AveragePooling3D, AvgPool1D, AvgPool2D, AvgPool3D,
                      GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D, GlobalAvgPool1D,
                      GlobalAvgPool2D, GlobalAvgPool3D, GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D,
                      GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D, MaxPool1D, MaxPool2D, MaxPool3D,
                      MaxPooling1D, MaxPooling2D, MaxPooling3D)
from .recurrent import GRU, LSTM, Bidirectional, SimpleRNN
from .reshaping import Cropping2D, Flatten, Permute, RepeatVector, Reshape, UpSampling2D, ZeroPadding2D

__all__ = ["Activation", "Dense", "Input", "InputLayer", "InputSpec", "Layer",
           "Dropout", "Embedding", "Lambda",
           "Add", "Average", "Concatenate", "Maximum", "Minimum", "Multiply", "Subtract",
           "add", "average", "concatenate", "maximum", "minimum", "multiply", "subtract",
           "BatchNormalization", "LayerNormalization",
           "Cropping2D", "Flatten", "Permute", "RepeatVector", "Reshape", "UpSampling2D", "ZeroPadding2D"]

__all__ += ["Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
            "Convolution1D", "Convolution2D", "Convolution3D", "Convolution1DTranspose", "Convolution2DTranspose",
            "Convolution3DTranspose", "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
            "SeparableConvolution1D", "SeparableConvolution2D",
            "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
            "AveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
            "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
            "MaxPool1D", "MaxPool2D", "MaxPool3D", "AvgPool1D", "AvgPool2D", "AvgPool3D",
            "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D", "GlobalAvgPool1D", "GlobalAvgPool2D",
            "GlobalAvgPool3D"]

__all__ += ["SimpleRNN", "LSTM", "GRU", "Bidirectional"]
