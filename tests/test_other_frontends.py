"""The same saved notebook in other front ends, driven in real Chromium: Jupyter Notebook 7
with and without ipywidgets in the server's environment, and JupyterLab without graphkit's
extension (the "one JupyterLab, many kernel environments" set-up), there also unsigned (untrusted,
as a notebook executed elsewhere and shared as a file), where JupyterLab sanitizes HTML outputs.

A notebook that makes a ``gk.live()`` view, displays a model, calls ``plot_model`` and fits two
epochs is executed (nbclient) and saved, then opened in each configuration. Every graph output
must show a drawn graph or a visible sentence saying what to install where, the per-epoch
training text must be there, and nothing may show a widget repr, raw DOT or a bare
"Loading widget..." with no explanation. A missing front-end piece is simulated by leaving
its labextension out of that server's labextensions path, never by uninstalling. Screenshots go to ``$GRAPHKIT_SCREENSHOTS`` when set.
"""
from __future__ import annotations

import glob
import os
import re

import pytest

from lab_pages import WAIT_MS, lab_browser, lab_page, screenshot  # noqa: F401
from lab_server import LabServer

CELLS = [
    "import graphkit as gk\nview = gk.live()",
    'inputs = gk.Input(shape=(4,), name="x")\n'
    'hidden = gk.layers.Dense(8, activation="relu", name="hidden")(inputs)\n'
    'outputs = gk.layers.Dense(1, name="y")(hidden)\n'
    'model = gk.Model(inputs, outputs, name="regressor")\nmodel',
    "gk.utils.plot_model(model, show_shapes=True)",
    "import numpy as np\n"
    'model.compile(optimizer="adam", loss="mse")\n'
    "history = model.fit(np.random.rand(64, 4), np.random.rand(64, 1), epochs=2, batch_size=16, verbose=1)",
]

WIDGETS = ("@jupyter-widgets/jupyterlab-manager", "anywidget")
# (name, server module, labextensions missing for that server, graphviz's dot in the kernel, signed)
CONFIGURATIONS = [
    ("notebook7", "notebook", (), True, True),
    ("notebook7_no_ipywidgets", "notebook", WIDGETS, True, True),
    ("lab_no_graphkit", "jupyterlab", ("graphkit-nn",), True, True),
    ("lab_no_graphkit_no_dot", "jupyterlab", ("graphkit-nn",), False, True),
    ("lab_no_graphkit_untrusted", "jupyterlab", ("graphkit-nn",), True, False),
]


@pytest.fixture(scope="module")
def browser(lab_browser):
    """Chromium for JupyterLab and Notebook 7: skips without Notebook 7 too."""
    pytest.importorskip("notebook")
    return lab_browser


def _executed_notebook(path, with_dot: bool, signed: bool, monkeypatch):
    """Runs CELLS in a fresh kernel (graphviz's ``dot`` hidden unless ``with_dot``) and saves them,
    ``signed`` as JupyterLab signs the notebooks its user runs (the HTML outputs are trusted)."""
    import nbformat
    from nbclient import NotebookClient
    from nbformat.sign import NotebookNotary
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    with monkeypatch.context() as patch:
        if not with_dot:
            patch.setenv("GRAPHKIT_DOT", "/nonexistent/dot")
        NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    if signed:
        NotebookNotary().sign(notebook)
    nbformat.write(notebook, str(path))
    return notebook


def _labextensions_without(folder, excluded: tuple) -> str:
    """A labextensions folder for one server: links to every installed labextension except
    ``excluded``, as if those were not installed in the server's environment. (Disabling them in
    ``page_config.json`` is not the same: JupyterLab still loads a missing extension's modules.)"""
    from jupyter_core.paths import jupyter_path
    for base in jupyter_path("labextensions"):
        for package in glob.glob(os.path.join(base, "*", "package.json")) + \
                glob.glob(os.path.join(base, "@*", "*", "package.json")):
            name = os.path.relpath(os.path.dirname(package), base)
            link = folder / name
            if name not in excluded and not link.exists():
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(os.path.dirname(package))
    return str(folder)


def _shown_outputs(page, cell: int) -> list[dict]:
    """One cell's visible outputs with something in them: their text, whether they hold a drawn
    graph (SVG nodes, or a loaded SVG image) and how many SVG images loaded (an empty text, e.g. a
    closed progress bar's, is left out)."""
    return page.evaluate(
        """cell => {
          const cells = document.querySelectorAll('.jp-Notebook .jp-CodeCell');
          const outputs = cells[cell].querySelectorAll('.jp-OutputArea-child');
          return Array.from(outputs)
            .filter(o => o.getBoundingClientRect().height > 0 && getComputedStyle(o).display !== 'none')
            .map(o => {
              const images = Array.from(o.querySelectorAll('img[src^="data:image/svg+xml"]'))
                .filter(img => img.complete && img.naturalWidth > 0).length;
              return {text: o.innerText.trim(), images, graph: images > 0 || !!o.querySelector('svg g.node')};
            })
            .filter(o => o.text || o.graph);
        }""", cell)


INSTRUCTION = re.compile(r"install graphviz's\s+`?dot`?\s+program in the kernel's environment", re.I)
BAD = re.compile(r"Loading widget|LiveView|VBox\(|IntProgress|digraph|->")


@pytest.mark.parametrize("name, server_module, missing, with_dot, signed", CONFIGURATIONS,
                         ids=[c[0] for c in CONFIGURATIONS])
def test_saved_notebook_in_other_front_ends(browser, tmp_path, monkeypatch, name, server_module, missing,
                                            with_dot, signed):
    root = tmp_path / "notebooks"
    root.mkdir()
    notebook = _executed_notebook(root / "course.ipynb", with_dot, signed, monkeypatch)
    # the saved widget state restores the live view's final graph, not the empty one of its creation
    states = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"].values()
    initial, = [s["state"]["_initial"] for s in states if "_initial" in s["state"]]
    assert {node["id"] for node in initial["graph"]["nodes"]} == {"x", "hidden", "y"}
    extra = (f"--LabServerApp.labextensions_path={_labextensions_without(tmp_path / 'labextensions', missing)}",
             *(("--JupyterNotebookApp.expose_app_in_browser=True",) if server_module == "notebook" else ()))
    server = LabServer(str(root), str(tmp_path), extra_args=extra, app=server_module)
    with lab_page(browser, server, viewport={"width": 1280, "height": 1400}, failure_screenshot=f"failed_{name}") as page:
        page.goto(server.url(("notebooks/" if server_module == "notebook" else "lab/tree/") + "course.ipynb"))
        cells = page.locator(".jp-Notebook .jp-CodeCell")
        cells.nth(len(CELLS) - 1).get_by_text("Epoch 2/2").wait_for(timeout=WAIT_MS)
        if "graphkit-nn" not in missing:
            page.locator(".gk-graph-view[data-state=ready]").nth(2).wait_for(timeout=WAIT_MS)
        page.wait_for_timeout(3000)  # ipywidgets' restoration of the saved widgets settles
        assert page.evaluate("() => !!globalThis.__graphkitLab") == ("graphkit-nn" not in missing)
        screenshot(page, f"other_{name}")
        for cell in range(3):  # the live view, the model display, plot_model
            shown = _shown_outputs(page, cell)
            assert len(shown) == 1, (cell, shown)
            assert shown[0]["graph"] or INSTRUCTION.search(shown[0]["text"]), (cell, shown)
            assert not BAD.search(shown[0]["text"]), (cell, shown)
            if not signed and cell:  # sanitized HTML keeps the model display's and plot_model's picture
                assert shown[0]["images"] == 1, (cell, shown)
        training = _shown_outputs(page, 3)
        assert len(training) == 1 and not BAD.search(training[0]["text"]), training
        assert re.search(r"Epoch 1/2\n4/4 .* loss: [\d.]+\nEpoch 2/2\n4/4 .* loss: [\d.]+", training[0]["text"])
        if "graphkit-nn" not in missing:
            cells.first.locator('button[data-action="pin"]:visible').click()  # the side panel works here too
            page.locator(".gk-pinned .gk-graph-view g.node[data-gk-id=hidden]").wait_for(timeout=WAIT_MS)
            screenshot(page, f"other_{name}_pinned")
