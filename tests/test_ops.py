"""Forward values of gk.ops against numpy/scipy/math references, dtype rules, ops that have no
gradient, and the errors raised for bad input. Runs on the generic backend and on NumpyOps."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

import graphkit as gk
from gradcheck import BACKENDS

ops = gk.ops
rng = np.random.default_rng(7)


@pytest.fixture(params=list(BACKENDS), autouse=True)
def backend(request):
    with gk.backend.use(BACKENDS[request.param]) as active:
        yield active


def f64(x):
    return gk.constant(x, dtype="float64")


def close(tensor, expected, rtol=1e-12, atol=1e-12):
    np.testing.assert_allclose(np.asarray(tensor), expected, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------- elementwise values
X = rng.uniform(-3, 3, size=(3, 4))
POS = rng.uniform(0.1, 3, size=(3, 4))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


UNARY = {  # name: (op, numpy reference, input)
    "negative": (ops.negative, np.negative, X), "abs": (ops.abs, np.abs, X), "exp": (ops.exp, np.exp, X),
    "expm1": (ops.expm1, np.expm1, X), "log": (ops.log, np.log, POS), "log1p": (ops.log1p, np.log1p, POS),
    "sqrt": (ops.sqrt, np.sqrt, POS), "rsqrt": (ops.rsqrt, lambda x: 1 / np.sqrt(x), POS),
    "square": (ops.square, np.square, X), "reciprocal": (ops.reciprocal, np.reciprocal, X),
    "sin": (ops.sin, np.sin, X), "cos": (ops.cos, np.cos, X),
    "relu": (ops.relu, lambda x: np.maximum(x, 0), X),
    "relu6": (ops.relu6, lambda x: np.minimum(np.maximum(x, 0), 6), X * 3),
    "sigmoid": (ops.sigmoid, _sigmoid, X * 3), "tanh": (ops.tanh, np.tanh, X),
    "softplus": (ops.softplus, lambda x: np.log1p(np.exp(x)), X * 3),
    "softsign": (ops.softsign, lambda x: x / (1 + np.abs(x)), X),
    "silu": (ops.silu, lambda x: x * _sigmoid(x), X), "swish": (ops.swish, lambda x: x * _sigmoid(x), X),
    "hard_sigmoid": (ops.hard_sigmoid, lambda x: np.minimum(np.maximum(x + 3, 0), 6) / 6, X * 2),
    "selu": (ops.selu, lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)), X),
    "elu": (ops.elu, lambda x: np.where(x > 0, x, np.expm1(x)), X),
    "leaky_relu": (ops.leaky_relu, lambda x: np.where(x > 0, x, 0.2 * x), X),  # Keras 3's default slope
    "gelu-approximate": (lambda x: ops.gelu(x, approximate=True),
                         lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))), X),
    "gelu-exact": (lambda x: ops.gelu(x, approximate=False), lambda x: x * 0.5 * (1 + special.erf(x / np.sqrt(2))), X),
    "erf": (ops.erf, special.erf, X), "exponential": (ops.exponential, np.exp, X), "linear": (ops.linear, lambda x: x, X),
    "identity": (ops.identity, lambda x: x, X), "sign": (ops.sign, np.sign, X), "floor": (ops.floor, np.floor, X),
    "ceil": (ops.ceil, np.ceil, X), "round": (ops.round, np.round, X),
}
# The generic erf is a float32-grade approximation (|error| < 1.2e-7); everything else is exact.
LOOSE = {"erf", "gelu-exact"}


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_values(name, backend):
    op, reference, x = UNARY[name]
    tolerance = 2e-7 if name in LOOSE and backend.name == "generic" else 1e-12
    y = op(f64(x))
    assert y.dtype == np.float64 and y.shape == x.shape
    close(y, reference(x), rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_float32_in_float32_out(name):
    op, reference, x = UNARY[name]
    y = op(gk.constant(x))
    assert y.dtype == np.float32
    close(y, reference(x.astype(np.float32).astype(np.float64)), rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("name", ["exp", "log1p", "sqrt", "sigmoid", "tanh", "softplus", "gelu-exact", "erf",
                                  "elu", "selu", "leaky_relu", "hard_sigmoid", "silu", "reciprocal", "sin"])
def test_real_valued_ops_turn_ints_into_float32(name):
    op, reference, _ = UNARY[name]
    ints = np.array([[1, 2], [4, 3]])
    y = op(gk.constant(ints))
    assert y.dtype == np.float32
    close(y, reference(ints.astype(np.float64)), rtol=1e-6, atol=1e-6)


def test_erf_matches_math_erf(backend):
    xs = np.linspace(-5, 5, 201)
    expected = np.array([math.erf(v) for v in xs])
    tolerance = 1.2e-7 if backend.name == "generic" else 1e-15
    close(ops.erf(f64(xs)), expected, rtol=0, atol=tolerance)
    assert ops.erf(gk.constant(0.0)).numpy() == 0
    close(ops.erf(gk.constant([-np.inf, np.inf])), [-1, 1], atol=0)


def test_gelu_exact_and_approximate():
    xs = np.linspace(-4, 4, 81)
    exact = np.array([v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in xs])
    approx = 0.5 * xs * (1 + np.tanh(math.sqrt(2 / math.pi) * (xs + 0.044715 * xs ** 3)))
    close(ops.gelu(f64(xs), approximate=False), exact, rtol=0, atol=2e-7)
    close(ops.gelu(f64(xs), approximate=True), approx, rtol=0, atol=1e-12)
    close(ops.gelu(f64(xs)), approx, rtol=0, atol=1e-12)  # keras.ops.gelu defaults to the tanh form
    gap = np.abs(np.asarray(ops.gelu(f64(xs), approximate=False)) - np.asarray(ops.gelu(f64(xs), approximate=True)))
    assert 1e-5 < gap.max() < 1e-3


def test_softmax_is_stable_for_large_inputs():
    big = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1001.0, -1002.0]])
    reference = np.exp([0.0, 1.0, 2.0]) / np.exp([0.0, 1.0, 2.0]).sum()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for x in (gk.constant(big), f64(big)):
            close(ops.softmax(x), [reference, reference[::-1]], rtol=1e-6, atol=0)
            close(ops.log_softmax(x), np.log([reference, reference[::-1]]), rtol=1e-6, atol=0)
            close(ops.logsumexp(x, axis=1), [1002 + np.log(np.exp([-2.0, -1, 0]).sum()), -1000 + np.log(
                np.exp([0.0, -1, -2]).sum())], rtol=1e-7, atol=0)
            close(ops.sigmoid(x), _sigmoid(np.clip(big, -700, 700)), atol=1e-30)
            close(ops.softplus(x), np.maximum(big, 0), atol=0)
            close(ops.elu(x), np.where(big > 0, big, -1.0), atol=0)
            close(ops.selu(x), np.where(big > 0, 1.0507009873554805 * big, -1.0507009873554805 * 1.6732632423543772),
                  rtol=1e-7)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_and_log_softmax_values(axis):
    x = rng.normal(size=(3, 4))
    expected = np.exp(x) / np.exp(x).sum(axis=axis, keepdims=True)
    close(ops.softmax(f64(x), axis=axis), expected)
    close(ops.log_softmax(f64(x), axis=axis), np.log(expected))
    close(ops.sum(ops.softmax(gk.constant(x), axis=axis), axis=axis), np.ones(4 if axis == 0 else 3), rtol=1e-6)


def test_leaky_relu_and_elu_parameters():
    x = np.array([-2.0, -0.5, 0.0, 1.5])
    close(ops.leaky_relu(f64(x), negative_slope=0.01), np.where(x > 0, x, 0.01 * x))
    close(ops.elu(f64(x), alpha=0.5), np.where(x > 0, x, 0.5 * np.expm1(x)))
    close(ops.relu6(f64([-1.0, 3.0, 6.0, 7.0])), [0, 3, 6, 6])
    close(ops.hard_sigmoid(f64([-4.0, -3.0, 0.0, 3.0, 4.0])), [0, 0, 0.5, 1, 1])


# ------------------------------------------------------------------------- binary values
BINARY = {
    "add": (ops.add, np.add), "subtract": (ops.subtract, np.subtract), "multiply": (ops.multiply, np.multiply),
    "divide": (ops.divide, np.divide), "true_divide": (ops.true_divide, np.true_divide),
    "power": (ops.power, np.power), "maximum": (ops.maximum, np.maximum), "minimum": (ops.minimum, np.minimum),
    "floor_divide": (ops.floor_divide, np.floor_divide), "mod": (ops.mod, np.mod),
    "equal": (ops.equal, np.equal), "not_equal": (ops.not_equal, np.not_equal), "less": (ops.less, np.less),
    "less_equal": (ops.less_equal, np.less_equal), "greater": (ops.greater, np.greater),
    "greater_equal": (ops.greater_equal, np.greater_equal),
}


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("sa, sb", [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (2, 2))])
def test_binary_values(name, sa, sb):
    op, reference = BINARY[name]
    a = np.round(rng.uniform(0.5, 3, size=sa), 1)
    b = np.round(rng.uniform(0.5, 3, size=sb), 1)
    y = op(f64(a), f64(b))
    assert y.shape == np.broadcast_shapes(sa, sb)
    close(y, reference(a, b))


def test_logical_ops():
    a, b = np.array([True, True, False, False]), np.array([True, False, True, False])
    close(ops.logical_and(a, b), a & b)
    close(ops.logical_or(a, b), a | b)
    close(ops.logical_xor(a, b), a ^ b)
    close(ops.logical_not(a), ~a)
    close(ops.isnan(gk.constant([1.0, np.nan])), [False, True])
    close(ops.isfinite(gk.constant([1.0, np.inf, np.nan])), [True, False, False])
    t = gk.constant(a)
    close(~t, ~a)
    close(t & b, a & b)


def test_operators_match_ops():
    a, b = rng.uniform(1, 2, (2, 3)), rng.uniform(1, 2, (2, 3))
    x, y = f64(a), f64(b)
    close(x + y, a + b)
    close(x - y, a - b)
    close(x * y, a * b)
    close(x / y, a / b)
    close(x ** y, a ** b)
    close(x // y, a // b)
    close(x % y, a % b)
    close(-x, -a)
    close(abs(-x), a)
    close(x @ y.T, a @ b.T)
    close(2 - x, 2 - a)
    close(2 / x, 2 / a)
    close(2 ** x, 2 ** a)
    close(x < y, a < b)
    close(x >= 1.5, a >= 1.5)
    close(x == x, np.ones((2, 3), bool))


# --------------------------------------------------------------------------- reductions
AXES = [None, 0, 1, -1, (0, 2), (2, 0), (0, 1, 2)]
REDUCTIONS = {
    "sum": (ops.sum, np.sum), "mean": (ops.mean, np.mean), "max": (ops.max, np.max), "min": (ops.min, np.min),
    "var": (ops.var, np.var), "std": (ops.std, np.std), "logsumexp": (ops.logsumexp, special.logsumexp),
}


@pytest.mark.parametrize("name", list(REDUCTIONS))
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduction_values(name, axis, keepdims):
    op, reference = REDUCTIONS[name]
    x = rng.normal(size=(2, 3, 4))
    y = op(f64(x), axis=axis, keepdims=keepdims)
    expected = reference(x, axis=axis, keepdims=keepdims)
    assert y.shape == np.shape(expected)
    close(y, expected)


def test_reduction_methods_and_scalars():
    x = rng.normal(size=(3, 4))
    t = f64(x)
    close(t.sum(), x.sum())
    close(t.mean(axis=0), x.mean(axis=0))
    close(t.max(axis=1, keepdims=True), x.max(axis=1, keepdims=True))
    close(t.min(axis=-1), x.min(axis=-1))
    close(ops.sum(f64(2.5)), 2.5)
    assert ops.sum(gk.constant([[1, 2], [3, 4]])).dtype == np.int32
    assert ops.sum(gk.constant([[1, 2], [3, 4]]), axis=0).tolist() == [4, 6]
    assert ops.sum(gk.constant([True, True, False])).item() == 2
    mean = ops.mean(gk.constant([1, 2]))
    assert mean.dtype == np.float32 and mean.item() == 1.5
    assert ops.var(gk.constant([1, 3])).dtype == np.float32


@pytest.mark.parametrize("op, reference", [(ops.argmax, np.argmax), (ops.argmin, np.argmin)])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_argmax_argmin(op, reference, axis, keepdims):
    x = rng.normal(size=(3, 4))
    y = op(gk.constant(x), axis=axis, keepdims=keepdims)
    expected = reference(x.astype(np.float32), axis=axis, keepdims=keepdims)
    assert y.dtype.kind == "i" and y.shape == expected.shape
    np.testing.assert_array_equal(y.numpy(), expected)


def test_argmax_default_axis_is_last():
    x = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 1.0]])
    assert ops.argmax(x).tolist() == [1, 0]
    assert ops.argmin(x).tolist() == [0, 1]


# --------------------------------------------------------------------- array manipulation
def test_shape_ops_match_numpy():
    x = rng.normal(size=(2, 3, 4))
    t = f64(x)
    close(ops.reshape(t, (4, -1)), x.reshape(4, -1))
    close(t.reshape(6, 4), x.reshape(6, 4))
    close(ops.flatten(t), x.ravel())
    close(ops.transpose(t), x.transpose())
    close(ops.transpose(t, (1, 2, 0)), x.transpose(1, 2, 0))
    close(ops.transpose(t, (-1, 0, 1)), x.transpose(2, 0, 1))
    close(t.T, x.T)
    close(ops.expand_dims(t, -1), x[..., None])
    close(ops.expand_dims(t, 1), x[:, None])
    close(ops.squeeze(f64(x[:, :1, None]), axis=(1, 2)), x[:, 0])
    close(ops.squeeze(f64(x[:1, :, None])), x[0])
    close(ops.broadcast_to(f64(x[0, 0]), (2, 4)), np.broadcast_to(x[0, 0], (2, 4)))
    close(ops.tile(t, (2, 1, 1)), np.tile(x, (2, 1, 1)))
    close(ops.tile(f64(x[0, 0]), 3), np.tile(x[0, 0], 3))
    close(ops.tile(f64(x[0]), (2, 1, 2)), np.tile(x[0], (2, 1, 2)))
    assert ops.shape(t) == (2, 3, 4)


def test_join_and_split_match_numpy():
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    close(ops.concatenate([f64(a), f64(b)], axis=0), np.concatenate([a, b], axis=0))
    close(ops.concat([f64(a), f64(b)], axis=-1), np.concatenate([a, b], axis=-1))
    close(ops.stack([f64(a), f64(b)], axis=1), np.stack([a, b], axis=1))
    close(ops.stack([f64(a), f64(b)], axis=-1), np.stack([a, b], axis=-1))
    x = rng.normal(size=(2, 6))
    for got, want in zip(ops.split(f64(x), 3, axis=1), np.split(x, 3, axis=1)):
        close(got, want)
    pieces = ops.split(f64(x), [1, 4], axis=-1)
    assert [p.shape for p in pieces] == [(2, 1), (2, 3), (2, 2)]
    rows = ops.unstack(f64(x))
    assert len(rows) == 2 and rows[1].shape == (6,)
    close(rows[1], x[1])
    cols = ops.unstack(f64(x), axis=1)
    assert len(cols) == 6 and cols[4].shape == (2,)


def test_indexing_matches_numpy():
    x = rng.normal(size=(4, 5))
    t = f64(x)
    mask = x > 0
    for index in (1, -1, (slice(None), 2), slice(None, None, -1), (slice(None, None, -2), slice(1, 4)),
                  [0, 0, 3], (slice(None), [4, 4, 0]), ([0, 1], [2, 2]), (Ellipsis, None, 1)):
        close(t[index], x[index])
    close(t[mask], x[mask])
    close(t[gk.constant(mask)], x[mask])
    close(t[gk.constant([3, 3, 1])], x[[3, 3, 1]])
    close(ops.take(t, [3, 3, 0]), np.take(x, [3, 3, 0], axis=0))
    close(ops.take(t, [[1, -1], [0, 0]], axis=1), np.take(x, [[1, -1], [0, 0]], axis=1))
    close(ops.gather(t, [2]), x[[2]])


def test_selection_ops_match_numpy():
    x, y = rng.normal(size=(3, 4)), rng.normal(size=(4,))
    cond = x > 0
    close(ops.where(cond, f64(x), f64(y)), np.where(cond, x, y))
    close(ops.where(cond, f64(x), 0.0), np.where(cond, x, 0.0))
    close(ops.clip(f64(x), -0.5, 0.5), np.clip(x, -0.5, 0.5))
    close(ops.pad(f64(x), [(1, 0), (2, 1)]), np.pad(x, [(1, 0), (2, 1)]))
    close(ops.pad(f64(x), [(0, 1), (0, 0)], constant_values=-3.0), np.pad(x, [(0, 1), (0, 0)], constant_values=-3.0))
    close(ops.one_hot([2, 0, 1], 3), np.eye(3)[[2, 0, 1]])
    close(ops.one_hot([[2, 0], [1, 1]], 4, axis=0), np.moveaxis(np.eye(4)[[[2, 0], [1, 1]]], -1, 0))
    assert ops.one_hot([1], 2).dtype == np.float32
    assert ops.one_hot([1], 2, dtype="int32").dtype == np.int32
    close(ops.stop_gradient(f64(x)), x)
    clipped = ops.clip(gk.constant([1, 5, 9]), 2, 6)
    assert clipped.dtype == np.int32 and clipped.tolist() == [2, 5, 6]


@pytest.mark.parametrize("sa, sb", [((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((2, 3), (3, 4)),
                                    ((5, 2, 3), (3, 4)), ((2, 1, 2, 3), (4, 3, 2)), ((3,), (2, 3, 4))])
def test_matmul_matches_numpy(sa, sb):
    a, b = rng.normal(size=sa), rng.normal(size=sb)
    y = ops.matmul(f64(a), f64(b))
    assert y.shape == np.matmul(a, b).shape
    close(y, np.matmul(a, b), rtol=1e-10)
    assert gk.matmul(gk.constant(a), gk.constant(b)).dtype == np.float32


@pytest.mark.parametrize("shape", [(3,), (4, 3), (2, 4, 3)])
def test_dense_matches_numpy(shape):
    x, w, b = rng.normal(size=shape), rng.normal(size=(3, 5)), rng.normal(size=(5,))
    close(ops.dense(f64(x), f64(w), f64(b)), x @ w + b, rtol=1e-10)
    close(ops.dense(f64(x), f64(w)), x @ w, rtol=1e-10)
    assert ops.dense(gk.constant(x), gk.constant(w), gk.constant(b)).dtype == np.float32


# ----------------------------------------------------------------------------- dtype rules
def test_constant_dtypes():
    assert gk.constant(1.5).dtype == np.float32
    assert gk.constant([1.0, 2.0]).dtype == np.float32          # Python float list
    assert gk.constant([[1, 2.5]]).dtype == np.float32
    assert gk.constant(3).dtype == np.int32
    assert gk.constant([1, 2]).dtype == np.int32
    assert gk.constant(True).dtype == np.bool_
    assert gk.constant(np.ones(3)).dtype == np.float32         # float64 numpy -> float32
    assert gk.constant(np.float64(2.0)).dtype == np.float32
    assert gk.constant(np.ones(3), dtype="float64").dtype == np.float64
    assert gk.constant([1.0], dtype=gk.float64).dtype == np.float64
    assert gk.constant(np.ones(3, np.float16)).dtype == np.float16
    assert gk.constant(np.ones(3, np.int64)).dtype == np.int64
    assert gk.Tensor([0.5]).dtype == np.float32


def test_operand_dtypes():
    x = gk.constant([1.0, 2.0])
    i = gk.constant([1, 2])
    assert (x * 2).dtype == np.float32 and (2 * x).dtype == np.float32
    assert (x + 1.5).dtype == np.float32 and (x / 2).dtype == np.float32 and (x ** 2).dtype == np.float32
    assert (x * np.float64(2.0)).dtype == np.float32 and (x + np.ones(2)).dtype == np.float32
    assert (i * 0.5).dtype == np.float32 and (0.5 * i).dtype == np.float32
    assert (i * np.float64(0.5)).dtype == np.float32 and (i + np.array([0.5, 1.5])).dtype == np.float32
    assert (i * 2).dtype == np.int32 and (i + i).dtype == np.int32
    assert (i / 2).dtype == np.float32 and (i / i).dtype == np.float32
    close(i / 2, [0.5, 1.0])
    assert (i * x).dtype == np.float32 and (x - i).dtype == np.float32
    assert (x * f64([1.0, 2.0])).dtype == np.float64          # two floats promote
    assert (gk.constant([1.0], dtype="float16") * 2.5).dtype == np.float16
    assert ops.add(1, 2.5).dtype == np.float32
    assert ops.where([True, False], i, 0.5).dtype == np.float32
    assert ops.maximum(i, 0.5).dtype == np.float32
    assert ops.concatenate([i, x]).dtype == np.float32
    assert ops.stack([x, i]).dtype == np.float32
    assert ops.concatenate([i, [3, 4]]).dtype == np.int32
    close(ops.concatenate([i, x]), [1, 2, 1, 2])


def test_cast():
    x = gk.constant([1.7, -2.2])
    assert ops.cast(x, "int32").tolist() == [1, -2]
    assert ops.cast(x, gk.float64).dtype == np.float64
    assert ops.cast(x, "float32") is x
    assert x.astype("float16").dtype == np.float16
    assert gk.cast([1, 2], "float32").dtype == np.float32


# ----------------------------------------------------------------- no gradient through
NON_DIFFERENTIABLE = {
    "greater": lambda x: ops.greater(x, 0.0), "less_equal": lambda x: x <= 0.5, "equal": lambda x: ops.equal(x, x),
    "not_equal": lambda x: x != 1.0, "argmax": lambda x: ops.argmax(x, axis=-1),
    "argmin-keepdims": lambda x: ops.argmin(x, axis=0, keepdims=True),
    "one_hot": lambda x: ops.one_hot(ops.argmax(x), 4), "floor": ops.floor, "ceil": ops.ceil, "round": ops.round,
    "sign": ops.sign, "stop_gradient": ops.stop_gradient, "floor_divide": lambda x: x // 0.7,
    "isnan": ops.isnan, "cast-to-int": lambda x: ops.cast(x, "int32"),
    "cast-of-comparison": lambda x: ops.cast(x > 0, "float32") * 3.0,
}


@pytest.mark.parametrize("name", list(NON_DIFFERENTIABLE))
def test_non_differentiable_ops_give_no_gradient(name):
    x = gk.constant(rng.normal(size=(3, 4)))
    with gk.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = NON_DIFFERENTIABLE[name](x)
        z = ops.cast(y, "float32") * ops.sum(ops.stop_gradient(x))
    assert tape.gradient(y, x) is None
    assert tape.gradient(z, x) is None
    zeros = tape.gradient(y, x, unconnected_gradients="zero")
    assert zeros.shape == x.shape and not np.any(zeros.numpy())


def test_non_differentiable_branch_leaves_the_rest_intact():
    x = gk.constant([[-1.0, 2.0, 0.5], [3.0, -2.0, 1.0]])
    with gk.GradientTape() as tape:
        tape.watch(x)
        mask = ops.one_hot(ops.argmax(x, axis=1), 3)        # no gradient through the mask...
        y = ops.sum(mask * x) + ops.sum(ops.stop_gradient(x) * x)
    g = tape.gradient(y, x)                                  # ...only through the products
    close(g, mask.numpy() + x.numpy())


# ---------------------------------------------------------------------------- clear errors
def test_reshape_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 2\)"):
        ops.reshape(gk.zeros((2, 3)), (4, 2))


def test_concatenate_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 4\)"):
        ops.concatenate([gk.zeros((2, 3)), gk.zeros((2, 4))], axis=0)
    with pytest.raises(ValueError, match="concatenate"):
        ops.concatenate([gk.zeros((2, 3)), gk.zeros((3,))], axis=0)
    with pytest.raises(ValueError):
        ops.concatenate([])
    with pytest.raises(ValueError, match="one shape"):
        ops.stack([gk.zeros((2, 3)), gk.zeros((3, 2))])


def test_matmul_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 5\)"):
        ops.matmul(gk.zeros((2, 3)), gk.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        ops.matmul(gk.zeros(3), gk.zeros(4))
    with pytest.raises(ValueError, match=r"\(2, 2, 3\).*\(3, 3, 4\).*batch"):
        ops.matmul(gk.zeros((2, 2, 3)), gk.zeros((3, 3, 4)))
    with pytest.raises(ValueError, match="rank"):
        ops.matmul(gk.zeros(()), gk.zeros(3))
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(2, 5\)"):
        ops.dense(gk.zeros((4, 3)), gk.zeros((2, 5)))
    with pytest.raises(ValueError, match="bias"):
        ops.dense(gk.zeros((4, 3)), gk.zeros((3, 5)), gk.zeros(4))


def test_take_out_of_range():
    x = gk.zeros((3, 4))
    with pytest.raises(IndexError, match="length 3"):
        ops.take(x, [0, 3])
    with pytest.raises(IndexError, match="axis 1 of length 4"):
        ops.take(x, [-5], axis=1)
    with pytest.raises(TypeError, match="integer"):
        ops.take(x, [0.5])


def test_one_hot_out_of_range():
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        ops.one_hot([0, 3], 3)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        ops.one_hot([-1, 1], 3)
    with pytest.raises(TypeError, match="integer"):
        ops.one_hot([0.0, 1.0], 3)


def test_other_bad_arguments():
    with pytest.raises(ValueError, match="equal sections"):
        ops.split(gk.zeros((5,)), 2)
    with pytest.raises(ValueError, match="squeeze"):
        ops.squeeze(gk.zeros((2, 1)), axis=0)
    with pytest.raises(ValueError, match="x_min"):
        ops.clip(gk.zeros(3), 1.0, 0.0)
    with pytest.raises(ValueError, match="pad_width"):
        ops.pad(gk.zeros((2, 2)), [(1, 1)])


@pytest.mark.parametrize("call", [
    lambda x: ops.sum(x, axis=2), lambda x: ops.mean(x, axis=-3), lambda x: ops.max(x, axis=(0, 5)),
    lambda x: ops.transpose(x, (0, 2)), lambda x: ops.squeeze(x, axis=3), lambda x: ops.expand_dims(x, 3),
    lambda x: ops.expand_dims(x, -4), lambda x: ops.concatenate([x, x], axis=2), lambda x: ops.split(x, 1, axis=2),
    lambda x: ops.take(x, [0], axis=-3), lambda x: ops.stack([x, x], axis=4),
], ids=["sum", "mean", "max", "transpose", "squeeze", "expand_dims", "expand_dims-neg", "concatenate", "split",
        "take", "stack"])
def test_out_of_range_axis_is_an_error_not_wrapped(call):
    with pytest.raises(ValueError, match="axis"):
        call(gk.zeros((2, 1)))


def test_repeated_reduction_axis_and_bad_split_indices():
    with pytest.raises(ValueError, match="repeated"):
        ops.sum(gk.zeros((2, 3)), axis=(1, -1))
    with pytest.raises(ValueError, match="increasing"):
        ops.split(gk.zeros((5,)), [3, 1])
    with pytest.raises(ValueError, match="increasing"):
        ops.split(gk.zeros((5,)), [7])
    assert [p.shape for p in ops.split(gk.zeros((5,)), [-2])] == [(3,), (2,)]
