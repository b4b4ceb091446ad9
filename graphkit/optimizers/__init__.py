"""Optimizers (``gk.optimizers``): Keras 3's SGD, Adam, AdamW, RMSprop and Adagrad, their names,
arguments, defaults and update formulas, running as fused in-place array updates.

``gk.optimizers.get("adam")`` (case-insensitive names, Keras config dicts or instances),
``serialize(optimizer)`` -> ``{"module": "keras.optimizers", "class_name": "Adam", "config": {...},
"registered_name": None}``, ``deserialize(config)``. Learning-rate schedules are in
:mod:`graphkit.optimizers.schedules`.

Choices where graphkit differs from Keras (all documented on the classes):

- ``optimizer.learning_rate`` reads as a Python float (Keras returns its variable); it is still
  settable with a float (as ReduceLROnPlateau does), a schedule or a callable, and the float is
  stored in a float32 ``learning_rate`` variable listed in ``optimizer.variables`` as in Keras.
  ``get_config()`` reports the float as given (Keras reports its float32 rounding).
- Scalar hyper-parameter arithmetic (Adam's bias correction, ``1 - rho``, ...) is done in Python
  float64, then each coefficient is rounded once to the variable's dtype.
- ``exclude_from_weight_decay(var_names=...)`` searches the full graphkit variable name
  (``"dense/bias"``), and may be called after the optimizer is built.
- Built-in schedules return Python floats rather than scalar tensors.
"""
from __future__ import annotations

from typing import Any

from . import schedules
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "schedules", "get", "serialize",
           "deserialize"]

ALL_OBJECTS_DICT: dict[str, type] = {cls.__name__.lower(): cls for cls in (SGD, Adam, AdamW, RMSprop, Adagrad)}


def _valid_names() -> str:
    return ", ".join(f"'{name}'" for name in sorted(ALL_OBJECTS_DICT))


def serialize(optimizer: Optimizer) -> dict:
    """Keras 3's config dict of an optimizer."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"Cannot serialize {optimizer!r}: not a gk.optimizers.Optimizer.")
    cls = type(optimizer)
    if ALL_OBJECTS_DICT.get(cls.__name__.lower()) is cls:
        module, registered = "keras.optimizers", None
    else:
        from ..saving.serialization import get_registered_name
        module, registered = cls.__module__, get_registered_name(cls)
    return {"module": module, "class_name": cls.__name__, "config": optimizer.get_config(),
            "registered_name": registered}


def deserialize(config: dict, custom_objects: dict | None = None) -> Optimizer:
    """The optimizer a Keras-style config dict describes (built-in class names are
    case-insensitive; custom classes through ``custom_objects`` or
    ``gk.saving.register_serializable()``)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Expected an optimizer config dict with a 'class_name', got {config!r}.")
    class_name = config["class_name"]
    if not isinstance(class_name, str):
        raise ValueError(f"Unknown optimizer {class_name!r}; valid names: {_valid_names()}.")
    cls = ALL_OBJECTS_DICT.get(class_name.lower())
    if cls is None:
        from ..saving.serialization import get_registered_object
        for key in (config.get("registered_name"), class_name):
            if key:
                found = get_registered_object(key, custom_objects)
                if found is not None:
                    cls = found
                    break
    if cls is None or not (isinstance(cls, type) and issubclass(cls, Optimizer)):
        raise ValueError(f"Unknown optimizer {class_name!r}; valid names: {_valid_names()} (custom optimizers: pass "
                         "them in custom_objects or register them with gk.saving.register_serializable()).")
    return cls.from_config(dict(config.get("config") or {}), custom_objects=custom_objects)


def get(identifier: Any) -> Optimizer | None:
    """An optimizer from a name (``"adam"``, ``"RMSprop"``), a config dict or an instance (returned
    as is); None stays None."""
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return deserialize({"class_name": identifier, "config": {}})
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r} (expected a name such as "
                     f"{_valid_names()}, a config dict or an Optimizer instance).")
