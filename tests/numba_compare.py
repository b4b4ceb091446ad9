"""Shared set-up of the tests comparing NumpyOps' numba kernels with the generic numpy code."""
from __future__ import annotations

import numpy as np
import pytest

from graphkit.backend.numpy_ops import NumpyOps, numba_kernels
from graphkit.backend.ops import Ops

requires_numba = pytest.mark.skipif(numba_kernels() is None, reason="numba not installed or GRAPHKIT_NO_NUMBA set")

FAST, GENERIC = NumpyOps(), Ops(np)


def rng():
    return np.random.default_rng(0)


def close(a, b, rtol=1e-5, atol=1e-5):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
