"""Dtype rules: float32 by default, never a silent float64."""
from __future__ import annotations

from typing import Any

import numpy

from ..backend import FLOATX

float16 = "float16"
float32 = "float32"
float64 = "float64"
int8 = "int8"
int16 = "int16"
int32 = "int32"
int64 = "int64"
uint8 = "uint8"
bool_ = "bool"


def standardize(dtype: Any) -> numpy.dtype | None:
    """A numpy dtype for ``dtype`` (a name, numpy dtype or Python type), or None."""
    if dtype is None:
        return None
    try:
        return numpy.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"Unknown dtype {dtype!r}.") from exc


def is_floating(dtype: Any) -> bool:
    return numpy.dtype(dtype).kind in "fc"


def default_for(value: Any) -> numpy.dtype | None:
    """The dtype a Python value or array becomes when none is given.

    Python floats and float64 arrays become float32 (``FLOATX``); Python ints become int32
    (int64 when a value does not fit, as in TensorFlow); other arrays keep their dtype.
    """
    dtype = getattr(value, "dtype", None)
    if dtype is not None:
        return numpy.dtype(FLOATX) if dtype == numpy.float64 else None
    probe = numpy.asarray(value)
    if probe.dtype == numpy.float64:
        return numpy.dtype(FLOATX)
    if probe.dtype.kind == "i":
        fits = probe.size == 0 or (probe.min() >= -2**31 and probe.max() < 2**31)
        return numpy.dtype("int32") if fits else None
    return None
