"""Weight initializers with Keras 3's names, defaults and fan rules (``gk.initializers``)."""
from __future__ import annotations

import math
from typing import Any, Callable

from . import backend
from .backend import FLOATX


def compute_fans(shape: tuple) -> tuple[int, int]:
    """Keras's fan-in/fan-out: kernels (..., in, out) count their receptive field."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Callable ``(shape, dtype) -> backend array``; serializable through ``get_config``."""

    def __call__(self, shape, dtype=FLOATX):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Initializer":
        return cls(**config)


class Zeros(Initializer):
    def __call__(self, shape, dtype=FLOATX):
        return backend.current().zeros(tuple(shape), dtype)


class Ones(Initializer):
    def __call__(self, shape, dtype=FLOATX):
        return backend.current().ones(tuple(shape), dtype)


class Constant(Initializer):
    def __init__(self, value: float = 0.0) -> None:
        self.value = value

    def __call__(self, shape, dtype=FLOATX):
        return backend.current().xp.full(tuple(shape), self.value, dtype=dtype)

    def get_config(self) -> dict:
        return {"value": self.value}


class RandomNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=FLOATX):
        return backend.current().random_normal(tuple(shape), self.mean, self.stddev, dtype, self.seed)

    def get_config(self) -> dict:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None) -> None:
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype=FLOATX):
        return backend.current().random_uniform(tuple(shape), self.minval, self.maxval, dtype, self.seed)

    def get_config(self) -> dict:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


def _truncated_normal(shape, stddev, dtype, seed):
    """Normal samples redrawn until they lie within two standard deviations."""
    ops = backend.current()
    xp = ops.xp
    values = ops.random_normal(shape, 0.0, 1.0, dtype, seed)
    redraw_seed = None if seed is None else seed + 1
    outside = xp.abs(values) > 2
    while bool(outside.any()):
        fresh = ops.random_normal(shape, 0.0, 1.0, dtype, redraw_seed)
        redraw_seed = None if redraw_seed is None else redraw_seed + 1
        values = xp.where(outside, fresh, values)
        outside = xp.abs(values) > 2
    return (values * stddev).astype(dtype, copy=False)


class TruncatedNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=FLOATX):
        return _truncated_normal(tuple(shape), self.stddev, dtype, self.seed) + self.mean

    def get_config(self) -> dict:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(Initializer):
    """Scale-by-fan initializer underlying Glorot, He and LeCun."""

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: int | None = None) -> None:
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling mode must be fan_in, fan_out or fan_avg, got {mode!r}.")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError("VarianceScaling distribution must be truncated_normal, untruncated_normal or "
                             f"uniform, got {distribution!r}.")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def __call__(self, shape, dtype=FLOATX):
        shape = tuple(shape)
        fan_in, fan_out = compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, fan)
        ops = backend.current()
        if self.distribution == "uniform":
            limit = math.sqrt(3 * variance)
            return ops.random_uniform(shape, -limit, limit, dtype, self.seed)
        if self.distribution == "untruncated_normal":
            return ops.random_normal(shape, 0.0, math.sqrt(variance), dtype, self.seed)
        # 0.8796... is the stddev of a unit normal truncated to [-2, 2].
        return _truncated_normal(shape, math.sqrt(variance) / 0.87962566103423978, dtype, self.seed)

    def get_config(self) -> dict:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


def _variance_scaling_preset(class_name: str, scale: float, mode: str, distribution: str) -> type:
    def __init__(self, seed: int | None = None) -> None:
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self) -> dict:
        return {"seed": self.seed}

    doc = f"VarianceScaling(scale={scale}, mode={mode!r}, distribution={distribution!r})."
    return type(class_name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config, "__doc__": doc})


GlorotUniform = _variance_scaling_preset("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _variance_scaling_preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _variance_scaling_preset("HeUniform", 2.0, "fan_in", "uniform")
HeNormal = _variance_scaling_preset("HeNormal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _variance_scaling_preset("LecunUniform", 1.0, "fan_in", "uniform")
LecunNormal = _variance_scaling_preset("LecunNormal", 1.0, "fan_in", "truncated_normal")


class Orthogonal(Initializer):
    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        self.gain, self.seed = gain, seed

    def __call__(self, shape, dtype=FLOATX):
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal initializer needs a shape of rank >= 2, got {shape}.")
        ops = backend.current()
        xp = ops.xp
        rows, cols = math.prod(shape[:-1]), shape[-1]
        flat = ops.random_normal((max(rows, cols), min(rows, cols)), 0.0, 1.0, "float64", self.seed)
        q, r = xp.linalg.qr(flat)
        q = q * xp.sign(xp.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q[:rows, :cols]).reshape(shape).astype(dtype)

    def get_config(self) -> dict:
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    def __init__(self, gain: float = 1.0) -> None:
        self.gain = gain

    def __call__(self, shape, dtype=FLOATX):
        if len(shape) != 2:
            raise ValueError(f"Identity initializer needs a 2-D shape, got {tuple(shape)}.")
        return self.gain * backend.current().xp.eye(*shape, dtype=dtype)

    def get_config(self) -> dict:
        return {"gain": self.gain}


_CLASSES = {cls.__name__: cls for cls in (
    Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling, GlorotUniform,
    GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal, Orthogonal, Identity)}
_ALIASES = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal, "normal": RandomNormal,
    "random_uniform": RandomUniform, "uniform": RandomUniform, "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal, "he_uniform": HeUniform,
    "he_normal": HeNormal, "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal, "identity": Identity,
}


def get(identifier: Any) -> Initializer | Callable:
    """An initializer from a name ("he_normal"), a Keras config dict, an instance or a callable."""
    if isinstance(identifier, (Initializer,)) or (callable(identifier) and not isinstance(identifier, type)):
        return identifier
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier) or _CLASSES.get(identifier)
        if cls is None:
            raise ValueError(f"Unknown initializer {identifier!r}; valid names: {sorted(_ALIASES)}.")
        return cls()
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = _CLASSES.get(identifier["class_name"]) or _ALIASES.get(identifier["class_name"])
        if cls is None:
            raise ValueError(f"Unknown initializer class {identifier['class_name']!r}; "
                             f"valid classes: {sorted(_CLASSES)}.")
        return cls.from_config(identifier.get("config", {}))
    raise ValueError(f"Cannot interpret {identifier!r} as an initializer.")


def serialize(initializer: Any) -> Any:
    """Keras 3's config dict for an initializer."""
    if isinstance(initializer, Initializer):
        return {"module": "keras.initializers", "class_name": type(initializer).__name__,
                "config": initializer.get_config(), "registered_name": None}
    return getattr(initializer, "__name__", initializer)
