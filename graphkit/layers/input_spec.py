"""InputSpec: what a layer accepts, checked on every call with an error naming the layer."""
from __future__ import annotations

from typing import Any


class InputSpec:
    """Rank, shape and last-axes constraints on one input of a layer (Keras's ``InputSpec``)."""

    def __init__(self, dtype: Any = None, shape: tuple | None = None, ndim: int | None = None,
                 max_ndim: int | None = None, min_ndim: int | None = None, axes: dict | None = None,
                 allow_last_axis_squeeze: bool = False, name: str | None = None) -> None:
        self.dtype = dtype
        self.shape = None if shape is None else tuple(shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        self.axes = {int(k): v for k, v in (axes or {}).items()}
        self.name = name

    def check(self, layer, shape: tuple, which: str = "") -> None:
        """Raise ValueError naming ``layer`` when ``shape`` breaks this spec."""
        rank = len(shape)
        if self.ndim is not None and rank != self.ndim:
            self._fail(layer, which, f"expected an input of rank {self.ndim}, got rank {rank} with shape {shape}")
        if self.min_ndim is not None and rank < self.min_ndim:
            self._fail(layer, which, f"expected an input of rank >= {self.min_ndim}, got rank {rank} "
                                     f"with shape {shape}")
        if self.max_ndim is not None and rank > self.max_ndim:
            self._fail(layer, which, f"expected an input of rank <= {self.max_ndim}, got rank {rank} "
                                     f"with shape {shape}")
        for axis, size in self.axes.items():
            got = shape[axis] if -rank <= axis < rank else None
            if size is not None and got is not None and got != size:
                axis_name = "last dim" if axis == -1 else f"dim {axis}"
                self._fail(layer, which, f"expected {axis_name} {size}, got {got} (input shape {shape})")
        if self.shape is not None:
            for expected, got in zip(self.shape, shape):
                if expected is not None and got is not None and expected != got:
                    self._fail(layer, which, f"expected input shape {self.shape}, got {shape}")

    @staticmethod
    def _fail(layer, which: str, message: str) -> None:
        label = f" (input {which})" if which else ""
        raise ValueError(f"{type(layer).__name__} '{layer.name}' {message}{label}.")

    def get_config(self) -> dict:
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim, "max_ndim": self.max_ndim,
                "min_ndim": self.min_ndim, "axes": self.axes}
