"""Fused recurrent primitives (gk.ops.rnn): forward against naive per-step Keras-3 loops, BPTT
gradients against float64 finite differences, masking and go_backwards, both CPU backends, and
torch.nn.LSTM/GRU where torch is installed."""
from __future__ import annotations

import numpy as np
import pytest

import graphkit as gk
from graphkit.ops.rnn import gru, lstm, simple_rnn
from gradcheck import BACKENDS, check_backward_dtypes, check_gradients

BACKEND_IDS = sorted(BACKENDS)
N, T, F, U = 3, 5, 3, 4
# Row 0: a masked step in the middle and at the end; row 1: leading masked steps (the carried
# initial state shows); row 2: every step masked.
MASK = np.array([[1, 1, 0, 1, 0], [0, 0, 1, 1, 1], [0, 0, 0, 0, 0]], dtype=bool)


# --------------------------------------------------------------- naive references (Keras 3)
def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _scan(step, x, states, mask=None, go_backwards=False, zero_output_for_mask=False):
    """keras.src.backend.{jax,numpy}.rnn: masked steps keep the states and output the previous h."""
    outputs = []
    for t in (range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])):
        out, new = step(x[:, t], states)
        if mask is not None:
            m = mask[:, t][:, None]
            out = np.where(m, out, 0 if zero_output_for_mask else states[0])
            new = [np.where(m, a, b) for a, b in zip(new, states)]
        outputs.append(out)
        states = new
    return [np.stack(outputs, axis=1)] + list(states)


def ref_lstm(x, h, c, w, u, b, mask=None, go_backwards=False, zero_output_for_mask=False):
    def step(xt, states):
        h, c = states
        z = xt @ w + h @ u + (0 if b is None else b)
        i, f, g, o = np.split(z, 4, axis=-1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        return h, [h, c]
    return _scan(step, x, [h, c], mask, go_backwards, zero_output_for_mask)


def ref_gru(x, h, w, u, b, mask=None, go_backwards=False, reset_after=True, zero_output_for_mask=False):
    units = u.shape[0]

    def step(xt, states):
        (h,) = states
        if reset_after:
            xw = xt @ w + (0 if b is None else b[0])
            inner = h @ u + (0 if b is None else b[1])
            xz, xr, xh = np.split(xw, 3, axis=-1)
            rz, rr, rh = np.split(inner, 3, axis=-1)
            z, r = _sigmoid(xz + rz), _sigmoid(xr + rr)
            hh = np.tanh(xh + r * rh)
        else:
            xw = xt @ w + (0 if b is None else b)
            xz, xr, xh = np.split(xw, 3, axis=-1)
            z = _sigmoid(xz + h @ u[:, :units])
            r = _sigmoid(xr + h @ u[:, units:2 * units])
            hh = np.tanh(xh + (r * h) @ u[:, 2 * units:])
        h = z * h + (1 - z) * hh
        return h, [h]
    return _scan(step, x, [h], mask, go_backwards, zero_output_for_mask)


ACTIVATIONS = {"tanh": np.tanh, "relu": lambda a: np.maximum(a, 0), "sigmoid": _sigmoid, "linear": lambda a: a}


def ref_simple_rnn(x, h, w, u, b, mask=None, go_backwards=False, activation="tanh", zero_output_for_mask=False):
    act = ACTIVATIONS[activation]

    def step(xt, states):
        h = act(xt @ w + states[0] @ u + (0 if b is None else b))
        return h, [h]
    return _scan(step, x, [h], mask, go_backwards, zero_output_for_mask)


# ----------------------------------------------------------------------------- data
def make(cell, seed=0, units=U, reset_after=True, scale=0.5):
    """Random float64 arguments: x, initial state(s), kernel, recurrent kernel, bias."""
    rng = np.random.default_rng(seed)
    gates = {"lstm": 4, "gru": 3, "simple_rnn": 1}[cell]
    x = rng.standard_normal((N, T, F))
    states = [rng.standard_normal((N, units)) * 0.5 for _ in range(2 if cell == "lstm" else 1)]
    w = rng.standard_normal((F, gates * units)) * scale
    u = rng.standard_normal((units, gates * units)) * scale
    if cell == "gru" and reset_after:
        b = rng.standard_normal((2, gates * units)) * scale
    else:
        b = rng.standard_normal((gates * units,)) * scale
    return [x, *states, w, u, b]


CELLS = {
    "lstm": (lstm, ref_lstm, {}),
    "gru": (gru, ref_gru, {}),
    "gru_reset_before": (gru, ref_gru, {"reset_after": False}),
    "simple_rnn": (simple_rnn, ref_simple_rnn, {}),
    "simple_rnn_relu": (simple_rnn, ref_simple_rnn, {"activation": "relu"}),
}


def cell_args(name, seed=0):
    kind = "lstm" if name == "lstm" else ("gru" if name.startswith("gru") else "simple_rnn")
    return make(kind, seed, reset_after=CELLS[name][2].get("reset_after", True))


# -------------------------------------------------------------------------- forward
@pytest.mark.parametrize("backend", BACKEND_IDS)
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forwards", "backwards"])
@pytest.mark.parametrize("masked", [False, True], ids=["nomask", "mask"])
@pytest.mark.parametrize("name", sorted(CELLS))
def test_forward_matches_naive_loop(name, masked, go_backwards, backend):
    fn, ref, kw = CELLS[name]
    args = [a.astype(np.float32) for a in cell_args(name)]
    mask = MASK if masked else None
    expected = ref(*[a.astype(np.float64) for a in args], mask=mask, go_backwards=go_backwards, **kw)
    with gk.backend.use(BACKENDS[backend]):
        got = fn(*args, mask=mask, go_backwards=go_backwards, **kw)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g.numpy(), e, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_zero_output_for_mask(name):
    fn, ref, kw = CELLS[name]
    args = cell_args(name, seed=1)
    expected = ref(*args, mask=MASK, go_backwards=True, zero_output_for_mask=True, **kw)
    got = fn(*[gk.constant(a, dtype="float64") for a in args], mask=MASK, go_backwards=True,
             zero_output_for_mask=True, **kw)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g.numpy(), e, rtol=1e-12, atol=1e-12)
    assert np.all(got[0].numpy()[2] == 0)  # the all-masked row


def test_masked_outputs_repeat_previous_state():
    x, h0, c0, w, u, b = make("lstm")
    out, h, c = lstm(x, h0, c0, w, u, b, mask=MASK)
    out = out.numpy()
    np.testing.assert_array_equal(out[0, 2], out[0, 1])
    np.testing.assert_array_equal(out[0, 4], out[0, 3])
    np.testing.assert_allclose(out[1, 0], h0[1].astype(np.float32))     # initial state carried
    np.testing.assert_allclose(h.numpy()[2], h0[2].astype(np.float32))  # nothing valid: states unchanged
    np.testing.assert_allclose(c.numpy()[2], c0[2].astype(np.float32))


def test_defaults_and_no_bias():
    x, _, _, w, u, _ = make("lstm")
    zeros = np.zeros((N, U))
    for fn, ref, args in [(lstm, ref_lstm, (w, u)), (gru, ref_gru, (make("gru")[2], make("gru")[3])),
                          (simple_rnn, ref_simple_rnn, (make("simple_rnn")[2], make("simple_rnn")[3]))]:
        states = (None, None) if fn is lstm else (None,)
        got = fn(gk.constant(x, dtype="float64"), *states, *args, bias=None)
        expected = ref(x, *([zeros] * len(states)), *args, None)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g.numpy(), e, rtol=1e-12, atol=1e-12)


def test_inference_without_tape_matches_recorded_forward():
    args = [gk.constant(a) for a in make("lstm")]
    plain = lstm(*args, mask=MASK)
    with gk.GradientTape() as tape:
        tape.watch(args[0])
        taped = lstm(*args, mask=MASK)
    assert plain[0]._node is None and taped[0]._node is not None
    for a, b in zip(plain, taped):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


# ------------------------------------------------------------------------ gradients
def _call(name, go_backwards, masked, select=None):
    fn, _, kw = CELLS[name]

    def f(*tensors):
        if masked:
            *tensors, mask = tensors
        else:
            mask = None
        out = fn(*tensors, mask=mask, go_backwards=go_backwards, **kw)
        return out if select is None else [out[i] for i in select]
    return f


@pytest.mark.parametrize("backend", BACKEND_IDS)
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forwards", "backwards"])
@pytest.mark.parametrize("masked", [False, True], ids=["nomask", "mask"])
@pytest.mark.parametrize("name", sorted(CELLS))
def test_gradients(name, masked, go_backwards, backend):
    inputs = cell_args(name, seed=2) + ([MASK] if masked else [])
    check_gradients(_call(name, go_backwards, masked), *inputs, backend=BACKENDS[backend])


@pytest.mark.parametrize("select", [(0,), (1,), (0, 1)], ids=["outputs", "last_h", "outputs+last_h"])
@pytest.mark.parametrize("name", ["lstm", "gru", "simple_rnn"])
def test_gradients_from_some_outputs(name, select):
    inputs = cell_args(name, seed=3) + [MASK]
    check_gradients(_call(name, True, True, select), *inputs, backend=BACKENDS["numpy"])


def test_lstm_gradient_from_last_c_only():
    inputs = cell_args("lstm", seed=4) + [MASK]
    check_gradients(_call("lstm", False, True, (2,)), *inputs, backend=BACKENDS["generic"])


@pytest.mark.parametrize("name", ["lstm", "gru", "gru_reset_before"])
def test_gradients_zero_output_for_mask(name):
    fn, _, kw = CELLS[name]

    def f(*tensors):
        *tensors, mask = tensors
        return fn(*tensors, mask=mask, go_backwards=True, zero_output_for_mask=True, **kw)
    check_gradients(f, *cell_args(name, seed=5), MASK, backend=BACKENDS["numpy"])


@pytest.mark.parametrize("backend", BACKEND_IDS)
@pytest.mark.parametrize("name", sorted(CELLS))
def test_float32_gradients_stay_float32(name, backend):
    check_backward_dtypes(_call(name, True, True), *cell_args(name), MASK, backend=BACKENDS[backend])


def test_gradients_through_variables_and_downstream_ops():
    x, h0, c0, w, u, b = [a.astype(np.float32) for a in make("lstm", seed=6)]
    kernel, recurrent, bias = gk.Variable(w), gk.Variable(u), gk.Variable(b)
    with gk.GradientTape() as tape:
        out, h, c = lstm(x, h0, c0, kernel, recurrent, bias)
        loss = gk.ops.sum(out * out) + gk.ops.sum(h)
    grads = tape.gradient(loss, [kernel, recurrent, bias])
    assert [g.shape for g in grads] == [w.shape, u.shape, b.shape]
    assert all(g.dtype == np.float32 and np.all(np.isfinite(g.numpy())) for g in grads)


@pytest.mark.parametrize("backend", BACKEND_IDS)
@pytest.mark.parametrize("masked", [False, True], ids=["nomask", "mask"])
@pytest.mark.parametrize("name", sorted(CELLS))
def test_untracked_input_skips_its_gradient(name, masked, backend, monkeypatch):
    """Data fed straight in (an untracked input) needs no gradient: the backward kernel is told
    to skip it, and the weight and initial-state gradients match those with the input watched."""
    fn, _, kw = CELLS[name]
    x, *rest = [a.astype(np.float32) for a in cell_args(name, seed=7)]
    n_states = 2 if name == "lstm" else 1
    mask = MASK if masked else None
    ops = BACKENDS[backend]
    method = f"{fn.__name__}_backward"
    kernel, input_grad_flags = getattr(ops, method), []

    def spy(*args, input_grad):
        input_grad_flags.append(input_grad)
        return kernel(*args, input_grad=input_grad)

    monkeypatch.setattr(ops, method, spy)

    def grads(watch_input):
        xt = gk.constant(x)
        variables = [gk.Variable(a) for a in rest]
        with gk.backend.use(ops):
            with gk.GradientTape() as tape:
                if watch_input:
                    tape.watch(xt)
                out = fn(xt, *variables, mask=mask, go_backwards=True, **kw)
                loss = gk.ops.sum(out[0] * out[0]) + gk.ops.sum(out[1])
            return tape.gradient(loss, [xt] + variables)

    watched = grads(True)
    unwatched = grads(False)
    assert input_grad_flags == [True, False]
    assert watched[0] is not None and unwatched[0] is None
    assert len(watched) == 1 + n_states + 3
    for a, b in zip(watched[1:], unwatched[1:]):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("backend", BACKEND_IDS)
@pytest.mark.parametrize("steps", [T, 1])
@pytest.mark.parametrize("masked", [False, True], ids=["nomask", "mask"])
def test_lstm_left_out_initial_h_matches_explicit_zeros(masked, steps, backend):
    """A left-out initial_h lets the kernel skip the GEMMs on the zero state; the results match
    an explicit zeros initial_h."""
    x, _, c0, w, u, b = [a.astype(np.float32) for a in make("lstm", seed=8)]
    x = x[:, :steps]
    mask = MASK[:, :steps] if masked else None

    def run(initial_h):
        variables = [gk.Variable(a) for a in (w, u, b)]
        with gk.backend.use(BACKENDS[backend]), gk.GradientTape() as tape:
            out, h, c = lstm(x, initial_h, c0, *variables, mask=mask, go_backwards=True)
            loss = gk.ops.sum(out * out) + gk.ops.sum(h) + gk.ops.sum(c)
        return [out, h, c] + tape.gradient(loss, variables)

    for a, e in zip(run(None), run(np.zeros((N, U), np.float32))):
        np.testing.assert_allclose(a.numpy(), e.numpy(), rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------- errors
def test_shape_errors():
    x, h0, c0, w, u, b = make("lstm")
    with pytest.raises(ValueError, match="kernel"):
        lstm(x, h0, c0, w[:, :-1], u, b)
    with pytest.raises(ValueError, match="recurrent_kernel"):
        lstm(x, h0, c0, w, u[:, :-4], b)
    with pytest.raises(ValueError, match="initial_h"):
        lstm(x, h0[:, :-1], c0, w, u, b)
    with pytest.raises(ValueError, match="mask"):
        lstm(x, h0, c0, w, u, b, mask=MASK[:, :-1])
    with pytest.raises(ValueError, match="timesteps"):
        lstm(x[0], h0, c0, w, u, b)
    xg, hg, wg, ug, bg = make("gru")
    with pytest.raises(ValueError, match="bias"):
        gru(xg, hg, wg, ug, bg[0])
    with pytest.raises(ValueError, match="activation"):
        simple_rnn(*make("simple_rnn"), activation="gelu")


# ---------------------------------------------------------------------------- torch
def _torch_module(kind, w, u, b):
    torch = pytest.importorskip("torch")
    units = u.shape[0]
    if kind == "lstm":  # torch gate order i, f, g, o == Keras i, f, c, o
        m = torch.nn.LSTM(w.shape[0], units, batch_first=True, dtype=torch.float64)
        w_ih, w_hh, b_ih, b_hh = w.T, u.T, b, np.zeros_like(b)
    else:  # torch r, z, n vs Keras z, r, h
        m = torch.nn.GRU(w.shape[0], units, batch_first=True, dtype=torch.float64)
        order = np.r_[units:2 * units, 0:units, 2 * units:3 * units]
        w_ih, w_hh, b_ih, b_hh = w[:, order].T, u[:, order].T, b[0, order], b[1, order]
    with torch.no_grad():
        for name, value in [("weight_ih_l0", w_ih), ("weight_hh_l0", w_hh), ("bias_ih_l0", b_ih),
                            ("bias_hh_l0", b_hh)]:
            getattr(m, name).copy_(torch.from_numpy(np.ascontiguousarray(value)))
    return torch, m


def test_lstm_matches_torch():
    x, h0, c0, w, u, b = make("lstm", seed=7)
    torch, m = _torch_module("lstm", w, u, b)
    tx, th, tc = (torch.tensor(a, requires_grad=True) for a in (x, h0[None], c0[None]))
    out_t, (h_t, c_t) = m(tx, (th, tc))
    g = np.random.default_rng(0).standard_normal(out_t.shape)
    (out_t * torch.from_numpy(g)).sum().backward()
    xs, hs, cs, ws = (gk.constant(a, dtype="float64") for a in (x, h0, c0, w))
    with gk.GradientTape() as tape:
        tape.watch([xs, hs, cs, ws])
        out, h, c = lstm(xs, hs, cs, ws, u, b)
    gx, gh, gc, gw = tape.gradient(out, [xs, hs, cs, ws], output_gradients=g)
    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h.numpy(), h_t[0].detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c.numpy(), c_t[0].detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(gh.numpy(), th.grad[0].numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(gc.numpy(), tc.grad[0].numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(gw.numpy(), m.weight_ih_l0.grad.numpy().T, rtol=1e-9, atol=1e-11)


def test_gru_matches_torch():
    x, h0, w, u, b = make("gru", seed=8)
    torch, m = _torch_module("gru", w, u, b)
    tx, th = (torch.tensor(a, requires_grad=True) for a in (x, h0[None]))
    out_t, h_t = m(tx, th)
    g = np.random.default_rng(1).standard_normal(out_t.shape)
    (out_t * torch.from_numpy(g)).sum().backward()
    xs, hs, us = (gk.constant(a, dtype="float64") for a in (x, h0, u))
    with gk.GradientTape() as tape:
        tape.watch([xs, hs, us])
        out, h = gru(xs, hs, w, us, b)
    gx, gh, gu = tape.gradient(out, [xs, hs, us], output_gradients=g)
    units = u.shape[0]
    order = np.r_[units:2 * units, 0:units, 2 * units:3 * units]
    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h.numpy(), h_t[0].detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(gh.numpy(), th.grad[0].numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(gu.numpy()[:, order], m.weight_hh_l0.grad.numpy().T, rtol=1e-9, atol=1e-11)
