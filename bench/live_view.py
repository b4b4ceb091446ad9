"""Speed of the pictures' Python side (SPEC 9; there is no peer to compare with):

* the live view per layer call while a 200-layer graph is built (target < 20 ms per call),
  its messages JSON-encoded as the kernel would send them;
* ``summary()`` and ``model_to_dot`` of a 1,000-layer model (target < 0.2 s each);
* re-run cells: the notebook cell ``view = gk.live()`` run 10 times, then 100 ten-layer models
  built: with each run replacing the cell's view (one recorder) against 10 views left
  recording (what re-running did before views were keyed on their cell), and no view at all.

Run: ``.venv/bin/python bench/live_view.py``.
"""
from __future__ import annotations

import gc
import json
import os
import statistics
import time

import graphkit as gk
from graphkit.global_state import SUBSCRIBERS
from graphkit.layers.layer import clear_session
from graphkit.viz.live_view import LiveView

L = gk.layers
LIVE_TARGET_MS = 20.0
PICTURE_TARGET_S = 0.2


def residual_graph(layers: int, width: int = 32):
    """``layers`` layer calls: Dense / BatchNormalization / Activation blocks joined by residual adds.
    Returns (input, output, per-call seconds)."""
    times = []
    inputs = gk.Input((width,), name="x")
    x = skip = inputs
    kinds = [lambda: L.Dense(width), lambda: L.BatchNormalization(), lambda: L.Activation("relu")]
    while len(times) < layers:
        if len(times) % 4 == 3:
            start = time.perf_counter()
            x = skip = L.add([x, skip])
        else:
            layer = kinds[len(times) % 4]()
            start = time.perf_counter()
            x = layer(x)
        times.append(time.perf_counter() - start)
    return inputs, x, times


def bench_live(layers: int = 200) -> None:
    clear_session()
    _, _, plain = residual_graph(layers)
    clear_session()
    view = LiveView()
    sent: list[int] = []
    view.send = lambda content, buffers=None: sent.append(len(json.dumps(content)))
    inputs, outputs, timed = residual_graph(layers)
    deltas = len(sent)
    start = time.perf_counter()
    gk.Model(inputs, outputs, name="residual")
    grouping = time.perf_counter() - start
    start = time.perf_counter()
    view._on_message(view, {"type": "hello", "need_core": False}, [])
    hello = time.perf_counter() - start
    view.close()
    extra = [(t - p) * 1e3 for t, p in zip(timed, plain)]
    print(f"live view, {layers}-layer graph ({len(view.nodes)} nodes, {len(view.edges)} edges):")
    print(f"  layer call with the view: mean {statistics.mean(timed) * 1e3:.2f} ms, "
          f"max {max(timed) * 1e3:.2f} ms (without: mean {statistics.mean(plain) * 1e3:.2f} ms)")
    print(f"  the view's share per call: mean {statistics.mean(extra):.2f} ms, max {max(extra):.2f} ms"
          f"  -> target < {LIVE_TARGET_MS:.0f} ms: {'OK' if max(timed) * 1e3 < LIVE_TARGET_MS else 'MISSED'}")
    print(f"  {deltas} deltas, mean {statistics.mean(sent[:deltas]) / 1024:.1f} KiB; model creation "
          f"(grouping {layers} nodes) {grouping * 1e3:.1f} ms; hello -> whole graph {hello * 1e3:.1f} ms "
          f"({sent[-1] / 1024:.0f} KiB)")


def best_of(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_pictures(layers: int = 1000) -> None:
    clear_session()
    x = inputs = gk.Input((16,), name="x")
    for _ in range(layers):
        x = L.Dense(16)(x)
    model = gk.Model(inputs, x, name="deep")
    print(f"{layers}-layer model (best of 5):")
    for name, fn in [("summary()", lambda: model.summary(print_fn=lambda text: None)),
                     ("model_to_dot(show_shapes=True)", lambda: gk.utils.model_to_dot(model, show_shapes=True))]:
        seconds = best_of(fn)
        print(f"  {name}: {seconds * 1e3:.1f} ms -> target < {PICTURE_TARGET_S * 1e3:.0f} ms: "
              f"{'OK' if seconds < PICTURE_TARGET_S else 'MISSED'}")
    seconds = best_of(lambda: gk.viz.model_graph(model))
    print(f"  model_graph (graph JSON, for information): {seconds * 1e3:.1f} ms")


def rss_mb() -> float:
    """The process's resident memory now (Linux), in MB."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def build_models(count: int = 100, depth: int = 10) -> float:
    """Seconds to build ``count`` ``depth``-layer Dense models."""
    start = time.perf_counter()
    for _ in range(count):
        x = inputs = gk.Input((16,))
        for _ in range(depth):
            x = L.Dense(16)(x)
        gk.Model(inputs, x)
    return time.perf_counter() - start


def bench_rerun_cells(reruns: int = 10) -> None:
    from IPython.core.interactiveshell import InteractiveShell
    from ipywidgets.widgets.widget import _instances
    shell = InteractiveShell.instance()
    print(f"re-running the cell `view = gk.live()` {reruns} times, then 100 ten-layer models:")
    for case in ("no view", "each run replaces the cell's view", "views left recording (before)"):
        clear_session()
        before = rss_mb()
        for run in range(reruns if case != "no view" else 0):
            # a notebook kernel's execute request: the same cell id, a new message id per run;
            # without a cell id (the "before" case) nothing is replaced
            keyed = case.startswith("each")
            shell.parent_header = {"header": {"msg_id": f"run-{run}"},
                                   "metadata": {"cellId": "cell-1"}} if keyed else {}
            gk.live()
        seconds = build_models()
        print(f"  {case:34s} {seconds:6.2f} s, memory {before:5.0f} -> {rss_mb():5.0f} MB "
              f"({len(SUBSCRIBERS.layer_call)} recording)")
        for widget in list(_instances.values()):
            widget.close()
        gc.collect()
    clear_session()
    InteractiveShell.clear_instance()


if __name__ == "__main__":
    bench_live()
    bench_pictures()
    bench_rerun_cells()
