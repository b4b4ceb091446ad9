"""Backend selection: ``gk.backend.set_backend("numpy"|"cupy")``, ``use(...)``, ``current()``;
``to_backend(model, "cupy")`` moves a built model's state.

The active backend is process state: ``global_state.PROCESS.ops`` (read on every primitive call,
so one attribute); ``state`` below is the same object, for modules that read ``state.ops``.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

from ..global_state import PROCESS
from .cupy_ops import CupyOps, cuda_unavailable_reason
from .numpy_ops import NumpyOps
from .ops import FLOATX, Ops
from .placement import to_backend

__all__ = ["Ops", "NumpyOps", "CupyOps", "current", "set_backend", "use", "available", "to_backend",
           "cuda_unavailable_reason", "FLOATX"]

_FACTORIES = {"numpy": NumpyOps, "cupy": CupyOps}
state = PROCESS
state.ops = NumpyOps()
state.backends["numpy"] = state.ops


def available() -> list[str]:
    """Names of the backends that can start on this machine."""
    return [name for name in _FACTORIES if name != "cupy" or cuda_unavailable_reason() is None]


def _resolve(backend: str | Ops) -> Ops:
    if isinstance(backend, Ops):
        return backend
    if backend not in _FACTORIES:
        raise ValueError(f"Unknown backend {backend!r}; valid backends: {sorted(_FACTORIES)}.")
    if backend not in state.backends:
        ops = _FACTORIES[backend]()
        ops.seed(state.default_seed)
        state.backends[backend] = ops
    return state.backends[backend]


def current() -> Ops:
    """The backend that new primitives run on."""
    return state.ops


def set_backend(backend: str | Ops) -> Ops:
    """Make ``backend`` ("numpy", "cupy" or an :class:`Ops` instance) the active backend."""
    state.ops = _resolve(backend)
    return state.ops


@contextlib.contextmanager
def use(backend: str | Ops) -> Iterator[Ops]:
    """Run a block on ``backend``, restoring the previous one afterwards."""
    previous = state.ops
    state.ops = _resolve(backend)
    try:
        yield state.ops
    finally:
        state.ops = previous


def seed_all(seed: int | None) -> None:
    """Seed the random generators of every backend started so far (and of later ones)."""
    state.default_seed = seed
    for ops in state.backends.values():
        ops.seed(seed)
    if all(ops is not state.ops for ops in state.backends.values()):
        state.ops.seed(seed)
