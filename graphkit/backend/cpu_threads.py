"""Batch-parallel CPU work for :class:`~graphkit.backend.numpy_ops.NumpyOps`.

A convolution step on the CPU is GEMMs (threaded by BLAS) between memory-bound passes (im2col
copies, col2im, bias + relu, pooling) that numpy and numba run on one core. A second Python
thread does not help those passes right after a GEMM: OpenBLAS's idle workers spin on the
other cores for ~0.1 s after each threaded call. So NumpyOps splits the batch instead: each of
``n`` threads runs its images' copies, GEMMs and fused kernels while OpenBLAS is set to one
thread (:meth:`BatchThreads.owning_cores`), so no BLAS worker wakes up to compete; the count
is set back when the call ends. Convolutions of several images own the cores for their whole
call, dense products too large for one core are split by rows the same way, and other GEMM
users (dense, matmul, RNNs) own the cores while split work goes on (:meth:`recently_split`).
(Measured on 2 cores: conv2d forward 12.8 -> 9.5 ms, the SPEC conv net's step 64 -> 43 ms.)

``n`` is the thread count BLAS is set to use (``OPENBLAS_NUM_THREADS``, threadpoolctl's
limits), capped at the usable CPUs: a limit of one thread keeps everything serial. Where numpy's
BLAS is not an OpenBLAS this module can find (Accelerate, MKL), or with
``GRAPHKIT_NO_BATCH_THREADS=1``, there is one part and BLAS threads its GEMMs itself. While a
batch is split, BLAS calls made by other threads of the process run single-threaded.
"""
from __future__ import annotations

import contextlib
import ctypes
import glob
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, Callable, Iterator

import numpy

# (set threads, get threads, threading model) of numpy wheels' scipy-openblas (64- and 32-bit
# ints) and plain OpenBLAS.
_SYMBOLS = tuple((f"{prefix}set_num_threads{suffix}", f"{prefix}get_num_threads{suffix}",
                  f"{prefix}get_parallel{suffix}")
                 for prefix, suffix in (("scipy_openblas_", "64_"), ("scipy_openblas_", ""), ("openblas_", "")))
_PTHREADS = 1   # openblas_get_parallel(): 0 sequential, 1 pthreads, 2 OpenMP


def _loaded_openblas_paths() -> list[str]:
    """OpenBLAS libraries numpy ships (wheels), then any this process has loaded (other builds)."""
    here = os.path.dirname(numpy.__file__)
    paths = glob.glob(os.path.join(here, "..", "numpy.libs", "*openblas*")) + \
        glob.glob(os.path.join(here, ".dylibs", "*openblas*"))
    try:
        with open("/proc/self/maps") as maps:
            paths += sorted({line.split()[-1] for line in maps if "openblas" in line.rsplit("/", 1)[-1]})
    except OSError:
        pass
    return paths


class _OpenBlasThreads:
    """numpy's OpenBLAS thread count (the library-wide setting threadpoolctl changes too)."""

    def __init__(self, set_, get) -> None:
        set_.argtypes, set_.restype = [ctypes.c_int], None
        get.argtypes, get.restype = [], ctypes.c_int
        self.set, self.get = set_, get

    @classmethod
    def find(cls) -> "_OpenBlasThreads | None":
        for path in _loaded_openblas_paths():
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for set_name, get_name, parallel_name in _SYMBOLS:
                if not (hasattr(lib, set_name) and hasattr(lib, get_name)):
                    continue
                # An OpenMP build's thread count is per calling thread: the parts' BLAS calls
                # would not see the one-thread setting. Only pthreads builds qualify.
                parallel = getattr(lib, parallel_name, None)
                if parallel is not None:
                    parallel.argtypes, parallel.restype = [], ctypes.c_int
                    if parallel() != _PTHREADS:
                        return None
                return cls(getattr(lib, set_name), getattr(lib, get_name))
        return None


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):   # not Linux
        return os.cpu_count() or 1


class BatchThreads:
    """Splits batches over threads while holding OpenBLAS to one thread.

    A thread *owns the cores* inside :meth:`owning_cores` (reentrant): BLAS runs single-threaded
    and :meth:`run` supplies the parallelism. One thread owns them at a time; others meanwhile
    run serially (with BLAS at one thread too: the setting is library-wide).
    """

    def __init__(self) -> None:
        self._blas: _OpenBlasThreads | None | bool = False   # False: not looked up yet
        self._cpus = 1
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0
        self._busy = threading.Lock()        # held by the owning thread
        self._owner: int | None = None       # that thread's ident
        self._user_threads = 1               # BLAS's thread count when ownership began
        self._inside = threading.local()     # set while a thread runs a part: nested work is serial
        self.split_at = -math.inf            # time.monotonic() when a split batch last ended

    def _control(self) -> _OpenBlasThreads | None:
        if self._blas is False:
            self._cpus = _usable_cpus()
            self._blas = None if os.environ.get("GRAPHKIT_NO_BATCH_THREADS") else _OpenBlasThreads.find()
        return self._blas

    def parts(self) -> int:
        """Threads a batch may be split over now (1: run serially)."""
        blas = self._control()
        if blas is None or self._cpus < 2 or getattr(self._inside, "active", False):
            return 1
        owner = self._owner
        if owner is None:
            threads = blas.get()
        elif owner == threading.get_ident():
            threads = self._user_threads
        else:
            return 1
        return max(1, min(threads, self._cpus))

    # Seconds after a split during which split work counts as going on (OpenBLAS's workers spin
    # ~0.12 s after a threaded call; a training step of a conv net splits several times).
    split_window = 1.0

    def recently_split(self) -> bool:
        """Whether a batch was split in the last :attr:`split_window` seconds."""
        return time.monotonic() - self.split_at < self.split_window

    @contextlib.contextmanager
    def owning_cores(self) -> Iterator[None]:
        """A block whose BLAS calls run single-threaded (its parallelism comes from :meth:`run`),
        so OpenBLAS's workers stay asleep instead of spinning against the parts. BLAS's thread
        count is set back when the outermost block ends."""
        blas = self._control()
        me = threading.get_ident()
        if blas is None or self._owner == me or getattr(self._inside, "active", False) \
                or not self._busy.acquire(blocking=False):
            yield
            return
        try:
            self._user_threads = blas.get()
            self._owner = me
            if self._user_threads > 1:
                blas.set(1)
            yield
        finally:
            if self._user_threads > 1:
                blas.set(self._user_threads)
            self._owner = None
            self._busy.release()

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None or self._pool_pid != os.getpid():   # a forked child has no workers
            self._pool = ThreadPoolExecutor(self._cpus - 1, thread_name_prefix="graphkit-batch")
            self._pool_pid = os.getpid()
        return self._pool

    def _part(self, fn: Callable[[int, int], Any], start: int, stop: int) -> Any:
        self._inside.active = True
        return fn(start, stop)

    def run(self, fn: Callable[[int, int], Any], total: int, parts: int) -> list:
        """``[fn(start, stop), ...]`` over up to ``parts`` contiguous, near-equal ranges of
        ``range(total)``, owning the cores (:meth:`owning_cores`) until every part has ended; the
        first range runs on the calling thread. Serial where another thread owns the cores."""
        step = max(1, -(-total // max(1, parts)))
        ranges = [(start, min(total, start + step)) for start in range(0, total, step)]
        if len(ranges) <= 1 or getattr(self._inside, "active", False):
            return [fn(0, total)]
        with self.owning_cores():
            if self._owner != threading.get_ident():
                return [fn(0, total)]
            self._inside.active = True
            try:
                futures = [self._executor().submit(self._part, fn, *r) for r in ranges[1:]]
                try:
                    first = fn(*ranges[0])
                finally:
                    wait(futures)
            finally:
                self._inside.active = False
                self.split_at = time.monotonic()
        return [first] + [future.result() for future in futures]


batch_threads = BatchThreads()
