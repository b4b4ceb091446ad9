"""The default summary writer and the default step, per thread (as ``tf.summary`` keeps them)."""
from __future__ import annotations

import threading
from typing import Any


class _Context(threading.local):
    writer: Any = None       # the SummaryWriter that gk.summary.scalar & co. write to
    step: Any = None         # an int, or anything holding one (a Variable, a 0-d array)


CONTEXT = _Context()


def set_step(step: Any) -> None:
    """Set the step that summary functions use when they are given none (``None`` unsets it).
    A variable (e.g. an optimizer's iteration count) is read at each write."""
    CONTEXT.step = step


def get_step() -> Any:
    """The default step set by :func:`set_step` or ``writer.as_default(step=...)``, or None."""
    return CONTEXT.step
