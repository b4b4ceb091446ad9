"""``gk.optimizers.Adagrad``: Duchi et al.'s Adagrad with Keras 3's formula."""
from __future__ import annotations

from typing import Any, Sequence

from .. import initializers
from ..backend import state as _backend
from .optimizer import Optimizer, _check_nonnegative


class Adagrad(Optimizer):
    """Adagrad: ``acc = acc + g**2``; ``w = w - learning_rate * g / sqrt(acc + epsilon)``, with the
    ``accumulator`` slot starting at ``initial_accumulator_value``. Keras adds ``epsilon`` inside
    the square root (PyTorch adds its ``eps`` outside): they agree exactly with ``epsilon = 0``.
    """

    def __init__(self, learning_rate: Any = 0.001, initial_accumulator_value: float = 0.1, epsilon: float = 1e-7,
                 weight_decay: float | None = None, clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        self.initial_accumulator_value = _check_nonnegative("initial_accumulator_value", initial_accumulator_value)
        self.epsilon = epsilon

    def build(self, var_list: Sequence) -> None:
        if self.built:
            return
        super().build(var_list)
        self._accumulators = self.add_optimizer_variables(
            self._trainable_variables, "accumulator",
            initializer=initializers.Constant(float(self.initial_accumulator_value)))

    def _update_arrays(self, indices, grads, learning_rate: float) -> None:
        ops = _backend.ops
        kernel = ops.adagrad_update
        model_vars = self._trainable_variables
        accumulators, work = self._accumulators, self._workspaces
        dtype = lr = None
        for i, g in zip(indices, grads):
            var = model_vars[i].data
            if var.dtype is not dtype:
                dtype = var.dtype
                lr = ops.optimizer_scalar(learning_rate, dtype)
                (eps,) = self._constants(dtype, (self.epsilon,))
            kernel(var, g, accumulators[i].data, lr, eps, work[i])

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon})
        return config
