"""``to_categorical`` (``keras.utils.to_categorical``)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..backend.host import to_host

__all__ = ["to_categorical"]


def to_categorical(x: Any, num_classes: int | None = None) -> np.ndarray:
    """One-hot encodes integer class labels ``x`` (any shape; a trailing axis of 1 is dropped).

    Returns a float32 array of shape ``x.shape + (num_classes,)`` (Keras returns float64;
    graphkit uses its default float dtype). Labels must be in ``[0, num_classes)``.
    """
    x = to_host(x)
    if x.dtype.kind == "f":
        if not np.all(np.isfinite(x)) or np.any(x != np.round(x)):
            raise ValueError("to_categorical: labels must be integers.")
    elif x.dtype.kind not in "biu":
        raise ValueError(f"to_categorical: labels must be integers, got dtype {x.dtype}.")
    x = x.astype("int64")
    input_shape = x.shape
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = tuple(input_shape[:-1])
    x = x.reshape(-1)
    if not num_classes:
        num_classes = int(np.max(x)) + 1 if x.size else 0
    if x.size and (x.min() < 0 or x.max() >= num_classes):
        raise ValueError(f"to_categorical: labels must be in [0, {num_classes}), got values from "
                         f"{x.min()} to {x.max()}.")
    categorical = np.zeros((x.shape[0], num_classes), dtype=np.float32)
    categorical[np.arange(x.shape[0]), x] = 1
    return categorical.reshape(input_shape + (num_classes,))
