"""Learning-rate schedules (``gk.optimizers.schedules``), Keras 3's classes, arguments and formulas.

A schedule is a callable ``schedule(step) -> learning rate``; pass one as an optimizer's
``learning_rate`` and the optimizer evaluates it at ``optimizer.iterations`` (the number of
updates applied so far) before every update. ``step`` may be a Python number, a 0-d array or a
``gk.Tensor``/``gk.Variable``; built-in schedules return a Python float (Keras returns a scalar
tensor: ``float()`` of either gives the value).

Configs use Keras's schema: ``serialize(schedule)`` ->
``{"module": "keras.optimizers.schedules", "class_name": "ExponentialDecay", "config": {...},
"registered_name": None}``; ``deserialize`` reads it back (custom schedules through
``custom_objects`` or ``gk.saving.register_serializable()``).
"""
from __future__ import annotations

import math
from typing import Any

__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
           "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts", "serialize", "deserialize"]


def _step_value(step: Any) -> float:
    return float(step)


class LearningRateSchedule:
    """Base class: implement ``__call__(self, step)`` and, to be serializable, ``get_config()``."""

    def __call__(self, step: Any):
        raise NotImplementedError(f"Learning rate schedule '{self.__class__.__name__}' must override "
                                  "`__call__(self, step)`.")

    def get_config(self) -> dict:
        raise NotImplementedError(f"Learning rate schedule '{self.__class__.__name__}' must override "
                                  "`get_config()` in order to be serializable.")

    @classmethod
    def from_config(cls, config: dict) -> "LearningRateSchedule":
        return cls(**config)

    def __repr__(self) -> str:
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            args = ""
        return f"{type(self).__name__}({args})"


def _check_positive(name: str, value: Any) -> None:
    if value <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")


class _RateDecaySchedule(LearningRateSchedule):
    """The arguments, config and decay progress ``step / decay_steps`` (floored when ``staircase``)
    that ``ExponentialDecay`` and ``InverseTimeDecay`` share."""

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool, name: str) -> None:
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def _decay_progress(self, step: Any) -> float:
        p = _step_value(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return p

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_RateDecaySchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (integer division of the
    exponent when ``staircase``)."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str = "ExponentialDecay") -> None:
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step: Any) -> float:
        return float(self.initial_learning_rate) * float(self.decay_rate) ** self._decay_progress(step)


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after ``boundaries[-1]``."""

    def __init__(self, boundaries: list, values: list, name: str = "PiecewiseConstant") -> None:
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. Received: "
                f"boundaries={boundaries} of length {len(boundaries)}, and values={values} of length "
                f"{len(values)}.")
        if any(b >= a for b, a in zip(boundaries, boundaries[1:])):
            raise ValueError(f"`boundaries` must be strictly increasing. Received: boundaries={boundaries}")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step: Any) -> float:
        s = _step_value(step)
        for boundary, value in zip(self.boundaries, self.values):
            if s <= boundary:
                return float(value)
        return float(self.values[-1])

    def get_config(self) -> dict:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - step / decay_steps) ** power + end`` with ``step`` capped at
    ``decay_steps``; with ``cycle`` the horizon is the first multiple of ``decay_steps`` at or
    above ``step`` (``decay_steps`` itself at step 0)."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, end_learning_rate: float = 0.0001,
                 power: float = 1.0, cycle: bool = False, name: str = "PolynomialDecay") -> None:
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step: Any) -> float:
        s = _step_value(step)
        decay_steps = float(self.decay_steps)
        if self.cycle:
            multiplier = 1.0 if s == 0 else math.ceil(s / decay_steps)
            decay_steps = decay_steps * multiplier
        else:
            s = min(s, decay_steps)
        p = s / decay_steps
        initial, end = float(self.initial_learning_rate), float(self.end_learning_rate)
        return (initial - end) * (1 - p) ** float(self.power) + end

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class InverseTimeDecay(_RateDecaySchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (floor of
    ``step / decay_steps`` when ``staircase``)."""

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False, name: str = "InverseTimeDecay") -> None:
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step: Any) -> float:
        return float(self.initial_learning_rate) / (1.0 + float(self.decay_rate) * self._decay_progress(step))


class CosineDecay(LearningRateSchedule):
    """Cosine decay with an optional linear warmup (Keras 3).

    Without ``warmup_target``: ``initial * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)``
    with ``s = min(step, decay_steps)``. With ``warmup_target``: for ``step < warmup_steps`` the
    rate rises linearly, ``initial + (warmup_target - initial) * step / warmup_steps``; then the
    cosine decay runs from ``warmup_target`` over ``decay_steps`` more steps.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: float | None = None, warmup_steps: int = 0) -> None:
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target

    def _decay(self, s: float, decay_from: float) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * (s / float(self.decay_steps))))
        alpha = float(self.alpha)
        return decay_from * ((1 - alpha) * cosine + alpha)

    def __call__(self, step: Any) -> float:
        s = _step_value(step)
        initial = float(self.initial_learning_rate)
        if self.warmup_target is None:
            return self._decay(min(s, float(self.decay_steps)), initial)
        warmup_steps = float(self.warmup_steps)
        target = float(self.warmup_target)
        s = min(s, float(self.decay_steps) + warmup_steps)
        if s < warmup_steps:
            return (target - initial) * (s / warmup_steps) + initial
        return self._decay(s - warmup_steps, target)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """SGDR: cosine decay from 1 to ``alpha`` over ``first_decay_steps``, then warm restarts, each
    period ``t_mul`` times longer and starting ``m_mul`` times lower (Keras 3)."""

    def __init__(self, initial_learning_rate: float, first_decay_steps: int, t_mul: float = 2.0,
                 m_mul: float = 1.0, alpha: float = 0.0, name: str = "SGDRDecay") -> None:
        _check_positive("first_decay_steps", first_decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step: Any) -> float:
        fraction = _step_value(step) / float(self.first_decay_steps)
        t_mul, m_mul, alpha = float(self._t_mul), float(self._m_mul), float(self.alpha)
        if t_mul == 1.0:
            i_restart = math.floor(fraction)
            fraction -= i_restart
        else:
            i_restart = math.floor(math.log(1.0 - fraction * (1.0 - t_mul)) / math.log(t_mul))
            sum_r = (1.0 - t_mul ** i_restart) / (1.0 - t_mul)
            fraction = (fraction - sum_r) / t_mul ** i_restart
        cosine = 0.5 * m_mul ** i_restart * (1.0 + math.cos(math.pi * fraction))
        return float(self.initial_learning_rate) * ((1 - alpha) * cosine + alpha)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self._t_mul, "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


_BUILTIN = {cls.__name__: cls for cls in (LearningRateSchedule, ExponentialDecay, PiecewiseConstantDecay,
                                          PolynomialDecay, InverseTimeDecay, CosineDecay, CosineDecayRestarts)}


def serialize(learning_rate_schedule: LearningRateSchedule) -> dict:
    """Keras 3's config dict of a schedule."""
    if not isinstance(learning_rate_schedule, LearningRateSchedule) and not hasattr(learning_rate_schedule,
                                                                                    "get_config"):
        raise TypeError(f"Cannot serialize {learning_rate_schedule!r}: not a LearningRateSchedule.")
    cls = type(learning_rate_schedule)
    if _BUILTIN.get(cls.__name__) is cls:
        module, registered = "keras.optimizers.schedules", None
    else:
        from ..saving.serialization import get_registered_name
        module, registered = cls.__module__, get_registered_name(cls)
    return {"module": module, "class_name": cls.__name__, "config": learning_rate_schedule.get_config(),
            "registered_name": registered}


def deserialize(config: dict, custom_objects: dict | None = None) -> LearningRateSchedule:
    """The schedule a Keras-style config dict describes."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Expected a schedule config dict with a 'class_name', got {config!r}.")
    from ..saving.serialization import get_registered_object
    class_name = config["class_name"]
    registered = config.get("registered_name") or class_name
    cls = None
    for key in (registered, class_name):
        found = get_registered_object(key, custom_objects)
        if found is not None:
            cls = found
            break
    if cls is None:
        cls = _BUILTIN.get(class_name)
    if cls is None or cls is LearningRateSchedule:
        valid = ", ".join(sorted(n for n in _BUILTIN if n != "LearningRateSchedule"))
        raise ValueError(f"Unknown learning rate schedule {class_name!r}; built-in schedules: {valid} (custom "
                         "schedules: pass them in custom_objects or register them with "
                         "gk.saving.register_serializable()).")
    return cls.from_config(dict(config.get("config") or {}))
