"""The compiled loss and metrics of a model (Keras 3's ``CompileLoss``/``CompileMetrics``).

:class:`CompileState` is what ``compile`` resolved; at the first batch it builds a
:class:`TrainingPlan`: per-output losses, weights and metrics, the loss trackers and the
trainable variables, all resolved once. :class:`CompileMetrics` is the container Keras lists as
``compile_metrics`` in ``model.metrics``. As in Keras, changing a layer's ``trainable`` flag
after ``compile`` takes effect at the next ``compile``.
"""
from __future__ import annotations

from typing import Any

import numpy

from .. import metrics as metrics_module
from ..backend import state as _backend_state
from ..backend.host import is_device_array
from ..engine.autograd import no_grad
from ..engine.tensor import Tensor, wrap
from ..metrics.base import mean_of
from ..graph.node import flatten_structure
from . import compile_specs as specs
from . import data_adapter as da
from .step_dispatch import dispatch_for


def graph_output_names(model: Any) -> list[str] | None:
    """Output names known without running the model: a dict of outputs' keys, else the output
    layers' names (numbered when repeated); None for a subclassed model (see ``Model._functional``)."""
    graph = model._functional
    if graph is None:
        return None
    output = graph.output
    if isinstance(output, dict):
        return [str(key) for key in output]
    return specs.unique_names(graph.output_names)


class CompileState:
    """What ``compile`` resolved (the optimizer aside), and the plan built at the first batch."""

    def __init__(self, model: Any, loss: Any, loss_weights: Any, metrics: Any, weighted_metrics: Any) -> None:
        self.model = model
        names = graph_output_names(model)
        if loss_weights is not None and not isinstance(loss_weights, (list, tuple, dict, int, float)) \
                or isinstance(loss_weights, bool):
            raise ValueError("Expected `loss_weights` to be a float (single output) or a list or dict (one weight "
                             f"per output), got {loss_weights!r}.")
        for argument, value in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if value is not None and not isinstance(value, (list, tuple, dict)):
                raise ValueError(f"Expected `{argument}` argument to be a list, tuple, or dict. Received instead: "
                                 f"{argument}={value!r} of type {type(value).__name__}")
        # Resolve every name now, so a typo fails at compile time (listing the valid names).
        self.loss_spec = specs.resolve_losses(loss, names)
        self.loss_weight_spec = specs.check_loss_weights(loss_weights, names)
        self.metric_spec = specs.resolve_metrics(metrics, names, "metrics")
        self.weighted_metric_spec = specs.resolve_metrics(weighted_metrics, names, "weighted_metrics")
        self.loss_tracker = metrics_module.Mean(name="loss")
        # Keras 3 lists a "compile_metrics" container only when metrics were given.
        self.compile_metrics = CompileMetrics() if metrics is not None or weighted_metrics is not None else None
        self.plan: TrainingPlan | None = None

    def build_plan(self, x_sample: Any, y_pred: Any = None) -> TrainingPlan:
        """The plan, built on first use from a sample batch (a dry forward run names the outputs
        of subclassed models and builds their weights) or from given outputs."""
        if self.plan is None:
            model = self.model
            if y_pred is None:
                if x_sample is None:
                    raise ValueError(f"Model '{model.name}' cannot plan its training without data.")
                with no_grad():
                    y_pred = model(x_sample, training=False)
            self.plan = TrainingPlan(self, y_pred)
            if self.compile_metrics is not None:
                self.compile_metrics.attach(self.plan)
        return self.plan

    def results(self) -> dict:
        """Every metric's current value by name: ``loss``, the compiled metrics, per-output losses."""
        out = {"loss": mean_result(self.loss_tracker)}
        plan = self.plan
        if plan is not None:
            if plan.has_metrics:
                out.update(zip(plan.result_names, [m.result() for _, m, _ in plan.metric_entries]))
            for tracker in plan.loss_trackers:
                out[tracker.name] = mean_result(tracker)
        return out


class TrainingPlan:
    """Per-output losses, weights, metrics and the trainable variables, resolved once.

    ``output_names`` orders every per-output list the loops pass around (targets, sample
    weights, predictions).
    """

    def __init__(self, state: CompileState, y_pred: Any) -> None:
        model = state.model
        self.model = model
        self.dispatch = dispatch_for(type(model))
        self.warned_no_weights = False
        graph_names = graph_output_names(model)
        self.dict_outputs = isinstance(y_pred, dict)
        if self.dict_outputs:
            names = graph_names if graph_names and set(graph_names) == set(map(str, y_pred)) else \
                sorted(str(k) for k in y_pred)
            self._keys = names
        else:
            flat = flatten_structure(y_pred)
            names = graph_names if graph_names and len(graph_names) == len(flat) else \
                (["output"] if len(flat) == 1 else [f"output_{i + 1}" for i in range(len(flat))])
            self._keys = None
        self.output_names = list(names)
        flat_pred = self.flatten_pred(y_pred)
        n = len(flat_pred)
        self.output_shapes = [tuple(p.shape) for p in flat_pred]
        # Losses: one per output (None: not trained), with their weights.
        loss_specs = specs.losses_for(state.loss_spec, self.output_names)
        if len(loss_specs) != n:
            raise ValueError(f"For a model with {n} outputs {self.output_names}, `loss` needs one entry per output; "
                             f"got {len(loss_specs)}.")
        self._specs = loss_specs
        self._weights = specs.weights_for(state.loss_weight_spec, self.output_names)
        self._state = state
        self.has_loss = any(spec is not None for spec in loss_specs)
        n_losses = sum(spec is not None for spec in loss_specs)
        self.loss_trackers = [metrics_module.Mean(name=f"{self.output_names[i]}_loss")
                              for i, spec in enumerate(loss_specs) if spec is not None] if n_losses > 1 else []
        self.builtin_loss = not self.dispatch.custom_compute_loss
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
            loss_obj = None if spec is None else specs.finalize_loss(spec, y_shape, self.output_shapes[i])
            resolved.append(loss_obj)
            if loss_obj is not None:
                self.losses.append((i, loss_obj, weight))
        self._single = self.losses[0] if len(self.losses) == 1 and not self.loss_trackers else None
        n = len(self.output_names)
        y_shapes = [None if ys is None or ys[i] is None else tuple(numpy.shape(ys[i])) for i in range(n)]
        metrics = specs.metrics_for(state.metric_spec, self.output_names, self.output_shapes, y_shapes, resolved,
                                    weighted=False)
        weighted = specs.metrics_for(state.weighted_metric_spec, self.output_names, self.output_shapes, y_shapes,
                                     resolved, weighted=True)
        self.metric_entries = [(i, m, False) for i, group in enumerate(metrics) for m in group] + \
            [(i, m, True) for i, group in enumerate(weighted) for m in group]
        self.has_metrics = bool(self.metric_entries)
        self.result_names = specs.result_names(metrics, weighted, self.output_names, n > 1)
        self.finalized = True

    # -------------------------------------------------------------- structures
    def flatten_pred(self, y_pred: Any) -> list:
        """The model's outputs as a list in ``output_names`` order."""
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

    # ----------------------------------------------------------------- checks
    def require_loss(self) -> None:
        """Raise unless ``compile`` was given a loss (the one "no loss" error)."""
        if not self.has_loss:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")

    def check_targets(self, adapter: Any) -> None:
        """Check an adapter's targets (and dry-run the loss and metrics on its first samples), so
        mismatched data fails before training changes anything."""
        if isinstance(adapter, da.IterableDataAdapter):
            batch = adapter._pending[0] if adapter._pending else None
        else:
            batch = adapter.slice(0, 2)
        self.check_batch_targets(None if batch is None else batch[1])
        if batch is not None:
            self.dry_run(*batch, force=True)

    def check_batch_targets(self, ys: list | None) -> None:
        """With the built-in loss: a loss is compiled and every output with a loss has targets."""
        self.finalize(ys)
        if not self.builtin_loss:
            return
        self.require_loss()
        missing = [self.output_names[i] for i, spec in enumerate(self._specs)
                   if spec is not None and (ys is None or ys[i] is None)]
        if missing:
            raise ValueError(f"No target data for output(s) {missing}, which have a loss: pass y (one array per "
                             f"output with a loss; outputs are {self.output_names}).")

    def dry_run(self, x: Any, ys: list | None, sws: list | None, force: bool = False) -> None:
        """Compute the loss and metrics of a couple of samples in inference mode, then reset the
        metrics: shape or dtype problems of targets surface here, with nothing changed (``fit``
        and ``evaluate`` do it every call, ``train_on_batch`` once per compile)."""
        if (self.validated and not force) or not self.builtin_loss or ys is None:
            return
        x = da.head(x)
        ys = [da.head(t) for t in ys]
        sws = None if sws is None else [da.head(t) for t in sws]
        try:
            with no_grad():
                flat = self.flatten_pred(self.model(x, training=False))
                if self.has_loss:
                    self.total_loss(ys, flat, sws)
                self.update_metrics(ys, flat, sws)
        finally:
            for tracker in self.loss_trackers:
                tracker.reset_state()
            for _, metric, _ in self.metric_entries:
                metric.reset_state()
        self.validated = True

    # ---------------------------------------------------------------- the loss
    def batch_loss(self, x: Any, ys: list | None, y_pred: Any, flat_pred: list, sws: list | None,
                   training: bool) -> Tensor:
        """The loss of a batch: the compiled losses, or the model's own ``compute_loss``."""
        if self.builtin_loss:
            return self.total_loss(ys, flat_pred, sws)
        return self.dispatch.compute_loss(self.model, self, x, ys, y_pred, sws, training)

    def total_loss(self, ys: list, flat_pred: list, sws: list | None) -> Tensor:
        """The weighted sum of the compiled per-output losses (updating the per-output trackers)."""
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
                mean_update(trackers[k], value.data, int(flat_pred[i].shape[0]))
            if weight is not None:
                value = value * weight
            total = value if total is None else total + value
        return total

    # ------------------------------------------------------------- the metrics
    def update_metrics(self, ys: list | None, flat_pred: list, sws: list | None) -> None:
        """Update the compiled metrics with a batch (the predictions' arrays, where they are: on a
        device the metrics accumulate there)."""
        if ys is None:
            return
        for i, m, weighted in self.metric_entries:
            y_true = ys[i]
            if y_true is None:
                continue
            pred = flat_pred[i]
            pred = pred.data if isinstance(pred, Tensor) else pred
            if weighted and sws is not None and sws[i] is not None:
                m.update_state(y_true, pred, sample_weight=sws[i])
            else:
                m.update_state(y_true, pred)


class CompileMetrics(metrics_module.Metric):
    """The container Keras 3 lists as ``compile_metrics`` in ``model.metrics``: ``result()`` is a
    dict of every compiled metric's value; ``metrics`` lists them."""

    def __init__(self) -> None:
        super().__init__(name="compile_metrics")
        self._plan: TrainingPlan | None = None

    def attach(self, plan: TrainingPlan) -> None:
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


# ------------------------------------------------------------------ loss trackers

_MEAN = metrics_module.Mean


def mean_update(tracker: Any, value: Any, batch_size: int) -> None:
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


def mean_result(tracker: Any) -> Any:
    """The loss trackers' ``result()``: a Python float on the host (what the logs end up holding), a
    0-d array on a device (copied over with the other logs, in one copy, when they are read)."""
    if type(tracker) is _MEAN:
        total, count = tracker.total.data, tracker.count.data
        if is_device_array(total):
            return mean_of(total, count)
        return (total / count).item() if count else 0.0  # float32 division, as Mean.result
    return tracker.result()


def _target_tensor(array: Any) -> Tensor:
    if isinstance(array, Tensor):
        return array
    ops = _backend_state.ops
    if not isinstance(array, ops.xp.ndarray):
        array = ops.asarray(array)
    return wrap(array, None, 0)
