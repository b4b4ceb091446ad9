"""The comparison page's screenshots (docs/comparison.md), taken in real Chromium and written to
docs/images/ (git-ignored; `make docs` and the docs build test write them before building):
graphkit's live view drawing a model (the widget bundle), the board exported to one HTML file
after a small logged run, and ``plot_model``'s SVG of the same model."""
from __future__ import annotations

import pathlib
import struct

import pytest

import graphkit as gk
from board_logs import write_training_run
from browser import require
from graphkit.board import export_html
from graphkit.utils.graphviz import have_dot
from graphkit.viz.graph_data import model_graph
from test_frontend_bundle import WAIT_MS, _emit, _render_widget, browser, site  # noqa: F401

IMAGES = pathlib.Path(__file__).resolve().parent.parent / "docs" / "images"
SCREENSHOTS = ("live_view.png", "board.png", "plot_model.png")
BOARD_READY = "div.gk-board[data-state=ready]"


def comparison_model() -> gk.Model:
    """A small two-branch classifier: enough structure for the pictures to differ."""
    L = gk.layers
    image = gk.Input((28, 28, 1), name="image")
    x = L.Conv2D(8, 3, activation="relu", name="conv")(image)
    x = L.MaxPooling2D(2, name="pool")(x)
    x = L.Flatten(name="flatten")(x)
    meta = gk.Input((4,), name="metadata")
    m = L.Dense(8, activation="relu", name="meta_dense")(meta)
    x = L.Concatenate(name="merge")([x, m])
    out = L.Dense(10, activation="softmax", name="classes")(x)
    return gk.Model([image, meta], out, name="two_branch")


def _screenshot_live_view(browser, site: str, model: gk.Model, path: pathlib.Path) -> None:  # noqa: F811
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    try:
        page.goto(site)
        _render_widget(page)
        _emit(page, {"type": "graph", "seq": 1, "graph": model_graph(model)})
        view = page.locator("#a .gk-graph-view")
        view.locator('g.node[data-gk-id="classes"]').wait_for(timeout=WAIT_MS)
        view.screenshot(path=str(path))
    finally:
        page.close()


def _screenshot_board(browser, logdir: pathlib.Path, path: pathlib.Path) -> None:  # noqa: F811
    page_file = export_html(logdir, logdir.parent / "board.html")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(page_file.resolve().as_uri())
        page.locator(BOARD_READY).screenshot(path=str(path), timeout=60_000)
    finally:
        page.close()


def _screenshot_plot_model(browser, model: gk.Model, workdir: pathlib.Path, path: pathlib.Path) -> None:  # noqa: F811
    svg = workdir / "plot_model.svg"
    gk.utils.plot_model(model, to_file=str(svg), show_shapes=True, show_layer_activations=True)
    page = browser.new_page(viewport={"width": 900, "height": 900})
    try:
        page.goto(svg.resolve().as_uri())
        page.locator("svg").screenshot(path=str(path))
    finally:
        page.close()


@pytest.fixture(scope="module")
def docs_screenshots(browser, site, tmp_path_factory) -> dict[str, pathlib.Path]:  # noqa: F811
    """Take the screenshots into docs/images/; their paths by file name."""
    require(have_dot(), "graphviz's `dot` is not installed: plot_model cannot write its SVG (apt-get install graphviz)")
    work = tmp_path_factory.mktemp("docs_screenshots")
    IMAGES.mkdir(parents=True, exist_ok=True)
    paths = {name: IMAGES / name for name in SCREENSHOTS}
    model = comparison_model()
    _screenshot_live_view(browser, site, model, paths["live_view.png"])
    write_training_run(work / "logs", epochs=2, traced=True)
    _screenshot_board(browser, work / "logs", paths["board.png"])
    _screenshot_plot_model(browser, model, work, paths["plot_model.png"])
    return paths


def _png_size(path: pathlib.Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_screenshots_are_written(docs_screenshots):
    for name, path in docs_screenshots.items():
        width, height = _png_size(path)
        assert width >= 200 and height >= 150, f"{name}: {width}x{height} px"
        assert path.stat().st_size > 5_000, f"{name} looks blank ({path.stat().st_size} bytes)"
