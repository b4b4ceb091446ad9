"""Keras 3's training API for ``gk.Model``: ``compile``, ``fit``, ``evaluate``, ``predict`` and the
``*_on_batch`` methods (the :class:`Trainer` mixin that :class:`graphkit.Model` inherits from).

Semantics follow Keras 3's ``Trainer``/``CompileLoss``/``CompileMetrics``:

- Losses, loss weights and metrics may be given per output, as lists (output order) or dicts keyed
  by output name (the output layers' names; a dict of outputs uses its keys). One loss applies to
  every output. With several losses, each output's *unweighted* loss is tracked as
  ``"<output>_loss"``; metrics of a multi-output model are named ``"<output>_<metric>"``.
- ``metrics`` are computed without sample weights; ``weighted_metrics`` with them (and with the
  weights ``class_weight`` gives).
- ``model.metrics`` is ``[loss tracker, compile metrics, per-output loss trackers]`` and
  ``evaluate`` returns its values in Keras's order (``_flatten_metrics_in_order``).
- ``training=True`` reaches the layers only in ``fit``'s (and ``train_on_batch``'s) train step.

The loops publish ``run_begin``/``run_end``, ``epoch_begin``/``epoch_end`` and
``batch_begin``/``batch_end`` through :mod:`graphkit.events`; callbacks hear them through the
``CallbackList`` attached to the run. The train step is kept lean: one ``GradientTape`` around
the forward pass and the loss, ``optimizer.apply``, then metric updates on host arrays. The
package's other modules: ``compile_utils`` (the compiled loss and metrics), ``step_dispatch``
(built-in or overridden steps), ``model_data``/``data_adapter`` (the data) and
``epoch_iterator``.
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import numpy

from .. import events
from ..backend import state as backend_state
from ..backend.host import is_device_array, to_host, to_host_scalar
from ..callbacks.callback_list import CallbackList, pythonify_logs
from ..engine.autograd import GradientTape, no_grad
from ..engine.tensor import Tensor
from ..global_state import SUBSCRIBERS
from ..graph.node import flatten_structure, map_structure
from ..utils import traceback_utils
from . import data_adapter as da
from . import model_data
from .compile_utils import CompileMetrics, CompileState, mean_update
from .epoch_iterator import EpochIterator
from .step_dispatch import builtin, dispatch_for

# Instance attributes the trainer sets: never searched for variables or sublayers (the optimizer's
# slots and the metrics' state are not model weights).
TRAINER_ATTRIBUTES = frozenset({
    "optimizer", "loss", "compiled", "stop_training", "stop_evaluating", "stop_predicting", "history",
    "steps_per_execution", "run_eagerly", "jit_compile", "_compile_state", "_compile_config",
    "train_function", "test_function", "predict_function",
})


class Trainer:
    """Keras 3's training methods, mixed into :class:`graphkit.Model`."""

    # Class-level defaults (Functional.__init__ bypasses the mixin's __init__, so none is needed).
    compiled = False
    optimizer = None
    loss = None
    stop_training = False
    stop_evaluating = False
    stop_predicting = False
    steps_per_execution = 1
    run_eagerly = False
    jit_compile = False
    _compile_state = None

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, loss_weights: Any = None, metrics: Any = None,
                weighted_metrics: Any = None, run_eagerly: bool = False, steps_per_execution: int = 1,
                jit_compile: Any = "auto", auto_scale_loss: bool = True) -> None:
        """Configure the model for training (Keras 3's ``Model.compile``).

        Args:
            optimizer: a name (``"rmsprop"``, ``"adam"``, ...) or an optimizer instance.
            loss: a loss name, ``gk.losses.Loss`` instance or ``fn(y_true, y_pred)``; or a list
                (one per output) or dict keyed by output name. ``None`` entries train no loss for
                that output.
            loss_weights: a float (single output), or a list/dict of floats per output: the loss
                minimized is the weighted sum of the per-output losses.
            metrics: a list of metrics (names, ``gk.metrics.Metric`` instances, functions), or a
                list of lists / dict of lists per output. ``"accuracy"``/``"acc"`` become the binary,
                categorical or sparse categorical accuracy that fits the loss and output shape.
            weighted_metrics: like ``metrics``, computed with ``sample_weight``/``class_weight``.
            run_eagerly, jit_compile, auto_scale_loss: accepted for compatibility; graphkit always
                runs eagerly (``jit_compile=True`` warns and is ignored).
            steps_per_execution: batches run between two calls of the batch-level callbacks.

        Unknown names raise a ``ValueError`` listing the valid ones; nothing changes then.
        """
        from .. import optimizers as optimizers_module

        resolved_optimizer = optimizers_module.get(optimizer)
        if isinstance(steps_per_execution, bool) or not isinstance(steps_per_execution, (int, numpy.integer)) \
                or steps_per_execution < 1:
            raise ValueError(f"`steps_per_execution` must be a positive integer, got {steps_per_execution!r}.")
        state = CompileState(self, loss, loss_weights, metrics, weighted_metrics)
        if jit_compile is True:
            warnings.warn("graphkit runs eagerly (numpy/CuPy); `jit_compile=True` is ignored.", stacklevel=2)
        self.optimizer = resolved_optimizer
        self.loss = loss
        self._compile_state = state
        self._compile_config = {"optimizer": optimizer, "loss": loss, "loss_weights": loss_weights,
                                "metrics": metrics, "weighted_metrics": weighted_metrics,
                                "run_eagerly": run_eagerly, "steps_per_execution": int(steps_per_execution),
                                "jit_compile": jit_compile}
        self.run_eagerly = bool(run_eagerly)
        self.jit_compile = False
        self.steps_per_execution = int(steps_per_execution)
        self.stop_training = False
        self.compiled = True
        self.train_function = self.test_function = self.predict_function = None

    def get_compile_config(self) -> dict:
        """The arguments ``compile`` was called with (``{}`` before compiling)."""
        return dict(self._compile_config) if self.compiled else {}

    def compile_from_config(self, config: dict) -> None:
        """``compile(**config)``."""
        self.compile(**config)

    def _assert_compiled(self, method: str) -> CompileState:
        if not self.compiled or self._compile_state is None:
            raise ValueError(f"You must call `compile()` before `{method}()`: model '{self.name}' is not compiled "
                             "(e.g. model.compile(optimizer='rmsprop', loss='mse')).")
        return self._compile_state

    # ------------------------------------------------------------------ metrics
    @property
    def metrics(self) -> list:
        """Keras 3's order: the loss tracker, the compiled metrics (one container), then the
        per-output loss trackers (models with several losses, once built)."""
        state = self._compile_state
        if not self.compiled or state is None:
            return []
        found = [state.loss_tracker]
        if state.compile_metrics is not None:
            found.append(state.compile_metrics)
        if state.plan is not None:
            found.extend(state.plan.loss_trackers)
        return found

    @property
    def metrics_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    @property
    def metrics_variables(self) -> list:
        return [v for m in self.metrics for v in getattr(m, "variables", ())]

    def reset_metrics(self) -> None:
        for m in self.metrics:
            m.reset_state()

    def get_metrics_result(self) -> dict:
        """The current value of every metric, by name (the compiled metrics' entries merged in)."""
        state = self._compile_state
        if state is None:
            return {}
        return state.results()

    def _flatten_metrics_in_order(self, logs: dict) -> Any:
        """``logs`` as a list in ``metrics_names`` order (then any other keys, sorted), as Keras 3;
        a single value is returned as a scalar."""
        names: list[str] = []
        for metric in self.metrics:
            if isinstance(metric, CompileMetrics):
                names += [m.name for m in metric.metrics]
            else:
                names.append(metric.name)
        results = [logs[name] for name in names if name in logs]
        results += [logs[key] for key in sorted(logs) if key not in names]
        return results[0] if len(results) == 1 else results

    # ---------------------------------------------------------- Keras hooks
    @builtin
    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None,
                     training: bool = True) -> Tensor:
        """The total loss of a batch (the weighted sum of the per-output losses); updates the
        per-output loss trackers. Override to customize; ``y``/``y_pred`` keep the user's structure."""
        state = self._assert_compiled("compute_loss")
        plan = state.build_plan(x, y_pred=y_pred)
        ys, sws = plan.flat_targets(y, sample_weight)
        if ys is None:
            raise ValueError("compute_loss: no targets (y is None).")
        plan.require_loss()
        return plan.total_loss(ys, plan.flatten_pred(y_pred), sws)

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None) -> dict:
        """Update the compiled metrics with a batch and return every metric's result."""
        state = self._assert_compiled("compute_metrics")
        plan = state.build_plan(x, y_pred=y_pred)
        ys, sws = plan.flat_targets(y, sample_weight)
        plan.update_metrics(ys, plan.flatten_pred(y_pred), sws)
        return state.results()

    @builtin
    def train_step(self, data: Any) -> dict:
        """One optimization step on ``data = (x, y, sample_weight)``; returns the metric logs.
        Override to customize what ``fit`` does per batch (``super().train_step(data)`` works)."""
        state, x, ys, sws = self._step_batch(data, "train_step")
        self._train_batch(x, ys, sws)
        return state.results()

    @builtin
    def test_step(self, data: Any) -> dict:
        """Loss and metrics of ``data = (x, y, sample_weight)`` in inference mode; returns the logs."""
        state, x, ys, sws = self._step_batch(data, "test_step")
        self._test_batch(x, ys, sws)
        return state.results()

    @builtin
    def predict_step(self, data: Any) -> Any:
        """The model's outputs for ``data`` (``x`` or ``(x, ...)``), in inference mode."""
        x, _, _ = da.unpack_x_y_sample_weight(data)
        with no_grad():
            return self(x, training=False)

    def _step_batch(self, data: Any, step_name: str) -> tuple:
        """``(compiled state, x, per-output targets, per-output sample weights)`` of a step's
        ``data``, with the targets checked against the compiled outputs."""
        x, y, sample_weight = da.unpack_x_y_sample_weight(data)
        state = self._assert_compiled(step_name)
        ys, sws = state.build_plan(x).flat_targets(y, sample_weight)
        state.plan.check_batch_targets(ys)
        return state, x, ys, sws

    # ----------------------------------------------------------- the steps
    def _train_batch(self, x: Any, y: list | None, sw: list | None) -> Any:
        """The inner train step: forward + loss under one tape, ``optimizer.apply``, metric updates.

        ``y``/``sw`` hold one entry per output (see ``TrainingPlan.output_names``). Returns the
        batch loss as a 0-d backend array: on a device it stays there (no host sync per step).
        This is the function ``bench/train_step.py`` times.
        """
        state = self._compile_state
        plan = state.plan
        variables = plan.trainable
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            flat_pred = plan.flatten_pred(y_pred)
            total = plan.batch_loss(x, y, y_pred, flat_pred, sw, True)
        if variables:
            grads = tape.gradient(total, variables)
            self.optimizer.apply(grads, variables)
        elif not plan.warned_no_weights:
            plan.warned_no_weights = True
            warnings.warn(f"Model '{self.name}' has no trainable weights; fit only computes the loss.",
                          stacklevel=traceback_utils.user_stacklevel())
        value = total.data
        mean_update(state.loss_tracker, value, plan.batch_size(x))
        if plan.has_metrics:
            plan.update_metrics(y, flat_pred, sw)
        return value

    def _test_batch(self, x: Any, y: list | None, sw: list | None) -> Any:
        """The inner test step: forward + loss in inference mode, then metric updates."""
        state = self._compile_state
        plan = state.plan
        with no_grad():
            y_pred = self(x, training=False)
            flat_pred = plan.flatten_pred(y_pred)
            total = plan.batch_loss(x, y, y_pred, flat_pred, sw, False)
        value = total.data
        mean_update(state.loss_tracker, value, plan.batch_size(x))
        if plan.has_metrics:
            plan.update_metrics(y, flat_pred, sw)
        return value

    # ------------------------------------------------------------------- fit
    @traceback_utils.filter_traceback
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1,
            verbose: Any = "auto", callbacks: Any = None, validation_split: float = 0.0,
            validation_data: Any = None, shuffle: Any = True, class_weight: dict | None = None,
            sample_weight: Any = None, initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, validation_batch_size: int | None = None,
            validation_freq: Any = 1):
        """Train the model for ``epochs`` epochs (Keras 3's ``Model.fit``); returns the ``History``.

        ``x``/``y`` are arrays, lists of arrays (one per input/output), dicts keyed by input/output
        name, or ``x`` is a generator/dataset yielding ``(x, y)`` or ``(x, y, sample_weight)``.
        ``validation_split`` holds out the *last* fraction of the arrays (before shuffling);
        ``validation_data`` is ``(x, y)``, ``(x, y, sample_weight)`` or a generator. History keys:
        ``loss``, the metrics, ``<output>_loss`` per output of a multi-output model, and the same
        with ``val_`` for validation. Bad arguments or data raise before anything changes.
        """
        state = self._assert_compiled("fit")
        _check_int(epochs, "epochs", minimum=0)
        _check_int(initial_epoch, "initial_epoch", minimum=0)
        batch_size = da.check_batch_size(batch_size)
        validation_batch_size = da.check_batch_size(validation_batch_size, "validation_batch_size")
        da.check_steps(steps_per_epoch, "steps_per_epoch")
        da.check_steps(validation_steps, "validation_steps")
        _check_validation_freq(validation_freq)
        if not isinstance(validation_split, (int, float)) or isinstance(validation_split, bool) \
                or not 0 <= validation_split < 1:
            raise ValueError(f"`validation_split` must be a float in [0, 1), got {validation_split!r}.")

        val_source = None
        if validation_split and validation_data is None:
            (x, y, sample_weight), val_source = model_data.split_validation(self, x, y, sample_weight,
                                                                            validation_split, batch_size)
        elif validation_data is not None:
            if da.is_dataset(validation_data):
                val_source = (validation_data, None, None)
            else:
                val_source = da.unpack_x_y_sample_weight(validation_data)
                if val_source[1] is None:
                    raise ValueError("`validation_data` must be a tuple (x_val, y_val) or (x_val, y_val, "
                                     "sample_weight), or a generator yielding such tuples.")

        train = model_data.make_adapter(self, x, y, sample_weight, batch_size=batch_size, shuffle=shuffle,
                                        steps=steps_per_epoch, class_weight=class_weight, what="fit")
        val_iterator = None
        if val_source is not None:
            vx, vy, vsw = val_source
            val_iterator = EpochIterator(model_data.make_adapter(
                self, vx, vy, vsw, batch_size=validation_batch_size or batch_size, shuffle=False,
                steps=validation_steps, class_weight=None, what="validation"))
        plan = state.plan
        plan.check_targets(train)
        if val_iterator is not None:
            plan.check_targets(val_iterator.adapter)

        callbacks = _callback_list(callbacks, self, verbose, epochs, train.num_batches, add_history=True)
        self.stop_training = False
        with callbacks.attached(self), backend_state.ops.deferred_checks():
            self._fit_loop(EpochIterator(train, self.steps_per_execution), val_iterator, initial_epoch, epochs,
                           validation_freq)
        return self.history

    def _fit_loop(self, iterator: EpochIterator, val_iterator: EpochIterator | None, initial_epoch: int,
                  epochs: int, validation_freq: Any) -> None:
        state = self._compile_state
        plan = state.plan
        dispatch = dispatch_for(type(self))
        nan_warned = False
        ops = backend_state.ops
        training_logs: dict = {}
        if SUBSCRIBERS.run_begin:
            events.publish("run_begin", self, "train", None)
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            if SUBSCRIBERS.epoch_begin:
                events.publish("epoch_begin", self, epoch, None)
            step_logs = None  # what an overridden train_step returned last (None: the compiled results)
            for begin, batches in iterator.enumerate_epoch():
                if SUBSCRIBERS.batch_begin:
                    events.publish("batch_begin", self, "train", begin, None)
                for batch in batches:
                    ops.set_check_batch(iterator.steps - 1)
                    loss, step_logs = dispatch.train(self, plan, batch)
                    # Checked per batch where the loss is on the host; a device loss is checked
                    # through the epoch's logs below (no host sync per step).
                    if not nan_warned and loss is not None and _on_host(loss):
                        nan_warned = _warn_nonfinite(to_host_scalar(loss), f"epoch {epoch + 1}, batch {iterator.steps}")
                if SUBSCRIBERS.batch_end:
                    events.publish("batch_end", self, "train", iterator.steps - 1,
                                   state.results() if step_logs is None else step_logs)
                if self.stop_training:
                    break
            if iterator.steps == 0:
                _ran_out_of_data(epoch)
                self.stop_training = True
                break
            ops.flush_deferred_checks()
            epoch_logs = pythonify_logs(state.results() if step_logs is None else step_logs)  # one host copy
            if not nan_warned and isinstance(epoch_logs.get("loss"), float):
                nan_warned = _warn_nonfinite(epoch_logs["loss"], f"epoch {epoch + 1}")
            if val_iterator is not None and _should_eval(epoch, validation_freq):
                val_logs = self._evaluate_loop(val_iterator)
                if val_logs is not None:
                    epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            if SUBSCRIBERS.epoch_end:
                events.publish("epoch_end", self, epoch, epoch_logs)
            training_logs = epoch_logs
            if self.stop_training:
                break
        finalize = getattr(self.optimizer, "finalize_variable_values", None)
        if callable(finalize) and epochs > initial_epoch:
            finalize(plan.trainable)
        if SUBSCRIBERS.run_end:
            events.publish("run_end", self, "train", training_logs)

    # -------------------------------------------------------------- evaluate
    @traceback_utils.filter_traceback
    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: Any = "auto",
                 sample_weight: Any = None, steps: int | None = None, callbacks: Any = None,
                 return_dict: bool = False, **kwargs: Any):
        """Loss and metrics on ``x``/``y`` in inference mode (Keras 3's ``Model.evaluate``).

        Returns a scalar (loss only), a list ``[loss, *metrics]`` in Keras's order, or with
        ``return_dict=True`` a dict keyed by metric name.
        """
        if kwargs:
            raise ValueError(f"Arguments not recognized: {sorted(kwargs)}")
        state = self._assert_compiled("evaluate")
        adapter = model_data.make_adapter(self, x, y, sample_weight, batch_size=batch_size, shuffle=False,
                                          steps=steps, class_weight=None, what="evaluate")
        state.plan.check_targets(adapter)
        callbacks = _callback_list(callbacks, self, verbose, 1, adapter.num_batches)
        with callbacks.attached(self), backend_state.ops.deferred_checks():
            logs = self._evaluate_loop(EpochIterator(adapter))
        if logs is None:
            raise ValueError("evaluate: the data yielded no batches (empty dataset).")
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def _evaluate_loop(self, iterator: EpochIterator) -> dict | None:
        """The test loop over one epoch of ``iterator``; the pythonified logs (None: no batches)."""
        state = self._compile_state
        plan = state.plan
        dispatch = dispatch_for(type(self))
        ops = backend_state.ops
        self.stop_evaluating = False
        iterator.restart()  # with validation_steps, every validation starts from the beginning (Keras 3)
        if SUBSCRIBERS.run_begin:
            events.publish("run_begin", self, "test", None)
        self.reset_metrics()
        step_logs = None  # what an overridden test_step returned last (None: the compiled results)
        for step, batches in iterator.enumerate_epoch():
            if SUBSCRIBERS.batch_begin:
                events.publish("batch_begin", self, "test", step, None)
            for batch in batches:
                ops.set_check_batch(iterator.steps - 1)
                step_logs = dispatch.test(self, plan, batch)
            if SUBSCRIBERS.batch_end:
                events.publish("batch_end", self, "test", step, state.results() if step_logs is None else step_logs)
            if self.stop_evaluating:
                break
        ops.flush_deferred_checks()
        if iterator.steps == 0:
            warnings.warn("The validation/evaluation data yielded no batches (a generator that ran out?); "
                          "no validation metrics this time.", UserWarning,
                          stacklevel=traceback_utils.user_stacklevel())
            if SUBSCRIBERS.run_end:
                events.publish("run_end", self, "test", {})
            return None
        logs = pythonify_logs(state.results() if step_logs is None else step_logs)
        if SUBSCRIBERS.run_end:
            events.publish("run_end", self, "test", logs)
        return logs

    # --------------------------------------------------------------- predict
    @traceback_utils.filter_traceback
    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto", steps: int | None = None,
                callbacks: Any = None):
        """The model's outputs for ``x`` as numpy arrays (the outputs' structure), batch by batch,
        in inference mode (Keras 3's ``Model.predict``)."""
        adapter = model_data.make_adapter(self, x, None, None, batch_size=batch_size, shuffle=False, steps=steps,
                                          class_weight=None, what="predict")
        callbacks = _callback_list(callbacks, self, verbose, 1, adapter.num_batches)
        with callbacks.attached(self), backend_state.ops.deferred_checks():
            first, collected = self._predict_loop(EpochIterator(adapter))
        if collected is None:
            raise ValueError("predict: the data yielded no batches (empty dataset).")
        joined = iter([numpy.concatenate(bucket, axis=0) if len(bucket) > 1 else bucket[0] for bucket in collected])
        return map_structure(lambda _: next(joined), first)

    def _predict_loop(self, iterator: EpochIterator) -> tuple:
        """``(first batch's outputs, per-leaf lists of every batch's outputs)`` as host arrays."""
        dispatch = dispatch_for(type(self))
        self.stop_predicting = False
        if SUBSCRIBERS.run_begin:
            events.publish("run_begin", self, "predict", None)
        collected = None
        first = None
        for step, batches in iterator.enumerate_epoch():
            if SUBSCRIBERS.batch_begin:
                events.publish("batch_begin", self, "predict", step, None)
            for batch in batches:
                backend_state.ops.set_check_batch(iterator.steps - 1)
                outputs = map_structure(to_host, dispatch.predict(self, batch[0]))
                leaves = flatten_structure(outputs)
                if collected is None:
                    first, collected = outputs, [[leaf] for leaf in leaves]
                else:
                    for bucket, leaf in zip(collected, leaves):
                        bucket.append(leaf)
            if SUBSCRIBERS.batch_end:
                events.publish("batch_end", self, "predict", step, {"outputs": outputs})
            if self.stop_predicting:
                break
        if SUBSCRIBERS.run_end:
            events.publish("run_end", self, "predict", None)
        return first, collected

    # -------------------------------------------------------------- on batch
    @traceback_utils.filter_traceback
    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, class_weight: dict | None = None,
                       return_dict: bool = False):
        """One gradient update on one batch; returns the loss (and metrics) of that batch."""
        state = self._assert_compiled("train_on_batch")
        batch = model_data.batch_data(self, x, y, sample_weight, class_weight, "train_on_batch")
        plan = state.plan
        plan.check_batch_targets(batch[1])
        plan.dry_run(*batch)
        self.reset_metrics()
        _, logs = dispatch_for(type(self)).train(self, plan, batch)
        return self._batch_logs(state, logs, return_dict)

    @traceback_utils.filter_traceback
    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False):
        """Loss (and metrics) of one batch in inference mode."""
        state = self._assert_compiled("test_on_batch")
        batch = model_data.batch_data(self, x, y, sample_weight, None, "test_on_batch")
        plan = state.plan
        plan.check_batch_targets(batch[1])
        self.reset_metrics()
        logs = dispatch_for(type(self)).test(self, plan, batch)
        return self._batch_logs(state, logs, return_dict)

    def _batch_logs(self, state: CompileState, logs: dict | None, return_dict: bool) -> Any:
        logs = pythonify_logs(state.results() if logs is None else logs)
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    @traceback_utils.filter_traceback
    def predict_on_batch(self, x: Any):
        """The model's outputs for one batch, as numpy arrays."""
        if x is None:
            raise ValueError("predict_on_batch: no input data (x is None).")
        model_data.check_input_names(self, x)
        with no_grad():
            out = self(x, training=False)
        return map_structure(to_host, out)


# ============================================================================ small helpers


def _callback_list(callbacks: Any, model: Trainer, verbose: Any, epochs: int, steps: int | None,
                   add_history: bool = False) -> Any:
    """``callbacks`` as a ``CallbackList`` (a given one is used as it is)."""
    if isinstance(callbacks, CallbackList):
        return callbacks
    return CallbackList(callbacks, add_history=add_history, add_progbar=verbose != 0, model=model, verbose=verbose,
                        epochs=epochs, steps=steps)


def _on_host(value: Any) -> bool:
    """Whether a batch loss (a float, an array or a tensor) is on the host: reading it is free."""
    return not is_device_array(value.data if isinstance(value, Tensor) else value)


def _warn_nonfinite(loss: float, where: str) -> bool:
    """Warn when ``loss`` is NaN/inf; True when it did."""
    if math.isfinite(loss):
        return False
    warnings.warn(f"fit: the loss is {loss} at {where}. Check the data for NaN/inf and try a lower learning "
                  "rate (gk.callbacks.TerminateOnNaN stops training when this happens).", RuntimeWarning,
                  stacklevel=traceback_utils.user_stacklevel())
    return True


def _check_int(value: Any, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}.")


def _check_validation_freq(freq: Any) -> None:
    if isinstance(freq, bool) or not (isinstance(freq, (int, numpy.integer)) and freq >= 1 or
                                      isinstance(freq, (list, tuple))):
        raise ValueError(f"`validation_freq` must be a positive integer or a list of epochs, got {freq!r}.")


def _should_eval(epoch: int, freq: Any) -> bool:
    epoch += 1
    if isinstance(freq, (list, tuple)):
        return epoch in freq
    return epoch % int(freq) == 0


def _ran_out_of_data(epoch: int) -> None:
    warnings.warn(f"Your input ran out of data; interrupting training at epoch {epoch + 1}. Make sure that your "
                  "dataset or generator can generate at least `steps_per_epoch * epochs` batches (a Python "
                  "generator is consumed once; pass steps_per_epoch and make it loop forever).",
                  UserWarning, stacklevel=traceback_utils.user_stacklevel())
