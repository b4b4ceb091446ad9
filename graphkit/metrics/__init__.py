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

Modules by family: ``base`` (Metric, Sum, Mean, MeanMetricWrapper), ``accuracy``,
``regression``, ``probabilistic`` (cross-entropies), ``confusion`` (AUC) and ``registry``
(get, serialize, deserialize, resolve_accuracy).
"""
from .accuracy import (Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
                       SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy, accuracy, binary_accuracy,
                       categorical_accuracy, sparse_categorical_accuracy, sparse_top_k_categorical_accuracy,
                       top_k_categorical_accuracy)
from .base import Mean, MeanMetricWrapper, Metric, Sum, reduce_to_samplewise_values
from .confusion import AUC
from .probabilistic import (BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
                            binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy)
from .registry import deserialize, get, resolve_accuracy, serialize
from .regression import (MeanAbsoluteError, MeanSquaredError, RootMeanSquaredError, mae, mean_absolute_error,
                         mean_squared_error, mse)

__all__ = [
    "Metric", "Mean", "Sum", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
    "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "MeanAbsoluteError",
    "MeanSquaredError", "RootMeanSquaredError", "BinaryCrossentropy", "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy", "AUC", "accuracy", "binary_accuracy", "categorical_accuracy",
    "sparse_categorical_accuracy", "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
    "mean_squared_error", "mean_absolute_error", "mse", "mae", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "get", "serialize", "deserialize", "resolve_accuracy",
]

# Public metrics keep the module name they had as one module: configs and saved files name
# functions and custom-registered classes by ``__module__``.
for _name in __all__ + ["reduce_to_samplewise_values"]:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith(__name__ + "."):
        _obj.__module__ = __name__
del _name, _obj
