"""The one way graphkit copies values to the host: :func:`to_host`.

Every device→host conversion in the package (tensor ``.numpy()``, saving, logs, data adapters,
configs) goes through here, so a device array is copied explicitly and once, and the CuPy
backend's discipline tests can count every transfer at a single point.
"""
from __future__ import annotations

from typing import Any

import numpy


def is_device_array(value: Any) -> bool:
    """True for an array that lives on a device (CuPy's ``ndarray``: it has ``.get()`` and
    ``__cuda_array_interface__``)."""
    return hasattr(value, "__cuda_array_interface__") and hasattr(value, "get")


def to_host(value: Any, dtype: Any = None) -> numpy.ndarray:
    """``value`` as a numpy array: graphkit tensors and variables give their data, device arrays
    are copied to the host (``.get()``), anything else goes through ``numpy.asarray``. A numpy
    array of the right dtype is returned as it is (no copy)."""
    # gk.Tensor and gk.Variable set this class attribute; their array is ``.data`` (a CuPy array's
    # own ``.data`` is its memory pointer, so ``getattr(x, "data", x)`` is never used).
    data = value.data if getattr(value, "_holds_backend_array", False) else value
    if data.__class__ is numpy.ndarray and dtype is None:
        return data  # the NumPy backend's arrays: nothing to copy (the training loops' common case)
    if is_device_array(data):
        data = data.get()
    return numpy.asarray(data, dtype=dtype)


def to_host_scalar(value: Any) -> float | int | bool:
    """A 0-d array, tensor or Python number as a Python scalar (a device value is synced once)."""
    return to_host(value).item()


def to_host_scalars(values: list) -> list:
    """Python scalars of size-1 arrays, tensors or numbers, every device value brought over in one
    copy (one host sync however many there are: a step's logs). Device values come back as floats."""
    arrays = [v.data if getattr(v, "_holds_backend_array", False) else v for v in values]
    on_device = [is_device_array(a) for a in arrays]
    device = [i for i, d in enumerate(on_device) if d]
    out = [None if d else to_host(a).item() for a, d in zip(arrays, on_device)]
    if len(device) > 1:
        import cupy  # device arrays exist, so CuPy is there
        fetched = cupy.stack([arrays[i].reshape(()).astype("float64") for i in device]).get().tolist()
    else:
        fetched = [to_host(arrays[i]).item() for i in device]
    for i, value in zip(device, fetched):
        out[i] = value
    return out
