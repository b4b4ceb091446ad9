"""Fused optimizer updates on arrays, mixed into :class:`~graphkit.backend.ops.Ops`.

Every kernel updates its arrays IN PLACE (the model variable's array and the optimizer's slot
arrays) and never writes to ``grad``: gradients from a tape may share memory or be read-only
broadcast views. ``work`` is a scratch array shaped and typed like ``var`` (the optimizer keeps
one per distinct shape/dtype); each kernel allocates one when given None.

Scalars (``lr``, ``rho``, ...) may be Python floats or 0-d arrays of the variable's dtype: the
optimizer passes what :meth:`OptimizerOps.optimizer_scalar` returns, which for NumPy is a 0-d
array (a Python float costs NumPy ~0.6 µs of conversion per ufunc call; a 0-d array of the
variable's dtype keeps float32 math in float32). Derived constants such as ``1 - rho`` are
computed once by the caller and passed in, so a kernel does no Python arithmetic on scalars.

The formulas are Keras 3's (``keras/src/optimizers/*.py``), in the same association order where
that is free, so float32 results agree with Keras to an ulp or so:

- SGD:      ``var -= grad * lr``
- momentum: ``m = m * momentum - grad * lr``; ``var += m`` (Nesterov: ``var += m * momentum - grad * lr``)
- Adam:     ``m += (grad - m) * (1 - beta_1)``; ``v += (grad**2 - v) * (1 - beta_2)``;
            (AMSGrad: ``v_hat = max(v_hat, v)``, used for ``v``);
            ``var -= m * alpha / (sqrt(v) + epsilon)`` with
            ``alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)``, computed by the caller
- RMSprop:  ``v = rho * v + (1 - rho) * grad**2`` (floored now and then, see
            :meth:`OptimizerOps.rmsprop_update`); centered: ``a = rho * a + (1 - rho) * grad``,
            ``denominator = v - a**2 + epsilon``, else ``v + epsilon``;
            ``increment = lr * grad / sqrt(denominator)``; with momentum
            ``m = momentum * m + increment``, ``var -= m``, else ``var -= increment``
- Adagrad:  ``acc += grad**2``; ``var -= lr * grad / sqrt(acc + epsilon)``

:class:`~graphkit.backend.cupy_ops.CupyOps` may override any of these with fused
``ElementwiseKernel`` versions keeping the same signatures.
"""
from __future__ import annotations

import functools
import math
from typing import Any, Sequence

import numpy


@functools.lru_cache(maxsize=None)
def velocity_floor(dtype: Any) -> float:
    """``sqrt(tiny)`` of ``dtype`` (about 1e-19 for float32): a floor for decaying accumulators,
    far above the denormal range (see :meth:`OptimizerOps.rmsprop_update`)."""
    return float(numpy.sqrt(numpy.finfo(dtype).tiny))


@functools.lru_cache(maxsize=None)
def velocity_floor_period(dtype: Any, rho: float) -> int:
    """How many steps of decay by ``rho`` take :func:`velocity_floor` down to the smallest normal
    number (414 for float32 and rho 0.9): flooring that often keeps accumulators normal."""
    if not 0 < rho < 1:
        return 1
    return max(1, int(math.log(numpy.finfo(dtype).tiny / velocity_floor(dtype)) / math.log(rho)))


class OptimizerOps:
    """In-place optimizer update kernels and gradient clipping; needs ``self.xp`` (from ``Ops``)."""

    xp: Any

    # ------------------------------------------------------------------ helpers
    def optimizer_scalar(self, value: float, dtype: Any):
        """``value`` in the cheapest form for this backend's kernels: a 0-d array of ``dtype`` for
        NumPy, a Python float elsewhere (CuPy takes Python scalars without a device copy)."""
        if self.xp is numpy:
            return numpy.array(value, dtype)
        return float(value)

    def optimizer_workspace(self, like):
        """A scratch array shaped and typed like ``like`` for the update kernels."""
        return self.xp.empty_like(like)

    def scale_inplace(self, var, factor) -> None:
        """``var *= factor`` (decoupled weight decay passes ``1 - weight_decay * lr``)."""
        self.xp.multiply(var, factor, out=var)

    def keep_normal(self, slot, floor, signed: bool, work=None) -> None:
        """Keep a decaying slot out of the denormal range, in place: a ``signed`` slot (momentum)
        has its entries with ``|x| < floor`` set to zero, an unsigned one (a second moment) is
        raised to ``floor``. Zero gradients (dead relu units, unused embedding rows) make slots
        decay geometrically; once denormal, every update over them runs 10-20x slower on x86.
        The optimizers call this every :func:`velocity_floor_period` steps with
        :func:`velocity_floor`, so no entry stays below the floor long enough to turn denormal."""
        xp = self.xp
        if not signed:
            xp.maximum(slot, floor, out=slot)
            return
        if work is None:
            work = self.optimizer_workspace(slot)
        xp.abs(slot, out=work)
        xp.greater_equal(work, floor, out=work)   # 1 where kept (NaN compares False: NaN * 0 stays NaN)
        xp.multiply(slot, work, out=slot)

    # -------------------------------------------------------------------- SGD
    def sgd_update(self, var, grad, lr, work=None) -> None:
        """``var -= grad * lr``."""
        xp = self.xp
        if work is None:
            work = self.optimizer_workspace(var)
        xp.multiply(grad, lr, out=work)
        xp.subtract(var, work, out=var)

    def sgd_momentum_update(self, var, grad, m, lr, momentum, nesterov: bool = False, work=None) -> None:
        """``m = m * momentum - grad * lr``; ``var += m`` (Nesterov: ``var += m * momentum - grad * lr``)."""
        xp = self.xp
        if work is None:
            work = self.optimizer_workspace(var)
        xp.multiply(grad, lr, out=work)
        xp.multiply(m, momentum, out=m)
        xp.subtract(m, work, out=m)
        if nesterov:
            # work = m * momentum - grad * lr, computed as -(grad * lr - m * momentum)
            xp.subtract(work, xp.multiply(m, momentum), out=work)
            xp.subtract(var, work, out=var)
        else:
            xp.add(var, m, out=var)

    # ------------------------------------------------------------------- Adam
    def adam_update(self, var, grad, m, v, alpha, one_minus_beta_1, one_minus_beta_2, epsilon,
                    v_hat=None, work=None) -> None:
        """Keras's Adam step given ``alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)``."""
        xp = self.xp
        if work is None:
            work = self.optimizer_workspace(var)
        xp.subtract(grad, m, out=work)
        xp.multiply(work, one_minus_beta_1, out=work)
        xp.add(m, work, out=m)
        xp.multiply(grad, grad, out=work)
        xp.subtract(work, v, out=work)
        xp.multiply(work, one_minus_beta_2, out=work)
        xp.add(v, work, out=v)
        if v_hat is not None:
            xp.maximum(v_hat, v, out=v_hat)
            v = v_hat
        xp.sqrt(v, out=work)
        xp.add(work, epsilon, out=work)
        xp.divide(m, work, out=work)
        xp.multiply(work, alpha, out=work)
        xp.subtract(var, work, out=var)

    # ---------------------------------------------------------------- RMSprop
    def rmsprop_update(self, var, grad, v, lr, rho, one_minus_rho, epsilon, work=None,
                       momentum=None, m=None, average_grad=None, floor=None) -> None:
        """Keras's RMSprop step: ``m``/``momentum`` when momentum > 0, ``average_grad`` when centered.

        The velocity of a weight whose gradient stays zero (a dead relu unit) decays by ``rho``
        each step into float32 denormals after a few hundred steps, and denormal arithmetic makes
        whole training steps ~1.6x slower on x86. Given ``floor`` (:func:`velocity_floor`), ``v``
        is raised to it: far below any ``epsilon`` that matters (``v + 1e-7`` is the same float32
        number for every ``v`` under ~6e-15), so only ``epsilon = 0`` with gradients under ~1e-19
        sees a difference. The optimizer passes it every :func:`velocity_floor_period` steps,
        which suffices and spares the pass (~3 % of an MLP step) in between.
        """
        xp = self.xp
        if work is None:
            work = self.optimizer_workspace(var)
        xp.multiply(v, rho, out=v)
        xp.multiply(grad, grad, out=work)
        xp.multiply(work, one_minus_rho, out=work)
        xp.add(v, work, out=v)
        if floor is not None:
            xp.maximum(v, floor, out=v)
        if average_grad is not None:
            xp.multiply(average_grad, rho, out=average_grad)
            xp.multiply(grad, one_minus_rho, out=work)
            xp.add(average_grad, work, out=average_grad)
            xp.multiply(average_grad, average_grad, out=work)
            xp.subtract(v, work, out=work)
            xp.add(work, epsilon, out=work)
        else:
            xp.add(v, epsilon, out=work)
        xp.sqrt(work, out=work)
        xp.divide(grad, work, out=work)
        xp.multiply(work, lr, out=work)
        if m is not None:
            xp.multiply(m, momentum, out=m)
            xp.add(m, work, out=m)
            xp.subtract(var, m, out=var)
        else:
            xp.subtract(var, work, out=var)

    # ---------------------------------------------------------------- Adagrad
    def adagrad_update(self, var, grad, accumulator, lr, epsilon, work=None) -> None:
        """``acc += grad**2``; ``var -= lr * grad / sqrt(acc + epsilon)``."""
        xp = self.xp
        if work is None:
            work = self.optimizer_workspace(var)
        xp.multiply(grad, grad, out=work)
        xp.add(accumulator, work, out=accumulator)
        xp.add(accumulator, epsilon, out=work)
        xp.sqrt(work, out=work)
        xp.divide(grad, work, out=work)
        xp.multiply(work, lr, out=work)
        xp.subtract(var, work, out=var)

    # --------------------------------------------------------------- clipping
    def sum_of_squares(self, x):
        """``sum(x**2)`` as a 0-d array (BLAS dot on a flat view where possible)."""
        flat = x.reshape(-1)
        return self.xp.dot(flat, flat)

    def clip_by_norm(self, grad, clipnorm: float):
        """Keras's per-tensor clip: ``grad * clipnorm / max(l2norm(grad), clipnorm)`` (a new array)."""
        xp = self.xp
        norm = xp.sqrt(self.sum_of_squares(grad))
        return grad * (clipnorm / xp.maximum(norm, clipnorm))

    def global_norm(self, grads: Sequence):
        """``sqrt(sum of sum(g**2))`` over all arrays, a 0-d array."""
        total = None
        for g in grads:
            sq = self.sum_of_squares(g)
            total = sq if total is None else total + sq
        return self.xp.sqrt(total)

    def clip_by_global_norm(self, grads: Sequence, clipnorm: float) -> list:
        """Keras's global clip: every array times ``clipnorm * min(1/norm, 1/clipnorm)``; a non-finite
        norm makes every gradient NaN, as in Keras (new arrays)."""
        xp = self.xp
        norm = self.global_norm(grads)
        with numpy.errstate(divide="ignore", invalid="ignore"):
            scale = clipnorm * xp.minimum(1.0 / norm, 1.0 / clipnorm) + (norm - norm)
            return [g * scale.astype(g.dtype, copy=False) for g in grads]

    def clip_by_value(self, grad, clipvalue: float):
        """``clip(grad, -clipvalue, clipvalue)`` (a new array)."""
        return self.xp.clip(grad, -clipvalue, clipvalue)
