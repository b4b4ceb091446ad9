"""Fused loss primitives: one primitive per loss call, reduction and sample weights included.

Every loss here is ONE :class:`~graphkit.engine.autograd.Primitive` whose forward computes the
per-sample losses with a kernel of :class:`~graphkit.backend.loss_ops.LossOps` and then reduces
them Keras-style (sample weights, masks, ``"sum_over_batch_size"``/``"sum"``/``"none"``/
``"mean"``/``"mean_with_sample_weight"``), and whose hand-written backward goes straight from the
reduced loss to ``d loss / d y_pred`` (``(softmax - onehot) * g / N`` for sparse softmax
cross-entropy). A training step therefore records a single node for its loss.

Public entry points:

- :func:`compute_loss` (used by ``gk.losses``): a loss by kind with its options, reduction and
  weights;
- :func:`binary_crossentropy`, :func:`categorical_crossentropy`,
  :func:`sparse_categorical_crossentropy`: ``keras.ops``'s functions of those names
  (elementwise / per-sample, no reduction);
- :func:`reduce_weighted_values`: Keras's weighted reduction of per-sample losses as one
  primitive (the path of custom ``Loss`` subclasses).

Gradients flow to ``y_pred`` and, for dense targets, to ``y_true`` when it is being tracked.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy

from ..backend import FLOATX
from ..backend.loss_ops import EPSILON
from ..engine.autograd import Primitive
from ..engine.tensor import Tensor, to_array, wrap
from .cast import cast

REDUCTIONS = ("sum_over_batch_size", "sum", None, "none", "mean", "mean_with_sample_weight")
_MEAN_REDUCTIONS = ("sum_over_batch_size", "mean")
_FLOATX = numpy.dtype(FLOATX)


def standardize_reduction(reduction: Any) -> Any:
    """``reduction`` if it is one Keras accepts, else a ValueError listing the valid ones."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"Invalid value for argument `reduction`. Expected one of {list(REDUCTIONS)}. "
                         f"Received: reduction={reduction!r}")
    return reduction


# ------------------------------------------------------------------------- shape helpers
def _squeeze_or_expand(a, b, expand_rank_1: bool = True):
    """Keras's ``squeeze_or_expand_to_same_rank`` on arrays: fix a trailing length-1 axis."""
    ra, rb = a.ndim, b.ndim
    if ra == rb + 1 and a.shape[-1] == 1:
        if rb == 1 and expand_rank_1:
            b = b.reshape(b.shape + (1,))
        else:
            a = a.reshape(a.shape[:-1])
    elif rb == ra + 1 and b.shape[-1] == 1:
        if ra == 1 and expand_rank_1:
            a = a.reshape(a.shape + (1,))
        else:
            b = b.reshape(b.shape[:-1])
    return a, b


def _fit_weights(weights, shape: tuple):
    """Sample weights shaped to broadcast against losses of ``shape``.

    Keras's trailing-axis squeeze/expand first; then, beyond Keras, weights of lower rank get
    trailing length-1 axes (per-sample weights for per-timestep losses) instead of broadcasting
    along the wrong axis.
    """
    if weights.shape == shape:
        return weights
    given = weights.shape
    rank = len(shape)
    if weights.ndim == rank + 1 and weights.shape[-1] == 1:
        weights = weights.reshape(weights.shape[:-1])
    elif rank == weights.ndim + 1 and shape[-1] == 1:
        weights = weights.reshape(weights.shape + (1,))
    if weights.ndim < rank and weights.ndim > 0:
        weights = weights.reshape(weights.shape + (1,) * (rank - weights.ndim))
    try:
        numpy.broadcast_shapes(weights.shape, shape)
    except ValueError:
        raise ValueError(f"sample_weight of shape {tuple(given)} cannot weight losses of shape "
                         f"{tuple(shape)}: give one weight per sample (shape {tuple(shape[:1])}) or per "
                         f"loss value (shape {tuple(shape)}).") from None
    return weights


def _to_shape(ops, g, shape: tuple):
    """Broadcast-then-sum ``g`` so it has exactly ``shape``."""
    if g.shape == shape:
        return g
    full = numpy.broadcast_shapes(g.shape, shape)
    if full != g.shape:
        g = ops.xp.broadcast_to(g, full)
    return ops.unbroadcast(g, shape)


# ----------------------------------------------------------------------------- reduction
def _reduce_forward(ops, losses, weights, mask, reduction):
    """Keras's ``reduce_weighted_values``: returns (result, what the backward needs)."""
    dt = losses.dtype.type
    if mask is not None:
        mask = mask.astype(losses.dtype)
        if reduction in _MEAN_REDUCTIONS:
            # valid entries weigh total/valid, so the mean over the batch is the mean over valid entries
            valid = float(mask.sum())
            mask = mask * dt(mask.size / valid if valid else 0.0)
        if weights is not None:
            mask, weights = _squeeze_or_expand(mask, weights)
            weights = weights * mask
        else:
            weights = mask
    if weights is not None:
        weights = _fit_weights(weights, losses.shape)
        values = losses * weights
    else:
        values = losses
    if reduction is None or reduction == "none" or values.ndim == 0 or values.shape == (0,):
        return values, (weights, losses.shape, None)
    total = values.sum()
    if reduction == "sum":
        scale = None
    elif reduction == "mean_with_sample_weight" and weights is not None:
        divisor = float(weights.sum())
        scale = 1.0 / divisor if divisor else 0.0
    else:
        scale = 1.0 / values.size if values.size else 0.0
    if scale is not None:
        total = total * dt(scale)
    return total, (weights, losses.shape, scale)


def _reduce_backward(ops, saved, g):
    """Gradient of the per-sample losses from the gradient ``g`` of the reduced value."""
    weights, shape, scale = saved
    if scale is not None:
        g = g * g.dtype.type(scale)
    if weights is not None:
        g = _to_shape(ops, g * weights, shape)
    return g


def _weights_array(sample_weight, dtype):
    if sample_weight is None:
        return None
    if isinstance(sample_weight, Tensor):
        data = sample_weight.data
        return data if data.dtype == dtype else data.astype(dtype)
    return to_array(sample_weight, dtype)


def _mask_array(mask):
    if mask is None:
        return None
    data = mask.data if isinstance(mask, Tensor) else to_array(mask)
    return data if data.dtype == numpy.bool_ else data.astype(bool)


def _reduce_p_forward(ops, values, reduction, sample_weight, mask):
    return _reduce_forward(ops, values, sample_weight, mask, reduction)


def _reduce_p_backward(ops, saved, g):
    return (_reduce_backward(ops, saved, g),)


_reduce_p = Primitive("reduce_loss", _reduce_p_forward, _reduce_p_backward)


def reduce_weighted_values(values: Any, sample_weight: Any = None, mask: Any = None,
                           reduction: Any = "sum_over_batch_size", dtype: Any = None) -> Tensor:
    """Weight per-sample ``values`` and reduce them as Keras's losses do (one primitive)."""
    reduction = standardize_reduction(reduction)
    dtype = numpy.dtype(dtype) if dtype is not None else None
    values = _float_tensor(values, dtype)
    return _reduce_p.apply(values, reduction=reduction,
                           sample_weight=_weights_array(sample_weight, values.data.dtype),
                           mask=_mask_array(mask))


# ------------------------------------------------------------------------------ kernels
# forward(ops, pred, true, *args) -> (losses, saved, mask or None)
# backward(ops, saved, gl, want_true) -> (grad of pred, grad of true or None)

def _mse_f(ops, pred, true):
    losses, saved = ops.mean_squared_error(pred, true)
    return losses, saved, None


def _mse_b(ops, saved, gl, want_true):
    return ops.mean_squared_error_backward(saved, gl, want_true)


def _mae_f(ops, pred, true):
    losses, saved = ops.mean_absolute_error(pred, true)
    return losses, saved, None


def _mae_b(ops, saved, gl, want_true):
    return ops.mean_absolute_error_backward(saved, gl, want_true)


def _huber_f(ops, pred, true, delta):
    losses, saved = ops.huber(pred, true, delta)
    return losses, saved, None


def _huber_b(ops, saved, gl, want_true):
    return ops.huber_backward(saved, gl, want_true)


def _bce_f(ops, pred, true, from_logits, label_smoothing, axis):
    if label_smoothing:
        true = true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    forward = ops.sigmoid_cross_entropy if from_logits else ops.binary_crossentropy_probs
    losses, saved = forward(pred, true, axis)
    return losses, (saved, from_logits, label_smoothing), None


def _bce_b(ops, saved, gl, want_true):
    saved, from_logits, label_smoothing = saved
    backward = ops.sigmoid_cross_entropy_backward if from_logits else ops.binary_crossentropy_probs_backward
    return _unsmooth_true_grad(backward(saved, gl, want_true), label_smoothing)


def _cce_f(ops, pred, true, from_logits, label_smoothing, axis):
    if label_smoothing:
        true = true * (1.0 - label_smoothing) + label_smoothing / true.shape[axis]
    forward = ops.softmax_cross_entropy if from_logits else ops.categorical_crossentropy_probs
    losses, saved = forward(pred, true, axis)
    return losses, (saved, from_logits, label_smoothing), None


def _cce_b(ops, saved, gl, want_true):
    saved, from_logits, label_smoothing = saved
    backward = ops.softmax_cross_entropy_backward if from_logits else ops.categorical_crossentropy_probs_backward
    return _unsmooth_true_grad(backward(saved, gl, want_true), label_smoothing)


def _unsmooth_true_grad(grads, label_smoothing):
    """``(grad of pred, grad of the smoothed targets)`` -> the targets' grad through the smoothing."""
    gp, gt = grads
    if gt is not None and label_smoothing:
        gt = gt * (1.0 - label_smoothing)
    return gp, gt


def _sparse_f(ops, pred, labels, from_logits, ignore_class, axis):
    xp = ops.xp
    moved = axis != pred.ndim - 1
    if moved:
        pred = xp.moveaxis(pred, axis, -1)
    shape = pred.shape
    classes = shape[-1]
    mask = None
    if ignore_class is not None:
        mask = labels != ignore_class
        labels = xp.where(mask, labels, 0)
    index = ops.class_indices(labels.reshape(-1), classes)
    flat = pred.reshape(-1, classes)
    if from_logits:
        losses, saved = ops.sparse_softmax_cross_entropy(flat, index)
    else:
        losses, saved = ops.sparse_categorical_crossentropy_probs(flat, index)
    losses = losses.reshape(shape[:-1])
    if mask is not None:
        losses = xp.where(mask, losses, 0)
    return losses, (saved, from_logits, shape, axis if moved else None), mask


def _sparse_b(ops, saved, gl, want_true):
    saved, from_logits, shape, axis = saved
    if getattr(gl, "ndim", 0):
        gl = gl.reshape(-1)
    if from_logits:
        grad = ops.sparse_softmax_cross_entropy_backward(saved, gl)
    else:
        grad = ops.sparse_categorical_crossentropy_probs_backward(saved, gl)
    grad = grad.reshape(shape)
    if axis is not None:
        grad = ops.xp.moveaxis(grad, -1, axis)
    return grad, None


def _loss_primitive(name: str, kernel_forward, kernel_backward) -> Primitive:
    def forward(ops, pred, true, args=(), reduction="none", sample_weight=None, mask=None, pred_shape=None):
        source_shape = None
        if pred_shape is not None and pred_shape != pred.shape:
            source_shape = pred.shape
            pred = pred.reshape(pred_shape)
        losses, saved, own_mask = kernel_forward(ops, pred, true, *args)
        if own_mask is not None:
            mask = own_mask if mask is None else (mask & own_mask)
        out, reduced = _reduce_forward(ops, losses, sample_weight, mask, reduction)
        return out, (saved, reduced, source_shape)

    def backward(ops, saved, g, needs_input_grad):
        saved, reduced, source_shape = saved  # the targets' gradient only when they need one
        gp, gt = kernel_backward(ops, saved, _reduce_backward(ops, reduced, g), needs_input_grad[1])
        if source_shape is not None:
            gp = gp.reshape(source_shape)
        return gp, gt

    return Primitive(name, forward, backward)


_PRIMITIVES = {
    "mean_squared_error": _loss_primitive("mean_squared_error", _mse_f, _mse_b),
    "mean_absolute_error": _loss_primitive("mean_absolute_error", _mae_f, _mae_b),
    "huber": _loss_primitive("huber", _huber_f, _huber_b),
    "binary_crossentropy": _loss_primitive("binary_crossentropy", _bce_f, _bce_b),
    "sigmoid_cross_entropy": _loss_primitive("sigmoid_cross_entropy", _bce_f, _bce_b),
    "categorical_crossentropy": _loss_primitive("categorical_crossentropy", _cce_f, _cce_b),
    "softmax_cross_entropy": _loss_primitive("softmax_cross_entropy", _cce_f, _cce_b),
    "sparse_categorical_crossentropy": _loss_primitive("sparse_categorical_crossentropy", _sparse_f, _sparse_b),
    "sparse_softmax_cross_entropy": _loss_primitive("sparse_softmax_cross_entropy", _sparse_f, _sparse_b),
}


# ---------------------------------------------------------------------- conversions
def _float_tensor(value: Any, dtype) -> Tensor:
    """``value`` as a floating tensor of ``dtype`` (its own float dtype, or float32, when None)."""
    if isinstance(value, Tensor):
        have = value.data.dtype
        if dtype is None:
            return value if have.kind in "fc" else cast(value, _FLOATX)
        return value if have == dtype else cast(value, dtype)
    data = to_array(value, dtype)
    if data.dtype.kind not in "fc":
        data = data.astype(_FLOATX)
    return wrap(data, None, 0)


def _target_tensor(value: Any, dtype) -> Tensor:
    """Dense targets in the prediction's dtype (a tracked tensor stays differentiable)."""
    if isinstance(value, Tensor):
        if value._tracked:
            return cast(value, dtype)
        data = value.data
        return value if data.dtype == dtype else wrap(data.astype(dtype), None, 0)
    return wrap(to_array(value, dtype), None, 0)


def _reshape_target(true: Tensor, shape: tuple) -> Tensor:
    if true._tracked:
        from .array import reshape
        return reshape(true, shape)
    return wrap(true.data.reshape(shape), None, 0)


def _shape_error(name: str, true_shape, pred_shape, hint: str = "") -> ValueError:
    return ValueError(f"{name}: y_true and y_pred have incompatible shapes: y_true.shape={tuple(true_shape)}, "
                      f"y_pred.shape={tuple(pred_shape)}.{hint}")


def _canonical_axis(axis: Any, ndim: int, name: str) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, numpy.integer)):
        raise ValueError(f"{name}: `axis` must be of type `int`. Received: axis={axis!r} of type {type(axis)}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}: axis {axis} is out of range for y_pred of rank {ndim}.")
    return int(axis) % ndim


_DENSE_KINDS = ("mean_squared_error", "mean_absolute_error", "huber", "binary_crossentropy",
                "categorical_crossentropy")
KINDS = _DENSE_KINDS + ("sparse_categorical_crossentropy",)


def compute_loss(kind: str, y_true: Any, y_pred: Any, *, reduction: Any = "none", sample_weight: Any = None,
                 mask: Any = None, align: bool = False, dtype: Any = None, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1, delta: float = 1.0,
                 ignore_class: Any = None, elementwise: bool = False) -> Tensor:
    """One fused loss primitive call.

    ``kind`` is one of :data:`KINDS`. ``align=True`` first applies Keras's
    ``squeeze_or_expand_to_same_rank`` to y_true/y_pred (what ``LossFunctionWrapper`` does; the
    regression losses always do it). ``dtype`` (a numpy dtype) is the computation dtype
    (None: y_pred's float dtype). ``elementwise=True`` skips the mean over ``axis`` of the
    binary cross-entropy (``keras.ops.binary_crossentropy``).
    """
    pred = _float_tensor(y_pred, dtype)
    pdtype = pred.data.dtype
    pshape = pred.data.shape
    pred_shape = None
    if kind == "sparse_categorical_crossentropy":
        if isinstance(y_true, Tensor):
            labels = y_true.data
        elif type(y_true) is type(pred.data):  # already a backend array: no conversion
            labels = y_true
        else:
            labels = to_array(y_true)
        ndim = len(pshape)
        if ndim == 0:
            raise ValueError(f"{kind}: y_pred must have a class axis, got a scalar.")
        axis = ndim - 1 if axis == -1 and type(axis) is int else _canonical_axis(axis, ndim, kind)
        if labels.ndim == ndim and labels.shape[-1] == 1:
            labels = labels.reshape(labels.shape[:-1])
        expected = pshape[:axis] + pshape[axis + 1:]
        if labels.shape != expected:
            raise _shape_error(kind, getattr(y_true, "shape", labels.shape), pshape,
                               f" Integer class labels of shape {expected} (or {expected + (1,)}) were expected"
                               + ("; for one-hot labels use categorical_crossentropy." if
                                  labels.shape == pshape else "."))
        if labels.dtype.kind not in "iu":
            labels = labels.astype(numpy.int64)
        prim = _PRIMITIVES["sparse_softmax_cross_entropy" if from_logits else kind]
        args = (bool(from_logits), ignore_class, axis)
        true = wrap(labels, None, 0)
    else:
        true = _target_tensor(y_true, pdtype)
        tshape = true.data.shape
        regression = kind in ("mean_squared_error", "mean_absolute_error", "huber")
        if (align or regression) and tshape != pshape:
            rt, rp = len(tshape), len(pshape)
            if rt == rp + 1 and tshape[-1] == 1:
                if rp == 1:
                    pred_shape = pshape + (1,)
                else:
                    true = _reshape_target(true, tshape[:-1])
            elif rp == rt + 1 and pshape[-1] == 1:
                if rt == 1:
                    true = _reshape_target(true, tshape + (1,))
                else:
                    pred_shape = pshape[:-1]
        if true.data.shape != (pred_shape or pshape):
            hint = ""
            if kind == "categorical_crossentropy" and len(tshape) == len(pshape) - 1:
                hint = " For integer class labels use sparse_categorical_crossentropy."
            raise _shape_error(kind, getattr(y_true, "shape", tshape), pshape, hint)
        shape = pred_shape or pshape
        if regression:
            if len(shape) == 0:
                raise ValueError(f"{kind}: y_pred must have rank >= 1, got a scalar.")
            args = (float(delta),) if kind == "huber" else ()
            prim = _PRIMITIVES[kind]
        else:
            if kind == "categorical_crossentropy":
                if len(shape) == 0:
                    raise ValueError(f"{kind}: y_pred must have rank >= 1, got a scalar.")
                axis = _canonical_axis(axis, len(shape), kind)
                if shape[-1] == 1:
                    warnings.warn(
                        "In loss categorical_crossentropy, expected y_pred.shape to be (batch_size, num_classes) "
                        f"with num_classes > 1. Received: y_pred.shape={tuple(pshape)}. Consider using "
                        "'binary_crossentropy' if you only have 2 classes.", SyntaxWarning, stacklevel=3)
            elif elementwise:
                axis = None
            else:
                if len(shape) == 0:
                    raise ValueError(f"{kind}: y_pred must have rank >= 1, got a scalar.")
                axis = _canonical_axis(axis, len(shape), kind)
            name = kind
            if from_logits:
                name = "sigmoid_cross_entropy" if kind == "binary_crossentropy" else "softmax_cross_entropy"
            prim = _PRIMITIVES[name]
            args = (bool(from_logits), float(label_smoothing), axis)
    if reduction not in REDUCTIONS:
        standardize_reduction(reduction)
    return prim.apply(pred, true, args=args, reduction=reduction,
                      sample_weight=None if sample_weight is None else _weights_array(sample_weight, pdtype),
                      mask=None if mask is None else _mask_array(mask), pred_shape=pred_shape)


# ------------------------------------------------------------ keras.ops-style functions
def binary_crossentropy(target: Any, output: Any, from_logits: bool = False) -> Tensor:
    """Elementwise binary cross-entropy (``keras.ops.binary_crossentropy``): same-shape inputs."""
    return compute_loss("binary_crossentropy", target, output, from_logits=from_logits, elementwise=True)


def categorical_crossentropy(target: Any, output: Any, from_logits: bool = False, axis: int = -1) -> Tensor:
    """Per-sample categorical cross-entropy (``keras.ops.categorical_crossentropy``)."""
    return compute_loss("categorical_crossentropy", target, output, from_logits=from_logits, axis=axis)


def sparse_categorical_crossentropy(target: Any, output: Any, from_logits: bool = False, axis: int = -1) -> Tensor:
    """Per-sample cross-entropy with integer labels (``keras.ops.sparse_categorical_crossentropy``)."""
    return compute_loss("sparse_categorical_crossentropy", target, output, from_logits=from_logits, axis=axis)


__all__ = ["EPSILON", "KINDS", "REDUCTIONS", "binary_crossentropy", "categorical_crossentropy", "compute_loss",
           "reduce_weighted_values", "sparse_categorical_crossentropy", "standardize_reduction"]
