"""Deferred restoration: values restored into objects whose variables do not exist yet.

Restoring a checkpoint into an unbuilt layer (or a module that creates its variables on first
call, or an optimizer whose slots are built on the first step) cannot assign those values yet.
They wait in the deepest existing object on their key's path, in ``obj.__dict__[PENDING]``
(``"_pending_restore"``: relative key -> :class:`PendingValue`), and are assigned as soon as the
variable appears. Importing this module installs :func:`resolve_pending` as
``engine.hooks.HOOKS.variables_added``, which layers and modules call on an object holding
pending values (they never import this module):

- ``Layer.add_weight`` and ``Layer._build_once`` call it on the layer;
- ``Module.__setattr__`` does for plain modules (Layers keep the plain, fast ``__setattr__``);
- an optimizer with pending slot values gets its ``build`` wrapped (on the instance only).

A pending value whose shape does not match the created variable raises a ValueError naming the
key and both shapes (and assigns nothing).
"""
from __future__ import annotations

from typing import Any

import numpy

from ..engine.hooks import HOOKS, PENDING
from ..engine.variable import Variable
from .object_graph import ObjectGraph, is_optimizer


class PendingValue:
    """One saved value waiting for its variable."""

    __slots__ = ("key", "array", "source", "done")

    def __init__(self, key: str, array: numpy.ndarray, source: str) -> None:
        self.key, self.array, self.source, self.done = key, array, source, False


def shape_error(source: str, problems: list[tuple[str, tuple, tuple]], what: str = "checkpoint") -> ValueError:
    lines = "\n".join(f"  '{key}': the file holds shape {file_shape}, the variable has shape {var_shape}"
                      for key, file_shape, var_shape in problems)
    count = len(problems)
    return ValueError(f"Cannot restore {what} '{source}': {count} variable{'s' if count > 1 else ''} "
                      f"{'have' if count > 1 else 'has'} a different shape than saved (nothing was changed):\n"
                      f"{lines}")


def defer(owner: Any, relative_key: str, record: PendingValue) -> None:
    """Keep ``record`` in ``owner`` until the variable at ``relative_key`` exists."""
    pending = owner.__dict__.get(PENDING)
    if pending is None:
        pending = owner.__dict__[PENDING] = {}
    pending[relative_key] = record
    if is_optimizer(owner) and "build" not in owner.__dict__:
        _wrap_optimizer_build(owner)


def has_pending(obj: Any) -> bool:
    return bool(getattr(obj, "__dict__", {}).get(PENDING))


def resolve_pending(owner: Any) -> None:
    """Assign the pending values of ``owner`` whose variables exist now; hand the others down to
    the deepest object that exists on their path."""
    pending = owner.__dict__.get(PENDING)
    if not pending:
        return
    graph = ObjectGraph({"": owner})
    assignments, moves, problems = [], [], []
    for relative, record in pending.items():
        target = graph.objects.get(relative)
        if isinstance(target, Variable):
            if tuple(target.shape) != tuple(record.array.shape):
                problems.append((record.key, tuple(record.array.shape), tuple(target.shape)))
            else:
                assignments.append((relative, target, record))
        elif target is None:
            found = graph.owner(relative)
            if found is not None and found[0] and found[1] is not owner:
                moves.append((relative, found, record))
    if problems:
        raise shape_error(next(iter(pending.values())).source, problems)
    for relative, variable, record in assignments:
        variable.assign(record.array)
        record.done = True
        record.array = None
        del pending[relative]
    receivers = []
    for relative, (prefix, obj), record in moves:
        del pending[relative]
        defer(obj, relative[len(prefix) + 1:], record)
        if all(obj is not r for r in receivers):
            receivers.append(obj)
    if not pending:
        del owner.__dict__[PENDING]
        if "build" in owner.__dict__ and getattr(owner.__dict__["build"], "_graphkit_restore_hook", False):
            del owner.__dict__["build"]
    for obj in receivers:
        resolve_pending(obj)


def _wrap_optimizer_build(optimizer: Any) -> None:
    original = type(optimizer).build

    def build(*args: Any, **kwargs: Any) -> Any:
        result = original(optimizer, *args, **kwargs)
        resolve_pending(optimizer)
        return result

    build._graphkit_restore_hook = True  # type: ignore[attr-defined]
    optimizer.__dict__["build"] = build


HOOKS.variables_added = resolve_pending
