"""``gk.random``: seeded random tensors on the active backend."""
from __future__ import annotations

from typing import Any, Sequence

import numpy

from . import backend
from .backend import FLOATX
from .engine.tensor import Tensor, wrap
from .global_state import PROCESS


def set_seed(seed: int | None) -> None:
    """Make random draws (initializers, dropout, ``gk.random.*``, the order ``fit`` shuffles
    data in) repeatable from here on."""
    backend.seed_all(seed)
    PROCESS.host_rng = None


def host_generator() -> numpy.random.Generator:
    """The numpy generator used for host-side randomness such as ``fit``'s shuffling: seeded by
    :func:`set_seed` and the same whichever backend (numpy or CuPy) runs the model."""
    if PROCESS.host_rng is None:
        seed = PROCESS.default_seed
        # A stream of its own (not the backend generator's), so shuffling does not shift dropout.
        PROCESS.host_rng = numpy.random.default_rng(None if seed is None else [int(seed), 0x5EED])
    return PROCESS.host_rng


def normal(shape: Sequence[int], mean: float = 0.0, stddev: float = 1.0, dtype: Any = FLOATX,
           seed: int | None = None) -> Tensor:
    """Samples from a normal distribution."""
    return wrap(backend.current().random_normal(tuple(shape), mean, stddev, dtype, seed), None, 0)


def uniform(shape: Sequence[int], minval: float = 0.0, maxval: float = 1.0, dtype: Any = FLOATX,
            seed: int | None = None) -> Tensor:
    """Samples from a uniform distribution on ``[minval, maxval)``."""
    return wrap(backend.current().random_uniform(tuple(shape), minval, maxval, dtype, seed), None, 0)
