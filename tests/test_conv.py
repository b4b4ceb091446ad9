"""Convolution and pooling (gk.ops.conv & co.): forward values against naive loops, Keras output
shapes, TF's asymmetric "same" padding, and gradients against float64 finite differences on the
generic backend (``Ops(numpy)``) and on ``NumpyOps``."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import graphkit as gk
from gradcheck import BACKENDS, check_backward_dtypes, check_gradients

ops = gk.ops
rng = np.random.default_rng(7)
BACKEND_PARAMS = [pytest.param(b, id=name) for name, b in BACKENDS.items()]


# --------------------------------------------------------------- naive references
def tf_pads(n, k, s, d, padding):
    """(before, after) per TF: "same" gives ceil(n/s) outputs with the odd cell padded after."""
    k_eff = (k - 1) * d + 1
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return k_eff - 1, 0
    out = math.ceil(n / s)
    total = max((out - 1) * s + k_eff - n, 0)
    return total // 2, total - total // 2


def naive_conv(x, w, strides, padding, dilation):
    """Cross-correlation by explicit loops; x (N, *sp, C), w (*k, C/groups, O)."""
    r = x.ndim - 2
    strides = (strides,) * r if isinstance(strides, int) else strides
    dilation = (dilation,) * r if isinstance(dilation, int) else dilation
    ksize, cg, o_ch = w.shape[:r], w.shape[-2], w.shape[-1]
    groups = x.shape[-1] // cg
    og = o_ch // groups
    pads = [tf_pads(n, k, s, d, padding) for n, k, s, d in zip(x.shape[1:-1], ksize, strides, dilation)]
    out = [(n + b + a - (k - 1) * d - 1) // s + 1
           for n, (b, a), k, s, d in zip(x.shape[1:-1], pads, ksize, strides, dilation)]
    y = np.zeros((x.shape[0], *out, o_ch))
    for n in range(x.shape[0]):
        for o in np.ndindex(*out):
            for f in range(o_ch):
                g = f // og
                total = 0.0
                for j in np.ndindex(*ksize):
                    pos = [oi * s - b + ji * d for oi, s, (b, _), ji, d in zip(o, strides, pads, j, dilation)]
                    if all(0 <= p < size for p, size in zip(pos, x.shape[1:-1])):
                        for ci in range(cg):
                            total += x[(n, *pos, g * cg + ci)] * w[(*j, ci, f)]
                y[(n, *o, f)] = total
    return y


def keras_transpose_length(n, k, s, d, padding, output_padding):
    k_eff = (k - 1) * d + 1
    if output_padding is None:
        return n * s + max(k_eff - s, 0) if padding == "valid" else n * s
    pad = k_eff // 2 if padding == "same" else 0
    return (n - 1) * s + k_eff - 2 * pad + output_padding


def naive_conv_transpose(x, w, strides, padding, output_padding, dilation):
    """Scatter every input cell through the kernel, then crop as TF (pad_before = excess // 2)."""
    r = x.ndim - 2
    strides = (strides,) * r if isinstance(strides, int) else strides
    dilation = (dilation,) * r if isinstance(dilation, int) else dilation
    op = (output_padding,) * r if isinstance(output_padding, int) or output_padding is None else output_padding
    ksize, o_ch = w.shape[:r], w.shape[-2]
    full = [(n - 1) * s + (k - 1) * d + 1 for n, k, s, d in zip(x.shape[1:-1], ksize, strides, dilation)]
    out = [keras_transpose_length(n, k, s, d, padding, p)
           for n, k, s, d, p in zip(x.shape[1:-1], ksize, strides, dilation, op)]
    before = [0 if padding == "valid" else max(f - o, 0) // 2 for f, o in zip(full, out)]
    buf = np.zeros((x.shape[0], *[max(f, b + o) for f, b, o in zip(full, before, out)], o_ch))
    for n in range(x.shape[0]):
        for i in np.ndindex(*x.shape[1:-1]):
            for j in np.ndindex(*ksize):
                pos = tuple(ii * s + jj * d for ii, s, jj, d in zip(i, strides, j, dilation))
                buf[(n, *pos)] += w[j] @ x[(n, *i)]
    crop = (slice(None),) + tuple(slice(b, b + o) for b, o in zip(before, out)) + (slice(None),)
    return buf[crop]


def naive_pool(x, pool, strides, padding, kind):
    r = x.ndim - 2
    pool = (pool,) * r if isinstance(pool, int) else pool
    strides = pool if strides is None else ((strides,) * r if isinstance(strides, int) else strides)
    pads = [tf_pads(n, k, s, 1, padding) for n, k, s in zip(x.shape[1:-1], pool, strides)]
    out = [(n + b + a - k) // s + 1 for n, (b, a), k, s in zip(x.shape[1:-1], pads, pool, strides)]
    y = np.zeros((x.shape[0], *out, x.shape[-1]))
    for n in range(x.shape[0]):
        for o in np.ndindex(*out):
            cells = []
            for j in np.ndindex(*pool):
                pos = [oi * s - b + ji for oi, s, (b, _), ji in zip(o, strides, pads, j)]
                if all(0 <= p < size for p, size in zip(pos, x.shape[1:-1])):
                    cells.append(x[(n, *pos)])
            cells = np.stack(cells)
            y[(n, *o)] = cells.max(axis=0) if kind == "max" else cells.mean(axis=0)
    return y


def distinct(shape):
    """Values pairwise >= 0.05 apart, so max pooling has no ties and finite differences are safe."""
    size = int(np.prod(shape))
    return ((rng.permutation(size) - size / 2) * 0.1 + rng.uniform(0, 0.05, size)).reshape(shape)


def run(f, *arrays, backend):
    with gk.backend.use(backend):
        return f(*[gk.constant(a, dtype="float64") for a in arrays]).numpy()


# ----------------------------------------------------------------- hand-checked values
def test_same_padding_is_asymmetric_like_tensorflow():
    x = np.arange(1.0, 5.0).reshape(1, 4, 1)
    w = np.ones((2, 1, 1))
    # total pad 1 goes after: windows [1,2] [2,3] [3,4] [4,0]
    np.testing.assert_allclose(ops.conv(x, w, padding="same").numpy().ravel(), [3, 5, 7, 4])
    x5 = np.arange(1.0, 6.0).reshape(1, 5, 1)
    # n=5, k=3, s=2: 3 outputs, total pad 2 -> one each side: [0,1,2] [2,3,4] [4,5,0]
    np.testing.assert_allclose(ops.conv(x5, np.ones((3, 1, 1)), strides=2, padding="same").numpy().ravel(), [3, 9, 9])
    # n=4, k=4, s=1: total pad 3 -> 1 before, 2 after
    np.testing.assert_allclose(ops.conv(x, np.ones((4, 1, 1)), padding="same").numpy().ravel(), [6, 10, 9, 7])


def test_causal_conv1d_values():
    x = np.arange(1.0, 5.0).reshape(1, 4, 1)
    np.testing.assert_allclose(ops.conv(x, np.ones((2, 1, 1)), padding="causal").numpy().ravel(), [1, 3, 5, 7])
    # dilation 2: y[t] = x[t] + x[t-2]
    np.testing.assert_allclose(ops.conv(x, np.ones((2, 1, 1)), padding="causal", dilation_rate=2).numpy().ravel(),
                               [1, 2, 4, 6])


def test_conv_transpose_output_shapes_follow_keras():
    x = np.zeros((1, 5, 5, 2), "float32")
    for k, s, padding, op, expected in [(3, 2, "valid", None, 11), (3, 2, "same", None, 10), (2, 3, "valid", None, 15),
                                        (3, 2, "same", 1, 10), (3, 2, "valid", 1, 12), (4, 2, "same", 0, 8),
                                        (1, 3, "valid", None, 15), (3, 1, "same", None, 5), (3, 1, "valid", None, 7)]:
        y = ops.conv_transpose(x, np.zeros((k, k, 3, 2), "float32"), s, padding=padding, output_padding=op)
        assert y.shape == (1, expected, expected, 3), (k, s, padding, op)
    from graphkit.ops.conv import compute_conv_transpose_output_shape
    assert compute_conv_transpose_output_shape((None, 5, 7, 2), 3, (3, 3), 2, "same") == (None, 10, 14, 3)


def test_shape_helpers():
    from graphkit.ops.conv import compute_conv_output_shape, compute_pooling_output_shape
    assert compute_conv_output_shape((None, 7, 6, 3), 8, 3, 2, "same") == (None, 4, 3, 8)
    assert compute_conv_output_shape((2, 7, 6, 3), 8, (3, 2), 1, "valid", dilation_rate=2) == (2, 3, 4, 8)
    assert compute_conv_output_shape((2, 9, 3), 4, 3, 2, "causal") == (2, 5, 4)
    assert compute_pooling_output_shape((None, 7, 5, 3), 2) == (None, 3, 2, 3)
    assert compute_pooling_output_shape((None, 7, 5, 3), 3, 2, "same") == (None, 4, 3, 3)


# ------------------------------------------------------------------- forward values
CONV2D = []
for padding, strides, dilation, groups, size in itertools.product(
        ("valid", "same"), (1, 2, (2, 1)), (1, 2), (1, 2), ((5, 7), (6, 4))):
    if dilation == 2 and size == (6, 4) and padding == "valid":
        continue  # dilated (3, 2) kernel needs width >= 3: covered by (5, 7)
    CONV2D.append(pytest.param(padding, strides, dilation, groups, size,
                               id=f"{padding}-s{strides}-d{dilation}-g{groups}-{size[0]}x{size[1]}"))


@pytest.mark.parametrize("padding,strides,dilation,groups,size", CONV2D)
def test_conv2d_forward_matches_loops(padding, strides, dilation, groups, size):
    x = rng.standard_normal((2, *size, 4))
    w = rng.standard_normal((3, 2, 4 // groups, 6))
    expected = naive_conv(x, w, strides, padding, dilation)
    for backend in BACKENDS.values():
        got = run(lambda a, b: ops.conv(a, b, strides=strides, padding=padding, dilation_rate=dilation),
                  x, w, backend=backend)
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("padding", ["valid", "same", "causal"])
@pytest.mark.parametrize("strides,dilation", [(1, 1), (2, 1), (3, 1), (1, 2), (2, 3)])
@pytest.mark.parametrize("groups", [1, 3])
def test_conv1d_forward_matches_loops(padding, strides, dilation, groups):
    x = rng.standard_normal((2, 9, 6))
    w = rng.standard_normal((3, 6 // groups, 3))
    expected = naive_conv(x, w, strides, padding, dilation)
    got = ops.conv(x, w, strides=strides, padding=padding, dilation_rate=dilation)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-4)


def test_conv3d_forward_matches_loops():
    x = rng.standard_normal((1, 4, 5, 3, 2))
    w = rng.standard_normal((2, 3, 2, 2, 3))
    for padding, strides in [("valid", 1), ("same", 2), ("same", (1, 2, 1))]:
        got = run(lambda a, b: ops.conv(a, b, strides=strides, padding=padding), x, w, backend=BACKENDS["generic"])
        np.testing.assert_allclose(got, naive_conv(x, w, strides, padding, 1), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("padding,strides,dilation",
                         [("valid", 1, 1), ("same", 2, 1), ("same", 1, 2), ("valid", (1, 2), 1)])
@pytest.mark.parametrize("multiplier", [1, 2])
def test_depthwise_conv_matches_grouped_loops(padding, strides, dilation, multiplier):
    x = rng.standard_normal((2, 5, 6, 3))
    w = rng.standard_normal((3, 3, 3, multiplier))
    # depthwise == grouped conv with groups = C and kernel (*k, 1, C * multiplier)
    expected = naive_conv(x, w.reshape(3, 3, 1, 3 * multiplier), strides, padding, dilation)
    got = run(lambda a, b: ops.depthwise_conv(a, b, strides=strides, padding=padding, dilation_rate=dilation),
              x, w, backend=BACKENDS["generic"])
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    # conv with one input channel per group takes the depthwise path
    got = run(lambda a, b: ops.conv(a, b.reshape(3, 3, 1, 3 * multiplier), strides=strides, padding=padding,
                                    dilation_rate=dilation), x, w, backend=BACKENDS["numpy"])
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


def test_depthwise_conv1d_causal():
    x = rng.standard_normal((2, 7, 3))
    w = rng.standard_normal((3, 3, 2))
    expected = naive_conv(x, w.reshape(3, 1, 6), 1, "causal", 2)
    got = run(lambda a, b: ops.depthwise_conv(a, b, padding="causal", dilation_rate=2), x, w, backend=BACKENDS["numpy"])
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


def test_separable_conv_is_depthwise_then_pointwise():
    x = rng.standard_normal((2, 6, 5, 3))
    dw = rng.standard_normal((3, 3, 3, 2))
    pw = rng.standard_normal((1, 1, 6, 4))
    expected = naive_conv(naive_conv(x, dw.reshape(3, 3, 1, 6), 2, "same", 1), pw, 1, "valid", 1)
    got = run(lambda a, b, c: ops.separable_conv(a, b, c, strides=2, padding="same"), x, dw, pw,
              backend=BACKENDS["numpy"])
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


TRANSPOSE = [
    # (input spatial, kernel, strides, padding, output_padding, dilation)
    ((4, 5), (3, 3), 2, "valid", None, 1),
    ((4, 5), (3, 3), 2, "same", None, 1),
    ((4, 5), (3, 2), (2, 3), "valid", None, 1),
    ((4, 5), (2, 2), 2, "same", None, 1),       # disjoint windows: the one-view col2im path
    ((3, 4), (2, 2), 3, "valid", None, 1),      # stride > kernel: zeros between and after
    ((4, 5), (3, 3), 2, "same", 1, 1),
    ((4, 5), (3, 3), 2, "valid", 1, 1),
    ((4, 5), (4, 4), 2, "same", 0, 1),
    ((4, 5), (3, 3), 1, "same", None, 2),
    ((4, 5), (3, 2), 1, "valid", None, 2),
    ((5, 3), (3, 3), 3, "same", (2, 1), 1),
]


@pytest.mark.parametrize("spatial,ksize,strides,padding,output_padding,dilation", TRANSPOSE)
def test_conv_transpose_matches_scatter_loop(spatial, ksize, strides, padding, output_padding, dilation):
    x = rng.standard_normal((2, *spatial, 3))
    w = rng.standard_normal((*ksize, 4, 3))
    expected = naive_conv_transpose(x, w, strides, padding, output_padding, dilation)
    for backend in BACKENDS.values():
        got = run(lambda a, b: ops.conv_transpose(a, b, strides, padding=padding, output_padding=output_padding,
                                                  dilation_rate=dilation), x, w, backend=backend)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("n,k,s,padding,op", [(5, 3, 2, "same", None), (5, 3, 2, "valid", None),
                                              (4, 2, 2, "same", None), (6, 4, 3, "same", None),
                                              (5, 3, 2, "same", 0), (5, 3, 2, "valid", 1), (5, 4, 2, "same", 1)])
def test_conv_transpose_is_the_adjoint_of_conv(n, k, s, padding, op):
    """TF defines conv_transpose as the input gradient of conv: <conv(u, w), v> = <u, conv_transpose(v, w)>."""
    v = rng.standard_normal((2, n, 3))
    w = rng.standard_normal((k, 4, 3))
    t = run(lambda a, b: ops.conv_transpose(a, b, s, padding=padding, output_padding=op), v, w,
            backend=BACKENDS["numpy"])
    u = rng.standard_normal(t.shape)
    c = run(lambda a, b: ops.conv(a, b, strides=s, padding=padding), u, w, backend=BACKENDS["numpy"])
    assert c.shape == v.shape
    np.testing.assert_allclose(np.sum(c * v), np.sum(u * t), rtol=1e-10)


def test_conv_transpose_1d_and_3d():
    x = rng.standard_normal((2, 5, 3))
    w = rng.standard_normal((3, 2, 3))
    got = ops.conv_transpose(x, w, 2, padding="same").numpy()
    np.testing.assert_allclose(got, naive_conv_transpose(x, w, 2, "same", None, 1), rtol=1e-4, atol=1e-4)
    x = rng.standard_normal((1, 2, 3, 2, 2))
    w = rng.standard_normal((2, 2, 3, 3, 2))
    got = run(lambda a, b: ops.conv_transpose(a, b, (2, 1, 2), padding="same"), x, w, backend=BACKENDS["generic"])
    np.testing.assert_allclose(got, naive_conv_transpose(x, w, (2, 1, 2), "same", None, 1), rtol=1e-10, atol=1e-10)


POOL = [("valid", 2, None), ("valid", 3, 2), ("same", 2, None), ("same", 3, 2), ("same", (3, 2), (1, 2)),
        ("valid", (2, 3), 1), ("same", 3, 1)]


@pytest.mark.parametrize("kind", ["max", "average"])
@pytest.mark.parametrize("padding,pool,strides", POOL)
def test_pool2d_forward_matches_loops(kind, padding, pool, strides):
    x = rng.standard_normal((2, 5, 7, 3)) - 3.0  # all negative: padding must never win a max
    f = ops.max_pool if kind == "max" else ops.average_pool
    expected = naive_pool(x, pool, strides, padding, kind)
    for backend in BACKENDS.values():
        got = run(lambda a: f(a, pool, strides=strides, padding=padding), x, backend=backend)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["max", "average"])
@pytest.mark.parametrize("padding,pool,strides", [("valid", 2, None), ("same", 3, 2), ("same", 2, 1), ("valid", 3, 1)])
def test_pool1d_and_3d_forward(kind, padding, pool, strides):
    f = ops.max_pool if kind == "max" else ops.average_pool
    x = rng.standard_normal((2, 7, 3))
    np.testing.assert_allclose(f(x, pool, strides, padding).numpy(), naive_pool(x, pool, strides, padding, kind),
                               rtol=1e-5, atol=1e-6)
    x = rng.standard_normal((1, 4, 5, 3, 2))
    np.testing.assert_allclose(f(x, pool, strides, padding).numpy(), naive_pool(x, pool, strides, padding, kind),
                               rtol=1e-5, atol=1e-6)


def test_max_pool_gradient_goes_to_first_maximum_on_ties():
    x = gk.constant(np.array([[1.0, 3.0, 3.0], [3.0, 0.0, 3.0]]).reshape(1, 2, 3, 1))
    with gk.GradientTape() as tape:
        tape.watch(x)
        y = ops.max_pool(x, 2, strides=1)
    g = tape.gradient(y, x).numpy().reshape(2, 3)
    # windows: [[1,3],[3,0]] -> first 3 at (0,1); [[3,3],[0,3]] -> first 3 at (0,1)
    np.testing.assert_array_equal(g, [[0, 2, 0], [0, 0, 0]])


def test_int_pooling_and_dtypes():
    x = np.arange(16, dtype="int32").reshape(1, 4, 4, 1)
    assert ops.max_pool(x, 2).dtype == np.int32
    np.testing.assert_array_equal(ops.max_pool(x, 2).numpy().ravel(), [5, 7, 13, 15])
    avg = ops.average_pool(x, 2)
    assert avg.dtype == np.float32
    np.testing.assert_allclose(avg.numpy().ravel(), [2.5, 4.5, 10.5, 12.5])
    xf = rng.standard_normal((2, 6, 6, 3)).astype("float32")
    for y in (ops.conv(xf, np.ones((3, 3, 3, 2), "float32"), padding="same"), ops.max_pool(xf, 2),
              ops.average_pool(xf, 3, 2, "same"), ops.depthwise_conv(xf, np.ones((3, 3, 3, 1), "float32")),
              ops.conv_transpose(xf, np.ones((3, 3, 2, 3), "float32"), 2)):
        assert y.dtype == np.float32


def test_channels_first_matches_channels_last():
    x = rng.standard_normal((2, 6, 5, 3)).astype("float32")
    xt = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    w = rng.standard_normal((3, 3, 3, 4)).astype("float32")
    for f in (lambda a, fmt: ops.conv(a, w, 2, "same", data_format=fmt),
              lambda a, fmt: ops.conv_transpose(a, w.transpose(0, 1, 3, 2), 2, "same", data_format=fmt),
              lambda a, fmt: ops.depthwise_conv(a, w[..., :1], 1, "valid", data_format=fmt),
              lambda a, fmt: ops.max_pool(a, 2, data_format=fmt),
              lambda a, fmt: ops.average_pool(a, 3, 2, "same", data_format=fmt)):
        last = f(x, "channels_last").numpy()
        first = f(xt, "channels_first").numpy()
        np.testing.assert_allclose(first, last.transpose(0, 3, 1, 2), rtol=1e-5, atol=1e-5)


def test_errors():
    x = np.zeros((1, 4, 4, 4), "float32")
    with pytest.raises(ValueError, match="multiple"):
        ops.conv(x, np.zeros((3, 3, 3, 2), "float32"))
    with pytest.raises(ValueError, match="divisible"):
        ops.conv(x, np.zeros((3, 3, 2, 3), "float32"))
    with pytest.raises(ValueError, match="causal"):
        ops.conv(x, np.zeros((3, 3, 4, 2), "float32"), padding="causal")
    with pytest.raises(ValueError, match="does not fit"):
        ops.conv(x, np.zeros((5, 5, 4, 2), "float32"))
    with pytest.raises(ValueError, match="padding"):
        ops.max_pool(x, 2, padding="full")
    with pytest.raises(ValueError, match="output_padding"):
        ops.conv_transpose(x, np.zeros((3, 3, 2, 4), "float32"), 2, output_padding=2)


# ------------------------------------------------------------------------ gradients
GRAD_CASES = [
    ("conv2d-valid", lambda x, w: ops.conv(x, w), (2, 5, 4, 3), (3, 2, 3, 2)),
    ("conv2d-same-s2", lambda x, w: ops.conv(x, w, 2, "same"), (2, 5, 6, 2), (3, 3, 2, 3)),
    ("conv2d-same-s21-d2", lambda x, w: ops.conv(x, w, (2, 1), "same", dilation_rate=2), (1, 6, 5, 2), (2, 3, 2, 2)),
    ("conv2d-groups2", lambda x, w: ops.conv(x, w, 1, "same"), (2, 4, 5, 4), (3, 3, 2, 4)),
    ("conv2d-s2-disjoint", lambda x, w: ops.conv(x, w, 2), (2, 5, 4, 2), (2, 2, 2, 3)),
    ("conv2d-depthwise-groups", lambda x, w: ops.conv(x, w, 2, "same"), (1, 5, 5, 3), (3, 3, 1, 6)),
    ("conv1d-causal-d2", lambda x, w: ops.conv(x, w, 1, "causal", dilation_rate=2), (2, 7, 3), (3, 3, 2)),
    ("conv1d-same-s3-g3", lambda x, w: ops.conv(x, w, 3, "same"), (2, 8, 6), (3, 2, 3)),
    ("conv3d-same", lambda x, w: ops.conv(x, w, (1, 2, 1), "same"), (1, 3, 4, 3, 2), (2, 2, 2, 2, 2)),
    ("depthwise-m2-same", lambda x, w: ops.depthwise_conv(x, w, 2, "same"), (2, 5, 4, 2), (3, 3, 2, 2)),
    ("depthwise-m1-d2", lambda x, w: ops.depthwise_conv(x, w, 1, "valid", dilation_rate=2), (1, 6, 5, 3), (2, 2, 3, 1)),
    ("transpose-valid-s2", lambda x, w: ops.conv_transpose(x, w, 2), (2, 3, 4, 3), (3, 3, 2, 3)),
    ("transpose-same-s2-op1", lambda x, w: ops.conv_transpose(x, w, 2, "same", output_padding=1),
     (1, 3, 4, 2), (3, 3, 2, 2)),
    ("transpose-same-disjoint", lambda x, w: ops.conv_transpose(x, w, 2, "same"), (2, 3, 3, 2), (2, 2, 3, 2)),
    ("transpose-valid-s3-k2", lambda x, w: ops.conv_transpose(x, w, 3), (1, 3, 2, 2), (2, 2, 2, 2)),
    ("transpose1d-same-d2", lambda x, w: ops.conv_transpose(x, w, 1, "same", dilation_rate=2), (2, 5, 2), (3, 3, 2)),
]


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
@pytest.mark.parametrize("name,f,xshape,wshape", [pytest.param(*c, id=c[0]) for c in GRAD_CASES])
def test_conv_gradients(name, f, xshape, wshape, backend):
    check_gradients(f, rng.standard_normal(xshape), rng.standard_normal(wshape), backend=backend)


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
@pytest.mark.parametrize("name,f,xshape,wshape", [pytest.param(*c, id=c[0]) for c in GRAD_CASES])
def test_conv_kernel_gradient_without_watching_the_input(name, f, xshape, wshape, backend):
    """An unwatched input needs no gradient (no input gradient, no col2im): the kernel gradient
    is the same as with the input watched, and matches finite differences."""
    x, w = rng.standard_normal(xshape), rng.standard_normal(wshape)
    (gw,) = check_gradients(f, x, w, backend=backend, wrt=[1])
    g = rng.standard_normal(run(f, x, w, backend=backend).shape)
    with gk.backend.use(backend):
        xt, wt = gk.constant(x), gk.constant(w)
        with gk.GradientTape() as tape:
            tape.watch(wt)
            y = f(xt, wt)
        (alone,) = tape.gradient(y, [wt], output_gradients=g)
        with gk.GradientTape() as tape:
            tape.watch([xt, wt])
            y = f(xt, wt)
        gx, both = tape.gradient(y, [xt, wt], output_gradients=g)
    assert gx is not None and gw.shape == w.shape
    np.testing.assert_array_equal(alone.numpy(), both.numpy())


@pytest.mark.parametrize("groups", [1, 2])
def test_conv_backward_with_and_without_kept_columns(groups, monkeypatch):
    """The kernel gradient from the forward's kept im2col columns equals the one from columns
    rebuilt in the backward (columns over ``conv_columns_keep_bytes`` are not kept)."""
    backend = BACKENDS["numpy"]
    x, w = rng.standard_normal((2, 6, 5, 4)), rng.standard_normal((3, 3, 4 // groups, 4))
    y, cols = backend.conv_with_columns(x, w, (1, 1), (1, 1), ((1, 1), (1, 1)), groups)
    assert cols is not None
    g = rng.standard_normal(y.shape)
    kept = backend.conv_backward(g, x, w, (1, 1), (1, 1), ((1, 1), (1, 1)), groups, cols=cols)
    monkeypatch.setattr(backend, "conv_columns_keep_bytes", 0)
    assert backend.conv_with_columns(x, w, (1, 1), (1, 1), ((1, 1), (1, 1)), groups)[1] is None
    rebuilt = backend.conv_backward(g, x, w, (1, 1), (1, 1), ((1, 1), (1, 1)), groups)
    for a, b in zip(kept, rebuilt):
        np.testing.assert_array_equal(a, b)
    check_gradients(lambda a, b: ops.conv(a, b, 1, "same"), x, w, backend=backend)


def cache_blocked_numpy():
    """A NumpyOps whose im2col chunks hold one image and whose elementwise blocks hold one row,
    so the chunk and block loops run many times even on the tiny test shapes."""
    backend = gk.backend.NumpyOps()
    backend.conv_chunk_bytes = 1
    backend.block_bytes = 1
    return backend


CHUNKED_CONVS = [
    pytest.param((3, 6, 5, 4), (3, 3, 4, 5), 1, "valid", 1, id="2d-valid"),
    pytest.param((3, 6, 5, 4), (3, 2, 4, 5), 2, "same", 1, id="2d-same-s2"),
    pytest.param((3, 7, 6, 2), (2, 3, 2, 3), 1, "same", 2, id="2d-same-d2"),
    pytest.param((2, 9, 3), (3, 3, 4), 1, "causal", 1, id="1d-causal"),
    pytest.param((2, 4, 4, 3, 2), (2, 2, 2, 2, 3), 1, "valid", 1, id="3d"),
]


@pytest.mark.parametrize("xshape,wshape,strides,padding,dilation", CHUNKED_CONVS)
def test_chunked_im2col_matches_whole_batch(xshape, wshape, strides, padding, dilation):
    """Columns built a few images at a time in one reused buffer (forward, and again for the
    kernel gradient) give the whole-batch results; the gradients match finite differences."""
    x, w = rng.standard_normal(xshape), rng.standard_normal(wshape)
    g = rng.standard_normal(naive_conv(x, w, strides, padding, dilation).shape)
    chunked, whole = cache_blocked_numpy(), BACKENDS["generic"]
    pads = [tf_pads(n, k, s, dilation, padding)
            for n, k, s in zip(xshape[1:-1], wshape[:-2], (strides,) * (len(xshape) - 2))]
    args = ((strides,) * len(pads), (dilation,) * len(pads), pads)
    y, cols = chunked.conv_with_columns(x, w, *args)
    assert cols is None
    np.testing.assert_allclose(y, whole.conv(x, w, *args), rtol=1e-12, atol=1e-12)
    for input_grad in (True, False):
        got = chunked.conv_backward(g, x, w, *args, input_grad=input_grad)
        want = whole.conv_backward(g, x, w, *args, input_grad=input_grad)
        for a, b in zip(got, want):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    check_gradients(lambda a, b: ops.conv(a, b, strides, padding, dilation_rate=dilation), x, w, backend=chunked)


def test_training_steps_on_the_cache_blocked_backend_match_whole_batches():
    """Two training steps on different batches: chunked im2col, reused chunk buffers and blocked
    bias/relu gradients give the weights the whole-batch backend gives."""
    batches = [(rng.standard_normal((5, 9, 8, 3)).astype("float32"), rng.integers(0, 3, 5)) for _ in range(2)]
    weights = []
    for backend in (cache_blocked_numpy(), BACKENDS["generic"]):
        with gk.backend.use(backend):
            gk.random.set_seed(1)
            inputs = gk.Input((9, 8, 3))
            x = gk.layers.Conv2D(4, 3, activation="relu")(inputs)
            x = gk.layers.Conv2D(5, 3, activation="relu", padding="same")(x)
            x = gk.layers.GlobalAveragePooling2D()(gk.layers.MaxPooling2D(2)(x))
            model = gk.Model(inputs, gk.layers.Dense(3)(x))
            model.compile(optimizer="rmsprop", loss=gk.losses.SparseCategoricalCrossentropy(from_logits=True))
            for x_batch, y_batch in batches:
                model.train_on_batch(x_batch, y_batch)
            weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("activation", ["relu", "linear"])
@pytest.mark.parametrize("with_bias", [True, False])
def test_bias_activation_backward_in_row_blocks(activation, with_bias):
    """The relu mask, masked gradient and bias gradient computed block by block equal the
    one-block results, also for a non-contiguous incoming gradient."""
    y = np.maximum(rng.standard_normal((3, 4, 5, 6)), 0)
    y[0, 0, 0] = 0   # relu's kink: no gradient through exact zeros
    grad = rng.standard_normal((6, 5, 4, 3)).transpose(3, 2, 1, 0)
    got = cache_blocked_numpy().bias_activation_backward(grad, y, activation, with_bias)
    mask = (y > 0) if activation == "relu" else 1.0
    np.testing.assert_array_equal(got[0], grad * mask)
    if with_bias:
        np.testing.assert_allclose(got[1], (grad * mask).sum(axis=(0, 1, 2)), rtol=1e-12)
    else:
        assert got[1] is None


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
@pytest.mark.parametrize("activation", ["relu", "linear"])
@pytest.mark.parametrize("with_bias", [True, False])
def test_bias_activation_values_and_gradients(activation, with_bias, backend):
    """The conv layers' fused ``activation(y + b)``; it works in y's buffer, so f gets a fresh
    product (a conv output) each call."""
    from graphkit.ops.conv import bias_activation
    y, b = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal(5)
    act = (lambda v: np.maximum(v, 0)) if activation == "relu" else (lambda v: v)

    def f(y, *b):
        return bias_activation(ops.multiply(y, 1.0), b[0] if b else None, activation)

    args = (y, b) if with_bias else (y,)
    np.testing.assert_allclose(run(f, *args, backend=backend), act(y + b if with_bias else y))
    check_gradients(f, *args, backend=backend)
    check_backward_dtypes(f, *args, backend=backend)


def test_conv_layer_bias_activation_matches_unfused():
    """Conv2D with relu/linear (fused bias + activation) equals conv + add + activation."""
    x = rng.standard_normal((2, 6, 6, 3)).astype("float32")
    for activation in ["relu", None, "tanh"]:
        layer = gk.layers.Conv2D(4, 3, activation=activation, bias_initializer="random_normal")
        with gk.GradientTape(persistent=True) as tape:
            xt = gk.constant(x)
            tape.watch(xt)
            y = layer(xt)
            z = ops.add(ops.conv(xt, layer.kernel), layer.bias)
            ref = z if activation is None else getattr(ops, activation)(z)
        np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-6, atol=1e-6)
        g = rng.standard_normal(y.shape).astype("float32")
        for a, b in zip(tape.gradient(y, [xt, layer.kernel, layer.bias], output_gradients=g),
                        tape.gradient(ref, [xt, layer.kernel, layer.bias], output_gradients=g)):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5)


def test_separable_conv_gradients():
    check_gradients(lambda x, d, p: ops.separable_conv(x, d, p, 2, "same"), rng.standard_normal((1, 5, 4, 2)),
                    rng.standard_normal((3, 3, 2, 2)), rng.standard_normal((1, 1, 4, 3)), backend=BACKENDS["generic"])


POOL_GRADS = [("valid", 2, None, (2, 4, 6, 2)), ("valid", 3, 2, (1, 7, 5, 2)), ("same", 3, 2, (2, 5, 6, 2)),
              ("same", 2, 1, (1, 4, 5, 2)), ("same", (3, 2), (1, 2), (1, 5, 5, 1)),
              # disjoint windows: tiling with uncovered tails, with gaps (stride > pool), padded
              ("valid", 3, None, (2, 7, 8, 2)), ("valid", 2, 3, (1, 8, 7, 2)), ("same", 2, None, (1, 5, 3, 2)),
              ("valid", (1, 3), (2, 3), (1, 5, 7, 1))]


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
@pytest.mark.parametrize("kind", ["max", "average"])
@pytest.mark.parametrize("padding,pool,strides,shape", POOL_GRADS)
def test_pool_gradients(padding, pool, strides, shape, kind, backend):
    f = ops.max_pool if kind == "max" else ops.average_pool
    check_gradients(lambda x: f(x, pool, strides, padding), distinct(shape), backend=backend)


@pytest.mark.parametrize("kind", ["max", "average"])
def test_pool1d_gradients(kind):
    f = ops.max_pool if kind == "max" else ops.average_pool
    check_gradients(lambda x: f(x, 3, 2, "same"), distinct((2, 8, 2)), backend=BACKENDS["numpy"])


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_float32_backward_stays_float32(backend):
    x = rng.standard_normal((2, 5, 5, 4))
    check_backward_dtypes(lambda a, w: ops.conv(a, w, 2, "same"), x, rng.standard_normal((3, 3, 2, 4)), backend=backend)
    check_backward_dtypes(lambda a, w: ops.depthwise_conv(a, w, 1, "same"), x, rng.standard_normal((3, 3, 4, 2)),
                          backend=backend)
    check_backward_dtypes(lambda a, w: ops.conv_transpose(a, w, 2, "same"), x, rng.standard_normal((3, 3, 2, 4)),
                          backend=backend)
    check_backward_dtypes(lambda a: ops.max_pool(a, 3, 2, "same"), x, backend=backend)
    check_backward_dtypes(lambda a: ops.average_pool(a, 3, 2, "same"), x, backend=backend)


# ------------------------------------------------------------------ PyTorch cross-check
def test_against_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = rng.standard_normal((2, 7, 6, 4))
    w = rng.standard_normal((3, 2, 2, 6))
    xt = torch.tensor(x.transpose(0, 3, 1, 2))
    wt = torch.tensor(w.transpose(3, 2, 0, 1))                    # (O, C/groups, kh, kw)
    for strides, dilation in [(1, 1), (2, 1), (1, 2)]:
        ours = run(lambda a, b: ops.conv(a, b, strides, "valid", dilation_rate=dilation), x, w,
                   backend=BACKENDS["numpy"])
        ref = F.conv2d(xt, wt, stride=strides, dilation=dilation, groups=2).numpy().transpose(0, 2, 3, 1)
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-10)
    # "same" = TF's asymmetric pads applied explicitly
    ours = run(lambda a, b: ops.conv(a, b, 2, "same"), x, w, backend=BACKENDS["numpy"])
    (hb, ha), (wb, wa) = tf_pads(7, 3, 2, 1, "same"), tf_pads(6, 2, 2, 1, "same")
    ref = F.conv2d(F.pad(xt, (wb, wa, hb, ha)), wt, stride=2, groups=2).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-10)
    # transposed conv, valid: torch weight layout (C_in, C_out, kh, kw)
    v = rng.standard_normal((2, 4, 5, 3))
    k = rng.standard_normal((3, 3, 4, 3))
    ours = run(lambda a, b: ops.conv_transpose(a, b, 2), v, k, backend=BACKENDS["numpy"])
    ref = F.conv_transpose2d(torch.tensor(v.transpose(0, 3, 1, 2)), torch.tensor(k.transpose(3, 2, 0, 1)),
                             stride=2).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-10)
    ours = run(lambda a: ops.max_pool(a, 3, 2), x, backend=BACKENDS["numpy"])
    np.testing.assert_allclose(ours, F.max_pool2d(xt, 3, 2).numpy().transpose(0, 2, 3, 1))
    ours = run(lambda a: ops.average_pool(a, 2), x, backend=BACKENDS["numpy"])
    np.testing.assert_allclose(ours, F.avg_pool2d(xt, 2).numpy().transpose(0, 2, 3, 1), rtol=1e-12)
