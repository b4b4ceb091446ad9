"""NumpyOps' optional numba kernels against the generic numpy code (``Ops(numpy)``)."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from graphkit.backend.numpy_ops import NumpyOps
from numba_compare import FAST, GENERIC, close as _close, requires_numba, rng as _rng

pytestmark = requires_numba


@pytest.mark.parametrize("ksize,strides,dilation,pads", [
    ((3, 3), (1, 1), (1, 1), ((0, 0), (0, 0))),
    ((3, 3), (1, 1), (1, 1), ((1, 1), (1, 1))),
    ((3, 2), (2, 1), (1, 1), ((0, 1), (1, 0))),
    ((3, 3), (2, 2), (1, 1), ((0, 0), (0, 0))),
    ((3, 3), (1, 1), (2, 2), ((2, 2), (2, 2))),
    ((5, 5), (3, 2), (1, 2), ((0, 0), (0, 0))),
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv_backward_col2im(ksize, strides, dilation, pads, dtype):
    rng = _rng()
    x = rng.standard_normal((5, 11, 10, 4)).astype(dtype)
    w = rng.standard_normal((*ksize, 4, 6)).astype(dtype)
    y = GENERIC.conv(x, w, strides, dilation, pads)
    g = rng.standard_normal(y.shape).astype(dtype)
    _close(FAST.conv(x, w, strides, dilation, pads), y)
    gx, gw = FAST.conv_backward(g, x, w, strides, dilation, pads)
    rx, rw = GENERIC.conv_backward(g, x, w, strides, dilation, pads)
    assert gx.dtype == rx.dtype and gx.shape == rx.shape
    _close(gx, rx)
    _close(gw, rw, rtol=1e-4, atol=1e-4)


def test_col2im_in_chunks():
    """More images than one column chunk: every chunk's cells are written."""
    ops = NumpyOps()
    ops.conv_chunk_bytes = 1 << 12
    rng = _rng()
    x = rng.standard_normal((7, 9, 9, 3)).astype("float32")
    w = rng.standard_normal((3, 3, 3, 5)).astype("float32")
    g = rng.standard_normal((7, 7, 7, 5)).astype("float32")
    pads = ((0, 0), (0, 0))
    _close(ops.conv_backward(g, x, w, (1, 1), (1, 1), pads)[0],
           GENERIC.conv_backward(g, x, w, (1, 1), (1, 1), pads)[0])


def test_conv_transpose_uses_col2im():
    rng = _rng()
    x = rng.standard_normal((2, 5, 6, 3)).astype("float32")
    w = rng.standard_normal((3, 3, 4, 3)).astype("float32")
    args = ((2, 2), (1, 1), (1, 1), (11, 13))
    _close(FAST.conv_transpose(x, w, *args), GENERIC.conv_transpose(x, w, *args))


@pytest.mark.parametrize("pool,strides,pads", [
    ((3, 3), (3, 3), ((0, 0), (0, 0))),
    ((2, 2), (2, 2), ((0, 1), (0, 1))),
    ((3, 3), (2, 2), ((0, 0), (0, 0))),
    ((3, 2), (1, 2), ((1, 1), (0, 1))),
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_max_pool(pool, strides, pads, dtype):
    rng = _rng()
    # Few distinct values: many ties, which must keep the first window position.
    x = rng.integers(-3, 3, (3, 10, 11, 5)).astype(dtype)
    x[0, 1, 1, 1] = np.nan
    y, arg = FAST.max_pool(x, pool, strides, pads)
    ry, rarg = GENERIC.max_pool(x, pool, strides, pads)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(arg, rarg)
    assert arg.dtype == rarg.dtype
    g = rng.standard_normal(y.shape).astype(dtype)
    _close(FAST.max_pool_backward(g, arg, x.shape, pool, strides, pads),
           GENERIC.max_pool_backward(g, rarg, x.shape, pool, strides, pads))


def test_max_pool_backward_broadcast_gradient():
    """A read-only broadcast gradient (what global average pooling's backward hands over)."""
    x = _rng().standard_normal((2, 6, 6, 3)).astype("float32")
    y, arg = FAST.max_pool(x, (3, 3), (3, 3), ((0, 0), (0, 0)))
    g = np.broadcast_to(np.float32(0.25), y.shape)
    _close(FAST.max_pool_backward(g, arg, x.shape, (3, 3), (3, 3), ((0, 0), (0, 0))),
           GENERIC.max_pool_backward(g, arg, x.shape, (3, 3), (3, 3), ((0, 0), (0, 0))))


@pytest.mark.parametrize("activation", ["relu", "linear"])
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bias_activation(activation, with_bias, dtype):
    rng = _rng()
    z = rng.standard_normal((3, 300, 7, 9)).astype(dtype)   # > one 256-row partial sum
    b = rng.standard_normal(9).astype(dtype) if with_bias else None
    y = FAST.bias_activation(z.copy(), b, activation)
    ry = GENERIC.bias_activation(z.copy(), b, activation)
    np.testing.assert_array_equal(y, ry)
    g = rng.standard_normal(z.shape).astype(dtype)
    gz, gb = FAST.bias_activation_backward(g, y if activation == "relu" else None, activation, with_bias)
    rz, rb = GENERIC.bias_activation_backward(g, ry if activation == "relu" else None, activation, with_bias)
    np.testing.assert_array_equal(gz, rz)
    if with_bias:
        assert gb.dtype == rb.dtype
        _close(gb, rb, rtol=1e-4, atol=1e-3)
    else:
        assert gb is None and rb is None


def test_tanh32():
    from graphkit.backend import numba_kernels as kernels
    from numba import njit

    @njit
    def run(x, out):
        for i in range(x.shape[0]):
            out[i] = kernels._tanh32(x[i])

    x = np.concatenate([np.linspace(-12, 12, 200001), [0.0, -0.0, 1e-30, np.inf, -np.inf]]).astype("float32")
    out = np.empty_like(x)
    run(x, out)
    np.testing.assert_allclose(out, np.tanh(x.astype("float64")), rtol=0, atol=4e-7)
    nan = np.array([np.nan], "float32")
    run(nan, out[:1])
    assert np.isnan(out[0])


@pytest.mark.parametrize("zero_h0", [True, False])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("with_outputs_grad", [False, True])
def test_lstm(zero_h0, go_backwards, with_outputs_grad):
    rng = _rng()
    n, steps, features, u = 4, 6, 5, 7
    x = rng.standard_normal((n, steps, features)).astype("float32")
    h0 = np.zeros((n, u), "float32") if zero_h0 else rng.standard_normal((n, u)).astype("float32")
    c0 = rng.standard_normal((n, u)).astype("float32")
    kernel = rng.standard_normal((features, 4 * u)).astype("float32")
    rk = rng.standard_normal((u, 4 * u)).astype("float32")
    bias = rng.standard_normal(4 * u).astype("float32")
    kw = dict(go_backwards=go_backwards, zero_h0=zero_h0)
    got = FAST.lstm_forward(x, h0, c0, kernel, rk, bias, **kw)
    ref = GENERIC.lstm_forward(x, h0, c0, kernel, rk, bias, **kw)
    for a, b in zip(got[:3], ref[:3]):
        _close(a, b, atol=2e-6)
    unsaved = FAST.lstm_forward(x, h0, c0, kernel, rk, bias, save=False, **kw)
    assert unsaved[3] is None
    for a, b in zip(unsaved[:3], ref[:3]):
        _close(a, b, atol=2e-6)
    g_out = rng.standard_normal((n, steps, u)).astype("float32") if with_outputs_grad else None
    g_h, g_c = rng.standard_normal((n, u)).astype("float32"), rng.standard_normal((n, u)).astype("float32")
    grads = FAST.lstm_backward(got[3], g_out, g_h, g_c)
    expected = GENERIC.lstm_backward(ref[3], g_out, g_h, g_c)
    for a, b in zip(grads, expected):
        if b is None:
            assert a is None
        else:
            _close(a, b, rtol=1e-4, atol=1e-4)


def test_lstm_mask_and_float64_take_the_generic_path():
    rng = _rng()
    x = rng.standard_normal((2, 3, 4))
    h0 = c0 = np.zeros((2, 5))
    kernel, rk = rng.standard_normal((4, 20)), rng.standard_normal((5, 20))
    got = FAST.lstm_forward(x, h0, c0, kernel, rk)
    ref = GENERIC.lstm_forward(x, h0, c0, kernel, rk)
    np.testing.assert_array_equal(got[1], ref[1])
    mask = np.array([[True, False, True], [True, True, False]])
    x32, k32, rk32, z32 = (a.astype("float32") for a in (x, kernel, rk, h0))
    got = FAST.lstm_forward(x32, z32, z32, k32, rk32, mask=mask)
    ref = GENERIC.lstm_forward(x32, z32, z32, k32, rk32, mask=mask)
    np.testing.assert_array_equal(got[1], ref[1])


def test_opt_out_env_var():
    code = ("import sys, numpy as np, graphkit as gk\n"
            "from graphkit.backend.numpy_ops import numba_kernels\n"
            "x = gk.ops.max_pool(np.ones((1, 4, 4, 2), 'float32'), 2)\n"
            "print(numba_kernels() is None, 'numba' in sys.modules)\n")
    env = dict(os.environ, GRAPHKIT_NO_NUMBA="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]


def test_import_graphkit_does_not_import_numba():
    code = "import sys, graphkit; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
