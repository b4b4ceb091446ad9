"""CuPy backend. Importable everywhere; constructing it needs CuPy and a CUDA device.

Every primitive runs the generic :class:`Ops` code with ``xp = cupy``; the hot elementwise paths
run fused kernels from :mod:`graphkit.backend.cupy_kernels` instead (one launch each): conv bias +
relu forward/backward, the sparse softmax cross-entropy's exponentials, losses and gradient, the
scale-and-shift of BatchNorm (training) and LayerNorm and BatchNorm's input gradient, an LSTM
step's gates and states and its BPTT gate gradients, a GRU (``reset_after``) step's and its BPTT
gate gradients, a SimpleRNN step's activation (each around the step's GEMM), the
SGD/momentum/Nesterov, Adam, RMSprop and Adagrad updates (plain forms; AMSGrad, RMSprop with
momentum or centering and non-contiguous arrays take the generic code), and counter-based dropout
masks. Pooling and col2im run in gather form (:mod:`graphkit.backend.cupy_windows`: no Python
loop over window positions); im2col columns are capped at ``conv_chunk_bytes``. Nothing here
reads a device value on the host.
"""
from __future__ import annotations

import numpy

from . import cupy_kernels
from .cupy_windows import GatherWindowOps
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


class CupyOps(GatherWindowOps, Ops):
    """GPU backend on CuPy."""

    name = "cupy"
    device = "gpu"
    # A memory cap on im2col: a convolution whose columns exceed it builds them a few whole
    # images at a time into one reused buffer (ConvOps._column_chunk); smaller ones in one go.
    conv_chunk_bytes = 256 << 20

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
        self.kernels = cupy_kernels.build(cupy)
        self._counters: dict = {}   # uint32 aranges for the dropout hash, by size

    def erf(self, x):
        return self._cupyx.scipy.special.erf(x)

    def scatter_add(self, target, index, values) -> None:
        self._cupyx.scatter_add(target, index, values)

    def bin_sums(self, index, weights, length: int):
        # cupy.bincount reads the indices' maximum on the host; a scatter-add into fixed bins does not.
        out = self.xp.zeros(length, dtype=numpy.float64)  # as bincount: float64 sums
        self._cupyx.scatter_add(out, index, weights.astype(numpy.float64, copy=False))
        return out

    # ------------------------------------------------------ conv bias + activation
    def _bias_activation_rows(self, y, b, relu: bool) -> None:
        if b is not None and relu:
            self.kernels.bias_relu(y, b)
        elif relu:
            self.kernels.relu(y)
        else:
            y += b

    def _bias_activation_backward_rows(self, g2, y2, gz, with_bias: bool):
        if y2 is not None:
            self.kernels.relu_backward(g2, y2, gz)
        return gz.sum(axis=0) if with_bias else None

    # ------------------------------------------------- sparse softmax cross-entropy
    def sparse_softmax_cross_entropy(self, logits, labels):
        if not logits.size:
            return super().sparse_softmax_cross_entropy(logits, labels)
        shift = logits.max(axis=-1, keepdims=True)
        e = self.kernels.shifted_exp(logits, shift)
        se = self._row_sums(e)
        picked = self._gather_rows(logits, labels)
        return self.kernels.xent_losses(se, picked, shift[:, 0]), (e, se, labels)

    def sparse_softmax_cross_entropy_backward(self, saved, gl):
        e, se, labels = saved
        columns = self.xp.arange(e.shape[1], dtype=labels.dtype)[None, :]
        g = gl[:, None] if getattr(gl, "ndim", 0) else gl
        return self.kernels.xent_backward(e, se[:, None], columns, labels[:, None], g)

    # ------------------------------------------------------------------ LSTM step
    def _lstm_cell(self, pre, c, g, c_new, tc, h_new, tmp) -> None:
        u = c_new.shape[1]
        self.kernels.lstm_cell(*(pre[:, k * u:(k + 1) * u] for k in range(4)), c, *g, c_new,
                               tmp if tc is None else tc, h_new)

    def _lstm_gate_grads(self, dct, dh, coef, f, dz_blocks, dc_prev) -> None:
        self.kernels.lstm_gate_grads(dct, dh, *coef, f, *dz_blocks, dc_prev)

    # ------------------------------------------------- BatchNorm / LayerNorm (training)
    def normalize_scale_shift(self, centred, inv, gamma, beta) -> tuple:
        if gamma is None or beta is None:
            return super().normalize_scale_shift(centred, inv, gamma, beta)
        y = self.xp.empty(centred.shape, dtype=centred.dtype)
        self.kernels.normalize_scale_shift(centred, inv, gamma, beta, y)
        return centred, y

    def normalize_input_grad(self, g, sum_g, sum_g_xhat, xhat, inv, n: int):
        return self.kernels.normalize_input_grad(g, sum_g, sum_g_xhat, xhat, inv, n)

    # ---------------------------------------------------- GRU and SimpleRNN steps
    def _gru_cell(self, rr, xs, h, g, h_new, rec_h) -> None:
        u = h.shape[1]
        r_z, r_r, r_h = (rr[:, k * u:(k + 1) * u] for k in range(3))
        if rec_h is not None:
            self.xp.copyto(rec_h, r_h)
        self.kernels.gru_cell(r_z, r_r, r_h, *(xs[:, k * u:(k + 1) * u] for k in range(3)), h,
                              *(g[:, k * u:(k + 1) * u] for k in range(3)), h_new)

    def _gru_gate_grads(self, dh, coef, k_rh, z, dxs, drs) -> None:
        self.kernels.gru_gate_grads(dh, *coef, k_rh, z, *(dxs[:, k] for k in range(3)),
                                    *(drs[:, k] for k in range(3)))

    def _simple_rnn_cell(self, rec, xs, a, activation: str) -> None:
        self.kernels.simple_rnn_cells[activation](rec, xs, a)

    # ------------------------------------------------------------------ dropout
    def dropout_keep(self, generator, shape: tuple, rate: float, dtype):
        # One draw (a 32-bit seed, kept on the device) and one fused hash over the entries'
        # counters, instead of a uniform draw per entry and three passes over it.
        dtype = numpy.dtype(dtype)
        size = int(numpy.prod(shape))
        counter = self._counters.get(size)
        if counter is None:
            if len(self._counters) > 16:
                self._counters.clear()
            counter = self._counters[size] = self.xp.arange(size, dtype=numpy.uint32)
        seed = (generator.random(1, dtype="float64") * 4294967296.0).astype(numpy.uint32)
        threshold = numpy.uint32(min(int(rate * 4294967296.0), 4294967295))
        keep = self.kernels.dropout_keep(counter, seed, threshold, dtype.type(1.0 / (1.0 - rate)))
        return keep.reshape(shape)

    # ------------------------------------------------------------ optimizer updates
    def _fusable(self, *arrays) -> bool:
        """Arrays one fused update can run over: one shape and dtype, C-contiguous."""
        first = arrays[0]
        return all(a.shape == first.shape and a.dtype == first.dtype and a.flags.c_contiguous for a in arrays)

    def sgd_update(self, var, grad, lr, work=None) -> None:
        if not self._fusable(var, grad):
            return super().sgd_update(var, grad, lr, work)
        self.kernels.sgd(var, grad, lr)

    def sgd_momentum_update(self, var, grad, m, lr, momentum, nesterov: bool = False, work=None) -> None:
        if not self._fusable(var, grad, m):
            return super().sgd_momentum_update(var, grad, m, lr, momentum, nesterov, work)
        (self.kernels.sgd_nesterov if nesterov else self.kernels.sgd_momentum)(var, grad, m, lr, momentum)

    def adam_update(self, var, grad, m, v, alpha, one_minus_beta_1, one_minus_beta_2, epsilon,
                    v_hat=None, work=None) -> None:
        if v_hat is not None or not self._fusable(var, grad, m, v):
            return super().adam_update(var, grad, m, v, alpha, one_minus_beta_1, one_minus_beta_2, epsilon,
                                       v_hat, work)
        self.kernels.adam(var, grad, m, v, alpha, one_minus_beta_1, one_minus_beta_2, epsilon)

    def rmsprop_update(self, var, grad, v, lr, rho, one_minus_rho, epsilon, work=None,
                       momentum=None, m=None, average_grad=None, floor=None) -> None:
        if m is not None or average_grad is not None or not self._fusable(var, grad, v):
            return super().rmsprop_update(var, grad, v, lr, rho, one_minus_rho, epsilon, work, momentum, m,
                                          average_grad, floor)
        self.kernels.rmsprop(var, grad, v, lr, rho, one_minus_rho, epsilon, 0.0 if floor is None else floor)

    def adagrad_update(self, var, grad, accumulator, lr, epsilon, work=None) -> None:
        if not self._fusable(var, grad, accumulator):
            return super().adagrad_update(var, grad, accumulator, lr, epsilon, work)
        self.kernels.adagrad(var, grad, accumulator, lr, epsilon)
