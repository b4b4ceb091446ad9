"""``gk.function``: trace a Python function into an op graph once per input signature.

Semantics (as ``tf.function``):

- The *signature* of a call is computed from its arguments: tensors and arrays by shape and
  dtype (numpy arrays are converted to tensors with graphkit's dtype rules, float64 -> float32),
  Python scalars/strings/None by value, other objects by identity, lists/tuples/dicts by
  structure. A new signature *traces*: the Python function runs once on the real inputs while
  every primitive call is recorded into a :class:`Graph`. Later calls with the same signature
  run the recorded graph instead of the Python code.
- Python side effects (``print``, appending to lists, ``Variable.assign``, random numbers drawn
  outside primitives, e.g. ``gk.random.normal``) therefore happen only while tracing; the
  random mask of a ``Dropout`` layer is drawn again on every run (from the backend's generator). Data-dependent Python control flow
  (``if tensor > 0``) is frozen at the branch taken while tracing.
- Variables read while tracing are captured by reference: later assigns are seen. Other tensors
  created inside the function (``gk.constant(...)``) are captured as constant arrays.
- Gradients flow through traced functions (the recorded primitives are applied again, so a
  surrounding ``GradientTape`` records them); computing a gradient *inside* a traced function
  is not supported (an error says so).
- ``input_signature=[gk.TensorSpec((None, 3)), ...]`` fixes the signature (one trace; ``None``
  dimensions accept any size); ``reduce_retracing=True`` keys tensors by rank and dtype only.
  A graph recorded for one shape is run on other shapes; should that fail (e.g. a shape was
  baked into an op), the function is traced again for the exact shapes.
"""
from __future__ import annotations

import functools
import weakref
from typing import Any, Callable

import numpy

from .. import events
from ..engine.tensor import Tensor, to_array, wrap
from ..global_state import SUBSCRIBERS
from .graph import Graph, flatten, map_structure, run, trace
from .tensor_spec import TensorSpec

_SCALARS = (bool, int, float, complex, str, bytes, type(None))


def _is_array(value: Any) -> bool:
    if isinstance(value, (Tensor, numpy.ndarray)):
        return True
    cls = type(value)
    return cls.__module__.startswith("cupy") and hasattr(value, "shape") and hasattr(value, "dtype")


def _as_tensor(value: Any) -> Tensor:
    return value if isinstance(value, Tensor) else wrap(to_array(value), None, 0)


_FLOAT64, _FLOATX = numpy.dtype("float64"), numpy.dtype("float32")


def _array_dtype(leaf: Any) -> numpy.dtype:
    """The dtype ``leaf`` has as a tensor (graphkit's rule: float64 arrays become float32)."""
    if isinstance(leaf, Tensor):
        return leaf.data.dtype
    dtype = numpy.dtype(leaf.dtype)
    return _FLOATX if dtype == _FLOAT64 else dtype


def _leaf_key(leaf: Any, relaxed: bool) -> Any:
    if _is_array(leaf):
        shape = tuple(leaf.shape)
        return ("T", (None,) * len(shape) if relaxed else shape, _array_dtype(leaf))
    if isinstance(leaf, _SCALARS):
        return ("py", type(leaf).__name__, leaf)
    if isinstance(leaf, numpy.generic):
        return ("py", type(leaf.item()).__name__, leaf.item())
    return ("obj", type(leaf).__qualname__, id(leaf))


def _structure_key(value: Any, relaxed: bool) -> Any:
    if isinstance(value, list):
        return ("list", tuple(_structure_key(v, relaxed) for v in value))
    if isinstance(value, tuple):
        return ("tuple", tuple(_structure_key(v, relaxed) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((k, _structure_key(value[k], relaxed)) for k in sorted(value, key=str)))
    return _leaf_key(value, relaxed)


def _spec_placeholder(spec: TensorSpec) -> numpy.ndarray:
    """Zeros of ``spec``'s shape (unknown dimensions as 1) and dtype, to trace with."""
    return numpy.zeros([1 if d is None else d for d in spec.shape], spec.dtype)


def _spec_structure(value: Any) -> Any:
    """Args with tensors replaced by TensorSpecs (``structured_input_signature``)."""
    return map_structure(lambda leaf: TensorSpec.from_array(_as_tensor(leaf).data) if _is_array(leaf) else leaf,
                         value)


class ConcreteFunction:
    """One traced graph: ``graph``, ``structured_input_signature``, and ``__call__`` running it."""

    def __init__(self, graph: Graph, signature: tuple, name: str, key: Any) -> None:
        self.graph = graph
        self.structured_input_signature = signature  # (args specs, kwargs specs)
        self.name = name
        self._key = key
        self._constants = [wrap(to_array(c, c.dtype), None, 0) for c in graph.constants]  # on the backend

    @property
    def inputs(self) -> list[TensorSpec]:
        return self.graph.inputs

    @property
    def outputs(self) -> list[TensorSpec]:
        return self.graph.outputs

    @property
    def captured_variables(self) -> list:
        return list(self.graph.captures)

    def _run_tensors(self, tensors: list[Tensor]) -> Any:
        return run(self.graph, tensors, self._constants)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        tensors = [_as_tensor(leaf) for leaf in flatten((args, kwargs)) if _is_array(leaf)]
        if len(tensors) != len(self.graph.inputs):
            raise TypeError(f"{self.name}: expected {len(self.graph.inputs)} tensor arguments, got {len(tensors)}.")
        for k, (t, spec) in enumerate(zip(tensors, self.graph.inputs)):
            if not spec.is_compatible_with(t):
                raise ValueError(f"{self.name}: tensor argument {k} of shape {t.shape} and dtype {t.dtype} does "
                                 f"not match the traced {spec}.")
        return self._run_tensors(tensors)

    def __repr__(self) -> str:
        return f"<ConcreteFunction {self.name} signature={self.structured_input_signature}>"


class Function:
    """A callable that traces ``python_function`` once per input signature (see the module doc)."""

    def __init__(self, python_function: Callable, input_signature: Any = None, reduce_retracing: bool = False,
                 name: str | None = None, _instance: Any = None) -> None:
        if not callable(python_function):
            raise TypeError(f"gk.function expects a callable, got {type(python_function).__name__}.")
        self.python_function = python_function
        if input_signature is not None:
            input_signature = tuple(input_signature)
            for spec in flatten(input_signature):
                if not isinstance(spec, TensorSpec):
                    raise TypeError(f"input_signature entries must be gk.TensorSpec, got {spec!r}.")
        self.input_signature = input_signature
        self.reduce_retracing = bool(reduce_retracing)
        self.__name__ = name or getattr(python_function, "__name__", type(python_function).__name__)
        self._instance = None if _instance is None else weakref.ref(_instance)
        self._cache: dict[Any, ConcreteFunction] = {}
        self._exact: dict[Any, ConcreteFunction] = {}
        self._tracing_count = 0
        self._bound: Any = None  # instance -> bound Function (for methods)
        try:
            functools.update_wrapper(self, python_function, updated=())
        except (AttributeError, TypeError):
            pass

    # ---------------------------------------------------------------- methods
    def __get__(self, instance: Any, owner: Any = None) -> "Function":
        if instance is None:
            return self
        if self._bound is None:
            self._bound = weakref.WeakKeyDictionary()
        try:
            bound = self._bound.get(instance)
        except TypeError:  # unhashable / not weak-referenceable: keep it on the instance
            store = instance.__dict__.setdefault("_gk_bound_functions", {})
            bound = store.get(id(self))
            if bound is None:
                bound = store[id(self)] = self._bind(instance)
            return bound
        if bound is None:
            bound = self._bind(instance)
            self._bound[instance] = bound
        return bound

    def _bind(self, instance: Any) -> "Function":
        fn = self.python_function.__get__(instance, type(instance)) \
            if hasattr(self.python_function, "__get__") else functools.partial(self.python_function, instance)
        return Function(fn, self.input_signature, self.reduce_retracing, self.__name__, _instance=instance)

    # ---------------------------------------------------------------- tracing
    def experimental_get_tracing_count(self) -> int:
        return self._tracing_count

    @property
    def concrete_functions(self) -> list[ConcreteFunction]:
        """Every traced concrete function, in tracing order."""
        seen, out = set(), []
        for cf in list(self._cache.values()) + list(self._exact.values()):
            if id(cf) not in seen:
                seen.add(id(cf))
                out.append(cf)
        return out

    def _check_signature(self, args: tuple, kwargs: dict) -> None:
        if kwargs:
            raise TypeError(f"{self.__name__}: a function with an input_signature takes positional arguments only.")
        if len(args) != len(self.input_signature):
            raise TypeError(f"{self.__name__}: expected {len(self.input_signature)} arguments matching "
                            f"input_signature {list(self.input_signature)}, got {len(args)}.")
        for k, (arg, spec) in enumerate(zip(args, self.input_signature)):
            leaves, specs = flatten(arg), flatten(spec)
            if len(leaves) != len(specs) or not all(
                    _is_array(a) and s.is_compatible_with(_as_tensor(a)) for a, s in zip(leaves, specs)):
                shown = [getattr(a, "shape", a) for a in leaves]
                raise ValueError(f"{self.__name__}: argument {k} ({shown}) does not match input_signature "
                                 f"{spec}.")

    def _keys(self, args: tuple, kwargs: dict) -> tuple[Any, Any]:
        exact = None
        if not kwargs:  # the common case: positional tensors/arrays only
            parts = []
            for a in args:
                cls = a.__class__
                if cls is numpy.ndarray:
                    dtype = a.dtype
                    parts.append((a.shape, _FLOATX if dtype == _FLOAT64 else dtype))
                elif isinstance(a, Tensor):
                    parts.append((a.data.shape, a.data.dtype))
                else:
                    break
            else:
                exact = ("arrays", tuple(parts))
        if exact is None:
            exact = _structure_key((args, kwargs), False)
        if self.input_signature is not None:
            self._check_signature(args, kwargs)
            return ("signature",), exact
        if self.reduce_retracing:
            return _structure_key((args, kwargs), True), exact
        return exact, exact

    def _trace(self, args: tuple, kwargs: dict, key: Any) -> tuple[ConcreteFunction, Any]:
        args2, kwargs2 = map_structure(lambda leaf: _as_tensor(leaf) if _is_array(leaf) else leaf,
                                       (tuple(args), dict(kwargs)))
        # the graph's inputs in flatten order (dict entries sorted by key), as calls collect them
        tensors = [leaf for leaf in flatten((args2, kwargs2)) if isinstance(leaf, Tensor)]
        graph, result = trace(self.python_function, args2, kwargs2, tensors)
        self._tracing_count += 1
        if self.input_signature is not None:
            specs = list(self.input_signature)
            graph.inputs = [TensorSpec(s.shape, s.dtype, s.name) for s in flatten(specs)]
            signature = (tuple(specs), {})
        else:
            signature = _spec_structure((tuple(args), dict(kwargs)))
            if self.reduce_retracing:
                graph.inputs = [TensorSpec((None,) * len(s.shape), s.dtype) for s in graph.inputs]
                signature = map_structure(
                    lambda leaf: TensorSpec((None,) * len(leaf.shape), leaf.dtype)
                    if isinstance(leaf, TensorSpec) else leaf, signature)
        cf = ConcreteFunction(graph, signature, self.__name__, key)
        if SUBSCRIBERS.function_call:
            events.publish("function_call", self, cf)
        return cf, result

    def get_concrete_function(self, *args: Any, **kwargs: Any) -> ConcreteFunction:
        """The concrete function for these arguments (traced now if needed; TensorSpecs allowed)."""
        if not args and not kwargs and self.input_signature is not None:
            args = tuple(map_structure(_spec_placeholder, self.input_signature))
        else:
            args, kwargs = map_structure(
                lambda leaf: _spec_placeholder(leaf) if isinstance(leaf, TensorSpec) else leaf,
                (tuple(args), dict(kwargs)))
        key, exact = self._keys(args, kwargs)
        cf = self._cache.get(key) or self._exact.get(exact)
        if cf is None:
            cf, _ = self._trace(args, kwargs, key)
            self._cache[key] = cf
        return cf

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        key, exact = self._keys(args, kwargs)
        cf = self._exact.get(exact) or self._cache.get(key)
        if cf is None:
            cf, result = self._trace(args, kwargs, key)
            self._cache[key] = cf
            return result
        if SUBSCRIBERS.function_call:
            events.publish("function_call", self, cf)
        if not kwargs and exact[0] == "arrays":
            tensors = [a if isinstance(a, Tensor) else _as_tensor(a) for a in args]
        else:
            tensors = [_as_tensor(leaf) for leaf in flatten((args, kwargs)) if _is_array(leaf)]
        if key is exact or cf._key == exact:
            return cf._run_tensors(tensors)
        try:  # a graph traced for other shapes (input_signature / reduce_retracing)
            return cf._run_tensors(tensors)
        except (ValueError, IndexError, TypeError):
            cf, result = self._trace(args, kwargs, exact)
            self._exact[exact] = cf
            return result

    def __repr__(self) -> str:
        return f"<gk.function {self.__name__}: {len(self.concrete_functions)} concrete function(s)>"


def function(func: Callable | None = None, input_signature: Any = None, reduce_retracing: bool = False):
    """Decorator (``@gk.function`` or ``@gk.function(input_signature=...)``) or wrapper
    (``gk.function(model)``) returning a :class:`Function`. See the module docstring."""
    if func is None:
        return lambda f: Function(f, input_signature, reduce_retracing)
    return Function(func, input_signature, reduce_retracing)
