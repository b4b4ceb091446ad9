"""CuPy backend. Importable everywhere; constructing it needs CuPy and a CUDA device.

The GPU issue adds custom kernels here; until then every primitive runs through the generic
:class:`Ops` implementation with ``xp = cupy``.
"""
from __future__ import annotations

from .ops import Ops


INSTALL_HINT = "pip install 'graphkit-nn[gpu]'"


def cuda_unavailable_reason() -> str | None:
    """Why CupyOps cannot start here (which of CuPy or a CUDA device is missing), or None when a
    CUDA device is usable."""
    try:
        import cupy
    except ImportError:
        return "CuPy is not installed"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDA driver missing or broken
        return f"CuPy is installed but no CUDA driver is usable ({exc})"
    if count == 0:
        return "CuPy is installed but no CUDA device was found"
    return None


class CupyOps(Ops):
    """GPU backend on CuPy."""

    name = "cupy"
    device = "gpu"

    def __init__(self) -> None:
        reason = cuda_unavailable_reason()
        if reason is not None:
            raise RuntimeError(f"The 'cupy' backend is unavailable: {reason}. It needs CuPy and a CUDA GPU "
                               f"({INSTALL_HINT} installs CuPy; `nvidia-smi` should list the GPU).")
        import cupy
        import cupyx
        import cupyx.scipy.special

        super().__init__(cupy)
        self._cupyx = cupyx

    def asarray(self, value, dtype=None):
        return self.xp.asarray(value, dtype=dtype)

    def erf(self, x):
        return self._cupyx.scipy.special.erf(x)

    def scatter_add(self, target, index, values) -> None:
        self._cupyx.scatter_add(target, index, values)

    def bin_sums(self, index, weights, length: int):
        # cupy.bincount reads the indices' maximum on the host; a scatter-add into fixed bins does not.
        out = self.xp.zeros(length, dtype="float64")  # as bincount: float64 sums
        self._cupyx.scatter_add(out, index, weights)
        return out
