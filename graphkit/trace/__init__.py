"""``gk.trace``: execution tracing into spans (layers, ops, optimizer, training steps).

``with gk.trace(logdir=None, level="layer") as tr:`` records; ``tr.spans``, ``tr.summary()``
and ``tr.to_chrome_trace(path)`` read the result; ``gk.summary.trace_on``/``trace_export``/
``trace_off`` are TensorFlow's interface to the same recorder. This package is itself callable,
so ``gk.trace(...)`` works whether ``gk.trace`` names the package or the function. Format and
semantics: docs/board.md, "Tracing".
"""
from __future__ import annotations

import sys
import types

from .chrome import chrome_trace, write_chrome_trace
from .flops import estimate_flops
from .recorder import LEVELS, Trace, trace
from .spans import FIELDS, Span
from .store import SPANS_FILE, append_spans, read_spans

__all__ = ["FIELDS", "LEVELS", "SPANS_FILE", "Span", "Trace", "append_spans", "chrome_trace", "estimate_flops",
           "read_spans", "trace", "write_chrome_trace"]


class _CallableModule(types.ModuleType):
    def __call__(self, logdir=None, level: str = "layer") -> Trace:
        return trace(logdir, level)


sys.modules[__name__].__class__ = _CallableModule
