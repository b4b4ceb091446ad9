"""Cost of ``gk.trace`` on a training step of the SPEC models (issue 12: layer level <= 10 %).

Models: the 784-64-64-10 MLP of ``bench/train_step.py`` (batch 64) and the conv net and LSTM of
``bench/train_step_models.py``, RMSprop, sparse softmax crossentropy. For each model the inner
step ``fit`` runs per batch (``model._train_batch``) is timed untraced, inside a layer-level trace
and inside an op-level trace, alternating the three in one process (best of ``REPEAT`` rounds
of about 50 ms of steps each), at one BLAS thread, in CPU time of the process (``time.process_time``:
the machine is shared, and wall time there measures the neighbours as much as the code). A trace also turns its records into spans when
it stops (and at epoch ends); that work is timed separately and reported per step, so
``total`` = recording + assembly is the whole cost a traced step adds.

    .venv/bin/python bench/trace_overhead.py
"""
from __future__ import annotations

import time
import timeit

import numpy as np

import graphkit as gk
from graphkit import examples

from train_step_models import data, graphkit_models, set_blas_threads

REPEAT, ROUND_SECONDS = 25, 0.05       # rounds per case; steps per round fill about ROUND_SECONDS
CLOCK = time.process_time


def mlp_case():
    model = examples.mlp()
    model.compile(optimizer=gk.optimizers.RMSprop(learning_rate=0.001),
                  loss=gk.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    return model, rng.random((64, 784), dtype=np.float32), rng.integers(0, 10, 64).astype(np.int32)


def cases():
    models, batches = graphkit_models(), data()
    yield "mlp", mlp_case()
    for name in ("conv", "lstm"):
        x, y = batches[name]
        yield name, (models[name], x, y.astype(np.int32))


def measure(model, x, y) -> dict[str, float]:
    """Best µs per step untraced and traced at each level, and assembly µs per step."""
    model.train_on_batch(x, y)                        # builds the training plan
    step = lambda: model._train_batch(x, [y], None)   # noqa: E731
    began = CLOCK()
    for _ in range(5):
        step()
    number = max(2, int(ROUND_SECONDS / max(1e-6, (CLOCK() - began) / 5)))
    best = {"untraced": float("inf"), "layer": float("inf"), "op": float("inf")}
    assembly = {"layer": float("inf"), "op": float("inf")}
    for _ in range(REPEAT):
        best["untraced"] = min(best["untraced"], timeit.timeit(step, CLOCK, number=number) / number * 1e6)
        for level in ("layer", "op"):
            trace = gk.trace(level=level).start()
            best[level] = min(best[level], timeit.timeit(step, CLOCK, number=number) / number * 1e6)
            began = CLOCK()
            trace.stop()
            assembly[level] = min(assembly[level], (CLOCK() - began) / number * 1e6)
    return {**best, "layer_assembly": assembly["layer"], "op_assembly": assembly["op"]}


def main() -> None:
    set_blas_threads(1)
    print(f"{'model':<6} {'untraced µs':>12} {'layer µs':>9} {'+asm':>6} {'layer %':>8} "
          f"{'op µs':>9} {'+asm':>6} {'op %':>7}")
    for name, (model, x, y) in cases():
        r = measure(model, x, y)
        base = r["untraced"]
        layer = 100 * (r["layer"] + r["layer_assembly"] - base) / base
        op = 100 * (r["op"] + r["op_assembly"] - base) / base
        print(f"{name:<6} {base:12.1f} {r['layer']:9.1f} {r['layer_assembly']:6.1f} {layer:7.1f}% "
              f"{r['op']:9.1f} {r['op_assembly']:6.1f} {op:6.1f}%")


if __name__ == "__main__":
    main()
