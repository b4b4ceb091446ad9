"""The metric base classes and the reducers they share: :class:`Metric`, :class:`Sum`,
:class:`Mean` and :class:`MeanMetricWrapper` (the running mean of a per-sample function).

A :class:`Metric` keeps its state in non-trainable :class:`gk.Variable` objects (``variables``,
so checkpoints can save and restore them), accumulates with ``update_state(y_true, y_pred,
sample_weight=None)`` and reports ``result()``. Updates work on the backend arrays directly
(numpy or cupy, whole-batch array operations, never a Python loop over elements) and record
nothing on any GradientTape. Per-sample values are averaged over non-batch axes before
weighting (Keras's ``reduce_to_samplewise_values``); state is float32.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy

from .. import losses as _losses
from ..backend import FLOATX
from ..backend import state as _backend
from ..engine import naming
from ..engine.autograd import no_grad
from ..engine.tensor import Tensor, to_array, wrap
from ..engine.variable import Variable
from ..ops.losses import _squeeze_or_expand

F32 = numpy.dtype(FLOATX)

# Metric functions (public, on tensors) -> their kernels on backend arrays, which
# MeanMetricWrapper calls directly (filled by the family modules).
ARRAY_KERNELS: dict[Callable, Callable] = {}


def as_array(x: Any):
    """``x`` as a backend array without copying tensors or arrays already on the backend."""
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, _backend.ops.xp.ndarray):
        return x
    return to_array(x)


def _auto_name(cls: type) -> str:
    from ..layers.layer import _keras_snake_case, unique_name
    return unique_name(_keras_snake_case(cls.__name__))


def mean_over(values, start: int):
    return values.mean(axis=tuple(range(start, values.ndim))) if values.ndim > start else values


def sum_over(values, start: int):
    return values.sum(axis=tuple(range(start, values.ndim))) if values.ndim > start else values


def apply_mask(sample_weight, mask, dtype):
    """Keras's ``apply_mask`` with ``reduction="sum"``: the mask becomes (part of) the weights."""
    if mask is None:
        return sample_weight
    mask = as_array(mask).astype(dtype)
    if sample_weight is None:
        return mask
    sample_weight = as_array(sample_weight).astype(dtype, copy=False)
    mask, sample_weight = _squeeze_or_expand(mask, sample_weight)
    return sample_weight * mask


def reduce_to_samplewise_values(values, sample_weight, reduce_fn: Callable, dtype) -> tuple:
    """Keras's helper on arrays: per-sample values (weighted) and the matching weights."""
    xp = _backend.ops.xp
    values = values.astype(dtype, copy=False)
    if sample_weight is not None:
        sample_weight = as_array(sample_weight).astype(dtype, copy=False)
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


# ------------------------------------------------------------------------------- the classes
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
            from .. import initializers
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


def add_to(variable: Variable, delta) -> None:
    """``variable += delta`` in the variable's dtype (a fresh array: tensors are immutable)."""
    data = variable.data
    variable.data = _backend.ops.xp.asarray(data + delta, dtype=data.dtype)


def scalar(value, dtype) -> Tensor:
    return wrap(_backend.ops.xp.asarray(value, dtype=dtype), None, 0)


def mean_of(total, count):
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
            sample_weight = apply_mask(sample_weight, mask, self._dtype)
        values, _ = reduce_to_samplewise_values(as_array(values), sample_weight, sum_over, self._dtype)
        add_to(self.total, values.sum(dtype=self._dtype))

    def result(self) -> Tensor:
        return scalar(self.total.data, self._dtype)


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
                add_to(self.total, value * sample_weight)
                add_to(self.count, sample_weight)
                return
        mask = getattr(values, "_keras_mask", None)
        if sample_weight is not None and mask is not None:
            sample_weight = apply_mask(sample_weight, mask, self._dtype)
        self._accumulate(as_array(values), sample_weight)

    def _accumulate(self, values, sample_weight) -> None:
        dtype = self._dtype
        values, sample_weight = reduce_to_samplewise_values(values, sample_weight, mean_over, dtype)
        add_to(self.total, values.sum(dtype=dtype))
        if sample_weight is not None:
            add_to(self.count, sample_weight.sum(dtype=dtype))
        else:
            add_to(self.count, dtype.type(values.shape[0] if values.ndim >= 1 else 1))

    def result(self) -> Tensor:
        return scalar(mean_of(self.total.data, self.count.data), self._dtype)


def floating(y_pred):
    return y_pred if y_pred.dtype.kind == "f" else y_pred.astype(F32)


class MeanMetricWrapper(Mean):
    """The running mean of ``fn(y_true, y_pred, **kwargs)`` (per-sample values)."""

    def __init__(self, fn: Callable, name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(name=name, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs
        self._array_fn = ARRAY_KERNELS.get(fn)
        if fn in _losses._FUSED_FUNCTIONS.keys() or isinstance(fn, _losses.Loss):
            self._direction = "down"

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        mask = getattr(y_pred, "_keras_mask", None)
        if self._array_fn is not None:
            values = self._array_fn(as_array(y_true), floating(as_array(y_pred)), **self._fn_kwargs)
        else:
            with no_grad():
                values = as_array(self._fn(y_true, y_pred, **self._fn_kwargs))
        if mask is not None:
            sample_weight = apply_mask(sample_weight, mask, self._dtype)
        self._accumulate(values, sample_weight)

    def get_config(self) -> dict:
        from ..saving.serialization import serialize_keras_object
        config = super().get_config()
        config["fn"] = serialize_keras_object(self._fn)
        config.update(serialize_keras_object(self._fn_kwargs))
        return config

    @classmethod
    def from_config(cls, config: dict) -> "MeanMetricWrapper":
        config = dict(config)
        if "fn" in config and not callable(config["fn"]):
            from .registry import function_from_config
            config["fn"] = function_from_config(config["fn"])
        return cls(**config)
