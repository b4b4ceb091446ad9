"""The accuracy family: ``accuracy``, binary, categorical, sparse categorical and top-k
accuracies, as functions (on tensors) and as running-mean metric classes."""
from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy

from ..backend import state as _backend
from ..engine.tensor import wrap
from ..ops.losses import _squeeze_or_expand
from .base import ARRAY_KERNELS, F32, MeanMetricWrapper, as_array


def _accuracy(y_true, y_pred):
    y_true = y_true.astype(y_pred.dtype, copy=False)
    y_true, y_pred = _squeeze_or_expand(y_true, y_pred)
    return (y_true == y_pred).astype(F32).mean(axis=-1)


def _binary_accuracy(y_true, y_pred, threshold=0.5):
    y_true, y_pred = _squeeze_or_expand(y_true, y_pred)
    y_pred = (y_pred > threshold).astype(y_true.dtype)
    return (y_true == y_pred).astype(F32).mean(axis=-1)


def _categorical_accuracy(y_true, y_pred):
    xp = _backend.ops.xp
    labels = xp.argmax(y_true, axis=-1)
    shape = labels.shape
    reshape = labels.ndim == y_pred.ndim
    if reshape:
        labels = labels.reshape(labels.shape[:-1])
    matches = (labels == xp.argmax(y_pred, axis=-1)).astype(F32)
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
    matches = (y_true == predicted).astype(F32)
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
    matches = _in_top_k(labels.reshape(-1).astype(numpy.intp), y_pred, k).astype(F32)
    return matches.reshape(shape)


def _top_k_categorical_accuracy(y_true, y_pred, k=5):
    return _top_k_matches(_backend.ops.xp.argmax(y_true, axis=-1), y_pred, k)


def _sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:  # (N, 1) labels: one value per sample
        y_true = y_true.reshape(y_true.shape[:-1])
    return _top_k_matches(y_true, y_pred, k)


def _public(array_fn: Callable, name: str, doc: str) -> Callable:
    params = list(inspect.signature(array_fn).parameters.values())

    def fn(y_true, y_pred, *args, **kwargs):
        return wrap(array_fn(as_array(y_true), as_array(y_pred), *args, **kwargs), None, 0)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    fn.__signature__ = inspect.Signature(params)
    fn.__module__ = __name__
    ARRAY_KERNELS[fn] = array_fn
    return fn


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
