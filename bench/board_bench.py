"""The board's Python side: reading, listing and payload building (SPEC §9, issue 12).

Prints, in one run:
  * MB/s of a first ``LogDir.refresh()`` over one run of 1,000,000 scalars in 20 tags (the
    loader on top of ``gk.summary.EventFileReader``: discovery, reading, per-tag joining), and
    of a refresh reading 10 % appended to it (target >= 50 MB/s);
  * seconds to list a log directory of 100 runs x 20 tags: the first refresh plus the payload,
    and a refresh that finds nothing new (a live poll) (target < 1 s);
  * seconds to build the payload of a 10^6-step tag, full (served) and embedded (reduced to
    4,096 buckets' minima and maxima), with its JSON encoding.
Every figure is the best of several repeats.
"""
from __future__ import annotations

import json
import os
import tempfile
import time

import numpy as np

import graphkit as gk
from graphkit.board import LogDir, build_payload

REPEATS = 5


def best_seconds(action, setup=lambda: None, repeat: int = REPEATS) -> float:
    times = []
    for _ in range(repeat):
        state = setup()
        start = time.perf_counter()
        action(state)
        times.append(time.perf_counter() - start)
    return min(times)


def write_run(path: str, tags: int, steps: int, first_step: int = 0) -> None:
    writer = gk.summary.create_file_writer(path, max_queue=1000)
    scalar = gk.summary.scalar
    names = [f"metric_{index:02d}" for index in range(tags)]
    with writer.as_default():
        for step in range(first_step, first_step + steps):
            for name in names:
                scalar(name, 0.001 * step, step=step)
    writer.close()


def directory_bytes(path: str) -> int:
    return sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(path) for name in names)


def read_speed(root: str) -> dict[str, float]:
    logdir = os.path.join(root, "read")
    write_run(os.path.join(logdir, "run"), tags=20, steps=50_000)
    size = directory_bytes(logdir)

    seconds = best_seconds(lambda _: LogDir(logdir).refresh())
    board = LogDir(logdir)
    board.refresh()
    write_run(os.path.join(logdir, "run"), tags=20, steps=5_000, first_step=50_000)
    appended = directory_bytes(logdir) - size
    start = time.perf_counter()
    board.refresh()
    board.runs["run"].scalars()
    appended_seconds = time.perf_counter() - start         # once: a second refresh finds nothing
    return {"MB": size / 1e6, "MB/s first refresh": size / 1e6 / seconds,
            "appended MB": appended / 1e6, "MB/s appended refresh": appended / 1e6 / appended_seconds}


def listing(root: str) -> dict[str, float]:
    logdir = os.path.join(root, "list")
    for run in range(100):
        write_run(os.path.join(logdir, f"run_{run:03d}"), tags=20, steps=10)

    def first_listing(_):
        board = LogDir(logdir)
        board.refresh()
        json.dumps(build_payload(board, embedded=False))
    board = LogDir(logdir)
    board.refresh()
    return {"s first refresh + payload (100 runs x 20 tags)": best_seconds(first_listing),
            "s refresh with nothing new": best_seconds(lambda _: board.refresh())}


def payload_build(root: str) -> dict[str, float]:
    logdir = os.path.join(root, "long")
    writer = gk.summary.create_file_writer(os.path.join(logdir, "run"), max_queue=1000)
    values = np.sin(np.arange(1_000_000) / 5000.0)
    with writer.as_default():
        for step, value in enumerate(values.tolist()):
            gk.summary.scalar("loss", value, step=step)
    writer.close()
    board = LogDir(logdir)
    board.refresh()
    return {kind + suffix: best_seconds(lambda _: encode(build_payload(board, embedded=embedded)))
            for kind, embedded in (("full", False), ("embedded", True))
            for suffix, encode in ((" s build", lambda payload: payload), (" s build + JSON", json.dumps))}


def main() -> None:
    with tempfile.TemporaryDirectory() as root:
        for title, measure in (("reading event files", read_speed), ("listing a log directory", listing),
                               ("payload of a 10^6-step tag", payload_build)):
            print(f"{title}:")
            for name, value in measure(root).items():
                print(f"  {name:50s} {value:10.3f}")


if __name__ == "__main__":
    main()
