"""``gk.metrics``: Keras 3's stateful metrics.

A :class:`Metric` keeps its state in non-trainable :class:`gk.Variable` objects (``variables``,
so checkpoints can save and restore them), accumulates with ``update_state(y_true, y_pred,
sample_weight=None)`` and reports ``result()``. Updates work on the backend arrays directly
(numpy or cupy, whole-batch array operations, never a Python loop over elements) and record
nothing on any GradientTape.

Keras semantics kept: per-sample values are averaged over non-batch axes before weighting
(``reduce_to_samplewise_values``), ``accuracy``-style functions average over the last axis,
state is float32, AUC buckets predictions over evenly spaced thresholds exactly as
``keras.metrics.AUC`` does.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

import numpy

from . import losses as _losses
from .backend import FLOATX
from .backend import state as _backend
from .engine import naming
from .engine.autograd import no_grad
from .engine.tensor import Tensor, to_array, wrap
from .engine.variable import Variable
from .ops.losses import EPSILON, _squeeze_or_expand

__all__ = [
    "Metric", "Mean", "Sum", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
    "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "MeanAbsoluteError",
    "MeanSquaredError", "RootMeanSquaredError", "BinaryCrossentropy", "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy", "AUC", "accuracy", "binary_accuracy", "categorical_accuracy",
    "sparse_categorical_accuracy", "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
    "mean_squared_error", "mean_absolute_error", "mse", "mae", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "get", "serialize", "deserialize", "resolve_accuracy",
]

_F32 = numpy.dtype(FLOATX)


def _array(x: Any):
    """``x`` as a backend array without copying tensors or arrays already on the backend."""
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, _backend.ops.xp.ndarray):
        return x
    return to_array(x)


def _auto_name(cls: type) -> str:
    from .layers.layer import _keras_snake_case, unique_name
    return unique_name(_keras_snake_case(cls.__name__))


def _mean_over(values, start: int):
    return values.mean(axis=tuple(range(start, values.ndim))) if values.ndim > start else values


def _sum_over(values, start: int):
    return values.sum(axis=tuple(range(start, values.ndim))) if values.ndim > start else values


def _apply_mask(sample_weight, mask, dtype):
    """Keras's ``apply_mask`` with ``reduction="sum"``: the mask becomes (part of) the weights."""
    if mask is None:
        return sample_weight
    mask = _array(mask).astype(dtype)
    if sample_weight is None:
        return mask
    sample_weight = _array(sample_weight).astype(dtype, copy=False)
    mask, sample_weight = _squeeze_or_expand(mask, sample_weight)
    return sample_weight * mask


def reduce_to_samplewise_values(values, sample_weight, reduce_fn: Callable, dtype) -> tuple:
    """Keras's helper on arrays: per-sample values (weighted) and the matching weights."""
    xp = _backend.ops.xp
    values = values.astype(dtype, copy=False)
    if sample_weight is not None:
        sample_weight = _array(sample_weight).astype(dtype, copy=False)
        values, sample_weight = _squeeze_or_expand(values, sample_weight)
        weight_ndim = sample_weight.ndim
        if values.ndim > weight_ndim:
            values = reduce_fn(values, weight_ndim)
        if values.ndim < weight_ndim:  # one value for the whole batch: every sample carries it
            values = xp.broadcast_to(values.reshape(values.shape + (1,) * (weight_ndim - values.ndim)),
                                     sample_weight.shape)
        try:
            sample_weight = xp.broadcast_to(sample_weight, values.shape)
        except ValueError:
            raise ValueError(f"sample_weight of shape {tuple(sample_weight.shape)} does not match values of shape "
                             f"{tuple(values.shape)}.") from None
        values = values * sample_weight
        if weight_ndim > 1:
            sample_weight = reduce_fn(sample_weight, 1)
    if values.ndim > 1:
        values = reduce_fn(values, 1)
    return values, sample_weight


# ------------------------------------------------------------------------------- base
class Metric:
    """Base class of stateful metrics (Keras 3's ``keras.metrics.Metric``).

    Subclasses create their state with :meth:`add_variable` in ``__init__`` and implement
    ``update_state`` and ``result``; ``reset_state`` zeroes every variable.
    """

    def __init__(self, dtype: Any = None, name: str | None = None) -> None:
        self.name = name or _auto_name(type(self))
        self._dtype = numpy.dtype(dtype or FLOATX)
        self._variables: list[Variable] = []
        self._metrics: list[Metric] = []

    @property
    def dtype(self) -> str:
        return self._dtype.name

    def add_variable(self, shape: Sequence[int] = (), initializer: Any = "zeros", dtype: Any = None,
                     aggregation: str = "sum", name: str | None = None) -> Variable:
        """A non-trainable state variable named ``<metric name>/<name>``."""
        shape = tuple(int(n) for n in shape)
        dtype = numpy.dtype(dtype or self._dtype)
        if initializer is None or initializer == "zeros":
            value = _backend.ops.zeros(shape, dtype)
        else:
            from . import initializers
            value = initializers.get(initializer)(shape, dtype)
        with naming.name_scope(self.name.replace("/", ">") or "metric"):
            variable = Variable(value, trainable=False, name=name or "variable", dtype=dtype)
        self._variables.append(variable)
        return variable

    add_weight = add_variable

    @property
    def variables(self) -> list[Variable]:
        found = list(self._variables)
        for metric in self._metrics:
            found.extend(metric.variables)
        return found

    @property
    def trainable_variables(self) -> list[Variable]:
        return []

    @property
    def non_trainable_variables(self) -> list[Variable]:
        return self.variables

    @property
    def weights(self) -> list[Variable]:
        return self.variables

    def reset_state(self) -> None:
        """Zero every state variable."""
        xp = _backend.ops.xp
        for variable in self.variables:
            variable.data = xp.zeros(variable.data.shape, dtype=variable.data.dtype)

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement update_state().")

    def result(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement result().")

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict) -> "Metric":
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


def _add(variable: Variable, delta) -> None:
    """``variable += delta`` in the variable's dtype (a fresh array: tensors are immutable)."""
    data = variable.data
    variable.data = _backend.ops.xp.asarray(data + delta, dtype=data.dtype)


def _scalar(value, dtype) -> Tensor:
    return wrap(_backend.ops.xp.asarray(value, dtype=dtype), None, 0)


def _mean_of(total, count):
    """``total / count``, 0 where ``count`` is 0 (Keras's ``divide_no_nan``)."""
    if total.__class__ is numpy.ndarray:  # host arrays: plain Python branching is cheapest
        return total / count if count else total * 0
    xp = _backend.ops.xp
    return xp.where(count != 0, total / xp.where(count != 0, count, 1), 0)


class Sum(Metric):
    """The (weighted) sum of the values seen."""

    def __init__(self, name: str = "sum", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        mask = getattr(values, "_keras_mask", None)
        if sample_weight is not None and mask is not None:
            sample_weight = _apply_mask(sample_weight, mask, self._dtype)
        values, _ = reduce_to_samplewise_values(_array(values), sample_weight, _sum_over, self._dtype)
        _add(self.total, values.sum(dtype=self._dtype))

    def result(self) -> Tensor:
        return _scalar(self.total.data, self._dtype)


class Mean(Metric):
    """The (weighted) mean of the values seen: ``total / count``."""

    def __init__(self, name: str = "mean", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")
        self.count = self.add_variable((), name="count")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        if sample_weight.__class__ in (int, float):  # Keras's fast path: one scalar with a scalar weight
            value = values.data if isinstance(values, Tensor) else values
            if value.__class__ in (int, float) or getattr(value, "ndim", None) == 0:
                _add(self.total, value * sample_weight)
                _add(self.count, sample_weight)
                return
        mask = getattr(values, "_keras_mask", None)
        if sample_weight is not None and mask is not None:
            sample_weight = _apply_mask(sample_weight, mask, self._dtype)
        self._accumulate(_array(values), sample_weight)

    def _accumulate(self, values, sample_weight) -> None:
        dtype = self._dtype
        values, sample_weight = reduce_to_samplewise_values(values, sample_weight, _mean_over, dtype)
        _add(self.total, values.sum(dtype=dtype))
        if sample_weight is not None:
            _add(self.count, sample_weight.sum(dtype=dtype))
        else:
            _add(self.count, dtype.type(values.shape[0] if values.ndim >= 1 else 1))

    def result(self) -> Tensor:
        return _scalar(_mean_of(self.total.data, self.count.data), self._dtype)


# ------------------------------------------------------------------ array metric functions
# Each takes backend arrays and returns backend arrays; the public functions wrap them.

def _accuracy(y_true, y_pred):
    y_true = y_true.astype(y_pred.dtype, copy=False)
    y_true, y_pred = _squeeze_or_expand(y_true, y_pred)
    return (y_true == y_pred).astype(_F32).mean(axis=-1)


def _binary_accuracy(y_true, y_pred, threshold=0.5):
    y_true, y_pred = _squeeze_or_expand(y_true, y_pred)
    y_pred = (y_pred > threshold).astype(y_true.dtype)
    return (y_true == y_pred).astype(_F32).mean(axis=-1)


def _categorical_accuracy(y_true, y_pred):
    xp = _backend.ops.xp
    labels = xp.argmax(y_true, axis=-1)
    shape = labels.shape
    reshape = labels.ndim == y_pred.ndim
    if reshape:
        labels = labels.reshape(labels.shape[:-1])
    matches = (labels == xp.argmax(y_pred, axis=-1)).astype(_F32)
    return matches.reshape(shape) if reshape else matches


def _sparse_categorical_accuracy(y_true, y_pred):
    xp = _backend.ops.xp
    shape = y_true.shape
    reshape = y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1
    if reshape:
        y_true = y_true.reshape(y_true.shape[:-1])
    predicted = xp.argmax(y_pred, axis=-1)
    if predicted.dtype != y_true.dtype:
        predicted = predicted.astype(y_true.dtype)
    matches = (y_true == predicted).astype(_F32)
    if reshape:
        matches = matches.reshape(shape)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = matches.reshape(matches.shape[:-1])
    return matches


def _in_top_k(targets, predictions, k: int):
    """Whether each target's score is among the k largest of its row (ties count as in, as Keras)."""
    xp = _backend.ops.xp
    classes = predictions.shape[-1]
    if k >= classes:
        return xp.ones(targets.shape, dtype=bool)
    if k <= 0:
        return xp.zeros(targets.shape, dtype=bool)
    kth = xp.partition(predictions, classes - k, axis=-1)[:, classes - k]
    rows = _backend.ops.row_indices(predictions.shape[0])
    return predictions[rows, targets] >= kth


def _top_k_matches(labels, y_pred, k):
    shape = labels.shape
    if y_pred.ndim > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    matches = _in_top_k(labels.reshape(-1).astype(numpy.intp), y_pred, k).astype(_F32)
    return matches.reshape(shape)


def _top_k_categorical_accuracy(y_true, y_pred, k=5):
    return _top_k_matches(_backend.ops.xp.argmax(y_true, axis=-1), y_pred, k)


def _sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:  # (N, 1) labels: one value per sample
        y_true = y_true.reshape(y_true.shape[:-1])
    return _top_k_matches(y_true, y_pred, k)


def _regression(kernel: str):
    def compute(y_true, y_pred):
        y_true = y_true.astype(y_pred.dtype, copy=False)
        y_true, y_pred = _squeeze_or_expand(y_true, y_pred)
        if y_true.shape != y_pred.shape:
            raise ValueError(f"{kernel}: y_true and y_pred have incompatible shapes: y_true.shape="
                             f"{tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}.")
        return getattr(_backend.ops, kernel)(y_pred, y_true)[0]
    return compute


def _floating(y_pred):
    return y_pred if y_pred.dtype.kind == "f" else y_pred.astype(_F32)


def _public(array_fn: Callable, name: str, doc: str) -> Callable:
    params = list(inspect.signature(array_fn).parameters.values())

    def fn(y_true, y_pred, *args, **kwargs):
        return wrap(array_fn(_array(y_true), _array(y_pred), *args, **kwargs), None, 0)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    fn.__signature__ = inspect.Signature(params)
    fn.__module__ = __name__
    _ARRAY_IMPLS[fn] = array_fn
    return fn


_ARRAY_IMPLS: dict[Callable, Callable] = {}
accuracy = _public(_accuracy, "accuracy", "How often y_pred equals y_true (averaged over the last axis).")
binary_accuracy = _public(_binary_accuracy, "binary_accuracy",
                          "How often ``y_pred > threshold`` matches the 0/1 labels (averaged over the last axis).")
categorical_accuracy = _public(_categorical_accuracy, "categorical_accuracy",
                               "Whether argmax(y_pred) equals argmax(y_true) (one-hot labels).")
sparse_categorical_accuracy = _public(_sparse_categorical_accuracy, "sparse_categorical_accuracy",
                                      "Whether argmax(y_pred) equals the integer label.")
top_k_categorical_accuracy = _public(_top_k_categorical_accuracy, "top_k_categorical_accuracy",
                                     "Whether the one-hot target is among the k highest scores.")
sparse_top_k_categorical_accuracy = _public(_sparse_top_k_categorical_accuracy, "sparse_top_k_categorical_accuracy",
                                            "Whether the integer target is among the k highest scores.")

mean_squared_error = mse = _losses.mean_squared_error
mean_absolute_error = mae = _losses.mean_absolute_error
binary_crossentropy = _losses.binary_crossentropy
categorical_crossentropy = _losses.categorical_crossentropy
sparse_categorical_crossentropy = _losses.sparse_categorical_crossentropy
_ARRAY_IMPLS[_losses.mean_squared_error] = _regression("mean_squared_error")
_ARRAY_IMPLS[_losses.mean_absolute_error] = _regression("mean_absolute_error")


class MeanMetricWrapper(Mean):
    """The running mean of ``fn(y_true, y_pred, **kwargs)`` (per-sample values)."""

    def __init__(self, fn: Callable, name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(name=name, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs
        self._array_fn = _ARRAY_IMPLS.get(fn)
        if fn in _losses._FUSED_FUNCTIONS.keys() or isinstance(fn, _losses.Loss):
            self._direction = "down"

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        mask = getattr(y_pred, "_keras_mask", None)
        if self._array_fn is not None:
            values = self._array_fn(_array(y_true), _floating(_array(y_pred)), **self._fn_kwargs)
        else:
            with no_grad():
                values = _array(self._fn(y_true, y_pred, **self._fn_kwargs))
        if mask is not None:
            sample_weight = _apply_mask(sample_weight, mask, self._dtype)
        self._accumulate(values, sample_weight)

    def get_config(self) -> dict:
        from .saving.serialization import serialize_keras_object
        config = super().get_config()
        config["fn"] = serialize_keras_object(self._fn)
        config.update(serialize_keras_object(self._fn_kwargs))
        return config

    @classmethod
    def from_config(cls, config: dict) -> "MeanMetricWrapper":
        config = dict(config)
        if "fn" in config and not callable(config["fn"]):
            config["fn"] = _function_from_config(config["fn"])
        return cls(**config)


class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels."""

    def __init__(self, name: str = "accuracy", dtype: Any = None) -> None:
        super().__init__(accuracy, name=name, dtype=dtype)
        self._direction = "up"

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches binary labels."""

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5) -> None:
        if threshold is not None and (threshold <= 0 or threshold >= 1):
            raise ValueError("Invalid value for argument `threshold`. Expected a value in interval (0, 1). "
                             f"Received: threshold={threshold}")
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold
        self._direction = "up"

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


class CategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) matches one-hot labels."""

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(categorical_accuracy, name=name, dtype=dtype)
        self._direction = "up"

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) matches integer labels."""

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)
        self._direction = "up"

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot target is among the ``k`` highest predictions."""

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k
        self._direction = "up"

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "k": self.k}


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer target is among the ``k`` highest predictions."""

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k
        self._direction = "up"

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "k": self.k}


class MeanSquaredError(MeanMetricWrapper):
    """Running mean of ``mean(square(y_true - y_pred), axis=-1)``."""

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None) -> None:
        super().__init__(mean_squared_error, name=name, dtype=dtype)
        self._direction = "down"

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


class MeanAbsoluteError(MeanMetricWrapper):
    """Running mean of ``mean(abs(y_true - y_pred), axis=-1)``."""

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None) -> None:
        super().__init__(mean_absolute_error, name=name, dtype=dtype)
        self._direction = "down"

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


class BinaryCrossentropy(MeanMetricWrapper):
    """Running mean of the binary cross-entropy."""

    def __init__(self, name: str = "binary_crossentropy", dtype: Any = None, from_logits: bool = False,
                 label_smoothing: float = 0.0) -> None:
        super().__init__(binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self._direction = "down"

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


class CategoricalCrossentropy(MeanMetricWrapper):
    """Running mean of the categorical cross-entropy."""

    def __init__(self, name: str = "categorical_crossentropy", dtype: Any = None, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1) -> None:
        super().__init__(categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis
        self._direction = "down"

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Running mean of the sparse categorical cross-entropy."""

    def __init__(self, name: str = "sparse_categorical_crossentropy", dtype: Any = None, from_logits: bool = False,
                 axis: int = -1) -> None:
        super().__init__(sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         axis=axis)
        self.from_logits = from_logits
        self.axis = axis
        self._direction = "down"

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits, "axis": self.axis}


class RootMeanSquaredError(Mean):
    """``sqrt`` of the running mean of squared errors."""

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self._direction = "down"

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = _floating(_array(y_pred)).astype(self._dtype, copy=False)
        y_true = _array(y_true).astype(self._dtype, copy=False)
        y_true, y_pred = _squeeze_or_expand(y_true, y_pred)
        error = y_pred - y_true
        self._accumulate(error * error, sample_weight)

    def result(self) -> Tensor:
        return _scalar(_backend.ops.xp.sqrt(_mean_of(self.total.data, self.count.data)), self._dtype)


# -------------------------------------------------------------------------------- AUC
_CURVES = {"roc": "ROC", "pr": "PR"}
_SUMMATIONS = ("interpolation", "majoring", "minoring")


def _is_evenly_distributed(thresholds: numpy.ndarray) -> bool:
    count = len(thresholds)
    if count < 3:
        return False
    even = numpy.arange(count, dtype=numpy.float32) / (count - 1)
    return bool(numpy.allclose(thresholds, even, atol=EPSILON))


class AUC(Metric):
    """Area under the ROC or PR curve, from confusion counts at fixed thresholds (Keras's AUC).

    Predictions are bucketed over ``num_thresholds`` evenly spaced thresholds in [0, 1] (plus
    ``-eps`` and ``1 + eps`` endpoints); the curve is summed with the ``"interpolation"``
    (trapezoid; Davis & Goadrich interpolation for PR), ``"majoring"`` or ``"minoring"`` rule.
    """

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC", summation_method: str = "interpolation",
                 name: str | None = None, dtype: Any = None, thresholds: Sequence[float] | None = None,
                 multi_label: bool = False, num_labels: int | None = None, label_weights: Any = None,
                 from_logits: bool = False) -> None:
        self._direction = "up"
        if not isinstance(curve, str) or curve.lower() not in _CURVES:
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are ["ROC", "PR"]')
        if not isinstance(summation_method, str) or summation_method.lower() not in _SUMMATIONS:
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}". Expected values are '
                             f'["interpolation", "majoring", "minoring"]')
        if thresholds is not None:
            self.num_thresholds = len(thresholds) + 2
            thresholds = sorted(float(t) for t in thresholds)
            self._thresholds_distributed_evenly = _is_evenly_distributed(
                numpy.array([0.0] + thresholds + [1.0]))
            self._init_from_thresholds = True
        else:
            if not isinstance(num_thresholds, (int, numpy.integer)) or num_thresholds <= 1:
                raise ValueError("Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds}")
            self.num_thresholds = int(num_thresholds)
            thresholds = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._thresholds_distributed_evenly = True
            self._init_from_thresholds = False
        self._thresholds = numpy.array([0.0 - EPSILON] + thresholds + [1.0 + EPSILON])
        self.curve = _CURVES[curve.lower()]
        self.summation_method = summation_method.lower()
        super().__init__(name=name, dtype=dtype)
        self.multi_label = bool(multi_label)
        self.num_labels = num_labels
        if label_weights is not None:
            label_weights = numpy.asarray(label_weights, dtype=self._dtype)
            if (label_weights < 0).any():
                raise ValueError("All values of `label_weights` must be non-negative. "
                                 f"Received: label_weights={label_weights.tolist()}")
        self.label_weights = label_weights
        self._from_logits = bool(from_logits)
        self._built = False
        if self.multi_label:
            if num_labels:
                self._build((None, num_labels))
        else:
            if num_labels:
                raise ValueError("`num_labels` is needed only when `multi_label` is True.")
            self._build(None)

    @property
    def thresholds(self) -> list:
        return list(self._thresholds)

    def _build(self, shape) -> None:
        if self.multi_label:
            if shape is None or len(shape) != 2:
                raise ValueError("AUC(multi_label=True) expects y_pred of shape (batch, num_labels), got "
                                 f"{shape}.")
            self._num_labels = int(shape[1])
            variable_shape = (self.num_thresholds, self._num_labels)
        else:
            variable_shape = (self.num_thresholds,)
        self._build_input_shape = shape
        self.true_positives = self.add_variable(variable_shape, name="true_positives")
        self.false_positives = self.add_variable(variable_shape, name="false_positives")
        self.true_negatives = self.add_variable(variable_shape, name="true_negatives")
        self.false_negatives = self.add_variable(variable_shape, name="false_negatives")
        self._built = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        xp = _backend.ops.xp
        dtype = self._dtype
        y_pred = _floating(_array(y_pred)).astype(dtype, copy=False)
        y_true = _array(y_true)
        if not self._built:
            self._build(y_pred.shape)
        if self._from_logits:
            y_pred = _backend.ops.sigmoid(y_pred)
        y_pred, y_true = _squeeze_or_expand(y_pred, y_true)
        if y_true.shape != y_pred.shape:
            raise ValueError(f"AUC: y_true and y_pred have incompatible shapes: y_true.shape={tuple(y_true.shape)}, "
                             f"y_pred.shape={tuple(y_pred.shape)}.")
        positive = (y_true != 0).astype(dtype)
        if sample_weight is not None:
            weights = _array(sample_weight).astype(dtype, copy=False)
            if weights.ndim and weights.ndim < y_pred.ndim:
                weights = weights.reshape(weights.shape + (1,) * (y_pred.ndim - weights.ndim))
            try:
                weights = xp.broadcast_to(weights, y_pred.shape)
            except ValueError:
                raise ValueError(f"AUC: sample_weight of shape {tuple(_array(sample_weight).shape)} does not match "
                                 f"y_pred of shape {tuple(y_pred.shape)}.") from None
        else:
            weights = None
        if not self.multi_label and self.label_weights is not None:
            lw = xp.asarray(self.label_weights)
            weights = lw if weights is None else weights * lw
            weights = xp.broadcast_to(weights, y_pred.shape)
        if self.multi_label:
            if y_pred.ndim != 2 or y_pred.shape[1] != self._num_labels:
                raise ValueError(f"AUC(multi_label=True) was built for {self._num_labels} labels, got y_pred of "
                                 f"shape {tuple(y_pred.shape)}.")
            columns = self._num_labels
        else:
            y_pred, positive = y_pred.reshape(-1, 1), positive.reshape(-1, 1)
            weights = None if weights is None else weights.reshape(-1, 1)
            columns = 1
        true_w = positive if weights is None else positive * weights
        false_w = (1 - positive) if weights is None else (1 - positive) * weights
        count = self.num_thresholds
        if self._thresholds_distributed_evenly:
            clipped = xp.clip(y_pred, 0.0, 1.0)
            bucket = xp.ceil(clipped * dtype.type(count - 1)) - 1
            bucket = xp.maximum(bucket, 0).astype(numpy.intp)
            flat = (bucket * columns + xp.arange(columns)).reshape(-1)
            tp_bucket = xp.bincount(flat, weights=true_w.reshape(-1), minlength=count * columns)
            fp_bucket = xp.bincount(flat, weights=false_w.reshape(-1), minlength=count * columns)
            tp = xp.cumsum(tp_bucket.reshape(count, columns)[::-1], axis=0)[::-1].astype(dtype)
            fp = xp.cumsum(fp_bucket.reshape(count, columns)[::-1], axis=0)[::-1].astype(dtype)
            total_true, total_false = tp[0], fp[0]
        else:
            thresholds = xp.asarray(self._thresholds, dtype=dtype)
            above = (y_pred[None, :, :] > thresholds[:, None, None]).astype(dtype)
            tp = (above * true_w[None]).sum(axis=1)
            fp = (above * false_w[None]).sum(axis=1)
            total_true, total_false = true_w.sum(axis=0), false_w.sum(axis=0)
        if not self.multi_label:
            tp, fp, total_true, total_false = tp[:, 0], fp[:, 0], total_true[0], total_false[0]
        _add(self.true_positives, tp)
        _add(self.false_positives, fp)
        _add(self.true_negatives, total_false - fp)
        _add(self.false_negatives, total_true - tp)

    def _interpolate_pr_auc(self):
        xp = _backend.ops.xp
        tp, fp, fn = self.true_positives.data, self.false_positives.data, self.false_negatives.data
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        prec_slope = _divide_no_nan(dtp, xp.maximum(dp, 0))
        intercept = tp[1:] - prec_slope * p[1:]
        safe_p_ratio = xp.where((p[:-1] > 0) & (p[1:] > 0), _divide_no_nan(p[:-1], xp.maximum(p[1:], 0)),
                                xp.ones_like(p[1:]))
        increment = _divide_no_nan(prec_slope * (dtp + intercept * xp.log(safe_p_ratio)),
                                   xp.maximum(tp[1:] + fn[1:], 0))
        return self._average(increment.sum(axis=0))

    def _average(self, by_label):
        xp = _backend.ops.xp
        if not self.multi_label:
            return by_label
        if self.label_weights is None:
            return by_label.mean()
        weights = xp.asarray(self.label_weights)
        return _divide_no_nan((by_label * weights).sum(), weights.sum())

    def result(self) -> Tensor:
        xp = _backend.ops.xp
        if not self._built:
            return _scalar(0.0, self._dtype)
        if self.curve == "PR" and self.summation_method == "interpolation":
            return _scalar(self._interpolate_pr_auc(), self._dtype)
        tp, fp = self.true_positives.data, self.false_positives.data
        tn, fn = self.true_negatives.data, self.false_negatives.data
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, _divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = xp.minimum(y[:-1], y[1:])
        else:
            heights = xp.maximum(y[:-1], y[1:])
        return _scalar(self._average(((x[:-1] - x[1:]) * heights).sum(axis=0)), self._dtype)

    def reset_state(self) -> None:
        if self._built:
            super().reset_state()

    def get_config(self) -> dict:
        label_weights = None if self.label_weights is None else self.label_weights.tolist()
        config = {
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": label_weights,
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = [float(t) for t in self._thresholds[1:-1]]
        return {**super().get_config(), **config}


def _divide_no_nan(a, b):
    xp = _backend.ops.xp
    safe = xp.where(b != 0, b, 1)
    return xp.where(b != 0, a / safe, 0)


# --------------------------------------------------------------------- lookup and configs
_CLASSES = (Metric, Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy,
            SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanSquaredError,
            MeanAbsoluteError, RootMeanSquaredError, BinaryCrossentropy, CategoricalCrossentropy,
            SparseCategoricalCrossentropy, AUC)
_BY_CLASS_NAME = {cls.__name__: cls for cls in _CLASSES}

# Function-style names (what compile() takes as strings): the metric class computing that function.
_BY_NAME: dict[str, type] = {
    "accuracy": Accuracy, "acc": Accuracy,
    "binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "root_mean_squared_error": RootMeanSquaredError,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "auc": AUC, "mean": Mean, "sum": Sum,
}

_FUNCTIONS = {fn.__name__: fn for fn in (accuracy, binary_accuracy, categorical_accuracy,
                                         sparse_categorical_accuracy, top_k_categorical_accuracy,
                                         sparse_top_k_categorical_accuracy)}
_FUNCTIONS.update({fn.__name__: fn for fn in _losses._FUNCTIONS})


def _valid_names() -> list[str]:
    names = set(_BY_NAME) | {n for n in _BY_CLASS_NAME if n not in ("Metric", "MeanMetricWrapper")}
    return sorted(names)


def _function_from_config(config: Any) -> Callable:
    name = config
    if isinstance(config, dict):
        name = config.get("config") if isinstance(config.get("config"), str) else config.get("registered_name")
    if isinstance(name, str):
        if name in _FUNCTIONS:
            return _FUNCTIONS[name]
        from .saving.serialization import get_registered_object
        found = get_registered_object(name) or (isinstance(config, dict) and
                                                get_registered_object(config.get("registered_name") or ""))
        if callable(found):
            return found
    raise ValueError(f"Unknown metric function {name!r} in the config; pass it in custom_objects or register it "
                     "with gk.saving.register_serializable().")


def serialize(metric: Any) -> Any:
    """The Keras config of a metric (``{"module", "class_name", "config", "registered_name"}``)."""
    from .saving.serialization import serialize_keras_object
    if isinstance(metric, Metric) and type(metric) in _CLASSES:
        return {"module": "keras.metrics", "class_name": type(metric).__name__,
                "config": serialize_keras_object(metric.get_config()), "registered_name": None}
    return serialize_keras_object(metric)


def deserialize(config: Any, custom_objects: dict | None = None) -> Any:
    """A metric from :func:`serialize`'s output (or a name)."""
    if isinstance(config, str):
        return get(config)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret metric config: {config!r} (expected a dict with 'class_name' and "
                         "'config').")
    class_name = config["class_name"]
    inner = dict(config.get("config") or {})
    if class_name == "function":
        return _function_from_config(config)
    cls = (custom_objects or {}).get(class_name) or _BY_CLASS_NAME.get(class_name)
    if cls is None:
        from .saving.serialization import get_registered_object
        cls = get_registered_object(config.get("registered_name") or class_name, custom_objects)
    if not (isinstance(cls, type) and hasattr(cls, "from_config")):
        raise ValueError(f"Unknown metric class {class_name!r} in the config; valid names: {_valid_names()}. Pass "
                         "custom classes in custom_objects or register them with "
                         "gk.saving.register_serializable().")
    return cls.from_config(inner)


def get(identifier: Any) -> Any:
    """A metric from a name, a config dict, a :class:`Metric` class or instance, or a callable.

    Names give a new :class:`Metric`: class names ("AUC", "SparseCategoricalAccuracy") with their
    default name, function-style names ("accuracy", "acc", "mse", "auc", ...) named by the string,
    as ``compile(metrics=[...])`` names them. (Keras returns the bare function for function
    names; here every name gives a stateful metric.) For ``"accuracy"`` in ``compile``, see
    :func:`resolve_accuracy`. Unknown names raise a ValueError listing the valid ones.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier in _BY_CLASS_NAME and identifier not in ("Metric", "MeanMetricWrapper"):
            return _BY_CLASS_NAME[identifier]()
        if identifier in _BY_NAME:
            return _BY_NAME[identifier](name=identifier)
        from .saving.serialization import get_registered_object
        found = get_registered_object(identifier)
        if found is not None:
            return found() if inspect.isclass(found) else found
        raise ValueError(f"Could not interpret metric identifier: {identifier!r}. Valid names: {_valid_names()} "
                         "(custom metrics: pass Metric objects or functions, or register them with "
                         "gk.saving.register_serializable()).")
    if inspect.isclass(identifier):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}. Valid names: {_valid_names()}.")


def _loss_family(loss: Any) -> str | None:
    """"binary", "categorical", "sparse" or None for a loss name, function, class or instance."""
    if loss is None:
        return None
    try:
        loss = _losses.get(loss) if isinstance(loss, (str, dict)) or inspect.isclass(loss) else loss
    except ValueError:
        return None
    fn = getattr(loss, "fn", loss)
    kind = _losses._FUSED_FUNCTIONS.get(fn)
    return {"binary_crossentropy": "binary", "categorical_crossentropy": "categorical",
            "sparse_categorical_crossentropy": "sparse"}.get(kind)


def resolve_accuracy(name: str = "accuracy", loss: Any = None, output_shape: Sequence[int] | None = None,
                     y_true_shape: Sequence[int] | None = None) -> Metric:
    """The accuracy metric ``compile(metrics=["accuracy"])`` means for one output, named ``name``.

    With both ``y_true_shape`` and ``output_shape`` (Keras 3's rule, from the first batch):
    one output unit -> BinaryAccuracy; labels of lower rank or a trailing 1 ->
    SparseCategoricalAccuracy; else CategoricalAccuracy. Without the label shape it is inferred
    from the loss (Keras 2's rule): one output unit or binary cross-entropy -> BinaryAccuracy,
    sparse categorical cross-entropy -> SparseCategoricalAccuracy, otherwise
    CategoricalAccuracy.
    """
    if str(name).lower() not in ("accuracy", "acc"):
        raise ValueError(f"resolve_accuracy handles 'accuracy'/'acc', got {name!r}; use gk.metrics.get().")
    output_shape = None if output_shape is None else tuple(output_shape)
    if output_shape and output_shape[-1] == 1:
        return BinaryAccuracy(name=str(name))
    if y_true_shape is not None and output_shape is not None:
        y_true_shape = tuple(y_true_shape)
        sparse = len(y_true_shape) != len(output_shape) or (len(y_true_shape) > 0 and y_true_shape[-1] == 1)
        return SparseCategoricalAccuracy(name=str(name)) if sparse else CategoricalAccuracy(name=str(name))
    family = _loss_family(loss)
    if family == "binary":
        return BinaryAccuracy(name=str(name))
    if family == "sparse":
        return SparseCategoricalAccuracy(name=str(name))
    return CategoricalAccuracy(name=str(name))
