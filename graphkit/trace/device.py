"""Which backend and device a trace runs on, and how a span's end is timed there.

On NumPy a span ends when its event is published. On CuPy kernels run asynchronously, so each
span's end waits for the current CUDA stream (``cupy.cuda.get_current_stream().synchronize()``)
and is read after it: the span then covers the device work it queued, not just the launch.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import numpy


def backend_and_device(ops: Any) -> tuple[str, str]:
    """``("numpy", "cpu")`` or ``("cupy", "gpu:<id>")`` for the backend ``ops``."""
    xp = ops.xp
    if xp is numpy:
        return getattr(ops, "name", "numpy"), "cpu"
    return getattr(ops, "name", "cupy"), f"gpu:{int(xp.cuda.Device().id)}"


def span_end_clock(ops: Any) -> Callable[[], int] | None:
    """None on NumPy (the published end time stands); on a CUDA backend, a function that waits
    for the current stream and returns ``time.perf_counter_ns()``."""
    xp = ops.xp
    if xp is numpy:
        return None
    cuda = xp.cuda
    clock = time.perf_counter_ns

    def synchronized_now() -> int:
        cuda.get_current_stream().synchronize()
        return clock()
    return synchronized_now
