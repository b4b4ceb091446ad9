"""Display hooks: how a model's notebook display gains pictures without ``models/`` importing them.

``Model._repr_mimebundle_`` builds the summary (HTML and text) and hands the MIME bundle to
:func:`extend_display`; :mod:`graphkit.viz` registers, on import, the hook that adds the graph
JSON and the rendered picture. Imports nothing from graphkit.
"""
from __future__ import annotations

from typing import Any, Callable

__all__ = ["DisplayHook", "display_hooks", "register_display_hook", "extend_display"]

DisplayHook = Callable[[Any, dict], None]
"""``hook(model, bundle)``: adds entries to (or extends) the MIME bundle of a built model."""

display_hooks: list[DisplayHook] = []


def register_display_hook(hook: DisplayHook) -> DisplayHook:
    """Add ``hook`` to the hooks run for every built model's display (once, however often called)."""
    if hook not in display_hooks:
        display_hooks.append(hook)
    return hook


def extend_display(model: Any, bundle: dict) -> dict:
    """``bundle`` after every registered hook has added to it."""
    for hook in display_hooks:
        hook(model, bundle)
    return bundle
