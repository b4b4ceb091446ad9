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

The train step is kept lean: one ``GradientTape`` around the forward pass and the loss,
``optimizer.apply``, then metric updates on numpy arrays. The trainable variables, the per-output
loss plan and the metric plan are resolved once (at the first step after ``compile``) and cached;
as in Keras, changing a layer's ``trainable`` flag after ``compile`` takes effect at the next
``compile``. See ``graphkit/models/data_adapter.py`` for the data formats.
"""
from __future__ import annotations

import inspect
import math
import warnings
from typing import Any

import numpy

from .. import backend
from .. import metrics as metrics_module
from ..backend import state as _backend_state
from ..engine.autograd import GradientTape, no_grad
from ..engine.tensor import Tensor, wrap
from ..graph.node import flatten_structure, map_structure
from ..graph.symbolic import SymbolicTensor
from ..layers.layer import Layer
from . import data_adapter as da

# Instance attributes the trainer sets: never searched for variables or sublayers (the optimizer's
# slots and the metrics' state are not model weights).
_TRAINER_ATTRIBUTES = frozenset({
    "optimizer", "loss", "compiled", "stop_training", "stop_evaluating", "stop_predicting", "history",
    "steps_per_execution", "run_eagerly", "jit_compile", "_compile_state", "_compile_config",
    "train_function", "test_function", "predict_function",
})


class Trainer:
    """Keras 3's training methods, mixed into :class:`graphkit.Model`."""

    _TRACKING_IGNORED = Layer._TRACKING_IGNORED | _TRAINER_ATTRIBUTES

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
        state = _CompileState(self, loss, loss_weights, metrics, weighted_metrics)
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

    def _assert_compiled(self, method: str) -> _CompileState:
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
            if isinstance(metric, _CompileMetrics):
                names += [m.name for m in metric.metrics]
            else:
                names.append(metric.name)
        results = [logs[name] for name in names if name in logs]
        results += [logs[key] for key in sorted(logs) if key not in names]
        return results[0] if len(results) == 1 else results

    # ---------------------------------------------------------- Keras hooks
    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None,
                     training: bool = True) -> Tensor:
        """The total loss of a batch (the weighted sum of the per-output losses); updates the
        per-output loss trackers. Override to customize; ``y``/``y_pred`` keep the user's structure."""
        state = self._assert_compiled("compute_loss")
        plan = self._training_plan(x, y_pred=y_pred)
        ys, sws = plan.flat_targets(y, sample_weight)
        if ys is None:
            raise ValueError("compute_loss: no targets (y is None).")
        return plan.total_loss(ys, plan.flatten_pred(y_pred), sws, state)

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None) -> dict:
        """Update the compiled metrics with a batch and return every metric's result."""
        state = self._assert_compiled("compute_metrics")
        plan = self._training_plan(x, y_pred=y_pred)
        ys, sws = plan.flat_targets(y, sample_weight)
        plan.update_metrics(ys, plan.flatten_pred(y_pred), sws)
        return state.results()

    def train_step(self, data: Any) -> dict:
        """One optimization step on ``data = (x, y, sample_weight)``; returns the metric logs.
        Override to customize what ``fit`` does per batch (``super().train_step(data)`` works)."""
        state, x, ys, sws = self._step_batch(data, "train_step")
        self._train_batch(x, ys, sws)
        return state.results()

    def test_step(self, data: Any) -> dict:
        """Loss and metrics of ``data = (x, y, sample_weight)`` in inference mode; returns the logs."""
        state, x, ys, sws = self._step_batch(data, "test_step")
        self._test_batch(x, ys, sws)
        return state.results()

    def _step_batch(self, data: Any, step_name: str) -> tuple:
        """``(compiled state, x, per-output targets, per-output sample weights)`` of a step's
        ``data``, with the targets checked against the compiled outputs."""
        x, y, sample_weight = da.unpack_x_y_sample_weight(data)
        state = self._assert_compiled(step_name)
        plan = self._training_plan(x)
        ys, sws = plan.flat_targets(y, sample_weight)
        plan.check_batch_targets(ys)
        return state, x, ys, sws

    def predict_step(self, data: Any) -> Any:
        """The model's outputs for ``data`` (``x`` or ``(x, ...)``), in inference mode."""
        x, _, _ = da.unpack_x_y_sample_weight(data)
        with no_grad():
            return self(x, training=False)

    # ----------------------------------------------------------- the steps
    def _train_batch(self, x: Any, y: list | None, sw: list | None) -> float:
        """The inner train step: forward + loss under one tape, ``optimizer.apply``, metric updates.

        ``y``/``sw`` hold one entry per output (see ``_TrainingPlan.output_names``). Returns the
        batch loss as a float. This is the function ``bench/train_step.py`` times.
        """
        state = self._compile_state
        plan = state.plan
        variables = plan.trainable
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            flat_pred = plan.flatten_pred(y_pred)
            total = plan.total_loss(y, flat_pred, sw, state) if plan.default_loss else \
                self._custom_loss(x, y, y_pred, sw, True)
        if variables:
            grads = tape.gradient(total, variables)
            self.optimizer.apply(grads, variables)
        elif not plan.warned_no_weights:
            plan.warned_no_weights = True
            warnings.warn(f"Model '{self.name}' has no trainable weights; fit only computes the loss.",
                          stacklevel=3)
        value = float(total.data)
        _mean_update(state.loss_tracker, value, plan.batch_size(x))
        if plan.has_metrics:
            plan.update_metrics(y, flat_pred, sw)
        return value

    def _test_batch(self, x: Any, y: list | None, sw: list | None) -> float:
        state = self._compile_state
        plan = state.plan
        with no_grad():
            y_pred = self(x, training=False)
            flat_pred = plan.flatten_pred(y_pred)
            total = plan.total_loss(y, flat_pred, sw, state) if plan.default_loss else \
                self._custom_loss(x, y, y_pred, sw, False)
        value = float(total.data)
        _mean_update(state.loss_tracker, value, plan.batch_size(x))
        if plan.has_metrics:
            plan.update_metrics(y, flat_pred, sw)
        return value

    def _custom_loss(self, x: Any, y: list | None, y_pred: Any, sw: list | None, training: bool) -> Tensor:
        """An overridden ``compute_loss`` (with ``training`` only when it takes it, as Keras 3)."""
        plan = self._compile_state.plan
        args = (x, plan.unflatten_targets(y), y_pred, plan.unflatten_targets(sw))
        if plan.compute_loss_takes_training:
            return self.compute_loss(*args, training=training)
        return self.compute_loss(*args)

    # ------------------------------------------------------------- planning
    def _training_output_names(self) -> list[str] | None:
        """Output names known from the graph: a dict of outputs' keys, else the output layers'
        names (Functional and built Sequential models); None for a subclassed model."""
        graph = self._output_graph()
        if graph is None:
            return None
        struct = graph._outputs_struct
        if isinstance(struct, dict):
            return [str(k) for k in struct]
        return _unique_names([t._keras_history[0].name for t in graph.outputs])

    def _output_graph(self) -> Any:
        from .functional import Functional
        from .sequential import Sequential
        if isinstance(self, Sequential):
            return self._functional
        if isinstance(self, Functional):
            return self
        return None

    def _training_plan(self, x_sample: Any = None, y_pred: Any = None) -> "_TrainingPlan":
        """The cached plan (built on first use from a sample batch: a dry forward run names the
        outputs of subclassed models and builds their weights)."""
        state = self._compile_state
        if state.plan is None:
            state.build_plan(x_sample, y_pred)
        return state.plan

    # ------------------------------------------------------------------ data
    def _convert_x(self, x: Any, what: str) -> Any:
        """``x`` with every leaf a numpy array of the dtype its model input expects (floats
        converted once here rather than per batch)."""
        leaves, template = da.flatten(x)
        names = da.describe_leaves(template, "x")
        dtypes = self._input_dtypes(template, len(leaves))
        out = []
        for leaf, name, dtype in zip(leaves, names, dtypes):
            array = da.to_numpy(leaf, f"{what}: {name}")
            out.append(_cast_input(array, dtype))
        return da.rebuild(template, out)

    def _input_dtypes(self, template: Any, count: int) -> list:
        graph = self._output_graph()
        if graph is None:
            return [None] * count
        inputs = graph.inputs
        if isinstance(template, da._Leaf) and len(inputs) == 1:
            return [inputs[0].dtype]
        if isinstance(template, dict):
            try:
                keys = graph._input_keys(template)
            except Exception:  # pragma: no cover - defensive
                return [None] * count
            by_key = dict(zip(keys, inputs))
            wanted = []
            for key, item in template.items():
                wanted.append(by_key[key].dtype if isinstance(item, da._Leaf) and key in by_key else None)
            return wanted if len(wanted) == count else [None] * count
        if isinstance(template, (list, tuple)) and len(template) == len(inputs) == count:
            return [t.dtype for t in inputs]
        return [None] * count

    def _check_input_names(self, x: Any) -> None:
        """A dict ``x`` must be keyed by the model's input names (listed in the error)."""
        graph = self._output_graph()
        if graph is None or not isinstance(x, dict):
            return
        keys = graph._input_keys(x)
        missing = [k for k in keys if k not in x]
        unexpected = [k for k in x if k not in keys]
        if missing or unexpected:
            raise ValueError(f"Model '{self.name}' expects inputs named {keys}; the data dict is missing {missing} "
                             f"and has unexpected keys {unexpected}.")

    def _ensure_outputs_known(self, x_sample: Any) -> None:
        """Build the plan (a dry run on a couple of samples) when not built yet."""
        if self._compile_state.plan is None:
            self._compile_state.build_plan(x_sample, None)

    def _targets(self, y: Any, sample_weight: Any, names: list[str]) -> tuple:
        ys = da.flatten_targets(y, names)
        if ys is not None:
            ys = [None if t is None else _cast_target(da.to_numpy(t, "y")) for t in ys]
        sws = da.flatten_targets(sample_weight, names, "sample_weight")
        if sws is not None:
            sws = [None if t is None else da.to_numpy(t, "sample_weight").astype(backend.FLOATX, copy=False)
                   for t in sws]
        return ys, sws

    def _dataset_converter(self, class_weight: dict | None, what: str):
        """A function turning one raw generator batch into ``(x, y list, sample_weight list)``
        (``predict`` keeps only ``x``), checked like array data (NaN/inf warned about once)."""
        warned = [False]
        state = self._compile_state
        targets = what != "predict"

        def convert(raw: Any) -> tuple:
            x, y, sw = da.unpack_x_y_sample_weight(raw)
            x = self._convert_x(x, what)
            ys = sws = None
            if targets:
                ys, sws = self._targets(y, sw, state.plan.output_names)
                if class_weight is not None:
                    sws = self._class_weights(ys, sws, class_weight)
            leaves, template = da.flatten(x)
            labels = da.describe_leaves(template, "x")
            arrays = list(leaves)
            for kind, values in (("y", ys), ("sample_weight", sws)):
                for i, t in enumerate(values or []):
                    if t is not None and all(t is not a for a in arrays):
                        arrays.append(t)
                        labels.append(kind if len(values) == 1 else f"{kind}[{i}]")
            da.check_cardinality(arrays, labels, what)
            if not warned[0]:
                report = da.non_finite_report(arrays, labels)
                if report:
                    warned[0] = True
                    da.warn_non_finite(report, stacklevel=6)
            return x, ys, sws

        return convert

    @staticmethod
    def _class_weights(ys: list | None, sws: list | None, class_weight: dict) -> list:
        if sws is not None and any(s is not None for s in sws):
            raise ValueError("You cannot use `class_weight` and `sample_weight` at the same time.")
        if ys is None or len(ys) != 1:
            raise ValueError("`class_weight` is only supported for models with a single output "
                             f"(this one has {0 if ys is None else len(ys)} targets).")
        return [da.class_weight_to_sample_weights(ys[0], class_weight)]

    def _make_adapter(self, x: Any, y: Any, sample_weight: Any, *, batch_size: Any, shuffle: Any, steps: Any,
                      class_weight: dict | None, what: str):
        """An adapter over ``(x, y, sample_weight)``: arrays or a dataset."""
        batch_size = da.check_batch_size(batch_size)
        if da.is_dataset(x):
            if y is not None or sample_weight is not None:
                raise ValueError(f"{what}: `y` and `sample_weight` must not be passed when `x` is a generator or "
                                 "dataset; yield (x, y) or (x, y, sample_weight) from it instead.")
            state = self._compile_state
            adapter = da.IterableDataAdapter(x, lambda raw: raw, steps=steps, shuffle=shuffle is True, what=what)
            first_x = da.unpack_x_y_sample_weight(adapter._pending[0])[0]
            self._check_input_names(first_x)
            if state is not None and what != "predict":
                self._ensure_outputs_known(self._convert_x(first_x, what))
            adapter.convert = self._dataset_converter(class_weight, what)
            adapter._pending = [adapter.convert(raw) for raw in adapter._pending]
            return adapter
        if x is None:
            raise ValueError(f"{what}: no input data (x is None).")
        self._check_input_names(x)
        x = self._convert_x(x, what)
        state = self._compile_state
        if state is not None and what != "predict":
            self._ensure_outputs_known(_head(x))
            ys, sws = self._targets(y, sample_weight, state.plan.output_names)
        else:
            ys, sws = None, None
        if class_weight is not None:
            sws = self._class_weights(ys, sws, class_weight)
        return da.ArrayDataAdapter(x, ys, sws, batch_size=batch_size, shuffle=shuffle, steps=steps, what=what)

    # ------------------------------------------------------------------- fit
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
        from ..callbacks import CallbackList

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
            if da.is_dataset(x):
                raise ValueError("`validation_split` is only supported for arrays (NumPy arrays, tensors, lists "
                                 "or dicts of them), not for generators or datasets: pass validation_data.")
            if x is None:
                raise ValueError("fit: no input data (x is None).")
            self._check_input_names(x)
            x = self._convert_x(x, "fit")
            self._ensure_outputs_known(_head(x))
            names = state.plan.output_names
            ys, sws = self._targets(y, sample_weight, names)
            full = da.ArrayDataAdapter(x, ys, sws, batch_size=batch_size, what="fit", check_finite=False)
            split_at = da.train_validation_split(full.num_samples, validation_split)
            x, y, sample_weight = full.slice(0, split_at)
            val_x, val_y, val_sw = full.slice(split_at, full.num_samples)
            y, sample_weight = _unlist(y), _unlist(sample_weight)
            val_source = (val_x, _unlist(val_y), _unlist(val_sw))
        elif validation_data is not None:
            if da.is_dataset(validation_data):
                val_source = (validation_data, None, None)
            else:
                vx, vy, vsw = da.unpack_x_y_sample_weight(validation_data)
                if vy is None:
                    raise ValueError("`validation_data` must be a tuple (x_val, y_val) or (x_val, y_val, "
                                     "sample_weight), or a generator yielding such tuples.")
                val_source = (vx, vy, vsw)

        train = self._make_adapter(x, y, sample_weight, batch_size=batch_size, shuffle=shuffle,
                                   steps=steps_per_epoch, class_weight=class_weight, what="fit")
        val_adapter = None
        if val_source is not None:
            vx, vy, vsw = val_source
            val_adapter = self._make_adapter(vx, vy, vsw, batch_size=validation_batch_size or batch_size,
                                             shuffle=False, steps=validation_steps, class_weight=None,
                                             what="validation")
        plan = state.plan
        if not plan.has_loss and plan.default_loss:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        plan.check_targets(train)
        if val_adapter is not None:
            plan.check_targets(val_adapter)

        if not isinstance(callbacks, CallbackList):
            callbacks = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                                     verbose=verbose, epochs=epochs, steps=train.num_batches)
        self.stop_training = False
        per_execution = self.steps_per_execution
        custom_step = type(self).train_step is not Trainer.train_step
        nan_warned = False
        training_logs: dict = {}
        callbacks.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            callbacks.on_epoch_begin(epoch)
            logs = None
            step = 0
            batches = train.epoch()
            done = False
            while not done:
                begin = step
                ran = 0
                for batch in batches:
                    if ran == 0:
                        callbacks.on_train_batch_begin(begin)
                    if custom_step:
                        logs = self.train_step(da.pack_x_y_sample_weight(
                            batch[0], plan.unflatten_targets(batch[1]), plan.unflatten_targets(batch[2])))
                        value = (logs or {}).get("loss")
                    else:
                        value = self._train_batch(*batch)
                    ran += 1
                    step += 1
                    if not nan_warned and value is not None and not math.isfinite(float(value)):
                        nan_warned = True
                        warnings.warn(f"fit: the loss is {float(value)} at epoch {epoch + 1}, batch {step}. Check "
                                      "the data for NaN/inf and try a lower learning rate "
                                      "(gk.callbacks.TerminateOnNaN stops training when this happens).",
                                      RuntimeWarning, stacklevel=2)
                    if ran == per_execution:
                        break
                else:
                    done = True
                if ran:
                    if not custom_step:
                        logs = state.results()
                    callbacks.on_train_batch_end(begin + ran - 1, logs)
                if self.stop_training:
                    break
            if step == 0:
                _ran_out_of_data(epoch)
                self.stop_training = True
                break
            epoch_logs = dict(state.results()) if not custom_step else dict(logs or {})
            if val_adapter is not None and _should_eval(epoch, validation_freq):
                val_logs = self._evaluate_adapter(val_adapter, callbacks)
                if val_logs is not None:
                    epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            callbacks.on_epoch_end(epoch, epoch_logs)
            training_logs = epoch_logs
            if self.stop_training:
                break
        finalize = getattr(self.optimizer, "finalize_variable_values", None)
        if callable(finalize) and epochs > initial_epoch:
            finalize(plan.trainable)
        callbacks.on_train_end(logs=training_logs)
        return self.history

    # -------------------------------------------------------------- evaluate
    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: Any = "auto",
                 sample_weight: Any = None, steps: int | None = None, callbacks: Any = None,
                 return_dict: bool = False, **kwargs: Any):
        """Loss and metrics on ``x``/``y`` in inference mode (Keras 3's ``Model.evaluate``).

        Returns a scalar (loss only), a list ``[loss, *metrics]`` in Keras's order, or with
        ``return_dict=True`` a dict keyed by metric name.
        """
        from ..callbacks import CallbackList

        if kwargs:
            raise ValueError(f"Arguments not recognized: {sorted(kwargs)}")
        state = self._assert_compiled("evaluate")
        adapter = self._make_adapter(x, y, sample_weight, batch_size=batch_size, shuffle=False, steps=steps,
                                     class_weight=None, what="evaluate")
        plan = state.plan
        if not plan.has_loss and plan.default_loss:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        plan.check_targets(adapter)
        if not isinstance(callbacks, CallbackList):
            callbacks = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1,
                                     steps=adapter.num_batches)
        logs = self._evaluate_adapter(adapter, callbacks)
        if logs is None:
            raise ValueError("evaluate: the data yielded no batches (empty dataset).")
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def _evaluate_adapter(self, adapter: Any, callbacks: Any) -> dict | None:
        """Run the test loop over one epoch of ``adapter``; the pythonified logs (None: no batches)."""
        from ..callbacks.callback_list import pythonify_logs

        state = self._compile_state
        plan = state.plan
        custom_step = type(self).test_step is not Trainer.test_step
        self.stop_evaluating = False
        adapter.restart()  # with validation_steps, every validation starts from the beginning (Keras 3)
        callbacks.on_test_begin()
        self.reset_metrics()
        logs = None
        step = 0
        for batch in adapter.epoch():
            callbacks.on_test_batch_begin(step)
            if custom_step:
                logs = self.test_step(da.pack_x_y_sample_weight(
                    batch[0], plan.unflatten_targets(batch[1]), plan.unflatten_targets(batch[2])))
            else:
                self._test_batch(*batch)
                logs = state.results()
            callbacks.on_test_batch_end(step, logs)
            step += 1
            if self.stop_evaluating:
                break
        if step == 0:
            warnings.warn("The validation/evaluation data yielded no batches (a generator that ran out?); "
                          "no validation metrics this time.", UserWarning, stacklevel=3)
            callbacks.on_test_end({})
            return None
        logs = pythonify_logs(state.results() if not custom_step else logs)
        callbacks.on_test_end(logs)
        return logs

    # --------------------------------------------------------------- predict
    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto", steps: int | None = None,
                callbacks: Any = None):
        """The model's outputs for ``x`` as numpy arrays (the outputs' structure), batch by batch,
        in inference mode (Keras 3's ``Model.predict``)."""
        from ..callbacks import CallbackList

        adapter = self._make_adapter(x, None, None, batch_size=batch_size, shuffle=False, steps=steps,
                                     class_weight=None, what="predict")
        if not isinstance(callbacks, CallbackList):
            callbacks = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1,
                                     steps=adapter.num_batches)
        custom_step = type(self).predict_step is not Trainer.predict_step
        self.stop_predicting = False
        callbacks.on_predict_begin()
        collected = None
        first = None
        step = 0
        for batch in adapter.epoch():
            callbacks.on_predict_batch_begin(step)
            if custom_step:
                out = self.predict_step((batch[0],))
            else:
                with no_grad():
                    out = self(batch[0], training=False)
            out_np = map_structure(_output_to_numpy, out)
            if collected is None:
                first = out_np
                collected = [[leaf] for leaf in flatten_structure(out_np)]
            else:
                for bucket, leaf in zip(collected, flatten_structure(out_np)):
                    bucket.append(leaf)
            callbacks.on_predict_batch_end(step, {"outputs": out_np})
            step += 1
            if self.stop_predicting:
                break
        callbacks.on_predict_end()
        if collected is None:
            raise ValueError("predict: the data yielded no batches (empty dataset).")
        joined = iter([numpy.concatenate(bucket, axis=0) if len(bucket) > 1 else bucket[0] for bucket in collected])
        return map_structure(lambda _: next(joined), first)

    # -------------------------------------------------------------- on batch
    def _batch_data(self, x: Any, y: Any, sample_weight: Any, class_weight: Any, what: str) -> tuple:
        """One batch of user data in the step's form, with the checks of ``fit``."""
        state = self._compile_state
        if x is None:
            raise ValueError(f"{what}: no input data (x is None).")
        if isinstance(x, numpy.ndarray) and x.dtype.kind == "f" and state.plan is not None:
            xs = x  # the common case: the model converts the array itself
            x_leaves, labels = [x], ["x"]
        else:
            self._check_input_names(x)
            xs = self._convert_x(x, what)
            x_leaves, template = da.flatten(xs)
            labels = da.describe_leaves(template, "x")
        if state.plan is None:
            state.build_plan(_head(xs), None)
        plan = state.plan
        ys, sws = self._targets(y, sample_weight, plan.output_names)
        if class_weight is not None:
            sws = self._class_weights(ys, sws, class_weight)
        arrays = x_leaves + [t for t in (ys or []) if t is not None]
        names = labels + [("y" if len(ys) == 1 else f"y[{i}]") for i, t in enumerate(ys or []) if t is not None]
        extra = [t for t in (sws or []) if t is not None and all(t is not a for a in arrays)]
        da.check_cardinality(arrays + extra, names + ["sample_weight"] * len(extra), what)
        report = da.non_finite_report(arrays, names)
        if report:
            da.warn_non_finite(report, stacklevel=4)
        return xs, ys, sws

    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, class_weight: dict | None = None,
                       return_dict: bool = False):
        """One gradient update on one batch; returns the loss (and metrics) of that batch."""
        from ..callbacks.callback_list import pythonify_logs

        state = self._assert_compiled("train_on_batch")
        xs, ys, sws = self._batch_data(x, y, sample_weight, class_weight, "train_on_batch")
        plan = state.plan
        if not plan.has_loss and plan.default_loss:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        plan.check_batch_targets(ys)
        plan.dry_run(xs, ys, sws)
        self.reset_metrics()
        if type(self).train_step is not Trainer.train_step:
            logs = self.train_step(da.pack_x_y_sample_weight(xs, plan.unflatten_targets(ys),
                                                             plan.unflatten_targets(sws)))
        else:
            self._train_batch(xs, ys, sws)
            logs = state.results()
        logs = pythonify_logs(logs)
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False):
        """Loss (and metrics) of one batch in inference mode."""
        from ..callbacks.callback_list import pythonify_logs

        state = self._assert_compiled("test_on_batch")
        xs, ys, sws = self._batch_data(x, y, sample_weight, None, "test_on_batch")
        plan = state.plan
        if not plan.has_loss and plan.default_loss:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        plan.check_batch_targets(ys)
        self.reset_metrics()
        if type(self).test_step is not Trainer.test_step:
            logs = self.test_step(da.pack_x_y_sample_weight(xs, plan.unflatten_targets(ys),
                                                            plan.unflatten_targets(sws)))
        else:
            self._test_batch(xs, ys, sws)
            logs = state.results()
        logs = pythonify_logs(logs)
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def predict_on_batch(self, x: Any):
        """The model's outputs for one batch, as numpy arrays."""
        if x is None:
            raise ValueError("predict_on_batch: no input data (x is None).")
        self._check_input_names(x)
        with no_grad():
            out = self(x, training=False)
        return map_structure(_output_to_numpy, out)


# ============================================================================ compile state


class _CompileState:
    """What ``compile`` resolved (optimizer aside), and the plan built at the first step."""

    def __init__(self, model: Trainer, loss: Any, loss_weights: Any, metrics: Any, weighted_metrics: Any) -> None:
        self.model = model
        self.user_loss = loss
        self.user_loss_weights = loss_weights
        names = model._training_output_names()
        if loss_weights is not None and not isinstance(loss_weights, (list, tuple, dict, int, float)) \
                or isinstance(loss_weights, bool):
            raise ValueError("Expected `loss_weights` to be a float (single output) or a list or dict (one weight "
                             f"per output), got {loss_weights!r}.")
        for argument, value in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if value is not None and not isinstance(value, (list, tuple, dict)):
                raise ValueError(f"Expected `{argument}` argument to be a list, tuple, or dict. Received instead: "
                                 f"{argument}={value!r} of type {type(value).__name__}")
        # Resolve every name now, so a typo fails at compile time (listing the valid names).
        self.loss_spec = _resolve_losses(loss, names)
        self.loss_weight_spec = _check_loss_weights(loss_weights, names)
        self.metric_spec = _resolve_metrics(metrics, names, "metrics")
        self.weighted_metric_spec = _resolve_metrics(weighted_metrics, names, "weighted_metrics")
        self.loss_tracker = metrics_module.Mean(name="loss")
        # Keras 3 lists a "compile_metrics" container only when metrics were given.
        self.compile_metrics = _CompileMetrics() if metrics is not None or weighted_metrics is not None else None
        self.plan: _TrainingPlan | None = None

    def build_plan(self, x_sample: Any, y_pred: Any) -> None:
        model = self.model
        if y_pred is None:
            if x_sample is None:
                raise ValueError(f"Model '{model.name}' cannot plan its training without data.")
            with no_grad():
                y_pred = model(x_sample, training=False)
        self.plan = _TrainingPlan(self, y_pred)
        if self.compile_metrics is not None:
            self.compile_metrics.attach(self.plan)

    def results(self) -> dict:
        out = {"loss": _mean_result(self.loss_tracker)}
        plan = self.plan
        if plan is not None:
            if plan.has_metrics:
                out.update(zip(plan.result_names, [m.result() for _, m, _ in plan.metric_entries]))
            for tracker in plan.loss_trackers:
                out[tracker.name] = _mean_result(tracker)
        return out


class _TrainingPlan:
    """Per-output losses, weights, metrics and the trainable variables, resolved once."""

    def __init__(self, state: _CompileState, y_pred: Any) -> None:
        model = state.model
        self.model = model
        self.warned_no_weights = False
        graph_names = model._training_output_names()
        self.dict_outputs = isinstance(y_pred, dict)
        if self.dict_outputs:
            names = graph_names if graph_names and set(graph_names) == set(map(str, y_pred)) else \
                sorted(str(k) for k in y_pred)
            self._keys = names
            self.single_tensor = False
        else:
            flat = flatten_structure(y_pred)
            names = graph_names if graph_names and len(graph_names) == len(flat) else \
                (["output"] if len(flat) == 1 else [f"output_{i + 1}" for i in range(len(flat))])
            self.single_tensor = isinstance(y_pred, Tensor)
            self._keys = None
        self.output_names = list(names)
        flat_pred = self.flatten_pred(y_pred)
        n = len(flat_pred)
        self.output_shapes = [tuple(p.shape) for p in flat_pred]
        # Losses: one per output (None: not trained), with their weights.
        loss_spec = state.loss_spec if isinstance(state.loss_spec, list) else None
        if loss_spec is None:
            specs = _losses_for(state.user_loss, state.loss_spec, self.output_names)
        else:
            specs = loss_spec
        if len(specs) != n:
            raise ValueError(f"For a model with {n} outputs {self.output_names}, `loss` needs one entry per output; "
                             f"got {len(specs)}.")
        self._specs = specs
        self._weights = _weights_for(state.loss_weight_spec, self.output_names)
        self._state = state
        self.has_loss = any(spec is not None for spec in specs)
        n_losses = sum(spec is not None for spec in specs)
        self.loss_trackers = [metrics_module.Mean(name=f"{self.output_names[i]}_loss")
                              for i, spec in enumerate(specs) if spec is not None] if n_losses > 1 else []
        self.default_loss = type(model).compute_loss is Trainer.compute_loss
        self.compute_loss_takes_training = "training" in inspect.signature(type(model).compute_loss).parameters
        self.finalized = False
        self.validated = False
        self.losses: list = []
        self._single = None
        self.metric_entries: list = []
        self.has_metrics = False
        self.result_names: list = []
        self.trainable = list(model.trainable_weights)

    def finalize(self, ys: list | None) -> None:
        """Resolve what needs the targets' shapes ("crossentropy", "accuracy"); once."""
        if self.finalized:
            return
        state = self._state
        self.losses = []  # (output index, loss, weight)
        resolved = []
        for i, (spec, weight) in enumerate(zip(self._specs, self._weights)):
            y_shape = None if ys is None or ys[i] is None else tuple(numpy.shape(ys[i]))
            loss_obj = None if spec is None else _finalize_loss(spec, y_shape, self.output_shapes[i])
            resolved.append(loss_obj)
            if loss_obj is not None:
                self.losses.append((i, loss_obj, weight))
        self._single = self.losses[0] if len(self.losses) == 1 and not self.loss_trackers else None
        n = len(self.output_names)
        y_shapes = [None if ys is None or ys[i] is None else tuple(numpy.shape(ys[i])) for i in range(n)]
        metrics = _metrics_for(state.metric_spec, self.output_names, self.output_shapes, y_shapes, resolved,
                               weighted=False)
        weighted = _metrics_for(state.weighted_metric_spec, self.output_names, self.output_shapes, y_shapes,
                                resolved, weighted=True)
        self.metric_entries = [(i, m, False) for i, group in enumerate(metrics) for m in group] + \
            [(i, m, True) for i, group in enumerate(weighted) for m in group]
        self.has_metrics = bool(self.metric_entries)
        self.result_names = _result_names(metrics, weighted, self.output_names, n > 1)
        self.finalized = True

    # -------------------------------------------------------------- structures
    def flatten_pred(self, y_pred: Any) -> list:
        if isinstance(y_pred, Tensor):
            return [y_pred]
        if self._keys is not None and isinstance(y_pred, dict):
            return [y_pred[k] for k in self._keys]
        return flatten_structure(y_pred)

    def flat_targets(self, y: Any, sample_weight: Any) -> tuple:
        """User-structured targets and sample weights as per-output lists (finalizing the plan)."""
        names = self.output_names
        ys = da.flatten_targets(y, names)
        sws = None if sample_weight is None else da.flatten_targets(sample_weight, names, "sample_weight")
        self.finalize(ys)
        return ys, sws

    def unflatten_targets(self, values: list | None) -> Any:
        """Per-output entries back to the user's structure (one value, list or dict)."""
        if values is None:
            return None
        if len(values) == 1 and not self.dict_outputs:
            return values[0]
        if self.dict_outputs:
            return dict(zip(self.output_names, values))
        return list(values)

    @staticmethod
    def batch_size(x: Any) -> int:
        if isinstance(x, (numpy.ndarray, Tensor)):
            return int(x.shape[0])
        for leaf in flatten_structure(x):
            if hasattr(leaf, "shape") and len(leaf.shape):
                return int(leaf.shape[0])
        return len(flatten_structure(x)[0])

    def check_targets(self, adapter: Any) -> None:
        """Check an adapter's targets (and, once per plan, dry-run the loss and metrics on its
        first samples), so mismatched data fails before training changes anything."""
        if isinstance(adapter, da.IterableDataAdapter):
            batch = adapter._pending[0] if adapter._pending else None
        else:
            batch = adapter.slice(0, 2)
        self.check_batch_targets(None if batch is None else batch[1])
        if batch is not None:
            self.dry_run(*batch, force=True)

    def dry_run(self, x: Any, ys: list | None, sws: list | None, force: bool = False) -> None:
        """Compute the loss and metrics of a couple of samples in inference mode, then reset the
        metrics: shape or dtype problems of targets surface here, with nothing changed (``fit``
        and ``evaluate`` do it every call, ``train_on_batch`` once per compile)."""
        if (self.validated and not force) or not self.default_loss or ys is None:
            return
        head = lambda v: v[:2] if v is not None and hasattr(v, "shape") and len(v.shape) else v  # noqa: E731
        x = _head(x)
        ys = [head(t) for t in ys]
        sws = None if sws is None else [head(t) for t in sws]
        try:
            with no_grad():
                flat = self.flatten_pred(self.model(x, training=False))
                if self.has_loss:
                    self.total_loss(ys, flat, sws, self._state)
                self.update_metrics(ys, flat, sws)
        finally:
            for tracker in self.loss_trackers:
                tracker.reset_state()
            for _, metric, _ in self.metric_entries:
                metric.reset_state()
        self.validated = True

    def check_batch_targets(self, ys: list | None) -> None:
        self.finalize(ys)
        if not self.default_loss:
            return
        missing = [self.output_names[i] for i, spec in enumerate(self._specs)
                   if spec is not None and (ys is None or ys[i] is None)]
        if missing:
            raise ValueError(f"No target data for output(s) {missing}, which have a loss: pass y (one array per "
                             f"output with a loss; outputs are {self.output_names}).")

    # ---------------------------------------------------------------- the loss
    def total_loss(self, ys: list, flat_pred: list, sws: list | None, state: _CompileState) -> Tensor:
        single = self._single
        if single is not None:
            i, loss_fn, weight = single
            sw = None if sws is None else sws[i]
            value = loss_fn(_target_tensor(ys[i]), flat_pred[i], None if sw is None else _target_tensor(sw))
            return value if weight is None else value * weight
        total = None
        trackers = self.loss_trackers
        for k, (i, loss_fn, weight) in enumerate(self.losses):
            sw = None if sws is None else sws[i]
            value = loss_fn(_target_tensor(ys[i]), flat_pred[i], None if sw is None else _target_tensor(sw))
            if trackers:
                _mean_update(trackers[k], float(value.data), int(flat_pred[i].shape[0]))
            if weight is not None:
                value = value * weight
            total = value if total is None else total + value
        if total is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        return total

    # ------------------------------------------------------------- the metrics
    def update_metrics(self, ys: list | None, flat_pred: list, sws: list | None) -> None:
        if ys is None:
            return
        preds = [None] * len(flat_pred)
        for i, m, weighted in self.metric_entries:
            y_true = ys[i]
            if y_true is None:
                continue
            pred = preds[i]
            if pred is None:
                pred = preds[i] = _host(flat_pred[i].data)
            if weighted and sws is not None and sws[i] is not None:
                m.update_state(y_true, pred, sample_weight=sws[i])
            else:
                m.update_state(y_true, pred)


class _CompileMetrics(metrics_module.Metric):
    """The container Keras 3 lists as ``compile_metrics`` in ``model.metrics``: ``result()`` is a
    dict of every compiled metric's value; ``metrics`` lists them."""

    def __init__(self) -> None:
        super().__init__(name="compile_metrics")
        self._plan: _TrainingPlan | None = None

    def attach(self, plan: _TrainingPlan) -> None:
        self._plan = plan

    @property
    def built(self) -> bool:
        return self._plan is not None

    @property
    def metrics(self) -> list:
        plan = self._plan
        if plan is None:
            return []
        return [m for _, m, _ in plan.metric_entries]

    @property
    def variables(self) -> list:
        return [v for m in self.metrics for v in getattr(m, "variables", ())]

    @property
    def _metrics(self) -> list:  # Metric.variables walks these
        return self.metrics

    @_metrics.setter
    def _metrics(self, value: list) -> None:
        pass

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        plan = self._plan
        if plan is None:
            raise ValueError("compile_metrics is built at the model's first training/evaluation step.")
        names = plan.output_names
        plan.update_metrics(da.flatten_targets(y_true, names), plan.flatten_pred(y_pred),
                            None if sample_weight is None else da.flatten_targets(sample_weight, names,
                                                                                   "sample_weight"))

    def reset_state(self) -> None:
        for m in self.metrics:
            m.reset_state()

    def result(self) -> dict:
        plan = self._plan
        if plan is None:
            return {}
        return {name: m.result() for name, (_, m, _) in zip(plan.result_names, plan.metric_entries)}

    def __repr__(self) -> str:
        return f"<CompileMetrics name=compile_metrics metrics={[m.name for m in self.metrics]}>"


# ============================================================================ resolution helpers

_AUTO_LOSSES = ("crossentropy", "ce")
_AUTO_ACCURACY = ("accuracy", "acc")


class _Deferred:
    """A name resolved at the first step, once target and output shapes are known."""

    __slots__ = ("identifier",)

    def __init__(self, identifier: str) -> None:
        self.identifier = identifier


def _resolve_loss(identifier: Any) -> Any:
    from .. import losses as losses_module
    if identifier is None:
        return None
    if isinstance(identifier, str) and identifier.lower() in _AUTO_LOSSES:
        return _Deferred(identifier)
    loss = losses_module.get(identifier)
    if not isinstance(loss, losses_module.Loss):
        name = identifier if isinstance(identifier, str) else getattr(loss, "__name__", type(loss).__name__)
        loss = losses_module.LossFunctionWrapper(loss, name=name)
    return loss


def _resolve_losses(loss: Any, names: list[str] | None) -> Any:
    """A resolved loss (applies to every output), or a list (per output) / dict (by output name)."""
    if loss is None:
        return None
    if isinstance(loss, dict):
        if names is not None:
            _check_output_keys("loss", loss, names)
        return {k: _resolve_loss(v) for k, v in loss.items()}
    if isinstance(loss, (list, tuple)):
        if names is not None and len(loss) != len(names) and not (len(names) == 1 and len(loss) == 1):
            raise ValueError(f"For a model with {len(names)} outputs {names}, the `loss` list should have as many "
                             f"entries as the model has outputs; got {len(loss)}.")
        return [_resolve_loss(v) for v in loss]
    return _resolve_loss(loss)


def _check_output_keys(argument: str, spec: dict, names: list[str]) -> None:
    unexpected = [k for k in spec if k not in names]
    if unexpected:
        raise ValueError(f"The `{argument}` dict has keys {unexpected} that are not outputs of the model; "
                         f"its outputs are named {names}.")


def _check_loss_weights_length(weights: Any, names: list[str]) -> None:
    if len(weights) != len(names):
        raise ValueError(f"`loss_weights` must match the number of outputs: got {len(weights)} weights for "
                         f"{len(names)} outputs {names}.")


def _losses_for(user_loss: Any, spec: Any, names: list[str]) -> list:
    if spec is None:
        return [None] * len(names)
    if isinstance(spec, dict):
        _check_output_keys("loss", spec, names)
        return [spec.get(name) for name in names]
    return [spec] * len(names)


def _check_loss_weights(weights: Any, names: list[str] | None) -> Any:
    if weights is None:
        return None
    if isinstance(weights, dict):
        if names is not None:
            _check_output_keys("loss_weights", weights, names)
        for k, v in weights.items():
            _check_weight(v, k)
        return dict(weights)
    if isinstance(weights, (list, tuple)):
        if names is not None:
            _check_loss_weights_length(weights, names)
        for i, v in enumerate(weights):
            _check_weight(v, i)
        return list(weights)
    _check_weight(weights, 0)
    return float(weights)


def _check_weight(value: Any, key: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float, numpy.number))):
        raise ValueError(f"`loss_weights` entries must be numbers, got {value!r} for {key!r}.")


def _weights_for(spec: Any, names: list[str]) -> list:
    if spec is None:
        return [None] * len(names)
    if isinstance(spec, dict):
        return [None if spec.get(name) is None else float(spec[name]) for name in names]
    if isinstance(spec, list):
        _check_loss_weights_length(spec, names)
        return [None if w is None else float(w) for w in spec]
    return [spec] * len(names)


def _finalize_loss(spec: Any, y_shape: tuple | None, output_shape: tuple) -> Any:
    """A deferred ``"crossentropy"``/``"ce"`` becomes the binary, sparse or categorical
    crossentropy that fits the targets and outputs (Keras 3's rule)."""
    if not isinstance(spec, _Deferred):
        return spec
    from .. import losses as losses_module
    last = output_shape[-1] if output_shape else None
    if last == 1:
        fn = losses_module.binary_crossentropy
    elif y_shape is not None and (len(y_shape) < len(output_shape) or (y_shape and y_shape[-1] == 1)):
        fn = losses_module.sparse_categorical_crossentropy
    else:
        fn = losses_module.categorical_crossentropy
    return losses_module.LossFunctionWrapper(fn, name=spec.identifier)


def _resolve_metric(identifier: Any) -> Any:
    if identifier is None:
        return None
    if isinstance(identifier, str) and identifier.lower() in _AUTO_ACCURACY:
        return _Deferred(identifier)
    metric = metrics_module.get(identifier)
    name = identifier if isinstance(identifier, str) else None
    if not isinstance(metric, metrics_module.Metric):
        metric = metrics_module.MeanMetricWrapper(metric, name=name or getattr(metric, "__name__", "metric"))
    elif name is not None:
        metric.name = name
    return metric


def _resolve_metric_list(value: Any, argument: str) -> list:
    items = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for item in items:
        if item is not None and not (isinstance(item, str) or callable(item)):
            raise ValueError(f"Expected all entries in the `{argument}` list to be metric objects, names or "
                             f"functions. Received instead: {argument}={value!r}")
        out.append(_resolve_metric(item))
    return out


def _resolve_metrics(metrics: Any, names: list[str] | None, argument: str) -> Any:
    """Resolved metrics: a flat list (single output), a list of lists, or a dict of lists."""
    if not metrics:
        return None
    if isinstance(metrics, dict):
        if names is not None:
            unexpected = [k for k in metrics if k not in names]
            if unexpected:
                raise ValueError(f"In the dict argument `{argument}`, key(s) {unexpected} do not correspond to any "
                                 f"model output; the outputs are named {names}.")
        return {k: _resolve_metric_list(v, argument) for k, v in metrics.items()}
    per_output = any(isinstance(m, (list, tuple)) for m in metrics)
    if per_output or (names is not None and len(names) > 1):
        if names is not None and len(names) > 1 and len(metrics) != len(names):
            raise ValueError(f"For a model with multiple outputs, when providing the `{argument}` argument as a "
                             f"list, it should have as many entries as the model has outputs. Received:\n"
                             f"{argument}={metrics!r}\nof length {len(metrics)} whereas the model has {len(names)} "
                             f"outputs {names}.")
        if names is not None and len(names) == 1 and per_output:
            return ("flat", [m for group in metrics for m in _resolve_metric_list(group, argument)])
        return [_resolve_metric_list(group, argument) for group in metrics]
    return ("flat", _resolve_metric_list(metrics, argument))


def _metrics_for(spec: Any, names: list[str], shapes: list[tuple], y_shapes: list, losses: list,
                 weighted: bool) -> list:
    """One list of metric objects per output (``"accuracy"`` resolved from the shapes, Keras 3's rule)."""
    import copy

    n = len(names)
    if spec is None:
        return [[] for _ in range(n)]
    if isinstance(spec, tuple) and spec[0] == "flat":
        if n != 1:
            raise ValueError(f"For a model with multiple outputs {names}, pass `{'weighted_' if weighted else ''}"
                             "metrics` as a list of lists or a dict keyed by output name.")
        groups = [spec[1]]
    elif isinstance(spec, dict):
        unexpected = [k for k in spec if k not in names]
        if unexpected:
            raise ValueError(f"The metrics dict has keys {unexpected} that are not outputs of the model; its "
                             f"outputs are named {names}.")
        groups = [spec.get(name, []) for name in names]
    else:
        if len(spec) != n:
            raise ValueError(f"The metrics list has {len(spec)} entries for a model with {n} outputs {names}.")
        groups = spec
    out = []
    for i, group in enumerate(groups):
        resolved = []
        for m in group:
            if m is None:
                continue
            if isinstance(m, _Deferred):
                metric = metrics_module.resolve_accuracy(m.identifier, losses[i], shapes[i],
                                                         y_true_shape=y_shapes[i])
            else:
                metric = m if not any(m is r for r in resolved) else copy.deepcopy(m)
            resolved.append(metric)
        out.append(resolved)
    return out


def _result_names(metrics: list, weighted: list, names: list[str], multi: bool) -> list[str]:
    """Keras 3's CompileMetrics.result() keys, in the order of the plan's metric entries."""
    seen: dict[str, int] = {}
    result = []
    for i, group in enumerate(metrics):
        for m in group:
            name = f"{names[i]}_{m.name}" if multi else m.name
            if name in seen:
                index = seen[name]
                seen[name] += 1
                name = f"{name}_{index}"
            else:
                seen[name] = 1
            result.append(name)
    for i, group in enumerate(weighted):
        for m in group:
            name = f"{names[i]}_{m.name}" if multi else m.name
            if name in seen:
                name = f"weighted_{m.name}"
                if multi:
                    name = f"{names[i]}_{name}"
                if name in seen:
                    index = seen[name]
                    seen[name] += 1
                    name = f"{name}_{index}"
                else:
                    seen[name] = 1
            else:
                seen[name] = 1
            result.append(name)
    return result


# ============================================================================ small helpers


def _mean_update(tracker: Any, value: float, batch_size: int) -> None:
    """``tracker.update_state(value, sample_weight=batch_size)`` for the loss trackers (Keras 3's
    batch-size-weighted mean), written straight into a ``gk.metrics.Mean``'s ``total``/``count``
    (the generic update costs ~15 us a step); other metric types get the generic call."""
    if type(tracker) is _MEAN:
        for variable, delta in ((tracker.total, value * batch_size), (tracker.count, batch_size)):
            data = variable.data
            new = data + delta  # a new array: results handed out earlier stay as they were
            variable.data = new if new.__class__ is data.__class__ else numpy.asarray(new, dtype=data.dtype)
    else:
        tracker.update_state(value, sample_weight=batch_size)


def _mean_result(tracker: Any) -> Any:
    """The loss trackers' ``result()`` as a Python float (what the logs end up holding)."""
    if type(tracker) is _MEAN:
        count = tracker.count.data
        return float(tracker.total.data / count) if count else 0.0  # float32 division, as Mean.result
    return tracker.result()


_MEAN = metrics_module.Mean


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            seen[name] += 1
            out.append(f"{name}_{seen[name]}")
        else:
            seen[name] = 0
            out.append(name)
    return out


def _unlist(values: list | None) -> Any:
    """Per-output lists back to what flatten_targets accepts (a list; one output: the array)."""
    if values is None:
        return None
    if all(v is None for v in values):
        return None
    if len(values) == 1:
        return values[0]
    return list(values)


def _head(x: Any, n: int = 2) -> Any:
    """The first ``n`` samples of every leaf (the dry run's input)."""
    leaves, template = da.flatten(x)
    return da.rebuild(template, [leaf[:n] for leaf in leaves])


def _cast_input(array: numpy.ndarray, dtype: Any) -> numpy.ndarray:
    if dtype is not None:
        dtype = numpy.dtype(dtype)
        if array.dtype != dtype and (dtype.kind == "f" and array.dtype.kind in "biuf" or
                                     dtype.kind in "iu" and array.dtype.kind in "iu"):
            return array.astype(dtype)  # once for the whole data set, not per batch
        return array
    if array.dtype == numpy.float64 and numpy.dtype(backend.FLOATX) != numpy.float64:
        return array.astype(backend.FLOATX)
    return array


def _cast_target(array: numpy.ndarray) -> numpy.ndarray:
    if array.dtype == numpy.float64 and numpy.dtype(backend.FLOATX) != numpy.float64:
        return array.astype(backend.FLOATX)
    return array


def _target_tensor(array: Any) -> Tensor:
    if isinstance(array, Tensor):
        return array
    ops = _backend_state.ops
    if not isinstance(array, ops.xp.ndarray):
        array = ops.asarray(array)
    return wrap(array, None, 0)


def _host(array: Any) -> numpy.ndarray:
    if isinstance(array, numpy.ndarray):
        return array
    return _backend_state.ops.to_numpy(array)


def _output_to_numpy(value: Any) -> Any:
    if isinstance(value, Tensor):
        return _host(value.data)
    if isinstance(value, SymbolicTensor):  # pragma: no cover - defensive
        raise TypeError("predict produced a symbolic tensor.")
    return numpy.asarray(value)


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
                  UserWarning, stacklevel=3)
