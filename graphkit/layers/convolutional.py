"""Convolution layers (Keras 3 semantics): Conv1D/2D/3D, Conv1D/2D/3DTranspose, SeparableConv1D/2D,
DepthwiseConv1D/2D.

Each layer runs one fused primitive of :mod:`graphkit.ops.conv`, then adds the bias and applies
the activation (one in-place primitive, ``bias_activation``, for channels-last relu/linear).
Weight layouts and names are Keras's: ``kernel`` ``(*kernel_size, in // groups, filters)`` and
``bias`` ``(filters,)``; transposed ``kernel`` ``(*kernel_size, filters, in)``; depthwise
``kernel`` ``(*kernel_size, in, depth_multiplier)`` with bias ``(in * depth_multiplier,)``;
separable ``depthwise_kernel`` ``(*kernel_size, in, depth_multiplier)``, ``pointwise_kernel``
``(*1, in * depth_multiplier, filters)``, ``bias`` ``(filters,)``.

Channels-last by default (``data_format=None``); ``"channels_first"`` is accepted too.
"""
from __future__ import annotations

import numbers
from typing import Any, Sequence

from .. import activations, initializers
from ..ops.array import reshape
from ..ops.conv import (bias_activation, compute_conv_output_shape, compute_conv_transpose_output_shape, conv,
                        conv_transpose, depthwise_conv, separable_conv)
from ..ops.math import add
from .core import _require_none
from .input_spec import InputSpec
from .layer import Layer


# --------------------------------------------------------------------------- argument helpers
def _label(layer: Layer) -> str:
    return f"{type(layer).__name__} '{layer.name}'"


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def normalize_tuple(layer: Layer, value: Any, rank: int, argument: str, allow_zero: bool = False) -> tuple:
    """An int or a sequence of ``rank`` ints as a tuple of ``rank`` ints (Keras's ``standardize_tuple``);
    the error names the layer."""
    if _is_int(value):
        values = (int(value),) * rank
    else:
        try:
            values = tuple(value)
        except TypeError:
            values = ()
        values = tuple(int(v) for v in values) if len(values) == rank and all(_is_int(v) for v in values) else ()
    kind = "non-negative" if allow_zero else "positive"
    if not values or any(v < 0 or (v == 0 and not allow_zero) for v in values):
        many = "" if rank == 1 else f" or a tuple of {rank} {kind} ints"
        raise ValueError(f"{_label(layer)} {argument} must be a {kind} int{many}, got {value!r}.")
    return values


def normalize_padding(layer: Layer, padding: Any, allow_causal: bool = False) -> str:
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    mode = padding.lower() if isinstance(padding, str) else padding
    if mode not in allowed:
        raise ValueError(f"{_label(layer)} padding must be one of {list(allowed)}, got {padding!r}.")
    return mode


def normalize_data_format(layer: Layer, data_format: Any) -> str:
    if data_format is None:
        return "channels_last"
    value = data_format.lower() if isinstance(data_format, str) else data_format
    if value not in ("channels_last", "channels_first"):
        raise ValueError(f"{_label(layer)} data_format must be 'channels_last' or 'channels_first', "
                         f"got {data_format!r}.")
    return value


def _positive_int(layer: Layer, value: Any, argument: str) -> int:
    if not _is_int(value) or value <= 0:
        raise ValueError(f"{_label(layer)} {argument} must be a positive integer, got {value!r}.")
    return int(value)


def _check_strides_dilation(layer: Layer, strides: tuple, dilation_rate: tuple) -> None:
    if max(strides) > 1 and max(dilation_rate) > 1:
        raise ValueError(f"{_label(layer)}: strides > 1 are not supported together with dilation_rate > 1 (as in "
                         f"Keras); got strides={strides} and dilation_rate={dilation_rate}.")


def to_channels_last_shape(shape: Sequence, data_format: str) -> tuple:
    shape = tuple(shape)
    return shape if data_format == "channels_last" else (shape[0], *shape[2:], shape[1])


def from_channels_last_shape(shape: Sequence, data_format: str) -> tuple:
    shape = tuple(shape)
    return shape if data_format == "channels_last" else (shape[0], shape[-1], *shape[1:-1])


def check_input_rank(layer: Layer, input_shape: Sequence, rank: int) -> tuple:
    input_shape = tuple(input_shape)
    if len(input_shape) != rank + 2:
        raise ValueError(f"{_label(layer)} expected an input of rank {rank + 2} (batch, {rank} spatial dims, "
                         f"channels), got rank {len(input_shape)} with shape {input_shape}.")
    return input_shape


def _check_output(layer: Layer, input_shape: tuple, output_shape: tuple, data_format: str) -> tuple:
    spatial = output_shape[1:-1]
    if any(d is not None and d <= 0 for d in spatial):
        raise ValueError(f"{_label(layer)}: the output would be empty (spatial shape {spatial}) for input shape "
                         f"{input_shape} with kernel_size={getattr(layer, 'kernel_size', None)}, "
                         f"strides={layer.strides}, padding={layer.padding!r}, "
                         f"dilation_rate={getattr(layer, 'dilation_rate', None)}; use padding='same' or a larger "
                         f"input.")
    return from_channels_last_shape(output_shape, data_format)


# Activations the conv layers fuse with the bias add (graphkit.ops.conv.bias_activation).
_FUSED_ACTIVATIONS = {activations.relu: "relu", activations.linear: "linear"}


# --------------------------------------------------------------------------- base convolution
class _BaseConv(Layer):
    """Shared code of the conv layers: argument checks, channel axis, bias and activation."""

    _rank = 2

    def _init_common(self, kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                     allow_causal: bool) -> None:
        rank = self._rank
        self.rank = rank
        self.kernel_size = normalize_tuple(self, kernel_size, rank, "kernel_size")
        self.strides = normalize_tuple(self, strides, rank, "strides")
        self.dilation_rate = normalize_tuple(self, dilation_rate, rank, "dilation_rate")
        _check_strides_dilation(self, self.strides, self.dilation_rate)
        self.padding = normalize_padding(self, padding, allow_causal)
        self.data_format = normalize_data_format(self, data_format)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.input_spec = InputSpec(ndim=rank + 2)

    @property
    def _channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def _input_channels(self, input_shape: Sequence) -> int:
        input_shape = check_input_rank(self, input_shape, self.rank)
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ValueError(f"{_label(self)} needs a known channel dimension (axis {self._channel_axis}), "
                             f"got input shape {input_shape}.")
        return channels

    def _finish_build(self, channels: int, bias_size: int) -> None:
        """Adds the ``(bias_size,)`` bias (None without ``use_bias``) after the kernels and fixes the
        input's channel count."""
        self.bias = self.add_weight((bias_size,), self.bias_initializer, name="bias") if self.use_bias else None
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: channels})
        self.built = True

    def _bias_and_activation(self, outputs):
        """``activation(outputs + bias)``; ``outputs`` is the layer's fresh conv output. For
        channels-last relu/linear this is one fused primitive working in place (no extra
        full-size arrays for the sum and the activation); other cases add, then activate."""
        name = _FUSED_ACTIVATIONS.get(self.activation)
        if (name is not None and self.data_format == "channels_last" and outputs.dtype.kind == "f"
                and (not self.use_bias or self.bias.dtype == outputs.dtype)):
            if not self.use_bias and name == "linear":
                return outputs
            return bias_activation(outputs, self.bias if self.use_bias else None, name)
        if self.use_bias:
            bias = self.bias
            if self.data_format == "channels_first":
                bias = reshape(bias, (bias.shape[0],) + (1,) * self.rank)
            outputs = add(outputs, bias)
        if self.activation is activations.linear:
            return outputs
        return self.activation(outputs)

    def _common_config(self) -> dict:
        return {"kernel_size": self.kernel_size, "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate}

    def _kernel_config(self) -> dict:
        """Config keys of layers with one ``kernel`` and a ``bias`` (Conv and ConvTranspose)."""
        return {"activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
                "kernel_constraint": None, "bias_constraint": None}


# --------------------------------------------------------------------------- Conv1D/2D/3D
class _Conv(_BaseConv):
    """``activation(conv(inputs, kernel) + bias)``; kernel ``(*kernel_size, in // groups, filters)``."""

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, groups: int = 1, activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, lora_rank: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _require_none(type(self).__name__, kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                      activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                      bias_constraint=bias_constraint, lora_rank=lora_rank)
        self.filters = _positive_int(self, filters, "filters")
        self.groups = _positive_int(self, groups, "groups")
        if self.filters % self.groups:
            raise ValueError(f"{_label(self)} filters ({self.filters}) must be divisible by groups ({self.groups}).")
        self._init_common(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                          allow_causal=self._rank == 1)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape: tuple) -> None:
        channels = self._input_channels(input_shape)
        if channels % self.groups:
            raise ValueError(f"{_label(self)}: the number of input channels ({channels}) must be divisible by "
                             f"groups ({self.groups}); input shape {tuple(input_shape)}.")
        self.compute_output_shape(input_shape)  # fails early on an empty output
        self.kernel = self.add_weight((*self.kernel_size, channels // self.groups, self.filters),
                                      self.kernel_initializer, name="kernel")
        self._finish_build(channels, bias_size=self.filters)

    def call(self, inputs):
        outputs = conv(inputs, self.kernel, strides=self.strides, padding=self.padding, data_format=self.data_format,
                       dilation_rate=self.dilation_rate)
        return self._bias_and_activation(outputs)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        input_shape = check_input_rank(self, input_shape, self.rank)
        last = to_channels_last_shape(input_shape, self.data_format)
        out = compute_conv_output_shape(last, self.filters, self.kernel_size, self.strides, self.padding,
                                        self.dilation_rate)
        return _check_output(self, input_shape, out, self.data_format)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters, **self._common_config(), "groups": self.groups,
                **self._kernel_config()}


class Conv1D(_Conv):
    """1-D convolution over ``(batch, steps, channels)``; ``padding`` may also be ``"causal"``."""
    _rank = 1


class Conv2D(_Conv):
    """2-D convolution over ``(batch, height, width, channels)``."""
    _rank = 2


class Conv3D(_Conv):
    """3-D convolution over ``(batch, depth, height, width, channels)``."""
    _rank = 3


# --------------------------------------------------------------------------- transposed convolution
class _ConvTranspose(_BaseConv):
    """Transposed convolution (the input gradient of a convolution); kernel ``(*kernel_size, filters, in)``.

    Output sizes follow Keras: ``valid`` ``n*s + max(k_eff - s, 0)``, ``same`` ``n*s``; with
    ``output_padding`` p, ``(n-1)*s + k_eff - 2*pad + p`` (``pad = k_eff // 2`` for ``same``).
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 output_padding: Any = None, data_format: str | None = None, dilation_rate: Any = 1,
                 activation: Any = None, use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _require_none(type(self).__name__, kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                      activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                      bias_constraint=bias_constraint)
        self.filters = _positive_int(self, filters, "filters")
        self._init_common(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                          allow_causal=False)
        if output_padding is None:
            self.output_padding = None
        else:
            self.output_padding = normalize_tuple(self, output_padding, self.rank, "output_padding", allow_zero=True)
            for p, s, d in zip(self.output_padding, self.strides, self.dilation_rate):
                if p >= max(s, d):
                    raise ValueError(f"{_label(self)} output_padding {self.output_padding} must be smaller than "
                                     f"the strides {self.strides} (or dilation_rate {self.dilation_rate}).")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape: tuple) -> None:
        channels = self._input_channels(input_shape)
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight((*self.kernel_size, self.filters, channels), self.kernel_initializer,
                                      name="kernel")
        self._finish_build(channels, bias_size=self.filters)

    def call(self, inputs):
        outputs = conv_transpose(inputs, self.kernel, strides=self.strides, padding=self.padding,
                                 output_padding=self.output_padding, data_format=self.data_format,
                                 dilation_rate=self.dilation_rate)
        return self._bias_and_activation(outputs)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        input_shape = check_input_rank(self, input_shape, self.rank)
        last = to_channels_last_shape(input_shape, self.data_format)
        out = compute_conv_transpose_output_shape(last, self.filters, self.kernel_size, self.strides, self.padding,
                                                  self.output_padding, self.dilation_rate)
        return _check_output(self, input_shape, out, self.data_format)

    def get_config(self) -> dict:
        # Keras 3 leaves output_padding out of the config (so it is lost on reload); graphkit keeps it.
        return {**super().get_config(), "filters": self.filters, **self._common_config(),
                "output_padding": self.output_padding, **self._kernel_config()}


class Conv1DTranspose(_ConvTranspose):
    """1-D transposed convolution; kernel ``(k, filters, in)``."""
    _rank = 1


class Conv2DTranspose(_ConvTranspose):
    """2-D transposed convolution; kernel ``(kh, kw, filters, in)``."""
    _rank = 2


class Conv3DTranspose(_ConvTranspose):
    """3-D transposed convolution; kernel ``(kd, kh, kw, filters, in)``."""
    _rank = 3


# --------------------------------------------------------------------------- depthwise convolution
class _DepthwiseConv(_BaseConv):
    """Each input channel convolved with its own ``depth_multiplier`` filters; kernel
    ``(*kernel_size, in, depth_multiplier)``, output channel ``c * depth_multiplier + j``."""

    def __init__(self, kernel_size: Any, strides: Any = 1, padding: str = "valid", depth_multiplier: int = 1,
                 data_format: str | None = None, dilation_rate: Any = 1, activation: Any = None,
                 use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 depthwise_constraint: Any = None, bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _require_none(type(self).__name__, depthwise_regularizer=depthwise_regularizer,
                      bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                      depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint)
        self.depth_multiplier = _positive_int(self, depth_multiplier, "depth_multiplier")
        self._init_common(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                          allow_causal=False)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape: tuple) -> None:
        channels = self._input_channels(input_shape)
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight((*self.kernel_size, channels, self.depth_multiplier),
                                      self.depthwise_initializer, name="kernel")
        self._finish_build(channels, bias_size=channels * self.depth_multiplier)

    def call(self, inputs):
        outputs = depthwise_conv(inputs, self.kernel, strides=self.strides, padding=self.padding,
                                 data_format=self.data_format, dilation_rate=self.dilation_rate)
        return self._bias_and_activation(outputs)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        input_shape = check_input_rank(self, input_shape, self.rank)
        last = to_channels_last_shape(input_shape, self.data_format)
        filters = None if last[-1] is None else last[-1] * self.depth_multiplier
        out = compute_conv_output_shape(last, filters, self.kernel_size, self.strides, self.padding,
                                        self.dilation_rate)
        return _check_output(self, input_shape, out, self.data_format)

    def get_config(self) -> dict:
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier, **self._common_config(),
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "depthwise_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
                "depthwise_constraint": None, "bias_constraint": None}


class DepthwiseConv1D(_DepthwiseConv):
    """1-D depthwise convolution; kernel ``(k, in, depth_multiplier)``."""
    _rank = 1


class DepthwiseConv2D(_DepthwiseConv):
    """2-D depthwise convolution; kernel ``(kh, kw, in, depth_multiplier)``."""
    _rank = 2


# --------------------------------------------------------------------------- separable convolution
class _SeparableConv(_BaseConv):
    """Depthwise convolution then a 1x1 convolution to ``filters`` channels, then bias and activation.

    Weights ``depthwise_kernel`` ``(*kernel_size, in, depth_multiplier)``, ``pointwise_kernel``
    ``(*1, in * depth_multiplier, filters)``, ``bias`` ``(filters,)``.
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, depth_multiplier: int = 1,
                 activation: Any = None, use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 pointwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, pointwise_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, depthwise_constraint: Any = None, pointwise_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _require_none(type(self).__name__, depthwise_regularizer=depthwise_regularizer,
                      pointwise_regularizer=pointwise_regularizer, bias_regularizer=bias_regularizer,
                      activity_regularizer=activity_regularizer, depthwise_constraint=depthwise_constraint,
                      pointwise_constraint=pointwise_constraint, bias_constraint=bias_constraint)
        self.filters = _positive_int(self, filters, "filters")
        self.depth_multiplier = _positive_int(self, depth_multiplier, "depth_multiplier")
        self._init_common(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                          allow_causal=False)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape: tuple) -> None:
        channels = self._input_channels(input_shape)
        self.compute_output_shape(input_shape)
        self.depthwise_kernel = self.add_weight((*self.kernel_size, channels, self.depth_multiplier),
                                                self.depthwise_initializer, name="depthwise_kernel")
        self.pointwise_kernel = self.add_weight((1,) * self.rank + (channels * self.depth_multiplier, self.filters),
                                                self.pointwise_initializer, name="pointwise_kernel")
        self._finish_build(channels, bias_size=self.filters)

    def call(self, inputs):
        outputs = separable_conv(inputs, self.depthwise_kernel, self.pointwise_kernel, strides=self.strides,
                                 padding=self.padding, data_format=self.data_format,
                                 dilation_rate=self.dilation_rate)
        return self._bias_and_activation(outputs)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        input_shape = check_input_rank(self, input_shape, self.rank)
        last = to_channels_last_shape(input_shape, self.data_format)
        out = compute_conv_output_shape(last, self.filters, self.kernel_size, self.strides, self.padding,
                                        self.dilation_rate)
        return _check_output(self, input_shape, out, self.data_format)

    def get_config(self) -> dict:
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier, "filters": self.filters,
                **self._common_config(), "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
                "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "depthwise_regularizer": None, "pointwise_regularizer": None, "bias_regularizer": None,
                "activity_regularizer": None, "depthwise_constraint": None, "pointwise_constraint": None,
                "bias_constraint": None}


class SeparableConv1D(_SeparableConv):
    """1-D separable convolution."""
    _rank = 1


class SeparableConv2D(_SeparableConv):
    """2-D separable convolution."""
    _rank = 2


# Keras's long-form aliases.
Convolution1D = Conv1D
Convolution2D = Conv2D
Convolution3D = Conv3D
Convolution1DTranspose = Conv1DTranspose
Convolution2DTranspose = Conv2DTranspose
Convolution3DTranspose = Conv3DTranspose
SeparableConvolution1D = SeparableConv1D
SeparableConvolution2D = SeparableConv2D
