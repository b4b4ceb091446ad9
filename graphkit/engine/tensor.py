"""``gk.Tensor``: an immutable array on the active backend, the unit of autograd."""
from __future__ import annotations

from typing import Any

import numpy

from ..backend import state as _backend
from ..backend.host import to_host
from . import dtypes


def to_array(value: Any, dtype: Any = None):
    """Convert ``value`` (tensor, array, scalar, nested list) to a backend array."""
    if isinstance(value, Tensor):
        array = value.data
        if dtype is not None and array.dtype != dtypes.standardize(dtype):
            array = array.astype(dtypes.standardize(dtype))
        return array
    ops = _backend.ops
    if dtype is None:
        dtype = dtypes.default_for(value)
    if isinstance(value, ops.xp.ndarray) or not hasattr(value, "__array__"):
        return ops.asarray(value, dtype=dtype)
    return ops.asarray(to_host(value), dtype=dtype)


_new_object = object.__new__
_ndarray, _numpy_scalar = numpy.ndarray, numpy.generic


def wrap(data, node, index: int) -> "Tensor":
    """Make a tensor around a backend array without copying or converting it (the hot path)."""
    if data.__class__ is not _ndarray and isinstance(data, _numpy_scalar):
        data = numpy.asarray(data)  # numpy reductions and 0-d arithmetic return scalars
    t = _new_object(Tensor)
    t.data = data
    t._node = node
    t._index = index
    t._tracked = node is not None
    t._keras_mask = None
    return t


class Tensor:
    """An n-dimensional array with autograd support.

    Create with :func:`graphkit.constant` (or ``gk.Tensor(value, dtype)``); convert back with
    ``.numpy()`` or ``np.asarray(t)``. Operators (+ - * / ** @, comparisons, indexing) run
    the primitives of :mod:`graphkit.ops` and are differentiable under a GradientTape.
    """

    # _keras_mask: the mask a masking layer attached to its output (None otherwise).
    __slots__ = ("data", "_node", "_index", "_tracked", "_keras_mask", "__weakref__")
    __array_priority__ = 1000  # numpy defers binary operators to Tensor
    _holds_backend_array = True  # backend.host.to_host reads ``.data`` (Variable inherits this)

    def __init__(self, value: Any, dtype: Any = None) -> None:
        self.data = to_array(value, dtype)
        self._node = None
        self._index = 0
        self._tracked = False
        self._keras_mask = None

    # ---------------------------------------------------------------- properties
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self) -> numpy.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def device(self) -> str:
        return "cpu" if isinstance(self.data, numpy.ndarray) else "gpu"

    # ---------------------------------------------------------------- interop
    def numpy(self) -> numpy.ndarray:
        """The values as a numpy array (copied from the GPU when needed)."""
        data = self.data
        return data if data.__class__ is _ndarray else to_host(data)

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        if dtype is not None and array.dtype != dtype:
            if copy is False:
                raise ValueError(f"A {array.dtype} tensor cannot become a {numpy.dtype(dtype)} array without a copy.")
            return array.astype(dtype)
        return array.copy() if copy else array

    def item(self):
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __float__(self) -> float:
        return float(self.data)

    def __int__(self) -> int:
        return int(self.data)

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iu":
            raise TypeError(f"Only integer tensors can be used as an index, not {self.data.dtype}.")
        return int(self.data)

    def __bool__(self) -> bool:
        return bool(self.data)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        body = numpy.array2string(self.numpy(), separator=", ", prefix="gk.Tensor(")
        return f"gk.Tensor({body}, shape={self.shape}, dtype={self.dtype})"
