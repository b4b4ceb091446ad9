"""Moving built state between backends: :func:`to_backend` (``gk.backend.to_backend``).

A model built on NumPy trains on a GPU after ``gk.backend.to_backend(model, "cupy")`` (and back):
the variables of the model, its optimizer (slots, iterations, learning rate) and its compiled
metrics get arrays of the target backend, with the same values and dtypes. Arrays a layer keeps
in plain attributes (not variables) are converted where they are used.
"""
from __future__ import annotations

from typing import Any, Iterable

from .host import to_host


def to_backend(obj: Any, backend: Any) -> Any:
    """Move the variables of ``obj`` onto ``backend`` ("numpy", "cupy" or an ``Ops``); returns ``obj``.

    ``obj`` is a model, layer, ``gk.Module``, optimizer or metric (a compiled model brings its
    optimizer and metrics along), a variable, or an iterable of these. Make ``backend`` the active
    one (``gk.backend.set_backend``/``use``) to run the moved model there.
    """
    from . import _resolve

    ops = _resolve(backend)
    for variable in _variables_of(obj):
        data = variable.data
        if not isinstance(data, ops.xp.ndarray):
            variable.data = ops.asarray(to_host(data))
    return obj


def _variables_of(obj: Any) -> list:
    """Every variable ``obj`` holds (each once), with a compiled model's optimizer and metrics.
    Variables are recognised by their marker and ``assign`` (the backend imports no engine class)."""
    found: dict[int, Any] = {}
    pending = [obj]
    while pending:
        item = pending.pop()
        if getattr(item, "_holds_backend_array", False) and hasattr(item, "assign"):
            found.setdefault(id(item), item)
            continue
        if hasattr(item, "variables"):
            pending.extend(item.variables)
            optimizer = getattr(item, "optimizer", None)
            if optimizer is not None and hasattr(optimizer, "variables"):
                pending.extend(optimizer.variables)
            pending.extend(getattr(item, "metrics_variables", ()))
        elif isinstance(item, Iterable) and not isinstance(item, (str, bytes)):
            pending.extend(item)
        else:
            raise TypeError(f"to_backend moves models, layers, modules, optimizers, metrics and variables, "
                            f"not {type(item).__name__}.")
    return list(found.values())
