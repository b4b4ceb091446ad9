"""Log directories for the board's tests, written the way training writes them: a short real
fit logged through ``gk.summary`` (Keras's layout: ``train/`` and ``validation/`` runs,
``epoch_*`` tags, weight histograms), the model's graph JSON and layer spans per
docs/board.md; or logged by ``callbacks.TensorBoard``."""
from __future__ import annotations

import contextlib
import json
import pathlib

import numpy

import graphkit as gk
from graphkit.board.logdir import GRAPH_FILE, SPANS_FILE
from graphkit.saving.atomic import atomic_write


def small_model() -> gk.Model:
    inputs = gk.Input(shape=(8,), name="features")
    hidden = gk.layers.Dense(16, activation="relu", name="hidden")(inputs)
    outputs = gk.layers.Dense(2, activation="softmax", name="classes")(hidden)
    return gk.Model(inputs, outputs, name="small")


def training_data() -> tuple[numpy.ndarray, numpy.ndarray]:
    rng = numpy.random.default_rng(0)
    x = rng.normal(size=(160, 8)).astype("float32")
    return x, (x[:, :4].sum(axis=1) > 0).astype("int64")


def write_keras_run(logdir: pathlib.Path, epochs: int = 2) -> None:
    """Fit the small classifier with ``callbacks.TensorBoard`` logging to ``logdir`` (Keras's
    layout, batch scalars, weight histograms, the graph and a profiled batch range)."""
    gk.random.set_seed(0)
    model = small_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    board = gk.callbacks.TensorBoard(str(logdir), histogram_freq=1, update_freq="batch", profile_batch=(2, 3))
    model.fit(*training_data(), batch_size=32, epochs=epochs, validation_split=0.2, verbose=0, callbacks=[board])


def write_training_run(logdir: pathlib.Path, epochs: int = 3, traced: bool = False) -> gk.Model:
    """Fit a small classifier for ``epochs`` epochs, logging to ``logdir/train`` and
    ``logdir/validation``; the model's graph goes to ``logdir/train/graphkit-graph.json`` and,
    when ``traced``, the fit's spans (``gk.trace``) to ``logdir/train/graphkit-spans.jsonl``."""
    gk.random.set_seed(0)
    x, y = training_data()
    model = small_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    train = gk.summary.create_file_writer(str(logdir / "train"))
    validation = gk.summary.create_file_writer(str(logdir / "validation"))
    steps = [0]

    def batch_end(batch, logs):
        steps[0] += 1
        with train.as_default(step=steps[0]):
            gk.summary.scalar("batch_loss", logs["loss"])

    def epoch_end(epoch, logs):
        with train.as_default(step=epoch):
            gk.summary.scalar("epoch_loss", logs["loss"])
            gk.summary.scalar("epoch_accuracy", logs["accuracy"])
            for weight in model.weights:
                gk.summary.histogram(weight.name, weight)
            gk.summary.text("notes", f"epoch {epoch} done")
        with validation.as_default(step=epoch):
            gk.summary.scalar("epoch_loss", logs["val_loss"])
            gk.summary.scalar("epoch_accuracy", logs["val_accuracy"])

    with gk.trace(logdir=str(logdir / "train")) if traced else contextlib.nullcontext():
        model.fit(x, y, batch_size=32, epochs=epochs, validation_split=0.2, verbose=0,
                  callbacks=[gk.callbacks.LambdaCallback(on_train_batch_end=batch_end, on_epoch_end=epoch_end)])
    train.close()
    validation.close()
    graph = gk.viz.graph_data.model_graph(model)
    atomic_write(logdir / "train" / GRAPH_FILE, lambda handle: handle.write(json.dumps(graph).encode()))
    return model


def span(name: str, start_ns: int, end_ns: int, kind: str = "layer", phase: str = "forward",
         step: int | None = 0, **extra) -> dict:
    """One span line of ``graphkit-spans.jsonl`` (docs/board.md)."""
    return {"name": name, "kind": kind, "layer": name if kind == "layer" else None, "op": None, "phase": phase,
            "step": step, "start_ns": start_ns, "end_ns": end_ns, "thread": 1, "thread_name": "MainThread",
            "inputs": [[32, 8]], "outputs": [[32, 16]], "dtype": "float32", "backend": "numpy", "device": "cpu",
            "bytes": 2048, "flops": 8192, "id": start_ns, "parent": None, "flow": None, **extra}


def append_spans(run: pathlib.Path, spans: list[dict]) -> None:
    with open(run / SPANS_FILE, "a", encoding="utf-8") as file:
        file.writelines(json.dumps(item) + "\n" for item in spans)
