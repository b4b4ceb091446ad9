"""Name scopes (``gk.name_scope``); the stack of open scopes is per thread
(``global_state.THREAD.scope_stack``)."""
from __future__ import annotations

import re

from ..global_state import THREAD


def camel_to_snake(name: str) -> str:
    """``MyDenseLayer`` -> ``my_dense_layer``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def current_scope() -> str:
    """The active name scope prefix, e.g. ``"encoder/dense"`` (empty outside any scope)."""
    return "/".join(THREAD.scope_stack)


def scoped(name: str) -> str:
    prefix = current_scope()
    return f"{prefix}/{name}" if prefix else name


class name_scope:
    """Context manager prefixing the names of variables created inside it with ``name/``."""

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"name_scope needs a non-empty string, got {name!r}.")
        self.name = name

    def __enter__(self) -> str:
        THREAD.scope_stack.append(self.name)
        return current_scope() + "/"

    def __exit__(self, *exc) -> None:
        THREAD.scope_stack.pop()

    def __repr__(self) -> str:
        return f"name_scope({self.name!r})"


