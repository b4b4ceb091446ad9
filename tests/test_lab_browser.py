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

from lab_pages import (NO_KERNELS, WAIT_MS, choose_no_kernel, lab_browser, lab_page,  # noqa: F401
                       open_notebook, run_all_cells, save_notebook, write_notebook)
from lab_server import LabServer

GRAPH_MIME = "application/vnd.graphkit.graph+json"

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


def _output(page, mime: str):
    """Outputs of ``mime``, not counting the live views' pictures (hidden beside their widgets)."""
    return page.locator(f'.jp-OutputArea-output[data-mime-type="{mime}"]:not([data-gk-widget])')


def test_live_builder_and_saved_notebook_in_jupyterlab(lab_browser, tmp_path):
    root = tmp_path / "notebooks"
    root.mkdir()
    write_notebook(root / "live.ipynb", CELLS)
    server = LabServer(str(root), str(tmp_path), env={"GRAPHKIT_DOT": "/nonexistent/dot"})
    with lab_page(lab_browser, server) as page:
        open_notebook(page, server, "live.ipynb")
        run_all_cells(page)

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

        save_notebook(page)

    saved = json.loads((root / "live.ipynb").read_text())
    bundles = [output.get("data", {}) for cell in saved["cells"] for output in cell.get("outputs", [])]
    model_bundle = next(bundle for bundle in bundles if GRAPH_MIME in bundle and "widget" not in bundle[GRAPH_MIME])
    assert "image/svg+xml" not in model_bundle and "<svg" not in model_bundle.get("text/html", "")
    assert "data:image/svg+xml" not in model_bundle.get("text/html", "")  # nor its picture as an image

    # --- reopen the saved notebook on a server that has no kernel to start
    server = LabServer(str(root), str(tmp_path), extra_args=NO_KERNELS)
    with lab_page(lab_browser, server) as page:
        open_notebook(page, server, "live.ipynb")
        # JupyterLab asks for a kernel, as it does when the notebook's kernel is not installed
        choose_no_kernel(page)
        mime_view = _output(page, GRAPH_MIME).first.locator(".gk-graph-view")
        mime_view.locator('g.node[data-gk-id="hidden"]').wait_for(timeout=WAIT_MS)
        mime_view.locator('g.node[data-gk-id="hidden"]').click()
        formula = mime_view.locator(".gk-details .gk-formula")
        formula.wait_for(timeout=WAIT_MS)
        assert formula.text_content().strip() == "kernel 784×64 + bias 64 = 50,240"
        assert server.api("kernels") == []
