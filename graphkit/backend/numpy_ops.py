"""NumPy backend: the generic :class:`Ops` plus CPU fast paths.

On glibc Linux the first :class:`NumpyOps` raises malloc's mmap threshold to 32 MiB (and its
trim threshold to 64 MiB) with ``mallopt``. glibc otherwise serves every block over 128 KiB
with a fresh ``mmap`` (or trims the heap top back to the OS on free), so each training step's
sequence buffers, gradients and GEMM outputs are page-faulted in anew: about 600 minor faults
and a fifth of an LSTM training step. The values are glibc's own upper bounds for its dynamic
threshold. Set ``GRAPHKIT_NO_MALLOPT=1`` (any non-empty value) to leave malloc alone.

Where numba imports, 2-D convolution layers' col2im, max pooling, bias + relu, float32
unmasked LSTM steps and plain RMSprop updates (no momentum, not centered; contiguous arrays of
one float dtype) run fused kernels from :mod:`graphkit.backend.numba_kernels` (numba is
imported on first use, not with graphkit). ``GRAPHKIT_NO_NUMBA=1`` (read at that first use)
keeps the generic numpy code.

Large convolutions, max pooling and bias + relu split their batch over threads
(:meth:`NumpyOps.in_batch_parts`, :mod:`graphkit.backend.cpu_threads`).
"""
from __future__ import annotations

import functools
import math
import os
import sys
import time
from typing import Callable

import numpy

from .conv_ops import axis_table
from .cpu_threads import batch_threads
from .ops import Ops
from .rnn_ops import LSTMSaved

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


_kernels = None   # the numba_kernels module; False once found unavailable or switched off


def numba_kernels():
    """:mod:`graphkit.backend.numba_kernels`, or None without numba or with ``GRAPHKIT_NO_NUMBA``."""
    global _kernels
    if _kernels is None:
        _kernels = False
        if not os.environ.get("GRAPHKIT_NO_NUMBA"):
            try:
                from . import numba_kernels as module
            except (ImportError, OSError):   # no numba, or one that does not fit this numpy
                pass
            else:
                _kernels = module
    return _kernels or None


def _floats(*arrays) -> bool:
    """All float arrays of one dtype (what the numba kernels are used for)."""
    dtype = arrays[0].dtype
    return dtype.kind == "f" and all(a.dtype == dtype for a in arrays[1:])


class NumpyOps(Ops):
    """CPU backend on NumPy."""

    name = "numpy"
    # Cache blocking (see Ops.block_bytes and ConvOps.conv_chunk_bytes), sized for a 2 MiB L2.
    block_bytes = 1 << 20
    conv_chunk_bytes = 4 << 20

    def __init__(self) -> None:
        super().__init__(numpy)
        _tune_malloc()

    # Fewest bytes of data a batch part on a thread of its own should cover (in_batch_parts).
    part_bytes = 1 << 20

    def batch_parts(self, total: int, item_bytes: int) -> int:
        fewest = max(1, -(-self.part_bytes // max(1, item_bytes)))
        return max(1, min(batch_threads.parts(), total // fewest))

    def in_batch_parts(self, fn, total: int, item_bytes: int) -> list:
        return batch_threads.run(fn, total, self.batch_parts(total, item_bytes))

    if _special is not None:

        def erf(self, x):
            return _special.erf(x)

    # ------------------------------------------------ dense layers over batch parts
    # Dense products below this many FLOPs leave threading to BLAS (a split costs ~30-50 µs).
    dense_split_flops = 32e6

    def _dense_parts(self, x, w) -> int:
        """Batch parts for the products of a dense layer (1: leave them to BLAS)."""
        if x.ndim < 2 or 2.0 * x.size * w.shape[1] < self.dense_split_flops:
            return 1
        return self.batch_parts(x.size // x.shape[-1], (w.shape[0] + w.shape[1]) * 4)

    def dense(self, x, w, b):
        parts = self._dense_parts(x, w)
        if parts < 2:
            return Ops.dense(self, x, w, b)
        x2 = x.reshape(-1, x.shape[-1])
        y = numpy.empty((x2.shape[0], w.shape[1]), dtype=numpy.result_type(x, w))

        def rows(start: int, stop: int) -> None:
            numpy.matmul(x2[start:stop], w, out=y[start:stop])
            if b is not None:
                y[start:stop] += b
        batch_threads.run(rows, x2.shape[0], parts)
        return y.reshape(*x.shape[:-1], w.shape[1])

    def dense_backward(self, grad, x, w, with_bias: bool, input_grad: bool = True):
        parts = self._dense_parts(x, w)
        if parts < 2 or not _floats(grad, x, w):
            return super().dense_backward(grad, x, w, with_bias, input_grad)
        x2, g2 = x.reshape(-1, x.shape[-1]), grad.reshape(-1, grad.shape[-1])
        gx = numpy.empty(x2.shape, dtype=grad.dtype) if input_grad else None
        gw = numpy.empty(w.shape, dtype=grad.dtype)

        def input_rows(start: int, stop: int) -> None:
            numpy.matmul(g2[start:stop], w.T, out=gx[start:stop])

        def kernel_rows(start: int, stop: int) -> None:   # rows of gw: no partial sums to add
            numpy.matmul(x2[:, start:stop].T, g2, out=gw[start:stop])
        with batch_threads.owning_cores():
            if input_grad:
                batch_threads.run(input_rows, g2.shape[0], parts)
            batch_threads.run(kernel_rows, w.shape[0], parts)
        gb = g2.sum(axis=0) if with_bias else None
        return (gx.reshape(x.shape) if input_grad else None), gw, gb

    # ------------------------------------------------- numba kernels (2-D, float)
    def _col2im(self, g2, w, padded_shape, out, ksize, strides, dilation, groups: int = 1):
        kernels = numba_kernels()
        if (kernels is None or groups != 1 or len(ksize) != 2 or not _floats(g2, w)
                or self._disjoint_windows(ksize, strides, dilation)):
            return super()._col2im(g2, w, padded_shape, out, ksize, strides, dilation, groups)
        # Columns of a few images at a time (one GEMM into a reused cache-sized buffer), each
        # input cell then gathering its window entries: one write per cell, no zero fill.
        n = padded_shape[0]
        rows = out[0] * out[1]
        width = math.prod(ksize) * w.shape[-2]
        chunk = max(1, min(n, (self.conv_chunk_bytes or 4 << 20) // (rows * width * g2.dtype.itemsize)))
        wt = w.reshape(width, w.shape[-1]).T
        gpad = numpy.empty(padded_shape, dtype=g2.dtype)
        row_of = axis_table(padded_shape[1], out[0], ksize[0], strides[0], dilation[0])
        col_of = axis_table(padded_shape[2], out[1], ksize[1], strides[1], dilation[1])

        def images(start: int, stop: int) -> None:
            buffer = numpy.empty((min(chunk, stop - start) * rows, width), dtype=g2.dtype)
            for first in range(start, stop, chunk):
                count = min(chunk, stop - first)
                cols = buffer[:count * rows]
                numpy.matmul(g2[first * rows:(first + count) * rows], wt, out=cols)
                kernels.col2im_2d(cols, gpad[first:first + count], out[1], row_of, col_of)
        self.in_batch_parts(images, n, rows * width * g2.dtype.itemsize)
        return gpad

    def _max_pool_images(self, xpad, y, arg, pool_size, strides) -> None:
        kernels = numba_kernels()
        if kernels is None or xpad.ndim != 4 or xpad.dtype.kind != "f":
            return super()._max_pool_images(xpad, y, arg, pool_size, strides)
        kernels.max_pool_2d(xpad, y, arg, *pool_size, *strides)

    def _max_pool_backward_images(self, grad, argmax, gpad, pool_size, strides) -> None:
        kernels = numba_kernels()
        if kernels is None or grad.ndim != 4 or grad.dtype.kind != "f":
            return super()._max_pool_backward_images(grad, argmax, gpad, pool_size, strides)
        kernels.max_pool_backward_2d(grad, argmax, gpad, *pool_size, *strides)

    def _bias_activation_rows(self, y, b, relu: bool) -> None:
        kernels = numba_kernels()
        if (kernels is None or y.ndim != 2 or not y.flags.c_contiguous
                or not _floats(y, *(() if b is None else (b,)))
                or (b is not None and b.shape != y.shape[-1:])):
            return super()._bias_activation_rows(y, b, relu)
        kernels.bias_relu_2d(y, numpy.zeros(y.shape[1], y.dtype) if b is None else b, b is not None, relu)

    def _bias_activation_backward_rows(self, g2, y2, gz, with_bias: bool):
        kernels = numba_kernels()
        relu = y2 is not None
        if kernels is None or not _floats(g2, *((y2,) if relu else ())):
            return super()._bias_activation_backward_rows(g2, y2, gz, with_bias)
        gb = numpy.empty(g2.shape[1], dtype=numpy.float64)   # float64 partial sums; cast by the caller
        kernels.bias_relu_backward_2d(g2, y2 if relu else g2, gz, gb, relu, with_bias)
        return gb if with_bias else None

    # ------------------------------------------------------ numba RMSprop (plain)
    def rmsprop_update(self, var, grad, v, lr, rho, one_minus_rho, epsilon, work=None,
                       momentum=None, m=None, average_grad=None, floor=None) -> None:
        # One pass instead of the generic kernel's seven, with its operations in its order
        # (same float results); momentum, centering or odd layouts take the generic kernel.
        kernels = numba_kernels()
        if (kernels is None or m is not None or average_grad is not None or not var.flags.writeable
                or not all(isinstance(a, numpy.ndarray) and a.shape == var.shape and a.flags.c_contiguous
                           for a in (var, grad, v))
                or not _floats(var, grad, v)):
            return super().rmsprop_update(var, grad, v, lr, rho, one_minus_rho, epsilon, work, momentum, m,
                                          average_grad, floor)
        t = var.dtype.type
        kernels.rmsprop_update(var.reshape(-1), grad.reshape(-1), v.reshape(-1), t(lr), t(rho), t(one_minus_rho),
                               t(epsilon), t(0 if floor is None else floor), floor is not None)

    # ---------------------------------------------- numba LSTM steps (float32, no mask)
    def _lstm_kernels(self, mask, *arrays):
        kernels = numba_kernels()
        if kernels is None or mask is not None or not all(a.dtype == numpy.float32 for a in arrays):
            return None
        return kernels

    def lstm_forward(self, x, h0, c0, kernel, recurrent_kernel, bias=None, mask=None,
                     go_backwards=False, zero_output_for_mask=False, save=True, zero_h0=False):
        kernels = self._lstm_kernels(mask, x, h0, c0, kernel, recurrent_kernel,
                                     *(() if bias is None else (bias,)))
        if kernels is None:
            return super().lstm_forward(x, h0, c0, kernel, recurrent_kernel, bias, mask, go_backwards,
                                        zero_output_for_mask, save, zero_h0)
        # The generic loop's steps, with each step's gate work in one fused pass.
        n, steps, _ = x.shape
        u = recurrent_kernel.shape[0]
        dtype = x.dtype
        # The kernel halves the sigmoid gates' pre-activations and adds the bias itself: no
        # scaled weight copies, no bias pass over the projection.
        xw, x2 = self._rnn_projection(x, kernel, None, go_backwards)
        b = xw[0, 0] if bias is None else bias
        rk = recurrent_kernel
        hs = self._rnn_states(h0, steps)
        gates = numpy.empty((steps if save else 1, 4, n, u), dtype)
        cs = self._rnn_states(c0, steps) if save else numpy.empty((2, n, u), dtype)
        tcs = numpy.empty((steps if save else 1, n, u), dtype)
        z = numpy.empty((n, 4 * u), dtype)
        c = numpy.ascontiguousarray(c0)
        for s in range(steps):
            c_new = cs[s + 1] if save else cs[s % 2]
            add_hu = bool(s or not zero_h0)   # else h0 @ rk is zero
            if add_hu:
                numpy.matmul(hs[s], rk, out=z)
            kernels.lstm_step(z, add_hu, xw[s], b, bias is not None, gates[s if save else 0], c, c_new,
                              tcs[s if save else 0], hs[s + 1])
            c = c_new
        outputs = self._rnn_outputs(hs, None, zero_output_for_mask)
        saved = None
        if save:
            saved = LSTMSaved(x2, kernel, recurrent_kernel, bias is not None, None, go_backwards, zero_output_for_mask,
                              hs, gates, cs, tcs, bool(zero_h0))
        return outputs, hs[steps].copy(), c.copy(), saved

    def lstm_backward(self, saved, g_outputs, g_h, g_c, input_grad: bool = True):
        (x2, kernel, rk, with_bias, mb, go_backwards, zero_out, hs, gates, cs, tcs, zero_h0) = saved
        kernels = self._lstm_kernels(mb, gates)
        if kernels is None:
            return super().lstm_backward(saved, g_outputs, g_h, g_c, input_grad)
        steps, _, n, u = gates.shape
        dtype = gates.dtype
        dz = numpy.empty((steps, n, 4 * u), dtype)
        rk_t = numpy.empty(rk.shape[::-1], dtype)   # per-step GEMMs run faster on a contiguous operand
        kernels.transpose_2d(numpy.ascontiguousarray(rk), rk_t)
        g_seq = None if g_outputs is None else g_outputs.transpose(1, 0, 2)
        dh = self._rnn_start_grad(g_h, (n, u), dtype)
        dc = self._rnn_start_grad(g_c, (n, u), dtype)
        for s in range(steps - 1, -1, -1):
            kernels.lstm_step_backward(dh, dh if g_seq is None else g_seq[s], g_seq is not None, dc,
                                       gates[s], cs[s], tcs[s], dz[s])
            if s or not zero_h0:
                numpy.matmul(dz[s], rk_t, out=dh)
        h_prev = hs[1:-1] if zero_h0 else hs[:-1]
        gx, gw, gu, gb = self._rnn_weight_grads(dz, x2, kernel, with_bias, h_prev, go_backwards,
                                                input_grad=input_grad)
        return gx, None if zero_h0 else dh, dc, gw, gu, gb


def _owning_cores(method: Callable, several_images: bool) -> Callable:
    """``method`` of NumpyOps run owning the cores (:meth:`BatchThreads.owning_cores`), so its
    GEMMs run with BLAS single-threaded (big ones split over the batch) and OpenBLAS's workers
    never wake to spin against split work: a spinning worker made the split passes of the next
    convolution ~2x slower (a Dense(64) head at batch 128 slowed a conv net's step from 91 to
    148 ms).

    ``several_images``: own them whenever the first argument holds several images (convolutions,
    which split their batch; a single image cannot split and keeps BLAS's threads). Otherwise own
    them only while split work goes on (:meth:`BatchThreads.recently_split`: a conv net's dense
    head or LSTM); elsewhere (an MLP) BLAS threads the products as before. The check is inlined:
    dense calls are hot."""
    threads, monotonic = batch_threads, time.monotonic

    if several_images:
        def wrapper(self, batch, *args, **kwargs):
            if batch.shape[0] < 2:
                return method(self, batch, *args, **kwargs)
            with threads.owning_cores():
                return method(self, batch, *args, **kwargs)
    else:
        def wrapper(self, *args, **kwargs):
            if monotonic() - threads.split_at >= threads.split_window:
                return method(self, *args, **kwargs)
            with threads.owning_cores():
                return method(self, *args, **kwargs)
    return functools.wraps(method)(wrapper)


for _name in ("conv_with_columns", "conv_backward", "conv_transpose", "conv_transpose_backward"):
    setattr(NumpyOps, _name, _owning_cores(getattr(NumpyOps, _name), several_images=True))
for _name in ("dense", "dense_backward", "matmul", "matmul_backward", "lstm_forward", "lstm_backward",
              "gru_forward", "gru_backward", "simple_rnn_forward", "simple_rnn_backward"):
    setattr(NumpyOps, _name, _owning_cores(getattr(NumpyOps, _name), several_images=False))
