"""gk.callbacks.TensorBoard: Keras 3's runs and tags read back with TensorBoard's EventAccumulator,
weight histograms, the probe's activation and gradient histograms, the model graph and profiled batches."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import graphkit as gk
from graphkit.trace import read_spans
from graphkit.viz.graph_data import model_graph

BATCHES_PER_EPOCH = 3       # 48 samples, validation_split 0.25 -> 36 train samples, batch 12


def _model():
    model = gk.Sequential([gk.Input((5,)), gk.layers.Dense(4, activation="relu", name="hidden"),
                           gk.layers.Dense(2, name="out")])
    model.compile(optimizer=gk.optimizers.SGD(learning_rate=0.05), loss="mse", metrics=["mae"])
    return model


def _fit(log_dir, epochs=3, **kwargs):
    rng = np.random.default_rng(1)
    x = rng.random((48, 5), dtype=np.float32)
    y = rng.random((48, 2), dtype=np.float32)
    model = _model()
    history = model.fit(x, y, batch_size=12, epochs=epochs, validation_split=0.25, verbose=0,
                        callbacks=[gk.callbacks.TensorBoard(log_dir=log_dir, **kwargs)])
    return model, history


def _run(log_dir, run):
    acc = EventAccumulator(os.path.join(log_dir, run), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    return acc


def _series(acc, tag):
    return [(event.step, event.value) for event in acc.Scalars(tag)]


def test_runs_and_epoch_tags_match_history(tmp_path):
    model, history = _fit(tmp_path, write_graph=False)
    assert sorted(os.listdir(tmp_path)) == ["train", "validation"]
    train, validation = _run(tmp_path, "train"), _run(tmp_path, "validation")
    assert sorted(train.Tags()["scalars"]) == ["epoch_learning_rate", "epoch_loss", "epoch_mae"]
    assert sorted(validation.Tags()["scalars"]) == ["epoch_loss", "epoch_mae", "evaluation_loss_vs_iterations",
                                                    "evaluation_mae_vs_iterations"]
    for acc, prefix in ((train, ""), (validation, "val_")):
        for name in ("loss", "mae"):
            steps, values = zip(*_series(acc, f"epoch_{name}"))
            assert steps == (0, 1, 2)
            np.testing.assert_allclose(values, np.float32(history.history[prefix + name]), rtol=1e-6)
    assert _series(train, "epoch_learning_rate") == [(0, pytest.approx(0.05)), (1, pytest.approx(0.05)),
                                                     (2, pytest.approx(0.05))]
    steps, values = zip(*_series(validation, "evaluation_loss_vs_iterations"))
    assert steps == (3, 6, 9)                                  # the optimizer's iterations after each epoch
    np.testing.assert_allclose(values, np.float32(history.history["val_loss"]), rtol=1e-6)
    assert not train.Tags()["histograms"] and not train.Tags()["graph"]
    assert not os.path.exists(tmp_path / "train" / "graphkit-spans.jsonl")


@pytest.mark.parametrize("update_freq, steps", [("batch", list(range(1, 10))), (2, [2, 4, 6, 8])])
def test_batch_tags_every_update_freq_batches(tmp_path, update_freq, steps):
    _fit(tmp_path, update_freq=update_freq, write_graph=False)
    train = _run(tmp_path, "train")
    assert {"batch_loss", "batch_mae"} <= set(train.Tags()["scalars"])
    assert [step for step, _ in _series(train, "batch_loss")] == steps


def test_no_batch_tags_with_update_freq_epoch(tmp_path):
    _fit(tmp_path, write_graph=False)
    assert not [tag for tag in _run(tmp_path, "train").Tags()["scalars"] if tag.startswith("batch_")]


def test_weight_histograms_every_histogram_freq_epochs(tmp_path):
    model, _ = _fit(tmp_path, epochs=5, histogram_freq=2, write_graph=False)
    train = _run(tmp_path, "train")
    tags = sorted(train.Tags()["histograms"])
    assert tags == ["hidden/bias/histogram", "hidden/kernel/histogram", "out/bias/histogram",
                    "out/kernel/histogram"]
    for tag in tags:
        assert [event.step for event in train.Histograms(tag)] == [0, 2, 4]
    last = train.Histograms("out/kernel/histogram")[-1].histogram_value
    kernel = model.get_layer("out").kernel.numpy()
    assert last.num == kernel.size and last.min == pytest.approx(kernel.min()) \
        and last.max == pytest.approx(kernel.max())


def _bn_model():
    model = gk.Sequential([gk.Input((5,)), gk.layers.Dense(4, name="hidden"),
                           gk.layers.BatchNormalization(momentum=0.5, name="norm"),
                           gk.layers.Dense(2, name="out")])
    model.compile(optimizer=gk.optimizers.Adam(learning_rate=0.05), loss="mse", metrics=["mae"])
    return model


class _ProbeCheck(gk.callbacks.Callback):
    """Before the TensorBoard callback's epoch end (it runs first): keeps this epoch's first training
    batch, and the weights, optimizer variables, BatchNormalization statistics and metrics the probe
    must leave alone."""

    def __init__(self, x, y, batch_size):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size
        self.first_batch = {}
        self.before = {}

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:      # no shuffle: batch 0 is the first rows
            self.first_batch[len(self.first_batch)] = (self.x[:self.batch_size], _head(self.y, self.batch_size))
        else:               # the one-shot capture is gone after the first batch
            assert "_train_batch" not in vars(self.model) and "train_step" not in vars(self.model)

    def on_epoch_end(self, epoch, logs=None):
        self.before[epoch] = _state(self.model)


def _head(y, n):
    return [t[:n] for t in y] if isinstance(y, list) else y[:n]


def _state(model):
    return [np.array(v.numpy()) for v in (*model.variables, *model.optimizer.variables, *model.metrics_variables)]


def _probe_fit(tmp_path, model, epochs=3, y=None, **kwargs):
    rng = np.random.default_rng(2)
    x = rng.random((36, 5), dtype=np.float32)
    y = rng.random((36, 2), dtype=np.float32) if y is None else y
    board = gk.callbacks.TensorBoard(log_dir=tmp_path, write_graph=False, **kwargs)
    check = _ProbeCheck(x, y, 12)
    model.fit(x, y, batch_size=12, epochs=epochs, shuffle=False, verbose=0, callbacks=[check, board])
    return check


def test_activation_and_gradient_histograms_at_the_histogram_epochs(tmp_path):
    _probe_fit(tmp_path, _bn_model(), epochs=5, histogram_freq=2, activation_histograms=True,
               gradient_histograms=True)
    train = _run(tmp_path, "train")
    tags = set(train.Tags()["histograms"])
    activations = {f"{name}/activations/histogram" for name in ("hidden", "norm", "out")}
    gradients = {f"{w}/gradient/histogram" for w in ("hidden/kernel", "hidden/bias", "norm/gamma", "norm/beta",
                                                     "out/kernel", "out/bias")}
    assert activations | gradients <= tags
    assert not [tag for tag in tags if "moving" in tag and "gradient" in tag]
    for tag in activations | gradients:
        assert [event.step for event in train.Histograms(tag)] == [0, 2, 4]
    assert train.Histograms("out/activations/histogram")[0].histogram_value.num == 12 * 2


def test_only_the_histograms_asked_for(tmp_path):
    _probe_fit(tmp_path / "a", _model(), histogram_freq=1, activation_histograms=True)
    _probe_fit(tmp_path / "g", _model(), histogram_freq=1, gradient_histograms=True)
    a_tags = _run(tmp_path / "a", "train").Tags()["histograms"]
    g_tags = _run(tmp_path / "g", "train").Tags()["histograms"]
    assert "hidden/activations/histogram" in a_tags and not [t for t in a_tags if "/gradient/" in t]
    assert "hidden/kernel/gradient/histogram" in g_tags and not [t for t in g_tags if "/activations/" in t]


def test_probe_histograms_equal_a_tape_on_the_first_batch_and_change_nothing(tmp_path):
    model = _bn_model()
    check = _probe_fit(tmp_path, model, epochs=1, histogram_freq=1, activation_histograms=True,
                       gradient_histograms=True)
    for before, after in zip(check.before[0], _state(model), strict=True):
        np.testing.assert_array_equal(before, after)        # weights, BN stats, optimizer, metrics
    x, y = check.first_batch[0]
    with gk.GradientTape() as tape:
        hidden = model.get_layer("hidden")(x)
        loss = gk.losses.MeanSquaredError()(y, model(x, training=False))
    kernel = model.get_layer("out").kernel
    expected = tape.gradient(loss, [kernel])[0].numpy()
    train = _run(tmp_path, "train")
    histogram = train.Histograms("out/kernel/gradient/histogram")[0].histogram_value
    assert histogram.num == expected.size
    assert histogram.min == pytest.approx(expected.min(), rel=1e-5) and \
        histogram.max == pytest.approx(expected.max(), rel=1e-5) and \
        histogram.sum == pytest.approx(expected.sum(), rel=1e-4, abs=1e-7)
    activation = train.Histograms("hidden/activations/histogram")[0].histogram_value
    hidden = hidden.numpy()
    assert activation.num == hidden.size and activation.min == pytest.approx(hidden.min(), rel=1e-5) \
        and activation.max == pytest.approx(hidden.max(), rel=1e-5)


class _OwnTrainStep(gk.Model):
    def __init__(self):
        super().__init__()
        self.hidden = gk.layers.Dense(4, name="hidden")
        self.out = gk.layers.Dense(2, name="out")

    def call(self, x):
        return self.out(self.hidden(x))

    def train_step(self, data):
        return super().train_step(data)


def test_probe_batch_of_a_model_with_its_own_train_step(tmp_path):
    model = _OwnTrainStep()
    model.compile(optimizer=gk.optimizers.SGD(learning_rate=0.05), loss="mse")
    check = _probe_fit(tmp_path, model, epochs=1, histogram_freq=1, gradient_histograms=True)
    x, y = check.first_batch[0]
    with gk.GradientTape() as tape:
        loss = gk.losses.MeanSquaredError()(y, model(x, training=False))
    expected = tape.gradient(loss, [model.hidden.kernel])[0].numpy()
    histogram = _run(tmp_path, "train").Histograms("hidden/kernel/gradient/histogram")[0].histogram_value
    assert histogram.min == pytest.approx(expected.min(), rel=1e-5) and \
        histogram.max == pytest.approx(expected.max(), rel=1e-5)


def test_probe_leaves_the_per_output_loss_trackers_alone(tmp_path):
    inputs = gk.Input((5,))
    hidden = gk.layers.Dense(4, name="hidden")(inputs)
    outputs = [gk.layers.Dense(1, name="a")(hidden), gk.layers.Dense(1, name="b")(hidden)]
    model = gk.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss=["mse", "mae"])
    y = [np.linspace(0, 1, 36, dtype=np.float32)[:, None], np.ones((36, 1), np.float32)]
    check = _probe_fit(tmp_path, model, epochs=1, y=y, histogram_freq=1, gradient_histograms=True)
    assert {"a_loss", "b_loss"} <= {m.name for m in model.metrics}
    for before, after in zip(check.before[0], _state(model), strict=True):
        np.testing.assert_array_equal(before, after)


def test_model_graph_as_graphdef_and_graph_json(tmp_path):
    model, _ = _fit(tmp_path, epochs=1)
    graph = _run(tmp_path, "train").Graph()
    nodes = {node.name: node for node in graph.node}
    expected = model_graph(model)
    assert set(nodes) == {node["id"] for node in expected["nodes"]}
    assert nodes["out"].op == "Dense" and list(nodes["out"].input) == ["hidden"]
    with open(tmp_path / "train" / "graphkit-graph.json") as file:
        written = json.load(file)
    assert [n["id"] for n in written["nodes"]] == [n["id"] for n in expected["nodes"]]
    assert written["edges"] == expected["edges"]


@pytest.mark.parametrize("profile_batch, steps", [((2, 4), {2, 3, 4}), (1, {1}), ("5,5", {5})])
def test_profile_batch_traces_exactly_those_batches(tmp_path, profile_batch, steps):
    _fit(tmp_path, profile_batch=profile_batch, write_graph=False)
    spans = read_spans(tmp_path / "train" / "graphkit-spans.jsonl")
    assert {s["step"] for s in spans if s["kind"] == "step" and s["name"] == "train_step"} == steps
    assert {s["step"] for s in spans if s["kind"] == "layer" and s["phase"] == "backward"} == steps
    assert {s["name"] for s in spans if s["kind"] == "layer"} >= {"hidden", "out"}
    stop = max(steps)
    with open(tmp_path / "train" / f"batch_{stop}.trace.json") as file:
        trace = json.load(file)
    assert len([e for e in trace["traceEvents"] if e["ph"] == "X"]) == len(spans)


def test_evaluate_writes_evaluation_tags_to_the_validation_run(tmp_path):
    model = _model()
    x = np.ones((8, 5), np.float32)
    y = np.zeros((8, 2), np.float32)
    loss, _ = model.evaluate(x, y, verbose=0, callbacks=[gk.callbacks.TensorBoard(tmp_path)])
    assert os.listdir(tmp_path) == ["validation"]
    validation = _run(tmp_path, "validation")
    assert _series(validation, "evaluation_loss_vs_iterations") == [(0, pytest.approx(loss))]


@pytest.mark.parametrize("kwargs, message", [
    ({"profile_batch": (3, 1)}, "profile_batch"), ({"profile_batch": -1}, "profile_batch"),
    ({"profile_batch": "a,b"}, "profile_batch"), ({"update_freq": 0}, "update_freq"),
    ({"histogram_freq": -1}, "histogram_freq"), ({"write_images": True}, "write_images"),
    ({"embeddings_freq": 1}, "embeddings_freq"), ({"activation_histograms": True}, "activation_histograms"),
    ({"gradient_histograms": True, "histogram_freq": 0}, "gradient_histograms")])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gk.callbacks.TensorBoard("logs", **kwargs)
