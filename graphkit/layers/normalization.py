"""Normalization layers: BatchNormalization and LayerNormalization (Keras 3 semantics).

Both normalize with one fused primitive whose backward is written by hand (one pass for the
statistics, a handful of elementwise passes for the gradient) instead of a chain of mean/var/
rsqrt/multiply primitives.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from .. import initializers
from ..engine.autograd import Primitive
from ..engine.tensor import Tensor
from ..ops.array import expand_dims, reshape
from ..ops.cast import cast
from ..ops.math import rsqrt, square
from ..ops.reduction import sum as _sum
from .core import _require_none
from .input_spec import InputSpec
from .layer import Layer

_MASK_EPSILON = 1e-7  # keras.config.epsilon(), used by masked batch statistics


# ------------------------------------------------------------------ fused primitives
class _Reducer:
    """Sums over the statistics axes, keeping them as size-1 axes.

    ``two_d`` is None for a general layout (reduce over ``axes`` of the original array) or the axis
    (0 or 1) of the 2-D view ``(rows, cols)`` the primitive works on when the reduced axes are the
    leading (BatchNormalization, channels last) or trailing (LayerNormalization) ones; dot products
    then run as one ``einsum`` without a temporary.
    """

    __slots__ = ("xp", "axes", "two_d")

    def __init__(self, xp, axes: tuple, two_d: int | None) -> None:
        self.xp, self.axes, self.two_d = xp, axes, two_d

    def sum(self, a):
        return a.sum(axis=self.axes if self.two_d is None else self.two_d, keepdims=True)

    def dot(self, a, b):
        if self.two_d is None:
            return (a * b).sum(axis=self.axes, keepdims=True)
        if self.two_d == 0:
            return self.xp.einsum("ij,ij->j", a, b)[None, :]
        return self.xp.einsum("ij,ij->i", a, b)[:, None]


def _normalize(ops, x, red: _Reducer, n: int, epsilon: float, gamma, beta):
    """(xhat, y, inv, mean, var): statistics over ``red``'s axes (kept as size-1 axes), biased
    variance; ``y = xhat * gamma + beta`` (a new array unless both are None)."""
    mean = red.sum(x) / n
    xhat = x - mean
    var = red.dot(xhat, xhat) / n
    inv = 1.0 / ops.xp.sqrt(var + epsilon)
    xhat, y = ops.normalize_scale_shift(xhat, inv, gamma, beta)
    return xhat, y, inv, mean, var


def _bn_train_forward(ops, x, *params, axes, shape, scale, center, epsilon):
    if axes == tuple(range(x.ndim - 1)):  # channels last: work on the (rows, channels) view
        work, red, pshape = x.reshape(-1, x.shape[-1]), _Reducer(ops.xp, axes, 0), (1, x.shape[-1])
    else:
        work, red, pshape = x, _Reducer(ops.xp, axes, None), shape
    n = x.size // math.prod(shape)  # values per channel
    gamma = params[0].reshape(pshape) if scale else None
    beta = params[-1].reshape(pshape) if center else None
    xhat, y, inv, mean, var = _normalize(ops, work, red, n, epsilon, gamma, beta)
    return (y.reshape(x.shape), mean.reshape(-1), var.reshape(-1)), (xhat, inv, gamma, red, n, scale, center, x.shape)


def _bn_train_backward(ops, saved, grads):
    """Gradients of (y, batch mean, batch variance) with respect to x, gamma and beta."""
    xhat, inv, gamma, red, n, scale, center, x_shape = saved
    gy, gmean, gvar = grads
    dgamma = dbeta = None
    if gy is not None:
        gy = gy.reshape(xhat.shape)
        sum_gy = red.sum(gy)
        sum_gy_xhat = red.dot(gy, xhat)
        dx = ops.normalize_input_grad(gy, sum_gy, sum_gy_xhat, xhat, inv * gamma if scale else inv, n)
        if scale:
            dgamma = sum_gy_xhat.reshape(-1)
        if center:
            dbeta = sum_gy.reshape(-1)
    else:
        dx = ops.xp.zeros_like(xhat)
    if gmean is not None:
        dx += gmean.reshape(inv.shape) / n
    if gvar is not None:  # d var / dx = 2 (x - mean) / n = 2 xhat / (inv n)
        dx += xhat * (gvar.reshape(inv.shape) * (2.0 / n) / inv)
    return (dx.reshape(x_shape),) + ((dgamma,) if scale else ()) + ((dbeta,) if center else ())


_batch_norm_train_p = Primitive("batch_norm_train", _bn_train_forward, _bn_train_backward, multi_output=True)


def _ln_forward(ops, x, *params, axes, shape, scale, center, epsilon):
    xp = ops.xp
    k = x.ndim - len(axes)
    if axes == tuple(range(k, x.ndim)):  # trailing axes: work on the (samples, features) view
        d = math.prod(x.shape[k:])
        work, pshape = x.reshape(-1, d), (1, d)
        red, others = _Reducer(xp, axes, 1), _Reducer(xp, (), 0)
    else:
        work, pshape = x, shape
        red = _Reducer(xp, axes, None)
        others = _Reducer(xp, tuple(i for i in range(x.ndim) if i not in axes), None)
    gamma = params[0].reshape(pshape) if scale else None
    beta = params[-1].reshape(pshape) if center else None
    n = math.prod(shape)
    xhat, y, inv, _, _ = _normalize(ops, work, red, n, epsilon, gamma, beta)
    y = y.reshape(x.shape)
    param_shape = params[0].shape if params else None
    return y, (xhat, inv, gamma, red, others, n, param_shape, scale, center, x.shape)


def _ln_backward(ops, saved, g):
    xhat, inv, gamma, red, others, n, param_shape, scale, center, x_shape = saved
    g = g.reshape(xhat.shape)
    dx = g * gamma if scale else g.copy()
    mean_dx = red.sum(dx) / n
    mean_dx_xhat = red.dot(dx, xhat) / n
    dx -= mean_dx
    dx -= xhat * mean_dx_xhat
    dx *= inv
    grads = [dx.reshape(x_shape)]
    if scale:
        grads.append(others.dot(g, xhat).reshape(param_shape))
    if center:
        grads.append(others.sum(g).reshape(param_shape))
    return tuple(grads)


_layer_norm_p = Primitive("layer_norm", _ln_forward, _ln_backward)


def _as_layer_dtype(layer: Layer, x: Tensor) -> Tensor:
    """Keras autocasts floating inputs to the layer's compute dtype."""
    return x if x.dtype == layer.dtype_policy else cast(x, layer.dtype_policy)


# --------------------------------------------------------------- BatchNormalization
class BatchNormalization(Layer):
    """Normalize with batch statistics while training and moving statistics at inference.

    Weights (Keras order): gamma (if ``scale``), beta (if ``center``), moving_mean and
    moving_variance (non-trainable), each of shape ``(input_shape[axis],)``. A call with
    ``training=True`` on a trainable layer normalizes with the batch mean and biased variance
    and updates ``moving = moving * momentum + batch * (1 - momentum)``; otherwise the moving
    statistics are used and nothing changes. A frozen layer (``trainable=False``) always runs in
    inference mode, as in Keras 3.
    """

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 moving_mean_initializer: Any = "zeros", moving_variance_initializer: Any = "ones",
                 beta_regularizer: Any = None, gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, synchronized: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _require_none("BatchNormalization", beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
                      beta_constraint=beta_constraint, gamma_constraint=gamma_constraint)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"BatchNormalization '{self.name}': axis must be an int, got {axis!r}.")
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.synchronized = bool(synchronized)  # single device: nothing to synchronize
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.supports_masking = True

    def build(self, input_shape: tuple) -> None:
        rank = len(input_shape)
        if not -rank <= self.axis < rank:
            raise ValueError(f"BatchNormalization '{self.name}': axis {self.axis} is out of range for input shape "
                             f"{tuple(input_shape)}.")
        dim = input_shape[self.axis]
        if dim is None:
            raise ValueError(f"BatchNormalization '{self.name}' needs a known size on axis {self.axis}; got input "
                             f"shape {tuple(input_shape)}.")
        shape = (dim,)
        self.gamma = self.add_weight(shape, self.gamma_initializer, name="gamma") if self.scale else None
        self.beta = self.add_weight(shape, self.beta_initializer, name="beta") if self.center else None
        self.moving_mean = self.add_weight(shape, self.moving_mean_initializer, trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(shape, self.moving_variance_initializer, trainable=False,
                                               name="moving_variance")
        self.input_spec = InputSpec(ndim=rank, axes={self.axis: dim})
        self.built = True

    def _params(self) -> list:
        return [w for w in (self.gamma, self.beta) if w is not None]

    def call(self, inputs, training=None, mask=None):
        x = _as_layer_dtype(self, inputs)
        rank = x.ndim
        axis = self.axis % rank
        reduction = tuple(i for i in range(rank) if i != axis)
        shape = tuple(x.shape[axis] if i == axis else 1 for i in range(rank))
        if mask is not None and mask.ndim != rank - 1:
            raise ValueError(f"BatchNormalization '{self.name}': the mask must have one dimension less than the "
                             f"inputs; got mask shape {tuple(mask.shape)} for inputs of shape {tuple(x.shape)}.")
        if training and self.trainable:
            if mask is None:
                y, mean, var = _batch_norm_train_p.apply(
                    x, *self._params(), axes=reduction, shape=shape, scale=self.scale, center=self.center,
                    epsilon=self.epsilon)
            else:
                mean, var = self._masked_moments(x, mask, reduction)
                y = self._apply_statistics(x, mean, var, shape)
            m = self.momentum
            self.moving_mean.assign(self.moving_mean.data * m + mean.data * (1.0 - m))
            self.moving_variance.assign(self.moving_variance.data * m + var.data * (1.0 - m))
            return y
        return self._apply_statistics(x, self.moving_mean.value(), self.moving_variance.value(), shape)

    def _apply_statistics(self, x: Tensor, mean: Any, var: Any, shape: tuple) -> Tensor:
        """``(x - mean) / sqrt(var + epsilon) * gamma + beta`` as two elementwise passes over x."""
        inv = rsqrt(var + self.epsilon)
        if self.scale:
            inv = inv * self.gamma
        shift = -mean * inv
        if self.center:
            shift = shift + self.beta
        if len(shape) > 1 and shape[-1] == 1:  # channel axis not last: broadcast explicitly
            inv, shift = reshape(inv, shape), reshape(shift, shape)
        return x * inv + shift

    def _masked_moments(self, x: Tensor, mask: Any, reduction: tuple) -> tuple:
        """Keras's masked batch statistics: entries whose mask is False do not count."""
        weights = expand_dims(cast(mask, x.dtype), -1)
        weighted = weights * x
        count = _sum(weights, axis=reduction, keepdims=True) + _MASK_EPSILON
        mean = _sum(weighted, axis=reduction, keepdims=True) / count
        var = _sum(weights * square(weighted - mean), axis=reduction, keepdims=True) / count
        return reshape(mean, (-1,)), reshape(var, (-1,))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
                "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
                "gamma_constraint": None, "synchronized": self.synchronized}


# --------------------------------------------------------------- LayerNormalization
class LayerNormalization(Layer):
    """Normalize each sample over ``axis`` (an int or a list of axes): ``(x - mean) / sqrt(var +
    epsilon) * gamma + beta`` with the biased variance.

    Weights (Keras order): gamma (if ``scale``), beta (if ``center``), of shape
    ``tuple(input_shape[a] for a in axis)``. As in Keras, an int ``axis`` becomes ``[axis]`` once
    the layer is built.
    """

    def __init__(self, axis: int | Sequence[int] = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, rms_scaling: bool = False, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", beta_regularizer: Any = None, gamma_regularizer: Any = None,
                 beta_constraint: Any = None, gamma_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _require_none("LayerNormalization", beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
                      beta_constraint=beta_constraint, gamma_constraint=gamma_constraint)
        if rms_scaling:
            raise NotImplementedError("LayerNormalization: rms_scaling=True is not supported by graphkit yet "
                                      "(its definition differs between Keras 3 releases).")
        def is_int(value):
            return isinstance(value, int) and not isinstance(value, bool)

        if isinstance(axis, (list, tuple)) and axis and all(is_int(a) for a in axis):
            self.axis: int | list[int] = list(axis)
        elif is_int(axis):
            self.axis = axis
        else:
            raise TypeError(f"LayerNormalization '{self.name}': axis must be an int or a list of ints, got {axis!r}.")
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.rms_scaling = False
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.supports_masking = True

    def _axes_list(self) -> list[int]:
        return list(self.axis) if isinstance(self.axis, list) else [self.axis]

    def _check_axes(self, input_shape: tuple) -> tuple:
        rank = len(input_shape)
        axes = self._axes_list()
        bad = [a for a in axes if not -rank <= a < rank]
        if bad:
            raise ValueError(f"LayerNormalization '{self.name}': axis {bad[0]} is out of range for input shape "
                             f"{tuple(input_shape)}.")
        normalized = [a % rank for a in axes]
        if len(set(normalized)) != len(normalized):
            raise ValueError(f"LayerNormalization '{self.name}': axis {self.axis} repeats an axis.")
        return tuple(normalized)

    def build(self, input_shape: tuple) -> None:
        self._check_axes(input_shape)
        shape = tuple(input_shape[a] for a in self._axes_list())
        if any(d is None for d in shape):
            raise ValueError(f"LayerNormalization '{self.name}' needs known sizes on axis {self.axis}; got input shape "
                             f"{tuple(input_shape)}.")
        if not isinstance(self.axis, list):
            self.axis = [self.axis]
        self.gamma = self.add_weight(shape, self.gamma_initializer, name="gamma") if self.scale else None
        self.beta = self.add_weight(shape, self.beta_initializer, name="beta") if self.center else None
        self.built = True

    def call(self, inputs):
        x = _as_layer_dtype(self, inputs)
        axes = tuple(sorted(self._check_axes(tuple(x.shape))))
        shape = tuple(x.shape[i] if i in axes else 1 for i in range(x.ndim))
        param_shape = tuple(x.shape[a] for a in self._axes_list())
        params = [w for w in (self.gamma, self.beta) if w is not None]
        if params and tuple(params[0].shape) != param_shape:
            raise ValueError(f"LayerNormalization '{self.name}' was built for sizes {tuple(params[0].shape)} on axis "
                             f"{self.axis}, got input shape {tuple(x.shape)}.")
        return _layer_norm_p.apply(x, *params, axes=axes, shape=shape, scale=self.scale, center=self.center,
                                   epsilon=self.epsilon)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        self._check_axes(input_shape)
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, "rms_scaling": self.rms_scaling,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
                "gamma_constraint": None}
