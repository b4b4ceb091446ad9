"""The pieces of the graph JSON (docs/frontend.md): node, edge and group dicts, the parameter
formula, weight statistics and JSON-safe configs."""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy

from .walk import activation_name, call_inputs, call_outputs, format_shape, shapes_text

__all__ = ["layer_node", "error_node", "edge_dict", "group_dict", "param_formula", "weight_stats",
           "unique_weights", "param_count", "param_counts", "json_safe"]


def unique_weights(layer) -> list:
    """The layer's weights, each once, in Keras's order (none when the layer is not built)."""
    return list({id(w): w for w in layer.weights}.values()) if getattr(layer, "built", True) else []


def param_count(weights: Iterable) -> int:
    """Scalars in ``weights``."""
    return sum(math.prod(w.shape) for w in weights)


def param_counts(layer) -> tuple[int, int]:
    """(total, trainable) parameters of ``layer``, each shared weight once."""
    weights = unique_weights(layer)
    return param_count(weights), param_count(w for w in weights if w.trainable)


def param_formula(layer) -> str | None:
    """How the parameter count adds up, one labelled term per weight:
    ``kernel 784×64 + bias 64 = 50,240``; a layer with both kinds splits them:
    ``gamma 4 + beta 4 = 8 trainable; moving_mean 4 + moving_variance 4 = 8 non-trainable; total 16``
    (None when the layer has no weights)."""
    return _formula(layer, unique_weights(layer))


def _weight_name(layer, weight) -> str:
    """The weight's name without its layer's prefix (``kernel`` for ``dense/kernel``)."""
    prefix = f"{layer.name}/"
    return weight.name[len(prefix):] if weight.name.startswith(prefix) else weight.name


def _sum(layer, weights: list) -> str:
    terms = (f"{_weight_name(layer, w)} {'×'.join(f'{d:,}' for d in w.shape) or '1'}" for w in weights)
    return f"{' + '.join(terms)} = {param_count(weights):,}"


def _formula(layer, weights: list) -> str | None:
    trainable = [w for w in weights if w.trainable]
    frozen = [w for w in weights if not w.trainable]
    if trainable and frozen:
        return (f"{_sum(layer, trainable)} trainable; {_sum(layer, frozen)} non-trainable; "
                f"total {param_count(weights):,}")
    if frozen:
        return f"{_sum(layer, frozen)} non-trainable"
    return _sum(layer, trainable) if trainable else None


def _number(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def weight_stats(layer) -> list[dict] | None:
    """Name, shape, trainable flag and mean/std/min/max of each weight (None while unbuilt;
    statistics are None for empty or non-finite values)."""
    if not getattr(layer, "built", True):
        return None
    stats = []
    for w in unique_weights(layer):
        values = numpy.asarray(w.numpy(), dtype=numpy.float64)
        entry = {"name": _weight_name(layer, w), "shape": list(w.shape), "trainable": bool(w.trainable)}
        if values.size:
            entry.update(mean=_number(values.mean()), std=_number(values.std()), min=_number(values.min()),
                         max=_number(values.max()))
        else:
            entry.update(mean=None, std=None, min=None, max=None)
        stats.append(entry)
    return stats


def json_safe(value: Any) -> Any:
    """``value`` with only JSON types: numpy scalars as numbers, tuples as lists, non-finite
    floats and any other object as its ``repr``."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, numpy.generic):
        return json_safe(value.item())
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return repr(value)


def _config(layer) -> dict | None:
    try:
        return json_safe(layer.get_config())
    except Exception:  # noqa: BLE001 - a layer without a config shows none
        return None


def _distinct(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _output_shape(layer, calls: list) -> str | None:
    if calls:
        return " | ".join(_distinct(call_outputs(n) for n in calls))
    from ..models.summary import layer_output_shape
    shape = layer_output_shape(layer)
    return None if shape == "?" else shape


def _dtype(layer, calls: list) -> str | None:
    if calls and calls[-1].output_tensors:
        return str(calls[-1].output_tensors[0].dtype)
    policy = getattr(layer, "dtype_policy", None)
    return str(policy) if policy is not None else None


def layer_node(layer, node_id: str, calls: list, group: str | None = None, status: str = "model",
               with_weights: bool = True) -> dict:
    """The node dict of ``layer`` drawn from its recorded ``calls`` (a shared layer lists the
    distinct input shapes of every call). Weights statistics only ``with_weights``."""
    weights = unique_weights(layer)
    return {
        "id": node_id, "name": layer.name, "class_name": type(layer).__name__, "group": group,
        "status": status,
        "input_shapes": _distinct(call_inputs(n) for n in calls if not n.is_input),
        "output_shape": _output_shape(layer, calls), "dtype": _dtype(layer, calls),
        "params": param_count(weights), "trainable": bool(layer.trainable), "formula": _formula(layer, weights),
        "activation": activation_name(layer), "config": _config(layer), "error": None,
        "weights": weight_stats(layer) if with_weights else None,
    }


def error_node(layer, node_id: str, error: BaseException, inputs: list) -> dict:
    """The red node of a failed call of ``layer`` on the symbolic tensors ``inputs``: it adds
    no parameters and carries the error text."""
    return {
        "id": node_id, "name": layer.name, "class_name": type(layer).__name__, "group": None,
        "status": "error", "input_shapes": [shapes_text(inputs)] if inputs else [], "output_shape": None,
        "dtype": None, "params": 0, "trainable": bool(layer.trainable), "formula": None,
        "activation": activation_name(layer), "config": _config(layer),
        "error": f"{type(error).__name__}: {error}", "weights": None,
    }


def edge_dict(source: str, target: str, tensor, status: str = "model") -> dict:
    """An edge labelled with the shape of the tensor it carries (no label without a tensor)."""
    return {"source": source, "target": target, "label": format_shape(tensor.shape) if tensor is not None else None,
            "status": status}


def group_dict(model, group_id: str, parent: str | None, collapsed: bool) -> dict:
    """The group of a nested (or live-built) model."""
    return {"id": group_id, "name": model.name, "class_name": type(model).__name__, "parent": parent,
            "params": param_count(unique_weights(model)), "collapsed": bool(collapsed)}
