"""Running graphviz's ``dot`` program: lookup, rendering to bytes, atomic file writes.

Pure Python around a subprocess; no pydot or graphviz Python package. When ``dot`` is missing,
:class:`GraphvizNotFoundError` carries one sentence saying how to install it.
"""
from __future__ import annotations

import os
import shutil
import subprocess

from ..saving.archive import atomic_write

__all__ = ["GraphvizNotFoundError", "GraphvizError", "find_dot", "have_dot", "render", "write_rendered",
           "RENDERED_FORMATS", "DOT_FORMATS"]

RENDERED_FORMATS = ("svg", "png", "pdf")
DOT_FORMATS = ("dot", "gv")


class GraphvizNotFoundError(RuntimeError):
    """graphviz's ``dot`` program is not on PATH."""


class GraphvizError(RuntimeError):
    """``dot`` ran and failed."""


def find_dot() -> str | None:
    """The path of graphviz's ``dot`` program, or None (``GRAPHKIT_DOT`` overrides the lookup)."""
    override = os.environ.get("GRAPHKIT_DOT")
    if override:
        return shutil.which(override)
    return shutil.which("dot")


def have_dot() -> bool:
    return find_dot() is not None


def missing_dot_message(target: str | None = None) -> str:
    what = f"to write {target!r}" if target else "to render the graph"
    return (f"plot_model needs graphviz's `dot` program {what}; install it with `apt-get install graphviz` "
            "(Debian/Ubuntu), `brew install graphviz` (macOS) or `conda install graphviz`, or save to a .dot file.")


def render(source: str, fmt: str = "svg", target: str | None = None) -> bytes:
    """``source`` (DOT text) rendered by ``dot -T<fmt>``; raises GraphvizNotFoundError/GraphvizError."""
    dot = find_dot()
    if dot is None:
        raise GraphvizNotFoundError(missing_dot_message(target))
    try:
        done = subprocess.run([dot, f"-T{fmt}"], input=source.encode("utf-8"), capture_output=True, check=False)
    except OSError as error:  # found but not runnable
        raise GraphvizError(f"could not run graphviz's `dot` ({dot}): {error}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GraphvizError(f"graphviz's `dot -T{fmt}` failed{' for ' + repr(target) if target else ''}: "
                            f"{message[-1] if message else 'exit status ' + str(done.returncode)}")
    return done.stdout


def write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (the saving module's temp-file-and-rename writer)."""
    atomic_write(path, lambda handle: handle.write(data))


def write_rendered(source: str, path: str) -> str:
    """Write ``source`` to ``path`` in the format its extension names (.svg/.png/.pdf via ``dot``,
    .dot/.gv as text). Returns the path. Nothing is written when rendering fails."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext in DOT_FORMATS:
        write_atomic(path, source.encode("utf-8"))
        return path
    if ext not in RENDERED_FORMATS:
        raise ValueError(f"plot_model cannot write {path!r}: unknown file extension "
                         f"{'.' + ext if ext else '(none)'}; use .svg, .png, .pdf or .dot.")
    data = render(source, ext, target=path)
    write_atomic(path, data)
    return path
