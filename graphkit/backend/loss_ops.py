"""Loss kernels on arrays, mixed into :class:`~graphkit.backend.ops.Ops`.

Each kernel computes per-sample losses and keeps only what its backward needs; the backward
takes ``gl``, the gradient of the per-sample losses (an array of the losses' shape, or a 0-d
array / scalar that broadcasts to it), and returns the gradient of the prediction (and of the
targets when asked). Everything is written against ``self.xp`` (numpy or cupy); reductions
and sample weights are handled by the primitives in :mod:`graphkit.ops.losses`.

Conventions (Keras 3's numerics):

- probabilities are clipped to ``[EPSILON, 1 - EPSILON]`` (``EPSILON = 1e-7``) and categorical
  probabilities are first normalised by their sum along the class axis;
- logits go through a log-softmax computed once (max-shifted), or the stable sigmoid form
  ``max(x, 0) - x * z + log1p(exp(-|x|))``;
- sparse labels arrive as one flat integer vector, already validated by :meth:`class_indices`.
"""
from __future__ import annotations

from typing import Any

import numpy

from .host import to_host

EPSILON = 1e-7


class LabelRangeError(ValueError):
    """A sparse label outside ``[0, num_classes)``."""


def _expand(gl, axis: int):
    """``gl`` (losses-shaped, or 0-d) broadcastable against the un-reduced array."""
    if getattr(gl, "ndim", 0) == 0:
        return gl
    return gl.reshape(gl.shape[:axis] + (1,) + gl.shape[axis:]) if axis >= 0 else gl[..., None]


def _label_range_error(num_classes: int):
    def describe(value: int, position: str) -> LabelRangeError:
        return LabelRangeError(f"Received a label value of {value} which is outside the valid range of "
                               f"[0, {num_classes}) ({position}). Labels must be integers in [0, num_classes).")
    return describe


class LossOps:
    """Cross-entropy and regression loss kernels; needs ``self.xp`` and the range checks of
    :class:`~graphkit.backend.range_checks.RangeCheckOps` (provided by ``Ops``)."""

    xp: Any

    # ------------------------------------------------------------------ helpers
    def row_indices(self, n: int):
        """``arange(n)`` (intp), cached per size: the row index of every gather/scatter."""
        cache = self.__dict__.get("_row_index_cache")
        if cache is None:
            cache = self.__dict__["_row_index_cache"] = {}
        rows = cache.get(n)
        if rows is None:
            if len(cache) > 32:
                cache.clear()
            rows = cache[n] = self.xp.arange(n, dtype=numpy.intp)
        return rows

    def class_indices(self, labels, num_classes: int):
        """Flat integer labels as indices into ``num_classes`` columns, range-checked.

        On NumPy the gather itself raises for labels >= num_classes, so only negative labels
        (which NumPy would wrap around) need a pass; other backends check both bounds through
        :meth:`~graphkit.backend.range_checks.RangeCheckOps.check_index_range` (deferred to the
        epoch's end in the training loops: no host sync per batch).
        """
        if labels.dtype.kind not in "iu":
            labels = labels.astype(numpy.int64)
        if self.xp is numpy:
            if labels.dtype.kind == "i" and labels.size and labels.min() < 0:
                self._raise_label_range(labels, num_classes)
            return labels
        self.check_index_range(labels, num_classes, _label_range_error(num_classes))
        return labels.astype(numpy.intp, copy=False)

    def _raise_label_range(self, labels, num_classes: int):
        self._raise_out_of_range(to_host(labels).astype(numpy.int64), 0, num_classes,
                                 _label_range_error(num_classes), None)

    def _gather_rows(self, x2, labels):
        try:
            return x2[self.row_indices(x2.shape[0]), labels]
        except IndexError:
            self._raise_label_range(labels, x2.shape[1])

    # ------------------------------------------------- sparse softmax cross-entropy
    def _row_sums(self, x):
        """Sums along the last axis of a 2-D array (a matrix-vector product: several times faster
        than ``sum(axis=-1)`` for short rows on NumPy)."""
        cache = self.__dict__.get("_ones_cache")
        if cache is None:
            cache = self.__dict__["_ones_cache"] = {}
        key = (x.shape[1], x.dtype.str)
        ones = cache.get(key)
        if ones is None:
            if len(cache) > 32:
                cache.clear()
            ones = cache[key] = self.xp.ones(x.shape[1], dtype=x.dtype)
        return x @ ones

    def softmax_parts(self, logits):
        """``(e, se, shift)`` for (M, C) logits: ``e = exp(logits - shift)``, ``se`` its row sums.

        On NumPy ``shift`` is the global maximum when every row keeps a row sum far from
        underflow (one cheap reduction instead of a per-row one); otherwise, and on other
        backends (where the check would be a host sync), the per-row maximum, shape (M, 1).
        Either way ``log_softmax = logits - shift - log(se)``.
        """
        xp = self.xp
        if xp is numpy and logits.size:
            shift = logits.max()
            e = xp.exp(logits - shift)
            se = self._row_sums(e)
            if se.min() > 1e-18:  # False for NaN/inf too: those take the per-row path
                return e, se, shift
        shift = logits.max(axis=-1, keepdims=True) if logits.size else xp.zeros((logits.shape[0], 1), logits.dtype)
        e = xp.exp(logits - shift)
        return e, self._row_sums(e), shift

    def sparse_softmax_cross_entropy(self, logits, labels):
        """Per-row ``-log_softmax(logits)[label]`` for (M, C) logits and M flat labels."""
        e, se, shift = self.softmax_parts(logits)
        picked = self._gather_rows(logits, labels)
        if getattr(shift, "ndim", 0):
            picked -= shift[:, 0]
        else:
            picked -= shift
        losses = self.xp.log(se)
        losses -= picked
        return losses, (e, se, labels)

    def sparse_softmax_cross_entropy_backward(self, saved, gl):
        e, se, labels = saved
        grad = e / se[:, None]
        grad[self.row_indices(grad.shape[0]), labels] -= 1
        grad *= _expand(gl, -1)
        return grad

    # --------------------------------------------- sparse probability cross-entropy
    def sparse_categorical_crossentropy_probs(self, probs, labels):
        """Per-row ``-log(clip(p[label] / sum(p)))`` (Keras's normalise-then-clip)."""
        xp = self.xp
        total = probs.sum(axis=-1)
        q = self._gather_rows(probs, labels) / total
        clipped = xp.clip(q, EPSILON, 1 - EPSILON)
        return -xp.log(clipped), (probs.shape, labels, total, q, clipped)

    def sparse_categorical_crossentropy_probs_backward(self, saved, gl):
        xp = self.xp
        shape, labels, total, q, clipped = saved
        inside = (q >= EPSILON) & (q <= 1 - EPSILON)
        a = -gl * inside / (clipped * total)      # dL/dq[label] / sum(p), per row
        grad = xp.empty(shape, dtype=q.dtype)
        grad[...] = (-a * q)[:, None]
        grad[self.row_indices(shape[0]), labels] += a
        return grad

    # --------------------------------------------------- dense softmax cross-entropy
    def softmax_cross_entropy(self, logits, targets, axis: int = -1):
        """``-sum(targets * log_softmax(logits), axis)``."""
        xp = self.xp
        if logits.ndim == 2 and axis in (-1, 1):
            e, se, shift = self.softmax_parts(logits)
            log_probs = logits - shift
            log_probs -= xp.log(se)[:, None]
            return -self._row_sums(targets * log_probs), (log_probs, targets, -1, e, se)
        shifted = logits - logits.max(axis=axis, keepdims=True)
        log_probs = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
        return -(targets * log_probs).sum(axis=axis), (log_probs, targets, axis, None, None)

    def softmax_cross_entropy_backward(self, saved, gl, want_targets: bool = False):
        xp = self.xp
        log_probs, targets, axis, e, se = saved
        g = _expand(gl, axis)
        if e is not None:
            grad = e / se[:, None]
            grad *= self._row_sums(targets)[:, None]
        else:
            grad = xp.exp(log_probs)
            grad *= targets.sum(axis=axis, keepdims=True)
        grad -= targets
        grad *= g
        return grad, (-log_probs * g if want_targets else None)

    # ---------------------------------------------- dense probability cross-entropy
    def categorical_crossentropy_probs(self, probs, targets, axis: int = -1):
        """``-sum(targets * log(clip(p / sum(p))), axis)``."""
        xp = self.xp
        total = probs.sum(axis=axis, keepdims=True)
        q = probs / total
        clipped = xp.clip(q, EPSILON, 1 - EPSILON)
        log_c = xp.log(clipped)
        return -(targets * log_c).sum(axis=axis), (targets, total, q, clipped, log_c, axis)

    def categorical_crossentropy_probs_backward(self, saved, gl, want_targets: bool = False):
        targets, total, q, clipped, log_c, axis = saved
        g = _expand(gl, axis)
        dq = -targets / clipped
        dq *= (q >= EPSILON) & (q <= 1 - EPSILON)
        grad = dq - (dq * q).sum(axis=axis, keepdims=True)
        grad *= g / total
        return grad, (-log_c * g if want_targets else None)

    # ------------------------------------------------------ sigmoid cross-entropy
    def sigmoid_cross_entropy(self, logits, targets, axis: int | None = -1):
        """``mean(max(x, 0) - x * z + log1p(exp(-|x|)), axis)`` (elementwise when axis is None)."""
        xp = self.xp
        elementwise = xp.maximum(logits, 0) - logits * targets + xp.log1p(xp.exp(-xp.abs(logits)))
        if axis is None:
            return elementwise, (logits, targets, None, 1)
        return elementwise.mean(axis=axis), (logits, targets, axis, logits.shape[axis])

    def sigmoid_cross_entropy_backward(self, saved, gl, want_targets: bool = False):
        logits, targets, axis, count = saved
        g = gl if axis is None else _expand(gl, axis)
        if count != 1:
            g = g * (1.0 / count)
        grad = self.sigmoid(logits)
        grad -= targets
        grad *= g
        return grad, (-logits * g if want_targets else None)

    # --------------------------------------------------- binary probability entropy
    def binary_crossentropy_probs(self, probs, targets, axis: int | None = -1):
        """``mean(-(z log c + (1 - z) log(1 - c)), axis)`` with ``c = clip(p, eps, 1 - eps)``."""
        xp = self.xp
        clipped = xp.clip(probs, EPSILON, 1 - EPSILON)
        log_c = xp.log(clipped)
        log_1c = xp.log(1 - clipped)
        elementwise = -(targets * log_c + (1 - targets) * log_1c)
        saved = (probs, targets, clipped, log_c, log_1c)
        if axis is None:
            return elementwise, saved + (None, 1)
        return elementwise.mean(axis=axis), saved + (axis, probs.shape[axis])

    def binary_crossentropy_probs_backward(self, saved, gl, want_targets: bool = False):
        probs, targets, clipped, log_c, log_1c, axis, count = saved
        g = gl if axis is None else _expand(gl, axis)
        if count != 1:
            g = g * (1.0 / count)
        grad = (1 - targets) / (1 - clipped) - targets / clipped
        grad *= (probs >= EPSILON) & (probs <= 1 - EPSILON)
        grad *= g
        return grad, ((log_1c - log_c) * g if want_targets else None)

    # ------------------------------------------------------------ regression
    def mean_squared_error(self, pred, true):
        diff = pred - true
        return (diff * diff).mean(axis=-1), diff

    def mean_squared_error_backward(self, diff, gl, want_targets: bool = False):
        grad = diff * (_expand(gl, -1) * (2.0 / diff.shape[-1]))
        return grad, (-grad if want_targets else None)

    def mean_absolute_error(self, pred, true):
        diff = pred - true
        return self.xp.abs(diff).mean(axis=-1), diff

    def mean_absolute_error_backward(self, diff, gl, want_targets: bool = False):
        grad = self.xp.sign(diff)
        grad *= _expand(gl, -1) * (1.0 / diff.shape[-1])
        return grad, (-grad if want_targets else None)

    def huber(self, pred, true, delta: float = 1.0):
        xp = self.xp
        diff = pred - true
        abs_diff = xp.abs(diff)
        quadratic = xp.minimum(abs_diff, delta)
        # 0.5 q^2 + delta * (|e| - q): 0.5 e^2 inside [-delta, delta], delta |e| - 0.5 delta^2 outside
        elementwise = 0.5 * quadratic * quadratic + delta * (abs_diff - quadratic)
        return elementwise.mean(axis=-1), (diff, delta)

    def huber_backward(self, saved, gl, want_targets: bool = False):
        diff, delta = saved
        grad = self.xp.clip(diff, -delta, delta)
        grad *= _expand(gl, -1) * (1.0 / diff.shape[-1])
        return grad, (-grad if want_targets else None)
