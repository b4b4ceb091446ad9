"""Running graphviz's ``dot`` program: lookup, rendering to bytes, atomic file writes.

Pure Python around a subprocess; no pydot or graphviz Python package. When ``dot`` is missing,
:class:`GraphvizNotFoundError` carries one sentence saying how to install it.
"""
from __future__ import annotations

import base64
import html
import os
import re
import shutil
import subprocess

from ..saving.atomic import atomic_write_bytes

__all__ = ["GraphvizNotFoundError", "GraphvizError", "find_dot", "have_dot", "render", "write_rendered",
           "sized_svg", "svg_html", "picture_html", "NO_PICTURE_HINT", "NO_PICTURE_HTML", "RENDERED_FORMATS",
           "DOT_FORMATS"]

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
_SIZE_IN_PT = re.compile(r'\s(width|height)="([\d.]+)pt"')
_SIZE_IN_PX = re.compile(r'\s(width|height)="([\d.]+)(?:px)?"')
_VIEW_BOX = re.compile(r'\sviewBox="([^"]*)"')
_GRAPH_SCALE = re.compile(r'<g\b[^>]*\bclass="graph"[^>]*\btransform="[^"]*scale\(\s*([\d.]+)')
_SIZE_ATTRIBUTES = re.compile(r'\s(?:width|height|viewBox)="[^"]*"')


def sized_svg(svg: str) -> str:
    """graphviz's SVG with ``viewBox`` = the drawing's real extent and ``width``/``height`` =
    that extent in px (graphviz's units at the graph's ``dpi``: 1 pt = dpi/72 px).

    graphviz draws from the origin scaled by dpi/72 (``scale(1.33)`` at dpi 96) and writes that
    canvas size as ``width``/``height`` in pt. Some versions (2.43) leave the viewBox unscaled,
    which clips the right and bottom: there the extent is the viewBox times the scale as printed
    in the transform (what the browser draws with); elsewhere the viewBox is right as it is. And
    the pt unit showed the picture a third larger than its pixels. An SVG whose size is not in pt
    is returned as it is."""
    tag = _SVG_TAG.search(svg)
    size = dict((m.group(1), float(m.group(2))) for m in _SIZE_IN_PT.finditer(tag.group(0))) if tag else {}
    view_box = _VIEW_BOX.search(tag.group(0)) if tag else None
    if len(size) != 2 or view_box is None:
        return svg
    left, top, width, height = (float(v) for v in view_box.group(1).split())
    scale = _GRAPH_SCALE.search(svg, tag.end())
    factor = float(scale.group(1)) if scale else 1.0
    if factor != 1 and abs(width * factor - size["width"]) <= 0.01 * size["width"]:  # an unscaled viewBox
        left, top, width, height = left * factor, top * factor, width * factor, height * factor
    sized = (_SIZE_ATTRIBUTES.sub("", tag.group(0))[:-1].rstrip() +
             f' width="{width:.2f}px" height="{height:.2f}px" viewBox="{left:.2f} {top:.2f} {width:.2f} {height:.2f}">')
    return svg[:tag.start()] + sized + svg[tag.end():]


NO_PICTURE_HINT = (
    "To see the graph here, install graphviz's `dot` program in the kernel's environment "
    "(`apt-get install graphviz`, `brew install graphviz` or `conda install graphviz`) "
    "or graphkit in the Jupyter server's environment (its JupyterLab extension draws graphs without `dot`).")
NO_PICTURE_HTML = '<p class="graphkit-hint">{}</p>'.format(
    re.sub(r"`([^`]*)`", r"<code>\1</code>", html.escape(NO_PICTURE_HINT)))
"""The hint as HTML (its `...` spans as code), put where a picture would be."""


def svg_html(svg: str, alt: str) -> str:
    """``svg`` (sized by :func:`sized_svg`) as HTML for notebook outputs and their HTML exports:
    an ``<img>`` of it as a base64 data URI at its natural size, scaled down (never cropped) to
    the width available, ``alt`` saying what it shows. An image, not inline ``<svg>``: JupyterLab's
    sanitizer strips inline SVG from untrusted notebooks' HTML (one shared as a file) but keeps it."""
    tag = _SVG_TAG.search(svg)
    sizes = _SIZE_IN_PX.finditer(tag.group(0)) if tag else ()
    size = "".join(f' {m.group(1)}="{round(float(m.group(2)))}"' for m in sizes)
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return ('<div class="graphkit-graph" style="overflow:auto">'
            f'<img src="data:image/svg+xml;base64,{data}"{size} style="max-width:100%;height:auto" '
            f'alt="{html.escape(alt)}"></div>')


def picture_html(source: str, alt: str) -> str:
    """DOT ``source`` as notebook HTML: :func:`svg_html` of the SVG of graphviz's ``dot``, or
    :data:`NO_PICTURE_HTML` where ``dot`` is missing; raises GraphvizError when ``dot`` fails."""
    try:
        svg = render(source, "svg").decode("utf-8")
    except GraphvizNotFoundError:
        return NO_PICTURE_HTML
    return svg_html(svg, alt)


def write_rendered(source: str, path: str) -> str:
    """Write ``source`` to ``path`` in the format its extension names (.svg/.png/.pdf via ``dot``,
    .dot/.gv as text). Returns the path. Nothing is written when rendering fails."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext in DOT_FORMATS:
        atomic_write_bytes(path, source.encode("utf-8"))
        return path
    if ext not in RENDERED_FORMATS:
        raise ValueError(f"plot_model cannot write {path!r}: unknown file extension "
                         f"{'.' + ext if ext else '(none)'}; use .svg, .png, .pdf or .dot.")
    data = render(source, ext, target=path)
    atomic_write_bytes(path, data)
    return path
