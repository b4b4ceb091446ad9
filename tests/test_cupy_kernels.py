"""The fused kernels of graphkit/backend/cupy_kernels.py against the generic Ops code on NumPy.

Each kernel runs on three array modules: NumPy (the plain Python functions, unfused), the strict
fake CuPy of tests/fake_cupy.py (``cupy.fuse`` as plain calls over device arrays that refuse host
operands), and real CuPy where a CUDA device exists (one fused CUDA kernel each; skipped here
otherwise). The CupyOps methods that call them are checked against NumpyOps the same way.
"""
import numpy as np
import pytest

import fake_cupy
from graphkit import backend
from graphkit.backend import cupy_kernels
from graphkit.backend.cupy_windows import GatherWindowOps
from graphkit.backend.ops import Ops

REAL_CUDA = backend.cuda_unavailable_reason()
REFERENCE = Ops(np)


@pytest.fixture(params=["numpy", "fake_cupy", "real_cupy"])
def xp(request):
    if request.param == "numpy":
        yield np
    elif request.param == "fake_cupy":
        with fake_cupy.installed() as cupy:
            yield cupy
    else:
        if REAL_CUDA is not None:
            pytest.skip(f"CuPy/CUDA unavailable: {REAL_CUDA}")
        import cupy
        yield cupy


@pytest.fixture
def cupy_ops(request):
    """CupyOps on the fake CuPy, or on a real device where there is one."""
    if REAL_CUDA is None:
        yield backend.CupyOps()
        return
    with fake_cupy.installed():
        yield backend.CupyOps()


def _host(array):
    return array if isinstance(array, np.ndarray) else array.get()


def _arrays(*shapes, seed=0, positive=()):
    rng = np.random.default_rng(seed)
    out = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    for i in positive:
        out[i] = np.abs(out[i]) + np.float32(0.1)
    return out


def _close(actual, expected):
    np.testing.assert_allclose(_host(actual), expected, rtol=2e-6, atol=1e-7)


def test_bias_relu_forward_and_backward(xp):
    kernels = cupy_kernels.build(xp)
    y, b, g = _arrays((5, 4), (4,), (5, 4))
    expected = y.copy()
    REFERENCE._bias_activation_rows(expected, b, relu=True)
    on_device = xp.asarray(y)
    kernels.bias_relu(on_device, xp.asarray(b))
    _close(on_device, expected)
    relu_only = xp.asarray(y)
    kernels.relu(relu_only)
    _close(relu_only, np.maximum(y, 0))
    gz = np.empty_like(g)
    REFERENCE._bias_activation_backward_rows(g, expected, gz, with_bias=False)
    out = xp.empty((5, 4), dtype=np.float32)
    kernels.relu_backward(xp.asarray(g), xp.asarray(expected), out)
    _close(out, gz)


def test_softmax_cross_entropy_forward_and_backward(xp):
    kernels = cupy_kernels.build(xp)
    (logits,) = _arrays((6, 5))
    labels = np.array([0, 4, 2, 2, 1, 3])
    gl = np.linspace(0.5, 1.5, 6).astype(np.float32)
    losses, saved = REFERENCE.sparse_softmax_cross_entropy(logits, labels)
    grad = REFERENCE.sparse_softmax_cross_entropy_backward(saved, gl)
    x = xp.asarray(logits)
    shift = x.max(axis=-1, keepdims=True)
    e = kernels.shifted_exp(x, shift)
    se = e.sum(axis=-1)
    picked = x[xp.arange(6), xp.asarray(labels)]
    _close(kernels.xent_losses(se, picked, shift[:, 0]), losses)
    columns = xp.arange(5)[None, :]
    _close(kernels.xent_backward(e, se[:, None], columns, xp.asarray(labels)[:, None], xp.asarray(gl)[:, None]),
           grad)


def test_lstm_cell(xp):
    kernels = cupy_kernels.build(xp)
    n, u = 3, 4
    pre, c = _arrays((n, 4 * u), (n, u))
    gates, c_new, tc, h = np.empty((4, n, u), np.float32), *(np.empty((n, u), np.float32) for _ in range(3))
    REFERENCE._lstm_cell(pre, c, gates, c_new, tc, h, np.empty((n, u), np.float32))
    on_device = [xp.empty((n, u), dtype=np.float32) for _ in range(7)]
    z = xp.asarray(pre)
    kernels.lstm_cell(*(z[:, k * u:(k + 1) * u] for k in range(4)), xp.asarray(c), *on_device)
    for actual, expected in zip(on_device, [*gates, c_new, tc, h]):
        _close(actual, expected)


def test_lstm_gate_grads(xp):
    kernels = cupy_kernels.build(xp)
    n, u = 3, 4
    dct, dh, f, *coef = _arrays(*[(n, u)] * 7, seed=5)
    dz, dc_prev = np.empty((n, 4 * u), np.float32), np.empty((n, u), np.float32)
    blocks = [slice(k * u, (k + 1) * u) for k in range(4)]
    REFERENCE._lstm_gate_grads(dct, dh, coef, f, [dz[:, b] for b in blocks], dc_prev)
    dz_device, dc_device = xp.empty((n, 4 * u), dtype=np.float32), xp.empty((n, u), dtype=np.float32)
    kernels.lstm_gate_grads(xp.asarray(dct), xp.asarray(dh), *(xp.asarray(k) for k in coef), xp.asarray(f),
                            *(dz_device[:, b] for b in blocks), dc_device)
    _close(dz_device, dz)
    _close(dc_device, dc_prev)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_updates(xp, nesterov):
    kernels = cupy_kernels.build(xp)
    var, grad, m = _arrays((3, 4), (3, 4), (3, 4))
    expected_var = var.copy()
    REFERENCE.sgd_update(expected_var, grad, np.float32(0.1))
    on_device = xp.asarray(var)
    kernels.sgd(on_device, xp.asarray(grad), 0.1)
    _close(on_device, expected_var)
    expected_var, expected_m = var.copy(), m.copy()
    REFERENCE.sgd_momentum_update(expected_var, grad, expected_m, np.float32(0.1), np.float32(0.9), nesterov)
    on_device, m_device = xp.asarray(var), xp.asarray(m)
    (kernels.sgd_nesterov if nesterov else kernels.sgd_momentum)(on_device, xp.asarray(grad), m_device, 0.1, 0.9)
    _close(on_device, expected_var)
    _close(m_device, expected_m)


def test_adam_update(xp):
    kernels = cupy_kernels.build(xp)
    var, grad, m, v = _arrays((4, 3), (4, 3), (4, 3), (4, 3), positive=(3,))
    expected = [a.copy() for a in (var, m, v)]
    scalars = (np.float32(0.01), np.float32(0.1), np.float32(0.001), np.float32(1e-7))
    REFERENCE.adam_update(expected[0], grad, expected[1], expected[2], *scalars)
    on_device = [xp.asarray(a) for a in (var, m, v)]
    kernels.adam(on_device[0], xp.asarray(grad), on_device[1], on_device[2], 0.01, 0.1, 0.001, 1e-7)
    for actual, wanted in zip(on_device, expected):
        _close(actual, wanted)


@pytest.mark.parametrize("floor", [None, 1e-3])
def test_rmsprop_update(xp, floor):
    kernels = cupy_kernels.build(xp)
    var, grad, v = _arrays((4, 3), (4, 3), (4, 3), positive=(2,))
    grad[0, 0] = 0.0
    v[0, 0] = 1e-6
    expected_var, expected_v = var.copy(), v.copy()
    REFERENCE.rmsprop_update(expected_var, grad, expected_v, np.float32(0.01), np.float32(0.9), np.float32(0.1),
                             np.float32(1e-7), floor=None if floor is None else np.float32(floor))
    on_device, v_device = xp.asarray(var), xp.asarray(v)
    kernels.rmsprop(on_device, xp.asarray(grad), v_device, 0.01, 0.9, 0.1, 1e-7, 0.0 if floor is None else floor)
    _close(on_device, expected_var)
    _close(v_device, expected_v)


def test_adagrad_update(xp):
    kernels = cupy_kernels.build(xp)
    var, grad, acc = _arrays((4, 3), (4, 3), (4, 3), positive=(2,))
    expected_var, expected_acc = var.copy(), acc.copy()
    REFERENCE.adagrad_update(expected_var, grad, expected_acc, np.float32(0.05), np.float32(1e-7))
    on_device, acc_device = xp.asarray(var), xp.asarray(acc)
    kernels.adagrad(on_device, xp.asarray(grad), acc_device, 0.05, 1e-7)
    _close(on_device, expected_var)
    _close(acc_device, expected_acc)


def _numpy_hash(counter, seed):
    """The dropout hash written independently, in Python integers modulo 2**32."""
    out = []
    for i in counter.tolist():
        h = (i * 0x9E3779B9 + seed) % 2**32
        h ^= h >> 16
        h = (h * 0x7FEB352D) % 2**32
        h ^= h >> 15
        h = (h * 0x846CA68B) % 2**32
        h ^= h >> 16
        out.append(h)
    return np.array(out, dtype=np.uint64)


def test_dropout_mask_is_a_counter_based_hash(xp):
    kernels = cupy_kernels.build(xp)
    counter = np.arange(4000, dtype=np.uint32)
    seed, rate = 123456789, 0.3
    threshold = np.uint32(int(rate * 2**32))
    keep = _host(kernels.dropout_keep(xp.asarray(counter), xp.asarray(np.array([seed], np.uint32)), threshold,
                                      np.float32(1 / (1 - rate))))
    assert keep.dtype == np.float32
    expected = np.where(_numpy_hash(counter, seed) >= int(threshold), np.float32(1 / (1 - rate)), np.float32(0))
    np.testing.assert_array_equal(keep, expected)
    assert abs((keep == 0).mean() - rate) < 0.03  # the hash spreads evenly


def test_cupy_ops_fused_paths_match_numpy_ops(cupy_ops):
    """CupyOps' overrides (fused kernels) give NumpyOps' results; each runs one fused launch."""
    xp = cupy_ops.xp
    numpy_ops = backend.NumpyOps()
    y, b, g = _arrays((6, 4), (4,), (6, 4))
    expected = numpy_ops.bias_activation(y.copy(), b, "relu")
    _close(cupy_ops.bias_activation(xp.asarray(y), xp.asarray(b), "relu"), expected)
    gz, gb = numpy_ops.bias_activation_backward(g, expected, "relu", True)
    dgz, dgb = cupy_ops.bias_activation_backward(xp.asarray(g), xp.asarray(expected), "relu", True)
    _close(dgz, gz)
    np.testing.assert_allclose(_host(dgb), gb, rtol=1e-5)
    (logits,) = _arrays((5, 3), seed=2)
    labels = np.array([2, 0, 1, 1, 0])
    losses, saved = numpy_ops.sparse_softmax_cross_entropy(logits, labels)
    d_losses, d_saved = cupy_ops.sparse_softmax_cross_entropy(xp.asarray(logits), xp.asarray(labels))
    np.testing.assert_allclose(_host(d_losses), losses, rtol=1e-5)
    gl = np.float32(0.2)
    np.testing.assert_allclose(_host(cupy_ops.sparse_softmax_cross_entropy_backward(d_saved, gl)),
                               numpy_ops.sparse_softmax_cross_entropy_backward(saved, gl), rtol=1e-5, atol=1e-7)
    if xp is fake_cupy.cupy:
        var, grad, m, v = (xp.asarray(a) for a in _arrays((3, 3), (3, 3), (3, 3), (3, 3), positive=(3,)))
        with fake_cupy.counting() as seen:
            cupy_ops.adam_update(var, grad, m, v, 0.01, 0.1, 0.001, 1e-7)
            cupy_ops.rmsprop_update(var, grad, v, 0.01, 0.9, 0.1, 1e-7)
            cupy_ops.sgd_update(var, grad, 0.1)
        assert seen["fused_launches"] == 3 and seen["syncs"] == 0


def test_cupy_ops_dropout_masks(cupy_ops):
    rng = cupy_ops.generator(7)
    keep = cupy_ops.dropout_keep(rng, (50, 40), 0.25, "float32")
    host = _host(keep)
    assert keep.shape == (50, 40) and host.dtype == np.float32
    assert set(np.unique(host).tolist()) == {0.0, np.float32(1 / 0.75)}
    assert abs((host == 0).mean() - 0.25) < 0.04
    again = _host(cupy_ops.dropout_keep(rng, (50, 40), 0.25, "float32"))
    assert (again != host).any()  # a fresh seed per call


# ------------------------------------------------- gather-form pooling and col2im
class _GatherOps(GatherWindowOps, Ops):
    """The gather-form window ops of CupyOps over any array module (NumPy, the fake, CuPy)."""


# (shape, window, strides, pads): overlapping windows with padding and ties, disjoint windows,
# 1-D, and 3-D.
POOLS = [((2, 7, 6, 3), (3, 3), (1, 2), ((1, 1), (0, 1))),
         ((2, 8, 8, 3), (2, 2), (2, 2), ((0, 0), (0, 0))),
         ((2, 9, 4), (3,), (2,), ((1, 1),)),
         ((1, 5, 5, 4, 2), (2, 2, 2), (1, 1, 1), ((0, 1), (0, 0), (1, 0)))]


@pytest.mark.parametrize("shape, pool, strides, pads", POOLS)
def test_gather_pooling_matches_the_generic_code(xp, shape, pool, strides, pads):
    ops = _GatherOps(xp)
    x, = _arrays(shape, seed=3)
    x[0, 0] = x[0, 1]  # tied maxima: the first position wins on both paths
    y, arg = REFERENCE.max_pool(x, pool, strides, pads)
    d_y, d_arg = ops.max_pool(xp.asarray(x), pool, strides, pads)
    np.testing.assert_array_equal(_host(d_y), y)
    np.testing.assert_array_equal(_host(d_arg), arg)
    g, = _arrays(y.shape, seed=4)
    _close(ops.max_pool_backward(xp.asarray(g), d_arg, x.shape, pool, strides, pads),
           REFERENCE.max_pool_backward(g, arg, x.shape, pool, strides, pads))
    np.testing.assert_allclose(_host(ops.average_pool(xp.asarray(x), pool, strides, pads)),
                               REFERENCE.average_pool(x, pool, strides, pads), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_host(ops.average_pool_backward(xp.asarray(g), x.shape, pool, strides, pads)),
                               REFERENCE.average_pool_backward(g, x.shape, pool, strides, pads), rtol=1e-5, atol=1e-6)


# (shape, kernel, strides, dilation, pads): windows that overlap, so col2im gathers.
CONVS = [((2, 7, 6, 3), (3, 3), (1, 2), (1, 1), ((1, 1), (0, 1))),
         ((2, 9, 8, 3), (3, 2), (2, 1), (2, 1), ((0, 0), (2, 1))),
         ((2, 9, 4), (5,), (2,), (1,), ((2, 2),))]


@pytest.mark.parametrize("chunk_bytes", [None, 3000])
@pytest.mark.parametrize("shape, ksize, strides, dilation, pads", CONVS)
def test_gather_col2im_matches_the_generic_code(xp, shape, ksize, strides, dilation, pads, chunk_bytes):
    """The input gradients of conv and conv_transpose, gathered whole or an image at a time
    (``conv_chunk_bytes`` below one image's share), against the generic per-position loop."""
    ops = _GatherOps(xp)
    ops.conv_chunk_bytes = chunk_bytes
    x, w, wt = _arrays(shape, ksize + (shape[-1], 5), ksize + (4, shape[-1]), seed=5)
    y = REFERENCE.conv(x, w, strides, dilation, pads)
    g, = _arrays(y.shape, seed=6)
    gx, gw = REFERENCE.conv_backward(g, x, w, strides, dilation, pads)
    d_gx, d_gw = ops.conv_backward(xp.asarray(g), xp.asarray(x), xp.asarray(w), strides, dilation, pads)
    np.testing.assert_allclose(_host(d_gx), gx, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(_host(d_gw), gw, rtol=1e-4, atol=1e-4)
    out = tuple((n - 1) * s + (k - 1) * d + 1 for n, k, s, d in zip(shape[1:-1], ksize, strides, dilation))
    np.testing.assert_allclose(
        _host(ops.conv_transpose(xp.asarray(x), xp.asarray(wt), strides, dilation, [0] * len(ksize), out)),
        REFERENCE.conv_transpose(x, wt, strides, dilation, [0] * len(ksize), out), rtol=1e-4, atol=1e-5)


def test_im2col_is_built_in_chunks_under_the_memory_cap(cupy_ops):
    """A convolution whose columns exceed ``conv_chunk_bytes`` builds them a few images at a
    time (same results); CupyOps caps them at 256 MiB."""
    assert cupy_ops.conv_chunk_bytes == 256 << 20
    xp = cupy_ops.xp
    x, w = _arrays((4, 6, 6, 3), (3, 3, 3, 2), seed=7)
    per_image = 4 * 4 * 27 * 4  # out cells * k*k*C * float32
    cupy_ops.conv_chunk_bytes = 2 * per_image
    try:
        assert cupy_ops._column_chunk(x, (4, 4), w, 1) == 2
        y, cols = cupy_ops.conv_with_columns(xp.asarray(x), xp.asarray(w), (1, 1), (1, 1), ((0, 0), (0, 0)))
    finally:
        del cupy_ops.conv_chunk_bytes
    assert cols is None  # built in chunks, not kept
    _close(y, REFERENCE.conv(x, w, (1, 1), (1, 1), ((0, 0), (0, 0))))


def test_cupy_ops_pool_and_col2im_read_nothing_on_the_host(cupy_ops):
    """On the fake, the gather-form ops read nothing on the host."""
    if cupy_ops.xp is not fake_cupy.cupy:
        pytest.skip("sync counts need the fake CuPy")
    xp = cupy_ops.xp
    x, w = _arrays((2, 7, 6, 3), (3, 3, 3, 4), seed=8)
    dx, dw = xp.asarray(x), xp.asarray(w)
    cupy_ops.max_pool(dx, (3, 3), (1, 1), ((1, 1), (1, 1)))  # builds the index tables once
    with fake_cupy.counting() as seen:
        y, arg = cupy_ops.max_pool(dx, (3, 3), (1, 1), ((1, 1), (1, 1)))
        cupy_ops.max_pool_backward(xp.ones(y.shape, dtype=np.float32), arg, x.shape, (3, 3), (1, 1),
                                   ((1, 1), (1, 1)))
        g = xp.ones((2, 5, 4, 4), dtype=np.float32)
        cupy_ops.conv_backward(g, dx, dw, (1, 1), (1, 1), ((0, 0), (0, 0)))
    assert seen["syncs"] == 0 and seen["to_host"] == 0


# ------------------------------------------------------------- GRU and SimpleRNN steps
def test_gru_cell(xp):
    kernels = cupy_kernels.build(xp)
    n, u = 3, 4
    rr, xs, h = _arrays((n, 3 * u), (n, 3 * u), (n, u), seed=9)
    gates, h_new, rec_h = np.empty((n, 3 * u), np.float32), np.empty((n, u), np.float32), np.empty((n, u), np.float32)
    REFERENCE._gru_cell(rr.copy(), xs, h, gates, h_new, rec_h)
    np.testing.assert_array_equal(rec_h, rr[:, 2 * u:])
    d_rr, d_xs = xp.asarray(rr), xp.asarray(xs)
    on_device = [xp.empty((n, u), dtype=np.float32) for _ in range(4)]
    kernels.gru_cell(*(d_rr[:, k * u:(k + 1) * u] for k in range(3)), *(d_xs[:, k * u:(k + 1) * u] for k in range(3)),
                     xp.asarray(h), *on_device)
    for actual, expected in zip(on_device, [gates[:, :u], gates[:, u:2 * u], gates[:, 2 * u:], h_new]):
        _close(actual, expected)


def test_gru_gate_grads(xp):
    kernels = cupy_kernels.build(xp)
    n, u = 3, 4
    dh, k_rh, z, *coef = _arrays(*[(n, u)] * 6, seed=10)
    dxs, drs, dh_ref = np.empty((n, 3, u), np.float32), np.empty((n, 3, u), np.float32), dh.copy()
    REFERENCE._gru_gate_grads(dh_ref, np.stack(coef), k_rh, z, dxs, drs)
    d_dh = xp.asarray(dh)
    d_dxs, d_drs = xp.empty((n, 3, u), dtype=np.float32), xp.empty((n, 3, u), dtype=np.float32)
    kernels.gru_gate_grads(d_dh, *(xp.asarray(k) for k in coef), xp.asarray(k_rh), xp.asarray(z),
                           *(d_dxs[:, k] for k in range(3)), *(d_drs[:, k] for k in range(3)))
    _close(d_dxs, dxs)
    _close(d_drs, drs)
    _close(d_dh, dh_ref)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "linear"])
def test_simple_rnn_cell(xp, activation):
    kernels = cupy_kernels.build(xp)
    rec, xs = _arrays((3, 4), (3, 4), seed=11)
    expected = np.empty((3, 4), np.float32)
    REFERENCE._simple_rnn_cell(rec, xs, expected, activation)
    a = xp.empty((3, 4), dtype=np.float32)
    kernels.simple_rnn_cells[activation](xp.asarray(rec), xp.asarray(xs), a)
    np.testing.assert_allclose(_host(a), expected, rtol=1e-6, atol=1e-7)


def _rnn_inputs(seed):
    n, steps, features, u = 3, 5, 4, 6
    x, h0, k, rk, b = _arrays((n, steps, features), (n, u), (features, 3 * u), (u, 3 * u), (2, 3 * u), seed=seed)
    mask = np.ones((n, steps), bool)
    mask[1, 3:] = False
    return x, h0, k, rk, b, mask


@pytest.mark.parametrize("masked", [False, True])
def test_cupy_ops_gru_and_simple_rnn_match_the_generic_code(cupy_ops, masked):
    """The fused steps inside CupyOps' GRU (reset_after) and SimpleRNN forward and BPTT give the
    generic code's outputs and gradients, one fused launch per step and direction."""
    xp = cupy_ops.xp
    x, h0, k, rk, b, mask = _rnn_inputs(seed=12)
    mask = mask if masked else None
    steps, u = x.shape[1], h0.shape[1]
    g_out, = _arrays((3, steps, u), seed=13)

    def run(ops, to):
        out, last, saved = ops.gru_forward(to(x), to(h0), to(k), to(rk), to(b), None if mask is None else to(mask))
        gru = (out, last, *ops.gru_backward(saved, to(g_out), None))
        out, last, saved = ops.simple_rnn_forward(to(x), to(h0), to(k[:, :u]), to(rk[:, :u]), to(b[0, :u]),
                                                  None if mask is None else to(mask), activation="sigmoid")
        return gru + (out, last, *ops.simple_rnn_backward(saved, to(g_out), None))

    expected = run(REFERENCE, lambda a: a)
    with fake_cupy.counting() as seen:
        actual = run(cupy_ops, xp.asarray)
    for got, want in zip(actual, expected):
        np.testing.assert_allclose(_host(got), want, rtol=1e-4, atol=1e-5)
    if xp is fake_cupy.cupy:
        assert seen["fused_launches"] == 3 * steps and seen["syncs"] == 0


# --------------------------------------------------------- BatchNorm / LayerNorm
def test_normalize_kernels(xp):
    kernels = cupy_kernels.build(xp)
    centred, g, xhat = _arrays((6, 4), (6, 4), (6, 4), seed=14)
    inv, gamma, beta, sum_g, sum_g_xhat = _arrays(*[(1, 4)] * 5, seed=15, positive=(0,))
    expected_xhat, expected_y = REFERENCE.normalize_scale_shift(centred.copy(), inv, gamma, beta)
    d_centred, y = xp.asarray(centred), xp.empty((6, 4), dtype=np.float32)
    kernels.normalize_scale_shift(d_centred, *(xp.asarray(a) for a in (inv, gamma, beta)), y)
    _close(d_centred, expected_xhat)
    _close(y, expected_y)
    expected = REFERENCE.normalize_input_grad(g, sum_g, sum_g_xhat, xhat, inv, 6)
    actual = kernels.normalize_input_grad(*(xp.asarray(a) for a in (g, sum_g, sum_g_xhat, xhat, inv)), 6)
    np.testing.assert_allclose(_host(actual), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layer", ["batch", "layer"])
def test_cupy_ops_normalization_matches_numpy(cupy_ops, layer):
    """BatchNormalization (training) and LayerNormalization on CupyOps give NumpyOps' outputs and
    gradients; the batch norm's scale-and-shift and input gradient are one fused launch each."""
    import graphkit as gk
    x, g = _arrays((8, 3, 3, 5), (8, 3, 3, 5), seed=16)

    def run():
        norm = gk.layers.BatchNormalization() if layer == "batch" else gk.layers.LayerNormalization()
        norm.build((None, 3, 3, 5))
        norm.gamma.assign(np.linspace(0.5, 1.5, 5, dtype=np.float32))
        norm.beta.assign(np.linspace(-1, 1, 5, dtype=np.float32))
        inputs = gk.Variable(backend.current().asarray(x))
        with gk.GradientTape() as tape:
            y = norm(inputs, training=True)
            loss = gk.ops.sum(y * backend.current().asarray(g))
        grads = tape.gradient(loss, [inputs, norm.gamma, norm.beta])
        return [_host(t.data) if hasattr(t, "data") else _host(t) for t in [y, *grads]]

    with backend.use("numpy"):
        expected = run()
    with backend.use(cupy_ops), fake_cupy.counting() as seen:
        actual = run()
    for got, want in zip(actual, expected):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    if cupy_ops.xp is fake_cupy.cupy and layer == "batch":
        assert seen["fused_launches"] == 2
