"""NumpyOps' numba LSTM, transpose and RMSprop kernels against the generic numpy code (``Ops(numpy)``)."""
from __future__ import annotations

import numpy as np
import pytest

from numba_compare import FAST, GENERIC, close as _close, requires_numba, rng as _rng

pytestmark = requires_numba


@pytest.mark.parametrize("shape", [(128, 512), (7, 28), (13, 52), (1, 4), (9, 17), (16, 64), (8, 8)])
def test_transpose_2d(shape):
    from graphkit.backend import numba_kernels as kernels
    a = _rng().standard_normal(shape).astype("float32")
    out = np.empty(shape[::-1], "float32")
    kernels.transpose_2d(a, out)
    np.testing.assert_array_equal(out, a.T)


def test_lstm_without_bias():
    rng = _rng()
    n, steps, features, u = 3, 4, 5, 6
    x = rng.standard_normal((n, steps, features)).astype("float32")
    h0 = rng.standard_normal((n, u)).astype("float32")
    kernel = rng.standard_normal((features, 4 * u)).astype("float32")
    rk = rng.standard_normal((u, 4 * u)).astype("float32")
    got = FAST.lstm_forward(x, h0, h0, kernel, rk)
    ref = GENERIC.lstm_forward(x, h0, h0, kernel, rk)
    for a, b in zip(got[:3], ref[:3]):
        _close(a, b, atol=2e-6)
    g_h = rng.standard_normal((n, u)).astype("float32")
    for a, b in zip(FAST.lstm_backward(got[3], None, g_h, None), GENERIC.lstm_backward(ref[3], None, g_h, None)):
        assert (a is None) == (b is None)
        if b is not None:
            _close(a, b, rtol=1e-4, atol=1e-4)


def _rmsprop_args(dtype, shape=(33, 17)):
    rng = _rng()
    var = rng.standard_normal(shape).astype(dtype)
    grad = rng.standard_normal(shape).astype(dtype)
    v = np.abs(rng.standard_normal(shape)).astype(dtype)
    v.flat[:5] = 1e-30   # below the floor
    return var, grad, v


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("floor", [None, 1e-19])
def test_rmsprop_update_matches_generic_exactly(dtype, floor):
    c = lambda value: np.array(value, dtype)   # noqa: E731 - what the optimizer passes
    scalars = (c(1e-3), c(0.9), c(1 - 0.9), c(1e-7))
    fast, ref = _rmsprop_args(dtype), _rmsprop_args(dtype)
    for _ in range(3):   # consecutive steps on the same slots
        FAST.rmsprop_update(*fast, *scalars, None, floor=None if floor is None else c(floor))
        GENERIC.rmsprop_update(*ref, *scalars, None, floor=None if floor is None else c(floor))
    for a, b in zip(fast, ref):
        np.testing.assert_array_equal(a, b)
    if floor is not None:
        assert fast[2].min() >= np.asarray(floor, dtype)


def test_rmsprop_update_other_cases_take_the_generic_path():
    rng = _rng()
    scalars = (1e-3, 0.9, 0.1, 1e-7)
    # momentum, a non-contiguous gradient and a broadcast gradient
    var, grad, v = _rmsprop_args("float32")
    rvar, rgrad, rv = _rmsprop_args("float32")
    m, rm = np.zeros_like(var), np.zeros_like(var)
    FAST.rmsprop_update(var, grad, v, *scalars, momentum=0.5, m=m)
    GENERIC.rmsprop_update(rvar, rgrad, rv, *scalars, momentum=0.5, m=rm)
    np.testing.assert_array_equal(var, rvar)
    np.testing.assert_array_equal(m, rm)
    big = rng.standard_normal((33, 34)).astype("float32")
    for grad in (big[:, ::2], np.broadcast_to(big[0, :17], (33, 17))):
        var, _, v = _rmsprop_args("float32")
        rvar, _, rv = _rmsprop_args("float32")
        FAST.rmsprop_update(var, grad, v, *scalars)
        GENERIC.rmsprop_update(rvar, grad, rv, *scalars)
        np.testing.assert_array_equal(var, rvar)
        np.testing.assert_array_equal(v, rv)


def test_lstm_training_steps_match_generic():
    """Consecutive fast LSTM steps (forward, BPTT, RMSprop on the weights) track the generic code."""
    rng = _rng()
    n, steps, features, u = 5, 4, 3, 8
    x = rng.standard_normal((n, steps, features)).astype("float32")
    zeros = np.zeros((n, u), "float32")
    weights = [rng.standard_normal((features, 4 * u)).astype("float32") * 0.3,
               rng.standard_normal((u, 4 * u)).astype("float32") * 0.3,
               rng.standard_normal(4 * u).astype("float32") * 0.1]
    runs = {}
    for name, ops in (("fast", FAST), ("generic", GENERIC)):
        ws = [w.copy() for w in weights]
        vs = [np.zeros_like(w) for w in ws]
        for _ in range(4):
            _, h, _, saved = ops.lstm_forward(x, zeros, zeros, *ws, zero_h0=True)
            grads = ops.lstm_backward(saved, None, h - 0.5, None, input_grad=False)
            for w, g, v in zip(ws, grads[3:], vs):
                ops.rmsprop_update(w, g, v, np.float32(1e-2), np.float32(0.9), np.float32(0.1), np.float32(1e-7))
        runs[name] = ws
    for a, b in zip(runs["fast"], runs["generic"]):
        _close(a, b, rtol=1e-4, atol=1e-4)
