"""Metric lookup and configs: :func:`get`, :func:`serialize`, :func:`deserialize` and
:func:`resolve_accuracy` (what ``compile(metrics=["accuracy"])`` means for one output)."""
from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

from .. import losses as _losses
from .accuracy import (Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
                       SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy, accuracy, binary_accuracy,
                       categorical_accuracy, sparse_categorical_accuracy, sparse_top_k_categorical_accuracy,
                       top_k_categorical_accuracy)
from .base import Mean, MeanMetricWrapper, Metric, Sum
from .confusion import AUC
from .probabilistic import BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy
from .regression import MeanAbsoluteError, MeanSquaredError, RootMeanSquaredError

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


def function_from_config(config: Any) -> Callable:
    name = config
    if isinstance(config, dict):
        name = config.get("config") if isinstance(config.get("config"), str) else config.get("registered_name")
    if isinstance(name, str):
        if name in _FUNCTIONS:
            return _FUNCTIONS[name]
        from ..saving.serialization import get_registered_object
        found = get_registered_object(name) or (isinstance(config, dict) and
                                                get_registered_object(config.get("registered_name") or ""))
        if callable(found):
            return found
    raise ValueError(f"Unknown metric function {name!r} in the config; pass it in custom_objects or register it "
                     "with gk.saving.register_serializable().")


def serialize(metric: Any) -> Any:
    """The Keras config of a metric (``{"module", "class_name", "config", "registered_name"}``)."""
    from ..saving.serialization import serialize_keras_object
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
        return function_from_config(config)
    cls = (custom_objects or {}).get(class_name) or _BY_CLASS_NAME.get(class_name)
    if cls is None:
        from ..saving.serialization import get_registered_object
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
        from ..saving.serialization import get_registered_object
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
