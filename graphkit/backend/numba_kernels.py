"""numba kernels behind :class:`~graphkit.backend.numpy_ops.NumpyOps` (CPU only).

numba is a dependency; this module is imported lazily by NumpyOps (first use of a kernel), never
by ``import graphkit``. Where numba does not import, or with ``GRAPHKIT_NO_NUMBA=1``, NumpyOps
runs the generic numpy code of :class:`~graphkit.backend.ops.Ops`, which stays the reference
these kernels are tested against. Compiled kernels are cached on disk (:func:`_compiled`).

Each kernel fuses passes that numpy makes separately over memory-bound arrays (2-D convolution
layers' col2im, max pooling, bias + relu; an LSTM step's gate work, bias add included; the
plain RMSprop update), or replaces a slow numpy copy (a blocked 2-D transpose); the GEMMs stay
numpy's. Kernels are serial: numba's
OpenMP workers and OpenBLAS's threads both spin while idle, and on a 2-core machine alternating
the two pools made a col2im 5x slower. The convolution, pooling and bias kernels release the
GIL (``nogil``), so NumpyOps runs them on parts of a batch in its own threads
(:mod:`graphkit.backend.cpu_threads`).
"""
from __future__ import annotations

import numpy as np
from numba import njit

_ROWS = 256  # rows per bias-gradient partial sum (keeps float32 sums short, as numpy's blocks)


def _compiled(**options):
    """``njit`` with numba's on-disk cache: a kernel is compiled on its first use on a machine
    and loaded from the cache afterwards (from ``__pycache__`` beside this file, or, where the
    package folder is read-only, the user's cache folder, ``~/.cache/numba``). Where neither is
    writable the kernels are compiled once per process instead of failing to import."""
    def decorate(function):
        try:
            return njit(cache=True, **options)(function)
        except RuntimeError:  # numba: "cannot cache function ...: no locator available"
            return njit(**options)(function)
    return decorate


@_compiled(nogil=True)
def col2im_2d(cols, gpad, ow, row_of, col_of):
    """Writes every cell of ``gpad`` (N, PH, PW, C) from the columns of its images, ``cols``
    ``(N*oh*ow, kh*kw*C)``: each cell gathers its window entries in kernel-position order (the
    generic col2im's order of additions); ``row_of``/``col_of`` from
    :func:`~graphkit.backend.conv_ops.axis_table`."""
    n, ph, pw, c = gpad.shape
    kh, kw = row_of.shape[1], col_of.shape[1]
    oh = cols.shape[0] // (n * ow)
    acc = np.empty(c, gpad.dtype)
    for b in range(n):
        for y in range(ph):
            for x in range(pw):
                for ch in range(c):
                    acc[ch] = 0
                for pi in range(kh):
                    i = row_of[y, pi]
                    if i < 0:
                        continue
                    for pj in range(kw):
                        j = col_of[x, pj]
                        if j < 0:
                            continue
                        r = (b * oh + i) * ow + j
                        base = (pi * kw + pj) * c
                        for ch in range(c):
                            acc[ch] += cols[r, base + ch]
                for ch in range(c):
                    gpad[b, y, x, ch] = acc[ch]


@_compiled(nogil=True)
def max_pool_2d(xpad, y, arg, kh, kw, sh, sw):
    """Max pooling of ``xpad`` (N, PH, PW, C) into ``y`` and ``arg`` (first maximum's window
    position), as the generic max_pool (NaN propagates, ties keep the first position)."""
    n, oh, ow, c = y.shape
    for b in range(n):
        for i in range(oh):
            y0 = i * sh
            for j in range(ow):
                x0 = j * sw
                for ch in range(c):
                    y[b, i, j, ch] = xpad[b, y0, x0, ch]
                    arg[b, i, j, ch] = 0
                for p in range(1, kh * kw):
                    pi = p // kw
                    pj = p - pi * kw
                    for ch in range(c):
                        v = xpad[b, y0 + pi, x0 + pj, ch]
                        if v > y[b, i, j, ch]:
                            y[b, i, j, ch] = v
                            arg[b, i, j, ch] = p
                        elif v != v:
                            y[b, i, j, ch] = v


@_compiled(nogil=True)
def max_pool_backward_2d(g, arg, gpad, kh, kw, sh, sw):
    """Zeroes ``gpad`` (N, PH, PW, C) and adds each output gradient at its window's maximum."""
    n, oh, ow, c = g.shape
    ph, pw = gpad.shape[1], gpad.shape[2]
    for b in range(n):
        for y in range(ph):
            for x in range(pw):
                for ch in range(c):
                    gpad[b, y, x, ch] = 0
        for i in range(oh):
            for j in range(ow):
                for ch in range(c):
                    p = np.intp(arg[b, i, j, ch])
                    pi = p // kw
                    gpad[b, i * sh + pi, j * sw + p - pi * kw, ch] += g[b, i, j, ch]


@_compiled(nogil=True)
def bias_relu_2d(y, b, with_bias, relu):
    """``y = relu?(y + b)`` in place, ``y`` (M, C)."""
    m, c = y.shape
    for r in range(m):
        for ch in range(c):
            v = y[r, ch]
            if with_bias:
                v += b[ch]
            if relu and v < 0:
                v = 0
            y[r, ch] = v


@_compiled(nogil=True)
def bias_relu_backward_2d(g, y, gz, gb, relu, with_bias):
    """``gz = g * (y > 0)`` (relu) and ``gb`` = column sums of gz (with_bias), one pass;
    ``gb`` (float64) is summed from float32 partial sums over ``_ROWS`` rows."""
    m, c = g.shape
    acc = np.empty(c, g.dtype)
    for ch in range(c):
        gb[ch] = 0
    for start in range(0, m, _ROWS):
        for ch in range(c):
            acc[ch] = 0
        for r in range(start, min(m, start + _ROWS)):
            for ch in range(c):
                v = g[r, ch]
                if relu:
                    if not y[r, ch] > 0:
                        v = v - v  # 0, or NaN for a non-finite gradient (as g * (y > 0))
                    gz[r, ch] = v
                acc[ch] += v
        if with_bias:
            for ch in range(c):
                gb[ch] += acc[ch]


# --------------------------------------------------------------------------- LSTM (float32)
# error_model="numpy": no ZeroDivisionError checks, which would keep LLVM from vectorizing.
_F32 = np.float32
# FMA contraction only (no reassociation, no approximate division): the tanh polynomial and the
# gate products become fused multiply-adds.
_CONTRACT = {"contract"}


@_compiled(inline="always", error_model="numpy")
def _tanh32(x):
    """float32 tanh within 3e-7 (Eigen's 13/6 rational approximation on [-7.905, 7.905], where
    it rounds to +-1 in float32); branch-free, so loops over it vectorize (numba's math.tanh
    is a scalar libm call, 30x slower than numpy's). NaN stays NaN."""
    c = _F32(7.90531110763549805)
    xc = min(max(x, -c), c)
    x2 = xc * xc
    p = _F32(-2.76076847742355e-16)
    p = p * x2 + _F32(2.00018790482477e-13)
    p = p * x2 + _F32(-8.60467152213735e-11)
    p = p * x2 + _F32(5.12229709037114e-08)
    p = p * x2 + _F32(1.48572235717979e-05)
    p = p * x2 + _F32(6.37261928875436e-04)
    p = p * x2 + _F32(4.89352455891786e-03)
    q = _F32(1.19825839466702e-06)
    q = q * x2 + _F32(1.18534705686654e-04)
    q = q * x2 + _F32(2.26843463243900e-03)
    q = q * x2 + _F32(4.89352518554385e-03)
    return xc * p / q


@_compiled(error_model="numpy", fastmath=_CONTRACT)
def lstm_step(hu, add_hu, xw, b, add_b, gates, c, c_new, tc, h_new):
    """One LSTM step after the recurrent GEMM. Pre-activations are ``hu + (xw + b)`` (the
    generic code's order of additions), ``hu`` = ``h @ rk`` (N, 4u) added when ``add_hu``,
    ``xw`` = ``x @ kernel`` (N, 4u), the bias ``b`` (4u,) added when ``add_b``; all unscaled
    (the sigmoids are ``0.5 * tanh(a / 2) + 0.5``, halved here, which is exact). Writes the
    gates ``(4, N, u)``, ``c_new``, ``tc = tanh(c_new)`` and ``h_new = o * tc``."""
    n, u = c.shape
    half = _F32(0.5)
    for r in range(n):
        for k in range(u):
            a_i = xw[r, k]
            a_f = xw[r, u + k]
            a_c = xw[r, 2 * u + k]
            a_o = xw[r, 3 * u + k]
            if add_b:
                a_i += b[k]
                a_f += b[u + k]
                a_c += b[2 * u + k]
                a_o += b[3 * u + k]
            if add_hu:
                a_i = hu[r, k] + a_i
                a_f = hu[r, u + k] + a_f
                a_c = hu[r, 2 * u + k] + a_c
                a_o = hu[r, 3 * u + k] + a_o
            i = half * _tanh32(half * a_i) + half
            f = half * _tanh32(half * a_f) + half
            g = _tanh32(a_c)
            o = half * _tanh32(half * a_o) + half
            gates[0, r, k] = i
            gates[1, r, k] = f
            gates[2, r, k] = g
            gates[3, r, k] = o
            cn = f * c[r, k] + i * g
            c_new[r, k] = cn
            t = _tanh32(cn)
            tc[r, k] = t
            h_new[r, k] = o * t


@_compiled(error_model="numpy", fastmath=_CONTRACT)
def lstm_step_backward(dh, g_out, add_g, dc, gates, c_prev, tc, dz):
    """One BPTT step before the recurrent GEMM: from ``dh`` (+ ``g_out`` when ``add_g``) and
    ``dc`` (updated in place to the previous step's), the pre-activation gradients ``dz``
    (N, 4u). Each row runs as one short loop per output block through two row scratch
    vectors: LLVM vectorizes those, not one loop writing five arrays (3x slower, scalar)."""
    n, u = dc.shape
    one = _F32(1)
    d_row = np.empty(u, dc.dtype)
    dct_row = np.empty(u, dc.dtype)
    for r in range(n):
        for k in range(u):
            d = dh[r, k]
            if add_g:
                d += g_out[r, k]
            d_row[k] = d
            t = tc[r, k]
            dct_row[k] = d * ((one - t * t) * gates[3, r, k]) + dc[r, k]
        for k in range(u):
            i = gates[0, r, k]
            dz[r, k] = dct_row[k] * ((one - i) * i * gates[2, r, k])
        for k in range(u):
            f = gates[1, r, k]
            dz[r, u + k] = dct_row[k] * ((one - f) * f * c_prev[r, k])
        for k in range(u):
            g = gates[2, r, k]
            dz[r, 2 * u + k] = dct_row[k] * ((one - g * g) * gates[0, r, k])
        for k in range(u):
            o = gates[3, r, k]
            dz[r, 3 * u + k] = d_row[k] * ((one - o) * o * tc[r, k])
        for k in range(u):
            dc[r, k] = dct_row[k] * gates[1, r, k]


@_compiled()
def transpose_2d(a, out):
    """``out[:] = a.T`` for 2-D arrays, in fixed 8x8 blocks that LLVM unrolls (numpy's strided
    copy of a transposed view takes ~3x as long on a 128x512 float32 matrix), then the edges."""
    m, n = a.shape
    m8, n8 = m - m % 8, n - n % 8
    for i0 in range(0, m8, 8):
        for j0 in range(0, n8, 8):
            for jj in range(8):
                for ii in range(8):
                    out[j0 + jj, i0 + ii] = a[i0 + ii, j0 + jj]
    for i in range(m8, m):
        for j in range(n):
            out[j, i] = a[i, j]
    for i in range(m8):
        for j in range(n8, n):
            out[j, i] = a[i, j]


# --------------------------------------------------------------------------- RMSprop
@_compiled(error_model="numpy")
def rmsprop_update(var, grad, v, lr, rho, one_minus_rho, epsilon, floor, with_floor):
    """Keras's RMSprop step (no momentum, not centered) in one pass over flat contiguous arrays,
    with the generic kernel's operations in its order (so float results are the same):
    ``v = v*rho + (g*g)*(1-rho)`` (raised to ``floor`` when ``with_floor``),
    ``var -= (g / sqrt(v + epsilon)) * lr``. Scalars carry the arrays' dtype."""
    for k in range(var.shape[0]):
        g = grad[k]
        vk = v[k] * rho + (g * g) * one_minus_rho
        if with_floor and vk < floor:   # as numpy.maximum: NaN stays NaN
            vk = floor
        v[k] = vk
        var[k] = var[k] - (g / np.sqrt(vk + epsilon)) * lr
