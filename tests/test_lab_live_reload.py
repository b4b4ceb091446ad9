"""Live views that survive a page reload, saving and exporting, in real JupyterLab and Chromium.

A notebook with an open ``gk.live()`` view and a ``gk.live(model)`` view is run, saved and the
page reloaded while the kernel lives on: the restored widgets draw the complete graphs at once
(no layer call needed). Each view's kernel-free picture is hidden while its widget draws. The
saved notebook, reopened on a server with no kernel, shows each view's final graph (the
pictures, drawn by the MIME renderer) and nothing of the widgets; its nbconvert HTML shows the
static SVG pictures and no reprs. Screenshots go to ``$GRAPHKIT_SCREENSHOTS`` when set.
"""
from __future__ import annotations

import re
import subprocess
import sys

from lab_pages import (NO_KERNELS, WAIT_MS, choose_no_kernel, lab_browser, lab_page, open_notebook,  # noqa: F401
                       reload_notebook, run_all_cells, save_notebook, screenshot, write_notebook)
from lab_server import LabServer
from svg_pictures import svg_pictures

CELLS = [
    "import graphkit as gk\nview = gk.live()",
    'inputs = gk.Input(shape=(784,), name="pixels")\n'
    'hidden = gk.layers.Dense(64, activation="relu", name="hidden")(inputs)\n'
    'logits = gk.layers.Dense(10, name="logits")(hidden)\n'
    'try:\n    gk.layers.Add(name="bad_add")([hidden, logits])\n'
    "except ValueError as error:\n    print('raised:', error)\n"
    'mlp = gk.Model(inputs, logits, name="mlp")',
    'image = gk.Input(shape=(8,), name="image")\n'
    'encoder = gk.Model(image, gk.layers.Dense(4, name="code")(image), name="encoder")\n'
    'decoded = gk.layers.Dense(8, name="decoded")(encoder.output)\n'
    'autoencoder = gk.Model(image, decoded, name="autoencoder")\n'
    "scoped = gk.live(autoencoder)",
    'gk.layers.Dense(1000, name="unrelated")(gk.Input((3,)))\n'
    'print("totals", view.total_params, scoped.total_params)',
]


def _widget(page, title: str):
    """The live widget titled ``title`` (a view inside an ipywidgets output)."""
    return page.locator("[data-gk-live-widget] .gk-graph-view").filter(
        has=page.locator(".gk-title", has_text=re.compile(f"^{title}$")))


def _pictures(page):
    """The live views' kernel-free pictures drawn by the MIME renderer."""
    return page.locator('.jp-OutputArea-output.gk-mime[data-gk-widget] .gk-graph-view')


def _assert_views(page, totals: tuple[int, int]) -> None:
    """Both widgets complete: nodes, error node, totals; the scoped one without the unrelated layer."""
    everything, scoped = _widget(page, "autoencoder").first, _widget(page, "autoencoder").nth(1)
    for node in ("hidden", "logits", "bad_add:error", "code", "decoded", "unrelated"):
        everything.locator(f'g.node[data-gk-id="{node}"]').wait_for(timeout=WAIT_MS)
    assert f"{totals[0]:,}" in everything.locator(".gk-total").text_content()
    scoped.locator('g.node[data-gk-id="decoded"]').wait_for(timeout=WAIT_MS)
    assert f"{totals[1]:,}" in scoped.locator(".gk-total").text_content()
    assert scoped.locator('g.node[data-gk-id="unrelated"]').count() == 0
    assert scoped.locator('g.node[data-gk-id="hidden"]').count() == 0
    # the pictures are there, hidden while their widgets draw
    _pictures(page).nth(1).wait_for(state="attached", timeout=WAIT_MS)
    assert _pictures(page).count() == 2 and not _pictures(page).first.is_visible()


def test_live_views_after_reload_save_and_export(lab_browser, tmp_path):
    root = tmp_path / "notebooks"
    root.mkdir()
    write_notebook(root / "live.ipynb", CELLS)
    server = LabServer(str(root), str(tmp_path))
    with lab_page(lab_browser, server, viewport={"width": 1280, "height": 1600}, failure_screenshot="failed") as page:
        open_notebook(page, server, "live.ipynb")
        run_all_cells(page)
        last = page.locator(".jp-OutputArea-output", has_text="totals")
        last.wait_for(timeout=WAIT_MS)
        totals = tuple(int(n) for n in last.text_content().split()[1:3])
        _assert_views(page, totals)
        screenshot(page, "live")
        save_notebook(page)

        # --- reload the page: the kernel lives on, the restored widgets start complete
        kernels = [kernel["id"] for kernel in server.api("kernels")]
        reload_notebook(page)
        _assert_views(page, totals)
        assert [kernel["id"] for kernel in server.api("kernels")] == kernels  # the same kernel lives on
        screenshot(page, "reloaded")

    # --- nbconvert HTML: the static SVG pictures, no widget reprs
    subprocess.run([sys.executable, "-m", "nbconvert", "--to", "html", str(root / "live.ipynb")],
                   check=True, capture_output=True)
    exported = (root / "live.html").read_text(encoding="utf-8")
    assert exported.count('class="gk-live-picture"') == 2 and "LiveView" not in exported
    assert "&lt;LiveView" not in exported and "VBox(" not in exported  # no reprs
    page = lab_browser.new_page(viewport={"width": 1280, "height": 1600})
    try:
        page.goto((root / "live.html").as_uri())
        pictures = page.locator(".gk-live-picture img")
        assert pictures.count() == 2
        first = pictures.first.bounding_box()
        assert first["width"] > 100 and first["height"] > 100
        assert pictures.first.evaluate("img => img.complete && img.naturalWidth") > 100  # the SVG drew
        everything, scoped = (svg_pictures(pictures.nth(i).evaluate("img => img.outerHTML"))[0][1] for i in (0, 1))
        assert "logits" in everything and "unrelated" not in scoped
        screenshot(page, "nbconvert")
    finally:
        page.close()

    # --- reopen with no kernel: the pictures show the final graphs, the widgets' outputs are hidden
    server = LabServer(str(root), str(tmp_path), extra_args=NO_KERNELS)
    with lab_page(lab_browser, server, viewport={"width": 1280, "height": 1600}) as page:
        open_notebook(page, server, "live.ipynb")
        choose_no_kernel(page)
        everything, scoped = _pictures(page).first, _pictures(page).nth(1)
        for node in ("hidden", "logits", "bad_add:error", "code", "decoded", "unrelated"):
            everything.locator(f'g.node[data-gk-id="{node}"]').wait_for(timeout=WAIT_MS)
        assert everything.is_visible() and scoped.is_visible()
        assert everything.locator(".gk-title").text_content() == "autoencoder"
        assert f"{totals[0]:,}" in everything.locator(".gk-total").text_content()
        assert f"{totals[1]:,}" in scoped.locator(".gk-total").text_content()
        assert scoped.locator('g.node[data-gk-id="unrelated"]').count() == 0
        assert not page.get_by_text("Loading widget").first.is_visible() if \
            page.get_by_text("Loading widget").count() else True
        assert server.api("kernels") == []
        screenshot(page, "no_kernel")


RUNNING_CELLS = [
    "import graphkit as gk\nview = gk.live()",
    # keeps running until the test has reloaded the page (the file "go" appears)
    'import os, time\n'
    'x = gk.Input(shape=(16,), name="x")\n'
    'hidden = gk.layers.Dense(8, name="hidden")(x)\n'
    'deadline = time.monotonic() + 120\n'
    'while not os.path.exists("go") and time.monotonic() < deadline:\n'
    '    time.sleep(0.05)\n'
    'gk.layers.Dense(2, name="after_reload")(hidden)',
]


def test_reload_while_a_cell_runs(lab_browser, tmp_path):
    """The kernel answers the reloaded page's state request when the running cell ends: the
    restored view then has every node, those drawn before the reload and after."""
    root = tmp_path / "notebooks"
    root.mkdir()
    write_notebook(root / "running.ipynb", RUNNING_CELLS)
    server = LabServer(str(root), str(tmp_path))
    with lab_page(lab_browser, server, viewport={"width": 1280, "height": 1000},
                  failure_screenshot="failed_running") as page:
        open_notebook(page, server, "running.ipynb")
        run_all_cells(page)
        widget = page.locator("[data-gk-live-widget] .gk-graph-view")
        widget.locator('g.node[data-gk-id="hidden"]').wait_for(timeout=WAIT_MS)
        save_notebook(page)
        reload_notebook(page)
        assert not (root / "go").exists()
        (root / "go").touch()
        widget.locator('g.node[data-gk-id="after_reload"]').wait_for(timeout=WAIT_MS)
        for node in ("x", "hidden"):
            assert widget.locator(f'g.node[data-gk-id="{node}"]').count() == 1
        assert "154" in widget.locator(".gk-total").text_content()  # 16×8+8 + 8×2+2
        screenshot(page, "reloaded_while_running")
