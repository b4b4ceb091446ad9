"""The board's front end in Chromium (issue 12's targets): ``python bench/board_frontend_bench.py``.

Prints, in one run (each figure the best of several page loads):
  * first paint of a 10^6-point scalar tag: milliseconds from calling ``mountBoard`` with the
    parsed payload (base64 float64 arrays, as the served board sends them) to the chart's first
    draw (decoding, TensorBoard smoothing, per-pixel min/max downsampling, uPlot) (target < 1 s);
  * zooming that chart: milliseconds from the zoom call to its redraw (target < 50 ms), for a
    zoom into the middle tenth and back to everything;
  * the same for one chart overlaying two runs of 10^6 points each (each run downsampled on its
    own, then the runs joined on one x array);
  * 16 charts of 100,000 points each: milliseconds from ``mountBoard`` to the last chart's
    first draw (target < 1 s).
Needs the built bundle (``npm run build`` in labextension/), chromium and playwright.
"""
from __future__ import annotations

import functools
import http.server
import json
import shutil
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from browser import chromium  # noqa: E402
from test_board_frontend import BUNDLE, PAGE, scalar_series  # noqa: E402

REPEATS = 3

MOUNT = """async file => {
    const { mountBoard } = await import('./graphkit-board.js');
    const payload = await (await fetch(file)).json();
    const host = document.getElementById('board');
    const start = performance.now();
    mountBoard(host, { payload });
    const charts = () => host.__gkBoard.debug().scalars.charts;
    while (!charts().every(c => c.paints > 0)) {
        await new Promise(r => setTimeout(r, 5));
    }
    return Math.max(...charts().map(c => c.lastPaint)) - start;
}"""

ZOOM = """async ([tag, lo, hi]) => {
    const board = document.getElementById('board').__gkBoard;
    const chart = board.board.dashboards.scalars.chart(tag);
    const timings = [];
    for (const range of [[lo, hi], null]) {
        const start = performance.now();
        chart.zoomTo(range);
        await new Promise(r => setTimeout(r, 0));
        timings.push(chart.debug().lastPaint - start);
    }
    return timings;
}"""


def payload(tags: dict[str, int], runs: tuple[str, ...] = ("train",)) -> dict:
    """Runs `runs`, each logging every tag of `tags` (tag -> points): random values with one spike."""
    rng = np.random.default_rng(0)

    def run(name: str) -> dict:
        scalars = {}
        for tag, points in tags.items():
            values = rng.random(points)
            values[points // 3] = 100.0
            scalars[tag] = scalar_series(np.arange(points), values)
        return {"name": name, "scalars": scalars, "histograms": {}, "text": {}, "graph": None, "spans": None}

    return {"format": "graphkit.board", "version": 1, "title": "bench", "live": False,
            "runs": [run(name) for name in runs]}


def paint_and_zoom(browser, site: str, file: str) -> tuple[float, float, float]:
    """First paint of `file`'s board, then zooming its `loss` chart in and out (milliseconds)."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(site + "index.html")
    first = page.evaluate(MOUNT, file)
    zoom_in, zoom_out = page.evaluate(ZOOM, ["loss", 450_000, 550_000])
    page.close()
    return first, zoom_in, zoom_out


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def main() -> None:
    if not BUNDLE.is_file():
        sys.exit(f"{BUNDLE} is not built: run `npm run build` in labextension/")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copy(BUNDLE, root / BUNDLE.name)
        (root / "index.html").write_text(PAGE, encoding="utf-8")
        (root / "big.json").write_text(json.dumps(payload({"loss": 1_000_000})), encoding="utf-8")
        (root / "two.json").write_text(json.dumps(payload({"loss": 1_000_000}, ("train", "validation"))),
                                       encoding="utf-8")
        (root / "many.json").write_text(json.dumps(payload({f"tag{i:02d}": 100_000 for i in range(16)})),
                                        encoding="utf-8")
        server, site = serve(root)
        one, two, many = [], [], []
        try:
            with chromium() as browser:
                for _ in range(REPEATS):
                    one.append(paint_and_zoom(browser, site, "big.json"))
                    two.append(paint_and_zoom(browser, site, "two.json"))
                    page = browser.new_page(viewport={"width": 1200, "height": 900})
                    page.goto(site + "index.html")
                    many.append(page.evaluate(MOUNT, "many.json"))
                    page.close()
        finally:
            server.shutdown()
            server.server_close()
    for label, timings in (("a 10^6-point tag", one), ("two runs x 10^6 points, one chart", two)):
        first, zoom_in, zoom_out = (min(column) for column in zip(*timings))
        print(f"{label}:")
        print(f"  first paint:                       {first:7.1f} ms  (target < 1000)")
        print(f"  zoom into a tenth:                 {zoom_in:7.1f} ms  (target < 50)")
        print(f"  zoom back out to everything:       {zoom_out:7.1f} ms  (target < 50)")
    print(f"16 charts x 100,000 points, painted: {min(many):7.1f} ms  (target < 1000)")


if __name__ == "__main__":
    main()
