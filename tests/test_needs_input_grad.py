"""Primitives are told which inputs need a gradient (``needs_input_grad``) and skip the rest.

The saving that matters: a model's first layer is fed data, so its backward must not compute
the input gradient (the dense input GEMM, the conv col2im). Each test spies on the backend
method that computes it and checks it is skipped for data and done for a watched input.
"""
import json

import numpy as np
import pytest

import graphkit as gk
from gradcheck import BACKENDS, check_gradients

BACKEND_IDS = sorted(BACKENDS)
rng = np.random.default_rng(11)


def spy(monkeypatch, ops, method: str) -> list:
    """Record ``(input_grad flag, whether an input gradient came back)`` for each call of ``ops.<method>``."""
    kernel = getattr(ops, method)
    calls = []

    def recorded(*args, input_grad=True, **kwargs):
        result = kernel(*args, input_grad=input_grad, **kwargs)
        calls.append((input_grad, result[0] is not None))
        return result

    monkeypatch.setattr(ops, method, recorded)
    return calls


def _rand(*shape):
    return rng.standard_normal(shape).astype("float32")


@pytest.mark.parametrize("backend", BACKEND_IDS)
def test_dense_skips_the_input_gemm_for_data_and_does_it_when_watched(backend, monkeypatch):
    ops = BACKENDS[backend]
    calls = spy(monkeypatch, ops, "dense_backward")
    x = gk.constant(_rand(4, 5))
    w, b = gk.Variable(_rand(5, 3)), gk.Variable(_rand(3))
    with gk.backend.use(ops):
        with gk.GradientTape() as tape:
            y = gk.ops.dense(x, w, b)
        gw_data, gb_data = tape.gradient(y, [w, b])
        assert calls == [(False, False)]
        calls.clear()
        with gk.GradientTape() as tape:
            tape.watch(x)
            y = gk.ops.dense(x, w, b)
        gx, gw, gb = tape.gradient(y, [x, w, b])
    assert calls == [(True, True)]
    np.testing.assert_allclose(gx.numpy(), np.ones((4, 3), "float32") @ w.numpy().T, rtol=1e-6)
    np.testing.assert_array_equal(gw_data.numpy(), gw.numpy())
    np.testing.assert_array_equal(gb_data.numpy(), gb.numpy())


def test_training_step_skips_only_the_first_layers_input_gradient(monkeypatch):
    calls = spy(monkeypatch, gk.backend.current(), "dense_backward")
    model = gk.Sequential([gk.Input((6,)), gk.layers.Dense(8, activation="relu"), gk.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    model.train_on_batch(_rand(5, 6), _rand(5, 2))
    assert calls == [(True, True), (False, False)]  # backward runs the last layer first


CONV_CASES = [
    ("conv", lambda x, w: gk.ops.conv(x, w, 1, "same"), (2, 5, 4, 3), (3, 2, 3, 2), "conv_backward"),
    ("depthwise_conv", lambda x, w: gk.ops.depthwise_conv(x, w, 2, "same"), (2, 5, 4, 2), (3, 3, 2, 2),
     "depthwise_conv_backward"),
    ("conv_transpose", lambda x, w: gk.ops.conv_transpose(x, w, 2), (2, 3, 4, 3), (3, 3, 2, 3),
     "conv_transpose_backward"),
]


@pytest.mark.parametrize("backend", BACKEND_IDS)
@pytest.mark.parametrize("name,f,xshape,wshape,method", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_convolutions_skip_the_input_gradient_for_data(name, f, xshape, wshape, method, backend, monkeypatch):
    ops = BACKENDS[backend]
    calls = spy(monkeypatch, ops, method)
    x, w = gk.constant(_rand(*xshape)), gk.Variable(_rand(*wshape))
    with gk.backend.use(ops):
        with gk.GradientTape() as tape:
            y = f(x, w)
        gw_data = tape.gradient(y, w)
        with gk.GradientTape() as tape:
            tape.watch(x)
            y = f(x, w)
        gx, gw = tape.gradient(y, [x, w])
    assert calls == [(False, False), (True, True)]
    assert gx.shape == x.shape
    np.testing.assert_array_equal(gw_data.numpy(), gw.numpy())


@pytest.mark.parametrize("backend", BACKEND_IDS)
@pytest.mark.parametrize("f,shapes", [
    (gk.ops.dense, [(3, 4), (4, 2), (2,)]),
    (lambda x, w: gk.ops.conv(x, w, 2, "same"), [(1, 5, 4, 2), (3, 2, 2, 3)]),
    (lambda x, w: gk.ops.conv_transpose(x, w, 2, "same"), [(1, 3, 2, 3), (2, 3, 2, 3)]),
], ids=["dense", "conv", "conv_transpose"])
def test_gradient_of_a_watched_constant_input_matches_finite_differences(f, shapes, backend):
    """Only the input is watched (the weights are constants too): its gradient is computed and right."""
    arrays = [rng.standard_normal(s) for s in shapes]
    check_gradients(f, *arrays, backend=BACKENDS[backend], wrt=[0])


def test_a_backward_declaring_needs_input_grad_is_told_per_input_and_others_are_called_as_before():
    told = []

    def forward(ops, a, b, index):
        return a * b, (a, b)

    def backward(ops, saved, g, needs_input_grad):
        told.append(needs_input_grad)
        a, b = saved
        return (g * b if needs_input_grad[0] else None, g * a if needs_input_grad[1] else None, None)

    def plain_backward(ops, saved, g):
        a, b = saved
        return g * b, g * a, None

    told_prim = gk.primitive("needs_input_grad_probe", forward, backward, key="needs_input_grad_probe")
    plain_prim = gk.primitive("needs_input_grad_plain", forward, plain_backward, key="needs_input_grad_plain")
    assert told_prim.takes_needs_input_grad and not plain_prim.takes_needs_input_grad
    a, b = gk.constant(_rand(3)), gk.Variable(_rand(3))
    index = gk.constant(np.arange(3))
    with gk.GradientTape() as tape:
        y = told_prim.apply(a, b, index)
    np.testing.assert_allclose(tape.gradient(y, b).numpy(), a.numpy())
    with gk.GradientTape() as tape:
        tape.watch(a)
        y = told_prim.apply(a, b, index)
    np.testing.assert_allclose(tape.gradient(y, a).numpy(), b.numpy())
    assert told == [(False, True, False), (True, True, False)]
    with gk.GradientTape() as tape:
        z = plain_prim.apply(gk.ops.multiply(a, 2.0), b, index)
    np.testing.assert_allclose(tape.gradient(z, b).numpy(), 2 * a.numpy())


def test_gk_function_replay_skips_the_input_gradient_for_data(monkeypatch):
    @gk.function
    def layer(x, w):
        return gk.ops.dense(x, w)

    calls = spy(monkeypatch, gk.backend.current(), "dense_backward")
    x, w = gk.constant(_rand(3, 4)), gk.Variable(_rand(4, 2))
    layer(x, w)  # traced here; later calls replay the graph
    with gk.GradientTape() as tape:
        y = layer(x, w)
    gw_data = tape.gradient(y, w)
    with gk.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, w)
    gx, gw = tape.gradient(y, [x, w])
    assert layer.experimental_get_tracing_count() == 1
    assert calls == [(False, False), (True, True)]
    np.testing.assert_allclose(gx.numpy(), np.ones((3, 2), "float32") @ w.numpy().T, rtol=1e-6)
    np.testing.assert_array_equal(gw_data.numpy(), gw.numpy())


@pytest.mark.parametrize("watch_targets", [False, True], ids=["data-targets", "watched-targets"])
def test_a_loss_computes_its_targets_gradient_only_when_they_need_one(watch_targets, monkeypatch):
    ops = gk.backend.current()
    kernel, told = ops.softmax_cross_entropy_backward, []

    def recorded(saved, gl, want_targets):
        told.append(want_targets)
        return kernel(saved, gl, want_targets)

    monkeypatch.setattr(ops, "softmax_cross_entropy_backward", recorded)
    logits = gk.Variable(_rand(4, 3))
    targets = gk.constant(np.eye(3, dtype="float32")[[0, 2, 1, 1]])
    with gk.GradientTape() as tape:
        if watch_targets:
            tape.watch(targets)
        loss = gk.losses.categorical_crossentropy(targets, logits, from_logits=True)
    g_logits, g_targets = tape.gradient(loss, [logits, targets])
    assert told == [watch_targets]
    assert (g_targets is not None) == watch_targets
    probs = np.exp(logits.numpy()) / np.exp(logits.numpy()).sum(-1, keepdims=True)
    np.testing.assert_allclose(g_logits.numpy(), probs - targets.numpy(), rtol=1e-5, atol=1e-6)


def test_a_saved_loss_function_from_before_needs_input_grad_still_loads(tmp_path):
    """Files written before this protocol give loss nodes a ``true_grad`` attribute; loading drops it."""
    class Scorer(gk.Module):
        def __init__(self):
            super().__init__()
            self.dense = gk.layers.Dense(3)

        @gk.function
        def __call__(self, x, y):
            return gk.losses.categorical_crossentropy(y, self.dense(x), from_logits=True)

    x, y = _rand(4, 5), np.eye(3, dtype="float32")[[0, 1, 2, 1]]
    scorer = Scorer()
    expected = scorer(x, y).numpy()
    export = str(tmp_path / "scorer")
    gk.saved_model.save(scorer, export)
    graph_file = tmp_path / "scorer" / "saved_model.json"
    saved = json.loads(graph_file.read_text())
    loss_nodes = [node for function in saved["functions"].values() for concrete in function
                  for node in concrete["nodes"] if node["op"] == "softmax_cross_entropy"]
    assert loss_nodes
    for node in loss_nodes:
        node["attrs"]["true_grad"] = True
    graph_file.write_text(json.dumps(saved))
    np.testing.assert_allclose(gk.saved_model.load(export)(x, y).numpy(), expected, rtol=1e-6)
