"""Fused elementwise kernels of :class:`~graphkit.backend.cupy_ops.CupyOps`, written once as plain
Python over an array module ``xp`` and fused with ``cupy.fuse``.

:func:`build` returns the kernels for ``xp``: with CuPy each is one fused CUDA kernel (one launch
instead of one per operation); with NumPy, which has no ``fuse``, the same functions run as
written, which is how the CPU tests check their math against the generic :class:`Ops` code (and
the fake CuPy of the test suite maps ``cupy.fuse`` to plain calls the same way). Kernels update
their first arguments in place where the :class:`Ops` method they replace does (``cupy.fuse``
supports augmented assignment and ``out=`` on its array arguments).

The kernels follow the generic code's order of operations, so float32 results agree to rounding
(a GPU may contract multiply-adds). Which of them have run on a real device is recorded in
docs/gpu.md.
"""
from __future__ import annotations

import types
from typing import Any, Callable

import numpy

# The dropout hash's constants ("lowbias32", a well-mixed 32-bit integer hash), as uint32
# scalars so every array module keeps the arithmetic in uint32 (wrapping).
_HASH_1, _HASH_2, _GOLDEN = numpy.uint32(0x7FEB352D), numpy.uint32(0x846CA68B), numpy.uint32(0x9E3779B9)
_SHIFT_15, _SHIFT_16 = numpy.uint32(15), numpy.uint32(16)


def _plain(fn: Callable | None = None, kernel_name: str | None = None) -> Callable:
    """NumPy's stand-in for ``cupy.fuse``: the function itself."""
    return fn if fn is not None else (lambda f: f)


def build(xp: Any) -> types.SimpleNamespace:
    """The fused kernels over array module ``xp`` (``cupy.fuse``-compiled when ``xp`` has ``fuse``)."""
    fuse = getattr(xp, "fuse", _plain)

    # ----------------------------------------------------- bias + activation (conv layers)
    @fuse(kernel_name="gk_bias_relu")
    def bias_relu(y, b):
        """``y = max(y + b, 0)`` in place."""
        y += b
        xp.maximum(y, 0, out=y)

    @fuse(kernel_name="gk_relu")
    def relu(y):
        """``y = max(y, 0)`` in place."""
        xp.maximum(y, 0, out=y)

    @fuse(kernel_name="gk_relu_backward")
    def relu_backward(grad, y, out):
        """``out = grad * (y > 0)``."""
        xp.multiply(grad, y > 0, out=out)

    # ------------------------------------------------- sparse softmax cross-entropy
    @fuse(kernel_name="gk_shifted_exp")
    def shifted_exp(logits, shift):
        """``exp(logits - shift)`` (``shift``: the rows' maxima, shape (M, 1))."""
        return xp.exp(logits - shift)

    @fuse(kernel_name="gk_xent_losses")
    def xent_losses(row_sums, picked, shift):
        """``log(sum(exp(x - shift))) - (x[label] - shift)`` per row."""
        return xp.log(row_sums) - (picked - shift)

    @fuse(kernel_name="gk_xent_backward")
    def xent_backward(e, row_sums, columns, labels, gl):
        """``(softmax - one_hot(labels)) * gl`` in one pass: ``e / row_sums`` is the softmax,
        ``columns == labels`` (broadcast (1, C) against (M, 1)) the one-hot targets."""
        return (e / row_sums - (columns == labels)) * gl

    # ------------------------------------------------------------------ LSTM step
    @fuse(kernel_name="gk_lstm_cell")
    def lstm_cell(z_i, z_f, z_c, z_o, c, i, f, candidate, o, c_new, tc, h):
        """One LSTM step after its GEMM: the gates from their pre-activations (``z_i``, ``z_f``,
        ``z_o`` halved: ``sigmoid(2a) = 0.5 * tanh(a) + 0.5``) into ``i``, ``f``, ``candidate``,
        ``o``; ``c_new = f * c + i * candidate``, ``tc = tanh(c_new)``, ``h = tc * o``."""
        xp.tanh(z_i, out=i)
        i *= 0.5
        i += 0.5
        xp.tanh(z_f, out=f)
        f *= 0.5
        f += 0.5
        xp.tanh(z_c, out=candidate)
        xp.tanh(z_o, out=o)
        o *= 0.5
        o += 0.5
        xp.multiply(f, c, out=c_new)
        c_new += i * candidate
        xp.tanh(c_new, out=tc)
        xp.multiply(tc, o, out=h)

    @fuse(kernel_name="gk_lstm_gate_grads")
    def lstm_gate_grads(dct, dh, k_i, k_f, k_c, k_o, f, dz_i, dz_f, dz_c, dz_o, dc_prev):
        """One BPTT step: ``dz_* = dct * k_*`` (``dh * k_o`` for the output gate) and the cell
        gradient carried back, ``dc_prev = dct * f``."""
        xp.multiply(dct, k_i, out=dz_i)
        xp.multiply(dct, k_f, out=dz_f)
        xp.multiply(dct, k_c, out=dz_c)
        xp.multiply(dh, k_o, out=dz_o)
        xp.multiply(dct, f, out=dc_prev)

    # -------------------------------------------------------- GRU (reset_after) step
    @fuse(kernel_name="gk_gru_cell")
    def gru_cell(r_z, r_r, r_h, x_z, x_r, x_h, h, z, r, hh, h_new):
        """One GRU step after its GEMM (``r_*``: ``h @ U + b_r`` per gate, ``x_*``: the input
        projection; the sigmoid gates' columns halved): the gates ``z``, ``r``, the candidate
        ``hh = tanh(r * r_h + x_h)`` and ``h_new = (h - hh) * z + hh``."""
        xp.tanh(r_z + x_z, out=z)
        z *= 0.5
        z += 0.5
        xp.tanh(r_r + x_r, out=r)
        r *= 0.5
        r += 0.5
        xp.tanh(r * r_h + x_h, out=hh)
        xp.subtract(h, hh, out=h_new)
        h_new *= z
        h_new += hh

    @fuse(kernel_name="gk_gru_gate_grads")
    def gru_gate_grads(dh, k_z, k_r, k_h, k_rh, z, dx_z, dx_r, dx_h, dr_z, dr_r, dr_h):
        """One BPTT step: input pre-activation gradients ``dx_* = dh * k_*``, recurrent ones
        (``dr_z = dx_z``, ``dr_r = dx_r``, ``dr_h = dh * k_rh``), then ``dh *= z``."""
        xp.multiply(dh, k_z, out=dx_z)
        xp.multiply(dh, k_r, out=dx_r)
        xp.multiply(dh, k_h, out=dx_h)
        xp.multiply(dh, k_z, out=dr_z)
        xp.multiply(dh, k_r, out=dr_r)
        xp.multiply(dh, k_rh, out=dr_h)
        dh *= z

    # ------------------------------------------------------------ SimpleRNN step
    @fuse(kernel_name="gk_rnn_tanh")
    def rnn_tanh(rec, xs, a):
        """``a = tanh(rec + xs)``."""
        xp.tanh(rec + xs, out=a)

    @fuse(kernel_name="gk_rnn_relu")
    def rnn_relu(rec, xs, a):
        """``a = max(rec + xs, 0)``."""
        xp.maximum(rec + xs, 0, out=a)

    @fuse(kernel_name="gk_rnn_sigmoid")
    def rnn_sigmoid(rec, xs, a):
        """``a = sigmoid(rec + xs)`` as ``0.5 * tanh((rec + xs) / 2) + 0.5``."""
        xp.tanh((rec + xs) * 0.5, out=a)
        a *= 0.5
        a += 0.5

    @fuse(kernel_name="gk_rnn_linear")
    def rnn_linear(rec, xs, a):
        """``a = rec + xs``."""
        xp.add(rec, xs, out=a)

    # ---------------------------------------------- BatchNorm / LayerNorm (training)
    @fuse(kernel_name="gk_normalize_scale_shift")
    def normalize_scale_shift(centred, inv, gamma, beta, y):
        """``centred *= inv`` (now ``xhat``) and ``y = xhat * gamma + beta``."""
        centred *= inv
        xp.multiply(centred, gamma, out=y)
        y += beta

    @fuse(kernel_name="gk_normalize_input_grad")
    def normalize_input_grad(g, sum_g, sum_g_xhat, xhat, inv, n):
        """``(g - sum_g / n - xhat * (sum_g_xhat / n)) * inv``."""
        return (g - sum_g / n - xhat * (sum_g_xhat / n)) * inv

    # ----------------------------------------------------------- optimizer updates
    @fuse(kernel_name="gk_sgd")
    def sgd(var, grad, lr):
        var -= grad * lr

    @fuse(kernel_name="gk_sgd_momentum")
    def sgd_momentum(var, grad, m, lr, momentum):
        m *= momentum
        m -= grad * lr
        var += m

    @fuse(kernel_name="gk_sgd_nesterov")
    def sgd_nesterov(var, grad, m, lr, momentum):
        m *= momentum
        m -= grad * lr
        var -= grad * lr - m * momentum

    @fuse(kernel_name="gk_adam")
    def adam(var, grad, m, v, alpha, one_minus_beta_1, one_minus_beta_2, epsilon):
        m += (grad - m) * one_minus_beta_1
        v += (grad * grad - v) * one_minus_beta_2
        var -= m / (xp.sqrt(v) + epsilon) * alpha

    @fuse(kernel_name="gk_rmsprop")
    def rmsprop(var, grad, v, lr, rho, one_minus_rho, epsilon, floor):
        v *= rho
        v += grad * grad * one_minus_rho
        xp.maximum(v, floor, out=v)
        var -= grad / xp.sqrt(v + epsilon) * lr

    @fuse(kernel_name="gk_adagrad")
    def adagrad(var, grad, accumulator, lr, epsilon):
        accumulator += grad * grad
        var -= grad / xp.sqrt(accumulator + epsilon) * lr

    # ------------------------------------------------------------------ dropout
    @fuse(kernel_name="gk_dropout_keep")
    def dropout_keep(counter, seed, threshold, scale):
        """The inverted-dropout mask from a counter-based hash: entry ``i`` is kept (``scale``)
        when ``hash(i, seed) >= threshold`` (``threshold = rate * 2**32``), else 0. ``counter``
        and ``seed`` are uint32 arrays, ``threshold`` a uint32 scalar, ``scale`` a scalar of the
        mask's dtype; the same (counter, seed) always gives the same mask."""
        h = counter * _GOLDEN + seed
        h = h ^ (h >> _SHIFT_16)
        h = h * _HASH_1
        h = h ^ (h >> _SHIFT_15)
        h = h * _HASH_2
        h = h ^ (h >> _SHIFT_16)
        return (h >= threshold) * scale

    return types.SimpleNamespace(
        bias_relu=bias_relu, relu=relu, relu_backward=relu_backward, shifted_exp=shifted_exp,
        xent_losses=xent_losses, xent_backward=xent_backward, lstm_cell=lstm_cell,
        lstm_gate_grads=lstm_gate_grads, gru_cell=gru_cell, gru_gate_grads=gru_gate_grads,
        normalize_scale_shift=normalize_scale_shift, normalize_input_grad=normalize_input_grad,
        simple_rnn_cells={"tanh": rnn_tanh, "relu": rnn_relu, "sigmoid": rnn_sigmoid, "linear": rnn_linear},
        sgd=sgd, sgd_momentum=sgd_momentum, sgd_nesterov=sgd_nesterov, adam=adam, rmsprop=rmsprop, adagrad=adagrad,
        dropout_keep=dropout_keep)
