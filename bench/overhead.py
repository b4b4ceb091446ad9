"""Per-op overhead of graphkit's engine against plain numpy (and PyTorch CPU when installed).

Prints microseconds per call and the ratio graphkit / peer for
  * a small elementwise op (x + y on 64 float32 values), eager and under a recording tape;
  * a 64x64 matmul forward + backward.
Then the cost of the event sites (graphkit.events): x + y and the MLP inner training step of
bench/train_step.py with no subscriber (each site one attribute check) and with one no-op
``primitive`` subscriber (every forward and backward primitive call timed and published).
Run with `make bench` (sets OPENBLAS_NUM_THREADS=1 so timings are stable).
"""
from __future__ import annotations

import timeit

import numpy as np

import graphkit as gk


def best_us(fn, number: int = 2000, repeat: int = 7) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def elementwise() -> dict[str, float]:
    a, b = np.random.rand(64).astype(np.float32), np.random.rand(64).astype(np.float32)
    ta, tb = gk.constant(a), gk.constant(b)
    va = gk.Variable(a)
    results = {"numpy": best_us(lambda: a + b), "graphkit": best_us(lambda: ta + tb)}

    def taped():
        with gk.GradientTape():
            return va + tb
    results["graphkit (recorded)"] = best_us(taped) - best_us(lambda: gk.GradientTape().__enter__().__exit__())
    return results


def matmul_backward() -> dict[str, float]:
    x = np.random.rand(64, 64).astype(np.float32)
    w = np.random.rand(64, 64).astype(np.float32)
    g = np.ones((64, 64), np.float32)

    def numpy_step():
        y = x @ w
        return x.T @ g, g @ w.T, y

    tx, tw = gk.constant(x), gk.Variable(w)

    def gk_step():
        with gk.GradientTape() as tape:
            y = gk.ops.sum(tx @ tw)
        return tape.gradient(y, tw)

    return {"numpy": best_us(numpy_step, 500), "graphkit": best_us(gk_step, 500)}


def event_sites() -> dict[str, float]:
    from train_step import best_us as best_step_us, data, graphkit_cases
    ta, tb = gk.constant(np.random.rand(64).astype(np.float32)), gk.constant(np.random.rand(64).astype(np.float32))
    inner_step = graphkit_cases(*data())["inner step"][0]

    def no_op(*event) -> None:
        pass

    results = {"x + y": best_us(lambda: ta + tb), "MLP inner step": best_step_us(inner_step)}
    with gk.events.subscribed("primitive", no_op):
        results["x + y, 1 subscriber"] = best_us(lambda: ta + tb)
        results["MLP inner step, 1 subscriber"] = best_step_us(inner_step)
    return results


def torch_peers() -> dict[str, dict[str, float]]:
    try:
        import torch
    except ImportError:
        return {}
    torch.set_num_threads(1)
    a, b = torch.rand(64), torch.rand(64)
    x = torch.rand(64, 64)
    w = torch.rand(64, 64, requires_grad=True)

    def step():
        w.grad = None
        (x @ w).sum().backward()
    return {"elementwise": {"torch": best_us(lambda: a + b)}, "matmul": {"torch": best_us(step, 500)}}


def main() -> None:
    peers = torch_peers()
    for title, results, extra in (("x + y (64 values)", elementwise(), peers.get("elementwise", {})),
                                  ("64x64 matmul fwd+bwd", matmul_backward(), peers.get("matmul", {}))):
        results.update(extra)
        print(title)
        for name, us in results.items():
            print(f"  {name:<22} {us:8.2f} µs")
        print(f"  ratio graphkit/numpy  {results['graphkit'] / results['numpy']:8.2f}")
        if "torch" in results:
            print(f"  ratio graphkit/torch  {results['graphkit'] / results['torch']:8.2f}")
    print("event sites (no subscriber, then one no-op primitive subscriber)")
    for name, us in event_sites().items():
        print(f"  {name:<30} {us:8.2f} µs")


if __name__ == "__main__":
    main()
