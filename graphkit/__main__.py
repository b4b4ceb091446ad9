"""The ``graphkit`` command (also ``python -m graphkit``).

- ``graphkit board --logdir DIR [--port P] [--host H]``: serve the board of DIR (127.0.0.1:6006);
- ``graphkit board --logdir DIR --export out.html``: write it to one offline HTML file instead.

(The main job, ``make demo``, is ``python -m graphkit.demo``.)
"""
from __future__ import annotations

import argparse
import errno
import sys


def _board(args: argparse.Namespace) -> int:
    from .board import export_html, serve
    if args.export:
        path = export_html(args.logdir, args.export)
        print(f"graphkit board: wrote {path.resolve()}")
    else:
        serve(args.logdir, host=args.host, port=args.port)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    from .board.server import DEFAULT_HOST, DEFAULT_PORT
    parser = argparse.ArgumentParser(prog="graphkit", description="graphkit's command line.")
    commands = parser.add_subparsers(dest="command", required=True)
    board = commands.add_parser("board", help="serve or export the board of a log directory")
    board.add_argument("--logdir", required=True, help="the log directory (runs at any depth below it)")
    board.add_argument("--host", default=DEFAULT_HOST,
                       help=f"address to bind (default {DEFAULT_HOST}; any other warns: whoever reaches it can read "
                            "the log directory)")
    board.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free one)")
    board.add_argument("--export", metavar="OUT.html", help="write one self-contained offline HTML file and exit")
    board.set_defaults(run=_board)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except OSError as error:                 # a missing log directory or bundle, a port in use
        hint = " (pass another --port, or --port 0 for any free one)" if error.errno == errno.EADDRINUSE else ""
        parser.exit(1, f"graphkit: {error}{hint}\n")


if __name__ == "__main__":
    sys.exit(main())
