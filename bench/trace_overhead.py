"""Cost of ``gk.trace`` on a training step of the SPEC models (issue 12: layer level <= 10 %).

Models: the 784-64-64-10 MLP of ``bench/train_step.py`` (batch 64) and the conv net and LSTM of
``bench/train_step_models.py``, RMSprop, sparse softmax crossentropy. For each model the inner
step ``fit`` runs per batch (``model._train_batch``) is timed untraced, inside a layer-level
trace and inside an op-level trace, alternating the three in one process (best of ``REPEAT``
rounds of about 50 ms of steps each), at one BLAS thread, in the process's CPU time (the
machine is shared: wall time measures the neighbours as much as the code). A trace turns its
records into spans when it stops (and at epoch ends); that assembly is timed apart and given per
step, so recording + assembly is what tracing adds to a step ("direct").

The difference of two step times is noisier there than the tracer's cost, so the handlers are
also timed alone, replaying a step's captured events into a trace: "components" = (handlers +
assembly) / untraced step is the steadier figure.

    .venv/bin/python bench/trace_overhead.py
"""
from __future__ import annotations

import time
import timeit

import numpy as np

import graphkit as gk
from graphkit import events, examples

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
    return {**best, "layer_assembly": assembly["layer"], "op_assembly": assembly["op"],
            "layer_handlers": handler_us(step, "layer"), "op_handlers": handler_us(step, "op")}


def handler_us(step, level: str, steps: int = 20) -> float:
    """Best µs per step spent in the trace's event handlers: a step's events are captured once,
    then replayed into a trace's handlers (the same calls, without the step's own work, whose
    noise on a shared machine is larger than the handlers' cost)."""
    captured: list = []
    kinds = ("primitive", "layer_call", "optimizer_update")
    capture = {kind: (lambda kind: lambda *payload: captured.append((kind, payload)))(kind) for kind in kinds}
    for kind in kinds:
        events.subscribe(kind, capture[kind])
    try:
        for _ in range(steps):
            step()
    finally:
        for kind in kinds:
            events.unsubscribe(kind, capture[kind])
    trace = gk.trace(level=level).start()
    handlers = dict(trace._handlers)
    replay = [(handlers[kind], payload) for kind, payload in captured]
    best = float("inf")
    for _ in range(REPEAT):
        began = CLOCK()
        for handler, payload in replay:
            handler(*payload)
        best = min(best, CLOCK() - began)
        trace._raw.clear()
    trace.stop()
    return best / steps * 1e6


def main() -> None:
    set_blas_threads(1)
    print("direct: traced step + assembly vs untraced step, alternated in one process (best of rounds)")
    print("components: (handlers replayed + assembly) / untraced step")
    print(f"{'model':<6} {'untraced µs':>12} | {'layer µs':>9} {'asm':>5} {'direct':>7} {'handlers':>8} {'comp.':>6} "
          f"| {'op µs':>9} {'asm':>5} {'direct':>7} {'handlers':>8} {'comp.':>6}")
    for name, (model, x, y) in cases():
        r = measure(model, x, y)
        base = r["untraced"]
        cells = []
        for level in ("layer", "op"):
            direct = 100 * (r[level] + r[f"{level}_assembly"] - base) / base
            components = 100 * (r[f"{level}_handlers"] + r[f"{level}_assembly"]) / base
            cells.append(f"{r[level]:9.1f} {r[f'{level}_assembly']:5.1f} {direct:6.1f}% "
                         f"{r[f'{level}_handlers']:8.1f} {components:5.1f}%")
        print(f"{name:<6} {base:12.1f} | {cells[0]} | {cells[1]}")


if __name__ == "__main__":
    main()
