"""Recurrent layers (SimpleRNN, LSTM, GRU, Bidirectional) against PyTorch and Keras 3's numbers.

Forward values are compared with ``torch.nn.RNN/LSTM/GRU`` (float64) whose weights are mapped
from the Keras layouts set with ``set_weights``: LSTM gates i, f, c, o are torch's i, f, g, o;
GRU gates z, r, h are torch's rows r, z, n (torch's GRU is Keras's ``reset_after=True``), and
torch's two biases take the Keras input bias (row 0) and recurrent bias (row 1, zeros for LSTM
and SimpleRNN). Masks are checked against running the unmasked prefix of each sequence,
gradients against float64 central differences, parameter counts and shapes against Keras 3,
and configs round-trip through JSON and from_config.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import graphkit as gk
from graphkit import layers as L

RNG = np.random.default_rng(7)


def rand(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float64)


def G(a):
    """float64 data as a float64 tensor (plain float64 arrays become float32 in graphkit)."""
    return gk.constant(a, dtype="float64")


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))


def np_out(value):
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)


def random_weights(layer, scale=0.5):
    """Random values for every weight of a built layer (set with set_weights)."""
    weights = [rand(*w.shape, scale=scale) for w in layer.weights]
    layer.set_weights(weights)
    return weights


def built(layer, features, weights=True):
    layer(np.zeros((1, 2, features)))
    return random_weights(layer) if weights else None


# ----------------------------------------------------------------------- torch references
GRU_TO_TORCH = lambda u: np.r_[u:2 * u, 0:u, 2 * u:3 * u]  # noqa: E731  Keras z,r,h -> torch r,z,n


def torch_module(kind, features, units, weights, bidirectional=False, nonlinearity="tanh", reverse_weights=None):
    """A float64 torch RNN/LSTM/GRU carrying Keras-layout weights (and the backward direction's)."""
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[kind]
    extra = {"nonlinearity": nonlinearity} if kind == "rnn" else {}
    module = cls(features, units, batch_first=True, bidirectional=bidirectional, dtype=torch.float64, **extra)
    directions = [("", weights)] + ([("_reverse", reverse_weights)] if bidirectional else [])
    with torch.no_grad():
        for suffix, (kernel, recurrent, bias) in directions:
            if kind == "gru":
                perm = GRU_TO_TORCH(units)
                kernel, recurrent = kernel[:, perm], recurrent[:, perm]
                b_in, b_rec = bias[0][perm], bias[1][perm]
            else:
                b_in, b_rec = bias, np.zeros_like(bias)
            getattr(module, f"weight_ih_l0{suffix}").copy_(t(kernel.T))
            getattr(module, f"weight_hh_l0{suffix}").copy_(t(recurrent.T))
            getattr(module, f"bias_ih_l0{suffix}").copy_(t(b_in))
            getattr(module, f"bias_hh_l0{suffix}").copy_(t(b_rec))
    return module


def torch_run(module, x, initial=None):
    """(outputs (N, T, D*u), final states as numpy arrays of shape (D, N, u))."""
    with torch.no_grad():
        if initial is None:
            out, state = module(t(x))
        else:
            out, state = module(t(x), tuple(t(s[None]) for s in initial) if len(initial) > 1 else t(initial[0][None]))
    states = state if isinstance(state, tuple) else (state,)
    return out.numpy(), [s.numpy() for s in states]


LAYERS = {"lstm": L.LSTM, "gru": L.GRU, "rnn": L.SimpleRNN}


# ======================================================================= forward vs torch
@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_forward_matches_torch(kind, return_sequences, go_backwards):
    n, steps, features, units = 3, 5, 4, 6
    layer = LAYERS[kind](units, return_sequences=return_sequences, return_state=True, go_backwards=go_backwards,
                         dtype="float64")
    weights = built(layer, features)
    x = rand(n, steps, features)
    output, *states = layer(G(x))
    assert len(states) == (2 if kind == "lstm" else 1)
    # go_backwards processes the reversed sequence and returns outputs in processing order.
    ref_out, ref_states = torch_run(torch_module(kind, features, units, weights), x[:, ::-1] if go_backwards else x)
    expected = ref_out if return_sequences else ref_out[:, -1]
    np.testing.assert_allclose(np_out(output), expected, rtol=1e-10, atol=1e-12)
    for got, ref in zip(states, ref_states):
        np.testing.assert_allclose(np_out(got), ref[0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_initial_state_matches_torch(kind):
    n, steps, features, units = 2, 4, 3, 5
    layer = LAYERS[kind](units, return_sequences=True, dtype="float64")
    weights = built(layer, features)
    x = rand(n, steps, features)
    initial = [rand(n, units) for _ in range(2 if kind == "lstm" else 1)]
    got = layer(G(x), initial_state=initial if kind == "lstm" else initial[0])
    ref, _ = torch_run(torch_module(kind, features, units, weights), x, initial)
    np.testing.assert_allclose(np_out(got), ref, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="initial state"):
        layer(G(x), initial_state=initial * 3)


def test_simple_rnn_relu_matches_torch():
    layer = L.SimpleRNN(4, activation="relu", return_sequences=True, dtype="float64")
    weights = built(layer, 3)
    x = rand(2, 6, 3)
    ref, _ = torch_run(torch_module("rnn", 3, 4, weights, nonlinearity="relu"), x)
    np.testing.assert_allclose(layer(G(x)).numpy(), ref, rtol=1e-10, atol=1e-12)


def test_gru_reset_before_matches_reference():
    """reset_after=False (no torch equivalent): hh = tanh(x W_h + (r * h) U_h + b_h), bias (3u,)."""
    units, features = 3, 2
    layer = L.GRU(units, reset_after=False, return_sequences=True, dtype="float64")
    kernel, recurrent, bias = built(layer, features)
    assert bias.shape == (9,)
    x = rand(2, 4, features)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    h = np.zeros((2, units))
    expected = []
    for step in range(4):
        xw = x[:, step] @ kernel + bias
        z = sig(xw[:, :units] + h @ recurrent[:, :units])
        r = sig(xw[:, units:2 * units] + h @ recurrent[:, units:2 * units])
        hh = np.tanh(xw[:, 2 * units:] + (r * h) @ recurrent[:, 2 * units:])
        h = z * h + (1 - z) * hh
        expected.append(h)
    np.testing.assert_allclose(layer(G(x)).numpy(), np.stack(expected, axis=1), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_matches_torch(kind, return_sequences):
    n, steps, features, units = 2, 5, 3, 4
    bi = L.Bidirectional(LAYERS[kind](units, return_sequences=return_sequences, dtype="float64"))
    bi(np.zeros((1, 2, features)))
    weights = random_weights(bi)
    x = rand(n, steps, features)
    module = torch_module(kind, features, units, weights[:3], bidirectional=True, reverse_weights=weights[3:])
    ref_out, ref_states = torch_run(module, x)
    h_n = ref_states[0]
    expected = ref_out if return_sequences else np.concatenate([h_n[0], h_n[1]], axis=-1)
    np.testing.assert_allclose(bi(G(x)).numpy(), expected, rtol=1e-10, atol=1e-12)


def test_bidirectional_merge_modes_and_states():
    n, steps, features, units = 2, 4, 3, 5
    x = rand(n, steps, features)
    base = L.Bidirectional(L.LSTM(units, return_sequences=True, return_state=True, dtype="float64"), merge_mode=None)
    base(G(x))
    weights = random_weights(base)
    out_f, out_b, h_f, c_f, h_b, c_b = base(G(x))
    module = torch_module("lstm", features, units, weights[:3], bidirectional=True, reverse_weights=weights[3:])
    ref_out, (h_n, c_n) = torch_run(module, x)
    np.testing.assert_allclose(out_f.numpy(), ref_out[..., :units], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out_b.numpy(), ref_out[..., units:], rtol=1e-10, atol=1e-12)
    for got, ref in zip((h_f, c_f, h_b, c_b), (h_n[0], c_n[0], h_n[1], c_n[1])):
        np.testing.assert_allclose(got.numpy(), ref, rtol=1e-10, atol=1e-12)
    merged = {"concat": np.concatenate([out_f.numpy(), out_b.numpy()], -1), "sum": out_f.numpy() + out_b.numpy(),
              "mul": out_f.numpy() * out_b.numpy(), "ave": (out_f.numpy() + out_b.numpy()) / 2}
    for mode, expected in merged.items():
        bi = L.Bidirectional(L.LSTM(units, return_sequences=True, return_state=True, dtype="float64"),
                             merge_mode=mode, weights=weights)
        output, *states = bi(G(x))
        assert len(states) == 4
        np.testing.assert_allclose(output.numpy(), expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(states[2].numpy(), h_n[1], rtol=1e-10, atol=1e-12)
    # initial_state: the first half goes to the forward layer, the second to the backward one.
    initial = [rand(n, units) for _ in range(4)]
    got = L.Bidirectional(L.LSTM(units, return_sequences=True, dtype="float64"), weights=weights)(
        G(x), initial_state=initial)
    with torch.no_grad():
        h0 = t(np.stack([initial[0], initial[2]]))
        c0 = t(np.stack([initial[1], initial[3]]))
        ref = module(t(x), (h0, c0))[0].numpy()
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-10, atol=1e-12)


def test_bidirectional_construction():
    lstm = L.LSTM(3, return_sequences=True)
    bi = L.Bidirectional(lstm)
    assert bi.name == "bidirectional"
    assert bi.forward_layer.name == "forward_lstm" and bi.backward_layer.name == "backward_lstm"
    assert not bi.forward_layer.go_backwards and bi.backward_layer.go_backwards
    assert bi.forward_layer.zero_output_for_mask and bi.backward_layer.zero_output_for_mask
    bi(np.zeros((2, 5, 4), np.float32))
    assert bi.count_params() == 2 * lstm_params(4, 3)
    assert [w.shape for w in bi.weights] == [(4, 12), (3, 12), (12,)] * 2
    custom = L.Bidirectional(L.LSTM(3), backward_layer=L.GRU(3, go_backwards=True))
    assert isinstance(custom.backward_layer, L.GRU)
    assert custom(np.zeros((2, 5, 4), np.float32)).shape == (2, 6)
    with pytest.raises(ValueError, match="go_backwards"):
        L.Bidirectional(L.LSTM(3), backward_layer=L.LSTM(3))
    with pytest.raises(ValueError, match="return_sequences"):
        L.Bidirectional(L.LSTM(3), backward_layer=L.LSTM(3, go_backwards=True, return_sequences=True))
    with pytest.raises(ValueError, match="merge_mode"):
        L.Bidirectional(L.LSTM(3), merge_mode="max")
    with pytest.raises(ValueError, match="Layer instance"):
        L.Bidirectional("lstm")
    with pytest.raises(ValueError, match="go_backwards"):
        L.Bidirectional(L.Dense(3))


# ======================================================================= masks
def right_padded(n, steps, lengths, features):
    x = rand(n, steps, features)
    mask = np.arange(steps)[None, :] < np.asarray(lengths)[:, None]
    x[~mask] = 0.0
    return x, mask


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_mask_equals_running_the_prefix(kind, go_backwards):
    steps, features, units, lengths = 6, 3, 4, [6, 3, 1]
    layer = LAYERS[kind](units, return_sequences=True, return_state=True, go_backwards=go_backwards,
                         dtype="float64")
    built(layer, features)
    x, mask = right_padded(3, steps, lengths, features)
    outputs, *states = layer(G(x), mask=mask)
    last = LAYERS[kind].from_config({**layer.get_config(), "return_sequences": False, "return_state": False})
    last(G(x))
    last.set_weights(layer.get_weights())
    final = last(G(x), mask=mask).numpy()
    for i, length in enumerate(lengths):
        prefix = x[i:i + 1, :length]
        ref_outputs, *ref_states = layer(G(prefix))
        ref_outputs = ref_outputs.numpy()[0]
        np.testing.assert_allclose(final[i], ref_outputs[-1], rtol=1e-12, atol=1e-12)
        for got, ref in zip(states, ref_states):
            np.testing.assert_allclose(got.numpy()[i], ref.numpy()[0], rtol=1e-12, atol=1e-12)
        got = outputs.numpy()[i]
        if go_backwards:
            # Processing order: the padded steps come first and output the initial state (zeros).
            np.testing.assert_allclose(got[:steps - length], 0.0, atol=0)
            np.testing.assert_allclose(got[steps - length:], ref_outputs, rtol=1e-12, atol=1e-12)
        else:
            np.testing.assert_allclose(got[:length], ref_outputs, rtol=1e-12, atol=1e-12)
            # Masked steps repeat the last valid output (Keras 3).
            np.testing.assert_allclose(got[length:], np.broadcast_to(ref_outputs[-1], got[length:].shape),
                                       rtol=1e-12, atol=1e-12)


def test_zero_output_for_mask():
    layer = L.GRU(3, return_sequences=True, zero_output_for_mask=True, dtype="float64")
    built(layer, 2)
    x, mask = right_padded(2, 4, [4, 2], 2)
    out = layer(G(x), mask=mask).numpy()
    assert (out[1, 2:] == 0).all() and (out[0] != 0).all()
    last = L.GRU(3, zero_output_for_mask=True, dtype="float64")
    built(last, 2, weights=False)
    last.set_weights(layer.get_weights())
    np.testing.assert_array_equal(last(G(x), mask=mask).numpy(), out[:, -1])  # Keras: the last output, here zeros


def test_bidirectional_mask_equals_prefix():
    steps, features, units, lengths = 5, 3, 4, [5, 2]
    bi = L.Bidirectional(L.LSTM(units, return_sequences=True, dtype="float64"))
    bi(np.zeros((1, 2, features)))
    weights = random_weights(bi)
    last = L.Bidirectional(L.LSTM(units, dtype="float64"), weights=weights)
    x, mask = right_padded(2, steps, lengths, features)
    seq = bi(G(x), mask=mask).numpy()
    final = last(G(x), mask=mask).numpy()
    for i, length in enumerate(lengths):
        prefix = x[i:i + 1, :length]
        np.testing.assert_allclose(seq[i, :length], bi(G(prefix)).numpy()[0], rtol=1e-12, atol=1e-12)
        assert (seq[i, length:] == 0).all()  # zero_output_for_mask in both directions
        np.testing.assert_allclose(final[i], last(G(prefix)).numpy()[0], rtol=1e-12, atol=1e-12)


def test_embedding_mask_flows_through_recurrent_layers():
    ids = np.array([[3, 1, 4, 0, 0], [2, 7, 0, 0, 0]])
    inputs = gk.Input(shape=(None,), dtype="int32")
    x = L.Embedding(10, 4, mask_zero=True)(inputs)
    seq = L.LSTM(6, return_sequences=True)(x)
    assert seq.shape == (None, None, 6)
    out = L.GRU(3)(seq)
    model = gk.Model(inputs, [seq, out])
    got_seq, got = model(ids)
    np.testing.assert_array_equal(got_seq._keras_mask.numpy(), ids != 0)
    assert got._keras_mask is None
    # Same as running each sequence's unpadded prefix.
    for i, length in enumerate([3, 2]):
        ref_seq, ref = model(ids[i:i + 1, :length])
        np.testing.assert_allclose(got.numpy()[i], ref.numpy()[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got_seq.numpy()[i, :length], ref_seq.numpy()[0], rtol=1e-5, atol=1e-6)


def test_compute_mask_structure():
    mask = np.array([[True, False]])
    x = np.zeros((1, 2, 3), np.float32)
    out, h, c = L.LSTM(2, return_sequences=True, return_state=True)(x, mask=mask)
    np.testing.assert_array_equal(np_out(out._keras_mask), mask)
    assert h._keras_mask is None and c._keras_mask is None
    assert L.LSTM(2)(x, mask=mask)._keras_mask is None
    fw, bw, *states = L.Bidirectional(L.GRU(2, return_sequences=True, return_state=True), merge_mode=None)(
        x, mask=mask)
    assert fw._keras_mask is not None and bw._keras_mask is not None and len(states) == 2
    assert all(s._keras_mask is None for s in states)


# ======================================================================= gradients
def layer_gradcheck(layer, x, call_kwargs=None, eps=1e-6, rtol=1e-5, atol=1e-7, seed=0):
    """Tape gradients of ``sum_k sum(out_k * w_k)`` w.r.t. the input and every trainable weight (and
    initial states passed as arrays) against float64 central differences."""
    call_kwargs = dict(call_kwargs or {})
    states = [np.array(s, dtype=np.float64) for s in call_kwargs.pop("initial_state", [])]
    x = np.array(x, dtype=np.float64)

    def run(xv, sv):
        kwargs = dict(call_kwargs)
        if sv:
            kwargs["initial_state"] = sv
        out = layer(xv, **kwargs)
        return list(out) if isinstance(out, (list, tuple)) else [out]

    xt = gk.constant(x, dtype="float64")
    st = [gk.constant(s, dtype="float64") for s in states]
    run(xt, st)  # build
    with gk.GradientTape() as tape:
        tape.watch(xt)
        for s in st:
            tape.watch(s)
        outs = run(xt, st)
    assert all(o.dtype == np.float64 for o in outs)
    rng = np.random.default_rng(seed)
    ws = [rng.standard_normal(o.shape) for o in outs]
    weights = layer.trainable_weights
    analytic = tape.gradient(outs, [xt, *st, *weights], output_gradients=ws)

    def objective():
        with gk.no_grad():
            outs = run(gk.constant(x, dtype="float64"), [gk.constant(s, dtype="float64") for s in states])
            return sum(float(np.sum(o.numpy() * w)) for o, w in zip(outs, ws))

    def numeric(array):
        grad = np.zeros_like(array)
        for j in np.ndindex(array.shape):
            original = array[j]
            array[j] = original + eps
            plus = objective()
            array[j] = original - eps
            minus = objective()
            array[j] = original
            grad[j] = (plus - minus) / (2 * eps)
        return grad

    targets = [x, *states] + [v.data for v in weights]
    names = ["input"] + [f"state {i}" for i in range(len(states))] + [v.name for v in weights]
    for name, a, target in zip(names, analytic, targets):
        assert a is not None, f"no gradient for {name}"
        np.testing.assert_allclose(a.numpy(), numeric(target), rtol=rtol, atol=atol, err_msg=f"gradient of {name}")


MASK = np.array([[True, True, True], [True, True, False]])


@pytest.mark.parametrize("make, kwargs", [
    (lambda: L.LSTM(2, return_sequences=True, return_state=True, dtype="float64"),
     {"mask": MASK, "initial_state": [rand(2, 2), rand(2, 2)]}),
    (lambda: L.GRU(2, go_backwards=True, return_state=True, dtype="float64"), {"mask": MASK}),
    (lambda: L.GRU(2, reset_after=False, return_sequences=True, dtype="float64"), {"mask": MASK}),
    (lambda: L.SimpleRNN(3, return_sequences=True, go_backwards=True, dtype="float64"),
     {"mask": MASK, "initial_state": rand(2, 3)}),
    (lambda: L.Bidirectional(L.LSTM(2, return_sequences=True, dtype="float64"), merge_mode="sum"),
     {"mask": MASK}),
    (lambda: L.LSTM(2, activation="relu", return_sequences=True, dtype="float64"), {"mask": MASK}),  # generic path
], ids=["lstm", "gru_backwards", "gru_reset_before", "simple_rnn", "bidirectional", "lstm_generic"])
def test_gradients_match_finite_differences(make, kwargs):
    layer = make()
    x = rand(2, 3, 2)
    kwargs = dict(kwargs)
    if "initial_state" in kwargs and not isinstance(kwargs["initial_state"], list):
        kwargs["initial_state"] = [kwargs["initial_state"]]
    layer(G(x), **kwargs)
    random_weights(layer)
    layer_gradcheck(layer, x, kwargs)


# ======================================================================= generic (unfused) path
def tanh_fn(x):
    return gk.ops.tanh(x)


def sigmoid_fn(x):
    return gk.ops.sigmoid(x)


@pytest.mark.parametrize("kind, kwargs", [
    ("lstm", {}), ("gru", {}), ("gru", {"reset_after": False}), ("rnn", {}),
])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("zero_output", [False, True])
def test_generic_path_equals_fused(kind, kwargs, go_backwards, zero_output):
    """Activations given as other callables run the step loop; its numbers equal the fused kernels'."""
    common = dict(return_sequences=True, return_state=True, go_backwards=go_backwards,
                  zero_output_for_mask=zero_output, dtype="float64", **kwargs)
    fused = LAYERS[kind](4, **common)
    custom = {"activation": tanh_fn} if kind == "rnn" else {"activation": tanh_fn, "recurrent_activation": sigmoid_fn}
    generic = LAYERS[kind](4, **custom, **common)
    weights = built(fused, 3)
    built(generic, 3, weights=False)
    generic.set_weights(weights)
    x, mask = right_padded(3, 5, [5, 3, 1], 3)
    for a, b in zip(fused(G(x), mask=mask), generic(G(x), mask=mask)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-13)


# ======================================================================= dropout
def test_input_dropout_is_one_mask_per_sequence():
    """SimpleRNN(linear, kernel=I, recurrent=0): each output step is the dropped-out input step."""
    layer = L.SimpleRNN(64, activation=None, use_bias=False, dropout=0.5, seed=3)
    layer(np.zeros((1, 1, 64), np.float32))
    layer.set_weights([np.eye(64), np.zeros((64, 64))])
    x = np.ones((4, 6, 64), np.float32)
    np.testing.assert_array_equal(layer(G(x), training=False).numpy(), x[:, -1])
    seq_layer = L.SimpleRNN(64, activation=None, use_bias=False, dropout=0.5, seed=3, return_sequences=True)
    seq_layer(x[:, :1])
    seq_layer.set_weights([np.eye(64), np.zeros((64, 64))])
    out = seq_layer(x, training=True).numpy()
    assert set(np.unique(out)) <= {0.0, 2.0}
    np.testing.assert_array_equal(out, np.broadcast_to(out[:, :1], out.shape))  # shared across time
    assert 0.2 < (out == 0).mean() < 0.8
    assert not np.array_equal(out[0, 0], out[1, 0])  # drawn per sequence
    np.testing.assert_array_equal(seq_layer(x).numpy(), x)  # inference: no dropout


def test_dropout_in_training_changes_lstm_and_gradients_flow():
    layer = L.LSTM(5, dropout=0.3, seed=1)
    x = RNG.standard_normal((4, 3, 6)).astype(np.float32)
    base = layer(G(x)).numpy()
    xt = gk.constant(x)
    with gk.GradientTape() as tape:
        tape.watch(xt)
        out = layer(xt, training=True)
    assert not np.allclose(out.numpy(), base)
    grads = tape.gradient(out, [xt, *layer.trainable_weights])
    assert all(g is not None for g in grads)
    dropped = (grads[0].numpy() == 0).all(axis=1)  # a dropped feature gets no gradient at any step
    assert dropped.any()


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_recurrent_dropout(kind):
    """Inference ignores recurrent_dropout (fused path); training runs the step loop with masks."""
    layer = LAYERS[kind](4, recurrent_dropout=0.5, dropout=0.2, seed=0, return_sequences=True)
    plain = LAYERS[kind](4, return_sequences=True)
    x = RNG.standard_normal((3, 5, 2)).astype(np.float32)
    weights = built(layer, 2)
    built(plain, 2, weights=False)
    plain.set_weights(weights)
    np.testing.assert_allclose(layer(G(x)).numpy(), plain(x).numpy(), rtol=1e-6)
    xt = gk.constant(x)
    with gk.GradientTape() as tape:
        tape.watch(xt)
        out = layer(xt, training=True)
    assert out.shape == (3, 5, 4) and not np.allclose(out.numpy(), plain(x).numpy())
    assert all(g is not None for g in tape.gradient(out, [xt, *layer.trainable_weights]))


# ======================================================================= shapes, params, configs
def lstm_params(features, units):
    return 4 * (features * units + units * units + units)


def test_parameter_counts_match_keras():
    def count(layer, features):
        layer(np.zeros((1, 2, features), np.float32))
        return layer.count_params()
    assert count(L.LSTM(128), 64) == 98_816
    assert count(L.LSTM(32), 64) == 12_416
    assert count(L.GRU(16), 10) == 3 * (10 * 16 + 16 * 16 + 2 * 16) == 1_344
    assert count(L.GRU(16, reset_after=False), 10) == 3 * (10 * 16 + 16 * 16 + 16)
    assert count(L.SimpleRNN(8), 5) == 5 * 8 + 8 * 8 + 8 == 112
    assert count(L.LSTM(4, use_bias=False), 3) == 4 * (3 * 4 + 4 * 4)
    assert count(L.Bidirectional(L.LSTM(64)), 32) == 2 * lstm_params(32, 64)


def test_weights_names_shapes_and_initializers():
    lstm = L.LSTM(3)
    lstm(np.zeros((1, 2, 5), np.float32))
    assert [w.name.split("/")[-1] for w in lstm.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert [w.shape for w in lstm.weights] == [(5, 12), (3, 12), (12,)]
    np.testing.assert_array_equal(lstm.bias.numpy(), [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])  # unit_forget_bias
    rk = lstm.recurrent_kernel.numpy()  # orthogonal: (3, 12) has orthonormal rows
    np.testing.assert_allclose(rk @ rk.T, np.eye(3), atol=1e-5)
    no_forget = L.LSTM(2, unit_forget_bias=False, bias_initializer="ones")
    no_forget(np.zeros((1, 2, 3), np.float32))
    np.testing.assert_array_equal(no_forget.bias.numpy(), np.ones(8))
    gru = L.GRU(3)
    gru(np.zeros((1, 2, 5), np.float32))
    assert [w.shape for w in gru.weights] == [(5, 9), (3, 9), (2, 9)]


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_symbolic_shapes(kind):
    states = 2 if kind == "lstm" else 1
    inputs = gk.Input(shape=(None, 8))
    out = LAYERS[kind](4, return_sequences=True, return_state=True)(inputs)
    assert isinstance(out, tuple) and [o.shape for o in out] == [(None, None, 4)] + [(None, 4)] * states
    assert LAYERS[kind](4)(inputs).shape == (None, 4)
    fixed = gk.Input(shape=(7, 8))
    assert LAYERS[kind](5, return_sequences=True)(fixed).shape == (None, 7, 5)
    bi = L.Bidirectional(LAYERS[kind](4, return_sequences=True, return_state=True))(inputs)
    assert [o.shape for o in bi] == [(None, None, 8)] + [(None, 4)] * (2 * states)
    pair = L.Bidirectional(LAYERS[kind](4), merge_mode=None)(inputs)
    assert [o.shape for o in pair] == [(None, 4), (None, 4)]
    with pytest.raises(ValueError, match="unroll"):
        LAYERS[kind](4, unroll=True)(inputs)
    with pytest.raises(ValueError):
        LAYERS[kind](4)(gk.Input(shape=(8,)))


def test_symbolic_initial_state_and_encoder_decoder():
    enc_in, dec_in = gk.Input(shape=(None, 3)), gk.Input(shape=(None, 2))
    _, h, c = L.LSTM(4, return_state=True)(enc_in)
    dec = L.LSTM(4, return_sequences=True)(dec_in, initial_state=[h, c])
    model = gk.Model([enc_in, dec_in], dec)
    a, b = RNG.standard_normal((2, 5, 3)), RNG.standard_normal((2, 6, 2))
    out = model([a, b])
    assert out.shape == (2, 6, 4)
    encoder, decoder = model.layers[2], model.layers[3]
    _, h_e, c_e = encoder(a)
    np.testing.assert_allclose(out.numpy(), decoder(b, initial_state=[h_e, c_e]).numpy(), rtol=1e-6)
    clone = gk.Model.from_config(json.loads(json.dumps(model.get_config())))
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone([a, b]).numpy(), out.numpy(), rtol=1e-6)


def config_roundtrip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config
    return config, clone


RNN_KEYS = ["name", "trainable", "dtype", "return_sequences", "return_state", "go_backwards", "stateful", "unroll",
            "zero_output_for_mask", "units", "activation"]
REGULARIZER_KEYS = ["kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer",
                    "kernel_constraint", "recurrent_constraint", "bias_constraint"]
INIT_KEYS = ["kernel_initializer", "recurrent_initializer", "bias_initializer"]


def test_configs_match_keras_and_round_trip():
    lstm_config, clone = config_roundtrip(L.LSTM(7, return_sequences=True, go_backwards=True, dropout=0.25, seed=4))
    assert list(lstm_config) == RNN_KEYS + ["recurrent_activation", "use_bias", *INIT_KEYS, "unit_forget_bias",
                                            *REGULARIZER_KEYS, "dropout", "recurrent_dropout", "seed"]
    assert lstm_config["kernel_initializer"] == {"module": "keras.initializers", "class_name": "GlorotUniform",
                                                 "config": {"seed": None}, "registered_name": None}
    assert lstm_config["recurrent_initializer"]["class_name"] == "Orthogonal"
    assert clone.go_backwards and clone.dropout == 0.25 and clone.units == 7
    gru_config, _ = config_roundtrip(L.GRU(3, reset_after=False, activation="relu"))
    assert list(gru_config) == RNN_KEYS + ["recurrent_activation", "use_bias", *INIT_KEYS, *REGULARIZER_KEYS,
                                           "dropout", "recurrent_dropout", "reset_after", "seed"]
    assert gru_config["activation"] == "relu" and gru_config["reset_after"] is False
    rnn_config, _ = config_roundtrip(L.SimpleRNN(2, activation=None))
    assert list(rnn_config) == RNN_KEYS + ["use_bias", *INIT_KEYS, *REGULARIZER_KEYS, "dropout",
                                           "recurrent_dropout", "seed"]
    assert rnn_config["activation"] == "linear"
    # Keras's own keys are accepted (use_cudnn, implementation).
    assert L.LSTM(2, use_cudnn=False, implementation=1).units == 2


def test_bidirectional_config_round_trip():
    bi = L.Bidirectional(L.GRU(3, return_sequences=True), merge_mode="ave", name="bi")
    bi(np.zeros((2, 4, 5), np.float32))
    config, clone = config_roundtrip(bi)
    assert list(config) == ["name", "trainable", "dtype", "merge_mode", "layer", "backward_layer"]
    assert config["layer"]["class_name"] == "GRU" and config["layer"]["module"] == "keras.layers"
    assert config["layer"]["config"]["name"] == "forward_gru"
    assert config["backward_layer"]["config"]["go_backwards"] is True
    assert config["layer"]["build_config"] == {"input_shape": [2, 4, 5]}
    assert clone.forward_layer.built and clone.backward_layer.built and clone.forward_layer.name == "forward_gru" and clone.merge_mode == "ave"
    clone.set_weights(bi.get_weights())
    x = RNG.standard_normal((2, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(clone(x).numpy(), bi(G(x)).numpy(), rtol=1e-6)
    # Inside a model, through JSON.
    inputs = gk.Input(shape=(None, 5))
    model = gk.Model(inputs, L.Dense(2)(L.Bidirectional(L.LSTM(3))(inputs)))
    copy = gk.Model.from_config(json.loads(json.dumps(model.get_config())))
    copy.set_weights(model.get_weights())
    np.testing.assert_allclose(copy(x).numpy(), model(x).numpy(), rtol=1e-6)


def test_sequential_stack_trains():
    model = gk.Sequential([gk.Input(shape=(None,), dtype="int32"), L.Embedding(20, 8, mask_zero=True),
                           L.Bidirectional(L.LSTM(6, return_sequences=True)), L.GRU(5), L.Dense(1)])
    ids = np.array([[1, 5, 7, 0], [3, 2, 0, 0]])
    with gk.GradientTape() as tape:
        loss = gk.ops.sum(gk.ops.square(model(ids)))
    grads = tape.gradient(loss, model.trainable_weights)
    assert len(grads) == len(model.trainable_weights) == 1 + 6 + 3 + 2
    assert all(g is not None and np.isfinite(g.numpy()).all() for g in grads)


def test_argument_validation():
    with pytest.raises(ValueError, match="units"):
        L.LSTM(0)
    with pytest.raises(ValueError, match="units"):
        L.GRU(2.5)
    with pytest.raises(NotImplementedError, match="stateful"):
        L.LSTM(2, stateful=True)
    with pytest.raises(NotImplementedError, match="kernel_regularizer"):
        L.GRU(2, kernel_regularizer="l2")
    with pytest.raises(ValueError, match="use_cudnn"):
        L.LSTM(2, use_cudnn="yes")
    with pytest.raises(TypeError, match="dropout"):
        L.SimpleRNN(2, dropout="0.5")
    assert L.SimpleRNN(2, dropout=1.5).dropout == 1.0  # clipped, as Keras does
    layer = L.LSTM(2)
    layer(np.zeros((1, 3, 4), np.float32))
    with pytest.raises(ValueError, match=r"LSTM 'lstm_\d+' expected last dim 4"):
        layer(np.zeros((1, 3, 5), np.float32))
