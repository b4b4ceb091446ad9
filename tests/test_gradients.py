"""Every differentiable primitive in gk.ops, checked against float64 finite differences on the
generic backend (``Ops(numpy)``) and on ``NumpyOps``, over shapes and broadcasting cases."""
from __future__ import annotations

import numpy as np
import pytest

import graphkit as gk
from gradcheck import BACKENDS, check_backward_dtypes, check_gradients

ops = gk.ops
rng = np.random.default_rng(20240601)


def uniform(shape=(3, 4), low=-2.0, high=2.0, avoid=(), margin=0.1):
    """Random values in [low, high), each at least ``margin`` away from the points in ``avoid``
    (the kinks of relu-like ops) so finite differences never straddle them."""
    x = rng.uniform(low, high, size=shape)
    for point in avoid:
        near = np.abs(x - point) < margin
        x = np.where(near, x + np.sign(x - point + 1e-12) * 2 * margin, x)
    return x


def positive(shape=(3, 4), low=0.5, high=2.0):
    return rng.uniform(low, high, size=shape)


def nonzero(shape=(3, 4)):
    return uniform(shape, avoid=(0.0,), margin=0.3)


def distinct(shape):
    """Values pairwise at least 0.05 apart (no ties for max/min/sort-like ops)."""
    size = int(np.prod(shape, dtype=int))
    return (rng.permutation(size) * 0.1 - size * 0.05 + rng.uniform(0, 0.05, size)).reshape(shape)


CASES = []


def case(id, f, *inputs, **kwargs):
    CASES.append(pytest.param(f, inputs, kwargs, id=id))


# ------------------------------------------------------------------ elementwise binary
BROADCASTS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((4,), (3, 4)), ((2, 3, 4), (3, 1)), ((1, 4), (3, 1)),
              ((), (3,)), ((2, 1, 4), (1, 3, 1))]
for sa, sb in BROADCASTS:
    tag = f"{sa}-{sb}"
    case(f"add{tag}", ops.add, uniform(sa), uniform(sb))
    case(f"subtract{tag}", ops.subtract, uniform(sa), uniform(sb))
    case(f"multiply{tag}", ops.multiply, uniform(sa), uniform(sb))
    case(f"divide{tag}", ops.divide, uniform(sa), nonzero(sb))
    case(f"power{tag}", ops.power, positive(sa), uniform(sb))
    size_a = int(np.prod(sa, dtype=int))
    both = distinct((size_a + int(np.prod(sb, dtype=int)),))  # no a/b ties anywhere
    a, b = both[:size_a].reshape(sa), both[size_a:].reshape(sb)
    case(f"maximum{tag}", ops.maximum, a, b)
    case(f"minimum{tag}", ops.minimum, a, b)

case("operators", lambda a, b: (a + b) * a - b / (a * a + 1) - (-a) + ops.sum(a @ b.T, axis=1, keepdims=True), uniform(), uniform())
case("scalar-operands", lambda a: 2 * a + a * 3.5 - 1 - (2 - a) + a / 4 + 1 / a + a ** 3 + 2 ** a, nonzero())
case("power-scalar-exponent", lambda a: a ** 0.5 + ops.power(a, 2) + a ** -1.5, positive())
case("power-negative-base-int-exponent", lambda a: a ** 3 + a ** 2, uniform(), wrt=[0])

# ------------------------------------------------------------------- elementwise unary
UNARY = {
    "negative": (ops.negative, uniform), "abs": (ops.abs, nonzero), "exp": (ops.exp, uniform),
    "expm1": (ops.expm1, uniform), "log": (ops.log, positive),
    "log1p": (ops.log1p, lambda s: uniform(s, -0.7, 2.0)), "sqrt": (ops.sqrt, positive),
    "rsqrt": (ops.rsqrt, positive), "square": (ops.square, uniform), "reciprocal": (ops.reciprocal, nonzero),
    "sin": (ops.sin, lambda s: uniform(s, -4, 4)), "cos": (ops.cos, lambda s: uniform(s, -4, 4)),
    "erf": (ops.erf, lambda s: uniform(s, -3, 3)), "relu": (ops.relu, nonzero),
    "relu6": (ops.relu6, lambda s: uniform(s, -3, 9, avoid=(0.0, 6.0))),
    "sigmoid": (ops.sigmoid, lambda s: uniform(s, -6, 6)), "tanh": (ops.tanh, lambda s: uniform(s, -3, 3)),
    "softplus": (ops.softplus, lambda s: uniform(s, -6, 6)), "softsign": (ops.softsign, nonzero),
    "silu": (ops.silu, lambda s: uniform(s, -5, 5)),
    "hard_sigmoid": (ops.hard_sigmoid, lambda s: uniform(s, -5, 5, avoid=(-3.0, 3.0))),
    "selu": (ops.selu, nonzero), "elu": (ops.elu, nonzero),
    "elu-alpha": (lambda x: ops.elu(x, alpha=0.5), nonzero),
    "leaky_relu": (ops.leaky_relu, nonzero),
    "leaky_relu-slope": (lambda x: ops.leaky_relu(x, negative_slope=0.01), nonzero),
    "gelu-approximate": (lambda x: ops.gelu(x, approximate=True), lambda s: uniform(s, -4, 4)),
    "gelu-exact": (lambda x: ops.gelu(x, approximate=False), lambda s: uniform(s, -4, 4)),
    "identity": (ops.identity, uniform), "linear": (ops.linear, uniform),
}
for name, (fn, make) in UNARY.items():
    for shape in [(), (7,), (2, 3, 4)]:
        case(f"{name}{shape}", fn, make(shape))

for fn in (ops.softmax, ops.log_softmax):
    case(f"{fn.__name__}-1d", fn, uniform((5,)))
    for axis in (-1, 0, 1, 2):
        case(f"{fn.__name__}-axis{axis}", lambda x, fn=fn, axis=axis: fn(x, axis=axis), uniform((2, 3, 4), -3, 3))

# ---------------------------------------------------------------------- reductions
REDUCTIONS = [ops.sum, ops.mean, ops.max, ops.min, ops.logsumexp, ops.var, ops.std]
for fn in REDUCTIONS:
    for axis in (None, 0, -1, 1, (0, 2), (2, 0), (0, 1, 2)):
        for keepdims in (False, True):
            case(f"{fn.__name__}-axis{axis}-keep{keepdims}",
                 lambda x, fn=fn, axis=axis, keepdims=keepdims: fn(x, axis=axis, keepdims=keepdims),
                 distinct((2, 3, 4)))
    case(f"{fn.__name__}-1d", fn, distinct((5,)))
    if fn not in (ops.var, ops.std):  # a 0-d input has zero variance: std is not differentiable there
        case(f"{fn.__name__}-0d", fn, uniform(()))
case("tensor-methods", lambda x: x.sum(axis=0) + x.mean(axis=0) * x.max(axis=0) - x.min(axis=0), distinct((3, 4)))

# --------------------------------------------------------------------------- shapes
case("reshape", lambda x: ops.reshape(x, (6, 4)), uniform((2, 3, 4)))
case("reshape-infer", lambda x: ops.reshape(x, (4, -1, 2)), uniform((2, 3, 4)))
case("reshape-flat", lambda x: ops.reshape(x, (-1,)), uniform((2, 3, 4)))
case("reshape-method", lambda x: x.reshape(3, 8), uniform((2, 3, 4)))
case("reshape-scalar", lambda x: ops.reshape(x, (1, 1)), uniform(()))
case("flatten", ops.flatten, uniform((2, 3, 4)))
for axes in (None, (1, 0, 2), (2, 0, 1), (-1, 0, 1)):
    case(f"transpose{axes}", lambda x, axes=axes: ops.transpose(x, axes), uniform((2, 3, 4)))
case("transpose-T", lambda x: x.T, uniform((3, 4)))
for axis in (0, 1, -1, -2):
    case(f"expand_dims{axis}", lambda x, axis=axis: ops.expand_dims(x, axis), uniform((3, 4)))
for axis in (None, 0, (0, 3), -1):
    case(f"squeeze{axis}", lambda x, axis=axis: ops.squeeze(x, axis), uniform((1, 3, 4, 1)))
for src, dst in (((3,), (2, 3)), ((2, 1), (4, 2, 3)), ((), (2, 2)), ((1, 3), (1, 3))):
    case(f"broadcast_to{src}-{dst}", lambda x, dst=dst: ops.broadcast_to(x, dst), uniform(src))
for shape, reps in (((2, 3), (2, 1)), ((2, 3), (3,)), ((2, 3), (2, 1, 2)), ((2, 3, 2), (2, 3)), ((3,), (1,))):
    case(f"tile{shape}x{reps}", lambda x, reps=reps: ops.tile(x, reps), uniform(shape))

# ------------------------------------------------------------------- join and split
case("concatenate-axis0", lambda a, b, c: ops.concatenate([a, b, c], axis=0),
     uniform((2, 3)), uniform((1, 3)), uniform((3, 3)))
case("concatenate-axis1", lambda a, b: ops.concatenate([a, b], axis=1), uniform((2, 3)), uniform((2, 2)))
case("concatenate-axis-1", lambda a, b: ops.concatenate([a, b], axis=-1), uniform((2, 2, 3)), uniform((2, 2, 1)))
case("concatenate-same-tensor", lambda a: ops.concatenate([a, a * 2, a], axis=0), uniform((2, 3)))
for axis in (0, 1, -1):
    case(f"stack-axis{axis}", lambda a, b, c, axis=axis: ops.stack([a, b, c], axis=axis),
         uniform((2, 3)), uniform((2, 3)), uniform((2, 3)))
case("split-sections", lambda x: ops.split(x, 3, axis=1), uniform((2, 6)))
case("split-indices", lambda x: ops.split(x, [1, 3], axis=-1), uniform((2, 3, 5)))
case("split-some-outputs", lambda x: ops.split(x, 3, axis=1)[1], uniform((2, 6)))
case("split-first-and-last", lambda x: (lambda p: [p[0], p[2] * 2])(ops.split(x, [2, 3], axis=0)), uniform((5, 2)))
case("split-negative-index", lambda x: ops.split(x, [-2], axis=1)[1], uniform((2, 5)))
case("split-fan-in", lambda x: (lambda p: p[0] * p[1])(ops.split(x, 2)), uniform((4, 3)))
case("unstack-axis0", ops.unstack, uniform((3, 4)))
case("unstack-axis1", lambda x: ops.unstack(x, axis=1), uniform((2, 3, 4)))
case("unstack-some", lambda x: ops.unstack(x, axis=-1)[2], uniform((2, 3)))

# ------------------------------------------------------------------------ indexing
INDEXES = {
    "int": 1, "negative-int": -1, "slice": (slice(None), slice(1, 3)), "negative-step": slice(None, None, -1),
    "negative-step-2": (slice(None, None, -2), 1), "ellipsis-newaxis": (Ellipsis, None, 2),
    "repeated-rows": [0, 2, 0, 0], "repeated-cols": (slice(None), [1, 1, 3]),
    "2d-int-array": np.array([[0, 1], [1, 1]]), "pairs": ([0, 1, 1], [2, 2, 0]),
    "slice-and-array": (slice(1, None), [0, 0, 3]), "negative-array": [-1, 0, -1],
    "scalar-pair": (1, 2),
}
for name, index in INDEXES.items():
    case(f"getitem-{name}", lambda x, index=index: x[index], uniform((3, 4)))
case("getitem-bool-mask", lambda x, m: x[m], uniform((3, 4)), np.array([[1, 0, 1, 1], [0, 0, 0, 1], [1, 1, 0, 0]], bool))
case("getitem-bool-rows", lambda x, m: x[m], uniform((3, 4)), np.array([True, False, True]))
case("getitem-int-tensor", lambda x, i: x[i], uniform((4, 3)), np.array([3, 3, 1], np.int32))
case("getitem-3d", lambda x: x[1:, ::-1, [0, 0]], uniform((3, 4, 2)))
case("getitem-ops", lambda x: ops.getitem(x, (slice(None), 0)), uniform((3, 4)))

case("take-repeated", lambda x, i: ops.take(x, i), uniform((4, 3)), np.array([0, 2, 2, 0, 2]))
case("take-axis1", lambda x, i: ops.take(x, i, axis=1), uniform((2, 4, 3)), np.array([3, 3, 0]))
case("take-axis-last", lambda x, i: ops.take(x, i, axis=-1), uniform((2, 4)), np.array([[1, 1], [0, 3]]))
case("take-negative", lambda x, i: ops.take(x, i), uniform((4, 2)), np.array([-1, 0, -1]))
case("take-2d-indices-axis1", lambda x, i: ops.take(x, i, axis=1), uniform((2, 4, 3)), np.array([[0, 1, 1], [3, 3, 3]]))
case("gather", lambda x, i: ops.gather(x, i), uniform((5, 2)), np.array([4, 4, 1]))
case("take-scalar-index", lambda x: ops.take(x, 2, axis=1) + ops.take(x, -1), uniform((3, 3)))

case("where", lambda c, x, y: ops.where(c, x, y), rng.random((3, 4)) < 0.5, uniform(), uniform())
case("where-broadcast", lambda c, x, y: ops.where(c, x, y), rng.random((3, 1)) < 0.5, uniform((4,)), uniform((2, 1, 1)))
case("where-cond-wider", lambda c, x, y: ops.where(c, x, y), rng.random((2, 3)) < 0.5, uniform((3,)), uniform(()))
case("where-scalar", lambda c, x: ops.where(c, x, 0.0), np.array([True, False, True]), uniform((3,)))
case("clip", lambda x: ops.clip(x, -1.0, 1.0), uniform((3, 4), -3, 3, avoid=(-1.0, 1.0)))
case("clip-int-bounds", lambda x: ops.clip(x, 0, 1), uniform((3, 4), -1, 2, avoid=(0.0, 1.0)))
case("pad", lambda x: ops.pad(x, [(1, 2), (0, 1)]), uniform((2, 3)))
case("pad-constant", lambda x: ops.pad(x, [(0, 0), (2, 0), (1, 1)], constant_values=3.0), uniform((2, 2, 2)))

# ------------------------------------------------------------------------- linalg
for sa, sb in (((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((2, 2, 3), (3, 4)),
               ((3,), (2, 3, 4)), ((2, 3, 4), (4,)), ((2, 1, 3, 4), (3, 4, 2)), ((2, 3), (5, 3, 4)),
               ((1, 2, 3), (2, 3, 2))):
    case(f"matmul{sa}@{sb}", ops.matmul, uniform(sa), uniform(sb))
case("matmul-operator", lambda a, b: a @ b, uniform((2, 3)), uniform((3, 2)))
case("dense-2d", ops.dense, uniform((4, 3)), uniform((3, 5)), uniform((5,)))
case("dense-2d-nobias", ops.dense, uniform((4, 3)), uniform((3, 5)))
case("dense-3d", ops.dense, uniform((2, 4, 3)), uniform((3, 5)), uniform((5,)))
case("dense-3d-nobias", ops.dense, uniform((2, 4, 3)), uniform((3, 5)))
case("dense-1d", ops.dense, uniform((3,)), uniform((3, 2)), uniform((2,)))

# ------------------------------------------------------------- fan-out, composites
case("fan-out", lambda x: x * x + ops.exp(x) * x - ops.sum(x, axis=0) + x[0] * x[1], uniform((3, 4)))
case("fan-out-deep", lambda x: (lambda y: y * y + ops.tanh(y) - y[::-1])(ops.sin(x) + x), uniform((4, 3)))
case("fan-out-same-input-twice", lambda x: ops.multiply(x, x) + ops.add(x, x) + ops.maximum(x, 2 * x + 1),
     uniform((3, 4), -0.5, 2))
case("composite-mlp",
     lambda x, w1, b1, w2: ops.mean(ops.logsumexp(ops.dense(ops.gelu(ops.dense(x, w1, b1)), w2), axis=-1)
                                    - ops.sum(ops.log_softmax(x @ w1, axis=-1) * ops.softmax(x @ w1, axis=0), axis=1)),
     uniform((4, 3)), uniform((3, 5)), uniform((5,)), uniform((5, 2)))
case("composite-normalize",
     lambda x, g: (x - ops.mean(x, axis=-1, keepdims=True)) * ops.rsqrt(ops.var(x, axis=-1, keepdims=True) + 1e-3) * g,
     uniform((3, 5)), uniform((5,)))
case("composite-attention",
     lambda q, k, v: ops.matmul(ops.softmax(ops.matmul(q, ops.transpose(k, (0, 2, 1))) / 2.0, axis=-1), v),
     uniform((2, 3, 4)), uniform((2, 5, 4)), uniform((2, 5, 2)))
case("composite-concat-split",
     lambda a, b: ops.stack(ops.unstack(ops.concatenate([ops.tile(a, (1, 2)), b], axis=1)), axis=-1)[..., ::2],
     uniform((2, 2)), uniform((2, 3)))


@pytest.mark.parametrize("backend", list(BACKENDS.values()), ids=list(BACKENDS))
@pytest.mark.parametrize("f, inputs, kwargs", CASES)
def test_gradient(f, inputs, kwargs, backend):
    check_gradients(f, *inputs, backend=backend, **kwargs)


@pytest.mark.parametrize("backend", list(BACKENDS.values()), ids=list(BACKENDS))
@pytest.mark.parametrize("f, inputs, kwargs", CASES)
def test_backward_keeps_float32(f, inputs, kwargs, backend):
    check_backward_dtypes(f, *inputs, backend=backend)


# -------------------------------------------------------------------- special cases

def _grads(f, *values, weights=None):
    xs = [gk.constant(v, dtype="float64") for v in values]
    with gk.GradientTape() as tape:
        tape.watch(xs)
        y = f(*xs)
    return [g.numpy() for g in tape.gradient(y, xs, output_gradients=weights)]


@pytest.mark.parametrize("backend", list(BACKENDS.values()), ids=list(BACKENDS))
def test_ties_split_the_gradient_evenly(backend):
    with gk.backend.use(backend):
        a, b = [1.0, 2.0, 3.0], [1.0, 5.0, 3.0]
        ga, gb = _grads(ops.maximum, a, b)
        np.testing.assert_allclose(ga, [0.5, 0, 0.5])
        np.testing.assert_allclose(gb, [0.5, 1, 0.5])
        ga, gb = _grads(ops.minimum, a, b)
        np.testing.assert_allclose(ga, [0.5, 1, 0.5])
        np.testing.assert_allclose(gb, [0.5, 0, 0.5])
        ga, gb = _grads(ops.maximum, [2.0, 2.0], 2.0)  # broadcast scalar ties every element
        np.testing.assert_allclose(ga, [0.5, 0.5])
        np.testing.assert_allclose(gb, 1.0)
        (g,) = _grads(ops.max, [1.0, 3.0, 3.0, 2.0])
        np.testing.assert_allclose(g, [0, 0.5, 0.5, 0])
        (g,) = _grads(ops.min, [1.0, 1.0, 1.0, 2.0])
        np.testing.assert_allclose(g, [1 / 3, 1 / 3, 1 / 3, 0])
        x = [[4.0, 4.0, 1.0], [0.0, 2.0, 1.0]]
        (g,) = _grads(lambda t: ops.max(t, axis=1), x, weights=np.array([2.0, 3.0]))
        np.testing.assert_allclose(g, [[1, 1, 0], [0, 3, 0]])
        (g,) = _grads(lambda t: ops.max(t, axis=0, keepdims=True), [[1.0, 5.0], [1.0, 2.0]])
        np.testing.assert_allclose(g, [[0.5, 1], [0.5, 0]])


@pytest.mark.parametrize("backend", list(BACKENDS.values()), ids=list(BACKENDS))
@pytest.mark.parametrize("source, target", [("float64", "float32"), ("float32", "float64"),
                                            ("float64", "float16"), ("float16", "float32")])
def test_cast_between_float_dtypes(backend, source, target):
    with gk.backend.use(backend):
        x = gk.constant([[1.5, -2.0], [0.25, 3.0]], dtype=source)
        w = np.array([[1.0, 2.0], [-3.0, 0.5]])
        with gk.GradientTape() as tape:
            tape.watch(x)
            y = ops.cast(x, target) * 2
        assert y.dtype == np.dtype(target)
        g = tape.gradient(y, x, output_gradients=w)
        assert g.dtype == np.dtype(source)
        np.testing.assert_allclose(g.numpy(), 2 * w)


@pytest.mark.parametrize("backend", list(BACKENDS.values()), ids=list(BACKENDS))
def test_gradient_through_a_float32_detour(backend):
    # float32 in the middle: finite differences need a larger step and a float32-sized tolerance
    check_gradients(lambda x: ops.cast(ops.exp(ops.cast(x, "float32")) * 3, "float64") + x,
                    uniform((3, 2)), backend=backend, eps=1e-3, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("backend", list(BACKENDS.values()), ids=list(BACKENDS))
def test_gradient_of_a_variable_used_many_times(backend):
    with gk.backend.use(backend):
        v = gk.Variable(np.array([1.0, -2.0, 3.0]), dtype="float64")
        with gk.GradientTape() as tape:
            y = ops.sum(v * v) + ops.sum(v) * 3 + ops.sum(v[[0, 0, 2]])
        g = tape.gradient(y, v)
        np.testing.assert_allclose(g.numpy(), 2 * np.array([1.0, -2.0, 3.0]) + 3 + np.array([2, 0, 1]))
