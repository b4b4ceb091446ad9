"""Layer configs written by Keras 3, read by graphkit's built-in layers.

Keras writes keys graphkit's layers do not take: a dtype *policy* dict instead of a dtype name,
InputLayer's ``ragged``/``optional``, ``quantization_config``, BatchNormalization's ``renorm*``
and ``synchronized``, LoRA settings, regularizers and constraints. :func:`accept_keras_layer_config`
turns such a config into the arguments graphkit's layer takes when the meaning is kept (the key
holds Keras's default, which graphkit behaves as), and otherwise raises one ValueError naming the
layer and the key.
"""
from __future__ import annotations

import inspect
from functools import lru_cache
from typing import Any

# Keys graphkit's layers do not take, with the value under which leaving them out changes nothing.
_INERT_VALUES: dict[str, tuple] = {
    "ragged": (False,), "optional": (False,), "sparse": (False,), "quantization_config": (None,),
    "synchronized": (False,), "renorm": (False,), "renorm_clipping": (None,), "lora_rank": (None,),
    "lora_alpha": (None,), "lora_enabled": (False,),
}
# Keys that only matter when another key is on (renorm_momentum without renorm).
_DEPENDENT_KEYS = {"renorm_momentum": "renorm"}
# Initializer keys of Keras 3.12+ (which axes count as fan-in/fan-out); None is the usual rule.
_INITIALIZER_AXES = ("input_axes", "output_axes")
# Float policies graphkit runs as such; mixed precision would compute in another dtype.
_POLICY_CLASSES = ("DTypePolicy", "FloatDTypePolicy")


@lru_cache(maxsize=None)
def _accepted_keys(cls: type) -> frozenset:
    """The keyword arguments some ``__init__`` along ``cls``'s MRO names explicitly."""
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        for parameter in inspect.signature(init).parameters.values():
            if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
                names.add(parameter.name)
    return frozenset(names)


def _unsupported(layer: str, class_name: str, key: str, value: Any, why: str) -> ValueError:
    return ValueError(f"Layer '{layer}' ({class_name}): its config key '{key}' = {value!r} cannot be loaded: {why}")


def _dtype_name(layer: str, class_name: str, value: Any) -> Any:
    """A dtype policy dict (Keras 3) as the dtype name graphkit's layers take."""
    if not isinstance(value, dict):
        return value
    policy = value.get("class_name")
    name = (value.get("config") or {}).get("name")
    if policy not in _POLICY_CLASSES or not isinstance(name, str) or name.startswith("mixed_"):
        raise _unsupported(layer, class_name, "dtype", name or policy,
                           "graphkit runs each layer in one float dtype (no mixed-precision or quantized "
                           "dtype policies).")
    return name


def accept_keras_layer_config(cls: type, class_name: str, config: dict) -> dict:
    """``config`` (of a built-in layer class ``cls``) as the arguments graphkit's layer takes."""
    layer = config.get("name", class_name)
    accepted = _accepted_keys(cls)
    result = {}
    for key, value in config.items():
        if key == "dtype":
            result[key] = _dtype_name(layer, class_name, value)
        elif key in accepted:
            if key.endswith("_initializer"):
                value = _initializer_config(layer, class_name, key, value)
            elif key.endswith(("_regularizer", "_constraint")) and value is not None:
                raise _unsupported(layer, class_name, key, _kind(value),
                                   "graphkit has no regularizers or constraints, so the model would train "
                                   "differently (remove it in Keras, or set it to None in config.json).")
            result[key] = value
        elif key.endswith(("_regularizer", "_constraint")) and value is None:
            continue
        elif key in _INERT_VALUES and any(value is v or value == v for v in _INERT_VALUES[key]):
            continue
        elif key in _DEPENDENT_KEYS and not config.get(_DEPENDENT_KEYS[key]):
            continue
        else:
            raise _unsupported(layer, class_name, key, _kind(value),
                               f"graphkit's {class_name} has no such option (it supports only Keras's default "
                               f"{_INERT_VALUES.get(key, ('(unset)',))[0]!r} there).")
    return result


def _initializer_config(layer: str, class_name: str, key: str, value: Any) -> Any:
    """An initializer config without Keras 3.12+'s fan-axis keys when they hold their default (None)."""
    if not (isinstance(value, dict) and isinstance(value.get("config"), dict)):
        return value
    inner = dict(value["config"])
    for axes in _INITIALIZER_AXES:
        if axes in inner:
            if inner[axes] is not None:
                raise _unsupported(layer, class_name, key, value.get("class_name"),
                                   f"graphkit's initializers compute fans from the weight's shape (no '{axes}').")
            del inner[axes]
    return {**value, "config": inner}


def _kind(value: Any) -> Any:
    """A serialized object by its class name (short error messages)."""
    if isinstance(value, dict) and "class_name" in value:
        return value["class_name"]
    return value
