"""``TensorBoard``: Keras 3's callback, writing with ``gk.summary`` and profiling with ``gk.trace``.

Layout and tags are Keras 3's (``keras/src/callbacks/tensorboard.py``):

- runs ``<log_dir>/train`` and ``<log_dir>/validation`` (writers made on first use);
- at each epoch end ``epoch_<name>`` for the train logs plus ``epoch_learning_rate`` (train run)
  and for the ``val_`` logs without the prefix (validation run), step = the epoch (0-based);
- with ``update_freq="batch"`` or an int N, ``batch_<name>`` every N training batches, step = the
  training batch counted from 1 in this ``fit``; the train writer is also the default writer
  inside ``fit`` then (default step: the optimizer's ``iterations``), so ``gk.summary`` calls
  in a model's ``call`` land in the train run;
- at each evaluation's end (validation in ``fit`` or ``evaluate``)
  ``evaluation_<name>_vs_iterations`` in the validation run, step = the optimizer's iterations;
- every ``histogram_freq`` epochs a histogram of each layer weight, tag
  ``<weight name>/histogram`` (graphkit's weight names hold the layer: ``dense/kernel``);
- ``write_graph``: the model graph as a ``GraphDef`` event in the train run (TensorBoard's Graphs
  dashboard) and as ``train/graphkit-graph.json`` (the board's graph, graphkit.viz's JSON);
- ``profile_batch`` N or (start, stop): those training batches (counted from 1, as Keras) traced
  by ``gk.trace`` at layer level into ``train/graphkit-spans.jsonl`` and a Chrome trace
  ``train/batch_<stop>.trace.json``. The trace opens when batch ``start - 1`` ends (so it sees
  batch ``start`` begin) and closes at the first callback hook after batch ``stop`` ends.

``activation_histograms`` and ``gradient_histograms`` are graphkit extensions (Keras 3 has no
equivalent; TF1 Keras had ``write_grads``); they need ``histogram_freq`` > 0. At the epochs that get
weight histograms, the *probe batch* (the epoch's first training batch, kept by wrapping the
model's next train step call once at the epoch's begin) runs once through the model under a
``GradientTape``, with the compiled loss (or the model's ``compute_loss``), in inference mode
(``training=False``: Dropout is off and BatchNormalization normalizes with, and leaves alone, its
moving statistics), through the weights of the epoch's end (those the weight histograms show). It
writes ``<layer>/activations/histogram`` (every output of the layer's calls in that pass, heard
through the ``layer_call`` events) and ``<weight name>/gradient/histogram`` (the loss's gradient
for each trainable weight: ``dense/kernel/gradient/histogram``). The probe changes no weight,
optimizer slot or metric (the loss trackers it feeds are restored).

``write_steps_per_second`` adds ``batch_steps_per_second``/``epoch_steps_per_second``.
``write_images`` and ``embeddings_freq`` are not supported (gk.summary writes no images and
graphkit has no projector); asking for them raises ``ValueError``.
"""
from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Any

import numpy

from .. import events, summary
from ..backend.host import to_host, to_host_scalar
from ..engine.autograd import GradientTape, no_grad
from ..graph.node import flatten_structure
from ..training.step_dispatch import dispatch_for
from .callback import Callback


def _profile_range(profile_batch: Any) -> tuple[int, int]:
    """Keras's ``profile_batch`` forms: N, (start, stop) or "start,stop"; 0 turns profiling off."""
    message = ("profile_batch must be a non-negative integer or 2-tuple of positive integers. A pair of "
               f"positive integers signifies a range of batches to profile. Found: {profile_batch!r}")
    if isinstance(profile_batch, str):
        try:
            profile_batch = [int(part) for part in profile_batch.split(",")]
        except ValueError:
            raise ValueError(message) from None
    if isinstance(profile_batch, int) and not isinstance(profile_batch, bool):
        start = stop = profile_batch
    elif isinstance(profile_batch, (tuple, list)) and len(profile_batch) == 2 \
            and all(isinstance(b, int) for b in profile_batch):
        start, stop = profile_batch
    else:
        raise ValueError(message)
    if start < 0 or stop < start:
        raise ValueError(message)
    return start, stop


class TensorBoard(Callback):
    """Write TensorBoard logs during training (``keras.callbacks.TensorBoard``; see the module
    docstring for the tags and files)."""

    def __init__(self, log_dir: str | os.PathLike = "logs", histogram_freq: int = 0, write_graph: bool = True,
                 write_images: bool = False, write_steps_per_second: bool = False, update_freq: Any = "epoch",
                 profile_batch: Any = 0, embeddings_freq: int = 0, embeddings_metadata: Any = None,
                 activation_histograms: bool = False, gradient_histograms: bool = False) -> None:
        super().__init__()
        if write_images:
            raise ValueError("TensorBoard(write_images=True) is not supported: gk.summary writes no images.")
        if embeddings_freq:
            raise ValueError("TensorBoard(embeddings_freq=...) is not supported: graphkit has no embedding "
                             "projector output.")
        update_freq = 1 if update_freq == "batch" else update_freq
        if update_freq != "epoch" and (not isinstance(update_freq, int) or update_freq < 1):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive integer, "
                             f"got {update_freq!r}.")
        if not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be a non-negative integer, got {histogram_freq!r}.")
        for flag, on in (("activation_histograms", activation_histograms),
                         ("gradient_histograms", gradient_histograms)):
            if on and not histogram_freq:
                raise ValueError(f"TensorBoard({flag}=True) needs histogram_freq > 0: its histograms are written "
                                 "at the epochs that get weight histograms.")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = update_freq
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self.activation_histograms = activation_histograms
        self.gradient_histograms = gradient_histograms
        self._start_batch, self._stop_batch = _profile_range(profile_batch)
        self._should_trace = not (self._start_batch == 0 and self._stop_batch == 0)
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")
        self._writers: dict[str, summary.SummaryWriter] = {}
        self._defaults: list[contextlib.ExitStack] = []
        self._trace = None
        self._trace_done = False
        self._global_train_batch = 0
        self._global_test_batch = 0
        self._graph_pending = False
        self._batch_start_time = 0.0
        self._epoch_start_time = 0.0
        self._epoch_start_iterations = 0
        self._probe_batch: tuple | None = None
        self._probe_wrapped: str | None = None

    def set_model(self, model: Any) -> None:
        super().set_model(model)
        self._writers = {}
        self._graph_pending = bool(self.write_graph)

    # ------------------------------------------------------------ writers
    def _writer(self, run: str) -> summary.SummaryWriter:
        writer = self._writers.get(run)
        if writer is None or writer.closed:
            writer = self._writers[run] = summary.create_file_writer(self._train_dir if run == "train"
                                                                     else self._val_dir)
        return writer

    def _push_default(self, run: str, step: Any) -> None:
        """Make ``run``'s writer the default for the model's own summaries (update_freq != "epoch")."""
        if self.update_freq == "epoch":
            return
        stack = contextlib.ExitStack()
        stack.enter_context(self._writer(run).as_default(step=step))
        self._defaults.append(stack)

    def _pop_default(self) -> None:
        if self.update_freq != "epoch" and self._defaults:
            self._defaults.pop().close()

    def _iteration_variable(self) -> Any:
        """The optimizer's update count (a variable), or None for a model without an optimizer."""
        return getattr(getattr(self.model, "optimizer", None), "iterations", None)

    def _iterations(self) -> int:
        iterations = self._iteration_variable()
        return 0 if iterations is None else int(to_host_scalar(iterations))

    # ------------------------------------------------------------ training
    def on_train_begin(self, logs: dict | None = None) -> None:
        self._global_train_batch = 0
        self._trace_done = False
        self._push_default("train", self._iteration_variable())
        self._write_graph_if_built()
        if self._should_trace and self._start_batch <= 1:
            self._start_trace()

    def on_train_end(self, logs: dict | None = None) -> None:
        self._stop_trace()
        self._stop_probe_capture()
        self._pop_default()
        for writer in self._writers.values():
            writer.close()

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._stop_trace_if_done()
        self._global_train_batch += 1
        if self.write_steps_per_second:
            self._batch_start_time = time.time()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self._graph_pending:
            self._write_graph_if_built()
        step = self._global_train_batch
        if self.update_freq != "epoch" and step % self.update_freq == 0:
            with self._writer("train").as_default():
                if self.write_steps_per_second:
                    summary.scalar("batch_steps_per_second", 1.0 / max(1e-9, time.time() - self._batch_start_time),
                                   step=step)
                for name, value in (logs or {}).items():
                    summary.scalar("batch_" + name, value, step=step)
        if not self._should_trace:
            return
        if self._trace is not None and step >= self._stop_batch:
            self._trace_done = True
        elif self._trace is None and not self._trace_done and step == self._start_batch - 1:
            self._start_trace()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self._probes_at(epoch):
            self._capture_probe_batch()
        if self.write_steps_per_second:
            self._epoch_start_time = time.time()
            self._epoch_start_iterations = self._iterations()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._stop_trace_if_done()
        self._log_epoch_metrics(epoch, logs or {})
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        if self._probes_at(epoch):
            self._stop_probe_capture()
            if self._probe_batch is not None:
                self._log_probe(epoch, *self._probe_batch)
                self._probe_batch = None

    # ------------------------------------------------------------ evaluation
    def on_test_begin(self, logs: dict | None = None) -> None:
        self._stop_trace_if_done()
        self._push_default("validation", self._global_test_batch)

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._global_test_batch += 1

    def on_test_end(self, logs: dict | None = None) -> None:
        if getattr(self.model, "optimizer", None) is not None:
            step = self._iterations()
            with self._writer("validation").as_default():
                for name, value in (logs or {}).items():
                    summary.scalar(f"evaluation_{name}_vs_iterations", value, step=step)
        self._pop_default()

    # ------------------------------------------------------------ what is written
    def _log_epoch_metrics(self, epoch: int, logs: dict) -> None:
        if not logs:
            return
        train_logs = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val_logs = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        learning_rate = getattr(getattr(self.model, "optimizer", None), "learning_rate", None)
        if learning_rate is not None:       # the rate of the next update (a schedule evaluated)
            train_logs["learning_rate"] = float(to_host_scalar(learning_rate))
        if self.write_steps_per_second:
            elapsed = max(1e-9, time.time() - self._epoch_start_time)
            train_logs["steps_per_second"] = (self._iterations() - self._epoch_start_iterations) / elapsed
        for run, run_logs in (("train", train_logs), ("validation", val_logs)):
            if run_logs:
                with self._writer(run).as_default():
                    for name, value in run_logs.items():
                        summary.scalar("epoch_" + name, value, step=epoch)

    def _log_weights(self, epoch: int) -> None:
        writer = self._writer("train")
        with writer.as_default():
            for layer in self.model.layers:
                for weight in layer.weights:
                    summary.histogram(f"{weight.name.replace(':', '_')}/histogram", weight, step=epoch)
        writer.flush()

    def _log_probe(self, epoch: int, x: Any, ys: list | None, sws: list | None) -> None:
        """Activation and gradient histograms of one inference-mode pass of the probe batch."""
        model = self.model
        plan = model._compile_state.plan
        variables = list(model.trainable_variables) if self.gradient_histograms else []
        activations: dict[str, list] = {}
        thread = threading.get_ident()

        def record(layer, args, outputs, node, error, start_ns, end_ns) -> None:
            if node is None and error is None and layer is not model and threading.get_ident() == thread:
                activations.setdefault(layer.name, []).extend(
                    to_host(value).ravel() for value in flatten_structure(outputs) if value is not None)

        saved_metrics = [(variable, variable.data.copy()) for variable in model.metrics_variables]
        try:
            with contextlib.ExitStack() as stack:
                if self.activation_histograms:
                    stack.enter_context(events.subscribed("layer_call", record))
                if variables:
                    tape = stack.enter_context(GradientTape())
                else:
                    stack.enter_context(no_grad())
                y_pred = model(x, training=False)
                if variables:
                    if plan.builtin_loss:
                        plan.require_loss()
                    loss = plan.batch_loss(x, ys, y_pred, plan.flatten_pred(y_pred), sws, False)
            gradients = tape.gradient(loss, variables) if variables else []
        finally:
            for variable, value in saved_metrics:
                variable.data = value
        writer = self._writer("train")
        with writer.as_default():
            for name, values in activations.items():
                summary.histogram(f"{name}/activations/histogram", numpy.concatenate(values), step=epoch)
            for variable, gradient in zip(variables, gradients):
                if gradient is not None:
                    summary.histogram(f"{variable.name.replace(':', '_')}/gradient/histogram", gradient, step=epoch)
        writer.flush()

    def _write_graph_if_built(self) -> None:
        """The model graph, once the model is built (a subclassed model builds on its first batch)."""
        if not self._graph_pending or not getattr(self.model, "built", False):
            return
        from ..trace.graphs import graph_def_nodes, write_graph_file
        from ..viz.graph_data import model_graph
        self._graph_pending = False
        graph = model_graph(self.model)
        with self._writer("train").as_default():
            summary.graph(graph_def_nodes(graph))
        write_graph_file(self._train_dir, model_graph=graph)

    # ------------------------------------------------------------ the probe batch
    def _probes_at(self, epoch: int) -> bool:
        return (self.activation_histograms or self.gradient_histograms) and epoch % self.histogram_freq == 0

    def _capture_probe_batch(self) -> None:
        """Keep this epoch's first training batch: the model's next ``_train_batch(x, ys, sws)`` call
        (or overridden ``train_step(data)``) goes through a one-shot wrapper set on the instance."""
        model = self.model
        name = "train_step" if dispatch_for(type(model)).custom_train_step else "_train_batch"
        original = getattr(model, name)

        def capture(*batch: Any) -> Any:
            self._stop_probe_capture()
            self._probe_batch = model._step_batch(batch[0], name)[1:] if name == "train_step" else batch
            return original(*batch)

        setattr(model, name, capture)
        self._probe_wrapped = name

    def _stop_probe_capture(self) -> None:
        name, self._probe_wrapped = self._probe_wrapped, None
        if name is not None:
            vars(self.model).pop(name, None)

    # ------------------------------------------------------------ profiling
    def _start_trace(self) -> None:
        from ..trace import Trace
        self._trace = Trace(logdir=self._train_dir, level="layer").start()

    def _stop_trace_if_done(self) -> None:
        if self._trace_done:
            self._stop_trace()

    def _stop_trace(self) -> None:
        if self._trace is None:
            return
        trace, self._trace = self._trace, None
        self._trace_done = True
        trace.stop()
        trace.to_chrome_trace(os.path.join(self._train_dir, f"batch_{self._stop_batch}.trace.json"))
