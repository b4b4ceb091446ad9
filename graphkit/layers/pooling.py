"""Pooling layers (Keras 3 semantics): Max/AveragePooling1D/2D/3D and their global versions.

Windowed pooling runs one fused primitive of :mod:`graphkit.ops.conv` (``"same"`` pads as
TensorFlow: padding never wins a max and is left out of an average's count). Global pooling
reduces the spatial axes; ``GlobalAveragePooling1D`` honours a ``(batch, steps)`` mask as Keras
does (masked steps are left out of the mean).
"""
from __future__ import annotations

from typing import Any

from ..ops.array import expand_dims
from ..ops.cast import cast
from ..ops.conv import average_pool, compute_pooling_output_shape, max_pool
from ..ops.math import divide, multiply
from ..ops.reduction import max as _max, mean as _mean, sum as _sum
from .convolutional import (_label, check_input_rank, from_channels_last_shape, normalize_data_format,
                            normalize_padding, normalize_tuple, to_channels_last_shape)
from .input_spec import InputSpec
from .layer import Layer


# --------------------------------------------------------------------------- windowed pooling
class _Pooling(Layer):
    """Max or average over ``pool_size`` windows moved by ``strides`` (default: ``pool_size``)."""

    _rank = 2
    _pool = staticmethod(max_pool)

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        rank = self._rank
        self.pool_size = normalize_tuple(self, pool_size, rank, "pool_size")
        self.strides = self.pool_size if strides is None else normalize_tuple(self, strides, rank, "strides")
        self.padding = normalize_padding(self, padding)
        self.data_format = normalize_data_format(self, data_format)
        self.input_spec = InputSpec(ndim=rank + 2)

    def build(self, input_shape: tuple) -> None:
        self.compute_output_shape(input_shape)  # fails early on a window larger than the input
        self.built = True

    def call(self, inputs):
        return type(self)._pool(inputs, self.pool_size, strides=self.strides, padding=self.padding,
                                data_format=self.data_format)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        input_shape = check_input_rank(self, input_shape, self._rank)
        out = compute_pooling_output_shape(to_channels_last_shape(input_shape, self.data_format), self.pool_size,
                                           self.strides, self.padding)
        if any(d is not None and d <= 0 for d in out[1:-1]):
            raise ValueError(f"{_label(self)}: the output would be empty (spatial shape {out[1:-1]}) for input "
                             f"shape {input_shape} with pool_size={self.pool_size}, strides={self.strides}, "
                             f"padding={self.padding!r}; use padding='same' or a larger input.")
        return from_channels_last_shape(out, self.data_format)

    def get_config(self) -> dict:
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


class MaxPooling1D(_Pooling):
    """Max over windows of ``pool_size`` steps (default 2)."""
    _rank = 1


class MaxPooling2D(_Pooling):
    """Max over ``pool_size`` windows (default ``(2, 2)``)."""
    _rank = 2

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling3D(_Pooling):
    """Max over ``pool_size`` windows (default ``(2, 2, 2)``)."""
    _rank = 3

    def __init__(self, pool_size: Any = (2, 2, 2), strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(_Pooling):
    """Mean over windows of ``pool_size`` steps (default 2)."""
    _rank = 1
    _pool = staticmethod(average_pool)


class AveragePooling2D(_Pooling):
    """Mean over ``pool_size`` windows (default ``(2, 2)``)."""
    _rank = 2
    _pool = staticmethod(average_pool)

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling3D(_Pooling):
    """Mean over ``pool_size`` windows (default ``(2, 2, 2)``)."""
    _rank = 3
    _pool = staticmethod(average_pool)

    def __init__(self, pool_size: Any = (2, 2, 2), strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


# --------------------------------------------------------------------------- global pooling
class _GlobalPooling(Layer):
    """Reduce all spatial axes; ``keepdims`` keeps them as size-1 axes."""

    _rank = 2
    _reduce = staticmethod(_max)

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(self, data_format)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=self._rank + 2)

    @property
    def _spatial_axes(self) -> tuple:
        first = 1 if self.data_format == "channels_last" else 2
        return tuple(range(first, first + self._rank))

    def call(self, inputs):
        return type(self)._reduce(inputs, axis=self._spatial_axes, keepdims=self.keepdims)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        input_shape = check_input_rank(self, input_shape, self._rank)
        axes = self._spatial_axes
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in axes)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalMaxPooling1D(_GlobalPooling):
    """Max over the steps axis: ``(batch, steps, channels) -> (batch, channels)``."""
    _rank = 1


class GlobalMaxPooling2D(_GlobalPooling):
    """Max over height and width: ``(batch, h, w, channels) -> (batch, channels)``."""
    _rank = 2


class GlobalMaxPooling3D(_GlobalPooling):
    """Max over the three spatial axes."""
    _rank = 3


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over the steps axis. With a ``(batch, steps)`` mask (from an Embedding with
    ``mask_zero`` or passed as ``mask=``) only unmasked steps count; the output carries no mask."""

    _rank = 1
    _reduce = staticmethod(_mean)

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any) -> None:
        super().__init__(data_format, keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        axis = self._spatial_axes[0]
        if mask is None:
            return _mean(inputs, axis=axis, keepdims=self.keepdims)
        x = inputs if inputs.dtype.kind in "fc" else cast(inputs, "float32")
        weights = expand_dims(cast(mask, x.dtype), 2 if self.data_format == "channels_last" else 1)
        return divide(_sum(multiply(x, weights), axis=axis, keepdims=self.keepdims),
                      _sum(weights, axis=axis, keepdims=self.keepdims))

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None


class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over height and width: ``(batch, h, w, channels) -> (batch, channels)``."""
    _rank = 2
    _reduce = staticmethod(_mean)


class GlobalAveragePooling3D(_GlobalPooling):
    """Mean over the three spatial axes."""
    _rank = 3
    _reduce = staticmethod(_mean)


# Keras's short aliases.
MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
MaxPool3D = MaxPooling3D
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
AvgPool3D = AveragePooling3D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalMaxPool3D = GlobalMaxPooling3D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalAvgPool3D = GlobalAveragePooling3D
