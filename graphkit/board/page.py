"""The board's HTML page around the front-end bundle (``graphkit/static/graphkit-board.js``,
built from ``labextension/src/board/``), for the served board and the exported file."""
from __future__ import annotations

import html

from ..viz.assets import STATIC, missing_message

BUNDLE = STATIC / "graphkit-board.js"

__all__ = ["BUNDLE", "page_html", "missing_bundle_html"]

_STYLE = "html,body{margin:0;height:100%}#graphkit-board{min-height:100vh}"


def page_html(title: str, body: str) -> str:
    """A page titled ``title`` with the board's mount point followed by ``body`` (scripts)."""
    return ("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape(title)} · graphkit board</title>\n<link rel=\"icon\" href=\"data:,\">\n"
            f"<style>{_STYLE}</style>\n</head>\n"
            f"<body>\n<div id=\"graphkit-board\"></div>\n{body}\n</body>\n</html>\n")


def missing_bundle_html(title: str) -> str:
    """The page when the bundle is not built: one sentence saying how to build it, in the
    board's error state (``div.gk-board[data-state=error]``)."""
    sentence = html.escape(missing_message(BUNDLE).replace("display the view again", "reload this page"))
    return page_html(title, f"<div class=\"gk-board\" data-state=\"error\"><p class=\"gk-message\">{sentence}</p></div>")
