"""``gk.Module``: the ``tf.Module`` model of automatic variable and submodule tracking."""
from __future__ import annotations

import functools
import re
from typing import Any, Callable, Iterator

from .engine import naming
from .engine.hooks import HOOKS, PENDING
from .engine.variable import Variable

_VALID_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


class Module:
    """Base class for objects that own variables and other modules.

    Any attribute that is a :class:`Variable` or a :class:`Module` — directly or inside lists,
    tuples and dicts — is found automatically. As in ``tf.Module``, attributes are walked in
    sorted name order (dict entries in sorted key order), a module's own variables come before
    those of its submodules, and each object is listed once. Variables may be created lazily
    (on first call, from the input's shape); they are found as soon as they are assigned.
    """

    # Attributes never searched for variables (bookkeeping that may point back at parents).
    _TRACKING_IGNORED: frozenset = frozenset({"_name_scope", "_parent_models"})

    def __init__(self, name: str | None = None) -> None:
        if name is None:
            name = naming.camel_to_snake(type(self).__name__)
        elif not isinstance(name, str) or not _VALID_NAME.match(name):
            raise ValueError(f"{name!r} is not a valid module name: use letters, digits, '_', '.', '-' "
                             f"and start with a letter or '_'.")
        self._name = name
        self._name_scope = naming.name_scope(name)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        # Values waiting for variables (engine.hooks): a variable created later gets its saved value.
        if PENDING in self.__dict__:
            HOOKS.variables_added(self)

    @property
    def name(self) -> str:
        return self._name

    @property
    def name_scope(self) -> naming.name_scope:
        """A context manager: variables created inside it are named ``<module name>/...``."""
        return self._name_scope

    # ---------------------------------------------------------------- tracking
    def _tracked_attributes(self) -> Iterator[tuple[str, Any]]:
        """(attribute name, value) pairs searched for variables and modules, in walk order."""
        state = vars(self)
        for key in sorted(state):
            if key not in self._TRACKING_IGNORED:
                yield key, state[key]

    def _flatten(self, want: Callable[[Any], bool], recursive: bool = True) -> list:
        found: list = []
        seen: set[int] = {id(self)}
        pending = [self]
        while pending:
            module = pending.pop(0)
            children = []
            for _, value in module._tracked_attributes():
                for leaf in _leaves(value):
                    if not isinstance(leaf, (Module, Variable)) or id(leaf) in seen:
                        continue
                    seen.add(id(leaf))
                    if want(leaf):
                        found.append(leaf)
                    if isinstance(leaf, Module):
                        children.append(leaf)
            if recursive:
                pending[:0] = children
        return found

    @property
    def variables(self) -> tuple[Variable, ...]:
        """All variables of this module and its submodules."""
        return tuple(self._flatten(lambda v: isinstance(v, Variable)))

    @property
    def trainable_variables(self) -> tuple[Variable, ...]:
        """Variables with ``trainable=True``."""
        return tuple(v for v in self.variables if v.trainable)

    @property
    def non_trainable_variables(self) -> tuple[Variable, ...]:
        """Variables with ``trainable=False``."""
        return tuple(v for v in self.variables if not v.trainable)

    @property
    def submodules(self) -> tuple["Module", ...]:
        """Every module reachable from this one (not including itself)."""
        return tuple(self._flatten(lambda m: isinstance(m, Module)))

    @classmethod
    def with_name_scope(cls, method: Callable) -> Callable:
        """Decorator running ``method`` inside the module's name scope."""
        @functools.wraps(method)
        def scoped(self, *args, **kwargs):
            with self.name_scope:
                return method(self, *args, **kwargs)
        return scoped

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.{type(self).__name__} name={self.name!r}>"


def _leaves(value: Any) -> Iterator[Any]:
    """Variables, modules and other leaves inside (possibly nested) lists, tuples and dicts."""
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, dict):
        for key in sorted(value, key=str):
            yield from _leaves(value[key])
    else:
        yield value
