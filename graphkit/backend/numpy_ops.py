"""NumPy backend: the generic :class:`Ops` plus CPU fast paths."""
from __future__ import annotations

import numpy

from .ops import Ops

try:  # scipy ships with scikit-learn and matplotlib stacks; the generic erf covers its absence.
    from scipy import special as _special
except ImportError:  # pragma: no cover - exercised only on machines without scipy
    _special = None


class NumpyOps(Ops):
    """CPU backend on NumPy."""

    name = "numpy"

    def __init__(self) -> None:
        super().__init__(numpy)

    def to_numpy(self, array) -> numpy.ndarray:
        return array

    if _special is not None:

        def erf(self, x):
            return _special.erf(x)

    def dense_backward(self, grad, x, w, with_bias: bool, input_grad: bool = True):
        if x.ndim != 2:
            return super().dense_backward(grad, x, w, with_bias, input_grad)
        gx = grad @ w.T if input_grad else None
        gw = x.T @ grad
        gb = grad.sum(axis=0) if with_bias else None
        return gx, gw, gb
