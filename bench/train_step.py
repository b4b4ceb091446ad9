"""Training-step time of the 784-64-64-10 MLP (batch 64, RMSprop, sparse softmax crossentropy):
graphkit vs PyTorch CPU eager vs a hand-written numpy step.

graphkit is timed three ways:

- ``train_on_batch``: the public call (argument checks, metric reset, logs);
- ``inner step``: ``model._train_batch(x, [y], None)``, the step ``fit`` runs per batch (one
  GradientTape over forward + loss, ``optimizer.apply``, the loss tracker update);
- ``fit (per batch)``: ``fit`` over 16 batches, verbose=0, divided by the batch count (includes
  shuffling, batching and callbacks).

Each peer runs at its best of 1 and 2 threads (BLAS threads via threadpoolctl for graphkit and
numpy, ``torch.set_num_threads`` for torch). Prints microseconds per step and the ratios
graphkit / peer (< 1 means graphkit is faster). SPEC 9 asks for <= 1.0x PyTorch and <= 2x numpy.

    .venv/bin/python bench/train_step.py [--profile]
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import timeit

import numpy as np

import graphkit as gk
from graphkit import examples

BATCH, IN, HIDDEN, CLASSES = 64, 784, 64, 10
LR, RHO, EPS = 0.001, 0.9, 1e-7


def best_us(make_step, number: int = 100, repeat: int = 5, per_call: int = 1) -> float:
    """Best time per step over ``repeat`` runs of ``number`` calls of a fresh step function.

    Each peer starts from fresh weights and optimizer state and runs at most ~600 steps, so the
    RMSprop velocities of units that stopped learning (relu units dead on this one batch) never
    decay into float32 denormals, whose arithmetic is ~10x slower on x86 and would make the
    numbers depend on how long a case ran rather than on the code.
    """
    fn = make_step()
    for _ in range(10):
        fn()  # warm up
    best = min(timeit.repeat(fn, number=number, repeat=repeat))
    return best / (number * per_call) * 1e6


def set_threads(n: int) -> None:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return
    threadpool_limits(n)


def data(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.random((BATCH, IN), dtype=np.float32)
    y = rng.integers(0, CLASSES, BATCH).astype(np.int32)
    return x, y


# ----------------------------------------------------------------------------- graphkit
def graphkit_model():
    gk.random.set_seed(0)
    model = examples.mlp()
    model.compile(optimizer=gk.optimizers.RMSprop(learning_rate=LR),
                  loss=gk.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


# ----------------------------------------------------------------------------- numpy
class NumpyMLP:
    """A hand-written step: dense-relu-dense-relu-dense, softmax crossentropy (mean over the batch),
    Keras's RMSprop (rho 0.9, eps 1e-7), with in-place updates."""

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        sizes = [IN, HIDDEN, HIDDEN, CLASSES]
        self.w = [(rng.standard_normal((a, b)) * np.sqrt(2 / (a + b))).astype(np.float32)
                  for a, b in zip(sizes[:-1], sizes[1:])]
        self.b = [np.zeros(b, np.float32) for b in sizes[1:]]
        self.params = [p for pair in zip(self.w, self.b) for p in pair]
        self.vel = [np.zeros_like(p) for p in self.params]

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        w1, w2, w3 = self.w
        b1, b2, b3 = self.b
        h1 = x @ w1
        h1 += b1
        np.maximum(h1, 0, out=h1)
        h2 = h1 @ w2
        h2 += b2
        np.maximum(h2, 0, out=h2)
        z = h2 @ w3
        z += b3
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)  # softmax probabilities
        n = len(y)
        rows = np.arange(n)
        loss = -float(np.log(z[rows, y]).mean())
        z[rows, y] -= 1
        z /= n  # dL/dlogits
        g_w3 = h2.T @ z
        g_b3 = z.sum(axis=0)
        d2 = z @ w3.T
        d2 *= h2 > 0
        g_w2 = h1.T @ d2
        g_b2 = d2.sum(axis=0)
        d1 = d2 @ w2.T
        d1 *= h1 > 0
        g_w1 = x.T @ d1
        g_b1 = d1.sum(axis=0)
        for p, v, g in zip(self.params, self.vel, (g_w1, g_b1, g_w2, g_b2, g_w3, g_b3)):
            v *= RHO
            v += (1 - RHO) * g * g
            denom = np.sqrt(v)
            denom += EPS
            np.divide(g, denom, out=denom)
            denom *= LR
            p -= denom
        return loss


# ----------------------------------------------------------------------------- torch
def torch_step():
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(IN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
                          nn.Linear(HIDDEN, CLASSES))
    opt = torch.optim.RMSprop(model.parameters(), lr=LR, alpha=RHO, eps=EPS)
    loss_fn = nn.CrossEntropyLoss()
    x, y = data()
    tx, ty = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(tx), ty)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def graphkit_cases(x, y):
    """Factories of fresh graphkit step functions, by case name."""
    def inner():
        model = graphkit_model()
        model.train_on_batch(x, y)  # builds the plan and the optimizer
        ys = [y]
        return lambda: model._train_batch(x, ys, None)

    def on_batch():
        model = graphkit_model()
        return lambda: model.train_on_batch(x, y)

    def fit():
        model = graphkit_model()
        big_x, big_y = np.tile(x, (FIT_BATCHES, 1)), np.tile(y, FIT_BATCHES)
        return lambda: model.fit(big_x, big_y, batch_size=BATCH, epochs=1, verbose=0, shuffle=True)

    return {"train_on_batch": (on_batch, 100, 1), "inner step": (inner, 100, 1),
            "fit (per batch)": (fit, 6, FIT_BATCHES)}


FIT_BATCHES = 16


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="store_true", help="cProfile 500 inner steps and print the top 30")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved measuring rounds (best is kept)")
    args = parser.parse_args()
    x, y = data()
    cases = graphkit_cases(x, y)

    if args.profile:
        set_threads(1)
        step = cases["inner step"][0]()
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(500):
            step()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        return

    cases["numpy step"] = (lambda: (lambda m: (lambda: m.step(x, y)))(NumpyMLP()), 100, 1)
    try:
        import torch
        cases["torch step"] = (torch_step, 100, 1)
    except ImportError:
        torch = None
        print("(torch is not installed: no PyTorch comparison)")
    results: dict[str, float] = {}
    # Rounds interleave the peers, so a burst of load on a shared machine hits them alike; each
    # result is the best over rounds and thread counts.
    for _ in range(args.rounds):
        for name, (make, number, per_call) in cases.items():
            for threads in (1, 2):
                set_threads(threads)
                if name == "torch step":
                    torch.set_num_threads(threads)
                t = best_us(make, number=number, per_call=per_call)
                results[name] = min(results.get(name, t), t)

    torch_us, numpy_us = results.get("torch step"), results["numpy step"]
    print(f"784-64-64-10 MLP, batch {BATCH}, RMSprop: microseconds per training step (best of 1 and 2 threads)")
    print(f"{'case':<18} {'us/step':>9} {'/ torch':>8} {'/ numpy':>8}")
    for name, us in results.items():
        vs_torch = f"{us / torch_us:8.2f}" if torch_us else f"{'-':>8}"
        print(f"{name:<18} {us:9.1f} {vs_torch} {us / numpy_us:8.2f}")


if __name__ == "__main__":
    main()
