"""The graph view reads well by default, in real Chromium (the built core bundle, as in
tests/test_frontend_bundle.py): a deep model's labels stay >= 10 px at "Fit" (the view fits
the width and scrolls instead), "1:1" shows the natural size, the canvas grows with the drawing
up to a cap and then scrolls; the details panel closes (button, Escape), wraps at spaces and
shows labelled formulas, also for plot_model pictures; exports carry the theme's background."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

import graphkit as gk
from graphkit.utils.model_visualization import plot_model
from graphkit.viz.graph_data import model_graph
from test_frontend_bundle import GRAPH, WAIT_MS, _emit, _node, _render_widget, browser, site  # noqa: F401

L = gk.layers
MIN_TEXT_PX = 10


def deep_model(depth: int = 40) -> gk.Model:
    """An LSTM, then Dense/BatchNormalization pairs: `depth` layers with the input."""
    inputs = gk.Input((10, 64), name="tokens")
    x = L.LSTM(128, name="lstm")(inputs)
    for i in range((depth - 2) // 2):
        x = L.Dense(64, activation="relu", name=f"dense_{i}")(x)
        x = L.BatchNormalization(name=f"batch_norm_{i}")(x)
    return gk.Model(inputs, x, name="deep")


@pytest.fixture(scope="module")
def deep_graph():
    graph = model_graph(deep_model())
    assert len(graph["nodes"]) == 40
    return graph


@pytest.fixture
def page(browser, site):  # noqa: F811 - the imported fixtures
    page = browser.new_page(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(site)
    yield page
    page.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def show(page, graph, first_node):
    _render_widget(page)
    _emit(page, {"type": "graph", "seq": 1, "graph": graph})
    view = page.locator("#a .gk-graph-view")
    view.locator(f'g.node[data-gk-id="{first_node}"]').wait_for(timeout=WAIT_MS)
    return view


def text_sizes(page) -> list[float]:
    """Rendered font size (CSS px) of every text element of the drawing."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('#a .gk-canvas svg text')).map(t =>
        t.getScreenCTM().a * parseFloat(t.getAttribute('font-size')))""")


def canvas_box(page) -> dict:
    return page.evaluate("""() => { const c = document.querySelector('#a .gk-canvas');
        const svg = c.querySelector('svg');
        return { clientHeight: c.clientHeight, scrollHeight: c.scrollHeight, clientWidth: c.clientWidth,
                 scrollWidth: c.scrollWidth, shownWidth: svg.getBoundingClientRect().width,
                 naturalWidth: parseFloat(svg.getAttribute('width')), innerHeight: window.innerHeight }; }""")


def test_deep_model_is_readable_at_fit_and_scrolls(page, deep_graph):
    view = show(page, deep_graph, "lstm")
    sizes = text_sizes(page)
    assert len(sizes) > 80 and min(sizes) >= MIN_TEXT_PX - 0.01
    box = canvas_box(page)
    # natural height up to the cap (70% of the window here), then the canvas scrolls
    assert box["clientHeight"] <= 0.7 * box["innerHeight"] + 1
    assert box["scrollHeight"] > 2 * box["clientHeight"]
    page.locator("#a .gk-canvas").evaluate("c => { c.scrollTop = c.scrollHeight; }")
    view.locator('g.node[data-gk-id="batch_norm_18"]').click()  # the last layer, reached by scrolling
    assert view.locator(".gk-details-title").text_content() == "batch_norm_18 (BatchNormalization)"
    assert page.locator("#a .gk-canvas").evaluate("c => c.scrollTop") > 0  # the panel opening keeps the place

    view.locator('button[data-action="zoom-out"]').click()
    view.locator('button[data-action="zoom-out"]').click()
    assert min(text_sizes(page)) < MIN_TEXT_PX  # the user may zoom out further ...
    view.locator('button[data-action="fit"]').click()
    assert min(text_sizes(page)) >= MIN_TEXT_PX - 0.01  # ... "Fit" does not

    view.locator('button[data-action="actual-size"]').click()
    box = canvas_box(page)
    assert box["shownWidth"] == pytest.approx(box["naturalWidth"], abs=0.5)
    assert min(text_sizes(page)) == pytest.approx(9 * 4 / 3, abs=0.05)  # 9 pt edge labels at 96 dpi


def test_small_graph_is_shown_whole_at_natural_height(page, deep_graph):
    view = show(page, GRAPH, "hidden")
    box = canvas_box(page)
    assert box["scrollHeight"] <= box["clientHeight"] + 1 and box["scrollWidth"] <= box["clientWidth"] + 1
    assert box["shownWidth"] == pytest.approx(box["naturalWidth"], abs=0.5)  # never enlarged, not shrunk
    # the graph grows (a live view): the canvas grows with it, up to the cap
    _emit(page, {"type": "graph", "seq": 2, "graph": deep_graph})
    view.locator('g.node[data-gk-id="lstm"]').wait_for(timeout=WAIT_MS)
    grown = canvas_box(page)
    assert grown["clientHeight"] > box["clientHeight"]
    assert grown["clientHeight"] == pytest.approx(0.7 * grown["innerHeight"], abs=1)
    assert min(text_sizes(page)) >= MIN_TEXT_PX - 0.01


def chain(length: int) -> dict:
    """A left-to-right chain of `length` layers."""
    return {**GRAPH, "rankdir": "LR", "groups": [],
            "nodes": [_node(f"layer_{i}", group=None) for i in range(length)],
            "edges": [{"source": f"layer_{i}", "target": f"layer_{i + 1}", "label": "(None, 64)", "status": "model"}
                      for i in range(length - 1)]}


def test_wide_graph_fits_its_width_when_that_stays_readable(page):
    view = show(page, chain(5), "layer_0")
    box = canvas_box(page)
    assert box["naturalWidth"] > box["clientWidth"]  # wider than the view ...
    assert box["scrollWidth"] <= box["clientWidth"] + 1  # ... shown whole
    assert min(text_sizes(page)) >= MIN_TEXT_PX - 0.01
    # much wider: readable text, scrolled sideways from the inputs' end
    view.locator('button[data-action="zoom-in"]').click()  # (Fit starts over below)
    _emit(page, {"type": "graph", "seq": 2, "graph": chain(14)})
    view.locator('g.node[data-gk-id="layer_13"]').wait_for(timeout=WAIT_MS)
    view.locator('button[data-action="fit"]').click()
    box = canvas_box(page)
    assert box["scrollWidth"] > 2 * box["clientWidth"]
    assert min(text_sizes(page)) >= MIN_TEXT_PX - 0.01
    assert page.locator("#a .gk-canvas").evaluate("c => c.scrollLeft") == 0


def details_words_unbroken(page) -> list[str]:
    """Words (up to 20 characters) of the details panel that are split over two lines."""
    return page.evaluate("""() => {
        const broken = [];
        const walker = document.createTreeWalker(document.querySelector('#a .gk-details'), NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (const m of node.textContent.matchAll(/[A-Za-z_]+/g)) {
                if (m[0].length > 20) continue;  // a long token may break inside
                const range = document.createRange();
                range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
                if (range.getClientRects().length > 1) broken.push(m[0]);
            }
        }
        return broken; }""")


def test_details_panel_closes_wraps_and_labels_formulas(page, deep_graph):
    view = show(page, deep_graph, "lstm")
    details = view.locator(".gk-details")
    view.locator('g.node[data-gk-id="batch_norm_0"]').click()
    lines = details.locator(".gk-formula > div").all_text_contents()
    assert lines == ["gamma 64 + beta 64 = 128 trainable", "moving_mean 64 + moving_variance 64 = 128 non-trainable",
                     "total 256"]
    details.locator("button.gk-details-close").click()
    assert details.is_hidden()
    assert "gk-selected" not in view.locator('g.node[data-gk-id="batch_norm_0"]').get_attribute("class")

    view.locator('g.node[data-gk-id="lstm"]').click()
    assert details.locator(".gk-formula").text_content() == \
        "kernel 64×512 + recurrent_kernel 128×512 + bias 512 = 98,816"
    page.keyboard.press("Escape")
    assert details.is_hidden()

    # a long error wraps at spaces, inside the panel
    message = ("ValueError: Add cannot merge inputs of shapes (None, 64) and (None, 10): every input of a merge "
               "layer needs the same shape; a_very_long_identifier_that_cannot_fit_on_one_line_of_the_panel_at_all")
    failed = {**GRAPH, "nodes": [*GRAPH["nodes"][:4], {**GRAPH["nodes"][4], "error": message,
                                                        "input_shapes": ["[(None, 64), (None, 10)]"]}]}
    _emit(page, {"type": "graph", "seq": 2, "graph": failed})
    view.locator('g.node[data-gk-id="bad_add"]').click()
    assert details.locator("pre.gk-error").text_content() == message
    assert details_words_unbroken(page) == []
    width = details.evaluate("d => [d.scrollWidth, d.clientWidth]")
    assert width[0] <= width[1]


def test_plot_model_picture_shows_details(page):
    plot = plot_model(deep_model(6), show_shapes=True)
    graph = plot._repr_mimebundle_()["application/vnd.graphkit.graph+json"]
    view = show(page, graph, "lstm")
    view.locator('g.node[data-gk-id="batch_norm_1"]').click()
    assert view.locator(".gk-details-title").text_content() == "batch_norm_1 (BatchNormalization)"
    assert "non-trainable" in view.locator(".gk-details .gk-formula").text_content()
    assert "moving_variance" in view.locator(".gk-details table.gk-weights").text_content()
    # plot_model's dpi=96 does not make the view's natural size a third larger
    view.locator('button[data-action="actual-size"]').click()
    assert min(text_sizes(page)) == pytest.approx(14 * 4 / 3, abs=0.05)


def first_pixel(png: bytes) -> tuple[int, ...]:
    """RGBA of the top-left pixel of an 8-bit RGBA PNG (any row filter leaves it as stored)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, data, header = 8, b"", None
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        chunk = png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBB", chunk[:10])
        elif kind == b"IDAT":
            data += chunk
        pos += 12 + length
    assert header[2:] == (8, 6)  # 8-bit RGBA
    return tuple(zlib.decompress(data)[1:5])


def test_dark_exports_carry_the_background(page):
    page.evaluate("() => { const s = document.body.style; s.setProperty('--jp-layout-color0', '#111111');"
                  " s.setProperty('--jp-ui-font-color1', 'rgb(240, 240, 240)'); }")
    view = show(page, GRAPH, "hidden")
    with page.expect_download() as svg_download:
        view.locator('button[data-action="export-svg"]').click()
    svg = Path(svg_download.value.path()).read_text(encoding="utf-8")
    assert svg_download.value.suggested_filename == "mlp.svg"
    first = svg[svg.index(">", svg.index("<svg")) + 1:].lstrip()
    assert first.startswith("<rect") and 'fill="#111111"' in first.split(">", 1)[0]
    with page.expect_download() as png_download:
        view.locator('button[data-action="export-png"]').click()
    assert png_download.value.suggested_filename == "mlp.png"
    *rgb, alpha = first_pixel(Path(png_download.value.path()).read_bytes())
    assert alpha == 255 and all(abs(c - 0x11) <= 2 for c in rgb)  # opaque, the theme's #111111
