"""``gk.optimizers.SGD``: gradient descent with optional (Nesterov) momentum, Keras 3's formulas."""
from __future__ import annotations

from typing import Any, Sequence

from ..backend import state as _backend
from .optimizer import Optimizer, _check_float_in


class SGD(Optimizer):
    """Gradient descent (with momentum).

    ``momentum == 0``: ``w = w - learning_rate * g``. Otherwise
    ``velocity = momentum * velocity - learning_rate * g`` and ``w = w + velocity``; with
    ``nesterov=True``, ``w = w + momentum * velocity - learning_rate * g``. The ``momentum`` slot
    exists only when ``momentum != 0``.

    Args:
        learning_rate: float, schedule or callable. Defaults to 0.01.
        momentum: float in [0, 1]. Defaults to 0.0.
        nesterov: whether to use Nesterov momentum. Defaults to False.
        **kwargs: the base arguments (weight_decay, clipnorm, clipvalue, global_clipnorm, ...).
    """

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float | None = None, clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str = "SGD", **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self.momentum = _check_float_in("momentum", momentum, 0.0, 1.0)
        self.nesterov = nesterov

    def build(self, var_list: Sequence) -> None:
        if self.built:
            return
        super().build(var_list)
        self.momentums = []
        if self.momentum != 0:
            self.momentums = self.add_optimizer_variables(self._trainable_variables, "momentum")

    def _update_arrays(self, indices, grads, learning_rate: float) -> None:
        ops = _backend.ops
        model_vars = self._trainable_variables
        work = self._workspaces
        dtype = lr = None
        if self.momentum != 0:
            kernel = ops.sgd_momentum_update
            momentums = self.momentums
            nesterov = bool(self.nesterov)
            for i, g in zip(indices, grads):
                var = model_vars[i].data
                if var.dtype is not dtype:
                    dtype = var.dtype
                    lr = ops.optimizer_scalar(learning_rate, dtype)
                    (momentum,) = self._constants(dtype, (self.momentum,))
                kernel(var, g, momentums[i].data, lr, momentum, nesterov, work[i])
            self._keep_slots_normal(momentums, indices, self._step_count() + 1, float(self.momentum), signed=True)
        else:
            kernel = ops.sgd_update
            for i, g in zip(indices, grads):
                var = model_vars[i].data
                if var.dtype is not dtype:
                    dtype = var.dtype
                    lr = ops.optimizer_scalar(learning_rate, dtype)
                kernel(var, g, lr, work[i])

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
