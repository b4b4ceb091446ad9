"""Backend selection: ``gk.backend.set_backend("numpy"|"cupy")``, ``use(...)``, ``current()``."""
from __future__ import annotations

import contextlib
from typing import Iterator

from .cupy_ops import CupyOps, cuda_unavailable_reason
from .numpy_ops import NumpyOps
from .ops import FLOATX, Ops

__all__ = ["Ops", "NumpyOps", "CupyOps", "current", "set_backend", "use", "available",
           "cuda_unavailable_reason", "FLOATX"]

_FACTORIES = {"numpy": NumpyOps, "cupy": CupyOps}
_instances: dict[str, Ops] = {}
_default_seed: int | None = None


class _Active:
    """Holds the active backend; read on every primitive call, so kept to one attribute."""

    __slots__ = ("ops",)

    def __init__(self) -> None:
        self.ops: Ops = NumpyOps()


state = _Active()
_instances["numpy"] = state.ops


def available() -> list[str]:
    """Names of the backends that can start on this machine."""
    return [name for name in _FACTORIES if name != "cupy" or cuda_unavailable_reason() is None]


def _resolve(backend: str | Ops) -> Ops:
    if isinstance(backend, Ops):
        return backend
    if backend not in _FACTORIES:
        raise ValueError(f"Unknown backend {backend!r}; valid backends: {sorted(_FACTORIES)}.")
    if backend not in _instances:
        ops = _FACTORIES[backend]()
        ops.seed(_default_seed)
        _instances[backend] = ops
    return _instances[backend]


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
    global _default_seed
    _default_seed = seed
    for ops in _instances.values():
        ops.seed(seed)
    if all(ops is not state.ops for ops in _instances.values()):
        state.ops.seed(seed)
