"""gk.callbacks.TensorBoard: Keras 3's runs and tags read back with TensorBoard's EventAccumulator,
weight histograms, the model graph and profiled batches."""
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
    ({"embeddings_freq": 1}, "embeddings_freq")])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gk.callbacks.TensorBoard("logs", **kwargs)
