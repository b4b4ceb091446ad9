"""``gk.ops`` on symbolic tensors: calls become op layers in the model graph (Keras's symbolic ops).

The public ``gk.ops`` functions stay plain functions on the eager path. Each exported name is
wrapped once, at import, by a function generated with the op's own signature (no ``*args``
packing), whose only extra work on eager calls is one Python frame; Python 3.11's zero-cost
``try`` makes the guard free. A symbolic argument is noticed where the op converts it to an
array: ``SymbolicTensor.__array__`` raises :class:`SymbolicValueError`, the wrapper catches it
and records the call as an :class:`~graphkit.layers.op_layer.OpLayer` instead.

How a call is split (Keras-like): required positional parameters become the node's call
arguments (tensors and constants alike, e.g. ``multiply(x, 2)``); parameters with defaults
become the op layer's config (``mean(x, axis=1)`` -> ``{"axis": 1, "keepdims": False}``), unless
they hold a symbolic tensor, in which case they stay call keyword arguments.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import numpy

from ..graph.node import flatten_structure
from ..graph.symbolic import SymbolicTensor, SymbolicValueError

# op name -> the plain (unwrapped) function that computes it
_RAW: dict[str, Callable] = {}


def register(name: str, fn: Callable) -> None:
    _RAW.setdefault(name, fn)


def raw_op(name: str) -> Callable:
    """The eager function behind op ``name`` (KeyError when there is none)."""
    _ensure_loaded()
    return _RAW[name]


def op_names() -> list[str]:
    _ensure_loaded()
    return sorted(_RAW)


def _ensure_loaded() -> None:
    if "get_item" not in _RAW:
        from . import array, linalg, math  # noqa: F401  (graphkit.ops registers the exported names)
        import graphkit.ops  # noqa: F401
        _RAW.setdefault("get_item", array.getitem)
        _RAW.setdefault("true_divide", math.divide)
        _RAW.setdefault("absolute", math.abs)


def symbolic_aware(name: str, fn: Callable) -> Callable:
    """``fn`` wrapped so that a call with symbolic tensors records op ``name`` instead of failing."""
    register(name, fn)
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    namespace: dict[str, Any] = {"_fn": fn, "_Signal": SymbolicValueError, "_fallback": _fallback,
                                 "_name": name, "_sig": sig}
    defs, calls, bound = [], [], []
    star = False
    last_positional_only = max((i for i, p in enumerate(params) if p.kind is p.POSITIONAL_ONLY), default=-1)
    for index, p in enumerate(params):
        default = ""
        if p.default is not p.empty:
            namespace[f"_d{index}"] = p.default
            default = f"=_d{index}"
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            defs.append(p.name + default)
            calls.append(p.name)
            bound.append(f"{p.name!r}: {p.name}")
            if index == last_positional_only:
                defs.append("/")
        elif p.kind is p.VAR_POSITIONAL:
            defs.append("*" + p.name)
            calls.append("*" + p.name)
            bound.append(f"{p.name!r}: {p.name}")
            star = True
        elif p.kind is p.KEYWORD_ONLY:
            if not star:
                defs.append("*")
                star = True
            defs.append(p.name + default)
            calls.append(f"{p.name}={p.name}")
            bound.append(f"{p.name!r}: {p.name}")
        else:  # VAR_KEYWORD
            defs.append("**" + p.name)
            calls.append("**" + p.name)
            bound.append(f"{p.name!r}: {p.name}")
    source = (f"def _wrapped_op({', '.join(defs)}):\n"
              f"    try:\n"
              f"        return _fn({', '.join(calls)})\n"
              f"    except _Signal:\n"
              f"        return _fallback(_name, _fn, _sig, {{{', '.join(bound)}}})\n")
    exec(compile(source, f"<gk.ops.{name}>", "exec"), namespace)  # noqa: S102 - generated from a signature
    wrapper = namespace["_wrapped_op"]
    functools.update_wrapper(wrapper, fn)
    wrapper.__name__ = name
    return wrapper


def _fallback(name: str, fn: Callable, sig: inspect.Signature, values: dict) -> Any:
    """A wrapped op met a symbolic tensor: record it (or re-raise when none was passed)."""
    if not any(isinstance(v, SymbolicTensor) for v in flatten_structure(list(values.values()))):
        raise  # noqa: PLE0704 - re-raise the SymbolicValueError being handled
    if name == "shape":
        return tuple(values["x"].shape)
    args, call_kwargs, config = [], {}, {}
    for p in sig.parameters.values():
        value = values[p.name]
        if p.kind is p.VAR_POSITIONAL:
            args.extend(value)
        elif p.kind is p.VAR_KEYWORD:
            for key, item in value.items():
                (call_kwargs if _holds_symbolic(item) else config)[key] = item
        elif p.default is p.empty and p.kind is not p.KEYWORD_ONLY:
            args.append(value)
        elif _holds_symbolic(value):
            call_kwargs[p.name] = value
        else:
            config[p.name] = value
    return _call_op_layer(name, args, call_kwargs, config)


def _holds_symbolic(value: Any) -> bool:
    if isinstance(value, SymbolicTensor):
        return True
    return isinstance(value, (list, tuple, dict)) and any(
        isinstance(v, SymbolicTensor) for v in flatten_structure(value))


def record_op(name: str, args: tuple, kwargs: dict | None = None) -> Any:
    """Record op ``name`` called on ``args`` (Python operators and indexing of symbolic tensors)."""
    if name == "get_item":
        args = (args[0], _index_for_config(args[1]))
    return _call_op_layer(name, list(args), {}, dict(kwargs or {}))


def _index_for_config(index: Any) -> Any:
    """Lists inside an index become arrays, so that after JSON a list can only mean a tuple."""
    if isinstance(index, list):
        return numpy.asarray(index)
    if isinstance(index, tuple):
        return tuple(numpy.asarray(i) if isinstance(i, list) else i for i in index)
    return index


def _call_op_layer(name: str, args: list, call_kwargs: dict, config: dict) -> Any:
    from ..layers.op_layer import op_class
    layer = op_class(name)(**config)
    return layer(*args, **call_kwargs)
