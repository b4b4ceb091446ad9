"""Op layers: a ``gk.ops`` function (or a Python operator) applied to symbolic tensors.

``x + y``, ``x[:, 0]`` or ``gk.ops.mean(x, axis=1)`` on symbolic tensors record one op layer each,
as Keras 3 records its ``Operation``s: one class per op, named like Keras (``Add``, ``GetItem``,
``TrueDivide``...), layer names ``add``, ``add_1``... Their config is Keras's
(``{"name": "mean", "axis": 1, "keepdims": False}``: the op's keyword arguments), the tensors
and positional constants live in the node's ``inbound_nodes`` entry. Output shapes come from a
dry run of the op on small arrays of ones (two sizes for unknown dimensions).
"""
from __future__ import annotations

from typing import Any

import numpy

from .. import backend
from ..engine.autograd import no_grad
from ..engine.tensor import wrap
from ..graph.node import flatten_structure, map_structure
from ..graph.symbolic import SymbolicTensor
from .layer import Layer, unique_name

# Keras's module for an op's class (its ``ops`` submodule); numpy-style ops are the default.
_NN_OPS = {"relu", "relu6", "sigmoid", "tanh", "softplus", "softsign", "silu", "swish", "hard_sigmoid",
           "leaky_relu", "elu", "selu", "gelu", "softmax", "log_softmax", "one_hot", "conv", "conv_transpose",
           "depthwise_conv", "separable_conv", "max_pool", "average_pool", "linear", "exponential"}
_MATH_OPS = {"logsumexp", "erf", "rsqrt"}
_CORE_OPS = {"cast", "stop_gradient"}


def keras_module(name: str) -> str:
    if name in _NN_OPS:
        return "keras.src.ops.nn"
    if name in _MATH_OPS:
        return "keras.src.ops.math"
    if name in _CORE_OPS:
        return "keras.src.ops.core"
    return "keras.src.ops.numpy"


def class_name_for(op: str) -> str:
    """``get_item`` -> ``GetItem``, ``true_divide`` -> ``TrueDivide`` (Keras's op class names)."""
    return "".join(part[:1].upper() + part[1:] for part in op.split("_"))


class OpLayer(Layer):
    """Applies the ``gk.ops`` function named by the class's ``function`` to its call arguments."""

    function: str = ""

    def __init__(self, name: str | None = None, **op_kwargs: Any) -> None:
        if not self.function:
            raise TypeError("OpLayer is abstract: use op_class(name) for the class of one op.")
        super().__init__(name=name or unique_name(self.function))
        self.op_kwargs = op_kwargs
        self.built = True
        from ..ops._symbolic import raw_op
        self._fn = raw_op(self.function)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("training", None)
        kwargs.pop("mask", None)
        if any(isinstance(v, SymbolicTensor) for v in flatten_structure((args, kwargs))):
            from ..graph.recording import record_call
            return record_call(self, args, kwargs)
        return self.call(*args, **kwargs)

    def call(self, *args: Any, **kwargs: Any) -> Any:
        if self.function == "get_item" and isinstance(args[1], list):
            args = (args[0], tuple(args[1]))  # a JSON round trip turned the index tuple into a list
        return self._fn(*args, **kwargs, **self.op_kwargs)

    def compute_output_spec(self, args: tuple, kwargs: dict) -> Any:
        """Shapes and dtypes from running the op on arrays of ones.

        Unknown dimensions are 2 in a first run and 3 in a second; those that change are unknown
        in the result. (Should only the first run work, its shapes are taken as they are.)
        """
        leaves = [t for t in flatten_structure((args, kwargs)) if isinstance(t, SymbolicTensor)]
        unknown = any(d is None for t in leaves for d in t.shape)
        ops = backend.current()
        runs = []
        for fill in ((2, 3) if unknown else (2,)):
            def concrete(value, fill=fill):
                if isinstance(value, SymbolicTensor):
                    shape = tuple(fill if d is None else d for d in value.shape)
                    return wrap(ops.ones(shape, value.dtype), None, 0)
                return value
            try:
                with no_grad(), numpy.errstate(all="ignore"):
                    runs.append(self.call(*map_structure(concrete, args), **map_structure(concrete, kwargs)))
            except Exception:
                if not runs:
                    raise
                break
        first = runs[0]
        other = runs[-1]
        flat_first, flat_other = flatten_structure(first), flatten_structure(other)
        if len(flat_first) != len(flat_other):
            flat_other = flat_first
        specs = iter([SymbolicTensor(tuple(d if d == e else None for d, e in zip(a.shape, b.shape)), a.dtype)
                      for a, b in zip(flat_first, flat_other)])
        return map_structure(lambda _: next(specs), first)

    def get_config(self) -> dict:
        return {"name": self.name, **self.op_kwargs}

    @classmethod
    def from_config(cls, config: dict) -> "OpLayer":
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} op={self.function!r} name={self.name}>"


_CLASSES: dict[str, type] = {}  # op name -> class


def op_class(name: str) -> type:
    """The OpLayer subclass for op ``name`` (made once)."""
    cls = _CLASSES.get(name)
    if cls is None:
        cls = type(class_name_for(name), (OpLayer,), {
            "function": name, "keras_module": keras_module(name), "__module__": __name__,
            "__doc__": f"The ``{name}`` op applied to symbolic tensors."})
        _CLASSES[name] = cls
    return cls


def op_class_by_class_name(class_name: str) -> type | None:
    """The op layer class serialized as ``class_name`` (``GetItem``), or None."""
    from ..ops._symbolic import op_names
    for name in op_names():
        if class_name_for(name) == class_name:
            return op_class(name)
    return None
