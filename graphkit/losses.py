"""``gk.losses``: Keras 3's loss classes and functions.

``loss(y_true, y_pred, sample_weight=None)`` returns the reduced loss as a float32 tensor (the
loss's ``dtype``), differentiable with respect to ``y_pred`` under :class:`gk.GradientTape`.
The built-in losses run as ONE fused primitive each (:mod:`graphkit.ops.losses`): per-sample
losses, sample weights, masks and the reduction in a single forward, and a hand-written
backward. A custom :class:`Loss` subclass implements :meth:`Loss.call` (per-sample losses from
any ``gk.ops``) and gets Keras's weighting and reduction.

Numerics follow Keras 3: probabilities are clipped to ``[1e-7, 1 - 1e-7]``, categorical
probabilities are normalised by their sum first, logits use a stable log-softmax / sigmoid form.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy

from .backend import FLOATX
from .engine.tensor import Tensor, to_array, wrap
from .ops import losses as _fused
from .ops.losses import (compute_loss, reduce_weighted_values, standardize_reduction)

__all__ = [
    "Loss", "LossFunctionWrapper", "MeanSquaredError", "MeanAbsoluteError", "BinaryCrossentropy",
    "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "Huber", "mean_squared_error", "mse", "MSE",
    "mean_absolute_error", "mae", "MAE", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "huber", "get", "serialize", "deserialize", "reduce_weighted_values",
    "squeeze_or_expand_to_same_rank",
]


def _auto_name(cls: type) -> str:
    from .layers.layer import _keras_snake_case, unique_name
    return unique_name(_keras_snake_case(cls.__name__))


def squeeze_or_expand_to_same_rank(x1: Any, x2: Any, expand_rank_1: bool = True) -> tuple:
    """Keras's helper: squeeze or expand a trailing length-1 axis so the ranks match."""
    from .ops import array as _array
    r1, r2 = len(x1.shape), len(x2.shape)
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = _array.expand_dims(x2, -1)
        else:
            x1 = _array.squeeze(x1, -1)
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = _array.expand_dims(x1, -1)
        else:
            x2 = _array.squeeze(x2, -1)
    return x1, x2


# --------------------------------------------------------------------------- functions
def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(square(y_true - y_pred), axis=-1)``: one value per sample."""
    return compute_loss("mean_squared_error", y_true, y_pred)


def mean_absolute_error(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(abs(y_true - y_pred), axis=-1)``: one value per sample."""
    return compute_loss("mean_absolute_error", y_true, y_pred)


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Tensor:
    """Huber loss per sample: ``0.5 e^2`` for ``|e| <= delta``, ``delta |e| - 0.5 delta^2`` beyond,
    averaged over the last axis."""
    return compute_loss("huber", y_true, y_pred, delta=delta)


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0,
                        axis: int = -1) -> Tensor:
    """Binary cross-entropy averaged over ``axis``; labels are smoothed towards 0.5."""
    return compute_loss("binary_crossentropy", y_true, y_pred, from_logits=from_logits,
                        label_smoothing=label_smoothing, axis=axis)


def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0,
                             axis: int = -1) -> Tensor:
    """Cross-entropy of one-hot (or soft) targets along ``axis``."""
    return compute_loss("categorical_crossentropy", y_true, y_pred, from_logits=from_logits,
                        label_smoothing=label_smoothing, axis=axis)


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, ignore_class: Any = None,
                                    axis: int = -1) -> Tensor:
    """Cross-entropy of integer labels (shape ``y_pred.shape[:-1]``, or with a trailing 1).

    With ``ignore_class`` the losses of those labels are 0 and the result carries a Keras mask
    (``_keras_mask``), which :class:`Loss` reductions honour.
    """
    result = compute_loss("sparse_categorical_crossentropy", y_true, y_pred, from_logits=from_logits,
                          ignore_class=ignore_class, axis=axis)
    if ignore_class is not None:
        labels = to_array(y_true)  # on the backend, beside the losses it masks
        if labels.ndim == result.ndim + 1:
            labels = labels.reshape(labels.shape[:-1])
        result._keras_mask = wrap(labels != ignore_class, None, 0)
    return result


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error

# function -> (fused kind, the parameters it takes besides y_true/y_pred)
_FUSED_FUNCTIONS: dict[Callable, str] = {
    mean_squared_error: "mean_squared_error",
    mean_absolute_error: "mean_absolute_error",
    huber: "huber",
    binary_crossentropy: "binary_crossentropy",
    categorical_crossentropy: "categorical_crossentropy",
    sparse_categorical_crossentropy: "sparse_categorical_crossentropy",
}


# ----------------------------------------------------------------------------- classes
class Loss:
    """Loss base class (Keras 3's ``keras.losses.Loss``).

    Subclasses implement ``call(y_true, y_pred)`` returning per-sample losses; ``__call__``
    converts both to ``dtype`` (float32 by default), weights them by ``sample_weight`` (and the
    Keras mask of ``y_pred``, if any) and applies ``reduction``: ``"sum_over_batch_size"`` (the
    default; also ``"mean"``), ``"sum"``, ``"mean_with_sample_weight"`` or ``"none"``/None.
    """

    _fused_kind: str | None = None

    def __init__(self, name: str | None = None, reduction: Any = "sum_over_batch_size", dtype: Any = None) -> None:
        self.name = name or _auto_name(type(self))
        self.reduction = standardize_reduction(reduction)
        self._dtype = numpy.dtype(dtype or FLOATX)
        self._fused = None  # (kind, options) for built-ins: __call__ runs one fused primitive

    @property
    def dtype(self) -> str:
        return self._dtype.name

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        mask = getattr(y_pred, "_keras_mask", None)
        fused = self._fused
        if fused is not None:
            return compute_loss(fused[0], y_true, y_pred, reduction=self.reduction, sample_weight=sample_weight,
                                mask=mask, align=True, dtype=self._dtype, **fused[1])
        y_pred = _fused._float_tensor(y_pred, self._dtype)
        y_true = _fused._float_tensor(y_true, self._dtype)
        losses = self.call(y_true, y_pred)
        out_mask = getattr(losses, "_keras_mask", None)
        if mask is not None and out_mask is not None:
            mask = _fused._mask_array(mask) & _fused._mask_array(out_mask)
        elif out_mask is not None:
            mask = out_mask
        return reduce_weighted_values(losses, sample_weight=sample_weight, mask=mask, reduction=self.reduction,
                                      dtype=self._dtype)

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred).")

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict) -> "Loss":
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} reduction={self.reduction!r}>"


class LossFunctionWrapper(Loss):
    """A loss function ``fn(y_true, y_pred, **kwargs)`` as a :class:`Loss`.

    Wrapping one of the built-in functions (``gk.losses.mse``, ...) uses its fused primitive.
    """

    def __init__(self, fn: Callable, reduction: Any = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs
        kind = _FUSED_FUNCTIONS.get(fn)
        if kind is not None and type(self).call is LossFunctionWrapper.call:
            _check_kwargs(fn, kwargs)
            self._fused = (kind, dict(kwargs))

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict:
        from .saving.serialization import serialize_keras_object
        config = super().get_config()
        config["fn"] = serialize_keras_object(self.fn)
        config.update(serialize_keras_object(self._fn_kwargs))
        return config

    @classmethod
    def from_config(cls, config: dict) -> "LossFunctionWrapper":
        config = dict(config)
        if "fn" in config:
            config["fn"] = _function_from_config(config["fn"])
        return cls(**config)

    def __repr__(self) -> str:
        return f"<LossFunctionWrapper({getattr(self.fn, '__name__', self.fn)}, kwargs={self._fn_kwargs})>"


def _check_kwargs(fn: Callable, kwargs: dict) -> None:
    params = inspect.signature(fn).parameters
    unknown = [k for k in kwargs if k not in params]
    if unknown:
        raise TypeError(f"{fn.__name__}() got unexpected keyword argument(s) {unknown}; it takes "
                        f"{[p for p in params if p not in ('y_true', 'y_pred')]}.")


class MeanSquaredError(LossFunctionWrapper):
    """Mean of squares of errors between labels and predictions."""

    def __init__(self, reduction: Any = "sum_over_batch_size", name: str = "mean_squared_error",
                 dtype: Any = None) -> None:
        super().__init__(mean_squared_error, name=name, reduction=reduction, dtype=dtype)

    def get_config(self) -> dict:
        return Loss.get_config(self)


class MeanAbsoluteError(LossFunctionWrapper):
    """Mean of absolute differences between labels and predictions."""

    def __init__(self, reduction: Any = "sum_over_batch_size", name: str = "mean_absolute_error",
                 dtype: Any = None) -> None:
        super().__init__(mean_absolute_error, name=name, reduction=reduction, dtype=dtype)

    def get_config(self) -> dict:
        return Loss.get_config(self)


class Huber(LossFunctionWrapper):
    """Huber loss: quadratic for errors up to ``delta``, linear beyond."""

    def __init__(self, delta: float = 1.0, reduction: Any = "sum_over_batch_size", name: str = "huber_loss",
                 dtype: Any = None) -> None:
        super().__init__(huber, name=name, reduction=reduction, dtype=dtype, delta=delta)
        self.delta = delta

    def get_config(self) -> dict:
        config = Loss.get_config(self)
        config["delta"] = self.delta
        return config


class _LabelSmoothedCrossentropy(LossFunctionWrapper):
    """The ``from_logits``/``label_smoothing``/``axis`` arguments and config that
    ``BinaryCrossentropy`` and ``CategoricalCrossentropy`` share."""

    def __init__(self, fn: Any, from_logits: bool, label_smoothing: float, axis: int, reduction: Any,
                 name: str, dtype: Any) -> None:
        super().__init__(fn, name=name, reduction=reduction, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self) -> dict:
        config = Loss.get_config(self)
        config.update({"from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                       "axis": self.axis})
        return config


class BinaryCrossentropy(_LabelSmoothedCrossentropy):
    """Binary cross-entropy of 0/1 labels (probabilities, or logits with ``from_logits=True``)."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: Any = "sum_over_batch_size", name: str = "binary_crossentropy",
                 dtype: Any = None) -> None:
        super().__init__(binary_crossentropy, from_logits, label_smoothing, axis, reduction, name, dtype)


class CategoricalCrossentropy(_LabelSmoothedCrossentropy):
    """Cross-entropy of one-hot labels (probabilities, or logits with ``from_logits=True``)."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: Any = "sum_over_batch_size", name: str = "categorical_crossentropy",
                 dtype: Any = None) -> None:
        super().__init__(categorical_crossentropy, from_logits, label_smoothing, axis, reduction, name, dtype)


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy of integer labels; ``ignore_class`` drops one label value from the mean."""

    def __init__(self, from_logits: bool = False, ignore_class: Any = None,
                 reduction: Any = "sum_over_batch_size", name: str = "sparse_categorical_crossentropy",
                 dtype: Any = None) -> None:
        super().__init__(sparse_categorical_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class)
        self.from_logits = from_logits
        self.ignore_class = ignore_class

    def get_config(self) -> dict:
        config = Loss.get_config(self)
        config.update({"from_logits": self.from_logits, "ignore_class": self.ignore_class})
        return config


# ------------------------------------------------------------------- lookup and configs
_CLASSES = (Loss, LossFunctionWrapper, MeanSquaredError, MeanAbsoluteError, BinaryCrossentropy,
            CategoricalCrossentropy, SparseCategoricalCrossentropy, Huber)
_FUNCTIONS = (mean_squared_error, mean_absolute_error, huber, binary_crossentropy, categorical_crossentropy,
              sparse_categorical_crossentropy)

ALL_OBJECTS_DICT: dict[str, Any] = {cls.__name__: cls for cls in _CLASSES}
ALL_OBJECTS_DICT.update({fn.__name__: fn for fn in _FUNCTIONS})
ALL_OBJECTS_DICT.update({"mse": mean_squared_error, "MSE": mean_squared_error, "mae": mean_absolute_error,
                         "MAE": mean_absolute_error, "bce": binary_crossentropy, "BCE": binary_crossentropy,
                         "huber_loss": huber})


def _valid_names() -> list[str]:
    return sorted(n for n, v in ALL_OBJECTS_DICT.items() if v is not Loss and v is not LossFunctionWrapper)


def _lookup(name: str, custom_objects: dict | None = None) -> Any:
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if name in ALL_OBJECTS_DICT:
        return ALL_OBJECTS_DICT[name]
    from .saving.serialization import get_registered_object
    return get_registered_object(name, custom_objects)


def _function_from_config(config: Any, custom_objects: dict | None = None) -> Callable:
    if callable(config):
        return config
    name = config
    if isinstance(config, dict):
        name = config.get("registered_name") or config.get("config")
        if config.get("config") in ALL_OBJECTS_DICT:
            name = config["config"]
    fn = _lookup(name, custom_objects) if isinstance(name, str) else None
    if not callable(fn):
        raise ValueError(f"Unknown loss function {name!r} in the config; valid names: {_valid_names()}. Pass custom "
                         "functions in custom_objects or register them with gk.saving.register_serializable().")
    return fn


def serialize(loss: Any) -> Any:
    """The Keras config of a loss object (``{"module", "class_name", "config", "registered_name"}``),
    or the function's config for a loss function."""
    from .saving.serialization import serialize_keras_object
    if isinstance(loss, Loss) and type(loss) in _CLASSES:
        return {"module": "keras.losses", "class_name": type(loss).__name__, "config": loss.get_config(),
                "registered_name": None}
    if loss in _FUNCTIONS:
        return {"module": "keras.losses", "class_name": "function", "config": loss.__name__,
                "registered_name": None}
    return serialize_keras_object(loss)


def deserialize(config: Any, custom_objects: dict | None = None) -> Any:
    """A loss object or function from :func:`serialize`'s output (or a bare name)."""
    if isinstance(config, str):
        obj = _lookup(config, custom_objects)
        if obj is None:
            raise ValueError(f"Could not interpret loss identifier: {config!r}. Valid names: {_valid_names()}.")
        return obj
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret loss config: {config!r} (expected a dict with 'class_name' and "
                         "'config').")
    class_name = config["class_name"]
    inner = config.get("config") or {}
    if class_name == "function":
        return _function_from_config(config, custom_objects)
    cls = _lookup(config.get("registered_name") or class_name, custom_objects) or _lookup(class_name, custom_objects)
    if not (isinstance(cls, type) and hasattr(cls, "from_config")):
        raise ValueError(f"Unknown loss class {class_name!r} in the config; valid names: {_valid_names()}. Pass "
                         "custom classes in custom_objects or register them with "
                         "gk.saving.register_serializable().")
    if isinstance(inner, dict) and "fn" in inner and isinstance(inner["fn"], (dict, str)):
        inner = dict(inner)
        inner["fn"] = _function_from_config(inner["fn"], custom_objects)
    return cls.from_config(inner)


def get(identifier: Any) -> Any:
    """A loss from a name, a config dict, a :class:`Loss` class or instance, or a callable.

    As in Keras, function names ("mse", "binary_crossentropy", ...) give the function and class
    names ("MeanSquaredError") an instance; None gives None. Unknown names raise a ValueError
    listing the valid ones. ``LossFunctionWrapper(gk.losses.get(name))`` runs the fused path.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = _lookup(identifier)
        if obj is None:
            raise ValueError(f"Could not interpret loss identifier: {identifier!r}. Valid names: "
                             f"{_valid_names()} (custom losses: pass them as objects, or register them with "
                             "gk.saving.register_serializable()).")
    else:
        obj = identifier
    if callable(obj):
        if inspect.isclass(obj):
            obj = obj()
        return obj
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}. Valid names: {_valid_names()}.")
