"""Name scopes (``gk.name_scope``) and unique default names."""
from __future__ import annotations

import re

_scope_stack: list[str] = []


def camel_to_snake(name: str) -> str:
    """``MyDenseLayer`` -> ``my_dense_layer``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def current_scope() -> str:
    """The active name scope prefix, e.g. ``"encoder/dense"`` (empty outside any scope)."""
    return "/".join(_scope_stack)


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
        _scope_stack.append(self.name)
        return current_scope() + "/"

    def __exit__(self, *exc) -> None:
        _scope_stack.pop()

    def __repr__(self) -> str:
        return f"name_scope({self.name!r})"


