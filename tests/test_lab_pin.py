"""The graph views' ``Pin`` button in real JupyterLab and Chromium.

A ``gk.live()`` view pinned to the right side panel keeps following the kernel: a layer built
in a later cell appears in the panel. A model display (a static graph output) pinned shows that
graph. ``Unpin`` closes the panel. Screenshots go to ``$GRAPHKIT_SCREENSHOTS`` when set.
"""
from __future__ import annotations

from lab_pages import WAIT_MS, lab_browser, lab_page, open_notebook, run_all_cells, screenshot, write_notebook  # noqa: F401
from lab_server import LabServer

CELLS = [
    "import graphkit as gk\nview = gk.live()",
    'inputs = gk.Input(shape=(8,), name="x")\n'
    'hidden = gk.layers.Dense(4, name="first")(inputs)\n'
    'model = gk.Model(inputs, hidden, name="small")\nmodel',
    # runs on after the test has pinned the view (the file "go" appears)
    'import os, time\n'
    'deadline = time.monotonic() + 120\n'
    'while not os.path.exists("go") and time.monotonic() < deadline:\n'
    '    time.sleep(0.05)\n'
    'gk.layers.Dense(2, name="second")(hidden)',
]


def test_pinned_live_view_follows_later_cells(lab_browser, tmp_path):
    root = tmp_path / "notebooks"
    root.mkdir()
    write_notebook(root / "pin.ipynb", CELLS)
    server = LabServer(str(root), str(tmp_path))
    with lab_page(lab_browser, server, viewport={"width": 1400, "height": 1000}, failure_screenshot="failed_pin") as page:
        open_notebook(page, server, "pin.ipynb")
        run_all_cells(page)
        widget = page.locator("[data-gk-live-widget] .gk-graph-view").first
        widget.locator('g.node[data-gk-id="first"]').wait_for(timeout=WAIT_MS)

        widget.locator('button[data-action="pin"]').click()
        panel = page.locator("#jp-right-stack .gk-pinned .gk-graph-view")
        panel.locator('g.node[data-gk-id="first"]').wait_for(timeout=WAIT_MS)
        assert panel.is_visible()
        assert panel.locator('g.node[data-gk-id="second"]').count() == 0

        (root / "go").touch()  # the later cell builds another layer: the pinned view grows
        panel.locator('g.node[data-gk-id="second"]').wait_for(timeout=WAIT_MS)
        assert "46" in panel.locator(".gk-total").text_content()  # 8×4+4 + 4×2+2
        screenshot(page, "pin")

        # pinning the same widget again shows its panel, not a second one
        widget.locator('button[data-action="pin"]').click()
        assert page.locator("#jp-right-stack .gk-pinned").count() == 1

        # a model display (a static graph output) pins its own graph
        display = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.graphkit.graph+json"]'
                               ':not([data-gk-widget]) .gk-graph-view')
        display.locator('button[data-action="pin"]').click()
        pinned = page.locator("#jp-right-stack .gk-pinned")
        assert pinned.count() == 2
        static = pinned.nth(1).locator(".gk-graph-view")
        static.locator('g.node[data-gk-id="first"]').wait_for(timeout=WAIT_MS)
        assert static.locator(".gk-title").text_content() == "small"
        assert pinned.locator('button[data-action="pin"]').count() == 0  # already pinned

        # unpinning closes the panel; the notebook's view stays
        static.locator('button[data-action="unpin"]').click()
        pinned.nth(1).wait_for(state="detached", timeout=WAIT_MS)
        assert pinned.count() == 1 and widget.is_visible()
