"""The board server (``graphkit board --logdir DIR``): a read-only HTTP server on 127.0.0.1 that
serves the board page, its bundle, the payload (polled for live refresh) and raw files under the
log directory, never a file outside it (docs/board.md, "Security").

Routes (GET and HEAD only; anything else is answered 501 by http.server):

- ``/``: the page; ``/static/graphkit-board.js``: the front-end bundle;
- ``/api/payload[?since=<token>]``: the payload, or ``{"token", "changed": false}`` when
  nothing changed since ``token``;
- ``/api/file?path=<relative path>``: a file under the log directory (403 for ``..``, encoded
  traversal, absolute paths, backslashes and symlinks that leave it).
"""
from __future__ import annotations

import gzip
import ipaddress
import json
import os
import socket
import threading
import warnings
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .logdir import LogDir
from .page import BUNDLE, missing_bundle_html, page_html
from .payload import build_payload

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 6006
POLL_MS = 2000
LOCAL_NAMES = {"localhost", "127.0.0.1", "::1"}

__all__ = ["BoardServer", "serve", "resolve_under", "Forbidden", "DEFAULT_HOST", "DEFAULT_PORT"]

_MOUNT = ("<script type=\"module\">\n"
          "import { mountBoard } from \"./static/graphkit-board.js\";\n"
          "mountBoard(document.getElementById(\"graphkit-board\"), "
          f"{{ url: \".\", poll_ms: {POLL_MS} }});\n"
          "</script>")
_FILE_TYPES = {".json": "application/json", ".jsonl": "text/plain; charset=utf-8", ".txt": "text/plain; charset=utf-8",
               ".csv": "text/plain; charset=utf-8"}


class Forbidden(ValueError):
    """A requested path that is not a plain relative path inside the log directory."""


def resolve_under(root: str, requested: str) -> str:
    """The real path of ``requested`` (a ``/``-separated relative path, already URL-decoded once)
    inside the real directory ``root``; :class:`Forbidden` for anything that could leave it."""
    if not requested or requested.startswith("/") or os.path.isabs(requested) or (
            len(requested) > 1 and requested[1] == ":"):
        raise Forbidden(f"not a relative path: {requested!r}")
    if any(character in requested for character in "\\%\0"):
        raise Forbidden(f"backslashes, percent signs and NUL are refused: {requested!r}")
    parts = requested.split("/")
    if ".." in parts:
        raise Forbidden(f"'..' is refused: {requested!r}")
    full = os.path.realpath(os.path.join(root, *parts))
    if os.path.commonpath([full, root]) != root:
        raise Forbidden(f"{requested!r} leaves the log directory")
    return full


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class BoardServer:
    """Serves the board of ``logdir`` on ``host:port`` (port 0: any free port). Binding
    anything but a loopback address warns: everyone who reaches it can read the log directory."""

    def __init__(self, logdir: str | os.PathLike, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        self.logdir = LogDir(logdir)
        self.root = os.path.realpath(self.logdir.path)
        self.loopback = _is_loopback(host)
        if not self.loopback:
            warnings.warn(f"graphkit board: serving on {host}, so anyone who can reach this machine can read "
                          f"{self.logdir.path}; leave out --host to serve on {DEFAULT_HOST} only.",
                          UserWarning, stacklevel=2)
        self._lock = threading.Lock()
        self._cached: tuple[str, bytes] | None = None
        handler = type("BoardRequestHandler", (_Handler,), {"board": self})
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]     # IPv4 or IPv6
        server_class = type("BoardHTTPServer", (ThreadingHTTPServer,), {"address_family": family})
        self.httpd = server_class((host, port), handler)
        self.httpd.daemon_threads = True
        self._serving = False

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    def payload(self, since: str | None) -> bytes:
        """The encoded payload after a refresh, or the "unchanged" answer when ``since`` is current."""
        with self._lock:
            self.logdir.refresh()
            token = self.logdir.token
            if since == token:
                return json.dumps({"token": token, "changed": False}).encode()
            if self._cached is None or self._cached[0] != token:
                payload = build_payload(self.logdir, embedded=False, live=True)
                self._cached = (token, json.dumps(payload, separators=(",", ":")).encode())
            return self._cached[1]

    def serve_forever(self) -> None:
        self._serving = True
        self.httpd.serve_forever()

    def start(self) -> threading.Thread:
        """Serve from a daemon thread (notebooks, tests); :meth:`close` stops it."""
        self._serving = True
        thread = threading.Thread(target=self.httpd.serve_forever, name="graphkit-board", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        if self._serving:
            self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "BoardServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Handler(BaseHTTPRequestHandler):
    board: BoardServer
    server_version = "graphkit-board"

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def log_message(self, format: str, *args) -> None:
        """Quiet: the front end polls every few seconds."""

    def _answer(self, send_body: bool) -> None:
        if self.board.loopback and not self._host_is_local():
            return self._send(HTTPStatus.FORBIDDEN, b"this board only answers requests for localhost\n",
                              "text/plain; charset=utf-8", send_body)
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/":
            page = page_html(self.board.logdir.title, _MOUNT) if BUNDLE.exists() \
                else missing_bundle_html(self.board.logdir.title)
            return self._send(HTTPStatus.OK, page.encode(), "text/html; charset=utf-8", send_body)
        if url.path == "/static/" + BUNDLE.name:
            try:
                body = BUNDLE.read_bytes()
            except FileNotFoundError:
                return self._send(HTTPStatus.NOT_FOUND, b"the board bundle is not built\n", "text/plain", send_body)
            return self._send(HTTPStatus.OK, body, "text/javascript; charset=utf-8", send_body)
        if url.path == "/api/payload":
            since = query.get("since", [None])[0]
            return self._send(HTTPStatus.OK, self.board.payload(since), "application/json", send_body,
                              cache=False)
        if url.path == "/api/file":
            return self._file(query.get("path", [""])[0], send_body)
        return self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain", send_body)

    def _host_is_local(self) -> bool:
        """DNS-rebinding guard: a loopback server only answers requests naming a loopback host."""
        host = self.headers.get("Host", "")
        name = host[1:host.find("]")] if host.startswith("[") else host.rsplit(":", 1)[0]
        return name in LOCAL_NAMES

    def _file(self, requested: str, send_body: bool) -> None:
        try:
            path = resolve_under(self.board.root, requested)
        except Forbidden as error:
            return self._send(HTTPStatus.FORBIDDEN, f"{error}\n".encode(), "text/plain; charset=utf-8", send_body)
        try:
            if not os.path.isfile(path):            # directories, FIFOs, devices: not served
                raise FileNotFoundError(path)
            with open(path, "rb") as file:
                body = file.read()
        except FileNotFoundError:
            return self._send(HTTPStatus.NOT_FOUND, b"no such file\n", "text/plain", send_body)
        kind = _FILE_TYPES.get(os.path.splitext(path)[1], "application/octet-stream")
        self._send(HTTPStatus.OK, body, kind, send_body, cache=False)

    def _send(self, status: HTTPStatus, body: bytes, content_type: str, send_body: bool, cache: bool = True) -> None:
        self.send_response(status)
        if len(body) > 1 << 16 and "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body, compresslevel=1)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        if not cache:
            self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if send_body:
            self.wfile.write(body)


def serve(logdir: str | os.PathLike, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve the board of ``logdir`` until interrupted, printing its URL."""
    with BoardServer(logdir, host, port) as server:
        print(f"graphkit board: serving {server.logdir.path} at {server.url} (Ctrl+C to stop)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
