"""JSON encoding of op attributes and call structures (no pickle, nothing executable).

Plain JSON values stay as they are (``None``, bools, ints, finite floats, strings, lists of them);
everything else is a one-key object: ``{"tuple": [...]}``, ``{"dict": [[key, value], ...]}``,
``{"dtype": "float32"}``, ``{"slice": [start, stop, step]}``, ``{"ellipsis": null}``,
``{"float": "nan"|"inf"|"-inf"}``, ``{"ndarray": {"dtype", "shape", "data"}}`` (small arrays such
as fancy indices), ``{"spec": [shape, dtype]}`` (a TensorSpec in a signature),
``{"ref": [...]}`` (a graph reference in an output structure).
"""
from __future__ import annotations

import math
from typing import Any

import numpy

from ..backend.host import is_device_array, to_host
from ..function.tensor_spec import TensorSpec


class UnencodableAttrError(TypeError):
    """An op attribute that cannot be written to a saved model."""


def encode(value: Any, where: str = "value") -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {"float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, numpy.dtype) or (isinstance(value, type) and issubclass(value, numpy.generic)):
        return {"dtype": numpy.dtype(value).name}
    if isinstance(value, numpy.generic):
        return {"ndarray": _array(numpy.asarray(value), where)}
    if isinstance(value, numpy.ndarray) or is_device_array(value):
        return {"ndarray": _array(to_host(value), where)}
    if isinstance(value, TensorSpec):
        return {"spec": [None if value.shape is None else list(value.shape), value.dtype.name]}
    if isinstance(value, slice):
        return {"slice": [encode(value.start, where), encode(value.stop, where), encode(value.step, where)]}
    if value is Ellipsis:
        return {"ellipsis": None}
    if isinstance(value, list):
        return [encode(v, where) for v in value]
    if isinstance(value, tuple):
        if hasattr(value, "_fields"):
            raise UnencodableAttrError(f"{where}: a namedtuple ({type(value).__name__}) cannot be saved.")
        return {"tuple": [encode(v, where) for v in value]}
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, (str, int, bool)) and key is not None:
                raise UnencodableAttrError(f"{where}: a dict key of type {type(key).__name__} cannot be saved.")
        return {"dict": [[encode(k, where), encode(v, where)] for k, v in value.items()]}
    raise UnencodableAttrError(f"{where}: a value of type {type(value).__module__}.{type(value).__qualname__} "
                               f"({value!r:.80}) cannot be encoded in a saved model.")


def _array(array: numpy.ndarray, where: str) -> dict:
    if array.dtype.hasobject:
        raise UnencodableAttrError(f"{where}: an array of Python objects cannot be saved.")
    if array.size > 100_000:
        raise UnencodableAttrError(f"{where}: an attribute array of {array.size} elements is too large to save.")
    data = array.ravel().tolist()
    if array.dtype.kind in "fc":
        data = [encode(float(x), where) if array.dtype.kind == "f" else [x.real, x.imag] for x in data]
    return {"dtype": array.dtype.str, "shape": list(array.shape), "data": data}


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        raise ValueError(f"unexpected encoded object {sorted(value)}")
    (tag, body), = value.items()
    if tag == "tuple":
        return tuple(decode(v) for v in body)
    if tag == "dict":
        return {decode(k): decode(v) for k, v in body}
    if tag == "dtype":
        return numpy.dtype(body)
    if tag == "slice":
        return slice(*(decode(v) for v in body))
    if tag == "ellipsis":
        return Ellipsis
    if tag == "float":
        return float(body)
    if tag == "ndarray":
        dtype = numpy.dtype(body["dtype"])
        if dtype.hasobject:
            raise ValueError("object arrays are not allowed")
        data = body["data"]
        if dtype.kind == "f":
            data = [decode(x) for x in data]
        elif dtype.kind == "c":
            data = [complex(*x) for x in data]
        array = numpy.asarray(data, dtype=dtype).reshape(body["shape"])
        return array[()] if array.ndim == 0 else array
    if tag == "spec":
        return TensorSpec(None if body[0] is None else tuple(body[0]), body[1])
    if tag == "ref":
        return ("ref", tuple(body))
    raise ValueError(f"unknown encoded tag {tag!r}")
