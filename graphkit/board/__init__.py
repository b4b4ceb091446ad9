"""``gk.board``: the TensorBoard-like viewer of a log directory (SPEC §5.2, docs/board.md).

- ``gk.board.show(logdir)``: inline in a notebook (also ``%load_ext graphkit`` then
  ``%graphkit board logs/``);
- ``graphkit board --logdir logs`` (:func:`serve`): served on 127.0.0.1 with live refresh;
- ``graphkit board --logdir logs --export board.html`` (:func:`export_html`): one offline file.
"""
from .export import export_html
from .logdir import LogDir
from .notebook import BOARD_MIME, BoardDisplay, show
from .payload import build_payload
from .server import BoardServer, serve

__all__ = ["BOARD_MIME", "BoardDisplay", "BoardServer", "LogDir", "build_payload", "export_html", "serve", "show"]
