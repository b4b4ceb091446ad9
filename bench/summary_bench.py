"""gk.summary's event files against TensorBoard's own Python writer and reader.

Prints, in one run:
  * microseconds per ``gk.summary.scalar`` call (default queue: 10 records) against
    ``torch.utils.tensorboard.SummaryWriter.add_scalar`` (tensorboardX's code, when torch is
    installed) and TensorBoard's ``EventFileWriter.add_event`` of a ``scalar_pb`` event (the
    bare writer, no summary building), as ratios;
  * read speed in MB/s of ``gk.summary.EventFileReader`` and TensorBoard's ``EventAccumulator``
    on one file of 200,000 scalars over 10 tags (the issue's case), and on the same run with a
    histogram (4096 values, 30 buckets) every 100 steps;
  * CRC-32C speed: the byte loop the writer uses and the bulk numpy path the reader uses.
Every figure is the best of several repeats (of many short batches for gk.summary.scalar).
Needs the ``tensorboard`` package.
"""
from __future__ import annotations

import os
import tempfile
import time
import timeit

import numpy as np

import graphkit as gk
from graphkit.summary.crc32c import crc32c, crc32c_segments

CALLS = 2000            # per timed batch; the best of many short batches dodges a busy machine
SCALARS = 200_000
TAGS = 10


def best_us(fn, number: int, repeat: int = 7) -> float:
    return min(timeit.repeat(fn, number=1, repeat=repeat)) / number * 1e6


def scalar_write_us(logdir: str) -> dict[str, float]:
    """Microseconds per scalar written (queueing, encoding, framing and the file writes)."""
    results = {}
    writer = gk.summary.create_file_writer(os.path.join(logdir, "gk"))
    scalar = gk.summary.scalar
    steps = iter(range(10**9))                 # steps keep growing across batches (2-3 byte varints)

    def ours():
        for _, step in zip(range(CALLS), steps):
            scalar("train/loss", 0.5, step=step)
    with writer.as_default():
        results["gk.summary.scalar"] = best_us(ours, CALLS, repeat=50)
    writer.close()

    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.plugins.scalar.summary_v2 import scalar_pb
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    tb_writer = EventFileWriter(os.path.join(logdir, "tb"))

    def tensorboard():
        for step in range(CALLS):
            tb_writer.add_event(Event(wall_time=time.time(), step=step, summary=scalar_pb("train/loss", 0.5)))
    results["tensorboard EventFileWriter"] = best_us(tensorboard, CALLS, repeat=5)
    tb_writer.close()

    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return results
    torch_writer = SummaryWriter(os.path.join(logdir, "torch"))

    def torch_add_scalar():
        for step in range(CALLS // 4):
            torch_writer.add_scalar("train/loss", 0.5, global_step=step)
    results["torch SummaryWriter.add_scalar"] = best_us(torch_add_scalar, CALLS // 4, repeat=5)
    torch_writer.close()
    return results


def write_run(logdir: str, histograms: bool) -> str:
    rng = np.random.default_rng(0)
    writer = gk.summary.create_file_writer(logdir, max_queue=1000)
    with writer.as_default():
        for index in range(SCALARS):
            step = index // TAGS
            gk.summary.scalar(f"train/metric_{index % TAGS}", float(rng.normal()), step=step)
            if histograms and index % (100 * TAGS) == 0:
                gk.summary.histogram("weights", rng.normal(size=4096), step=step)
    writer.close()
    return writer.path


def read_mb_per_s(path: str) -> dict[str, float]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    size = os.path.getsize(path) / 1e6

    def ours():
        gk.summary.EventFileReader(path).read_new()

    def tensorboard():
        EventAccumulator(path, size_guidance={"scalars": 0, "histograms": 0}).Reload()
    return {"gk EventFileReader": size / (best_us(ours, 1, repeat=5) / 1e6),
            "tensorboard EventAccumulator": size / (best_us(tensorboard, 1, repeat=1) / 1e6),
            "file MB": size}


def crc_mb_per_s() -> dict[str, float]:
    rng = np.random.default_rng(1)
    record = rng.integers(0, 256, 50, dtype=np.uint8).tobytes()
    buffer = rng.integers(0, 256, 10_000_000, dtype=np.uint8)
    starts = np.arange(0, buffer.size - 64, 66)
    return {"byte loop, 50-byte records": 50 / best_us(lambda: crc32c(record), 1, repeat=2000),
            "numpy, 64-byte segments": buffer.size / best_us(
                lambda: crc32c_segments(buffer, starts, np.full(starts.size, 64), width=64), 1, repeat=5),
            "numpy, one 10 MB buffer": buffer.size / best_us(
                lambda: crc32c_segments(buffer, [0], [buffer.size], width=256), 1, repeat=5)}


def main() -> None:
    with tempfile.TemporaryDirectory() as logdir:
        writes = scalar_write_us(logdir)
        print("µs per scalar written")
        for name, us in writes.items():
            print(f"  {name:34s} {us:8.2f} µs   peer / gk = {us / writes['gk.summary.scalar']:6.1f}")
        for histograms in (False, True):
            path = write_run(os.path.join(logdir, f"read{int(histograms)}"), histograms)
            speeds = read_mb_per_s(path)
            print(f"reading {SCALARS} scalars{' + a histogram every 100 steps' if histograms else ''} "
                  f"({speeds.pop('file MB'):.1f} MB)")
            for name, rate in speeds.items():
                print(f"  {name:34s} {rate:8.1f} MB/s")
    print("CRC-32C")
    for name, rate in crc_mb_per_s().items():
        print(f"  {name:34s} {rate:8.1f} MB/s")


if __name__ == "__main__":
    main()
