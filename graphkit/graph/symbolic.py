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

    __array__ = _refuse
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


def any_symbolic(values) -> bool:
    """Whether a flat iterable holds a symbolic tensor."""
    return any(isinstance(v, SymbolicTensor) for v in values)


def placeholder(shape: tuple, dtype: numpy.dtype, fill_unknown: int):
    """A zero array standing in for a symbolic tensor, unknown dims set to ``fill_unknown``."""
    from ..engine.tensor import Tensor
    return Tensor(numpy.zeros(tuple(fill_unknown if d is None else d for d in shape), dtype=dtype), dtype=dtype)
