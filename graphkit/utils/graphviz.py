"""Running graphviz's ``dot`` program: lookup, rendering to bytes, atomic file writes.

Pure Python around a subprocess; no pydot or graphviz Python package. When ``dot`` is missing,
:class:`GraphvizNotFoundError` carries one sentence saying how to install it.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess

from ..saving.archive import atomic_write

__all__ = ["GraphvizNotFoundError", "GraphvizError", "find_dot", "have_dot", "render", "write_rendered",
           "sized_svg", "svg_html", "NO_PICTURE_HINT", "RENDERED_FORMATS", "DOT_FORMATS"]

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
    """``source`` (DOT text) rendered by ``dot -T<fmt>`` (an SVG sized by :func:`sized_svg`);
    raises GraphvizNotFoundError/GraphvizError."""
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
    return sized_svg(done.stdout.decode("utf-8")).encode("utf-8") if fmt == "svg" else done.stdout


_SVG_TAG = re.compile(r"<svg\b[^>]*>")
_GRAPH_TRANSFORM = re.compile(r'<g\b[^>]*\bclass="graph"[^>]*\btransform="([^"]*)"')
# the page background: the graph's first element after its title (absent with bgcolor=transparent)
_PAGE_POLYGON = re.compile(r'[^>]*>\s*<title>[^<]*</title>\s*<polygon\b[^>]*\bpoints="([^"]*)"')
_NUMBER = r"(-?[\d.]+(?:e-?\d+)?)"
_SCALE = re.compile(rf"scale\(\s*{_NUMBER}(?:[\s,]+{_NUMBER})?\s*\)")
_TRANSLATE = re.compile(rf"translate\(\s*{_NUMBER}(?:[\s,]+{_NUMBER})?\s*\)")
_ROTATE = re.compile(rf"rotate\(\s*{_NUMBER}")
_SIZE_ATTRIBUTES = re.compile(r'\s(?:width|height|viewBox)="[^"]*"')


def sized_svg(svg: str) -> str:
    """graphviz's SVG with ``viewBox`` set to the drawing's real extent and ``width``/``height``
    to that extent in px (graphviz's units at the graph's ``dpi``: 1 pt = dpi/72 px).

    graphviz scales the drawing by dpi/72 (``scale(1.33)`` at dpi 96) but some versions (2.43)
    leave the viewBox unscaled and every version writes the size in pt, so the picture came out
    clipped at the right and bottom, or a third too large. The extent is the page's background
    polygon (drawn first in every graphviz SVG) mapped through the graph's transform. An SVG
    without those pieces (or rotated by ``landscape``) is returned as it is."""
    tag = _SVG_TAG.search(svg)
    transform = _GRAPH_TRANSFORM.search(svg, tag.end()) if tag else None
    page = _PAGE_POLYGON.match(svg, transform.end()) if transform else None
    if page is None or float((_ROTATE.search(transform.group(1)) or [0, 0])[1]):
        return svg
    scale = _SCALE.search(transform.group(1))
    translate = _TRANSLATE.search(transform.group(1))
    sx = float(scale.group(1)) if scale else 1.0
    sy = float(scale.group(2) or scale.group(1)) if scale else 1.0
    tx = float(translate.group(1)) if translate else 0.0
    ty = float(translate.group(2) or 0) if translate else 0.0
    points = [tuple(map(float, pair.split(","))) for pair in page.group(1).split()]
    xs = [sx * (x + tx) for x, _ in points]
    ys = [sy * (y + ty) for _, y in points]
    left, top, width, height = min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)
    sized = (_SIZE_ATTRIBUTES.sub("", tag.group(0))[:-1].rstrip() +
             f' width="{width:.2f}px" height="{height:.2f}px" viewBox="{left:.2f} {top:.2f} {width:.2f} {height:.2f}">')
    return svg[:tag.start()] + sized + svg[tag.end():]


NO_PICTURE_HINT = (
    "To see the graph here, install graphviz's `dot` program in the kernel's environment "
    "(`apt-get install graphviz`, `brew install graphviz` or `conda install graphviz`) "
    "or graphkit in the Jupyter server's environment (its JupyterLab extension draws graphs without `dot`).")


def svg_html(svg: str) -> str:
    """``svg`` (sized by :func:`sized_svg`) as HTML for notebook outputs and their HTML exports:
    no XML prolog, natural size, scaled down (never cropped) to the width available."""
    start = svg.index("<svg")
    return ('<div class="graphkit-graph" style="overflow:auto">'
            f'<svg style="max-width:100%;height:auto"{svg[start + len("<svg"):]}</div>')


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
