"""model.save / gk.models.load_model / save_weights / load_weights (Keras 3 semantics)."""
import json
import os
import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import graphkit as gk
from graphkit.saving import archive
from graphkit.saving.archive import FileFormatError

L = gk.layers


def _randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    for v in model.weights:
        value = rng.standard_normal(v.shape).astype(v.dtype) * 0.5
        if "variance" in v.name:
            value = np.abs(value) + 0.5
        v.assign(value)


def _every_layer_model():
    """One functional model with every built-in layer class (four inputs of different ranks)."""
    seq = gk.Input((6, 4), name="seq")
    img = gk.Input((8, 8, 3), name="img")
    vol = gk.Input((4, 4, 4, 2), name="vol")
    ids = gk.Input((5,), dtype="int32", name="ids")
    feats = []

    s = L.Conv1D(3, 2, padding="same")(seq)
    s = L.SeparableConv1D(3, 2, padding="same")(s)
    s = L.DepthwiseConv1D(2, padding="same")(s)
    s = L.Conv1DTranspose(4, 2, padding="same")(s)
    s = L.LayerNormalization()(s)
    feats.append(L.GlobalMaxPooling1D()(L.MaxPooling1D(2)(s)))
    feats.append(L.GlobalAveragePooling1D()(L.AveragePooling1D(2)(s)))
    r = L.SimpleRNN(3, return_sequences=True)(s)
    r = L.GRU(3, return_sequences=True)(r)
    feats.append(L.LSTM(2)(r))
    feats.append(L.Bidirectional(L.LSTM(2))(L.Permute((2, 1))(seq)))

    i = L.Conv2D(4, 3, padding="same")(img)
    i = L.BatchNormalization()(i)
    i = L.SeparableConv2D(4, 3)(L.ZeroPadding2D(1)(i))
    i = L.DepthwiseConv2D(3, padding="same")(i)
    i = L.Conv2DTranspose(3, 3, strides=2, padding="same")(i)
    i = L.MaxPooling2D(2)(L.Cropping2D(((1, 1), (1, 1)))(i))
    i = L.AveragePooling2D(2)(L.UpSampling2D(2)(i))
    feats.append(L.GlobalMaxPooling2D()(i))
    feats.append(L.GlobalAveragePooling2D()(i))

    v = L.Conv3D(3, 2, padding="same")(vol)
    v = L.Conv3DTranspose(2, 2, padding="same")(v)
    feats.append(L.GlobalMaxPooling3D()(L.MaxPooling3D(2)(v)))
    feats.append(L.GlobalAveragePooling3D()(L.AveragePooling3D(2)(v)))

    e = L.Embedding(10, 4, mask_zero=True)(ids)
    feats.append(L.GRU(2)(e))
    flat = L.Flatten()(L.Reshape((5, 4))(L.RepeatVector(5)(L.Dense(4)(L.Flatten()(e)))))

    a = L.Dense(4, activation="tanh")(flat)
    b = L.Dense(4)(flat)
    merged = [L.Add()([a, b]), L.Subtract()([a, b]), L.Multiply()([a, b]), L.Average()([a, b]),
              L.Maximum()([a, b]), L.Minimum()([a, b])]
    feats.extend(merged)
    feats.append(L.Dropout(0.3)(L.Activation("relu")(a)))
    feats.append(L.Lambda(lambda t: t * 2.0 + 1.0)(b) * 0.5)  # a Lambda layer and an op layer
    out = L.Dense(3, name="head")(L.Concatenate()(feats))
    return gk.Model([seq, img, vol, ids], out, name="everything")


def _inputs(seed=1):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((2, 6, 4)).astype("float32"), rng.standard_normal((2, 8, 8, 3)).astype("float32"),
            rng.standard_normal((2, 4, 4, 4, 2)).astype("float32"), np.array([[1, 2, 3, 0, 0], [4, 5, 6, 7, 9]],
                                                                              dtype="int32")]


def _layer_classes(model):
    found = set()
    for layer in model.layers:
        found.add(type(layer))
        if isinstance(layer, L.Bidirectional):
            found.add(type(layer.forward_layer))
    return found


def test_every_builtin_layer_round_trips(tmp_path):
    model = _every_layer_model()
    builtin = {v for v in vars(L).values() if isinstance(v, type) and issubclass(v, L.Layer) and v is not L.Layer}
    missing = builtin - _layer_classes(model)
    assert not missing, f"add these layers to the test model: {sorted(c.__name__ for c in missing)}"
    _randomize(model)
    x = _inputs()
    expected = model(x).numpy()
    path = model.save(tmp_path / "everything.gk")
    assert path == str(tmp_path / "everything.gk")
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["config.json", "metadata.json", "model.weights.npz"]
        metadata = json.loads(z.read("metadata.json"))
        config = json.loads(z.read("config.json"))
    assert metadata["format"] == "graphkit.model" and metadata["graphkit_version"] == gk.__version__
    assert metadata["backend"] and metadata["keras_version"] == "3" and "date_saved" in metadata
    assert config["class_name"] == "Functional" and config["module"] == "keras.src.models.functional"

    loaded = gk.models.load_model(path, safe_mode=False)
    assert [type(l) for l in loaded.layers] == [type(l) for l in model.layers]
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    np.testing.assert_array_equal(loaded(x).numpy(), expected)
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_keras_suffix_and_bad_suffixes(tmp_path):
    model = gk.Sequential([gk.Input((3,)), L.Dense(2)])
    _randomize(model)
    path = model.save(tmp_path / "m.keras")
    np.testing.assert_array_equal(gk.models.load_model(path).weights[0].numpy(), model.weights[0].numpy())
    for bad in ("m.h5", "m.npz", "m"):
        with pytest.raises(ValueError, match=re.escape(f"'{tmp_path / bad}'") + ".*'.gk'"):
            model.save(tmp_path / bad)
    with pytest.raises(FileExistsError):
        model.save(path, overwrite=False)


def test_nested_and_shared_layer_models(tmp_path):
    inner_in = gk.Input((4,))
    encoder = gk.Model(inner_in, L.Dense(3, activation="relu")(L.Dense(5)(inner_in)), name="encoder")
    shared = L.Dense(2, name="shared")
    a, b = gk.Input((4,), name="a"), gk.Input((4,), name="b")
    ea, eb = encoder(a), encoder(b)
    out = L.Concatenate()([shared(ea), shared(eb), L.Dense(1)(L.Subtract()([ea, eb]))])
    model = gk.Model([a, b], out)
    stack = gk.Sequential([gk.Input((4,)), encoder, L.Dense(2)], name="stack")
    _randomize(model)
    _randomize(stack, seed=5)
    rng = np.random.default_rng(0)
    x = [rng.standard_normal((3, 4)).astype("float32") for _ in range(2)]
    for m, inputs in ((model, x), (stack, x[0])):
        path = m.save(tmp_path / f"{m.name}.gk")
        loaded = gk.models.load_model(path)
        np.testing.assert_array_equal(loaded(inputs).numpy(), m(inputs).numpy())
        assert len(loaded.weights) == len(m.weights)
    loaded = gk.models.load_model(tmp_path / f"{model.name}.gk")
    # the shared layer and the nested model keep sharing their weights after loading
    assert loaded.get_layer("encoder").weights[0] is loaded.get_layer("encoder").layers[1].kernel
    assert len({id(w) for w in loaded.weights}) == len(loaded.weights)


class Scale(L.Layer):
    """A custom layer with a weight and a constructor argument."""

    def __init__(self, init=1.0, **kwargs):
        super().__init__(**kwargs)
        self.init = init

    def build(self, input_shape):
        self.alpha = self.add_weight((input_shape[-1],), initializer=gk.initializers.Constant(self.init),
                                     name="alpha")

    def call(self, x):
        return x * self.alpha

    def get_config(self):
        return {**super().get_config(), "init": self.init}


@gk.saving.register_serializable(package="TestSaving")
class RegisteredScale(Scale):
    pass


class Tower(gk.Model):
    """A subclassed model with a custom layer."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = L.Dense(units, activation="relu")
        self.scale = Scale(0.5)
        self.out = L.Dense(1)

    def call(self, x):
        return self.out(self.scale(self.hidden(x)))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_subclassed_model_with_custom_layer_via_custom_objects(tmp_path):
    model = Tower(units=4)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype("float32")
    model(x)
    _randomize(model)
    path = model.save(tmp_path / "tower.gk")
    with pytest.raises(TypeError, match="Tower.*custom_objects"):
        gk.models.load_model(path)
    loaded = gk.models.load_model(path, custom_objects={"Tower": Tower, "Scale": Scale})
    assert isinstance(loaded, Tower) and loaded.units == 4
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())
    assert len(loaded.weights) == len(model.weights)  # built at load time (Keras's build from config)


def test_custom_layer_via_register_serializable(tmp_path):
    x_in = gk.Input((3,))
    model = gk.Model(x_in, L.Dense(2)(RegisteredScale(2.0)(x_in)))
    _randomize(model)
    path = model.save(tmp_path / "reg.gk")
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    assert config["config"]["layers"][1]["registered_name"] == "TestSaving>RegisteredScale"
    loaded = gk.models.load_model(path)
    assert isinstance(loaded.layers[1], RegisteredScale)
    x = np.ones((2, 3), "float32")
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())


def test_lambda_needs_safe_mode_off(tmp_path):
    offset = 3.0
    x_in = gk.Input((4,))
    y = L.Lambda(lambda t: np.float32(offset) + gk.ops.tanh(t) * 2, name="shift")(x_in)
    y = L.Lambda(gk.ops.relu, name="named")(y)  # a function saved by name: safe
    model = gk.Model(x_in, y)
    path = model.save(tmp_path / "lam.gk")
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    saved = config["config"]["layers"][1]["config"]["function"]
    assert saved["class_name"] == "__lambda__" and saved["config"]["source"].startswith("lambda t:")
    with pytest.raises(ValueError, match="shift.*safe_mode=False"):
        gk.models.load_model(path)
    loaded = gk.models.load_model(path, safe_mode=False)
    x = np.random.default_rng(0).standard_normal((2, 4)).astype("float32")
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())
    # A lambda-free model in safe mode loads fine, and a Lambda of a named function too.
    named = gk.Model(x_in, L.Lambda(gk.ops.relu)(x_in))
    gk.models.load_model(named.save(tmp_path / "named.gk"))


def test_functional_model_loads_in_a_fresh_process(tmp_path):
    x_in = gk.Input((6,))
    h = L.Dense(8, activation="gelu")(x_in)
    h = L.BatchNormalization()(L.Reshape((2, 4))(h))
    out = L.Dense(2, activation="softmax")(L.Flatten()(L.LSTM(3, return_sequences=True)(h)))
    model = gk.Model(x_in, out)
    _randomize(model)
    x = np.random.default_rng(0).standard_normal((4, 6)).astype("float32")
    path = model.save(tmp_path / "fresh.gk")
    np.save(tmp_path / "x.npy", x)
    script = ("import sys, numpy as np, graphkit as gk\n"
              "m = gk.models.load_model(sys.argv[1])\n"
              "np.save(sys.argv[3], m(np.load(sys.argv[2])).numpy())\n"
              "assert not any(k.startswith('test_') for k in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", script, path, str(tmp_path / "x.npy"), str(tmp_path / "y.npy")],
                            capture_output=True, text=True, timeout=120,
                            cwd=str(tmp_path), env={**os.environ, "PYTHONPATH": os.path.dirname(gk.__path__[0])})
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), model(x).numpy())


def test_optimizer_state_round_trip_resumes_training(tmp_path):
    pytest.importorskip("graphkit.optimizers", reason="gk.optimizers is not available yet")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 4)).astype("float32"), rng.standard_normal((32, 1)).astype("float32")

    def make():
        L.layer.clear_session()
        return gk.Sequential([gk.Input((4,)), L.Dense(8, activation="relu"), L.Dense(1)])

    model = make()
    model.compile(optimizer=gk.optimizers.Adam(learning_rate=0.01), loss="mse", metrics=["mae"])
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    model.optimizer.learning_rate = 0.005  # a changed learning rate is kept too
    path = model.save(tmp_path / "trained.gk")
    keys = [k for k, _ in gk.train.list_variables(_inner_weights(path, tmp_path))]
    assert "optimizer/vars/0" in keys

    loaded = gk.models.load_model(path)
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.learning_rate == pytest.approx(0.005)
    assert int(loaded.optimizer.iterations.numpy()) == 8
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())

    plain = gk.models.load_model(path, compile=False)
    assert plain.optimizer is None
    np.testing.assert_array_equal(plain.predict(x, verbose=0), gk.models.load_model(path).predict(x, verbose=0))


def _inner_weights(path, tmp_path):
    target = tmp_path / "inner.npz"
    target.write_bytes(zipfile.ZipFile(path).read("model.weights.npz"))
    return target


def test_save_weights_load_weights(tmp_path):
    def make(units=2):
        return gk.Sequential([gk.Input((3,)), L.Dense(4), L.Dense(units)])

    model = make()
    _randomize(model)
    path = model.save_weights(tmp_path / "m.weights.npz")
    other = make()
    other.load_weights(path)
    for a, b in zip(model.weights, other.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # from a whole-model file too
    third = make()
    third.load_weights(model.save(tmp_path / "m.gk"))
    np.testing.assert_array_equal(third.weights[0].numpy(), model.weights[0].numpy())
    # into an unbuilt model: assigned when it builds
    lazy = gk.Sequential([L.Dense(4), L.Dense(2)])
    lazy.load_weights(path)
    x = np.ones((1, 3), "float32")
    np.testing.assert_array_equal(lazy(x).numpy(), model(x).numpy())


def test_weights_suffix_errors_name_the_file(tmp_path):
    model = gk.Sequential([gk.Input((3,)), L.Dense(2)])
    for bad in ("w.h5", "w.npz"):  # ".weights.h5" is Keras's format, supported
        with pytest.raises(ValueError, match=re.escape(f"'{tmp_path / bad}'")) as info:
            model.save_weights(tmp_path / bad)
        assert "'.weights.npz'" in str(info.value)
        with pytest.raises(ValueError, match=re.escape(f"'{tmp_path / bad}'")):
            model.load_weights(tmp_path / bad)


def test_load_weights_into_another_architecture_fails_and_changes_nothing(tmp_path):
    source = gk.Sequential([gk.Input((3,)), L.Dense(4), L.Dense(2)])
    path = source.save_weights(tmp_path / "w.weights.npz")
    bigger = gk.Sequential([gk.Input((3,)), L.Dense(4), L.Dense(2), L.Dense(1)])
    wider = gk.Sequential([gk.Input((3,)), L.Dense(4), L.Dense(5)])
    for target in (bigger, wider):
        before = [w.numpy().copy() for w in target.weights]
        with pytest.raises(ValueError) as info:
            target.load_weights(path)
        message = str(info.value)
        assert str(path) in message and "nothing was changed" in message.lower()
        if target is bigger:
            assert "layers/dense_2/kernel" in message
        else:
            assert "layers/dense_1/kernel" in message and "(4, 2)" in message and "(4, 5)" in message
        for a, b in zip(before, target.weights):
            np.testing.assert_array_equal(a, b.numpy())
    with pytest.warns(UserWarning, match="skipped"):
        wider.load_weights(path, skip_mismatch=True)
    np.testing.assert_array_equal(wider.weights[0].numpy(), source.weights[0].numpy())


def test_corrupt_model_files_error_names_the_file(tmp_path):
    model = gk.Sequential([gk.Input((3,)), L.Dense(2)])
    path = model.save(tmp_path / "m.gk")
    data = open(path, "rb").read()
    truncated = tmp_path / "truncated.gk"
    truncated.write_bytes(data[:-40])
    foreign = tmp_path / "foreign.gk"
    with zipfile.ZipFile(foreign, "w") as z:
        z.writestr("something.txt", "hi")
    text = tmp_path / "text.gk"
    text.write_text("not a model")
    for bad in (truncated, foreign, text):
        with pytest.raises(FileFormatError, match=re.escape(f"'{bad}'")):
            gk.models.load_model(bad)
        with pytest.raises(FileFormatError, match=re.escape(f"'{bad}'")):
            model.load_weights(bad)


def test_failed_model_save_keeps_previous_file(tmp_path, monkeypatch):
    model = gk.Sequential([gk.Input((3,)), L.Dense(2)])
    path = model.save(tmp_path / "m.gk")
    weights_path = model.save_weights(tmp_path / "m.weights.npz")
    originals = {p: open(p, "rb").read() for p in (path, weights_path)}

    def boom(*args, **kwargs):
        raise OSError("interrupted (simulated)")

    monkeypatch.setattr(archive, "_write_entry", boom)
    monkeypatch.setattr(archive, "_write_array", boom)
    _randomize(model)
    with pytest.raises(OSError, match="interrupted"):
        model.save(path)
    with pytest.raises(OSError, match="interrupted"):
        model.save_weights(weights_path)
    assert sorted(os.listdir(tmp_path)) == ["m.gk", "m.weights.npz"]
    for p, data in originals.items():
        assert open(p, "rb").read() == data


def test_optimizer_state_in_weights_files(tmp_path):
    pytest.importorskip("graphkit.optimizers", reason="gk.optimizers is not available yet")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 3)).astype("float32"), rng.standard_normal((16, 1)).astype("float32")

    def make(optimizer=None):
        model = gk.Sequential([gk.Input((3,)), L.Dense(1)])
        if optimizer is not None:
            model.compile(optimizer=optimizer, loss="mse")
        return model

    plain = make()
    _randomize(plain)
    compiled = make("adam")
    compiled.load_weights(plain.save_weights(tmp_path / "plain.weights.npz"))  # no optimizer values: fine
    np.testing.assert_array_equal(compiled.weights[0].numpy(), plain.weights[0].numpy())

    compiled.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    path = compiled.save_weights(tmp_path / "adam.weights.npz")
    resumed = make("adam")  # optimizer not built yet: its slots get their values when it builds
    resumed.load_weights(path)
    assert int(resumed.optimizer.iterations.numpy()) == 2
    compiled.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    resumed.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    np.testing.assert_array_equal(resumed.weights[0].numpy(), compiled.weights[0].numpy())

    other = make("sgd")
    other.fit(x, y, epochs=1, batch_size=8, verbose=0)  # a built SGD does not fit Adam's state
    with pytest.warns(UserWarning, match="Skipping the optimizer state"):
        other.load_weights(path)
    np.testing.assert_array_equal(other.weights[0].numpy(), np.load(path)["layers/dense/kernel"])
    uncompiled = make()
    uncompiled.load_weights(path)  # optimizer values are ignored without an optimizer


def test_wrong_kind_of_file_says_which_loader_to_use(tmp_path):
    model = gk.Sequential([gk.Input((3,)), L.Dense(2)])
    weights = model.save_weights(tmp_path / "w.weights.npz")
    whole = model.save(tmp_path / "m.gk")
    with pytest.raises(FileFormatError, match="load_weights"):
        gk.models.load_model(weights)
    with pytest.raises(FileFormatError, match="load_model"):
        gk.train.Checkpoint(model=model).restore(whole)
