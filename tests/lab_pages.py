"""Pages for the browser tests: Chromium fixtures, static sites served on 127.0.0.1, notebooks
written, opened, run, saved and reloaded in JupyterLab, and the errors and console a page shows.

Test modules use the fixtures by importing them (``from lab_pages import lab_browser``).
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import os
import threading
from typing import Iterable, Iterator

import pytest

from browser import chromium, require
from lab_server import LabServer

WAIT_MS = 180_000  # generous: a cold kernel imports numpy/scipy on a loaded 2-core machine
# A server with these arguments has no kernel to start: JupyterLab asks which one to use.
NO_KERNELS = ("--KernelSpecManager.ensure_native_kernel=False",
              "--KernelSpecManager.allowed_kernelspecs=graphkit-no-such-kernel")


# ---------------------------------------------------------------------------------------------
# Chromium


def labextension_installed() -> bool:
    """Whether JupyterLab finds the graphkit-nn labextension."""
    from jupyter_core.paths import jupyter_path
    return any(os.path.exists(os.path.join(base, "graphkit-nn", "package.json"))
               for base in jupyter_path("labextensions"))


def require_lab() -> None:
    """Skip (fail under CI=true for the labextension) unless JupyterLab and graphkit's labextension are installed."""
    pytest.importorskip("jupyterlab")
    require(labextension_installed(), "the graphkit-nn labextension is not installed (make test builds it)")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Chromium (a playwright Browser), one per test module."""
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def lab_browser() -> Iterator[object]:
    """Chromium for JupyterLab tests, one per test module: skips without JupyterLab or the labextension."""
    require_lab()
    with chromium() as launched:
        yield launched


def page_errors(page, console: bool = False) -> list[str]:
    """The page's uncaught errors from now on (with ``console``, its console errors too), as a list that fills."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    if console:
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return errors


def screenshot(page, name: str) -> None:
    """Saves a full-page ``name.png`` in ``$GRAPHKIT_SCREENSHOTS`` when that is set."""
    folder = os.environ.get("GRAPHKIT_SCREENSHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


# ---------------------------------------------------------------------------------------------
# static sites


class QuietFolderHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder without logging each request."""

    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def serve_http(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` answering on a free port of 127.0.0.1 in a thread; yields the base URL (no trailing slash)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def serve_folder(root: str | os.PathLike) -> contextlib.AbstractContextManager[str]:
    """The files under ``root`` served on 127.0.0.1; yields the base URL (no trailing slash)."""
    return serve_http(functools.partial(QuietFolderHandler, directory=str(root)))


# ---------------------------------------------------------------------------------------------
# notebooks in JupyterLab


def write_notebook(path: str | os.PathLike, cells: Iterable) -> None:
    """Writes a Python 3 notebook at ``path``; each of ``cells`` is a code cell's source or a ready cell."""
    import nbformat
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(cell) if isinstance(cell, str) else cell for cell in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, str(path))


@contextlib.contextmanager
def lab_page(browser, server: LabServer, viewport: dict | None = None,
             failure_screenshot: str | None = None) -> Iterator[object]:
    """A new page of ``browser`` for ``server``; afterwards the page is closed and the server stopped.

    On a failure it prints the page's last 40 console lines and the server's log (and saves the
    screenshot ``failure_screenshot`` when given, see :func:`screenshot`)."""
    page = browser.new_page(**({"viewport": viewport} if viewport else {}))
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    try:
        yield page
    except Exception:
        if failure_screenshot:
            screenshot(page, failure_screenshot)
        print("\n".join(console[-40:]))
        print(server.log())
        raise
    finally:
        page.close()
        server.stop()


def open_notebook(page, server: LabServer, name: str) -> None:
    """Opens the notebook ``name`` (relative to the server's root) and waits until its cells are shown."""
    page.goto(server.url(f"lab/tree/{name}"))
    page.wait_for_function(
        "name => { const app = window.jupyterapp; const w = app && app.shell.currentWidget;"
        " return !!(w && w.context && w.context.path === name && w.content && w.content.widgets.length); }",
        arg=name, timeout=WAIT_MS)


def choose_no_kernel(page) -> None:
    """Answers JupyterLab's kernel dialog (a server started with :data:`NO_KERNELS`) with "No Kernel"."""
    page.locator(".jp-Dialog button", has_text="No Kernel").click(timeout=WAIT_MS)


def run_all_cells(page) -> None:
    """Starts running every cell of the open notebook once its kernel is ready; does not wait for them."""
    page.evaluate("async () => { await window.jupyterapp.shell.currentWidget.sessionContext.ready; }")
    # not awaited: the command's promise settles only when every cell has run
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


def save_notebook(page) -> None:
    """Saves the open notebook and waits until it is saved."""
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=WAIT_MS)


def reload_notebook(page) -> None:
    """Reloads the page and waits until the restored notebook shows its cells."""
    page.reload()
    page.wait_for_function(
        "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " return !!(w && w.content && w.content.widgets && w.content.widgets.length); }", timeout=WAIT_MS)
