"""Convolution and pooling layers: ONNX's Conv, ConvTranspose, MaxPool and AveragePool, which
work channels-first, between transposes for channels-last data; global pooling as reductions.

Padding is explicit: TensorFlow's ``"same"`` puts the odd extra row at the end, ``"causal"``
pads the start only, and ``"same"`` average pooling leaves the padding out of its count.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from ...layers.convolutional import (Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose, Conv3D, Conv3DTranspose,
                                     DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D)
from ...layers.pooling import (AveragePooling1D, AveragePooling2D, AveragePooling3D, GlobalAveragePooling1D,
                               GlobalAveragePooling2D, GlobalAveragePooling3D, GlobalMaxPooling1D,
                               GlobalMaxPooling2D, GlobalMaxPooling3D, MaxPooling1D, MaxPooling2D, MaxPooling3D)
from .convert import converts, unsupported
from .core import activation, weight
from .graph import GraphBuilder


# ------------------------------------------------------------------- layout
def channels_first(g: GraphBuilder, layer: Any, x: str, rank: int) -> str:
    """``x`` in NC... layout (transposed when the layer is channels-last)."""
    if layer.data_format == "channels_first":
        return x
    return g.transpose(x, [0, rank + 1, *range(1, rank + 1)])


def restore_layout(g: GraphBuilder, layer: Any, y: str, rank: int) -> str:
    """``y`` back in the layer's layout."""
    if layer.data_format == "channels_first":
        return y
    return g.transpose(y, [0, *range(2, rank + 2), 1])


def spatial_shape(layer: Any, shape: Sequence) -> tuple:
    return tuple(shape[1:-1]) if layer.data_format == "channels_last" else tuple(shape[2:])


def padding_attributes(layer: Any, spatial: Sequence, kernel: Sequence[int], strides: Sequence[int],
                       dilation: Sequence[int]) -> dict:
    """``pads`` (all starts, then all ends) for ``layer.padding``."""
    if layer.padding == "valid":
        return {"pads": [0] * (2 * len(kernel))}
    effective = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    if layer.padding == "causal":
        return {"pads": [e - 1 for e in effective] + [0] * len(kernel)}
    if any(n is None for n in spatial):
        return {"auto_pad": "SAME_UPPER"}  # TF's "same" when the sizes are only known at run time
    totals = [max((math.ceil(n / s) - 1) * s + e - n, 0) for n, s, e in zip(spatial, strides, effective)]
    return {"pads": [t // 2 for t in totals] + [t - t // 2 for t in totals]}


def _kernel_to_onnx(kernel):
    """Keras ``(*k, a, b)`` -> ONNX ``(b, a, *k)``."""
    rank = kernel.ndim - 2
    return kernel.transpose(rank + 1, rank, *range(rank))


def _finish(g: GraphBuilder, layer: Any, y: str, rank: int) -> str:
    """Activation (elementwise, or softmax over the channels at axis 1), then the layer's layout."""
    return restore_layout(g, layer, activation(g, layer, layer.activation, y, channel_axis=1), rank)


def _conv_inputs(g: GraphBuilder, layer: Any, x: str, kernel) -> list:
    inputs = [x, g.constant(kernel, "kernel")]
    if layer.use_bias:
        inputs.append(g.constant(weight(layer.bias), "bias"))
    return inputs


# ------------------------------------------------------------- convolutions
@converts(Conv1D, Conv2D, Conv3D)
def conv(g: GraphBuilder, layer: Any, node, args) -> list:
    rank = layer.rank
    x = channels_first(g, layer, args[0], rank)
    pads = padding_attributes(layer, spatial_shape(layer, node.input_tensors[0].shape), layer.kernel_size,
                              layer.strides, layer.dilation_rate)
    y = g.op("Conv", _conv_inputs(g, layer, x, _kernel_to_onnx(weight(layer.kernel))),
             kernel_shape=list(layer.kernel_size), strides=list(layer.strides), dilations=list(layer.dilation_rate),
             group=layer.groups, **pads)
    return [_finish(g, layer, y, rank)]


@converts(DepthwiseConv1D, DepthwiseConv2D)
def depthwise_conv(g: GraphBuilder, layer: Any, node, args) -> list:
    rank = layer.rank
    x = channels_first(g, layer, args[0], rank)
    y = _depthwise(g, layer, node, x, layer.kernel)
    return [_finish(g, layer, y, rank)]


def _depthwise(g: GraphBuilder, layer: Any, node, x: str, kernel_variable, with_bias: bool = True) -> str:
    """A grouped Conv (one group per input channel) from a ``(*k, in, multiplier)`` kernel."""
    kernel = weight(kernel_variable)
    channels = kernel.shape[-2]
    kernel = kernel.reshape(*kernel.shape[:-2], 1, channels * kernel.shape[-1])
    inputs = [x, g.constant(_kernel_to_onnx(kernel), "depthwise_kernel")]
    if with_bias and layer.use_bias:
        inputs.append(g.constant(weight(layer.bias), "bias"))
    pads = padding_attributes(layer, spatial_shape(layer, node.input_tensors[0].shape), layer.kernel_size,
                              layer.strides, layer.dilation_rate)
    return g.op("Conv", inputs, kernel_shape=list(layer.kernel_size), strides=list(layer.strides),
                dilations=list(layer.dilation_rate), group=channels, **pads)


@converts(SeparableConv1D, SeparableConv2D)
def separable_conv(g: GraphBuilder, layer: Any, node, args) -> list:
    rank = layer.rank
    x = channels_first(g, layer, args[0], rank)
    depthwise = _depthwise(g, layer, node, x, layer.depthwise_kernel, with_bias=False)
    pointwise = _kernel_to_onnx(weight(layer.pointwise_kernel))
    y = g.op("Conv", _conv_inputs(g, layer, depthwise, pointwise), kernel_shape=[1] * rank)
    return [_finish(g, layer, y, rank)]


@converts(Conv1DTranspose, Conv2DTranspose, Conv3DTranspose)
def conv_transpose(g: GraphBuilder, layer: Any, node, args) -> list:
    """Keras's output size, from the full scatter ``(n-1)*s + k_eff`` cropped TF-style (the start
    loses ``max(full - out, 0) // 2``, zeros past the end where the output is longer)."""
    rank = layer.rank
    spatial_in = spatial_shape(layer, node.input_tensors[0].shape)
    spatial_out = spatial_shape(layer, node.output_tensors[0].shape)
    if any(n is None for n in spatial_in + spatial_out):
        raise unsupported(layer, f"its spatial sizes must be known (input shape {node.input_tensors[0].shape})")
    begins, ends, extra = [], [], []
    for n, o, k, s, d in zip(spatial_in, spatial_out, layer.kernel_size, layer.strides, layer.dilation_rate):
        full = (n - 1) * s + (k - 1) * d + 1
        begin = 0 if layer.padding == "valid" else max(full - o, 0) // 2
        end = full - o - begin
        begins.append(begin)
        ends.append(max(end, 0))
        extra.append(max(-end, 0))
    x = channels_first(g, layer, args[0], rank)
    y = g.op("ConvTranspose", _conv_inputs(g, layer, x, _kernel_to_onnx(weight(layer.kernel))),
             kernel_shape=list(layer.kernel_size), strides=list(layer.strides), dilations=list(layer.dilation_rate),
             pads=begins + ends, output_padding=extra)
    return [_finish(g, layer, y, rank)]


# ------------------------------------------------------------------ pooling
_MAX_POOLS = (MaxPooling1D, MaxPooling2D, MaxPooling3D)
_GLOBAL_MAX_POOLS = (GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D)


@converts(MaxPooling1D, MaxPooling2D, MaxPooling3D, AveragePooling1D, AveragePooling2D, AveragePooling3D)
def pooling(g: GraphBuilder, layer: Any, node, args) -> list:
    rank = len(layer.pool_size)
    x = channels_first(g, layer, args[0], rank)
    pads = padding_attributes(layer, spatial_shape(layer, node.input_tensors[0].shape), layer.pool_size,
                              layer.strides, [1] * rank)
    if isinstance(layer, _MAX_POOLS):
        y = g.op("MaxPool", [x], kernel_shape=list(layer.pool_size), strides=list(layer.strides), **pads)
    else:
        y = g.op("AveragePool", [x], kernel_shape=list(layer.pool_size), strides=list(layer.strides),
                 count_include_pad=0, **pads)
    return [restore_layout(g, layer, y, rank)]


@converts(GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D, GlobalAveragePooling1D,
          GlobalAveragePooling2D, GlobalAveragePooling3D)
def global_pooling(g: GraphBuilder, layer: Any, node, args) -> list:
    op_type = "ReduceMax" if isinstance(layer, _GLOBAL_MAX_POOLS) else "ReduceMean"
    return [g.op(op_type, [args[0], g.ints(layer._spatial_axes)], keepdims=int(layer.keepdims))]
