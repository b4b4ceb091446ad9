"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector, UpSampling2D, ZeroPadding2D, Cropping2D.

Image layers default to channels-last (``data_format="channels_last"``, Keras's default image data
format); ``"channels_first"`` is accepted too.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from .. import backend
from ..ops.array import broadcast_to, getitem, pad, reshape, tile, transpose
from ..ops.linalg import matmul
from .input_spec import InputSpec
from .layer import Layer


def standardize_data_format(data_format: str | None, layer: str) -> str:
    """None means channels_last; otherwise one of the two Keras names."""
    if data_format is None:
        return "channels_last"
    value = str(data_format).lower()
    if value not in ("channels_last", "channels_first"):
        raise ValueError(f"{layer}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}.")
    return value


def _positive_pair(value: Any, argument: str, layer: str) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    try:
        pair = tuple(value)
    except TypeError:
        pair = ()
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in pair):
        raise ValueError(f"{layer}: `{argument}` must be a positive int or a tuple of 2 positive ints, got {value!r}.")
    return pair


def _spatial_pairs(value: Any, argument: str, layer: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """int | (symmetric_height, symmetric_width) | ((top, bottom), (left, right)) -> nested pairs."""
    def is_int(v):
        return isinstance(v, int) and not isinstance(v, bool)

    pairs = None
    if is_int(value):
        pairs = ((value, value), (value, value))
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        if all(is_int(v) for v in value):
            pairs = ((value[0], value[0]), (value[1], value[1]))
        elif all(isinstance(v, (list, tuple)) and len(v) == 2 and all(is_int(u) for u in v) for v in value):
            pairs = (tuple(value[0]), tuple(value[1]))
    if pairs is None or any(v < 0 for pair in pairs for v in pair):
        raise ValueError(f"{layer}: `{argument}` should be a non-negative int, a tuple of 2 ints "
                         f"(symmetric_height, symmetric_width) or a tuple of 2 tuples of 2 ints "
                         f"((top, bottom), (left, right)); got {value!r}.")
    return pairs


# ------------------------------------------------------------------------- Flatten
class Flatten(Layer):
    """``(batch, d1, d2, ...) -> (batch, d1 * d2 * ...)``; rank-1 input becomes ``(batch, 1)``.

    With ``data_format="channels_first"`` the channel axis is moved last first, so the order of
    values matches a channels-last model (as Keras does).
    """

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format, "Flatten")
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        x = inputs
        rank = x.ndim
        if self.data_format == "channels_first" and rank > 2:
            x = transpose(x, (0, *range(2, rank), 1))
        return reshape(x, (x.shape[0], math.prod(x.shape[1:])))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        rest = input_shape[1:]
        if any(d is None for d in rest):
            return (input_shape[0], None)
        return (input_shape[0], math.prod(rest))

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format}


# ------------------------------------------------------------------------- Reshape
class Reshape(Layer):
    """Reshape every sample to ``target_shape`` (batch axis excluded; one entry may be -1)."""

    def __init__(self, target_shape: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        target = tuple(target_shape)
        if not all(isinstance(d, int) and not isinstance(d, bool) and (d > 0 or d == -1) for d in target):
            raise ValueError(f"Reshape '{self.name}': target_shape must hold positive ints or -1, "
                             f"got {target_shape!r}.")
        if target.count(-1) > 1:
            raise ValueError(f"Reshape '{self.name}': target_shape may hold at most one -1 (unknown dimension), "
                             f"got {target}.")
        self.target_shape = target

    def _resolve(self, sample_shape: tuple) -> tuple:
        """``target_shape`` with -1 filled in for samples of ``sample_shape`` (None when unknown)."""
        target = self.target_shape
        if any(d is None for d in sample_shape):
            return tuple(None if d == -1 else d for d in target)
        total = math.prod(sample_shape)
        known = math.prod(d for d in target if d != -1)
        if -1 in target:
            if known == 0 or total % known:
                raise ValueError(f"Reshape '{self.name}' cannot reshape samples of shape {sample_shape} "
                                 f"({total} values) to target_shape {target}: {total} is not a multiple of {known}.")
            return tuple(total // known if d == -1 else d for d in target)
        if total != known:
            raise ValueError(f"Reshape '{self.name}' cannot reshape samples of shape {sample_shape} ({total} values) "
                             f"to target_shape {target} ({known} values).")
        return target

    def build(self, input_shape: tuple) -> None:
        self._resolve(tuple(input_shape[1:]))  # fail early on a known mismatch
        self.built = True

    def call(self, inputs):
        shape = tuple(inputs.shape)
        return reshape(inputs, (shape[0], *self._resolve(shape[1:])))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], *self._resolve(tuple(input_shape[1:])))

    def get_config(self) -> dict:
        return {**super().get_config(), "target_shape": self.target_shape}


# ------------------------------------------------------------------------- Permute
class Permute(Layer):
    """Permute the non-batch axes; ``dims`` is 1-based (``(2, 1)`` swaps the two axes after the batch)."""

    def __init__(self, dims: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dims = tuple(dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute '{self.name}': dims must be a permutation of 1..{len(self.dims)} "
                             f"(1-based, the batch axis excluded), got {dims!r}.")
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)

    def call(self, inputs):
        return transpose(inputs, (0, *self.dims))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def get_config(self) -> dict:
        return {**super().get_config(), "dims": self.dims}


# -------------------------------------------------------------------- RepeatVector
class RepeatVector(Layer):
    """``(batch, features) -> (batch, n, features)``."""

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            raise ValueError(f"RepeatVector '{self.name}': n must be a positive integer, got {n!r}.")
        self.n = n
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        batch, features = inputs.shape
        return tile(reshape(inputs, (batch, 1, features)), (1, self.n, 1))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self) -> dict:
        return {**super().get_config(), "n": self.n}


# -------------------------------------------------------------------- UpSampling2D
def _bilinear_matrix(out_size: int, in_size: int, dtype):
    """(out_size, in_size) weights of half-pixel-centred linear interpolation (TF/JAX/PyTorch
    ``align_corners=False``), sources clamped to the edge."""
    rows = [[0.0] * in_size for _ in range(out_size)]
    scale = in_size / out_size
    for o in range(out_size):
        src = max((o + 0.5) * scale - 0.5, 0.0)
        lo = min(int(math.floor(src)), in_size - 1)
        hi = min(lo + 1, in_size - 1)
        frac = src - lo
        rows[o][lo] += 1.0 - frac
        rows[o][hi] += frac
    return backend.current().asarray(rows, dtype=dtype)


class UpSampling2D(Layer):
    """Repeat rows and columns ``size`` times (``interpolation="nearest"``) or interpolate them
    bilinearly (``"bilinear"``, half-pixel centres as ``keras.ops.image.resize``)."""

    def __init__(self, size: Any = (2, 2), data_format: str | None = None, interpolation: str = "nearest",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = _positive_pair(size, "size", f"UpSampling2D '{self.name}'")
        self.data_format = standardize_data_format(data_format, f"UpSampling2D '{self.name}'")
        self.interpolation = str(interpolation).lower()
        if self.interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"UpSampling2D '{self.name}': interpolation must be 'nearest' or 'bilinear' in graphkit, "
                             f"got {interpolation!r}.")
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs):
        sh, sw = self.size
        x = inputs
        if self.interpolation == "nearest":
            if self.data_format == "channels_last":
                n, h, w, c = x.shape
                x = broadcast_to(reshape(x, (n, h, 1, w, 1, c)), (n, h, sh, w, sw, c))
                return reshape(x, (n, h * sh, w * sw, c))
            n, c, h, w = x.shape
            x = broadcast_to(reshape(x, (n, c, h, 1, w, 1)), (n, c, h, sh, w, sw))
            return reshape(x, (n, c, h * sh, w * sw))
        channels_last = self.data_format == "channels_last"
        if channels_last:
            x = transpose(x, (0, 3, 1, 2))
        h, w = x.shape[2], x.shape[3]
        rows = _bilinear_matrix(h * sh, h, x.dtype)
        cols = _bilinear_matrix(w * sw, w, x.dtype)
        x = matmul(matmul(rows, x), cols.T)
        return transpose(x, (0, 2, 3, 1)) if channels_last else x

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        h_axis, w_axis = (1, 2) if self.data_format == "channels_last" else (2, 3)
        shape = list(input_shape)
        for axis, factor in ((h_axis, self.size[0]), (w_axis, self.size[1])):
            if shape[axis] is not None:
                shape[axis] *= factor
        return tuple(shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}


# ------------------------------------------------------------------- ZeroPadding2D
class ZeroPadding2D(Layer):
    """Pad rows and columns with zeros: ``padding`` is an int, ``(symmetric_height, symmetric_width)``
    or ``((top, bottom), (left, right))``."""

    def __init__(self, padding: Any = (1, 1), data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.padding = _spatial_pairs(padding, "padding", f"ZeroPadding2D '{self.name}'")
        self.data_format = standardize_data_format(data_format, f"ZeroPadding2D '{self.name}'")
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs):
        if self.data_format == "channels_last":
            widths = ((0, 0), *self.padding, (0, 0))
        else:
            widths = ((0, 0), (0, 0), *self.padding)
        return pad(inputs, widths)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        axes = (1, 2) if self.data_format == "channels_last" else (2, 3)
        shape = list(input_shape)
        for axis, (before, after) in zip(axes, self.padding):
            if shape[axis] is not None:
                shape[axis] += before + after
        return tuple(shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


# ---------------------------------------------------------------------- Cropping2D
class Cropping2D(Layer):
    """Remove rows and columns at the edges: ``cropping`` is an int, ``(symmetric_height,
    symmetric_width)`` or ``((top, bottom), (left, right))``."""

    def __init__(self, cropping: Any = ((0, 0), (0, 0)), data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cropping = _spatial_pairs(cropping, "cropping", f"Cropping2D '{self.name}'")
        self.data_format = standardize_data_format(data_format, f"Cropping2D '{self.name}'")
        self.input_spec = InputSpec(ndim=4)

    def _axes(self) -> tuple[int, int]:
        return (1, 2) if self.data_format == "channels_last" else (2, 3)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        shape = list(input_shape)
        for axis, (before, after) in zip(self._axes(), self.cropping):
            if shape[axis] is not None:
                if before + after >= shape[axis]:
                    raise ValueError(f"Cropping2D '{self.name}': cropping {self.cropping} must leave at least one "
                                     f"row and column, but the input has shape {tuple(input_shape)}.")
                shape[axis] -= before + after
        return tuple(shape)

    def build(self, input_shape: tuple) -> None:
        self.compute_output_shape(input_shape)  # fail early when the crop removes everything
        self.built = True

    def call(self, inputs):
        self.compute_output_shape(tuple(inputs.shape))
        index = [slice(None)] * 4
        for axis, (before, after) in zip(self._axes(), self.cropping):
            index[axis] = slice(before, inputs.shape[axis] - after)
        return getitem(inputs, tuple(index))

    def get_config(self) -> dict:
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}
