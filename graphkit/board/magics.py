"""``%load_ext graphkit`` registers the ``%graphkit`` line magic: ``%graphkit board LOGDIR``
shows the board of LOGDIR in the cell's output (as :func:`graphkit.board.show`)."""
from __future__ import annotations

import shlex

from .notebook import BoardDisplay, show

USAGE = "usage: %graphkit board LOGDIR"

__all__ = ["graphkit_magic", "load_ipython_extension"]


def graphkit_magic(line: str) -> BoardDisplay:
    """The ``%graphkit`` line magic."""
    from IPython.core.error import UsageError
    words = shlex.split(line)
    if len(words) != 2 or words[0] != "board":
        raise UsageError(f"%graphkit: expected a subcommand ('board') and a log directory, got {line!r}; {USAGE}")
    try:
        return show(words[1])
    except FileNotFoundError as error:
        raise UsageError(str(error)) from None


def load_ipython_extension(ipython) -> None:
    """Register ``%graphkit`` with ``ipython`` (called by ``%load_ext graphkit``)."""
    ipython.register_magic_function(graphkit_magic, magic_kind="line", magic_name="graphkit")
