"""The Functional API: gk.Input, gk.Model(inputs, outputs), Sequential, subclassed models, layer lifecycle.

Only Dense, Activation and gk.Input are used from the library, plus tiny custom layers defined here.
"""
from __future__ import annotations

import sys

import numpy as np
import pytest

import graphkit as gk
from graphkit.layers import Activation, Dense, Layer

RNG = np.random.default_rng(0)


def data(*shape):
    return RNG.standard_normal(shape).astype("float32")


def relu(a):
    return np.maximum(a, 0)


# ----------------------------------------------------------------------------- tiny custom layers
class Scale(Layer):
    """Multiplies by a trainable scalar and keeps a non-trainable call counter."""

    def __init__(self, init=2.0, **kwargs):
        super().__init__(**kwargs)
        self.init = init
        self.build_calls = []

    def build(self, input_shape):
        self.build_calls.append(input_shape)
        self.count = self.add_weight((), "zeros", trainable=False, name="count")
        self.alpha = self.add_weight((), gk.initializers.get("ones"), name="alpha")
        self.alpha.assign(self.init)

    def call(self, x):
        return x * self.alpha


class SumAxis1(Layer):
    """No compute_output_shape: the output shape must come from the dry run."""

    def call(self, x):
        return gk.ops.sum(x, axis=1)


class Mean(Layer):
    """Averages a list of tensors (for ensembles)."""

    def call(self, inputs):
        total = inputs[0]
        for t in inputs[1:]:
            total = total + t
        return total / len(inputs)


class RecordTraining(Layer):
    """Records the `training` value each call received."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, x, training=None):
        self.seen.append(training)
        return x


class MakeMask(Layer):
    """Passes data through; its mask says which entries of the first feature are positive."""

    def call(self, x):
        return x

    def compute_mask(self, inputs, mask=None):
        return inputs.numpy()[:, 0] > 0


class ReadMask(Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.masks = []

    def call(self, x, mask=None):
        self.masks.append(mask)
        return x + 0


# ----------------------------------------------------------------------------- gk.Input
def test_input_shape_dtype_name():
    x = gk.Input((3,), name="features")
    assert x.shape == (None, 3)
    assert x.dtype == np.float32
    assert x.name == "features"
    assert gk.Input(5).shape == (None, 5)
    assert gk.Input((None, 4)).shape == (None, None, 4)
    assert gk.Input((3,), batch_size=8).shape == (8, 3)
    assert gk.Input(batch_shape=(2, 7)).shape == (2, 7)
    assert gk.Input((2,), dtype="int32").dtype == np.int32
    assert x._keras_history[0].name == "features"
    with pytest.raises(ValueError, match="shape"):
        gk.Input()


def test_input_names_are_unique_by_default():
    a, b = gk.Input((1,)), gk.Input((1,))
    assert a.name != b.name


@pytest.mark.parametrize("use", [np.asarray, bool, float, int, lambda t: t.numpy()])
def test_symbolic_tensor_refuses_to_be_data(use):
    x = gk.Input((3,), name="x")
    with pytest.raises(TypeError, match="holds no data.*gk.Model"):
        use(x)


def test_symbolic_tensor_as_data_in_a_model_call_explains():
    x = gk.Input((3,), name="x")
    model = gk.Model(x, Dense(2)(x))
    other = gk.Input((3,), name="other")
    # Calling a model on a symbolic tensor is graph building, not data: fine.
    assert model(other).shape == (None, 2)
    with pytest.raises(TypeError, match="holds no data"):
        gk.constant(other)
    with pytest.raises(TypeError, match="holds no data"):
        np.ones((2, 3)) @ np.asarray(other)


# ----------------------------------------------------------------------------- single/list/dict
def test_single_input_output_equals_hand_computation():
    x = gk.Input((3,))
    h = Dense(4, activation="relu")(x)
    y = Dense(2)(h)
    model = gk.Model(x, y)
    assert y.shape == (None, 2)
    k1, b1, k2, b2 = model.get_weights()
    assert [w.shape for w in (k1, b1, k2, b2)] == [(3, 4), (4,), (4, 2), (2,)]
    batch = data(5, 3)
    out = model(batch)
    assert isinstance(out, gk.Tensor)
    np.testing.assert_allclose(out.numpy(), relu(batch @ k1 + b1) @ k2 + b2, rtol=1e-5, atol=1e-6)
    # a Tensor input and a float64 list input give the same result
    np.testing.assert_allclose(model(gk.constant(batch)).numpy(), out.numpy())
    np.testing.assert_allclose(model(batch.astype("float64").tolist()).numpy(), out.numpy(), rtol=1e-6)


def test_list_inputs_and_outputs():
    a, b = gk.Input((3,), name="a"), gk.Input((2,), name="b")
    da, db = Dense(4, name="da"), Dense(4, name="db")
    oa, ob = da(a), db(b)
    model = gk.Model([a, b], [oa, Mean()([oa, ob])])
    assert model.input_names == ["a", "b"]
    xa, xb = data(6, 3), data(6, 2)
    out = model([xa, xb])
    assert isinstance(out, list) and len(out) == 2
    ka, ba = da.get_weights()
    kb, bb = db.get_weights()
    ea, eb = xa @ ka + ba, xb @ kb + bb
    np.testing.assert_allclose(out[0].numpy(), ea, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[1].numpy(), (ea + eb) / 2, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="expects 2 input"):
        model([xa])


def test_dict_inputs_by_name_and_dict_outputs():
    a, b = gk.Input((3,), name="a"), gk.Input((2,), name="b")
    da, db = Dense(1, name="score"), Dense(2, name="cls")
    model = gk.Model({"a": a, "b": b}, {"score": da(a), "cls": db(b)})
    xa, xb = data(4, 3), data(4, 2)
    out = model({"b": xb, "a": xa})  # keys in any order
    assert isinstance(out, dict) and set(out) == {"score", "cls"}
    np.testing.assert_allclose(out["score"].numpy(), xa @ da.get_weights()[0] + da.get_weights()[1], rtol=1e-5)
    np.testing.assert_allclose(out["cls"].numpy(), xb @ db.get_weights()[0] + db.get_weights()[1], rtol=1e-5)
    with pytest.raises(ValueError, match="missing \\['b'\\]"):
        model({"a": xa})


def test_list_model_accepts_dict_by_input_name():
    a, b = gk.Input((3,), name="left"), gk.Input((3,), name="right")
    model = gk.Model([a, b], Mean()([a, b]))
    xa, xb = data(2, 3), data(2, 3)
    np.testing.assert_allclose(model({"right": xb, "left": xa}).numpy(), (xa + xb) / 2, rtol=1e-6)


def test_dict_inputs_matched_by_dict_keys():
    a, b = gk.Input((3,), name="in_a"), gk.Input((3,), name="in_b")
    model = gk.Model({"first": a, "second": b}, Mean()([a, b]))
    xa, xb = data(2, 3), data(2, 3)
    np.testing.assert_allclose(model({"second": xb, "first": xa}).numpy(), (xa + xb) / 2, rtol=1e-6)


def test_model_input_output_properties():
    x = gk.Input((3,), name="x")
    y = Dense(2)(x)
    model = gk.Model(x, y)
    assert model.input is x and model.output is y
    assert model.inputs == [x] and model.outputs == [y]
    # still the construction tensors after the model is called on new inputs
    model(gk.Input((3,)))
    assert model.input is x and model.output is y
    assert model.input_shape == (None, 3) and model.output_shape == (None, 2)


# ----------------------------------------------------------------------------- nesting and sharing
def _mlp(name=None):
    x = gk.Input((3,))
    h = Dense(4, activation="relu")(x)
    return gk.Model(x, Dense(2)(h), name=name)


def test_model_as_layer_reuses_weights():
    inner = _mlp("inner")
    z = gk.Input((3,))
    head = Dense(1, name="head")
    outer = gk.Model(z, head(inner(z)))
    assert [l.name for l in outer.layers][1:] == ["inner", "head"]
    assert len(outer.weights) == 6
    for mine, theirs in zip(outer.weights[:4], inner.weights):
        assert mine is theirs
    batch = data(3, 3)
    expected = inner(batch).numpy() @ head.get_weights()[0] + head.get_weights()[1]
    np.testing.assert_allclose(outer(batch).numpy(), expected, rtol=1e-5, atol=1e-6)
    # changing the inner model's weights changes the outer model
    inner.set_weights([w * 0 for w in inner.get_weights()])
    np.testing.assert_allclose(outer(batch).numpy(), np.broadcast_to(head.get_weights()[1], (3, 1)))


def test_calling_model_on_new_inputs_shares_variables():
    model = _mlp()
    a, b = gk.Input((3,)), gk.Input((3,))
    twin = gk.Model([a, b], [model(a), model(b)])
    assert len(twin.weights) == 4
    assert all(w1 is w2 for w1, w2 in zip(twin.weights, model.weights))
    batch = data(2, 3)
    out = twin([batch, batch])
    np.testing.assert_allclose(out[0].numpy(), model(batch).numpy())
    np.testing.assert_allclose(out[1].numpy(), model(batch).numpy())


def test_feature_extraction_submodel_shares_weights():
    x = gk.Input((3,))
    h1 = Dense(5, activation="relu")(x)
    h2 = Dense(4, activation="relu")(h1)
    model = gk.Model(x, Dense(2)(h2))
    assert isinstance(model.layers[0], gk.layers.InputLayer)
    features = gk.Model(model.inputs, model.layers[2].output)
    assert features.layers == model.layers[:3]
    assert all(a is b for a, b in zip(features.weights, model.weights[:4]))
    batch = data(4, 3)
    k1, b1, k2, b2 = model.get_weights()[:4]
    np.testing.assert_allclose(features(batch).numpy(), relu(relu(batch @ k1 + b1) @ k2 + b2), rtol=1e-5,
                               atol=1e-6)
    # several outputs, including an intermediate one
    both = gk.Model(model.input, [model.layers[1].output, model.output])
    assert [t.shape for t in both(batch)] == [(4, 5), (4, 2)]


def test_shared_layer_one_node_per_call():
    shared = Dense(3, name="shared")
    a, b = gk.Input((3,), name="a"), gk.Input((3,), name="b")
    oa, ob = shared(a), shared(b)
    assert len(shared._inbound_nodes) == 2
    with pytest.raises(AttributeError, match="'shared'.*ambiguous"):
        shared.input
    with pytest.raises(AttributeError, match="'shared'.*ambiguous"):
        shared.output
    assert shared.get_input_at(0) is a and shared.get_input_at(1) is b
    assert shared.get_output_at(0) is oa and shared.get_output_at(1) is ob
    model = gk.Model([a, b], Mean()([oa, ob]))
    assert len(model.weights) == 2
    xa, xb = data(2, 3), data(2, 3)
    k, bias = shared.get_weights()
    np.testing.assert_allclose(model([xa, xb]).numpy(), ((xa @ k + bias) + (xb @ k + bias)) / 2, rtol=1e-5,
                               atol=1e-6)


def test_ensemble_average():
    members = [_mlp(f"member_{i}") for i in range(3)]
    x = gk.Input((3,))
    ensemble = gk.Model(x, Mean()([m(x) for m in members]))
    assert len(ensemble.weights) == 12
    batch = data(5, 3)
    expected = np.mean([m(batch).numpy() for m in members], axis=0)
    np.testing.assert_allclose(ensemble(batch).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_layer_input_output_single_call():
    x = gk.Input((3,))
    d = Dense(2)
    with pytest.raises(AttributeError, match="never been called"):
        d.output
    y = d(x)
    assert d.input is x and d.output is y


# ----------------------------------------------------------------------------- Sequential
def test_sequential_deferred_build():
    model = gk.Sequential([Dense(4, activation="relu"), Dense(2)])
    assert not model.built and model.weights == []
    with pytest.raises(ValueError, match="not built"):
        model.count_params()
    batch = data(3, 5)
    out = model(batch)
    assert model.built and out.shape == (3, 2)
    k1, b1, k2, b2 = model.get_weights()
    assert k1.shape == (5, 4)
    np.testing.assert_allclose(out.numpy(), relu(batch @ k1 + b1) @ k2 + b2, rtol=1e-5, atol=1e-6)
    assert model.count_params() == 5 * 4 + 4 + 4 * 2 + 2
    # the deferred input keeps the batch dimension unknown
    assert model(data(7, 5)).shape == (7, 2)


def test_sequential_with_input_and_input_shape():
    model = gk.Sequential([gk.Input((5,)), Dense(4), Dense(2)])
    assert model.built and model.count_params() == 24 + 10
    assert model.output_shape == (None, 2)
    assert len(model.layers) == 2  # the InputLayer is not listed (Keras)
    model2 = gk.Sequential([Dense(4, input_shape=(5,)), Dense(2)])
    assert model2.built and model2.count_params() == 34
    assert model2.inputs[0].shape == (None, 5)


def test_sequential_add_and_pop():
    model = gk.Sequential()
    model.add(gk.Input((3,)))
    first = Dense(4)
    model.add(first)
    assert model.built and model(data(2, 3)).shape == (2, 4)
    model.add(Dense(5))
    assert model(data(2, 3)).shape == (2, 5)
    assert len(first._inbound_nodes) == 1  # adding does not call earlier layers again
    assert first.output.shape == (None, 4)
    last = model.pop()
    assert last.units == 5
    assert model(data(2, 3)).shape == (2, 4)
    assert len(model.weights) == 2
    model.add(Dense(1))
    assert model(data(2, 3)).shape == (2, 1)
    with pytest.raises(ValueError, match="duplicate layer name"):
        model.add(Dense(2, name=first.name))
    with pytest.raises(TypeError, match="expects a layer"):
        model.add("dense")


def test_sequential_add_without_input_defers():
    model = gk.Sequential()
    model.add(Dense(3))
    model.add(Dense(2))
    assert not model.built
    assert model(data(4, 6)).shape == (4, 2)
    model.add(Dense(1))
    assert model(data(4, 6)).shape == (4, 1)


def test_sequential_in_functional_and_nested():
    seq = gk.Sequential([Dense(4, activation="relu"), Dense(2)])
    x = gk.Input((3,))
    y = Activation("sigmoid")(seq(x))
    assert y.shape == (None, 2)
    model = gk.Model(x, y)
    assert all(a is b for a, b in zip(model.weights, seq.weights))
    batch = data(2, 3)
    np.testing.assert_allclose(model(batch).numpy(), 1 / (1 + np.exp(-seq(batch).numpy())), rtol=1e-5)
    outer = gk.Sequential([seq, Dense(1)])
    assert outer(batch).shape == (2, 1)
    assert outer.weights[:4] == seq.weights


def test_sequential_symbolic_input_property():
    model = gk.Sequential([gk.Input((3,), name="seq_in"), Dense(2)])
    assert model.input.shape == (None, 3)
    assert model.output.shape == (None, 2)
    feats = gk.Model(model.inputs, model.layers[0].output)
    assert feats(data(1, 3)).shape == (1, 2)


# ----------------------------------------------------------------------------- subclassing and mixing
class Tower(gk.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        x = gk.Input((3,))
        self.encoder = gk.Model(x, Dense(4, activation="relu", name="enc")(x), name="encoder")
        self.head = gk.Sequential([Dense(3, name="h1"), Dense(1, name="h2")], name="head_seq")
        self.probe = RecordTraining(name="probe")

    def call(self, inputs, training=None):
        return self.probe(self.head(self.encoder(inputs)))


def test_subclassed_model_with_functional_and_sequential():
    model = Tower()
    batch = data(2, 3)
    out = model(batch)
    assert out.shape == (2, 1)
    names = [w.name for w in model.weights]
    assert names == ["enc/kernel", "enc/bias", "h1/kernel", "h1/bias", "h2/kernel", "h2/bias"]
    ek, eb, k1, b1, k2, b2 = model.get_weights()
    np.testing.assert_allclose(out.numpy(), (relu(batch @ ek + eb) @ k1 + b1) @ k2 + b2, rtol=1e-5, atol=1e-6)
    assert [l.name for l in model.layers] == ["encoder", "head_seq", "probe"]
    model(batch, training=True)
    assert model.probe.seen == [None, True]


def test_functional_model_containing_subclassed_model():
    tower = Tower()
    x = gk.Input((3,))
    y = tower(x)
    assert y.shape == (None, 1)
    model = gk.Model(x, Activation("tanh")(y))
    assert len(model.weights) == 6
    assert all(a is b for a, b in zip(model.weights, tower.weights))
    batch = data(2, 3)
    np.testing.assert_allclose(model(batch).numpy(), np.tanh(tower(batch).numpy()), rtol=1e-5)


def test_weight_order_layer_order_trainable_first():
    x = gk.Input((2,))
    s = Scale(name="scale")
    y = Dense(3, name="d2")(s(Dense(2, name="d1")(x)))
    model = gk.Model(x, y)
    assert [w.name for w in s.weights] == ["scale/alpha", "scale/count"]
    assert [w.name for w in model.weights] == ["d1/kernel", "d1/bias", "scale/alpha", "scale/count",
                                               "d2/kernel", "d2/bias"]
    assert [w.name for w in model.trainable_weights] == ["d1/kernel", "d1/bias", "scale/alpha", "d2/kernel",
                                                         "d2/bias"]
    assert [w.name for w in model.non_trainable_weights] == ["scale/count"]
    assert model.count_params() == 6 + 2 + 9  # d1 (2->2), scale (2 scalars), d2 (2->3)


# ----------------------------------------------------------------------------- layer lifecycle
def test_build_called_once_with_input_shape():
    s = Scale()
    assert not s.built
    s(data(2, 3))
    s(data(4, 3))
    assert s.built and s.build_calls == [(2, 3)]
    t = Scale()
    x = gk.Input((5,))
    t(x)
    t(gk.Input((5,)))
    assert t.build_calls == [(None, 5)]


def test_output_shape_from_dry_run_with_unknown_dims():
    x = gk.Input((None, 4))
    y = SumAxis1()(x)
    assert y.shape == (None, 4)
    x2 = gk.Input((6, 4), batch_size=3)
    assert SumAxis1()(x2).shape == (3, 4)
    model = gk.Model(x, y)
    np.testing.assert_allclose(model(np.ones((2, 7, 4))).numpy(), np.full((2, 4), 7.0))


def test_dry_run_does_not_record_on_tapes_or_touch_data():
    x = gk.Input((3,))
    s = Scale()
    with gk.GradientTape():
        s(x)
    assert s.alpha.numpy() == 2.0


def test_trainable_freezing_and_tape():
    x = gk.Input((3,))
    d1, d2 = Dense(4, name="d1"), Dense(2, name="d2")
    model = gk.Model(x, d2(d1(x)))
    batch = data(2, 3)

    def grads():
        with gk.GradientTape() as tape:
            loss = gk.ops.sum(model(batch) ** 2)
        return tape.gradient(loss, model.weights)

    d1.trainable = False
    assert d1.trainable_weights == [] and len(d1.non_trainable_weights) == 2
    assert [w.name for w in model.trainable_weights] == ["d2/kernel", "d2/bias"]
    assert [w.name for w in model.weights] == ["d1/kernel", "d1/bias", "d2/kernel", "d2/bias"]
    g = grads()
    assert g[0] is None and g[1] is None and g[2] is not None and g[3] is not None
    d1.trainable = True
    assert len(model.trainable_weights) == 4
    assert all(v is not None for v in grads())
    model.trainable = False
    assert model.trainable_weights == [] and not d1.trainable and not d2.trainable
    assert all(v is None for v in grads())
    model.trainable = True
    assert len(model.trainable_weights) == 4


def test_freezing_keeps_non_trainable_weights_frozen():
    s = Scale()
    s(data(1, 2))
    s.trainable = False
    s.trainable = True
    assert [w.name for w in s.trainable_weights] == [s.alpha.name]
    assert [w.name for w in s.non_trainable_weights] == [s.count.name]


def test_trainable_false_at_construction_freezes_the_layers():
    x = gk.Input((3,))
    d = Dense(2)
    model = gk.Model(x, d(x), trainable=False)
    assert not d.trainable and model.trainable_weights == [] and len(model.weights) == 2
    seq = gk.Sequential([Dense(2, input_shape=(3,))], trainable=False)
    assert seq.trainable_weights == [] and len(seq.weights) == 2


def test_nested_freeze_through_outer_model():
    inner = _mlp("inner")
    x = gk.Input((3,))
    outer = gk.Model(x, Dense(1)(inner(x)))
    inner.trainable = False
    assert len(outer.trainable_weights) == 2
    assert all(not l.trainable for l in inner.layers)


def test_get_set_weights_order_and_errors():
    x = gk.Input((3,))
    model = gk.Model(x, Dense(2, name="out")(Dense(4, name="hid")(x)))
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(3, 4), (4,), (4, 2), (2,)]
    new = [np.full(w.shape, i, "float32") for i, w in enumerate(weights)]
    model.set_weights(new)
    for got, want in zip(model.get_weights(), new):
        np.testing.assert_array_equal(got, want)
    # get_weights returns copies
    model.get_weights()[0][...] = 99
    assert model.get_weights()[0][0, 0] == 0
    before = model.get_weights()
    with pytest.raises(ValueError, match="4 weights.*got 3"):
        model.set_weights(new[:3])
    bad = list(new)
    bad[2] = np.zeros((5, 2), "float32")
    with pytest.raises(ValueError, match="'out'.*out/kernel.*\\(4, 2\\).*\\(5, 2\\)"):
        model.set_weights([w + 1 for w in bad])
    for got, want in zip(model.get_weights(), before):
        np.testing.assert_array_equal(got, want)  # nothing changed
    layer = model.get_layer("hid")
    with pytest.raises(ValueError, match="Layer 'hid'.*weight 'hid/bias'.*\\(4,\\).*\\(5,\\)"):
        layer.set_weights([np.zeros((3, 4)), np.zeros((5,))])
    np.testing.assert_array_equal(layer.get_weights()[0], before[0])


def test_count_params_unbuilt_layer():
    with pytest.raises(ValueError, match="'dense'.*not built"):
        Dense(3).count_params()
    d = Dense(3)
    d(data(2, 4))
    assert d.count_params() == 15


def test_training_propagates_from_model_call():
    x = gk.Input((3,))
    probe = RecordTraining(name="probe")
    model = gk.Model(x, Dense(2)(probe(Dense(3)(x))))
    batch = data(1, 3)
    probe.seen.clear()  # the dry run may have recorded a value
    model(batch)
    model(batch, training=True)
    model(batch, training=False)
    assert probe.seen == [None, True, False]
    # nested: training passes through an outer model into the inner one
    z = gk.Input((3,))
    outer = gk.Model(z, model(z))
    probe.seen.clear()
    outer(batch, training=True)
    outer(batch)
    assert probe.seen == [True, None]


def test_training_kwarg_accepted_by_layers_without_it():
    d = Dense(2)
    assert d(data(1, 3), training=True).shape == (1, 2)
    x = gk.Input((3,))
    assert d(x, training=False).shape == (None, 2)


def test_training_context_for_layers_called_inside_call():
    class Outer(Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.inner = RecordTraining()

        def call(self, x):
            return self.inner(x)

    outer = Outer()
    outer(data(1, 2), training=True)
    outer(data(1, 2))
    assert outer.inner.seen == [True, None]


def test_masks_propagate():
    x = gk.Input((3,))
    reader = ReadMask()
    model = gk.Model(x, reader(Dense(3)(MakeMask()(x))))
    reader.masks.clear()
    batch = np.array([[1.0, 0, 0], [-1.0, 0, 0]], "float32")
    out = model(batch)
    assert len(reader.masks) == 1
    np.testing.assert_array_equal(reader.masks[0], [True, False])  # passed through Dense (supports masking)
    assert getattr(out, "_keras_mask", None) is None  # ReadMask does not support masking


def test_training_recorded_on_a_node_holds_unless_the_model_call_sets_one():
    x = gk.Input((2,))
    probe = RecordTraining()
    model = gk.Model(x, probe(x, training=True))  # e.g. Monte-Carlo dropout
    probe.seen.clear()
    model(data(1, 2))
    model(data(1, 2), training=False)
    assert probe.seen == [True, False]


def test_training_passed_positionally():
    probe = RecordTraining()
    probe(data(1, 2), True)
    assert probe.seen == [True]


def test_inputs_keep_their_input_dtype():
    x = gk.Input((2,), dtype="float64")
    model = gk.Model(x, Activation("linear")(x))
    value = np.array([[1 + 1e-12, 2.0]])
    out = model(value)
    assert out.dtype == np.float64 and out.numpy()[0, 0] != 1.0
    xi = gk.Input((2,), dtype="int32")
    assert gk.Model(xi, RecordTraining()(xi))(np.array([[1, 2]])).dtype == np.int32
    # a float32 model casts float64 data
    assert _mlp()(np.ones((1, 3))).dtype == np.float32


def test_nested_python_lists_are_data():
    model = _mlp()
    assert model([[1.0, 2.0, 3.0]]).shape == (1, 2)
    assert Dense(2)([[1.0, 2.0]]).shape == (1, 2)
    assert gk.Sequential([Dense(2)])([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).shape == (2, 2)


def test_model_keyword_arguments_and_intermediate_inputs():
    x = gk.Input((3,))
    h = Dense(4)(x)
    y = Dense(2)(h)
    model = gk.Model(inputs=x, outputs=y, name="kw")
    assert isinstance(model, gk.models.Functional) and model.name == "kw"
    with pytest.raises(ValueError, match="gk.Input"):
        gk.Model(h, y)


def test_sequential_add_of_a_misfit_layer_changes_nothing():
    model = gk.Sequential([gk.Input((3,)), Dense(2)])
    with pytest.raises(ValueError, match="expected"):
        model.add(ShapeCheck(5))
    assert len(model.layers) == 1 and model.output_shape == (None, 2)


class ShapeCheck(Layer):
    """Accepts only inputs whose last dim is ``size``."""

    def __init__(self, size, **kwargs):
        super().__init__(**kwargs)
        self.input_spec = gk.layers.InputSpec(axes={-1: size})

    def call(self, x):
        return x


# ----------------------------------------------------------------------------- errors (SPEC 10)
def test_wrong_input_shape_names_input_and_shapes():
    x = gk.Input((3,), name="pixels")
    model = gk.Model(x, Dense(2)(x), name="net")
    with pytest.raises(ValueError, match=r"'pixels'.*'net'.*\(None, 3\).*\(5, 4\)"):
        model(np.ones((5, 4)))
    with pytest.raises(ValueError, match=r"'pixels'.*\(None, 3\).*rank 2.*\(5,\).*rank 1"):
        model(np.ones(5))


def test_dense_last_dim_mismatch_message():
    d = Dense(2, name="dense_3")
    d(gk.Input((3,)))
    with pytest.raises(ValueError, match="Dense 'dense_3' expected last dim 3, got 4"):
        d(gk.Input((4,)))
    with pytest.raises(ValueError, match="Dense 'dense_3' expected last dim 3, got 4"):
        d(np.ones((2, 4)))


def test_graph_disconnected_names_tensor():
    a, b = gk.Input((3,), name="a"), gk.Input((3,), name="b")
    y = Mean()([Dense(2)(a), Dense(2)(b)])
    with pytest.raises(ValueError, match="Graph disconnected.*'b'"):
        gk.Model(a, y)


def test_duplicate_layer_names():
    x = gk.Input((3,))
    y = Dense(2, name="same")(Dense(3, name="same")(x))
    with pytest.raises(ValueError, match="duplicate layer name 'same'"):
        gk.Model(x, y)


def test_model_from_non_symbolic_outputs():
    x = gk.Input((3,))
    with pytest.raises(TypeError, match="symbolic"):
        gk.Model(x, np.ones((2, 3)))
    with pytest.raises(TypeError, match="symbolic"):
        gk.Model(x, Dense(2)(np.ones((2, 3))))
    with pytest.raises(TypeError, match="symbolic"):
        gk.Model(np.ones((2, 3)), Dense(2)(x))


def test_layer_called_without_inputs():
    with pytest.raises(TypeError, match="without inputs"):
        Dense(2)()


# ----------------------------------------------------------------------------- scale
def test_thousand_layer_chain():
    limit = sys.getrecursionlimit()
    x = gk.Input((4,))
    h = x
    for _ in range(1000):
        h = Dense(4)(h)
    model = gk.Model(x, h)
    assert len(model.layers) == 1001
    assert len(model.weights) == 2000
    assert model.count_params() == 1000 * 20
    assert model(np.ones((2, 4))).shape == (2, 4)
    sub = gk.Model(x, model.layers[500].output)
    assert len(sub.layers) == 501
    z = gk.Input((4,))
    assert gk.Model(z, model(z))(np.ones((1, 4))).shape == (1, 4)
    assert sys.getrecursionlimit() == limit


def test_thousand_layer_sequential():
    model = gk.Sequential([gk.Input((4,))])
    for _ in range(1000):
        model.add(Dense(4))
    assert model(np.ones((1, 4))).shape == (1, 4)
    assert all(len(l._inbound_nodes) == 1 for l in model.layers)


def test_layers_cast_floating_inputs_to_their_dtype_and_keep_masks():
    layer = gk.layers.Activation("linear", dtype="float32")
    x = gk.constant(np.ones((2, 3)), dtype="float64")
    x._keras_mask = gk.constant([True, False])
    out = layer(x)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out._keras_mask.numpy(), [True, False])
    ids = gk.constant([[1, 2]])
    assert gk.layers.Activation("linear")(ids).dtype == np.int32  # integers are left alone
