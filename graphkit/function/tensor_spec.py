"""``TensorSpec``: the shape and dtype a traced function's tensor argument must have."""
from __future__ import annotations

from typing import Any, Sequence

import numpy

from ..engine import dtypes


class TensorSpec:
    """Describes a tensor argument: ``shape`` (``None`` for any size along a dimension, or
    ``shape=None`` for any rank) and ``dtype``."""

    __slots__ = ("shape", "dtype", "name")

    def __init__(self, shape: Sequence[int | None] | None, dtype: Any = "float32", name: str | None = None):
        self.shape = None if shape is None else tuple(None if d is None else int(d) for d in shape)
        self.dtype = dtypes.standardize(dtype) if dtype is not None else numpy.dtype("float32")
        self.name = name

    @classmethod
    def from_array(cls, array: Any, name: str | None = None) -> "TensorSpec":
        return cls(tuple(array.shape), array.dtype, name)

    def is_compatible_with(self, value: Any) -> bool:
        """Whether a tensor/array (or another spec) fits this spec."""
        shape = getattr(value, "shape", None)
        dtype = getattr(value, "dtype", None)
        if shape is None or dtype is None or numpy.dtype(dtype) != self.dtype:
            return False
        if self.shape is None:
            return True
        if len(shape) != len(self.shape):
            return False
        return all(a is None or a == b for a, b in zip(self.shape, shape))

    def _key(self) -> tuple:
        return (self.shape, self.dtype.name)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, TensorSpec) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"TensorSpec(shape={self.shape}, dtype={self.dtype.name}, name={self.name!r})"
