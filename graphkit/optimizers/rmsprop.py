"""``gk.optimizers.RMSprop``: Hinton's RMSprop (plain momentum, optional centering), Keras 3's."""
from __future__ import annotations

from typing import Any, Sequence

from ..backend import state as _backend
from ..backend.optimizer_ops import velocity_floor, velocity_floor_period
from .optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop::

        v = rho * v + (1 - rho) * g**2               # raised to ~1e-19 now and then: no denormals
        a = rho * a + (1 - rho) * g                  # centered only
        denominator = v - a**2 + epsilon  if centered else  v + epsilon
        increment = learning_rate * g / sqrt(denominator)
        m = momentum * m + increment; w = w - m      # momentum > 0
        w = w - increment                            # otherwise

    Keras adds ``epsilon`` INSIDE the square root (PyTorch adds its ``eps`` outside), so the two
    agree exactly only with ``epsilon = 0``. Slots: ``velocity``, ``momentum`` (when momentum > 0),
    ``average_gradient`` (when centered).
    """

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.9, momentum: float = 0.0, epsilon: float = 1e-7,
                 centered: bool = False, weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str = "rmsprop", **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered
        self._updates = 0   # kernel runs so far, which time the velocity floor

    def build(self, var_list: Sequence) -> None:
        if self.built:
            return
        super().build(var_list)
        self._velocities = self.add_optimizer_variables(self._trainable_variables, "velocity")
        self._momentums = []
        if self.momentum > 0:
            self._momentums = self.add_optimizer_variables(self._trainable_variables, "momentum")
        self._average_gradients = []
        if self.centered:
            self._average_gradients = self.add_optimizer_variables(self._trainable_variables, "average_gradient")

    def _update_arrays(self, indices, grads, learning_rate: float) -> None:
        ops = _backend.ops
        kernel = ops.rmsprop_update
        model_vars = self._trainable_variables
        velocities, work = self._velocities, self._workspaces
        momentums = self._momentums if self.momentum > 0 else None
        averages = self._average_gradients if self.centered else None
        rho = float(self.rho)
        dtype = lr = None
        step, self._updates = self._updates, self._updates + 1
        if momentums is None and averages is None:  # the common case, kept lean
            for i, g in zip(indices, grads):
                var = model_vars[i].data
                if var.dtype is not dtype:
                    dtype = var.dtype
                    lr = ops.optimizer_scalar(learning_rate, dtype)
                    c_rho, c_1mrho, c_eps = self._constants(dtype, (rho, 1 - rho, self.epsilon))
                    floor = self._velocity_floor(dtype, step)
                kernel(var, g, velocities[i].data, lr, c_rho, c_1mrho, c_eps, work[i], floor=floor)
            return
        for i, g in zip(indices, grads):
            var = model_vars[i].data
            if var.dtype is not dtype:
                dtype = var.dtype
                lr = ops.optimizer_scalar(learning_rate, dtype)
                c_rho, c_1mrho, c_eps, c_mom = self._constants(dtype, (rho, 1 - rho, self.epsilon,
                                                                       float(self.momentum)))
                floor = self._velocity_floor(dtype, step)
            kernel(var, g, velocities[i].data, lr, c_rho, c_1mrho, c_eps, work[i],
                   c_mom, momentums[i].data if momentums is not None else None,
                   averages[i].data if averages is not None else None, floor=floor)

    def _velocity_floor(self, dtype, step: int):
        """The velocity floor for the kernel at update ``step`` (see
        ``OptimizerOps.rmsprop_update``), None on the updates in between."""
        if step % velocity_floor_period(dtype, float(self.rho)):
            return None
        return self._constants(dtype, (velocity_floor(dtype),))[0]

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                       "centered": self.centered})
        return config
