"""A strict stand-in for CuPy, on NumPy, for proving device discipline without a GPU.

:func:`install` puts ``cupy``, ``cupy.cuda``, ``cupyx``, ``cupyx.scipy`` and
``cupyx.scipy.special`` into ``sys.modules``; graphkit's ``CupyOps`` then runs on it unchanged.
It is stricter than real CuPy nowhere it matters and as strict where CuPy is strict:

- ``numpy.asarray(device_array)`` raises ``TypeError`` (CuPy 14's ``ndarray.__array__`` does):
  the only ways to the host are ``.get()``, ``cupy.asnumpy``, ``.item()``/``.tolist()`` and
  ``float()``/``int()``/``bool()`` of a device value;
- device kernels refuse NumPy arrays (and lists) as operands, as CuPy's elementwise kernels and
  functions do: ``device + numpy_array``, ``numpy_array * device``, ``cupy.maximum(d, numpy_array)``
  and ``device[...] = numpy_array`` raise ``TypeError``; Python and NumPy scalars are fine;
- reductions and integer indexing give 0-d device arrays, never host scalars.

Every blocking host synchronisation (a copy to the host, a Python scalar of a device value, a
device or stream synchronisation) adds to :data:`COUNTS`\\ ``["syncs"]``; copies are also counted
by direction (``"to_host"``, ``"to_device"``) and ``cupy.fuse`` kernels by launch
(``"fused_launches"``).
"""
from __future__ import annotations

import contextlib
import functools
import sys
import types
from collections import Counter
from typing import Any, Callable, Iterator

import numpy

COUNTS: Counter = Counter()
_SCALARS = (bool, int, float, complex, numpy.generic)


def _sync(kind: str | None = None) -> None:
    COUNTS["syncs"] += 1
    if kind:
        COUNTS[kind] += 1


def _refuse(value: Any, where: str) -> None:
    raise TypeError(f"Unsupported type {type(value)} in {where}: a device kernel takes device arrays and "
                    "scalars only (copy host data over with cupy.asarray first).")


def _unwrap(value: Any, where: str) -> Any:
    """The NumPy array under a device array (recursively in lists/tuples); host arrays refused."""
    if isinstance(value, ndarray):
        return value._a
    if isinstance(value, numpy.ndarray):
        _refuse(value, where)
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v, where) for v in value)
    return value


def _wrap(value: Any) -> Any:
    """NumPy results as device arrays (scalars from reductions become 0-d arrays, as on CuPy)."""
    if isinstance(value, numpy.ndarray):
        return ndarray._of(value)
    if isinstance(value, numpy.generic):
        return ndarray._of(numpy.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _operand(other: Any, op: str) -> Any:
    if isinstance(other, ndarray):
        return other._a
    if isinstance(other, _SCALARS):
        return other
    _refuse(other, f"ndarray.{op}")


def _index(key: Any, shape: tuple | None = None) -> Any:
    """An index into a device array of ``shape``: device index arrays unwrapped, host index arrays
    accepted (CuPy copies them over; counted as a transfer). Integer index arrays wrap around out
    of bounds, as on CuPy (NumPy would raise). Boolean masks sync (CuPy reads the count)."""
    parts = list(key) if isinstance(key, tuple) else [key]
    arrays = []
    for value in parts:
        if isinstance(value, ndarray):
            value = value._a
        elif isinstance(value, (numpy.ndarray, list)):
            COUNTS["to_device"] += 1
            value = numpy.asarray(value)
        arrays.append(value)
    if shape is not None:
        axis = 0
        for i, value in enumerate(arrays):
            if value is Ellipsis:
                axis = len(shape) - sum(_axes_used(v) for v in arrays[i + 1:])
            elif isinstance(value, numpy.ndarray) and value.dtype == numpy.bool_:
                _sync()
                axis += value.ndim
            elif isinstance(value, numpy.ndarray) and value.dtype.kind in "iu" and axis < len(shape):
                arrays[i] = value % shape[axis] if shape[axis] else value
                axis += 1
            elif value is not None:
                axis += 1
    return tuple(arrays) if isinstance(key, tuple) else arrays[0]


def _axes_used(value: Any) -> int:
    if value is None or value is Ellipsis:
        return 0
    if isinstance(value, numpy.ndarray) and value.dtype == numpy.bool_:
        return value.ndim
    return 1


class _Flags:
    def __init__(self, a: numpy.ndarray) -> None:
        self.c_contiguous = a.flags.c_contiguous
        self.f_contiguous = a.flags.f_contiguous
        self.owndata = a.flags.owndata
        self.writeable = True


class ndarray:
    """A device array: a NumPy array that refuses to leave the device implicitly."""

    __slots__ = ("_a",)
    __array_priority__ = 100.0
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, shape: Any, dtype: Any = float, order: str = "C") -> None:
        self._a = numpy.empty(shape, dtype=dtype, order=order)

    @classmethod
    def _of(cls, a: numpy.ndarray) -> "ndarray":
        out = object.__new__(cls)
        out._a = a
        return out

    # ----------------------------------------------------------------- attributes
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: _Flags(self._a))
    T = property(lambda self: ndarray._of(self._a.T))
    # CuPy's ``.data`` is the memory pointer, never the values.
    data = property(lambda self: _MemoryPointer(self))
    device = property(lambda self: cuda.Device(0))

    @property
    def __cuda_array_interface__(self) -> dict:
        return {"shape": self.shape, "typestr": self.dtype.str, "data": (id(self._a), False), "version": 3}

    # ----------------------------------------------------- explicit host transfers
    def get(self, stream: Any = None, order: str = "C", out: Any = None) -> numpy.ndarray:
        _sync("to_host")
        return self._a.copy()

    def item(self) -> Any:
        _sync("to_host")
        return self._a.item()

    def tolist(self) -> Any:
        _sync("to_host")
        return self._a.tolist()

    def __float__(self) -> float:
        _sync("to_host")
        return float(self._a)

    def __int__(self) -> int:
        _sync("to_host")
        return int(self._a)

    def __complex__(self) -> complex:
        _sync("to_host")
        return complex(self._a)

    def __bool__(self) -> bool:
        _sync("to_host")
        return bool(self._a)

    def __index__(self) -> int:
        if self._a.ndim or self._a.dtype.kind not in "iub":
            raise TypeError("only integer scalar arrays can be converted to a scalar index")
        _sync("to_host")
        return int(self._a)

    def __repr__(self) -> str:
        _sync("to_host")
        return repr(self._a).replace("array", "fake_cupy.array", 1)

    __str__ = __repr__

    def __array__(self, dtype: Any = None, copy: Any = None) -> numpy.ndarray:
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct "
                        "a NumPy array explicitly.")

    # ------------------------------------------------------------ NumPy protocols
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        where = f"numpy.{ufunc.__name__}"
        args = _unwrap(inputs, where)
        if "out" in kwargs:
            kwargs["out"] = _unwrap(kwargs["out"], where)
        result = getattr(ufunc, method)(*args, **kwargs)
        return None if method == "at" else _wrap(result)

    def __array_function__(self, func: Any, types_: Any, args: tuple, kwargs: dict) -> Any:
        where = f"numpy.{func.__name__}"
        return _wrap(func(*_unwrap(args, where), **{k: _unwrap(v, where) for k, v in kwargs.items()}))

    # ------------------------------------------------------------------- methods
    def astype(self, dtype: Any, order: str = "K", casting: Any = None, subok: Any = None,
               copy: bool = True) -> "ndarray":
        return ndarray._of(self._a.astype(dtype, copy=copy))

    def reshape(self, *shape: Any, order: str = "C") -> "ndarray":
        return ndarray._of(self._a.reshape(*shape, order=order))

    def view(self, dtype: Any = None) -> "ndarray":
        return ndarray._of(self._a.view() if dtype is None else self._a.view(dtype))

    def fill(self, value: Any) -> None:
        self._a.fill(_operand(value, "fill"))

    def set(self, arr: numpy.ndarray, stream: Any = None) -> None:
        COUNTS["to_device"] += 1
        self._a[...] = arr

    def take(self, indices: Any, axis: Any = None) -> "ndarray":
        return _wrap(numpy.take(self._a, _unwrap(indices, "ndarray.take"), axis=axis, mode="wrap"))

    def nonzero(self) -> tuple:
        _sync()
        return _wrap(self._a.nonzero())

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> Iterator["ndarray"]:
        return (ndarray._of(self._a[i]) for i in range(len(self._a)))

    def __getitem__(self, key: Any) -> "ndarray":
        return _wrap(self._a[_index(key, self._a.shape)])

    def __setitem__(self, key: Any, value: Any) -> None:
        self._a[_index(key, self._a.shape)] = _operand(value, "__setitem__")

    def __neg__(self) -> "ndarray":
        return _wrap(-self._a)

    def __pos__(self) -> "ndarray":
        return self

    def __abs__(self) -> "ndarray":
        return _wrap(abs(self._a))

    def __invert__(self) -> "ndarray":
        return _wrap(~self._a)


class _MemoryPointer:
    """What CuPy's ``ndarray.data`` is: a pointer, not the values."""

    def __init__(self, array: ndarray) -> None:
        self.ptr = id(array._a)

    def __repr__(self) -> str:
        return f"<MemoryPointer 0x{self.ptr:x}>"


def _binary_method(name: str, reflected: bool = False, inplace: bool = False) -> Callable:
    op = getattr(numpy.ndarray, name)

    def method(self: ndarray, other: Any) -> Any:
        result = op(self._a, _operand(other, name))
        if inplace:
            return self
        return _wrap(result)
    method.__name__ = name
    return method


for _op in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor",
            "lshift", "rshift"):
    setattr(ndarray, f"__{_op}__", _binary_method(f"__{_op}__"))
    setattr(ndarray, f"__r{_op}__", _binary_method(f"__r{_op}__"))
    setattr(ndarray, f"__i{_op}__", _binary_method(f"__i{_op}__", inplace=True))
for _op in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(ndarray, f"__{_op}__", _binary_method(f"__{_op}__"))


def _array_method(name: str) -> Callable:
    op = getattr(numpy.ndarray, name)

    def method(self: ndarray, *args: Any, **kwargs: Any) -> Any:
        where = f"ndarray.{name}"
        if "out" in kwargs:
            kwargs["out"] = _unwrap(kwargs["out"], where)
        return _wrap(op(self._a, *_unwrap(args, where), **kwargs))
    method.__name__ = name
    return method


for _name in ("sum", "mean", "max", "min", "prod", "std", "var", "argmax", "argmin", "any", "all", "cumsum",
              "clip", "copy", "ravel", "flatten", "transpose", "swapaxes", "squeeze", "dot", "round", "argsort",
              "sort", "repeat", "conj"):
    setattr(ndarray, _name, _array_method(_name))


# ------------------------------------------------------------------------ the module
def asarray(a: Any, dtype: Any = None, order: Any = None, *, blocking: bool = False) -> ndarray:
    """``a`` on the device (host data is copied over: a counted transfer)."""
    if isinstance(a, ndarray):
        return a if dtype is None or a.dtype == numpy.dtype(dtype) else a.astype(dtype)
    if isinstance(a, (list, tuple)) and any(isinstance(v, ndarray) for v in a):
        return stack_arrays(a, dtype)
    COUNTS["to_device"] += 1
    return ndarray._of(numpy.array(a, dtype=dtype, order=order or "K"))


def stack_arrays(items: Any, dtype: Any) -> ndarray:
    return ndarray._of(numpy.array([_unwrap(v, "cupy.asarray") for v in items], dtype=dtype))


def array(obj: Any, dtype: Any = None, copy: bool = True, order: str = "K", ndmin: int = 0) -> ndarray:
    out = asarray(obj, dtype)
    out = ndarray._of(out._a.copy()) if copy and isinstance(obj, ndarray) else out
    return ndarray._of(numpy.array(out._a, ndmin=ndmin, copy=False)) if ndmin else out


def ascontiguousarray(a: Any, dtype: Any = None) -> ndarray:
    return ndarray._of(numpy.ascontiguousarray(asarray(a, dtype)._a))


def asnumpy(a: Any, stream: Any = None, order: str = "C", out: Any = None, blocking: bool = True) -> numpy.ndarray:
    if isinstance(a, ndarray):
        return a.get()
    return numpy.asarray(a)


def get_array_module(*args: Any) -> types.ModuleType:
    return cupy if any(isinstance(a, ndarray) for a in args) else numpy


# Functions whose output size depends on the values: CuPy reads a count or maximum on the host.
_SYNCING = frozenset({"bincount", "nonzero", "argwhere", "unique", "flatnonzero"})


def _device_function(name: str) -> Callable:
    """``cupy.<name>``: NumPy's function over device arrays, refusing host arrays."""
    func = getattr(numpy, name)
    if name == "take":  # CuPy's take wraps out-of-bounds indices around
        func = functools.partial(numpy.take, mode="wrap")

    def device_function(*args: Any, **kwargs: Any) -> Any:
        where = f"cupy.{name}"
        if name in _SYNCING:
            _sync()
        return _wrap(func(*_unwrap(args, where), **{k: _unwrap(v, where) for k, v in kwargs.items()}))
    device_function.__name__ = name
    return device_function


class ufunc:
    """A device ufunc: call, ``at``, ``reduce``, ``outer`` and ``accumulate`` on device arrays."""

    def __init__(self, name: str) -> None:
        self._ufunc = getattr(numpy, name)
        self.__name__ = name

    def __repr__(self) -> str:
        return f"<ufunc 'cupy.{self.__name__}'>"

    def _run(self, method: str, args: tuple, kwargs: dict) -> Any:
        where = f"cupy.{self.__name__}"
        if "out" in kwargs:
            kwargs["out"] = _unwrap(kwargs["out"], where)
        return _wrap(getattr(self._ufunc, method)(*_unwrap(args, where), **kwargs))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._run("__call__", args, kwargs)

    def at(self, a: ndarray, indices: Any, b: Any = None) -> None:
        self._ufunc.at(_unwrap(a, "ufunc.at"), _index(indices), *(() if b is None else (_unwrap(b, "ufunc.at"),)))

    def reduce(self, *args: Any, **kwargs: Any) -> Any:
        return self._run("reduce", args, kwargs)

    def outer(self, *args: Any, **kwargs: Any) -> Any:
        return self._run("outer", args, kwargs)

    def accumulate(self, *args: Any, **kwargs: Any) -> Any:
        return self._run("accumulate", args, kwargs)


_UFUNCS = ("add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "power", "mod", "remainder",
           "maximum", "minimum", "fmax", "fmin", "exp", "exp2", "expm1", "log", "log1p", "log2", "log10", "sqrt",
           "square", "reciprocal", "negative", "abs", "absolute", "sign", "sin", "cos", "tan", "tanh", "sinh",
           "cosh", "arctan", "arctanh", "arcsin", "arccos", "arctan2", "floor", "ceil", "rint", "trunc",
           "equal", "not_equal", "greater", "greater_equal", "less", "less_equal", "logical_and", "logical_or",
           "logical_xor", "logical_not", "isfinite", "isnan", "isinf", "bitwise_and", "bitwise_or", "signbit",
           "copysign", "hypot")
_FUNCTIONS = ("all", "any", "allclose", "arange", "argmax", "argmin", "argsort", "argwhere", "around", "array_equal",
              "atleast_1d", "atleast_2d", "bincount", "broadcast_arrays", "broadcast_to", "clip", "concatenate",
              "copyto", "count_nonzero", "cumprod", "cumsum", "diag", "diagonal", "dot", "einsum", "empty",
              "empty_like", "expand_dims", "eye", "flip", "full", "full_like", "hstack", "identity", "isclose",
              "linspace", "matmul", "max", "mean", "meshgrid", "min", "moveaxis", "nonzero", "ones", "ones_like",
              "outer", "pad", "partition", "prod", "ravel", "repeat", "reshape", "roll", "rollaxis", "round",
              "searchsorted", "sort", "split", "squeeze", "stack", "std", "sum", "swapaxes", "take",
              "take_along_axis", "tensordot", "tile", "trace", "transpose", "tril", "triu", "unique", "var",
              "vstack", "where", "zeros", "zeros_like", "amax", "amin", "nanmax", "nanmin", "nansum", "cbrt",
              "fix", "nan_to_num", "put_along_axis", "array_split", "indices", "unravel_index", "ix_",
              "result_type")
_PASSTHROUGH = ("dtype", "iinfo", "finfo", "promote_types", "can_cast", "issubdtype", "newaxis", "pi", "e", "inf",
                "nan", "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
                "uint32", "uint64", "intp", "bool_", "complex64", "complex128", "integer", "floating", "number",
                "generic", "signedinteger", "unsignedinteger", "inexact")


def fuse(*args: Any, kernel_name: str | None = None) -> Any:
    """``cupy.fuse``: the function runs as written over device arrays, one counted launch per call."""
    def decorate(fn: Callable) -> Callable:
        def launch(*call_args: Any) -> Any:
            for value in call_args:
                if value is not None and not isinstance(value, (ndarray, *_SCALARS)):
                    _refuse(value, f"fused kernel {kernel_name or fn.__name__}")
            COUNTS["fused_launches"] += 1
            return fn(*call_args)
        launch.__name__ = kernel_name or fn.__name__
        launch.__wrapped__ = fn
        return launch
    if len(args) == 1 and callable(args[0]):
        return decorate(args[0])
    return decorate


# ---------------------------------------------------------------------- cupy.random
class _BitGenerator:
    """CuPy's bit generators expose ``state()`` as a method returning a device pointer."""

    def __init__(self, seed: Any) -> None:
        self._numpy = numpy.random.PCG64(seed)

    def state(self) -> int:
        return 0x7F00DEAD0000


class Generator:
    """``cupy.random.Generator`` (the subset graphkit draws with)."""

    def __init__(self, bit_generator: _BitGenerator) -> None:
        self.bit_generator = bit_generator
        self._gen = numpy.random.Generator(bit_generator._numpy)

    def random(self, size: Any = None, dtype: Any = numpy.float64, out: Any = None) -> ndarray:
        return ndarray._of(numpy.asarray(self._gen.random(size, dtype=dtype)))

    def standard_normal(self, size: Any = None, dtype: Any = numpy.float64, out: Any = None) -> ndarray:
        return ndarray._of(numpy.asarray(self._gen.standard_normal(size, dtype=dtype)))

    def uniform(self, low: float = 0.0, high: float = 1.0, size: Any = None, dtype: Any = numpy.float64) -> ndarray:
        return ndarray._of(numpy.asarray(self._gen.uniform(low, high, size)).astype(dtype))

    def integers(self, low: int, high: Any = None, size: Any = None, dtype: Any = numpy.int64,
                 endpoint: bool = False) -> ndarray:
        return ndarray._of(numpy.asarray(self._gen.integers(low, high, size, dtype=dtype, endpoint=endpoint)))


random = types.ModuleType("cupy.random")
random.Generator = Generator
random.default_rng = lambda seed=None: Generator(_BitGenerator(seed))


# ------------------------------------------------------------------------ cupy.cuda
class _Device:
    def __init__(self, device: int | None = 0) -> None:
        self.id = device or 0

    def __enter__(self) -> "_Device":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def synchronize(self) -> None:
        _sync()


class _Stream:
    null: "_Stream"

    def __init__(self, null: bool = False, non_blocking: bool = False, ptds: bool = False) -> None:
        self.ptr = 0 if null else id(self)

    def __enter__(self) -> "_Stream":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def synchronize(self) -> None:
        _sync()

    def use(self) -> "_Stream":
        return self


class _Event:
    def __init__(self, block: bool = False, disable_timing: bool = False, interprocess: bool = False) -> None:
        self.done = False

    def record(self, stream: Any = None) -> None:
        self.done = True

    def synchronize(self) -> None:
        _sync()


_Stream.null = _Stream(null=True)
cuda = types.ModuleType("cupy.cuda")
cuda.Device = _Device
cuda.Stream = _Stream
cuda.Event = _Event
cuda.get_current_stream = lambda device=None: _Stream.null
cuda.get_elapsed_time = lambda start, end: 0.0
cuda.runtime = types.SimpleNamespace(getDeviceCount=lambda: 1, deviceSynchronize=lambda: _sync())

linalg = types.ModuleType("cupy.linalg")
for _name in ("qr", "norm", "svd", "inv", "solve", "cholesky", "eigh", "det"):
    setattr(linalg, _name, (lambda f, n: lambda *a, **k: _wrap(f(*_unwrap(a, f"cupy.linalg.{n}"), **k)))(
        getattr(numpy.linalg, _name), _name))

lib = types.ModuleType("cupy.lib")
lib.stride_tricks = types.SimpleNamespace(
    as_strided=lambda x, shape=None, strides=None: ndarray._of(
        numpy.lib.stride_tricks.as_strided(_unwrap(x, "as_strided"), shape=shape, strides=strides)))

# --------------------------------------------------------------------------- cupyx
def _scatter_add(a: ndarray, slices: Any, value: Any) -> None:
    numpy.add.at(_unwrap(a, "cupyx.scatter_add"), _index(slices), _operand(value, "cupyx.scatter_add"))


def _erf(x: ndarray) -> ndarray:
    from math import erf
    values = _unwrap(x, "cupyx.scipy.special.erf")
    return ndarray._of(numpy.vectorize(erf, otypes=[values.dtype])(values) if values.size
                       else values.copy())


cupyx = types.ModuleType("cupyx")
cupyx.scatter_add = _scatter_add
cupyx_scipy = types.ModuleType("cupyx.scipy")
cupyx_special = types.ModuleType("cupyx.scipy.special")
cupyx_special.erf = _erf
cupyx.scipy = cupyx_scipy
cupyx_scipy.special = cupyx_special

# ----------------------------------------------------------------- the cupy module
# A module of its own (not this file's namespace, where ``sum``/``any``/``bool`` keep their
# builtin meaning).
cupy = types.ModuleType("cupy")
cupy.__version__ = "14.0.0.fake"
for _name in _UFUNCS:
    setattr(cupy, _name, ufunc(_name))
for _name in _FUNCTIONS:
    setattr(cupy, _name, _device_function(_name))
for _name in _PASSTHROUGH:
    setattr(cupy, _name, getattr(numpy, _name))
cupy.bool = numpy.bool_
for _name in ("ndarray", "ufunc", "asarray", "array", "ascontiguousarray", "asnumpy", "get_array_module", "fuse",
              "random", "cuda", "linalg", "lib"):
    setattr(cupy, _name, globals()[_name])
ndarray.__module__ = "cupy"  # as real CuPy's arrays report (graphkit recognises arrays by it)

_MODULES = {"cupy": cupy, "cupy.cuda": cuda, "cupy.random": random, "cupy.linalg": linalg, "cupy.lib": lib,
            "cupyx": cupyx, "cupyx.scipy": cupyx_scipy, "cupyx.scipy.special": cupyx_special}


@contextlib.contextmanager
def installed() -> Iterator[types.ModuleType]:
    """The fake as ``cupy`` (and ``cupyx``) in ``sys.modules`` for the block; restored after."""
    saved = {name: sys.modules.get(name) for name in _MODULES}
    sys.modules.update(_MODULES)
    try:
        yield cupy
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous


@contextlib.contextmanager
def counting() -> Iterator[Counter]:
    """The counts of syncs, transfers and fused launches made inside the block."""
    before = COUNTS.copy()
    seen: Counter = Counter()
    try:
        yield seen
    finally:
        seen.update(COUNTS - before)
