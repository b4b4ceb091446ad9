"""``gk.optimizers.Adam``: Kingma & Ba's Adam (and AMSGrad) with Keras 3's formulas."""
from __future__ import annotations

import math
from typing import Any, Sequence

from ..backend import state as _backend
from .optimizer import Optimizer


class Adam(Optimizer):
    """Adam.

    With ``t = iterations + 1``::

        m = m + (g - m) * (1 - beta_1)
        v = v + (g**2 - v) * (1 - beta_2)
        v_hat = max(v_hat, v); v = v_hat                       # amsgrad only
        alpha = learning_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t)
        w = w - alpha * m / (sqrt(v) + epsilon)

    ``epsilon`` is Keras's "epsilon hat": it is added to ``sqrt(v)`` before the bias correction is
    applied through ``alpha``, so it equals PyTorch's ``eps`` times ``sqrt(1 - beta_2**t)``.
    Slots: ``momentum``, ``velocity`` (and ``velocity_hat`` with amsgrad).
    """

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str = "adam", **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def build(self, var_list: Sequence) -> None:
        if self.built:
            return
        super().build(var_list)
        self._momentums = self.add_optimizer_variables(self._trainable_variables, "momentum")
        self._velocities = self.add_optimizer_variables(self._trainable_variables, "velocity")
        self._velocity_hats = []
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(self._trainable_variables, "velocity_hat")

    def _local_step(self) -> int:
        step = self._step_count()
        if self.gradient_accumulation_steps:
            step //= self.gradient_accumulation_steps
        return step + 1

    def _update_arrays(self, indices, grads, learning_rate: float) -> None:
        ops = _backend.ops
        kernel = ops.adam_update
        t = self._local_step()
        beta_1, beta_2 = float(self.beta_1), float(self.beta_2)
        alpha_value = learning_rate * math.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
        model_vars = self._trainable_variables
        ms, vs, work = self._momentums, self._velocities, self._workspaces
        hats = self._velocity_hats if self.amsgrad else None
        dtype = alpha = None
        for i, g in zip(indices, grads):
            var = model_vars[i].data
            if var.dtype is not dtype:
                dtype = var.dtype
                alpha = ops.optimizer_scalar(alpha_value, dtype)
                c1, c2, eps = self._constants(dtype, (1 - beta_1, 1 - beta_2, self.epsilon))
            kernel(var, g, ms[i].data, vs[i].data, alpha, c1, c2, eps,
                   hats[i].data if hats is not None else None, work[i])
        self._keep_slots_normal(ms, indices, t, beta_1, signed=True)
        self._keep_slots_normal(vs, indices, t, beta_2, signed=False)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "amsgrad": self.amsgrad})
        return config
