"""A hook for objects that gain variables after they were made, installed from above.

Checkpoint restoration (:mod:`graphkit.train.deferred`) may hold values for variables that do
not exist yet: it keeps them in the object that will create them, under
``obj.__dict__[PENDING]``, and installs :attr:`HOOKS.variables_added <_Hooks.variables_added>`
when it is imported. Modules and layers call that hook where variables may appear (a layer's
``add_weight`` and first build, a plain module's attribute assignment), but only for an object
that carries ``PENDING``: an object nothing waits on pays one ``__dict__`` lookup, and this
package imports nothing from the layer that restores.
"""
from __future__ import annotations

from typing import Any, Callable

PENDING = "_pending_restore"   # the instance attribute marking an object that values wait in


class _Hooks:
    __slots__ = ("variables_added",)

    def __init__(self) -> None:
        # variables_added(obj): obj (carrying PENDING) may have new variables or submodules now
        self.variables_added: Callable[[Any], None] | None = None


HOOKS = _Hooks()
