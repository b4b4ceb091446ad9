"""``gk.random``: seeded random tensors on the active backend."""
from __future__ import annotations

from typing import Any, Sequence

from . import backend
from .backend import FLOATX
from .engine.tensor import Tensor, wrap


def set_seed(seed: int | None) -> None:
    """Make random draws (initializers, dropout, ``gk.random.*``) repeatable from here on."""
    backend.seed_all(seed)


def normal(shape: Sequence[int], mean: float = 0.0, stddev: float = 1.0, dtype: Any = FLOATX,
           seed: int | None = None) -> Tensor:
    """Samples from a normal distribution."""
    return wrap(backend.current().random_normal(tuple(shape), mean, stddev, dtype, seed), None, 0)


def uniform(shape: Sequence[int], minval: float = 0.0, maxval: float = 1.0, dtype: Any = FLOATX,
            seed: int | None = None) -> Tensor:
    """Samples from a uniform distribution on ``[minval, maxval)``."""
    return wrap(backend.current().random_uniform(tuple(shape), minval, maxval, dtype, seed), None, 0)
