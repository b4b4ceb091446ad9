"""Symbolic tensors: shapes and dtypes flowing through layer calls before any data exists."""
from __future__ import annotations

from typing import Any

import numpy

from ..engine import dtypes


class SymbolicTensor:
    """A placeholder for data in a Functional model (Keras's ``KerasTensor``).

    ``shape`` uses None for unknown dimensions (the batch). ``_keras_history`` is
    ``(layer, node_index, tensor_index)``: which call produced it.
    """

    __slots__ = ("shape", "dtype", "name", "sparse", "_keras_history", "__weakref__")

    def __init__(self, shape, dtype: Any = "float32", name: str | None = None, sparse: bool = False) -> None:
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = dtypes.standardize(dtype or "float32")
        self.name = name
        self.sparse = sparse
        self._keras_history = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<SymbolicTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    __hash__ = object.__hash__

    # ------------------------------------------------------- refusing real data
    def _refuse(self, *_args, **_kwargs):
        raise TypeError(
            f"Symbolic tensor {self.name!r} (shape {self.shape}) holds no data: it stands for the "
            "input of a model that is still being defined. Build a gk.Model from it and call the model "
            "on real arrays, or use gk.ops functions / layers on it to extend the graph.")

    def __array__(self, *_args, **_kwargs):
        # A distinct TypeError: the gk.ops wrappers catch it and record an op layer instead.
        raise SymbolicValueError(
            f"Symbolic tensor {self.name!r} (shape {self.shape}) holds no data: it stands for the "
            "input of a model that is still being defined. Build a gk.Model from it and call the model "
            "on real arrays, or use gk.ops functions / layers on it to extend the graph.")

    __array_ufunc__ = None  # numpy defers `array + symbolic` to __radd__
    __bool__ = _refuse
    __float__ = _refuse
    __int__ = _refuse
    __index__ = _refuse
    numpy = _refuse

    def __len__(self) -> int:
        if not self.shape or self.shape[0] is None:
            self._refuse()
        return self.shape[0]

    def __iter__(self):
        raise TypeError(f"Symbolic tensor {self.name!r} cannot be iterated; slice it (x[:, 0]) instead.")

    # --------------------------------------------- arithmetic: recorded as op layers (Keras's names)
    def __getitem__(self, key):
        return _record("get_item", self, key)

    def __pos__(self):
        return self

    def __neg__(self):
        return _record("negative", self)

    def __abs__(self):
        return _record("absolute", self)

    def __invert__(self):
        return _record("logical_not", self)

    def __round__(self, ndigits=None):
        if ndigits is not None:
            raise TypeError("round() of a symbolic tensor takes no ndigits.")
        return _record("round", self)

    def reshape(self, *shape):
        return _record("reshape", self, shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape)

    @property
    def T(self):  # noqa: N802
        return _record("transpose", self)


def _record(name: str, *args):
    from ..ops._symbolic import record_op
    return record_op(name, args)


def _binary(name: str, reflected: bool = False):
    if reflected:
        def method(self, other):
            return _record(name, other, self)
    else:
        def method(self, other):
            return _record(name, self, other)
    method.__name__ = name
    return method


for _dunder, _op in (("add", "add"), ("sub", "subtract"), ("mul", "multiply"), ("truediv", "true_divide"),
                     ("floordiv", "floor_divide"), ("mod", "mod"), ("pow", "power"), ("matmul", "matmul"),
                     ("and", "logical_and"), ("or", "logical_or"), ("xor", "logical_xor")):
    setattr(SymbolicTensor, f"__{_dunder}__", _binary(_op))
    setattr(SymbolicTensor, f"__r{_dunder}__", _binary(_op, reflected=True))
# As KerasTensor: no __eq__ (identity, so tensors stay usable in sets and `in` tests), but != records.
for _dunder, _op in (("lt", "less"), ("le", "less_equal"), ("gt", "greater"), ("ge", "greater_equal"),
                     ("ne", "not_equal")):
    setattr(SymbolicTensor, f"__{_dunder}__", _binary(_op))
del _dunder, _op


class SymbolicValueError(TypeError):
    """Raised when a symbolic tensor is converted to an array (its data does not exist yet)."""


def any_symbolic(values) -> bool:
    """Whether a flat iterable holds a symbolic tensor."""
    return any(isinstance(v, SymbolicTensor) for v in values)


def placeholder(shape: tuple, dtype: numpy.dtype, fill_unknown: int):
    """A zero array standing in for a symbolic tensor, unknown dims set to ``fill_unknown``."""
    from ..engine.tensor import Tensor
    return Tensor(numpy.zeros(tuple(fill_unknown if d is None else d for d in shape), dtype=dtype), dtype=dtype)
