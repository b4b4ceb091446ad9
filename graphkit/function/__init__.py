"""``gk.function``: trace Python functions into op graphs (see :mod:`graphkit.function.function`).

This package is itself callable, so ``gk.function(fn)`` and ``@gk.function`` work whether
``gk.function`` names the package or the decorator.
"""
from __future__ import annotations

import sys
import types

from .function import ConcreteFunction, Function, function
from .graph import Graph, GraphNode
from .tensor_spec import TensorSpec

__all__ = ["ConcreteFunction", "Function", "Graph", "GraphNode", "TensorSpec", "function"]


class _CallableModule(types.ModuleType):
    def __call__(self, func=None, input_signature=None, reduce_retracing=False):
        return function(func, input_signature=input_signature, reduce_retracing=reduce_retracing)


sys.modules[__name__].__class__ = _CallableModule
