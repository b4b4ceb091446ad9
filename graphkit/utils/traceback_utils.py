"""Tracebacks that end in the user's code, as Keras's ``traceback_utils``.

An error raised from a layer call, a model's construction or ``fit``/``evaluate``/``predict``
is re-raised with graphkit's own frames dropped from its traceback: what is left is the user's
line (and any user code graphkit called, such as a subclassed layer's ``call``), the entry
point that re-raised it, and the message. ``gk.config.disable_traceback_filtering()`` keeps the
whole traceback. The success path costs nothing: the entry points run inside a ``try``.
"""
from __future__ import annotations

import functools
import os
import sys
import traceback
import types
from typing import Any, Callable, TypeVar

__all__ = ["disable_traceback_filtering", "enable_traceback_filtering", "filter_traceback", "filtered",
           "is_traceback_filtering_enabled", "user_stacklevel"]

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_filtering = True

F = TypeVar("F", bound=Callable[..., Any])


def enable_traceback_filtering() -> None:
    """Drop graphkit's internal frames from the tracebacks of its public entry points (the default)."""
    global _filtering
    _filtering = True


def disable_traceback_filtering() -> None:
    """Show the whole traceback, graphkit's frames included (to debug graphkit itself)."""
    global _filtering
    _filtering = False


def is_traceback_filtering_enabled() -> bool:
    """Whether graphkit's internal frames are dropped from tracebacks."""
    return _filtering


def filtered(error: BaseException) -> BaseException:
    """``error`` with the frames inside the graphkit package dropped from its traceback
    (unchanged while filtering is disabled). Re-raise it from an ``except`` block."""
    if _filtering:
        kept = None
        for frame, line in reversed(list(traceback.walk_tb(error.__traceback__))):
            if not frame.f_code.co_filename.startswith(_PACKAGE_DIR):
                kept = types.TracebackType(kept, frame, frame.f_lasti, line)
        error.with_traceback(kept)
    return error


def user_stacklevel() -> int:
    """The ``stacklevel`` with which a ``warnings.warn`` in the calling function names the innermost
    caller outside graphkit, however deep the call and whatever wraps it (Python 3.12's
    ``skip_file_prefixes``)."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level


def filter_traceback(fn: F) -> F:
    """Decorates a public entry point: its errors are re-raised through :func:`filtered`."""

    @functools.wraps(fn)
    def error_handler(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as error:
            raise filtered(error)  # the whole traceback: gk.config.disable_traceback_filtering()

    return error_handler  # type: ignore[return-value]

