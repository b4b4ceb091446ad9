"""gk.function: tracing per signature, replay equal to eager, gradients, captures, methods, inspection."""
import numpy as np
import pytest

import graphkit as gk
from graphkit.engine.autograd import NAME_COLLISIONS, PRIMITIVES


def _rand(*shape, seed=0):
    return np.random.default_rng(seed + sum(shape)).standard_normal(shape).astype("float32")


def test_primitive_registry_has_unique_keys():
    collided = {name for name, _ in NAME_COLLISIONS}
    assert not collided & {"dense", "cast", "matmul", "add"}
    assert PRIMITIVES["dense"].name == "dense"
    assert PRIMITIVES["cast_to_discrete"].name == "cast"
    for key, prim in PRIMITIVES.items():
        assert prim.key == key


def test_traces_once_per_signature_and_side_effects_only_while_tracing():
    calls = []

    @gk.function
    def f(x, y):
        calls.append(1)
        return gk.ops.matmul(x, y) * 2.0 + 1.0

    a, b = _rand(3, 4), _rand(4, 2)
    out = f(a, b)
    np.testing.assert_allclose(out.numpy(), a @ b * 2 + 1, rtol=1e-5)
    for scale in (2.0, 3.0):
        np.testing.assert_allclose(f(a * scale, b).numpy(), (a * scale) @ b * 2 + 1, rtol=1e-5)
    assert f.experimental_get_tracing_count() == 1
    assert len(calls) == 1
    f(gk.constant(a), gk.constant(b))            # a tensor with the same shape/dtype: no retrace
    assert f.experimental_get_tracing_count() == 1
    f(_rand(5, 4), b)                            # new shape
    assert f.experimental_get_tracing_count() == 2
    f(_rand(2, 3, 4), b)                         # new rank
    assert f.experimental_get_tracing_count() == 3
    f(a.astype("int32"), b.astype("int32"))      # new dtype
    assert f.experimental_get_tracing_count() == 4
    assert len(f.concrete_functions) == 4


def test_python_scalars_are_part_of_the_signature():
    @gk.function
    def f(x, power, training=False):
        y = x ** power
        return y * 10.0 if training else y

    x = _rand(3)
    np.testing.assert_allclose(f(x, 2).numpy(), x ** 2, rtol=1e-6)
    np.testing.assert_allclose(f(x, 3).numpy(), x ** 3, rtol=1e-5)
    np.testing.assert_allclose(f(x, 2, training=True).numpy(), x ** 2 * 10, rtol=1e-5)
    np.testing.assert_allclose(f(x + 1, 2).numpy(), (x + 1) ** 2, rtol=1e-5)
    assert f.experimental_get_tracing_count() == 3


def test_replay_equals_eager_for_many_ops():
    def fn(x, y):
        h = gk.ops.tanh(x) @ y
        parts = gk.ops.split(h, 2, axis=1)
        z = gk.ops.concatenate([parts[1], parts[0]], axis=1)
        z = gk.ops.reshape(z, (-1,))[1:7] + gk.ops.mean(x)
        return {"z": z, "pair": (gk.ops.softmax(h), gk.ops.sum(h, axis=0)), "const": 3}

    traced = gk.function(fn)
    x, y = _rand(3, 5), _rand(5, 4)
    traced(x, y)
    for seed in (1, 2):
        x, y = _rand(3, 5, seed=seed), _rand(5, 4, seed=seed)
        eager, out = fn(x, y), traced(x, y)
        assert out["const"] == 3
        np.testing.assert_allclose(out["z"].numpy(), eager["z"].numpy(), rtol=1e-5)
        np.testing.assert_allclose(out["pair"][0].numpy(), eager["pair"][0].numpy(), rtol=1e-5)
        np.testing.assert_allclose(out["pair"][1].numpy(), eager["pair"][1].numpy(), rtol=1e-5)
    assert traced.experimental_get_tracing_count() == 1


def test_gradients_through_traced_function_equal_eager():
    w = gk.Variable(_rand(4, 3), name="w")
    b = gk.Variable(_rand(3), name="b")

    def fn(x, target):
        logits = gk.ops.relu(x @ w + b)
        return gk.ops.mean((logits - target) ** 2)

    traced = gk.function(fn)

    def grads(f, x, t):
        x = gk.constant(x)
        with gk.GradientTape() as tape:
            tape.watch(x)
            loss = f(x, t)
        return [g.numpy() for g in tape.gradient(loss, [x, w, b])], loss.numpy()

    for seed in range(3):  # the first call traces, the others replay
        x, t = _rand(2, 4, seed=seed), _rand(2, 3, seed=seed + 10)
        (ge, le), (gt, lt) = grads(fn, x, t), grads(traced, x, t)
        np.testing.assert_allclose(lt, le, rtol=1e-6)
        for a, c in zip(gt, ge):
            np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-7)
    assert traced.experimental_get_tracing_count() == 1


def test_gradient_inside_traced_function_is_refused():
    w = gk.Variable(np.ones(3, "float32"))

    @gk.function
    def step(x):
        with gk.GradientTape() as tape:
            loss = gk.ops.sum(x * w)
        return tape.gradient(loss, w)

    with pytest.raises(NotImplementedError, match="gradient"):
        step(np.ones(3, "float32"))


def test_variables_are_captured_by_reference():
    v = gk.Variable(np.ones((2, 2), "float32"), name="v")

    @gk.function
    def f(x):
        return x * v + gk.constant(1.0)

    x = np.full((2, 2), 2.0, "float32")
    np.testing.assert_allclose(f(x).numpy(), 3.0)
    v.assign(np.full((2, 2), 5.0))
    np.testing.assert_allclose(f(x).numpy(), 11.0)
    v.assign_add(np.ones((2, 2)))
    np.testing.assert_allclose(f(x).numpy(), 13.0)
    cf = f.get_concrete_function(x)
    assert cf.graph.captures == [v] or cf.graph.captures[0] is v
    assert len(cf.graph.constants) == 1
    assert f.experimental_get_tracing_count() == 1


class Scale(gk.Module):
    def __init__(self, n, name=None):
        super().__init__(name=name)
        self.w = gk.Variable(np.arange(n, dtype="float32") + 1.0, name="w")
        self.traces = 0

    @gk.function
    def __call__(self, x):
        self.traces += 1
        return x * self.w

    @gk.function
    def double(self, x):
        return self(x) * 2.0


def test_method_decoration_binds_self_with_one_cache_per_instance():
    m1, m2 = Scale(3), Scale(3)
    m2.w.assign(np.full(3, 10.0))
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(m1(x).numpy(), [[1, 2, 3]] * 2)
    np.testing.assert_allclose(m1(x).numpy(), [[1, 2, 3]] * 2)
    np.testing.assert_allclose(m2(x).numpy(), np.full((2, 3), 10.0))
    np.testing.assert_allclose(m1.double(x).numpy(), [[2, 4, 6]] * 2)
    assert m1.traces == 1 and m2.traces == 1           # m1.double replays m1.__call__ inside its trace
    assert type(m1).__call__.__get__(m1).experimental_get_tracing_count() == 1
    assert m1.double.experimental_get_tracing_count() == 1
    assert m1.double is m1.double                       # the bound function is cached per instance
    assert m1.variables == (m1.w,)                      # the cache does not disturb tracking
    x3 = np.ones((4, 2, 3), "float32")
    np.testing.assert_allclose(m1(x3).numpy(), np.broadcast_to([1, 2, 3], (4, 2, 3)))
    assert m1.traces == 2
    # m1.double's graph holds the ops of __call__ (nested functions are inlined)
    assert m1.double.get_concrete_function(x).graph.op_names == ["multiply", "multiply"]


def test_keras_style_models():
    model = gk.Sequential([gk.layers.Dense(8, activation="relu"), gk.layers.Dense(3)])
    fast = gk.function(model)
    x = _rand(4, 5)
    eager = model(x).numpy()
    np.testing.assert_allclose(fast(x).numpy(), eager, rtol=1e-5)
    np.testing.assert_allclose(fast(x).numpy(), eager, rtol=1e-5)
    x2 = _rand(4, 5, seed=3)
    np.testing.assert_allclose(fast(x2).numpy(), model(x2).numpy(), rtol=1e-5)
    assert fast.experimental_get_tracing_count() == 1

    class Net(gk.Model):
        def __init__(self):
            super().__init__()
            self.d1 = gk.layers.Dense(6, activation="tanh")
            self.d2 = gk.layers.Dense(2)

        @gk.function
        def call(self, inputs):
            return self.d2(self.d1(inputs))

    net = Net()
    y1 = net(x)          # builds the layers inside the first trace
    y2 = net(x)
    np.testing.assert_allclose(y2.numpy(), y1.numpy(), rtol=1e-6)
    assert net.call.experimental_get_tracing_count() == 1
    with gk.GradientTape() as tape:
        loss = gk.ops.sum(net(x2) ** 2)
    grads = tape.gradient(loss, net.trainable_variables)
    assert len(grads) == 4 and all(g is not None for g in grads)


def test_concrete_function_inspection():
    model = gk.Sequential([gk.layers.Dense(4, activation="relu"), gk.layers.Dense(2)])
    fast = gk.function(model)
    cf = fast.get_concrete_function(gk.TensorSpec((3, 5), "float32"))
    assert cf.graph.op_names == ["dense", "relu", "dense"]
    assert [n.name for n in cf.graph.ops] == ["dense", "relu", "dense_1"]
    assert cf.graph.ops[0].inputs[0] == ("input", 0)
    assert cf.graph.ops[1].inputs == [("node", 0, 0)]
    assert cf.inputs == [gk.TensorSpec((3, 5), "float32")]
    assert cf.outputs == [gk.TensorSpec((3, 2), "float32")]
    assert {id(v) for v in cf.graph.captures} == {id(v) for v in model.trainable_variables}
    args, kwargs = cf.structured_input_signature
    assert args == (gk.TensorSpec((3, 5), "float32"),) and kwargs == {}
    x = _rand(3, 5)
    np.testing.assert_allclose(cf(x).numpy(), model(x).numpy(), rtol=1e-5)
    assert fast.get_concrete_function(x) is cf
    with pytest.raises(ValueError, match="does not match"):
        cf(_rand(3, 5, 1))

    @gk.function
    def mm(a, b):
        return gk.ops.matmul(a, b)

    assert mm.get_concrete_function(_rand(2, 3), _rand(3, 4)).graph.op_names == ["matmul"]


def test_input_signature_and_reduce_retracing():
    @gk.function(input_signature=[gk.TensorSpec((None, 3), "float32")])
    def rowsum(x):
        return gk.ops.sum(x, axis=1) * 2.0

    for n in (1, 4, 7):
        x = _rand(n, 3)
        np.testing.assert_allclose(rowsum(x).numpy(), x.sum(1) * 2, rtol=1e-5)
    assert rowsum.experimental_get_tracing_count() == 1
    with pytest.raises(ValueError, match="input_signature"):
        rowsum(_rand(2, 4))

    @gk.function(reduce_retracing=True)
    def flat(x):
        return gk.ops.reshape(x, (x.shape[0] * x.shape[1],))   # bakes the traced shape in

    np.testing.assert_allclose(flat(_rand(2, 3)).numpy(), _rand(2, 3).ravel())
    np.testing.assert_allclose(flat(_rand(4, 5)).numpy(), _rand(4, 5).ravel())  # falls back to a new trace
    assert flat.experimental_get_tracing_count() == 2


def test_recurrent_layer_replays_with_and_without_tape():
    layer = gk.layers.LSTM(4, return_sequences=True)
    fast = gk.function(layer)
    x = _rand(2, 5, 3)
    eager = layer(x).numpy()
    np.testing.assert_allclose(fast(x).numpy(), eager, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fast(x).numpy(), eager, rtol=1e-5, atol=1e-6)   # replay, no tape
    with gk.GradientTape() as tape:
        loss = gk.ops.sum(fast(x) ** 2)                                         # replay under a tape
    grads = tape.gradient(loss, layer.trainable_variables)
    with gk.GradientTape() as tape:
        loss_e = gk.ops.sum(layer(x) ** 2)
    grads_e = tape.gradient(loss_e, layer.trainable_variables)
    for g, e in zip(grads, grads_e):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-4, atol=1e-6)
    assert fast.experimental_get_tracing_count() == 1


def test_keyword_tensors_in_any_order():
    @gk.function
    def f(x, *, a, b):
        return x - a * 10.0 + b * 100.0

    x, a, b = (np.full(2, v, "float32") for v in (1.0, 2.0, 3.0))
    np.testing.assert_allclose(f(x, a=a, b=b).numpy(), 1 - 20 + 300)
    np.testing.assert_allclose(f(x, b=b, a=a).numpy(), 1 - 20 + 300)
    np.testing.assert_allclose(f(x, b=a, a=b).numpy(), 1 - 30 + 200)
    assert f.experimental_get_tracing_count() == 1


def test_dropout_draws_a_new_mask_on_every_run():
    gk.random.set_seed(0)
    layer = gk.layers.Dropout(0.5)
    fast = gk.function(layer)
    x = np.ones((64, 32), "float32")
    masks = [fast(x, training=True).numpy() for _ in range(3)]
    for m in masks:
        assert set(np.unique(m)) <= {0.0, 2.0} and 0.3 < (m == 0).mean() < 0.7
    assert not np.array_equal(masks[0], masks[1]) and not np.array_equal(masks[1], masks[2])
    np.testing.assert_array_equal(fast(x, training=False).numpy(), x)
    assert fast.experimental_get_tracing_count() == 2
    with gk.GradientTape() as tape:
        xt = gk.constant(x)
        tape.watch(xt)
        y = fast(xt, training=True)
        total = gk.ops.sum(y)
    g = tape.gradient(total, xt).numpy()
    np.testing.assert_array_equal(g, y.numpy())   # d(sum(x * keep))/dx = keep = y for x = 1


def test_random_draws_while_tracing_warn():
    @gk.function
    def noisy(x):
        return x + gk.random.normal(x.shape)

    with pytest.warns(UserWarning, match="frozen"):
        noisy(np.zeros(4, "float32"))
    np.testing.assert_array_equal(noisy(np.zeros(4, "float32")).numpy(), noisy(np.zeros(4, "float32")).numpy())
