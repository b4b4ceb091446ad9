"""The board in real Chromium: the served page (live, from `graphkit board`) and the exported
offline file each show the four dashboards with data from real short training runs (one logged
through gk.summary and traced with gk.trace, one by callbacks.TensorBoard), selecting a layer
links the views, and the console stays clean. Skipped (failed under CI=true) without chromium, playwright or the built bundle."""
import pytest

from browser import chromium, require
from board_logs import write_keras_run, write_training_run
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
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_selector(READY, timeout=60_000)
    return page, errors


def debug(page) -> dict:
    return page.evaluate("document.getElementById('graphkit-board').__gkBoard.debug()")


def check_dashboards(page) -> None:
    assert page.eval_on_selector_all("button.gk-board-tab", "tabs => tabs.map(tab => tab.dataset.tab)") == TABS
    charts = page.eval_on_selector_all("div.gk-chart", "charts => charts.filter(c => c.querySelector('canvas'))"
                                                        ".map(c => c.dataset.run + ':' + c.dataset.tag)")
    assert {"train:batch_loss", "train:epoch_loss", "validation:epoch_loss", "validation:epoch_accuracy",
            "keras/train:batch_loss", "keras/train:epoch_loss", "keras/validation:epoch_loss"} <= set(charts)
    scalars = {(chart["run"], chart["tag"]): chart for chart in debug(page)["scalars"]["charts"]}
    assert scalars[("train", "batch_loss")]["points"] == 8 and scalars[("validation", "epoch_loss")]["points"] == 2

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


def test_the_served_board_shows_the_four_dashboards(logs):
    with BoardServer(logs, port=0) as server, chromium() as browser:
        server.start()
        requests: list[str] = []
        page, errors = open_board(browser, server.url, requests)
        check_dashboards(page)
        assert debug(page)["token"]                                   # polling the server
    assert errors == []
    assert all(url.startswith((server.url, "data:", "blob:")) for url in requests), requests


def test_the_exported_file_shows_the_four_dashboards_offline(logs, tmp_path):
    path = export_html(logs, tmp_path / "board.html")
    requests: list[str] = []
    with chromium() as browser:
        page, errors = open_board(browser, path.resolve().as_uri(), requests)
        check_dashboards(page)
    assert errors == []
    assert all(url.startswith(("file:", "data:", "blob:")) for url in requests), requests
