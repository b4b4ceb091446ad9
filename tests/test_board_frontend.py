"""The board's front end (``graphkit/static/graphkit-board.js``) in real Chromium, without Jupyter.

A static page on 127.0.0.1 imports the bundle and mounts it on a fixture payload written here
(two runs sharing two tags, base64 and list arrays, a 10^6-point tag with one spike, histograms,
layer spans, a graph with timing); the tests check the DOM contract of docs/frontend.md ("The board") and read
what is drawn through the debug hook ``element.__gkBoard.debug()``. Skipped (with the reason)
when chromium, playwright or the bundle is missing, except under ``CI=true``, where that fails.
"""
from __future__ import annotations

import base64
import contextlib
import http.server
import json
import math
import shutil
from pathlib import Path

import numpy
import pytest

from browser import require
from lab_pages import WAIT_MS as LAB_WAIT_MS
from lab_pages import (NO_KERNELS, browser, choose_no_kernel, lab_page, open_notebook, page_errors,  # noqa: F401
                       require_lab, serve_folder, serve_http, write_notebook)
from lab_server import LabServer

BUNDLE = Path(__file__).resolve().parent.parent / "graphkit" / "static" / "graphkit-board.js"
WAIT_MS = 30_000
BIG_POINTS = 1_000_000
SPIKE_STEP = 654_321
SPIKE_VALUE = 100.0
LAYERS = ("features", "hidden", "classes")

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>graphkit board test</title></head>
<body style="margin: 0"><div id="board" style="width: 1100px"></div></body></html>
"""


# ---------------------------------------------------------------------------------------------
# fixture payloads


def b64(values, dtype="float64") -> dict:
    """A numeric array as the payload carries it: little-endian bytes in base64."""
    data = numpy.asarray(values, dtype=numpy.dtype(dtype).newbyteorder("<"))
    return {"dtype": dtype, "b64": base64.b64encode(data.tobytes()).decode("ascii")}


def scalar_series(steps, values, start=1_700_000_000.0, as_lists=False) -> dict:
    steps = numpy.asarray(steps, dtype="float64")
    wall = start + steps * 0.01
    if as_lists:
        return {"step": steps.tolist(), "wall_time": wall.tolist(), "value": list(values)}
    return {"step": b64(steps), "wall_time": b64(wall), "value": b64(values)}


def histogram_series(rng, steps=8, spread=1.0) -> list[dict]:
    out = []
    for step in range(steps):
        sample = rng.normal(0.0, spread * (1 + 0.1 * step), size=2000)
        counts, edges = numpy.histogram(sample, bins=30)
        out.append({"step": step, "wall_time": 1_700_000_000.0 + step, "min": float(edges[0]),
                    "max": float(edges[-1]), "limits": edges[1:].tolist(), "counts": counts.astype(float).tolist()})
    return out


def span_columns(steps=3) -> dict:
    """Layer spans per step (forward through the layers, backward in reverse, then the
    optimizer) inside a `train_step` span, as gk.trace records them."""
    rows = []
    t = 0.0
    for step in range(steps):
        step_start = t
        for phase, order in (("forward", LAYERS), ("backward", LAYERS[::-1]), ("optimizer", LAYERS[1:])):
            for layer in order:
                duration = {"features": 2e3, "hidden": 40e3, "classes": 10e3}[layer] * (2 if phase == "backward" else 1)
                rows.append((f"{layer}.{phase}", layer, phase, step, t, t + duration, "layer"))
                t += duration + 500
        rows.append(("train_step", None, None, step, step_start, t, "step"))
        t += 5e3
    names, layers, phases, steps_col, starts, ends, kinds = zip(*rows)
    return {"count": len(rows), "columns": {
        "name": list(names), "layer": list(layers), "phase": list(phases), "step": b64(steps_col),
        "start_ns": b64(starts), "end_ns": b64(ends), "thread": [1] * len(rows), "kind": list(kinds),
        "flops": b64([0] * len(rows)), "bytes": b64([0] * len(rows))}}


def _node(id, class_name, params=0, output_shape=None):
    return {"id": id, "name": id, "class_name": class_name, "group": "small", "status": "model",
            "input_shapes": [], "output_shape": output_shape, "dtype": "float32", "params": params,
            "trainable": True, "formula": None, "activation": None, "config": None, "error": None,
            "weights": None}


def graph_with_timing(spans: dict) -> dict:
    columns = spans["columns"]
    starts = numpy.frombuffer(base64.b64decode(columns["start_ns"]["b64"]), "<f8")
    ends = numpy.frombuffer(base64.b64decode(columns["end_ns"]["b64"]), "<f8")
    timing = {}
    for layer in LAYERS:
        durations = [e - s for e, s, l, k in zip(ends, starts, columns["layer"], columns["kind"])
                     if l == layer and k == "layer"]
        timing[layer] = {"total_ns": sum(durations), "count": len(durations), "mean_ns": sum(durations) / len(durations)}
    return {
        "format": "graphkit.graph", "version": 1, "title": "small", "rankdir": "TB",
        "total_params": 178, "trainable_params": 178, "summary": None,
        "groups": [{"id": "small", "name": "small", "class_name": "Functional", "parent": None,
                    "params": 178, "collapsed": False}],
        "nodes": [_node("features", "InputLayer", output_shape="(None, 8)"),
                  _node("hidden", "Dense", 144, "(None, 16)"),
                  _node("classes", "Dense", 34, "(None, 2)")],
        "edges": [{"source": "features", "target": "hidden", "label": "(None, 8)", "status": "model"},
                  {"source": "hidden", "target": "classes", "label": "(None, 16)", "status": "model"}],
        "timing": timing,
        "op_graphs": {"train_step": {
            "format": "graphkit.graph", "version": 1, "title": "train_step", "rankdir": "TB",
            "total_params": 0, "trainable_params": 0, "summary": None, "groups": [],
            "nodes": [dict(_node("matmul", "MatMul"), group=None), dict(_node("relu", "Relu"), group=None)],
            "edges": [{"source": "matmul", "target": "relu", "label": "(32, 16)", "status": "model"}]}},
    }


def loss_curve(n: int, seed: int) -> numpy.ndarray:
    rng = numpy.random.default_rng(seed)
    return 2.0 * numpy.exp(-numpy.arange(n) / (n / 4)) + rng.normal(0, 0.15, n) + 0.2


def fixture_payload() -> dict:
    """Two runs: `train` (b64 arrays, the 10^6-point tag, histograms, spans, graph) and
    `validation` (JSON lists); both log `epoch_loss` and `metrics/accuracy`."""
    rng = numpy.random.default_rng(0)
    loss = loss_curve(300, 1)
    loss[150] = math.inf  # non-finite values pass through smoothing
    big = rng.random(BIG_POINTS) * 0.5
    big[SPIKE_STEP] = SPIKE_VALUE
    spans = span_columns()
    train = {
        "name": "train",
        "scalars": {"epoch_loss": scalar_series(numpy.arange(300), loss),
                    "batch_loss": scalar_series(numpy.arange(BIG_POINTS), big)},
        "histograms": {"hidden/kernel": histogram_series(rng), "classes/kernel": histogram_series(rng, spread=0.5),
                       "activations/hidden": histogram_series(rng, spread=2.0)},
        "text": {}, "graph": graph_with_timing(spans), "spans": spans,
    }
    accuracy = numpy.linspace(0.5, 0.9, 30)
    train["scalars"]["metrics/accuracy"] = scalar_series(numpy.arange(0, 300, 10), accuracy)
    validation = {
        "name": "validation",
        "scalars": {"epoch_loss": scalar_series(numpy.arange(0, 300, 6), loss_curve(50, 2).tolist(), as_lists=True),
                    "metrics/accuracy": scalar_series(numpy.arange(0, 300, 10), (accuracy - 0.1).tolist(), as_lists=True)},
        "histograms": {}, "text": {}, "graph": None, "spans": None,
    }
    return {"format": "graphkit.board", "version": 1, "title": "logs", "generated_wall_time": 1_700_000_000.0,
            "live": False, "runs": [train, validation]}


def tensorboard_smoothing(values, weight):
    """TensorBoard's classicSmoothing (line_chart_v2/data_transformer.ts), in Python."""
    if all(v == values[0] for v in values):
        return list(values)
    last, accumulated, out = 0.0, 0, []
    for v in values:
        if not math.isfinite(v):
            out.append(v)
            continue
        last = last * weight + (1 - weight) * v
        accumulated += 1
        out.append(last / (1 if weight == 1 else 1 - weight ** accumulated))
    return out


# ---------------------------------------------------------------------------------------------
# page fixtures


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """URL of a page next to a copy of the bundle and the fixture payload, served on 127.0.0.1."""
    require(BUNDLE.is_file(), f"the board bundle is not built ({BUNDLE.name}): "
                              "run `npm ci && npm run build` in labextension/ (make test does)")
    root = tmp_path_factory.mktemp("board-site")
    shutil.copy(BUNDLE, root / BUNDLE.name)
    (root / "index.html").write_text(PAGE, encoding="utf-8")
    (root / "payload.json").write_text(json.dumps(fixture_payload()), encoding="utf-8")
    with serve_folder(root) as base:
        yield base + "/"


def open_board(browser, site, color_scheme="light", width=1100):
    """A page with the board mounted on the fixture payload; returns (page, errors)."""
    page = browser.new_page(viewport={"width": 1200, "height": 900}, color_scheme=color_scheme)
    errors = page_errors(page, console=True)
    page.goto(site + "index.html")
    page.evaluate("""async width => {
        const host = document.getElementById('board');
        host.style.width = width + 'px';
        const { mountBoard } = await import('./graphkit-board.js');
        const payload = await (await fetch('payload.json')).json();
        window.handle = mountBoard(host, { payload });
    }""", width)
    page.locator(".gk-board[data-state=ready]").wait_for(timeout=WAIT_MS)
    return page, errors


@pytest.fixture
def board(browser, site):
    page, errors = open_board(browser, site)
    yield page
    page.close()
    assert not errors, f"errors in the page: {errors}"


def debug(page) -> dict:
    return page.evaluate("() => document.getElementById('board').__gkBoard.debug()")


def chart_debug(page, tag) -> dict:
    return next(c for c in debug(page)["scalars"]["charts"] if c["tag"] == tag)


def series_debug(page, tag, run) -> dict:
    """What the chart of ``tag`` draws of ``run``, with the chart's ranges."""
    chart = chart_debug(page, tag)
    series = next(s for s in chart["series"] if s["run"] == run)
    return {**series, "range": chart["range"], "fullRange": chart["fullRange"]}


def wait_drawn(page, tag):
    page.wait_for_function("""tag => {
        const c = document.getElementById('board').__gkBoard.debug().scalars.charts.find(c => c.tag === tag);
        return c && c.paints > 0;
    }""", arg=tag, timeout=WAIT_MS)


def color_pixels(page, tag, rgb, tolerance=40) -> int:
    """How many pixels of the chart of ``tag`` have about the colour ``rgb``."""
    return page.evaluate("""([tag, rgb, tolerance]) => {
        const canvas = document.querySelector(`div.gk-chart[data-tag="${tag}"] canvas`);
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let count = 0;
        for (let i = 0; i < data.length; i += 4) {
            const d = Math.abs(data[i] - rgb[0]) + Math.abs(data[i + 1] - rgb[1]) + Math.abs(data[i + 2] - rgb[2]);
            count += d < tolerance && data[i + 3] > 200 ? 1 : 0;
        }
        return count;
    }""", [tag, rgb, tolerance])


def show(page, tab):
    page.locator(f"button.gk-board-tab[data-tab={tab}]").click()


# ---------------------------------------------------------------------------------------------
# tests


def test_four_dashboards_render(board):
    tabs = board.locator("button.gk-board-tab")
    assert tabs.evaluate_all("bs => bs.map(b => b.dataset.tab)") == ["scalars", "graph", "timeline", "histograms"]

    # one chart per tag, every run that logged it overlaid; sections by tag prefix
    charts = board.locator("div.gk-chart[data-tag]")
    assert charts.evaluate_all("cs => cs.map(c => [c.dataset.tag, JSON.parse(c.dataset.runs)])") == [
        ["batch_loss", ["train"]], ["epoch_loss", ["train", "validation"]],
        ["metrics/accuracy", ["train", "validation"]]]
    assert board.locator("[data-dashboard=scalars] .gk-section-title").all_text_contents() == ["metrics"]
    for tag in ("batch_loss", "epoch_loss", "metrics/accuracy"):
        wait_drawn(board, tag)
        assert board.locator(f'div.gk-chart[data-tag="{tag}"] canvas').count() >= 1
    assert board.locator("input[data-control=run]").evaluate_all("bs => bs.map(b => [b.dataset.run, b.checked])") == [
        ["train", True], ["validation", True]]

    show(board, "graph")
    hidden = board.locator('[data-dashboard=graph] g.node[data-gk-id="hidden"]')
    hidden.wait_for(timeout=WAIT_MS)
    assert board.locator("[data-dashboard=scalars]").is_hidden()
    # coloured by measured time: every layer has a fill, the slowest layer the hottest one
    colored = debug(board)["graph"]["colored"]
    assert set(colored) == set(LAYERS)
    assert len(set(colored.values())) == 3
    assert "Measured time" in board.locator("[data-dashboard=graph] .gk-legend").text_content()
    # a traced op graph is one menu choice away
    board.locator("select[data-control=graph-name]").select_option("train_step")
    board.locator('[data-dashboard=graph] g.node[data-gk-id="relu"]').wait_for(timeout=WAIT_MS)
    board.locator("select[data-control=graph-name]").select_option("")
    hidden.wait_for(timeout=WAIT_MS)

    show(board, "timeline")
    assert board.locator("[data-dashboard=timeline] canvas").is_visible()

    show(board, "histograms")
    hists = board.locator("div.gk-hist[data-run][data-tag]")
    assert sorted(hists.evaluate_all("hs => hs.map(h => h.dataset.tag)")) == [
        "activations/hidden", "classes/kernel", "hidden/kernel"]
    assert hists.first.locator("canvas").is_visible()


def test_smoothing_matches_tensorboard_for_every_run(board):
    payload = fixture_payload()
    train = numpy.frombuffer(base64.b64decode(payload["runs"][0]["scalars"]["epoch_loss"]["value"]["b64"]), "<f8")
    validation = payload["runs"][1]["scalars"]["epoch_loss"]["value"]
    wait_drawn(board, "epoch_loss")
    for weight in (0.6, 0.95, 0.0):
        if weight != 0.6:
            board.locator("input[data-control=smoothing]").fill(str(weight))
        for run, loss, steps in (("train", train.tolist(), list(range(300))),
                                 ("validation", validation, list(range(0, 300, 6)))):
            drawn = series_debug(board, "epoch_loss", run)
            assert drawn["step"] == steps  # a short tag is drawn whole
            expected = tensorboard_smoothing(loss, weight)
            for got, want in zip(drawn["smoothed"], expected, strict=True):
                if math.isfinite(want):
                    assert got == pytest.approx(want, rel=1e-12, abs=1e-12)
                else:
                    assert got is None  # a gap in the drawing
            assert drawn["value"][0] == pytest.approx(loss[0])
    assert series_debug(board, "epoch_loss", "train")["smoothed"][:149] == pytest.approx(train[:149].tolist())


def test_spike_survives_downsampling_at_small_width(browser, site):
    page, errors = open_board(browser, site, width=360)
    try:
        wait_drawn(page, "batch_loss")
        drawn = series_debug(page, "batch_loss", "train")
        assert drawn["points"] == BIG_POINTS
        assert len(drawn["x"]) < 6 * 360 * 2  # per pixel column, a handful of points
        assert max(drawn["value"]) == SPIKE_VALUE
        assert SPIKE_STEP in drawn["step"]
        assert drawn["x"] == sorted(drawn["x"])  # in step order
    finally:
        page.close()
    assert not errors, errors


def test_drag_zooms_and_double_click_resets(board):
    wait_drawn(board, "batch_loss")
    before = chart_debug(board, "batch_loss")
    assert before["range"] == [0, BIG_POINTS - 1]
    over = board.locator('div.gk-chart[data-tag=batch_loss] .u-over')
    box = over.bounding_box()
    y = box["y"] + box["height"] / 2
    board.mouse.move(box["x"] + box["width"] * 0.4, y)
    board.mouse.down()
    board.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
    board.mouse.up()
    zoomed = series_debug(board, "batch_loss", "train")
    lo, hi = zoomed["range"]
    assert 0.3 * BIG_POINTS < lo < hi < 0.6 * BIG_POINTS
    inside = [x for x in zoomed["x"] if lo <= x <= hi]
    assert len(zoomed["x"]) - len(inside) <= 2  # one point beyond each edge
    assert max(inside) - min(inside) > 0.9 * (hi - lo)  # recomputed for the new range

    over.dblclick()
    assert chart_debug(board, "batch_loss")["range"] == [0, BIG_POINTS - 1]

    # a zoom is the chart's: every run of it shows the same range
    board.evaluate("() => document.getElementById('board').__gkBoard.board.dashboards.scalars"
                   ".chart('epoch_loss').zoomTo([100, 150])")
    for run in ("train", "validation"):
        drawn = series_debug(board, "epoch_loss", run)
        assert drawn["range"] == [100, 150]
        assert 94 <= min(drawn["step"]) <= 100 and 150 <= max(drawn["step"]) <= 156  # one point beyond each edge


def test_hover_reads_out_every_run_at_the_cursor(board):
    wait_drawn(board, "epoch_loss")
    over = board.locator('div.gk-chart[data-tag=epoch_loss] .u-over')
    box = over.bounding_box()
    readout = board.locator('div.gk-chart[data-tag=epoch_loss] + .gk-readout')
    assert readout.is_hidden()
    board.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    readout.wait_for(state="visible", timeout=WAIT_MS)
    assert readout.locator("th").all_text_contents() == ["", "Run", "Smoothed", "Value", "Step", "Relative"]
    rows = readout.locator("tr[data-run]")
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.run)") == ["train", "validation"]
    cells = {run: rows.nth(i).locator("td").all_text_contents()[1:] for i, run in enumerate(["train", "validation"])}
    step = int(cells["train"][3])
    assert 140 <= step <= 160  # the middle of steps 0..299
    assert int(cells["validation"][3]) % 6 == 0 and abs(int(cells["validation"][3]) - step) <= 3  # its nearest step
    values = fixture_payload()["runs"][1]["scalars"]["epoch_loss"]["value"]
    assert float(cells["validation"][2]) == pytest.approx(values[int(cells["validation"][3]) // 6], rel=1e-5)
    board.mouse.move(box["x"] - 20, box["y"] - 20)
    readout.wait_for(state="hidden", timeout=WAIT_MS)


VALIDATION_RGB = (0x00, 0x91, 0xea)  # the second run's colour
TRAIN_RGB = (0xff, 0x70, 0x43)


def test_run_toggle_hides_the_run_in_every_chart_and_keeps_zoom(board):
    for tag in ("epoch_loss", "metrics/accuracy"):
        wait_drawn(board, tag)
        assert color_pixels(board, tag, VALIDATION_RGB) > 50 and color_pixels(board, tag, TRAIN_RGB) > 50
    board.evaluate("() => document.getElementById('board').__gkBoard.board.dashboards.scalars"
                   ".chart('epoch_loss').zoomTo([50, 200])")
    board.locator("input[data-control=run][data-run=validation]").uncheck()
    board.wait_for_timeout(50)
    assert debug(board)["scalars"]["hiddenRuns"] == ["validation"]
    for tag in ("epoch_loss", "metrics/accuracy"):
        hidden = series_debug(board, tag, "validation")
        assert not hidden["shown"] and hidden["x"] == []
        assert series_debug(board, tag, "train")["shown"]
        assert color_pixels(board, tag, VALIDATION_RGB) == 0 and color_pixels(board, tag, TRAIN_RGB) > 50
    assert chart_debug(board, "epoch_loss")["range"] == [50, 200]
    assert board.locator("input[data-control=all-runs]").evaluate("b => b.indeterminate")

    board.locator("input[data-control=run][data-run=validation]").check()
    board.wait_for_timeout(50)
    assert series_debug(board, "metrics/accuracy", "validation")["shown"]
    assert color_pixels(board, "metrics/accuracy", VALIDATION_RGB) > 50
    assert chart_debug(board, "epoch_loss")["range"] == [50, 200]

    board.locator("input[data-control=all-runs]").uncheck()
    assert sorted(debug(board)["scalars"]["hiddenRuns"]) == ["train", "validation"]
    board.locator("input[data-control=all-runs]").check()
    assert debug(board)["scalars"]["hiddenRuns"] == []


def test_tag_filter_hides_charts(board):
    def visible():
        return sorted(c["tag"] for c in debug(board)["scalars"]["charts"] if c["visible"])

    search = board.locator("input[data-control=tag-filter]")
    search.fill("LOSS$")  # a case-insensitive regular expression
    assert visible() == ["batch_loss", "epoch_loss"]
    assert board.locator('div.gk-chart[data-tag="metrics/accuracy"]').is_hidden()
    assert board.locator('.gk-section[data-group=metrics]').is_hidden()
    search.fill("^metrics/")
    assert visible() == ["metrics/accuracy"]
    search.fill("(")  # not a regular expression: flagged, nothing hidden
    assert search.get_attribute("aria-invalid") == "true"
    assert visible() == ["batch_loss", "epoch_loss", "metrics/accuracy"]
    search.fill("no such tag")
    assert visible() == []
    assert "No tags match" in board.locator("[data-dashboard=scalars] .gk-board-message").text_content()
    search.fill("")
    assert visible() == ["batch_loss", "epoch_loss", "metrics/accuracy"]
    wait_drawn(board, "metrics/accuracy")
    assert board.locator('div.gk-chart[data-tag="metrics/accuracy"] canvas').first.bounding_box()["width"] > 100


def test_linked_selection_across_dashboards(board):
    show(board, "graph")
    node = board.locator('[data-dashboard=graph] g.node[data-gk-id="hidden"]')
    node.wait_for(timeout=WAIT_MS)
    node.click()
    root = board.locator("div.gk-board")
    assert root.get_attribute("data-selected-layer") == "hidden"
    stats = board.locator("[data-dashboard=graph] .gk-details .gk-span-stats")
    text = stats.text_content()
    assert "forward" in text and "backward" in text and "optimizer" in text and "%" in text

    lanes = debug(board)["timeline"]["lanes"]
    assert {lane["phase"] for lane in lanes if lane["selected"]} == {"forward", "backward", "optimizer"}
    linked = board.locator("div.gk-hist.gk-linked").evaluate_all("hs => hs.map(h => h.dataset.tag)")
    assert sorted(linked) == ["activations/hidden", "hidden/kernel"]

    # a click on a Timeline lane selects that layer everywhere
    show(board, "timeline")
    canvas = board.locator("[data-dashboard=timeline] canvas")
    lane = next(l for l in debug(board)["timeline"]["lanes"] if l["layer"] == "classes" and l["phase"] == "backward")
    x0, x1, _ = lane["boxes"][0]
    canvas.click(position={"x": (x0 + x1) / 2, "y": lane["y"]})
    assert root.get_attribute("data-selected-layer") == "classes"
    show(board, "graph")
    assert "gk-linked" in board.locator('[data-dashboard=graph] g.node[data-gk-id="classes"]').get_attribute("class")
    assert "gk-linked" not in board.locator('[data-dashboard=graph] g.node[data-gk-id="hidden"]').get_attribute("class")
    assert board.locator("div.gk-hist.gk-linked").evaluate_all("hs => hs.map(h => h.dataset.tag)") == ["classes/kernel"]


def test_timeline_lanes_zoom_pan_and_hover(board):
    show(board, "timeline")
    state = debug(board)["timeline"]
    lanes = [(lane["layer"], lane["phase"], lane["kind"]) for lane in state["lanes"]]
    assert lanes[0] == ("train_step", "", "step")
    for layer in LAYERS[1:]:
        for phase in ("forward", "backward", "optimizer"):
            assert (layer, phase, "layer") in lanes
    assert ("features", "optimizer", "layer") not in lanes
    assert all(lane["count"] == 3 for lane in state["lanes"])  # one span per step

    full = state["fullRange"]
    board.locator("button[data-action=timeline-zoom-in]").click()
    board.wait_for_timeout(50)
    lo, hi = debug(board)["timeline"]["range"]
    assert hi - lo == pytest.approx((full[1] - full[0]) / 2)

    canvas = board.locator("[data-dashboard=timeline] canvas")
    box = canvas.bounding_box()
    y = box["y"] + state["lanes"][1]["y"]
    board.mouse.move(box["x"] + 600, y)
    board.mouse.down()
    board.mouse.move(box["x"] + 400, y, steps=4)
    board.mouse.up()
    panned = debug(board)["timeline"]["range"]
    assert panned[0] > lo and panned[1] - panned[0] == pytest.approx(hi - lo)

    board.locator("select[data-control=timeline-step]").select_option("1")
    one = debug(board)["timeline"]
    assert one["range"][1] - one["range"][0] < (full[1] - full[0]) / 2

    lane = next(l for l in one["lanes"] if l["layer"] == "hidden" and l["phase"] == "forward")
    x0, x1, step = lane["boxes"][1]
    assert step == 1 and 180 < x0 < x1 < box["width"]  # step 1 fills the view
    board.mouse.move(box["x"] + (x0 + x1) / 2, box["y"] + lane["y"])
    board.mouse.move(box["x"] + (x0 + x1) / 2 + 1, box["y"] + lane["y"])
    tooltip = board.locator("[data-dashboard=timeline] .gk-tooltip")
    tooltip.wait_for(state="visible", timeout=WAIT_MS)
    text = tooltip.text_content()
    assert "hidden.forward" in text and "forward" in text and "duration 40" in text


def test_histogram_modes_switch(board):
    show(board, "histograms")
    dashboard = board.locator("[data-dashboard=histograms]")
    canvas = board.locator('div.gk-hist[data-tag="hidden/kernel"] canvas')
    canvas.wait_for(timeout=WAIT_MS)
    assert dashboard.get_attribute("data-hist-mode") == "offset"
    offset = canvas.evaluate("c => c.toDataURL()")
    board.locator("button[data-hist-mode=overlay]").click()
    assert dashboard.get_attribute("data-hist-mode") == "overlay"
    assert board.locator("button[data-hist-mode=overlay]").get_attribute("aria-pressed") == "true"
    assert canvas.evaluate("c => c.toDataURL()") != offset
    board.locator("button[data-hist-mode=offset]").click()
    assert canvas.evaluate("c => c.toDataURL()") == offset


def _luminance(css: str) -> float:
    parts = [float(p) for p in css[css.index("(") + 1:css.index(")")].replace("/", ",").split(",")[:3]]

    def channel(c):
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in parts)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


JUPYTERLAB_DARK = {"--jp-layout-color0": "#111111", "--jp-layout-color1": "#212121",
                   "--jp-ui-font-color1": "rgba(255, 255, 255, 0.87)", "--jp-ui-font-color2": "rgba(255, 255, 255, 0.54)",
                   "--jp-border-color1": "#616161", "--jp-border-color2": "#424242", "--jp-brand-color1": "#42a5f5"}


@pytest.mark.parametrize("how", ["system", "jupyterlab"])
def test_dark_theme_readable(browser, site, how):
    page, errors = open_board(browser, site, color_scheme="dark" if how == "system" else "light")
    try:
        if how == "jupyterlab":
            page.evaluate("vars => { for (const [k, v] of Object.entries(vars)) document.body.style.setProperty(k, v);"
                          " document.body.dataset.jpThemeLight = 'false'; }", JUPYTERLAB_DARK)
        colors = page.evaluate("""() => {
            const root = document.querySelector('.gk-board');
            const style = getComputedStyle(root);
            const tab = getComputedStyle(document.querySelector('.gk-board-tab[aria-selected=true]'));
            return { bg: style.backgroundColor, fg: style.color, tab: tab.color };
        }""")
        assert _luminance(colors["bg"]) < 0.05
        assert _contrast(colors["bg"], colors["fg"]) > 7
        assert _contrast(colors["bg"], colors["tab"]) > 3
        show(page, "graph")
        page.locator('[data-dashboard=graph] g.node[data-gk-id="hidden"]').wait_for(timeout=WAIT_MS)
        view_bg = page.evaluate("() => getComputedStyle(document.querySelector('.gk-board .gk-graph-view')).backgroundColor")
        assert _luminance(view_bg) < 0.05  # the core's view takes the board's dark colours
    finally:
        page.close()
    assert not errors, errors


def test_live_refresh_updates_in_place(browser, tmp_path):
    """The board polls `${url}/api/payload?since=token`; new points appear, the zoom stays."""
    require(BUNDLE.is_file(), f"the board bundle is not built ({BUNDLE.name})")
    state = {"points": 100, "token": "t1", "requests": []}

    def payload():
        steps = numpy.arange(state["points"])
        run = {"name": "train", "scalars": {"loss": scalar_series(steps, numpy.sin(steps / 10.0))},
               "histograms": {}, "text": {}, "graph": None, "spans": None}
        return {"format": "graphkit.board", "version": 1, "title": "live", "live": True,
                "token": state["token"], "runs": [run]}

    class Api(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            state["requests"].append(self.path)
            if self.path.startswith("/api/payload"):
                unchanged = self.path.endswith(f"since={state['token']}")
                body = json.dumps({"token": state["token"], "changed": False} if unchanged else payload())
                kind = "application/json"
            elif self.path == "/graphkit-board.js":
                body, kind = BUNDLE.read_text(encoding="utf-8"), "text/javascript"
            else:
                body, kind = PAGE, "text/html"
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    with serve_http(Api) as url, contextlib.closing(browser.new_page(viewport={"width": 1200, "height": 900})) as page:
        errors = page_errors(page)
        page.goto(url + "/")
        page.evaluate("""async url => {
            const { mountBoard } = await import('./graphkit-board.js');
            mountBoard(document.getElementById('board'), { url, poll_ms: 100 });
        }""", url)
        page.locator(".gk-board[data-state=ready]").wait_for(timeout=WAIT_MS)
        wait_drawn(page, "loss")
        assert [p for p in state["requests"] if p.startswith("/api/")][0] == "/api/payload"
        page.evaluate("() => document.getElementById('board').__gkBoard.board.dashboards.scalars"
                      ".chart('loss').zoomTo([20, 40])")
        state["points"], state["token"] = 200, "t2"
        page.wait_for_function("""() => document.getElementById('board').__gkBoard.debug()
            .scalars.charts[0].series[0].points === 200""", timeout=WAIT_MS)
        chart = chart_debug(page, "loss")
        assert chart["range"] == [20, 40]
        assert chart["fullRange"] == [0, 199]
        assert any(path == "/api/payload?since=t1" for path in state["requests"])
    assert not errors, errors


def test_axis_modes_and_log_scale(board):
    wait_drawn(board, "epoch_loss")
    assert chart_debug(board, "epoch_loss")["fullRange"] == [0, 299]  # both runs: train's steps reach 299
    board.locator("input[data-control=run][data-run=train]").uncheck()
    assert chart_debug(board, "epoch_loss")["fullRange"] == [0, 294]  # the shown run's
    board.locator("select[data-control=x-axis]").select_option("relative")
    relative = chart_debug(board, "epoch_loss")
    assert relative["fullRange"] == pytest.approx([0, 2.94])  # seconds since the run's first point
    board.locator("select[data-control=x-axis]").select_option("wall")
    assert chart_debug(board, "epoch_loss")["fullRange"] == pytest.approx([1_700_000_000.0, 1_700_000_002.94])

    board.locator("select[data-control=x-axis]").select_option("step")
    linear = chart_debug(board, "epoch_loss")
    assert linear["yRange"][0] < 0  # the noisy curve dips below zero
    board.locator("input[data-control=log-y]").check()
    wait_drawn(board, "epoch_loss")
    log = chart_debug(board, "epoch_loss")
    assert log["logY"] and log["fullRange"] == [0, 294]
    assert 0 < log["yRange"][0] < log["yRange"][1]  # non-positive values are left out
    assert not series_debug(board, "epoch_loss", "train")["shown"]  # the rebuilt chart keeps runs hidden


BOARD_MIME = "application/vnd.graphkit.board+json"


def test_saved_notebook_shows_the_board_in_jupyterlab_without_a_kernel(browser, tmp_path):
    """JupyterLab's extension draws a saved `application/vnd.graphkit.board+json` output (safe
    renderer, rank 0) on a server that has no kernel to start."""
    require_lab()
    import nbformat

    payload = fixture_payload()
    del payload["runs"][0]["scalars"]["batch_loss"]  # a notebook-sized payload
    output = nbformat.v4.new_output("display_data", data={BOARD_MIME: payload, "text/plain": "<board>"})
    root = tmp_path / "notebooks"
    root.mkdir()
    # untrusted: only safe renderers draw it
    write_notebook(root / "board.ipynb", [nbformat.v4.new_code_cell("board", outputs=[output])])

    server = LabServer(str(root), str(tmp_path), extra_args=NO_KERNELS)
    with lab_page(browser, server, viewport={"width": 1280, "height": 900}) as page:
        errors = page_errors(page)
        open_notebook(page, server, "board.ipynb")
        choose_no_kernel(page)
        board = page.locator(f'.jp-OutputArea-output[data-mime-type="{BOARD_MIME}"] div.gk-board[data-state=ready]')
        board.wait_for(timeout=LAB_WAIT_MS)
        board.locator("div.gk-chart[data-tag] canvas").first.wait_for(timeout=WAIT_MS)
        assert board.locator("div.gk-chart[data-tag]").count() == 2  # epoch_loss and metrics/accuracy
        board.locator("button.gk-board-tab[data-tab=graph]").click()
        board.locator('g.node[data-gk-id="hidden"]').click(timeout=WAIT_MS)
        assert board.get_attribute("data-selected-layer") == "hidden"
        assert server.api("kernels") == []
    assert not errors, errors
