"""The UCI 8×8 handwritten digits (1,797 images), shipped inside graphkit: no network needed.

``load_data(test_split=0.2, seed=113)`` returns ``(x_train, y_train), (x_test, y_test)`` with
``x`` of shape ``(n, 8, 8)`` (or ``(n, 64)`` with ``flatten=True``), dtype uint8, values 0..16,
and ``y`` of shape ``(n,)``, dtype uint8, values 0..9 — the layout of ``keras.datasets.mnist``.
Provenance: ``graphkit/datasets/data/README.md``.
"""
from __future__ import annotations

import functools
import gzip
import os

import numpy as np

__all__ = ["load_data", "load_all", "DATA_PATH", "NUM_CLASSES"]

DATA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "digits.csv.gz")
NUM_CLASSES = 10


@functools.lru_cache(maxsize=1)
def _read() -> tuple[np.ndarray, np.ndarray]:
    try:
        with gzip.open(DATA_PATH, "rt", encoding="ascii") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.uint8)
    except FileNotFoundError:
        raise FileNotFoundError(f"The digits data file is missing from this graphkit install: {DATA_PATH}. "
                                "Reinstall graphkit.") from None
    if table.shape != (1797, 65):
        raise ValueError(f"{DATA_PATH} is corrupt: expected 1797 rows of 65 values, got {table.shape}.")
    x = table[:, :64].reshape(-1, 8, 8)
    y = table[:, 64].copy()
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def load_all(flatten: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 ``(x, y)`` in the file's order (fresh, writable arrays)."""
    x, y = _read()
    x = x.reshape(-1, 64) if flatten else x
    return x.copy(), y.copy()


def load_data(test_split: float = 0.2, seed: int = 113, flatten: bool = False):
    """Loads the digits dataset, shuffled with ``seed`` and split like Keras's datasets.

    Args:
        test_split: fraction of the data (after shuffling) reserved as the test set, in [0, 1).
        seed: random seed for the shuffle; the same seed gives the same split everywhere.
        flatten: return ``x`` as ``(n, 64)`` feature rows instead of ``(n, 8, 8)`` images.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 arrays, ``x`` in 0..16, ``y`` in 0..9.
        With the default split: 1,437 training and 360 test images.
    """
    if not 0.0 <= float(test_split) < 1.0:
        raise ValueError(f"digits.load_data: test_split must be in [0, 1), got {test_split}.")
    x, y = load_all(flatten)
    order = np.random.RandomState(seed).permutation(len(x))
    x, y = x[order], y[order]
    idx = int(len(x) * (1 - test_split))
    return (x[:idx], y[:idx]), (x[idx:], y[idx:])
