"""Training-step time of the SPEC models on a GPU: graphkit on CuPy vs graphkit on NumPy vs
PyTorch CUDA, and graphkit's host syncs per training step.

Models: the 784-64-64-10 MLP (batch 64, bench/train_step.py) and the conv net, LSTM and MNIST
convnet of bench/train_step_models.py, all with RMSprop on sparse softmax cross-entropy.

- graphkit (NumPy and CuPy) is timed inside ``fit`` (``verbose=0``) over ``--batches`` batches
  of one repeated batch, per batch; the CuPy run gets its data on the device and ends with a
  device synchronisation. Per-epoch work (the epoch's logs, deferred range checks) is included,
  spread over the batches.
- PyTorch CUDA runs the same number of eager steps (``zero_grad``, forward, loss, backward,
  ``step``), then ``torch.cuda.synchronize()``.
- Host syncs: CuPy has no sync counter, so they are counted on the strict fake CuPy of
  tests/fake_cupy.py, which counts every device-to-host read; the count belongs to graphkit's
  code path, not to the device. "syncs/step" is the slope between fits of 3 and 6 batches,
  "syncs/fit" the rest (per epoch and per call). The fake runs on the CPU, so this part takes
  about a minute.

    .venv/bin/python bench/gpu.py            # on a machine with CuPy and a CUDA GPU
    .venv/bin/python bench/gpu.py --fake     # the sync counts only (no GPU needed)

Without CuPy or a CUDA device (and without ``--fake``) it prints one line saying which and exits 0.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np

import graphkit as gk
from graphkit import backend

HERE = pathlib.Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

import fake_cupy  # noqa: E402  (tests/fake_cupy.py)
import train_step  # noqa: E402
import train_step_models  # noqa: E402


def graphkit_models() -> dict:
    """The SPEC models, compiled, built on the active backend."""
    return {"mlp": train_step.graphkit_model(), **train_step_models.graphkit_models()}


def batches() -> dict:
    """One (x, labels) batch per model."""
    x, y = train_step.data()
    return {"mlp": (x, y), **train_step_models.data()}


def torch_models(device: str) -> dict:
    import torch
    from torch import nn

    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(train_step.IN, train_step.HIDDEN), nn.ReLU(),
                        nn.Linear(train_step.HIDDEN, train_step.HIDDEN), nn.ReLU(),
                        nn.Linear(train_step.HIDDEN, train_step.CLASSES))
    return {name: model.to(device) for name, model in {"mlp": mlp, **train_step_models.torch_models()}.items()}


def fit_ms(model, x, y, batch_size: int, repeats: int, sync=lambda: None) -> float:
    """Best ms per batch of ``fit`` over ``x`` (already tiled to the batch count)."""
    steps = len(x) // batch_size
    model.fit(x[:2 * batch_size], y[:2 * batch_size], batch_size=batch_size, epochs=1, verbose=0)  # warm up
    sync()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
        sync()
        best = min(best, time.perf_counter() - start)
    return best / steps * 1e3


def torch_ms(model, x, y, steps: int, repeats: int) -> float:
    import torch

    optimizer = torch.optim.RMSprop(model.parameters(), lr=train_step.LR, alpha=train_step.RHO, eps=train_step.EPS)
    tx = torch.from_numpy(x).cuda()
    ty = torch.from_numpy(y.astype(np.int64)).cuda()

    def run(count: int) -> None:
        for _ in range(count):
            optimizer.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(tx), ty).backward()
            optimizer.step()
        torch.cuda.synchronize()
    run(3)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run(steps)
        best = min(best, time.perf_counter() - start)
    return best / steps * 1e3


def sync_counts(steps: int = 3) -> dict:
    """``{model: (syncs per step, syncs per fit)}`` on the fake CuPy, ``fit(verbose=0)``."""
    counts = {}
    with fake_cupy.installed():
        ops = backend.CupyOps()
        with backend.use(ops):
            models = graphkit_models()
            for name, (x, y) in batches().items():
                model, n = models[name], len(x)
                model.fit(x, y, batch_size=n, epochs=1, verbose=0)  # build and trace outside the count
                seen = []
                for k in (steps, 2 * steps):
                    with fake_cupy.counting() as counted:
                        model.fit(np.tile(x, (k,) + (1,) * (x.ndim - 1)), np.tile(y, k), batch_size=n, epochs=1,
                                  verbose=0)
                    seen.append(counted["syncs"])
                per_step = (seen[1] - seen[0]) / steps
                counts[name] = (per_step, seen[0] - per_step * steps)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fake", action="store_true", help="only count host syncs, on the fake CuPy")
    parser.add_argument("--batches", type=int, default=20, help="batches per timed fit")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (best is kept)")
    args = parser.parse_args()
    reason = backend.cuda_unavailable_reason()
    if reason is not None and not args.fake:
        print(f"bench/gpu.py: no GPU to measure on ({reason}); nothing run. "
              "(--fake counts host syncs on the fake CuPy.)")
        return
    syncs = sync_counts()
    if args.fake:
        print("host syncs of fit(verbose=0), on the fake CuPy")
        print(f"{'model':<8} {'syncs/step':>10} {'syncs/fit':>9}")
        for name, (per_step, per_fit) in syncs.items():
            print(f"{name:<8} {per_step:10.2f} {per_fit:9.0f}")
        return

    import cupy
    try:
        import torch
        torch_ok = torch.cuda.is_available()
    except ImportError:
        torch_ok = False
    data = batches()
    numpy_models = graphkit_models()
    with backend.use("cupy"):
        cupy_models = graphkit_models()
    peers = torch_models("cuda") if torch_ok else {}
    print(f"ms per training step, fit over {args.batches} batches, best of {args.repeats}; "
          f"GPU: {cupy.cuda.runtime.getDeviceProperties(0)['name'].decode()}")
    print(f"{'model':<8} {'numpy':>8} {'cupy':>8} {'torch':>8} {'cupy/numpy':>10} {'cupy/torch':>10} "
          f"{'syncs/step':>10} {'syncs/fit':>9}")
    for name, (x, y) in data.items():
        n = len(x)
        big_x, big_y = np.tile(x, (args.batches,) + (1,) * (x.ndim - 1)), np.tile(y, args.batches)
        on_numpy = fit_ms(numpy_models[name], big_x, big_y, n, args.repeats)
        with backend.use("cupy"):
            on_cupy = fit_ms(cupy_models[name], cupy.asarray(big_x), cupy.asarray(big_y), n, args.repeats,
                             sync=cupy.cuda.Device().synchronize)
        peer = torch_ms(peers[name], x, y, args.batches, args.repeats) if torch_ok else None
        peer_text = f"{peer:8.2f}" if peer else f"{'-':>8}"
        ratio = f"{on_cupy / peer:10.2f}" if peer else f"{'-':>10}"
        per_step, per_fit = syncs[name]
        print(f"{name:<8} {on_numpy:8.2f} {on_cupy:8.2f} {peer_text} {on_cupy / on_numpy:10.2f} {ratio} "
              f"{per_step:10.2f} {per_fit:9.0f}")
    if not torch_ok:
        print("(PyTorch with CUDA is not installed: no PyTorch comparison)")


if __name__ == "__main__":
    main()
