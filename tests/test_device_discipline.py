"""Device discipline of the CuPy backend, proven on a strict fake CuPy (tests/fake_cupy.py).

The user-facing workflows run on ``CupyOps`` over the fake, which refuses implicit copies to
NumPy and NumPy operands in device kernels, and counts every blocking host sync. They must give
the NumPy backend's results (float32 tolerance) and stay within the sync budget: at most one
blocking host sync per training step, plus a constant per epoch. Where real CuPy and a CUDA device
exist, the same workflows also run on them (``real_cupy``; the sync counts need the fake).
"""
import math
import warnings

import numpy as np
import pytest

import fake_cupy
import graphkit as gk
from graphkit import backend
from graphkit.backend import CupyOps, NumpyOps

L = gk.layers
REAL_CUDA = backend.cuda_unavailable_reason()


@pytest.fixture(params=["fake_cupy", "real_cupy"])
def device(request):
    """A CupyOps backend active for the test: on the fake, or on a real CUDA device."""
    if request.param == "real_cupy":
        if REAL_CUDA is not None:
            pytest.skip(f"CuPy/CUDA unavailable: {REAL_CUDA}")
        ops = CupyOps()
        ops.seed(0)
        with backend.use(ops):
            yield ops
        return
    with fake_cupy.installed():
        ops = CupyOps()
        ops.seed(0)
        with backend.use(ops):
            yield ops


@pytest.fixture
def fake(device):
    """The fake CuPy (tests that count syncs need it)."""
    if not isinstance(device.xp.ndarray, type) or device.xp.ndarray is not fake_cupy.ndarray:
        pytest.skip("sync counting needs the fake CuPy")
    return fake_cupy


def _data(n=48, features=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype("float32")
    labels = (x[:, 0] + x[:, 1] > 0).astype("int64") + (x[:, 2] > 1).astype("int64")
    return x, labels


def _mlp(classes=3, features=6):
    inputs = gk.Input((features,))
    hidden = L.Dense(16, activation="relu")(inputs)
    hidden = L.Dropout(0.0)(hidden)
    return gk.Model(inputs, L.Dense(classes, activation="softmax")(hidden))


def _binary_mlp(features=6):
    inputs = gk.Input((features,))
    hidden = L.Dense(8, activation="tanh")(inputs)
    return gk.Model(inputs, L.Dense(1, activation="sigmoid")(hidden))


def _conv():
    inputs = gk.Input((8, 8, 2))
    x = L.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = L.MaxPooling2D(2)(x)
    x = L.Flatten()(x)
    return gk.Model(inputs, L.Dense(3, activation="softmax")(x))


def _lstm():
    inputs = gk.Input((5, 3))
    x = L.LSTM(6)(inputs)
    return gk.Model(inputs, L.Dense(3, activation="softmax")(x))


def _on_numpy(build, *args):
    """The model built on the NumPy backend, and its initial weights (host arrays)."""
    with backend.use("numpy"):
        model = build(*args)
    return model, model.get_weights()


def _device_twin(build, weights, *args):
    """The same model built on the active (device) backend with the given weights."""
    model = build(*args)
    model.set_weights(weights)
    return model


def _is_device(array):
    return type(array).__module__.startswith("cupy")


# ------------------------------------------------------------------ the workflows
@pytest.mark.parametrize("build, shape", [(_mlp, (6,)), (_conv, (8, 8, 2)), (_lstm, (5, 3))],
                         ids=["mlp", "conv", "lstm"])
def test_fit_evaluate_predict_match_numpy(device, build, shape):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, *shape)).astype("float32")
    y = rng.integers(0, 3, 40)
    reference, weights = _on_numpy(build)
    model = _device_twin(build, weights)
    assert all(_is_device(v.data) for v in model.weights)
    results = []
    for m, ops in ((reference, "numpy"), (model, device)):
        with backend.use(ops):
            m.compile(gk.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                      metrics=["accuracy", gk.metrics.SparseTopKCategoricalAccuracy(k=2)])
            history = m.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0,
                            validation_data=(x[:16], y[:16]))
            results.append((history.history, m.evaluate(x, y, verbose=0, return_dict=True),
                            m.predict(x, verbose=0)))
    (h_np, e_np, p_np), (h_dev, e_dev, p_dev) = results
    assert set(h_dev) == {"loss", "accuracy", "sparse_top_k_categorical_accuracy", "val_loss", "val_accuracy",
                          "val_sparse_top_k_categorical_accuracy"}
    for key in h_np:
        assert all(isinstance(v, float) for v in h_dev[key]), key
        np.testing.assert_allclose(h_dev[key], h_np[key], rtol=2e-4, atol=2e-5, err_msg=key)
    assert e_dev.keys() == e_np.keys()
    for key in e_np:
        assert isinstance(e_dev[key], float)
        np.testing.assert_allclose(e_dev[key], e_np[key], rtol=2e-4, atol=2e-5, err_msg=key)
    assert type(p_dev) is np.ndarray and p_dev.dtype == np.float32
    np.testing.assert_allclose(p_dev, p_np, rtol=2e-4, atol=2e-5)


def test_conv_columns_in_chunks_under_a_memory_cap(device, monkeypatch):
    x = np.random.default_rng(3).standard_normal((6, 9, 9, 3)).astype("float32")
    layer = L.Conv2D(4, 3, strides=2, padding="same")
    layer(x)

    def run():
        inputs = gk.constant(x)
        with gk.GradientTape() as tape:
            tape.watch(inputs)
            y = layer(inputs)
            loss = gk.ops.sum(y * y)
        return [y.numpy()] + [g.numpy() for g in tape.gradient(loss, [inputs, *layer.trainable_weights])]

    whole = run()
    monkeypatch.setattr(device, "conv_chunk_bytes", 4 * 4 * 27 * 4)  # the columns of one image
    for chunked, expected in zip(run(), whole):
        np.testing.assert_allclose(chunked, expected, rtol=1e-5, atol=1e-6)


def test_binary_fit_with_auc_and_sample_weights_matches_numpy(device):
    x, labels = _data()
    y = (labels > 0).astype("float32")[:, None]
    sw = np.linspace(0.5, 1.5, len(x)).astype("float32")
    reference, weights = _on_numpy(_binary_mlp)
    model = _device_twin(_binary_mlp, weights)
    logs = []
    for m, ops in ((reference, "numpy"), (model, device)):
        with backend.use(ops):
            m.compile("rmsprop", "binary_crossentropy", metrics=["accuracy", gk.metrics.AUC(name="auc")],
                      weighted_metrics=[gk.metrics.AUC(name="pr", curve="PR")])
            logs.append(m.fit(x, y, sample_weight=sw, batch_size=12, epochs=2, shuffle=False, verbose=0,
                              validation_split=0.25).history)
    for key in logs[0]:
        np.testing.assert_allclose(logs[1][key], logs[0][key], rtol=2e-4, atol=2e-5, err_msg=key)


def test_numpy_data_and_device_data_are_both_accepted(device):
    x, labels = _data()
    model = _mlp()
    model.compile("sgd", "sparse_categorical_crossentropy")
    device_x, device_y = device.asarray(x), device.asarray(labels)
    model.fit(device_x, device_y, batch_size=16, epochs=1, verbose=0)
    model.fit(x, labels, batch_size=16, epochs=1, verbose=0)
    out = model.predict(device_x, verbose=0)
    assert type(out) is np.ndarray
    np.testing.assert_allclose(out, model.predict(x, verbose=0), rtol=1e-6)
    assert type(model.predict_on_batch(x[:4])) is np.ndarray
    logs = model.train_on_batch(x[:8], labels[:8], return_dict=True)
    assert isinstance(logs["loss"], float)
    model.fit(device_x, device_y, class_weight={0: 1.0, 1: 2.0, 2: 0.5}, batch_size=16, epochs=1, verbose=0)


def test_save_load_and_checkpoints_round_trip(device, tmp_path):
    x, labels = _data()
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    checkpoint = gk.callbacks.ModelCheckpoint(str(tmp_path / "best.keras"), monitor="loss", save_best_only=True)
    model.fit(x, labels, batch_size=16, epochs=2, verbose=0, callbacks=[checkpoint])
    path = str(tmp_path / "model.keras")
    model.save(path)
    model.save_weights(str(tmp_path / "model.weights.h5"))
    expected = model.predict(x, verbose=0)
    for loaded in (gk.saving.load_model(path), gk.saving.load_model(str(tmp_path / "best.keras"))):
        assert all(_is_device(v.data) for v in loaded.weights)
    loaded = gk.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-6)
    twin = _mlp()
    twin.load_weights(str(tmp_path / "model.weights.h5"))
    np.testing.assert_allclose(twin.predict(x, verbose=0), expected, rtol=1e-6)
    loaded.fit(x, labels, batch_size=16, epochs=1, verbose=0)  # the optimizer state came back too


def test_function_saved_model_summary_and_live_graph(device, tmp_path):
    x, _ = _data(n=5)
    model = _mlp()
    lines = []
    model.summary(print_fn=lines.append)
    assert any("Total params" in line for line in lines)

    @gk.function
    def scores(inputs):
        return gk.ops.sum(model(inputs), axis=-1)

    out = scores(x)
    assert _is_device(out.data)
    np.testing.assert_allclose(out.numpy(), np.ones(5), rtol=1e-5)

    module = gk.Module()
    module.dense = L.Dense(3)
    module.call = gk.function(lambda inputs: module.dense(inputs) * 2.0,
                              input_signature=[gk.TensorSpec((None, 6), "float32")])
    expected = module.call(x).numpy()
    gk.saved_model.save(module, str(tmp_path / "exported"))
    loaded = gk.saved_model.load(str(tmp_path / "exported"))
    np.testing.assert_allclose(loaded.call(x).numpy(), expected, rtol=1e-6)

    view = gk.live(model)
    try:
        assert view.nodes and view.total_params == model.count_params()
    finally:
        view.close()


@gk.saving.register_serializable(package="device_discipline")
class Shift(L.Layer):
    """A layer whose config holds an array (given on the device here)."""

    def __init__(self, offset, **kwargs):
        super().__init__(**kwargs)
        self.offset = offset

    def call(self, inputs):
        return inputs + self.offset

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "offset": gk.saving.serialize_keras_object(self.offset)}

    @classmethod
    def from_config(cls, config):
        return cls(**{**config, "offset": gk.saving.deserialize_keras_object(config["offset"])})


def test_layer_config_with_a_device_array_saves(device, tmp_path):
    inputs = gk.Input((2,))
    model = gk.Model(inputs, Shift(device.asarray(np.array([1.0, 2.0], "float32")))(inputs))
    path = str(tmp_path / "shift.keras")
    model.save(path)
    loaded = gk.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(np.array([[3.0, 5.0]], "float32"), verbose=0), [[4.0, 7.0]])


class DeviceDecay(gk.optimizers.schedules.LearningRateSchedule):
    """A schedule computing its rate on the device (a 0-d device array)."""

    def __call__(self, step):
        return backend.current().xp.asarray(0.05, dtype="float32") / (1.0 + step)

    def get_config(self):
        return {}


@pytest.mark.parametrize("learning_rate", [DeviceDecay(), lambda: backend.current().xp.asarray(0.05)],
                         ids=["schedule", "callable"])
def test_learning_rate_may_be_a_device_scalar(device, learning_rate):
    x, labels = _data()
    model = _mlp()
    optimizer = gk.optimizers.SGD(learning_rate=learning_rate)
    model.compile(optimizer, "sparse_categorical_crossentropy")
    before = model.get_weights()
    model.fit(x, labels, batch_size=16, epochs=1, verbose=0)
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))
    assert isinstance(optimizer.learning_rate, float)
    fixed = gk.optimizers.SGD(learning_rate=backend.current().xp.asarray(0.01, dtype="float32"))
    assert fixed.learning_rate == pytest.approx(0.01)


def test_to_categorical_of_device_labels(device):
    labels = device.asarray(np.array([0, 2, 1]))
    np.testing.assert_array_equal(gk.utils.to_categorical(labels, 3), np.eye(3, dtype="float32")[[0, 2, 1]])


def test_ignore_class_runs_on_the_device(device):
    y_true = device.asarray(np.array([0, 1, -1, 2]))
    y_pred = device.asarray(np.full((4, 3), 1 / 3, "float32"))
    loss_fn = gk.losses.SparseCategoricalCrossentropy(ignore_class=-1)
    loss = loss_fn(y_true, y_pred)
    assert _is_device(loss.data)
    with backend.use("numpy"):
        expected = loss_fn(np.array([0, 1, -1, 2]), np.full((4, 3), 1 / 3, "float32")).numpy()
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(expected, math.log(3), rtol=1e-6)


def test_integer_tensor_meets_a_device_float_array(device):
    ints = gk.constant(np.array([1, 2, 3]))
    out = ints + device.asarray(np.array([0.5, 0.5, 0.5], "float32"))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), [1.5, 2.5, 3.5])


def test_random_draws_while_tracing_warn(device):
    @gk.function
    def noisy(inputs):
        return inputs + gk.random.normal(inputs.shape)

    gk.random.normal((2,))  # the generator exists before tracing (CuPy's state() is a fixed pointer)
    with pytest.warns(UserWarning, match="frozen into the graph"):
        noisy(np.zeros((2, 2), "float32"))


def test_moving_a_built_model_between_backends(device):
    x, labels = _data()
    with backend.use("numpy"):
        model = _mlp()
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(x, labels, batch_size=16, epochs=1, verbose=0)
        expected = model.predict(x, verbose=0)
    assert backend.to_backend(model, device) is model
    assert all(_is_device(v.data) for v in model.weights)
    assert all(_is_device(v.data) for v in model.optimizer.variables)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5)
    model.fit(x, labels, batch_size=16, epochs=1, verbose=0)
    backend.to_backend(model, "numpy")
    assert all(type(v.data) is np.ndarray for v in model.weights + model.optimizer.variables)
    with backend.use("numpy"):
        model.fit(x, labels, batch_size=16, epochs=1, verbose=0)


# ------------------------------------------------------------------ bad labels and ids
def test_bad_label_raises_once_per_epoch_naming_its_position(device):
    x, labels = _data()
    labels = labels.copy()
    labels[21] = 7
    model = _mlp()
    model.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"label value of 7 .*\[0, 3\).*batch 1.*sample 5"):
        model.fit(x, labels, batch_size=16, epochs=1, shuffle=False, verbose=0)


def test_nan_loss_warns_at_the_epoch_end(device, fake):
    x, labels = _data()
    x[3, 1] = np.nan
    model = _mlp()
    model.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.warns(RuntimeWarning, match=r"loss is nan at epoch 1\."):
        model.fit(x, labels, batch_size=16, epochs=1, verbose=0)


def test_bad_embedding_id_raises(device):
    inputs = gk.Input((4,), dtype="int32")
    model = gk.Model(inputs, L.GlobalAveragePooling1D()(L.Embedding(10, 3)(inputs)))
    with pytest.raises(IndexError, match=r"Embedding .*\[0, 10\).*12"):
        model.predict(np.array([[1, 2, 12, 3]], "int32"), verbose=0)


# ------------------------------------------------------------------ the sync budget
def _train_syncs(fake, model, x, y, verbose, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fake.counting() as seen:
            model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=verbose, **kwargs)
    return seen["syncs"]


@pytest.mark.parametrize("validation", [False, True], ids=["train", "with-validation"])
@pytest.mark.parametrize("verbose", [0, 1, 2])
def test_at_most_one_sync_per_training_step(device, fake, verbose, validation, capsys):
    x, labels = _data(n=64)
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy",
                  metrics=["accuracy", gk.metrics.SparseTopKCategoricalAccuracy(k=2)])
    model.fit(x[:8], labels[:8], batch_size=8, epochs=1, verbose=0)  # build and trace outside the count
    steps = 2 * 64 // 8
    per_step = 1 if verbose == 1 else 0  # the progress bar's loss and metrics, in one copy
    # the epoch's logs (one copy) and the deferred label range checks; as much for validation
    per_epoch = 4 if validation else 2
    per_fit = 2 if validation else 1  # the dry runs of the loss on two samples check their labels at once
    kwargs = {"validation_data": (x[:32], labels[:32])} if validation else {}
    assert _train_syncs(fake, model, x, labels, verbose, **kwargs) <= steps * per_step + 2 * per_epoch + per_fit


def _embedding():
    inputs = gk.Input((5,), dtype="int32")
    x = L.GlobalAveragePooling1D()(L.Embedding(20, 4)(inputs))
    return gk.Model(inputs, L.Dense(3, activation="softmax")(x))


def _conv_bn_dropout():
    inputs = gk.Input((8, 8, 2))
    x = L.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = L.BatchNormalization()(L.MaxPooling2D(2)(x))
    x = L.Flatten()(L.Dropout(0.3)(x))
    return gk.Model(inputs, L.Dense(3, activation="softmax")(x))


@pytest.mark.parametrize("build, make_x", [
    (_conv_bn_dropout, lambda rng: rng.standard_normal((64, 8, 8, 2)).astype("float32")),
    (_lstm, lambda rng: rng.standard_normal((64, 5, 3)).astype("float32")),
    (_embedding, lambda rng: rng.integers(0, 20, (64, 5)).astype("int32")),
], ids=["conv-batchnorm-dropout", "lstm", "embedding"])
def test_no_sync_per_step_in_conv_recurrent_and_embedding_models(device, fake, build, make_x):
    rng = np.random.default_rng(0)
    x, labels = make_x(rng), rng.integers(0, 3, 64)
    model = build()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:8], labels[:8], batch_size=8, epochs=1, verbose=0)
    # 2 per epoch (logs, deferred checks); the dry run checks its labels (and embedding ids) at once
    assert _train_syncs(fake, model, x, labels, 0) <= 2 * 2 + 2


def test_binary_auc_training_stays_off_the_host(device, fake):
    x, labels = _data(n=64)
    y = (labels > 0).astype("float32")[:, None]
    model = _binary_mlp()
    model.compile("rmsprop", "binary_crossentropy", metrics=["accuracy", gk.metrics.AUC()])
    model.fit(x[:8], y[:8], batch_size=8, epochs=1, verbose=0)
    assert _train_syncs(fake, model, x, y, 0) <= 2 * 2 + 1


def test_evaluate_and_predict_sync_a_constant_number_of_times(device, fake):
    x, labels = _data(n=64)
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.evaluate(x[:8], labels[:8], verbose=0)
    with fake.counting() as seen:
        model.evaluate(x, labels, batch_size=8, verbose=0)
    assert seen["syncs"] <= 4
    with fake.counting() as seen:
        model.predict(x, batch_size=8, verbose=0)
    assert seen["to_host"] <= 64 // 8 + 1


def test_the_fake_refuses_what_cupy_refuses(device, fake):
    xp = device.xp
    a = xp.asarray(np.ones(3, "float32"))
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(a)
    with pytest.raises(TypeError):
        a + np.ones(3, "float32")
    with pytest.raises(TypeError):
        np.ones(3, "float32") * a
    with pytest.raises(TypeError):
        xp.maximum(a, np.zeros(3, "float32"))
    with fake.counting() as seen:
        float(a.sum()), a.get(), bool(a[0] > 0)
    assert seen["syncs"] == 3
    assert type(a + 1.0) is xp.ndarray and type(a.sum()) is xp.ndarray


def test_cupy_ops_refuses_to_start_without_cupy_or_device(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "cupy", None)
    with pytest.raises(RuntimeError, match=r"CuPy is not installed.*pip install 'graphkit-nn\[gpu\]'"):
        CupyOps()
    with fake_cupy.installed():
        monkeypatch.setattr(fake_cupy.cuda.runtime, "getDeviceCount", lambda: 0)
        with pytest.raises(RuntimeError, match=r"no CUDA device was found.*pip install 'graphkit-nn\[gpu\]'"):
            CupyOps()
    assert isinstance(backend.current(), NumpyOps)
