"""The generic backend: every array primitive written once against an array module ``xp``.

``Ops(numpy)`` runs everything through this file; :class:`NumpyOps` and :class:`CupyOps`
override only hot paths. Primitives in :mod:`graphkit.ops` call these methods and never
import numpy or cupy themselves.
"""
from __future__ import annotations

import math
from typing import Any

import numpy

from .conv_ops import ConvOps
from .loss_ops import LossOps
from .optimizer_ops import OptimizerOps
from .range_checks import RangeCheckOps
from .rnn_ops import RNNOps

FLOATX = "float32"


class Ops(ConvOps, RNNOps, OptimizerOps, LossOps, RangeCheckOps):
    """Array primitives and their backward helpers for one array module ``xp``.

    Convolution and pooling helpers live in :class:`~graphkit.backend.conv_ops.ConvOps`; recurrent
    sequence kernels (LSTM/GRU/SimpleRNN) in :class:`~graphkit.backend.rnn_ops.RNNOps`.
    """

    name = "generic"
    device = "cpu"

    def __init__(self, xp: Any = numpy) -> None:
        self.xp = xp
        self._rng = None
        self._seed: int | None = None
        self._handouts = 0   # times the shared generator was handed out (random_state_token)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} xp={self.xp.__name__} device={self.device}>"

    # ------------------------------------------------------------------ arrays
    def asarray(self, value: Any, dtype: Any = None):
        """Convert ``value`` to an array of this backend (float64 input stays float64 only on request)."""
        return self.xp.asarray(value, dtype=dtype)

    def zeros(self, shape, dtype=FLOATX):
        return self.xp.zeros(shape, dtype=dtype)

    def ones(self, shape, dtype=FLOATX):
        return self.xp.ones(shape, dtype=dtype)

    # ------------------------------------------------------------------ random
    def seed(self, seed: int | None) -> None:
        self._seed = seed
        self._rng = None

    def generator(self, seed: int | None = None):
        """The backend's seeded generator, or a fresh one for an explicit ``seed``."""
        if seed is not None:
            return self.xp.random.default_rng(seed)
        if self._rng is None:
            self._rng = self.xp.random.default_rng(self._seed)
        self._handouts += 1
        return self._rng

    def random_state_token(self) -> tuple:
        """A value that changes whenever the shared generator may have drawn (every draw fetches it
        through :meth:`generator`); ``gk.function`` compares it to spot draws while tracing. It
        reads no generator state: CuPy's lives on the device."""
        return id(self._rng), self._handouts

    def random_normal(self, shape, mean=0.0, stddev=1.0, dtype=FLOATX, seed=None):
        draw_dtype = "float64" if numpy.dtype(dtype) == numpy.float64 else "float32"
        out = self.generator(seed).standard_normal(shape, dtype=draw_dtype)
        return (out * stddev + mean).astype(dtype, copy=False)

    def random_uniform(self, shape, minval=0.0, maxval=1.0, dtype=FLOATX, seed=None):
        draw_dtype = "float64" if numpy.dtype(dtype) == numpy.float64 else "float32"
        out = self.generator(seed).random(shape, dtype=draw_dtype)
        return (out * (maxval - minval) + minval).astype(dtype, copy=False)

    def dropout_keep(self, generator, shape: tuple, rate: float, dtype):
        """An inverted-dropout mask of ``shape``: each entry ``1 / (1 - rate)`` with probability
        ``1 - rate``, else 0 (``0 < rate < 1``), drawn from ``generator``."""
        dtype = numpy.dtype(dtype)
        uniform = generator.random(shape, dtype="float64" if dtype == numpy.float64 else "float32")
        return (uniform >= rate).astype(dtype) * dtype.type(1.0 / (1.0 - rate))

    # ------------------------------------------------------------ cache blocking
    # Bytes per array per block in loops that fuse several elementwise passes over row blocks
    # (NumpyOps: a fraction of a CPU core's L2); None: one block, the whole arrays (a GPU).
    block_bytes: int | None = None

    def _row_blocks(self, rows: int, row_bytes: int) -> list[slice]:
        """Slices covering ``rows`` rows of ``row_bytes`` bytes each, ``block_bytes`` at a time;
        the first block is the largest."""
        step = max(1, rows if self.block_bytes is None else self.block_bytes // max(row_bytes, 1))
        return [slice(start, min(start + step, rows)) for start in range(0, max(rows, 1), step)]

    def batch_parts(self, total: int, item_bytes: int) -> int:
        """How many parts :meth:`in_batch_parts` splits ``total`` items of ``item_bytes`` into."""
        return 1

    def in_batch_parts(self, fn, total: int, item_bytes: int) -> list:
        """``[fn(start, stop), ...]`` over contiguous parts of ``range(total)`` (a batch's images,
        or rows) of ``item_bytes`` of data each. Here one part; NumpyOps runs parts of at least
        ``part_bytes`` on several threads (:mod:`~graphkit.backend.cpu_threads`), so ``fn``
        must only write its own items."""
        return [fn(0, total)]

    # ------------------------------------------------------------ broadcasting
    def unbroadcast(self, grad, shape: tuple):
        """Sum ``grad`` over the axes that broadcasting added or stretched to reach ``shape``."""
        if grad.shape == shape:
            return grad
        extra = grad.ndim - len(shape)
        if extra:
            grad = grad.sum(axis=tuple(range(extra)))
        axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
        if axes:
            grad = grad.sum(axis=axes, keepdims=True)
        return grad

    # -------------------------------------------------------------- linear alg
    def matmul(self, a, b):
        return self.xp.matmul(a, b)

    def matmul_backward(self, grad, a, b):
        """Gradients of ``a @ b`` for operands of rank >= 1 (batch dims broadcast)."""
        xp = self.xp
        if a.ndim == 1 and b.ndim == 1:
            return grad * b, grad * a
        if a.ndim == 1:
            ga = xp.matmul(b, grad[..., None])[..., 0] if b.ndim > 2 else b @ grad
            gb = a[:, None] * grad[..., None, :]
            return self.unbroadcast(ga, a.shape), self.unbroadcast(gb, b.shape)
        if b.ndim == 1:
            ga = grad[..., :, None] * b
            gb = xp.matmul(xp.swapaxes(a, -1, -2), grad[..., None])[..., 0]
            return self.unbroadcast(ga, a.shape), self.unbroadcast(gb, b.shape)
        ga = xp.matmul(grad, xp.swapaxes(b, -1, -2))
        gb = xp.matmul(xp.swapaxes(a, -1, -2), grad)
        return self.unbroadcast(ga, a.shape), self.unbroadcast(gb, b.shape)

    def dense(self, x, w, b):
        """``x @ w + b`` (b may be None)."""
        y = self.xp.matmul(x, w)
        if b is not None:
            y += b
        return y

    def dense_backward(self, grad, x, w, with_bias: bool, input_grad: bool = True):
        """(gx, gw, gb); ``input_grad=False`` skips gx (None) when the input needs no gradient."""
        xp = self.xp
        if x.ndim == 2:   # the common case, without the reshapes' per-call cost
            x2, g2 = x, grad
        else:
            x2, g2 = x.reshape(-1, x.shape[-1]), grad.reshape(-1, grad.shape[-1])
        gx = xp.matmul(grad, w.T) if input_grad else None
        gw = xp.matmul(x2.T, g2)
        gb = g2.sum(axis=0) if with_bias else None
        return gx, gw, gb

    # ------------------------------------------------------------- activations
    def relu(self, x):
        return self.xp.maximum(x, 0)

    def relu_backward(self, grad, y):
        return grad * (y > 0)

    def sigmoid(self, x):
        # tanh form: no overflow for large |x|, and several times faster than exp-based forms.
        return 0.5 * self.xp.tanh(0.5 * x) + 0.5

    def sigmoid_backward(self, grad, y):
        return grad * y * (1 - y)

    def tanh(self, x):
        return self.xp.tanh(x)

    def tanh_backward(self, grad, y):
        return grad * (1 - y * y)

    def softplus(self, x):
        xp = self.xp
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def softmax(self, x, axis=-1):
        xp = self.xp
        e = xp.exp(x - x.max(axis=axis, keepdims=True))
        e /= e.sum(axis=axis, keepdims=True)
        return e

    def softmax_backward(self, grad, y, axis=-1):
        gy = grad * y
        return gy - y * gy.sum(axis=axis, keepdims=True)

    def log_softmax(self, x, axis=-1):
        xp = self.xp
        shifted = x - x.max(axis=axis, keepdims=True)
        return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))

    def log_softmax_backward(self, grad, y, axis=-1):
        return grad - self.xp.exp(y) * grad.sum(axis=axis, keepdims=True)

    def erf(self, x):
        """Error function to float32 precision (|error| < 1.2e-7, Numerical Recipes' erfc Chebyshev fit)."""
        xp = self.xp
        z = xp.abs(x)
        t = 1.0 / (1.0 + 0.5 * z)
        poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
            -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
                -0.82215223 + t * 0.17087277))))))))
        erfc = t * xp.exp(poly)
        return (xp.sign(x) * (1.0 - erfc)).astype(x.dtype, copy=False)

    def gelu(self, x, approximate=False):
        xp = self.xp
        if approximate:
            inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)
            return 0.5 * x * (1 + xp.tanh(inner))
        return 0.5 * x * (1 + self.erf(x * (1 / math.sqrt(2))))

    def gelu_backward(self, grad, x, approximate=False):
        xp = self.xp
        if approximate:
            c = math.sqrt(2 / math.pi)
            th = xp.tanh(c * (x + 0.044715 * x ** 3))
            d_inner = c * (1 + 3 * 0.044715 * x * x)
            return grad * (0.5 * (1 + th) + 0.5 * x * (1 - th * th) * d_inner)
        cdf = 0.5 * (1 + self.erf(x * (1 / math.sqrt(2))))
        pdf = xp.exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))
        return grad * (cdf + x * pdf)

    # ---------------------------------------------------------- normalization
    def normalize_scale_shift(self, centred, inv, gamma, beta) -> tuple:
        """A normalization's last elementwise passes: ``centred *= inv`` in place (then ``xhat``)
        and ``(xhat, xhat * gamma + beta)``, the output a new array (``xhat`` itself when
        ``gamma`` and ``beta`` are both None; either may be None). CupyOps fuses them."""
        centred *= inv
        if gamma is not None:
            y = centred * gamma
        elif beta is not None:
            y = centred.copy()
        else:
            return centred, centred
        if beta is not None:
            y += beta
        return centred, y

    def normalize_input_grad(self, g, sum_g, sum_g_xhat, xhat, inv, n: int):
        """The input gradient of a normalization over ``n`` values from the output's (``g``) and
        its statistics' sums: ``(g - sum_g / n - xhat * (sum_g_xhat / n)) * inv`` (``inv`` times
        gamma where there is a scale), a new array. CupyOps runs it as one fused kernel."""
        dx = g - sum_g / n
        dx -= xhat * (sum_g_xhat / n)
        dx *= inv
        return dx

    # ------------------------------------------------------------- scattering
    def scatter_add(self, target, index, values) -> None:
        """``target[index] += values`` with repeated indices accumulated (in place)."""
        self.xp.add.at(target, index, values)

    def bin_sums(self, index, weights, length: int):
        """``out[i] = sum(weights[index == i])`` for ``i < length`` (every index lies in
        ``[0, length)``): ``bincount`` with weights, which CupyOps does without a host sync."""
        return self.xp.bincount(index, weights=weights, minlength=length)

    def index_backward(self, grad, shape, index, advanced: bool):
        out = self.xp.zeros(shape, dtype=grad.dtype)
        if advanced:
            self.scatter_add(out, index, grad)
        else:
            out[index] = grad
        return out
