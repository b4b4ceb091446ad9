"""Confusion-matrix metrics: :class:`AUC` (ROC and PR curves from counts at fixed thresholds,
bucketed exactly as ``keras.metrics.AUC`` does)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy

from ..backend import state as _backend
from ..engine.tensor import Tensor
from ..ops.losses import EPSILON, _squeeze_or_expand
from .base import Metric, add_to, as_array, floating, scalar

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
        y_pred = floating(as_array(y_pred)).astype(dtype, copy=False)
        y_true = as_array(y_true)
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
            weights = as_array(sample_weight).astype(dtype, copy=False)
            if weights.ndim and weights.ndim < y_pred.ndim:
                weights = weights.reshape(weights.shape + (1,) * (y_pred.ndim - weights.ndim))
            try:
                weights = xp.broadcast_to(weights, y_pred.shape)
            except ValueError:
                raise ValueError(f"AUC: sample_weight of shape {tuple(as_array(sample_weight).shape)} does not match "
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
            ops = _backend.ops
            tp_bucket = ops.bin_sums(flat, true_w.reshape(-1), count * columns)
            fp_bucket = ops.bin_sums(flat, false_w.reshape(-1), count * columns)
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
        add_to(self.true_positives, tp)
        add_to(self.false_positives, fp)
        add_to(self.true_negatives, total_false - fp)
        add_to(self.false_negatives, total_true - tp)

    def _interpolate_pr_auc(self):
        xp = _backend.ops.xp
        tp, fp, fn = self.true_positives.data, self.false_positives.data, self.false_negatives.data
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        prec_slope = divide_no_nan(dtp, xp.maximum(dp, 0))
        intercept = tp[1:] - prec_slope * p[1:]
        safe_p_ratio = xp.where((p[:-1] > 0) & (p[1:] > 0), divide_no_nan(p[:-1], xp.maximum(p[1:], 0)),
                                xp.ones_like(p[1:]))
        increment = divide_no_nan(prec_slope * (dtp + intercept * xp.log(safe_p_ratio)),
                                   xp.maximum(tp[1:] + fn[1:], 0))
        return self._average(increment.sum(axis=0))

    def _average(self, by_label):
        xp = _backend.ops.xp
        if not self.multi_label:
            return by_label
        if self.label_weights is None:
            return by_label.mean()
        weights = xp.asarray(self.label_weights)
        return divide_no_nan((by_label * weights).sum(), weights.sum())

    def result(self) -> Tensor:
        xp = _backend.ops.xp
        if not self._built:
            return scalar(0.0, self._dtype)
        if self.curve == "PR" and self.summation_method == "interpolation":
            return scalar(self._interpolate_pr_auc(), self._dtype)
        tp, fp = self.true_positives.data, self.false_positives.data
        tn, fn = self.true_negatives.data, self.false_negatives.data
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = xp.minimum(y[:-1], y[1:])
        else:
            heights = xp.maximum(y[:-1], y[1:])
        return scalar(self._average(((x[:-1] - x[1:]) * heights).sum(axis=0)), self._dtype)

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


def divide_no_nan(a, b):
    xp = _backend.ops.xp
    safe = xp.where(b != 0, b, 1)
    return xp.where(b != 0, a / safe, 0)
