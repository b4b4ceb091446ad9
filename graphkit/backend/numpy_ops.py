"""NumPy backend: the generic :class:`Ops` plus CPU fast paths.

On glibc Linux the first :class:`NumpyOps` raises malloc's mmap threshold to 32 MiB (and its
trim threshold to 64 MiB) with ``mallopt``. glibc otherwise serves every block over 128 KiB
with a fresh ``mmap`` (or trims the heap top back to the OS on free), so each training step's
sequence buffers, gradients and GEMM outputs are page-faulted in anew: about 600 minor faults
and a fifth of an LSTM training step. The values are glibc's own upper bounds for its dynamic
threshold. Set ``GRAPHKIT_NO_MALLOPT=1`` (any non-empty value) to leave malloc alone.
"""
from __future__ import annotations

import os
import sys

import numpy

from .ops import Ops

try:  # scipy ships with scikit-learn and matplotlib stacks; the generic erf covers its absence.
    from scipy import special as _special
except ImportError:  # pragma: no cover - exercised only on machines without scipy
    _special = None


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_malloc_tuned = False


def _tune_malloc() -> bool:
    """Raise glibc's mmap/trim thresholds once per process; True when they were set."""
    global _malloc_tuned
    if _malloc_tuned or os.environ.get("GRAPHKIT_NO_MALLOPT") or not sys.platform.startswith("linux"):
        return False
    _malloc_tuned = True
    try:
        import ctypes
        if not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"):
            return False
        mallopt = ctypes.CDLL("libc.so.6").mallopt
        mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        # mmap threshold first: setting it turns off glibc's dynamic adjustment, which would
        # otherwise reset the trim threshold.
        return bool(mallopt(_M_MMAP_THRESHOLD, 32 << 20)) and bool(mallopt(_M_TRIM_THRESHOLD, 64 << 20))
    except (OSError, AttributeError, ValueError):  # pragma: no cover - exotic libc setups
        return False


class NumpyOps(Ops):
    """CPU backend on NumPy."""

    name = "numpy"
    # Cache blocking (see Ops.block_bytes and ConvOps.conv_chunk_bytes), sized for a 2 MiB L2.
    block_bytes = 1 << 20
    conv_chunk_bytes = 4 << 20

    def __init__(self) -> None:
        super().__init__(numpy)
        _tune_malloc()

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
