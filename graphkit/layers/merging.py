"""Merging layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, and their
functional forms ``gk.layers.add([a, b])`` etc.

Elementwise merges broadcast the non-batch dimensions numpy-style (size-1 dimensions stretch);
inputs of lower rank get axes inserted after the batch axis, as Keras does. The output mask is
the logical AND of the inputs' masks (inputs without a mask do not restrict it).
"""
from __future__ import annotations

import functools
from typing import Any, Sequence

from .. import backend
from ..engine.tensor import Tensor, wrap
from ..ops.array import concatenate as _concatenate
from ..ops.array import reshape
from ..ops.math import add as _add
from ..ops.math import maximum as _maximum
from ..ops.math import minimum as _minimum
from ..ops.math import multiply as _multiply
from ..ops.math import subtract as _subtract
from .layer import Layer


def _mask_data(mask: Any):
    return mask.data if isinstance(mask, Tensor) else backend.current().asarray(mask)


def _shape_text(shapes: Sequence[tuple]) -> str:
    return ", ".join(str(tuple(s)) for s in shapes)


class Merge(Layer):
    """Base of the elementwise merge layers: takes a list of tensors, returns one."""

    min_inputs = 1
    max_inputs: int | None = None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True

    @property
    def _where(self) -> str:
        return f"{type(self).__name__} '{self.name}'"

    _pairwise = None  # the binary op folded over the inputs by the default _merge_function

    def _merge_function(self, inputs: list) -> Any:
        return functools.reduce(type(self)._pairwise, inputs)

    # ---------------------------------------------------------------- shapes
    def _check_count(self, shapes: Any) -> list[tuple]:
        if not isinstance(shapes, (list, tuple)) or not shapes or not all(
                isinstance(s, (list, tuple)) for s in shapes):
            raise ValueError(f"{self._where} should be called on a list of inputs; got input shape {shapes}.")
        count = len(shapes)
        if count < self.min_inputs or (self.max_inputs is not None and count > self.max_inputs):
            wanted = (f"exactly {self.min_inputs}" if self.max_inputs == self.min_inputs
                      else f"at least {self.min_inputs}")
            raise ValueError(f"{self._where} should be called on {wanted} inputs; got {count} "
                             f"(shapes {_shape_text(shapes)}).")
        return [tuple(s) for s in shapes]

    def _broadcast_shape(self, a: tuple, b: tuple, shapes: list[tuple]) -> tuple:
        """Right-aligned broadcast of two non-batch shapes (None matches anything)."""
        if len(a) < len(b):
            a, b = b, a
        if not b:
            return a
        out = list(a[:len(a) - len(b)])
        for i, j in zip(a[len(a) - len(b):], b):
            if i is None or j is None:
                out.append(None)
            elif i == 1:
                out.append(j)
            elif j == 1 or i == j:
                out.append(i)
            else:
                raise ValueError(f"{self._where} cannot merge inputs of shapes {_shape_text(shapes)}: "
                                 f"dimensions {i} and {j} are incompatible (they must be equal or 1).")
        return tuple(out)

    def _output_shape(self, input_shape: Any) -> tuple:
        shapes = self._check_count(input_shape)
        if any(len(s) == 0 for s in shapes):
            raise ValueError(f"{self._where} needs inputs with a batch axis; got shapes {_shape_text(shapes)}.")
        batches = {s[0] for s in shapes} - {None}
        if len(batches) > 1:
            raise ValueError(f"{self._where} cannot merge tensors with different batch sizes: shapes "
                             f"{_shape_text(shapes)}.")
        out = shapes[0][1:]
        for shape in shapes[1:]:
            out = self._broadcast_shape(out, shape[1:], shapes)
        return (batches.pop() if batches else None, *out)

    def build(self, input_shape: Any) -> None:
        self._output_shape(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return self._output_shape(input_shape)

    # ----------------------------------------------------------------- calls
    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{self._where} should be called on a list of inputs; got a single tensor of shape "
                             f"{getattr(inputs, 'shape', None)}.")
        inputs = list(inputs)
        self._output_shape([tuple(x.shape) for x in inputs])
        ranks = [x.ndim for x in inputs]
        if len(set(ranks)) > 1:  # insert axes after the batch axis until the ranks agree
            top = max(ranks)
            inputs = [x if x.ndim == top else reshape(x, (x.shape[0], *([1] * (top - x.ndim)), *x.shape[1:]))
                      for x in inputs]
        return self._merge_function(inputs)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)) or not isinstance(inputs, (list, tuple)) or len(mask) != len(inputs):
            raise ValueError(f"{self._where}: expected one mask (or None) per input; got {len(inputs)} input(s) and "
                             f"mask {mask!r}.")
        masks = [_mask_data(m) for m in mask if m is not None]
        if not masks:
            return None
        out = masks[0]
        xp = backend.current().xp
        for m in masks[1:]:
            out = xp.logical_and(out, m)
        return wrap(out, None, 0)


class Add(Merge):
    """Elementwise sum of the inputs."""

    _pairwise = staticmethod(_add)


class Subtract(Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs)."""

    min_inputs = max_inputs = 2
    _pairwise = staticmethod(_subtract)


class Multiply(Merge):
    """Elementwise product of the inputs."""

    _pairwise = staticmethod(_multiply)


class Average(Merge):
    """Elementwise mean of the inputs."""

    _pairwise = staticmethod(_add)

    def _merge_function(self, inputs):
        total = super()._merge_function(inputs)
        return total / len(inputs) if len(inputs) > 1 else total


class Maximum(Merge):
    """Elementwise maximum of the inputs (ties share the gradient)."""

    _pairwise = staticmethod(_maximum)


class Minimum(Merge):
    """Elementwise minimum of the inputs (ties share the gradient)."""

    _pairwise = staticmethod(_minimum)


class Concatenate(Merge):
    """Join the inputs along ``axis``; all other dimensions must match.

    The output mask follows Keras 3: each input's mask (all-True where it has none) is expanded
    to the input's shape, the masks are concatenated along ``axis``, then reduced with ``any``
    over the last axis.
    """

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"Concatenate '{self.name}': axis must be an int, got {axis!r}.")
        self.axis = axis

    def _output_shape(self, input_shape: Any) -> tuple:
        shapes = self._check_count(input_shape)
        ranks = {len(s) for s in shapes}
        if len(ranks) != 1:
            raise ValueError(f"{self._where} requires inputs of one rank with matching shapes except on the "
                             f"concatenation axis {self.axis}; got shapes {_shape_text(shapes)}.")
        rank = ranks.pop()
        if not -rank <= self.axis < rank:
            raise ValueError(f"{self._where}: axis {self.axis} is out of range for inputs of rank {rank} "
                             f"(shapes {_shape_text(shapes)}).")
        axis = self.axis % rank
        out = []
        for i in range(rank):
            dims = [s[i] for s in shapes]
            if i == axis:
                out.append(None if None in dims else sum(dims))
                continue
            known = {d for d in dims if d is not None}
            if len(known) > 1:
                raise ValueError(f"{self._where} requires inputs with matching shapes except on the concatenation "
                                 f"axis {self.axis}; got shapes {_shape_text(shapes)} (they differ on axis {i}).")
            out.append(known.pop() if known else None)
        return tuple(out)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{self._where} should be called on a list of inputs; got a single tensor of shape "
                             f"{getattr(inputs, 'shape', None)}.")
        self._output_shape([tuple(x.shape) for x in inputs])
        return _concatenate(list(inputs), axis=self.axis)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)) or not isinstance(inputs, (list, tuple)) or len(mask) != len(inputs):
            raise ValueError(f"{self._where}: expected one mask (or None) per input; got {len(inputs)} input(s) and "
                             f"mask {mask!r}.")
        if all(m is None for m in mask):
            return None
        xp = backend.current().xp
        masks = []
        for x, m in zip(inputs, mask):
            if m is None:
                masks.append(xp.ones(x.shape, dtype=bool))
                continue
            m = _mask_data(m)
            if m.ndim < x.ndim:
                m = xp.broadcast_to(xp.expand_dims(m, -1), x.shape)
            masks.append(m)
        return wrap(xp.concatenate(masks, axis=self.axis).any(axis=-1), None, 0)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


# ----------------------------------------------------------------- functional forms
def add(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """Functional form of :class:`Add`: ``Add(**kwargs)(inputs)``."""
    return Add(**kwargs)(inputs)


def subtract(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """Functional form of :class:`Subtract`."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """Functional form of :class:`Multiply`."""
    return Multiply(**kwargs)(inputs)


def average(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """Functional form of :class:`Average`."""
    return Average(**kwargs)(inputs)


def maximum(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """Functional form of :class:`Maximum`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """Functional form of :class:`Minimum`."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: Sequence[Any], axis: int = -1, **kwargs: Any) -> Any:
    """Functional form of :class:`Concatenate`."""
    return Concatenate(axis=axis, **kwargs)(inputs)
