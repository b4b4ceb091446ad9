"""Model.compile / fit / evaluate / predict / *_on_batch (Keras 3 semantics) and the data adapter."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import graphkit as gk
from graphkit import layers
from graphkit.callbacks import Callback, TerminateOnNaN


# --------------------------------------------------------------------------- helpers

def blobs(n=200, features=4, classes=3, seed=0, spread=0.6):
    """A learnable classification problem: Gaussian blobs around fixed centres."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=2.0, size=(classes, features))
    y = rng.integers(0, classes, n)
    x = centres[y] + rng.normal(scale=spread, size=(n, features))
    return x.astype("float32"), y.astype("int32")


def small_classifier(features=4, classes=3, hidden=16, name=None, dropout=None):
    inputs = gk.Input(shape=(features,), name="features")
    x = layers.Dense(hidden, activation="relu", name="hidden")(inputs)
    if dropout is not None:
        x = layers.Dropout(dropout, name="drop")(x)
    outputs = layers.Dense(classes, name="logits")(x)
    return gk.Model(inputs, outputs, name=name)


def compiled_classifier(metrics=("accuracy",), optimizer=None, **kwargs):
    gk.random.set_seed(0)
    model = small_classifier(**kwargs)
    model.compile(optimizer=optimizer or gk.optimizers.RMSprop(0.01),
                  loss=gk.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=list(metrics) if metrics is not None else None)
    return model


def weights_of(model):
    return [w.copy() for w in model.get_weights()]


def assert_same_weights(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


def two_in_two_out():
    """Keras's guide shape: two named inputs, a regression output 'priority' and a 4-class
    output 'department'."""
    title = gk.Input(shape=(6,), name="title")
    body = gk.Input(shape=(5,), name="body")
    merged = layers.Concatenate(name="merge")([title, body])
    hidden = layers.Dense(16, activation="relu", name="shared")(merged)
    priority = layers.Dense(1, name="priority")(hidden)
    department = layers.Dense(4, name="department")(hidden)
    return gk.Model([title, body], [priority, department], name="ticket_model")


def ticket_data(n=256, seed=1):
    rng = np.random.default_rng(seed)
    title = rng.normal(size=(n, 6)).astype("float32")
    body = rng.normal(size=(n, 5)).astype("float32")
    priority = (title[:, :2].sum(axis=1, keepdims=True) - body[:, :1]).astype("float32")
    department = (np.argmax(np.concatenate([title[:, 2:4], body[:, 2:4]], axis=1), axis=1)).astype("int32")
    return {"title": title, "body": body}, {"priority": priority, "department": department}


# --------------------------------------------------------------------------- the digits MLP

def test_mlp_on_digits_reaches_test_accuracy():
    (x_train, y_train), (x_test, y_test) = gk.datasets.digits.load_data(flatten=True)
    x_train, y_train = x_train[:1400].astype("float32"), y_train[:1400]
    # Standardized pixels (training statistics; +1 keeps always-blank pixels finite): 0.964-0.975
    # test accuracy over seeds 0-7, against 0.936-0.961 for pixels / 16.
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1
    x_train, x_test = (x_train - mean) / std, (x_test.astype("float32") - mean) / std
    gk.random.set_seed(0)
    inputs = gk.Input(shape=(64,), name="pixels")
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10)(x)
    model = gk.Model(inputs, outputs, name="digits_mlp")
    model.compile(optimizer="rmsprop", loss=gk.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=64, epochs=20, validation_split=0.2, verbose=0)
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert len(history.history["loss"]) == 20 and history.epoch == list(range(20))
    assert history.history["loss"][-1] < history.history["loss"][0] / 3
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy >= 0.94, accuracy
    assert loss < 0.2
    predictions = model.predict(x_test, verbose=0)
    assert predictions.shape == (len(x_test), 10) and predictions.dtype == np.float32
    assert np.mean(predictions.argmax(axis=1) == y_test) == pytest.approx(accuracy, abs=1e-6)


# --------------------------------------------------------------------------- multi-input / multi-output

def test_two_inputs_two_outputs_dict_losses_and_loss_weights():
    gk.random.set_seed(0)
    model = two_in_two_out()
    model.compile(optimizer=gk.optimizers.RMSprop(0.005),
                  loss={"priority": "mse", "department": gk.losses.SparseCategoricalCrossentropy(from_logits=True)},
                  loss_weights={"priority": 1.0, "department": 0.5},
                  metrics={"department": ["accuracy"], "priority": ["mae"]})
    x, y = ticket_data()
    history = model.fit(x, y, batch_size=32, epochs=8, validation_split=0.25, verbose=0)
    keys = set(history.history)
    assert keys == {"loss", "priority_loss", "department_loss", "department_accuracy", "priority_mae",
                    "val_loss", "val_priority_loss", "val_department_loss", "val_department_accuracy",
                    "val_priority_mae"}
    h = history.history
    assert h["loss"][-1] < 0.6 * h["loss"][0]
    assert h["priority_loss"][-1] < h["priority_loss"][0]
    assert h["department_loss"][-1] < h["department_loss"][0]
    # The total is the weighted sum of the (unweighted) per-output losses.
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    assert result["loss"] == pytest.approx(result["priority_loss"] + 0.5 * result["department_loss"], rel=1e-4)
    # Keras 3's list order: loss, then the per-output losses, then the prefixed metrics sorted.
    as_list = model.evaluate(x, y, verbose=0)
    assert as_list == pytest.approx([result[k] for k in ("loss", "priority_loss", "department_loss",
                                                         "department_accuracy", "priority_mae")])
    assert model.metrics_names == ["loss", "compile_metrics", "priority_loss", "department_loss"]
    # Predictions keep the outputs' structure; lists of inputs/targets work as well as dicts.
    pred = model.predict([x["title"], x["body"]], verbose=0)
    assert isinstance(pred, list) and [p.shape for p in pred] == [(256, 1), (256, 4)]
    listed = model.evaluate([x["title"], x["body"]], [y["priority"], y["department"]], verbose=0,
                            return_dict=True)
    assert listed == pytest.approx(result)


def test_single_loss_applies_to_every_output_and_list_losses():
    x, y = ticket_data(64)
    y_reg = [y["priority"], y["priority"].repeat(4, axis=1)]
    gk.random.set_seed(0)
    model = two_in_two_out()
    model.compile(optimizer="sgd", loss="mse")
    logs = model.train_on_batch(x, y_reg, return_dict=True)
    assert set(logs) == {"loss", "priority_loss", "department_loss"}
    assert logs["loss"] == pytest.approx(logs["priority_loss"] + logs["department_loss"], rel=1e-5)
    model.compile(optimizer="sgd", loss=["mse", None])  # no loss for the second output: no target needed
    with pytest.warns(UserWarning, match="Gradients do not exist"):  # as Keras: 'department' gets no gradient
        logs = model.train_on_batch(x, [y["priority"], None], return_dict=True)
    assert set(logs) == {"loss"}


def test_dict_outputs_use_their_keys():
    gk.random.set_seed(0)
    inputs = gk.Input(shape=(3,), name="x")
    hidden = layers.Dense(8, activation="relu")(inputs)
    model = gk.Model(inputs, {"score": layers.Dense(1)(hidden), "label": layers.Dense(2)(hidden)})
    model.compile(optimizer="adam", loss={"score": "mse",
                                          "label": gk.losses.SparseCategoricalCrossentropy(from_logits=True)})
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype("float32")
    y = {"score": x[:, :1] * 2, "label": (x[:, 1] > 0).astype("int32")}
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert {"score_loss", "label_loss", "loss"} == set(history.history)
    pred = model.predict(x, verbose=0)
    assert isinstance(pred, dict) and pred["score"].shape == (40, 1) and pred["label"].shape == (40, 2)


# --------------------------------------------------------------------------- validation_split

class RecordingModel(gk.models.Functional):
    """A Functional model whose train/test steps record the batches they get."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.train_batches = []
        self.test_batches = []

    def train_step(self, data):
        self.train_batches.append(np.array(data[0]))
        return super().train_step(data)

    def test_step(self, data):
        self.test_batches.append(np.array(data[0]))
        return super().test_step(data)


def test_validation_split_takes_the_last_samples_before_shuffling():
    x = np.arange(100, dtype="float32").reshape(100, 1)
    y = (x[:, 0] % 2).astype("int32")
    gk.random.set_seed(0)
    inputs = gk.Input(shape=(1,))
    model = RecordingModel(inputs, layers.Dense(2)(inputs))
    model.compile(optimizer="sgd", loss=gk.losses.SparseCategoricalCrossentropy(from_logits=True))
    steps = []

    class Steps(Callback):
        def on_train_begin(self, logs=None):
            steps.append(self.params["steps"])

    model.fit(x, y, batch_size=16, epochs=2, validation_split=0.2, shuffle=True, verbose=0, callbacks=[Steps()])
    assert steps == [5]  # 80 training samples in batches of 16
    per_epoch = len(model.train_batches) // 2
    first = np.concatenate(model.train_batches[:per_epoch])[:, 0]
    second = np.concatenate(model.train_batches[per_epoch:])[:, 0]
    assert sorted(first) == list(range(80)) and sorted(second) == list(range(80))
    assert list(first) != list(range(80)) and list(first) != list(second)  # shuffled, differently each epoch
    validation = np.concatenate(model.test_batches[:len(model.test_batches) // 2])[:, 0]
    assert list(validation) == list(range(80, 100))  # the last 20 %, in order


def test_validation_data_and_freq_and_val_loss_matches_evaluate():
    x, y = blobs(120)
    model = compiled_classifier()
    val = blobs(40, seed=5)
    history = model.fit(x, y, batch_size=32, epochs=4, validation_data=val, validation_freq=2, verbose=0)
    assert len(history.history["loss"]) == 4 and len(history.history["val_loss"]) == 2
    loss, acc = model.evaluate(*val, verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(loss, rel=1e-5)
    assert history.history["val_accuracy"][-1] == pytest.approx(acc)


def test_shuffle_is_seeded_by_gk_random_set_seed():
    x, y = blobs(96)
    results = []
    for _ in range(2):
        model = compiled_classifier()
        gk.random.set_seed(7)
        model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        results.append(weights_of(model))
    assert_same_weights(*results)
    model = compiled_classifier()
    gk.random.set_seed(8)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert not np.array_equal(weights_of(model)[0], results[0][0])


# --------------------------------------------------------------------------- weights

def per_sample_losses(model, x, y):
    logits = model.predict(x, verbose=0)
    return gk.losses.sparse_categorical_crossentropy(y, logits, from_logits=True).numpy()


def test_sample_weight_and_class_weight_weigh_the_loss():
    x, y = blobs(30)
    model = compiled_classifier(metrics=None, optimizer=gk.optimizers.SGD(learning_rate=0.0))
    per_sample = per_sample_losses(model, x, y)
    sw = np.linspace(0.0, 2.0, len(x)).astype("float32")
    # Keras's "sum_over_batch_size": sum(w * loss) / batch size.
    assert model.test_on_batch(x, y, sample_weight=sw) == pytest.approx(np.sum(sw * per_sample) / len(x), rel=1e-5)
    class_weight = {0: 1.0, 1: 5.0, 2: 0.5}
    cw = np.array([class_weight[c] for c in y])
    assert model.train_on_batch(x, y, class_weight=class_weight) == pytest.approx(np.sum(cw * per_sample) / len(x),
                                                                                  rel=1e-5)
    # One-hot targets are argmax-ed; classes missing from the dict weigh 1.
    one_hot = np.eye(3, dtype="float32")[y]
    model.compile(optimizer=gk.optimizers.SGD(learning_rate=0.0),
                  loss=gk.losses.CategoricalCrossentropy(from_logits=True))
    partial = {1: 3.0}
    cw = np.array([partial.get(c, 1.0) for c in y])
    assert model.train_on_batch(x, one_hot, class_weight=partial) == pytest.approx(
        np.sum(cw * per_sample) / len(x), rel=1e-5)
    with pytest.raises(ValueError, match="class_weight.*sample_weight|sample_weight.*class_weight"):
        model.train_on_batch(x, one_hot, sample_weight=sw, class_weight=partial)


def test_class_weight_shifts_predictions_in_fit():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4)).astype("float32")
    y = rng.integers(0, 2, 300).astype("int32")  # labels independent of x: only the weights matter
    fractions = []
    for cw in (None, {0: 1.0, 1: 8.0}):
        model = compiled_classifier(metrics=None, classes=2)
        model.fit(x, y, batch_size=32, epochs=5, class_weight=cw, verbose=0)
        fractions.append(np.mean(model.predict(x, verbose=0).argmax(axis=1) == 1))
    assert fractions[1] > 0.9 and fractions[1] > fractions[0]


def test_weighted_metrics_use_sample_weights_and_metrics_do_not():
    x, y = blobs(40)
    gk.random.set_seed(0)
    model = small_classifier()
    model.compile(optimizer=gk.optimizers.SGD(learning_rate=0.0),
                  loss=gk.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], weighted_metrics=["accuracy"])
    correct = per_sample_losses(model, x, y) * 0 + (model.predict(x, verbose=0).argmax(axis=1) == y)
    sw = np.where(np.arange(40) < 20, 1.0, 0.0).astype("float32")
    logs = model.test_on_batch(x, y, sample_weight=sw, return_dict=True)
    assert set(logs) == {"loss", "accuracy", "weighted_accuracy"}
    assert logs["accuracy"] == pytest.approx(correct.mean())
    assert logs["weighted_accuracy"] == pytest.approx(correct[:20].mean())


# --------------------------------------------------------------------------- generators

def batches_forever(x, y, batch_size, with_weights=False):
    while True:
        for start in range(0, len(x), batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            if with_weights:
                yield xb, yb, np.ones(len(xb), "float32")
            else:
                yield xb, yb


def test_fit_evaluate_predict_with_generators():
    x, y = blobs(160)
    model = compiled_classifier()
    history = model.fit(batches_forever(x, y, 32), steps_per_epoch=5, epochs=4, verbose=0,
                        validation_data=batches_forever(x, y, 40), validation_steps=2)
    h = history.history
    assert len(h["loss"]) == 4 and len(h["val_loss"]) == 4 and h["loss"][-1] < h["loss"][0]
    gen_eval = model.evaluate(batches_forever(x, y, 40, with_weights=True), steps=4, verbose=0)
    assert gen_eval == pytest.approx(model.evaluate(x, y, batch_size=40, verbose=0), rel=1e-5)
    pred = model.predict((xb for xb, _ in [(x[:50], None), (x[50:], None)]), verbose=0)
    np.testing.assert_allclose(pred, model.predict(x, verbose=0), rtol=1e-6)


def test_one_shot_generator_runs_one_epoch_then_warns():
    x, y = blobs(64)
    model = compiled_classifier()
    generator = ((x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16))
    with pytest.warns(UserWarning, match="ran out of data"):
        history = model.fit(generator, epochs=3, verbose=0)
    assert history.epoch == [0]
    with pytest.raises(ValueError, match="empty"):
        model.fit((b for b in []), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(batches_forever(x, y, 16), steps_per_epoch=2, validation_split=0.5, verbose=0)
    with pytest.raises(ValueError, match="must not be passed"):
        model.fit(batches_forever(x, y, 16), y, steps_per_epoch=2, verbose=0)


class BatchDataset:
    """A PyDataset-like object: ``len`` batches, each from ``__getitem__``."""

    def __init__(self, x, y, batch_size):
        self.x, self.y, self.batch_size = x, y, batch_size
        self.epochs_ended = 0

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index):
        s = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.x[s], self.y[s]

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_pydataset_like_sources_restart_every_epoch():
    x, y = blobs(100)
    model = compiled_classifier()
    data = BatchDataset(x, y, 32)
    steps = []

    class Steps(Callback):
        def on_train_begin(self, logs=None):
            steps.append(self.params["steps"])

    history = model.fit(data, epochs=3, verbose=0, callbacks=[Steps()])
    assert history.epoch == [0, 1, 2] and steps == [4] and data.epochs_ended == 3


# --------------------------------------------------------------------------- evaluate / predict / on_batch

def test_evaluate_predict_shapes_and_return_dict():
    x, y = blobs(70)
    model = compiled_classifier()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    result = model.evaluate(x, y, batch_size=16, verbose=0)
    assert isinstance(result, list) and len(result) == 2
    as_dict = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    assert list(as_dict) == ["accuracy", "loss"] and as_dict == pytest.approx(dict(zip(["loss", "accuracy"], result)))
    assert model.metrics_names == ["loss", "compile_metrics"]
    pred = model.predict(x, batch_size=16, verbose=0)
    assert isinstance(pred, np.ndarray) and pred.shape == (70, 3)
    np.testing.assert_allclose(pred, model(x).numpy(), rtol=1e-5, atol=1e-6)
    assert model.predict(x, batch_size=16, steps=2, verbose=0).shape == (32, 3)
    # A loss-only model: evaluate returns a scalar.
    plain = compiled_classifier(metrics=None)
    assert isinstance(plain.evaluate(x, y, verbose=0), float)
    assert plain.metrics_names == ["loss"]


def test_on_batch_methods():
    x, y = blobs(32)
    model = compiled_classifier()
    before = weights_of(model)
    loss, acc = model.train_on_batch(x, y)
    assert isinstance(loss, float) and 0 <= acc <= 1
    after = weights_of(model)
    assert not np.array_equal(before[0], after[0])
    assert int(np.asarray(model.optimizer.iterations)) == 1
    logs = model.test_on_batch(x, y, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}
    assert_same_weights(after, weights_of(model))  # testing changes nothing
    out = model.predict_on_batch(x)
    assert isinstance(out, np.ndarray) and out.shape == (32, 3)
    # Metrics are reset per call (each result is of that batch alone), as Keras.
    first = model.test_on_batch(x[:16], y[:16], return_dict=True)
    assert model.test_on_batch(x[:16], y[:16], return_dict=True) == pytest.approx(first)


def test_training_flag_reaches_layers_only_in_fit():
    seen = []

    class Spy(layers.Layer):
        def call(self, inputs, training=None):
            seen.append(training)
            return inputs

    x, y = blobs(40)
    gk.random.set_seed(0)
    inputs = gk.Input(shape=(4,))
    hidden = layers.Dense(64, activation="relu")(inputs)
    hidden = Spy()(layers.Dropout(0.5)(hidden))
    model = gk.Model(inputs, layers.Dense(3)(hidden))
    model.compile(optimizer="sgd", loss=gk.losses.SparseCategoricalCrossentropy(from_logits=True))
    seen.clear()
    model.fit(x, y, batch_size=20, epochs=1, verbose=0, validation_split=0.5)
    # One training batch with training=True; the validation batch (and fit's dry run of the loss
    # on two samples, made before training starts) with training=False.
    assert seen.count(True) == 1 and seen[-1] is False and set(seen) == {True, False}
    seen.clear()
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    model.test_on_batch(x, y)
    model.predict_on_batch(x)
    assert seen and all(flag is False for flag in seen)
    # Dropout is inactive at inference: predictions are deterministic...
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))
    seen.clear()
    model.train_on_batch(x, y)
    assert seen == [True]


def test_batch_normalization_statistics_move_only_in_training():
    gk.random.set_seed(0)
    inputs = gk.Input(shape=(3,))
    bn = layers.BatchNormalization()
    model = gk.Model(inputs, layers.Dense(1)(bn(inputs)))
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(loc=5.0, size=(64, 3)).astype("float32")
    y = np.zeros((64, 1), "float32")
    moving = [w.copy() for w in bn.get_weights()[2:]]
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    assert_same_weights(moving, [w.copy() for w in bn.get_weights()[2:]])
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    assert not np.allclose(moving[0], bn.get_weights()[2])


# --------------------------------------------------------------------------- models of every kind

def test_sequential_and_subclassed_models_train():
    x, y = blobs(96)
    gk.random.set_seed(0)
    seq = gk.Sequential([layers.Dense(16, activation="relu"), layers.Dense(3)])  # built by fit
    seq.compile(optimizer=gk.optimizers.Adam(0.01), loss=gk.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"])
    h = seq.fit(x, y, batch_size=16, epochs=5, verbose=0).history
    assert h["loss"][-1] < h["loss"][0] and h["accuracy"][-1] > 0.8

    class TwoLayer(gk.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(16, activation="relu")
            self.out = layers.Dense(3)

        def call(self, inputs, training=None):
            return self.out(self.hidden(inputs))

    gk.random.set_seed(0)
    sub = TwoLayer()
    sub.compile(optimizer=gk.optimizers.Adam(0.01), loss=gk.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"])
    h = sub.fit(x, y, batch_size=16, epochs=5, verbose=0).history
    assert h["loss"][-1] < h["loss"][0] and h["accuracy"][-1] > 0.8
    assert len(sub.trainable_weights) == 4
    assert sub.predict(x, verbose=0).shape == (96, 3)


def test_compile_state_and_attributes():
    model = small_classifier()
    assert model.optimizer is None and not model.compiled
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["acc"])
    assert isinstance(model.optimizer, gk.optimizers.Adam)
    assert model.loss == "sparse_categorical_crossentropy"
    assert model.stop_training is False
    # The optimizer's slots and the metrics' state are not model weights.
    x, y = blobs(32)
    model.fit(x, y, epochs=1, verbose=0)
    assert len(model.weights) == 4 and len(model.trainable_weights) == 4
    assert [type(l).__name__ for l in model.layers] == ["InputLayer", "Dense", "Dense"]
    assert model.get_compile_config()["loss"] == "sparse_categorical_crossentropy"


def test_callbacks_stop_training_and_initial_epoch_and_steps_per_execution():
    x, y = blobs(64)
    model = compiled_classifier()

    class StopAfterTwo(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    history = model.fit(x, y, batch_size=16, epochs=10, verbose=0, callbacks=[StopAfterTwo()])
    assert history.epoch == [0, 1] and model.history is history
    history = model.fit(x, y, batch_size=16, epochs=5, initial_epoch=3, verbose=0)
    assert history.epoch == [3, 4]
    ends = []

    class BatchEnds(Callback):
        def on_train_batch_end(self, batch, logs=None):
            ends.append(batch)

    model.compile(optimizer="sgd", loss=gk.losses.SparseCategoricalCrossentropy(from_logits=True),
                  steps_per_execution=3)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[BatchEnds()])
    assert ends == [2, 5, 7]  # 8 batches, callbacks every 3
    assert int(np.asarray(model.optimizer.iterations)) == 8


# --------------------------------------------------------------------------- bad input

def test_bad_input_raises_clear_errors_and_changes_nothing():
    x, y = blobs(100)
    model = compiled_classifier()
    before = weights_of(model)
    cases = [
        (dict(x=x, y=y[:90]), r"100.*90|90.*100"),
        (dict(x=x, y=y, batch_size=0), "batch_size"),
        (dict(x=x, y=y, batch_size=-3), "batch_size"),
        (dict(x=x[:0], y=y[:0]), "empty"),
        (dict(x={"wrong": x}, y=y), r"features"),
        (dict(x=x, y=y, validation_split=1.5), "validation_split"),
        (dict(x=x[:1], y=y[:1], validation_split=0.5), "not sufficient"),
        (dict(x=x, y=y, epochs=-1), "epochs"),
        (dict(x=x[:, :3], y=y), r"shape"),
        (dict(x=None, y=y), "x is None"),
        (dict(x=x, y=None), "target"),
        (dict(x=x, y=y, sample_weight=np.ones(7)), r"100.*7|7.*100"),
    ]
    for kwargs, pattern in cases:
        with pytest.raises(ValueError, match=pattern):
            model.fit(verbose=0, **kwargs)
        assert_same_weights(before, weights_of(model))
        assert int(np.asarray(model.optimizer.iterations)) == 0
    with pytest.raises(ValueError, match="batch_size"):
        model.evaluate(x, y, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="empty"):
        model.predict(x[:0], verbose=0)
    with pytest.raises(ValueError, match=r"100.*90|90.*100"):
        model.train_on_batch(x, y[:90])
    assert_same_weights(before, weights_of(model))


def test_fit_before_compile_and_unknown_names():
    x, y = blobs(20)
    model = small_classifier()
    for call in (lambda: model.fit(x, y, verbose=0), lambda: model.evaluate(x, y, verbose=0),
                 lambda: model.train_on_batch(x, y)):
        with pytest.raises(ValueError, match="compile"):
            call()
    with pytest.raises(ValueError, match="(?i)optimizer.*adam"):
        model.compile(optimizer="adamm", loss="mse")
    with pytest.raises(ValueError, match="mean_squared_error"):
        model.compile(optimizer="sgd", loss="mean_squared_eror")
    with pytest.raises(ValueError, match="(?i)metric"):
        model.compile(optimizer="sgd", loss="mse", metrics=["acuracy"])
    with pytest.raises(ValueError, match="logits"):
        model.compile(optimizer="sgd", loss={"wrong_output": "mse"})
    assert not model.compiled and model.optimizer is None
    assert model.predict(x, verbose=0).shape == (20, 3)  # predict needs no compile


def test_multi_output_target_errors_list_the_output_names():
    x, y = ticket_data(32)
    model = two_in_two_out()
    model.compile(optimizer="sgd", loss={"priority": "mse", "department": "sparse_categorical_crossentropy"})
    with pytest.raises(ValueError, match=r"priority.*department"):
        model.fit(x, {"priority": y["priority"], "dept": y["department"]}, verbose=0)
    with pytest.raises(ValueError, match=r"title.*body"):
        model.fit({"title": x["title"], "bodyy": x["body"]}, y, verbose=0)
    with pytest.raises(ValueError, match="department"):
        model.fit(x, {"priority": y["priority"]}, verbose=0)  # an output with a loss needs a target
    with pytest.raises(ValueError, match="single output"):
        model.fit(x, y, class_weight={0: 1.0}, verbose=0)


def test_nan_data_warns_and_terminate_on_nan_stops(capsys):
    x, y = blobs(64)
    x[3, 1] = np.nan
    model = compiled_classifier()
    with pytest.warns(RuntimeWarning) as record:
        history = model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[TerminateOnNaN()])
    messages = [str(w.message) for w in record]
    assert any("NaN or inf" in m and "x has 1 NaN/inf value" in m for m in messages)
    assert any("loss is nan" in m for m in messages)
    assert model.stop_training and history.epoch == [0]
    assert "terminating training" in capsys.readouterr().out


def test_nan_loss_warns_once():
    x, y = blobs(64)
    model = compiled_classifier(optimizer=gk.optimizers.SGD(learning_rate=1e30))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model.fit(x * 1e6, y, batch_size=16, epochs=2, verbose=0)
    nan_warnings = [w for w in record if "loss is" in str(w.message)]
    assert len(nan_warnings) == 1 and issubclass(nan_warnings[0].category, RuntimeWarning)


def test_unconnected_and_custom_train_step_and_compute_loss():
    x, y = blobs(48)

    class Custom(gk.models.Functional):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            loss = super().compute_loss(x, y, y_pred, sample_weight, training)
            return loss * 2.0

    gk.random.set_seed(0)
    inputs = gk.Input(shape=(4,), name="features")
    model = Custom(inputs, layers.Dense(3)(inputs))
    model.compile(optimizer=gk.optimizers.SGD(0.0), loss=gk.losses.SparseCategoricalCrossentropy(from_logits=True))
    doubled = model.evaluate(x, y, verbose=0)
    plain = gk.Model(inputs, model.layers[-1].output)
    plain.compile(optimizer="sgd", loss=gk.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert doubled == pytest.approx(2 * plain.evaluate(x, y, verbose=0), rel=1e-5)


def test_target_shape_errors_surface_before_training_starts():
    x, y = blobs(40)
    model = compiled_classifier(metrics=["accuracy"])
    model.compile(optimizer="sgd", loss=gk.losses.CategoricalCrossentropy(from_logits=True))
    before = weights_of(model)
    began = []

    class Began(Callback):
        def on_train_begin(self, logs=None):
            began.append(True)

    with pytest.raises(ValueError, match="shape"):
        model.fit(x, np.eye(5, dtype="float32")[y], verbose=0, callbacks=[Began()])
    assert not began and int(np.asarray(model.optimizer.iterations)) == 0
    assert_same_weights(before, weights_of(model))


def test_crossentropy_and_accuracy_names_resolve_from_the_data():
    x, y = blobs(48)
    gk.random.set_seed(0)
    inputs = gk.Input(shape=(4,))
    model = gk.Model(inputs, layers.Dense(3, activation="softmax")(inputs))
    model.compile(optimizer="adam", loss="crossentropy", metrics=["acc"])
    model.fit(x, y, verbose=0)  # integer labels: sparse
    plan = model._compile_state.plan
    assert plan.losses[0][1].fn is gk.losses.sparse_categorical_crossentropy
    assert type(plan.metric_entries[0][1]).__name__ == "SparseCategoricalAccuracy"
    assert list(model.evaluate(x, y, verbose=0, return_dict=True)) == ["acc", "loss"]
    model.compile(optimizer="adam", loss="ce", metrics=["accuracy"])
    model.fit(x, np.eye(3, dtype="float32")[y], verbose=0)  # one-hot: categorical
    plan = model._compile_state.plan
    assert plan.losses[0][1].fn is gk.losses.categorical_crossentropy
    assert type(plan.metric_entries[0][1]).__name__ == "CategoricalAccuracy"


def test_validation_steps_restart_each_epoch_and_pydataset_shuffle():
    x = np.arange(60, dtype="float32").reshape(60, 1)
    y = np.zeros(60, "int32")
    gk.random.set_seed(0)
    inputs = gk.Input(shape=(1,))
    model = RecordingModel(inputs, layers.Dense(2)(inputs))
    model.compile(optimizer="sgd", loss=gk.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x[:20], y[:20], batch_size=10, epochs=3, verbose=0, validation_data=(x[20:], y[20:]),
              validation_steps=2)
    firsts = [batch[0, 0] for batch in model.test_batches[::2]]
    assert firsts == [20.0, 20.0, 20.0]  # every validation starts from its first batch
    model.train_batches.clear()
    model.fit(BatchDataset(x, y, 10), epochs=2, shuffle=True, verbose=0)
    order = [int(batch[0, 0]) // 10 for batch in model.train_batches]
    assert sorted(order[:6]) == list(range(6)) and sorted(order[6:]) == list(range(6))
    assert order[:6] != list(range(6)) or order[6:] != list(range(6))  # batch order shuffled


def test_predict_needs_no_compile_and_ignores_targets_from_generators():
    x, y = blobs(30)
    model = small_classifier()
    batches = ((x[i:i + 10], [y[i:i + 10], y[i:i + 10]]) for i in range(0, 30, 10))
    pred = model.predict(batches, verbose=0)
    np.testing.assert_allclose(pred, model.predict(x, verbose=0), rtol=1e-6)
    assert model.predict_on_batch(x[:4]).shape == (4, 3)


def test_dense_skips_the_input_gradient_only_when_the_input_is_not_tracked():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 4)).astype("float32")
    w = gk.Variable(rng.normal(size=(4, 3)).astype("float32"))
    b = gk.Variable(np.zeros(3, "float32"))
    g = rng.normal(size=(5, 3)).astype("float32")
    for watch in (False, True):
        xt = gk.constant(x)
        with gk.GradientTape() as tape:
            if watch:
                tape.watch(xt)
            out = gk.ops.dense(xt, w, b)
            loss = gk.ops.sum(out * g)
        gx, gw, gb = tape.gradient(loss, [xt, w, b])
        np.testing.assert_allclose(gw.numpy(), x.T @ g, rtol=1e-5)
        np.testing.assert_allclose(gb.numpy(), g.sum(axis=0), rtol=1e-5)
        if watch:
            np.testing.assert_allclose(gx.numpy(), g @ w.numpy().T, rtol=1e-5)
        else:
            assert gx is None


def test_compile_config_and_metrics_objects():
    model = compiled_classifier(metrics=["accuracy"])
    config = model.get_compile_config()
    assert config["metrics"] == ["accuracy"] and isinstance(config["optimizer"], gk.optimizers.RMSprop)
    assert small_classifier().get_compile_config() == {}
    x, y = blobs(32)
    model.fit(x, y, verbose=0)
    loss_tracker, compile_metrics = model.metrics
    assert isinstance(loss_tracker, gk.metrics.Mean) and loss_tracker.name == "loss"
    assert isinstance(compile_metrics, gk.metrics.Metric) and [m.name for m in compile_metrics.metrics] == ["accuracy"]
    assert len(model.metrics_variables) == 4
    results = model.get_metrics_result()
    assert set(results) == {"loss", "accuracy"}
    model.reset_metrics()
    assert float(model.get_metrics_result()["loss"]) == 0.0
