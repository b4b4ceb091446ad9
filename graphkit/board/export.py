"""``graphkit board --export out.html``: one self-contained offline file, the front-end bundle
inlined in a ``<script type="module">`` and the embedded payload inlined as JSON (no CDN, no
network)."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from ..saving.atomic import atomic_write
from .logdir import LogDir
from .page import BUNDLE, page_html
from .payload import build_payload

__all__ = ["export_html", "board_document", "script_safe"]

PAYLOAD_ID = "graphkit-board-payload"
# The bundle's closing export statement (esbuild: `export{a as mountBoard,...};`).
_EXPORTS = re.compile(r"export\s*\{([^{}]*)\}\s*;?")
# What would end or re-enter an inline <script> element early (HTML's script data states).
_SCRIPT_UNSAFE = re.compile(r"<(?=/?script|!--)", re.IGNORECASE)


def script_safe(source: str) -> str:
    r"""``source`` with every ``<`` that starts ``<script``, ``</script`` or ``<!--`` written as
    ``\x3C``: the same JavaScript inside strings, templates, regular expressions and comments
    (the only places it can occur), and never the end of the enclosing ``<script>``."""
    return _SCRIPT_UNSAFE.sub(r"\\x3C", source)


def _bundle_as_script(source: str) -> str:
    """The ES module ``source`` with its final ``export {...}`` turned into a local object
    ``graphkitBoard`` holding the exports, so an inline module script can call them."""
    found = list(_EXPORTS.finditer(source))
    if not found:
        raise ValueError(f"{BUNDLE}: no export statement found; is it the board's ES module bundle?")
    last = found[-1]
    entries = []
    for item in filter(None, (part.strip() for part in last.group(1).split(","))):
        local, _, exported = (piece.strip() for piece in item.partition(" as "))
        entries.append(f"{json.dumps(exported or local)}: {local}")
    return f"{source[:last.start()]}const graphkitBoard = {{{', '.join(entries)}}};{source[last.end():]}"


def board_document(payload: dict, bundle_source: str) -> str:
    """The exported page: ``payload`` and the bundle inline, mounted when the page loads."""
    data = json.dumps(payload, separators=(",", ":")).replace("<", "\\u003c")
    module = (f"{_bundle_as_script(bundle_source)}\n"
              f"graphkitBoard.mountBoard(document.getElementById(\"graphkit-board\"), "
              f"{{ payload: JSON.parse(document.getElementById({json.dumps(PAYLOAD_ID)}).textContent) }});\n")
    return page_html(payload["title"], f"<script type=\"application/json\" id=\"{PAYLOAD_ID}\">{data}</script>\n"
                                       f"<script type=\"module\">\n{script_safe(module)}</script>")


def export_html(logdir: str | os.PathLike | LogDir, path: str | os.PathLike) -> Path:
    """Write the board of ``logdir`` (read now) to ``path`` as one offline HTML file (atomically)."""
    try:
        bundle_source = BUNDLE.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"graphkit board --export: the front-end bundle {BUNDLE} is missing; build it with "
                                "`npm ci && npm run build` in labextension/ (installing graphkit with pip does this)."
                                ) from None
    if not isinstance(logdir, LogDir):
        logdir = LogDir(logdir)
    logdir.refresh()
    document = board_document(build_payload(logdir, embedded=True), bundle_source).encode("utf-8")
    return Path(atomic_write(path, lambda file: file.write(document)))
