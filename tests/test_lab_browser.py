"""The live builder and the graph MIME renderer in real JupyterLab, driven in real Chromium.

A JupyterLab server started here on 127.0.0.1 runs a notebook that builds a model under
``gk.live()``; the test reads node and shape labels from the drawn SVG, clicks a node for its
parameter formula, sees the failed call's red node, then saves the notebook, stops the server and
reopens the saved file on a server with no kernels: the graph is drawn by the MIME renderer alone.
The kernel sees no graphviz (``GRAPHKIT_DOT`` points nowhere), as on a new user's laptop, so every
graph on the page is laid out by the bundled WASM graphviz.
"""
from __future__ import annotations

import json
import os

import pytest

from browser import chromium, require
from lab_server import LabServer

GRAPH_MIME = "application/vnd.graphkit.graph+json"
WAIT_MS = 180_000  # generous: a cold kernel imports numpy/scipy on a loaded 2-core machine

CELLS = [
    "import graphkit as gk\nview = gk.live()",
    # the cell keeps running until the test has seen its layers drawn (the file "go" appears)
    'import os, time\n'
    'inputs = gk.Input(shape=(784,), name="pixels")\n'
    'hidden = gk.layers.Dense(64, activation="relu", name="hidden")(inputs)\n'
    'logits = gk.layers.Dense(10, name="logits")(hidden)\n'
    'deadline = time.monotonic() + 120\n'
    'while not os.path.exists("go") and time.monotonic() < deadline:\n'
    '    time.sleep(0.05)',
    'try:\n    gk.layers.Add(name="bad_add")([hidden, logits])\n'
    "except ValueError as error:\n    print('raised:', error)",
    'model = gk.Model(inputs, logits, name="mlp")\nmodel',
    'gk.utils.plot_model(model, show_shapes=True, show_params=True)',
]


def _labextension_installed() -> bool:
    from jupyter_core.paths import jupyter_path
    return any(os.path.exists(os.path.join(base, "graphkit-nn", "package.json"))
               for base in jupyter_path("labextensions"))


@pytest.fixture(scope="module")
def browser():
    pytest.importorskip("jupyterlab")
    require(_labextension_installed(), "the graphkit-nn labextension is not installed (make test builds it)")
    with chromium() as launched:
        yield launched


def _write_notebook(path: str) -> None:
    import nbformat
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)


def _open_notebook(page, server: LabServer, name: str) -> None:
    page.goto(server.url(f"lab/tree/{name}"))
    page.wait_for_function(
        "name => { const app = window.jupyterapp; const w = app && app.shell.currentWidget;"
        " return !!(w && w.context && w.context.path === name && w.content && w.content.widgets.length); }",
        arg=name, timeout=WAIT_MS)


def _output(page, mime: str):
    """Outputs of ``mime``, not counting the live views' pictures (hidden beside their widgets)."""
    return page.locator(f'.jp-OutputArea-output[data-mime-type="{mime}"]:not([data-gk-widget])')


def test_live_builder_and_saved_notebook_in_jupyterlab(browser, tmp_path):
    root = tmp_path / "notebooks"
    root.mkdir()
    _write_notebook(str(root / "live.ipynb"))
    server = LabServer(str(root), str(tmp_path), env={"GRAPHKIT_DOT": "/nonexistent/dot"})
    page = browser.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    try:
        _open_notebook(page, server, "live.ipynb")
        page.evaluate("async () => { const w = window.jupyterapp.shell.currentWidget;"
                      " await w.sessionContext.ready; }")
        # not awaited: the command's promise settles only when every cell has run
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

        # --- the live widget: nodes, shape labels, running total, the failed call
        widget = page.locator(".jp-OutputArea-output [data-gk-live-widget] .gk-graph-view").first
        hidden = widget.locator('g.node[data-gk-id="hidden"]')
        hidden.wait_for(timeout=WAIT_MS)
        widget.locator('g.node[data-gk-id="logits"]').wait_for(timeout=WAIT_MS)
        # drawn while the cell that made them is still running
        assert page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets[1]"
                             ".model.executionCount") is None  # no count yet: still running
        assert not (root / "go").exists()
        (root / "go").touch()
        widget.locator('g.node[data-gk-id*="bad_add"]').wait_for(timeout=WAIT_MS)
        assert widget.get_attribute("data-state") == "ready"
        edge_labels = widget.locator("g.edge text").all_text_contents()
        assert "(None, 64)" in edge_labels and "(None, 784)" in edge_labels
        assert "50,890" in widget.locator(".gk-total").text_content()
        failed = widget.locator('g.node[data-gk-id*="bad_add"]')
        failed.wait_for(timeout=WAIT_MS)
        assert "bad_add" in failed.text_content()

        # --- click a node: the details panel shows the parameter formula
        hidden.click()
        formula = widget.locator(".gk-details .gk-formula")
        formula.wait_for(timeout=WAIT_MS)
        assert formula.text_content().strip() == "kernel 784×64 + bias 64 = 50,240"

        # --- the model's own output is drawn by the MIME renderer (no graphviz in the kernel)
        mime_view = _output(page, GRAPH_MIME).first.locator(".gk-graph-view")
        mime_view.locator('g.node[data-gk-id="hidden"]').wait_for(timeout=WAIT_MS)
        assert "(None, 10)" in mime_view.locator("g.edge text").all_text_contents() or \
            "(None, 10)" in mime_view.text_content()

        # --- plot_model's picture (Keras's look), also laid out in the browser
        picture = _output(page, GRAPH_MIME).nth(1).locator(".gk-graph-view")
        picture.locator('g.node[data-gk-id="hidden"]').wait_for(timeout=WAIT_MS)
        assert "Params: 50,240" in " ".join(picture.locator('g.node[data-gk-id="hidden"]').text_content().split())

        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty",
                               timeout=WAIT_MS)
    except Exception:
        print("\n".join(console[-40:]))
        print(server.log())
        raise
    finally:
        page.close()
        server.stop()

    saved = json.loads((root / "live.ipynb").read_text())
    bundles = [output.get("data", {}) for cell in saved["cells"] for output in cell.get("outputs", [])]
    model_bundle = next(bundle for bundle in bundles if GRAPH_MIME in bundle and "widget" not in bundle[GRAPH_MIME])
    assert "image/svg+xml" not in model_bundle and "<svg" not in model_bundle.get("text/html", "")

    # --- reopen the saved notebook on a server that has no kernel to start
    server = LabServer(str(root), str(tmp_path),
                       extra_args=("--KernelSpecManager.ensure_native_kernel=False",
                                   "--KernelSpecManager.allowed_kernelspecs=graphkit-no-such-kernel"))
    page = browser.new_page()
    try:
        _open_notebook(page, server, "live.ipynb")
        # JupyterLab asks for a kernel, as it does when the notebook's kernel is not installed
        page.locator(".jp-Dialog button", has_text="No Kernel").click(timeout=WAIT_MS)
        mime_view = _output(page, GRAPH_MIME).first.locator(".gk-graph-view")
        mime_view.locator('g.node[data-gk-id="hidden"]').wait_for(timeout=WAIT_MS)
        mime_view.locator('g.node[data-gk-id="hidden"]').click()
        formula = mime_view.locator(".gk-details .gk-formula")
        formula.wait_for(timeout=WAIT_MS)
        assert formula.text_content().strip() == "kernel 784×64 + bias 64 = 50,240"
        assert server.api("kernels") == []
    except Exception:
        print(server.log())
        raise
    finally:
        page.close()
        server.stop()
