"""``gk.Variable``: a named, mutable tensor that tapes watch automatically when trainable."""
from __future__ import annotations

from typing import Any

from . import naming
from .tensor import Tensor, to_array


class Variable(Tensor):
    """A mutable tensor holding model state (weights, counters, moving statistics).

    ``initial_value`` may be a value or a zero-argument callable. The variable's ``name`` is
    prefixed by the active :class:`graphkit.name_scope`. Trainable variables are watched by
    every :class:`GradientTape` automatically.
    """

    __slots__ = ("name", "_trainable")

    def __init__(self, initial_value: Any, trainable: bool = True, name: str | None = None,
                 dtype: Any = None) -> None:
        if callable(initial_value):
            initial_value = initial_value()
        data = to_array(initial_value, dtype)
        if isinstance(initial_value, Tensor) or data is initial_value:
            data = data.copy()
        self.data = data
        self._node = None
        self._index = 0
        self._trainable = bool(trainable)
        self._tracked = self._trainable
        self._keras_mask = None
        self.name = naming.scoped(name or "Variable")

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        self._tracked = self._trainable

    @property
    def path(self) -> str:
        return self.name

    def _checked(self, value: Any, method: str):
        array = to_array(value, self.data.dtype)
        if array.shape != self.data.shape and array.ndim != 0:
            raise ValueError(f"Variable '{self.name}'.{method}: cannot use a value of shape "
                             f"{array.shape} with a variable of shape {self.data.shape}.")
        return array

    def assign(self, value: Any) -> "Variable":
        """Replace the value (same shape, or a scalar; cast to the variable's dtype)."""
        array = self._checked(value, "assign")
        fresh = self.data.copy()
        fresh[...] = array
        self.data = fresh
        return self

    def assign_add(self, delta: Any) -> "Variable":
        self.data = self.data + self._checked(delta, "assign_add")
        return self

    def assign_sub(self, delta: Any) -> "Variable":
        self.data = self.data - self._checked(delta, "assign_sub")
        return self

    def value(self) -> Tensor:
        """A tensor snapshot of the current value."""
        t = Tensor.__new__(Tensor)
        t.data, t._node, t._index, t._tracked, t._keras_mask = self.data, None, 0, False, None
        return t

    read_value = value

    def __repr__(self) -> str:
        return f"<gk.Variable '{self.name}' shape={self.shape} dtype={self.dtype}, numpy=\n{self.numpy()!r}>"
