"""The live widget's front-end files (``graphkit/static/``, built from ``labextension/`` by esbuild).

Missing files never stop the Python side: the widget then shows one sentence saying how to
build them, in the DOM contract's error state (``div.gk-graph-view[data-state=error]``).
"""
from __future__ import annotations

import json
from pathlib import Path

__all__ = ["LOADER", "CORE", "BOARD", "missing_message", "loader_source", "core_message"]

STATIC = Path(__file__).resolve().parent.parent / "static"
LOADER = STATIC / "graphkit-loader.js"
CORE = STATIC / "graphkit-widget.js"
BOARD = STATIC / "graphkit-board.js"


def missing_message(path: Path) -> str:
    """One sentence saying that ``path`` is not built and how to build it."""
    return (f"graphkit's front-end file {path.name} is missing ({path}): build it with "
            "`npm ci && npm run build` in labextension/ (installing graphkit with pip does this), "
            "then display the view again.")


def _error_module(message: str) -> str:
    """An anywidget ES module that only shows ``message`` as the view's error."""
    return ("export default { render({ el }) {\n"
            "  const view = document.createElement('div');\n"
            "  view.className = 'gk-graph-view'; view.dataset.state = 'error';\n"
            "  const text = document.createElement('div');\n"
            f"  text.className = 'gk-message'; text.textContent = {json.dumps(message)};\n"
            "  view.appendChild(text); el.replaceChildren(view);\n"
            "} };\n")


def loader_source() -> str:
    """The widget's ``_esm``: the loader module, or a module showing why it is missing."""
    try:
        return LOADER.read_text(encoding="utf-8")
    except FileNotFoundError:
        return _error_module(missing_message(LOADER))


def core_message() -> dict:
    """The answer to ``hello`` with ``need_core``: the core bundle's text, or (not built) a null
    source and the error to show."""
    try:
        return {"type": "core", "source": CORE.read_text(encoding="utf-8")}
    except FileNotFoundError:
        return {"type": "core", "source": None, "error": missing_message(CORE)}
