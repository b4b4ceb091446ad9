"""The board in real Chromium: the served page (live, from `graphkit board`) and the exported
offline file each show the four dashboards with data from real short training runs (one logged
through gk.summary and traced with gk.trace, one by callbacks.TensorBoard), selecting a layer
links the views, the Scalars run selector and tag filter work, and the console stays clean. Skipped (failed under CI=true) without chromium, playwright or the built bundle."""
import pytest

from browser import require
from board_logs import write_keras_run, write_training_run
from lab_pages import browser, page_errors  # noqa: F401
from test_board_frontend import tensorboard_smoothing
from graphkit.board import BoardServer, export_html
from graphkit.board.page import BUNDLE

TABS = ["scalars", "graph", "timeline", "histograms"]
READY = "div.gk-board[data-state=ready]"


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    require(BUNDLE.exists(), f"the board bundle {BUNDLE} is not built (npm run build in labextension/)")
    logs = tmp_path_factory.mktemp("board") / "logs"
    write_training_run(logs, epochs=2, traced=True)
    write_keras_run(logs / "keras")
    return logs


def open_board(browser, url: str, requests: list[str]):
    """A page at ``url`` showing a ready board, and the list its console errors go to; the
    URL of every request it makes goes to ``requests``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    errors = page_errors(page, console=True)
    page.goto(url)
    page.wait_for_selector(READY, timeout=60_000)
    return page, errors


def debug(page) -> dict:
    return page.evaluate("document.getElementById('graphkit-board').__gkBoard.debug()")


def scalar_series(page) -> dict:
    """Every drawn run of every scalar chart: {(tag, run): series debug}."""
    return {(chart["tag"], series["run"]): series
            for chart in debug(page)["scalars"]["charts"] for series in chart["series"]}


def check_scalars(page) -> None:
    """One chart per tag with every run that logged it; each run smoothed as TensorBoard does;
    the run selector hides a run in every chart; the tag filter hides charts."""
    charts = page.eval_on_selector_all("div.gk-chart", "charts => Object.fromEntries(charts"
                                       ".filter(c => c.querySelector('canvas')).map(c => [c.dataset.tag, JSON.parse(c.dataset.runs)]))")
    assert {"train", "validation", "keras/train", "keras/validation"} <= set(charts["epoch_loss"])
    assert {"train", "keras/train"} <= set(charts["batch_loss"])
    assert {"train", "validation"} <= set(charts["epoch_accuracy"])
    series = scalar_series(page)
    assert series[("batch_loss", "train")]["points"] == 8 and series[("epoch_loss", "validation")]["points"] == 2
    for (tag, run), drawn in series.items():
        expected = tensorboard_smoothing(drawn["value"], 0.6)   # short tags are drawn whole
        assert drawn["smoothed"] == pytest.approx(expected, rel=1e-12), (tag, run)

    page.uncheck("input[data-control=run][data-run='keras/train']")
    for (tag, run), drawn in scalar_series(page).items():
        assert drawn["shown"] == (run != "keras/train") and (drawn["x"] == []) == (run == "keras/train"), (tag, run)
    page.check("input[data-control=run][data-run='keras/train']")
    assert all(drawn["shown"] and drawn["x"] for drawn in scalar_series(page).values())

    page.fill("input[data-control=tag-filter]", "^epoch_")
    visible = {chart["tag"] for chart in debug(page)["scalars"]["charts"] if chart["visible"]}
    assert visible and all(tag.startswith("epoch_") for tag in visible) and "batch_loss" not in visible
    assert page.is_hidden("div.gk-chart[data-tag=batch_loss]")
    page.fill("input[data-control=tag-filter]", "")
    assert page.is_visible("div.gk-chart[data-tag=batch_loss]")


def check_dashboards(page) -> None:
    assert page.eval_on_selector_all("button.gk-board-tab", "tabs => tabs.map(tab => tab.dataset.tab)") == TABS
    check_scalars(page)

    page.click("button.gk-board-tab[data-tab=graph]")
    page.wait_for_selector("g.node[data-gk-id=hidden][data-gk-timed]", timeout=60_000)
    assert {"hidden", "classes"} <= set(debug(page)["graph"]["colored"])        # coloured by measured time

    page.click("button.gk-board-tab[data-tab=timeline]")
    lanes = {(lane["layer"], lane["phase"]) for lane in debug(page)["timeline"]["lanes"]}
    assert {("hidden", "forward"), ("hidden", "backward"), ("classes", "forward")} <= lanes

    page.click("button.gk-board-tab[data-tab=histograms]")
    page.wait_for_selector("[data-dashboard=histograms] [data-run=train][data-tag='hidden/kernel']", timeout=30_000)

    page.click("button.gk-board-tab[data-tab=graph]")
    page.click("g.node[data-gk-id=hidden]")
    page.wait_for_selector("div.gk-board[data-selected-layer=hidden]", timeout=10_000)
    page.click("button.gk-board-tab[data-tab=timeline]")
    assert any(lane["selected"] for lane in debug(page)["timeline"]["lanes"] if lane["layer"] == "hidden")


def test_the_served_board_shows_the_four_dashboards(logs, browser):
    with BoardServer(logs, port=0) as server:
        server.start()
        requests: list[str] = []
        page, errors = open_board(browser, server.url, requests)
        check_dashboards(page)
        assert debug(page)["token"]                                   # polling the server
    assert errors == []
    assert all(url.startswith((server.url, "data:", "blob:")) for url in requests), requests


def test_the_exported_file_shows_the_four_dashboards_offline(logs, browser, tmp_path):
    path = export_html(logs, tmp_path / "board.html")
    requests: list[str] = []
    page, errors = open_board(browser, path.resolve().as_uri(), requests)
    check_dashboards(page)
    assert errors == []
    assert all(url.startswith(("file:", "data:", "blob:")) for url in requests), requests
