"""What ``compile()`` was given, resolved per model output (Keras 3's rules).

Names are resolved at ``compile`` time, so a typo fails there with the valid names listed;
``"crossentropy"``/``"ce"`` and ``"accuracy"``/``"acc"`` stay :class:`Deferred` until the first
batch shows the target and output shapes. Specs are per output as a single value (every
output), a list (output order) or a dict keyed by output name.
"""
from __future__ import annotations

import copy
from typing import Any, Callable

import numpy

from .. import losses as losses_module
from .. import metrics as metrics_module


_AUTO_LOSSES = ("crossentropy", "ce")
_AUTO_ACCURACY = ("accuracy", "acc")


class Deferred:
    """A name resolved at the first step, once target and output shapes are known."""

    __slots__ = ("identifier",)

    def __init__(self, identifier: str) -> None:
        self.identifier = identifier


def _resolve_loss(identifier: Any) -> Any:
    if identifier is None:
        return None
    if isinstance(identifier, str) and identifier.lower() in _AUTO_LOSSES:
        return Deferred(identifier)
    loss = losses_module.get(identifier)
    if not isinstance(loss, losses_module.Loss):
        name = identifier if isinstance(identifier, str) else getattr(loss, "__name__", type(loss).__name__)
        loss = losses_module.LossFunctionWrapper(loss, name=name)
    return loss


def resolve_losses(loss: Any, names: list[str] | None) -> Any:
    """A resolved loss (applies to every output), or a list (per output) / dict (by output name)."""
    if loss is None:
        return None
    if isinstance(loss, (dict, list, tuple)):
        return _map_per_output("loss", loss, names, lambda value, _: _resolve_loss(value))
    return _resolve_loss(loss)


def _map_per_output(argument: str, spec: dict | list | tuple, names: list[str] | None,
                    convert: Callable[[Any, Any], Any]) -> dict | list:
    """``convert(entry, key or index)`` over a per-output dict or list, its keys or length
    checked against the output ``names`` when they are known."""
    if isinstance(spec, dict):
        if names is not None:
            _check_output_keys(argument, spec, names)
        return {k: convert(v, k) for k, v in spec.items()}
    if names is not None:
        _check_output_count(argument, spec, names)
    return [convert(v, i) for i, v in enumerate(spec)]


def _check_output_keys(argument: str, spec: dict, names: list[str]) -> None:
    unexpected = [k for k in spec if k not in names]
    if unexpected:
        raise ValueError(f"The `{argument}` dict has keys {unexpected} that are not outputs of the model; "
                         f"its outputs are named {names}.")


def _check_output_count(argument: str, spec: list | tuple, names: list[str]) -> None:
    if len(spec) != len(names):
        raise ValueError(f"The `{argument}` list should have one entry per output: got {len(spec)} entries for "
                         f"the model's {len(names)} outputs {names}.")


def losses_for(spec: Any, names: list[str]) -> list:
    """One resolved loss (or None: not trained) per output, from :func:`resolve_losses`' spec."""
    if spec is None:
        return [None] * len(names)
    if isinstance(spec, list):
        return spec
    if isinstance(spec, dict):
        _check_output_keys("loss", spec, names)
        return [spec.get(name) for name in names]
    return [spec] * len(names)


def check_loss_weights(weights: Any, names: list[str] | None) -> Any:
    """``loss_weights`` checked (numbers; keys or length matching the outputs when known)."""
    if weights is None:
        return None
    if isinstance(weights, (dict, list, tuple)):
        return _map_per_output("loss_weights", weights, names, _checked_weight)
    return float(_checked_weight(weights, 0))


def _checked_weight(value: Any, key: Any) -> Any:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float, numpy.number))):
        raise ValueError(f"`loss_weights` entries must be numbers, got {value!r} for {key!r}.")
    return value


def weights_for(spec: Any, names: list[str]) -> list:
    """One loss weight (or None: 1) per output, from :func:`check_loss_weights`' spec."""
    if spec is None:
        return [None] * len(names)
    if isinstance(spec, dict):
        return [None if spec.get(name) is None else float(spec[name]) for name in names]
    if isinstance(spec, list):
        _check_output_count("loss_weights", spec, names)
        return [None if w is None else float(w) for w in spec]
    return [spec] * len(names)


def finalize_loss(spec: Any, y_shape: tuple | None, output_shape: tuple) -> Any:
    """A deferred ``"crossentropy"``/``"ce"`` becomes the binary, sparse or categorical
    crossentropy that fits the targets and outputs (Keras 3's rule)."""
    if not isinstance(spec, Deferred):
        return spec
    last = output_shape[-1] if output_shape else None
    if last == 1:
        fn = losses_module.binary_crossentropy
    elif y_shape is not None and (len(y_shape) < len(output_shape) or (y_shape and y_shape[-1] == 1)):
        fn = losses_module.sparse_categorical_crossentropy
    else:
        fn = losses_module.categorical_crossentropy
    return losses_module.LossFunctionWrapper(fn, name=spec.identifier)


def _resolve_metric(identifier: Any) -> Any:
    if identifier is None:
        return None
    if isinstance(identifier, str) and identifier.lower() in _AUTO_ACCURACY:
        return Deferred(identifier)
    metric = metrics_module.get(identifier)
    name = identifier if isinstance(identifier, str) else None
    if not isinstance(metric, metrics_module.Metric):
        metric = metrics_module.MeanMetricWrapper(metric, name=name or getattr(metric, "__name__", "metric"))
    elif name is not None:
        metric.name = name
    return metric


def _resolve_metric_list(value: Any, argument: str) -> list:
    items = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for item in items:
        if item is not None and not (isinstance(item, str) or callable(item)):
            raise ValueError(f"Expected all entries in the `{argument}` list to be metric objects, names or "
                             f"functions. Received instead: {argument}={value!r}")
        out.append(_resolve_metric(item))
    return out


def resolve_metrics(metrics: Any, names: list[str] | None, argument: str) -> Any:
    """Resolved metrics: a flat list (single output), a list of lists, or a dict of lists."""
    if not metrics:
        return None
    if isinstance(metrics, dict):
        if names is not None:
            unexpected = [k for k in metrics if k not in names]
            if unexpected:
                raise ValueError(f"In the dict argument `{argument}`, key(s) {unexpected} do not correspond to any "
                                 f"model output; the outputs are named {names}.")
        return {k: _resolve_metric_list(v, argument) for k, v in metrics.items()}
    per_output = any(isinstance(m, (list, tuple)) for m in metrics)
    if per_output or (names is not None and len(names) > 1):
        if names is not None and len(names) > 1 and len(metrics) != len(names):
            raise ValueError(f"For a model with multiple outputs, when providing the `{argument}` argument as a "
                             f"list, it should have as many entries as the model has outputs. Received:\n"
                             f"{argument}={metrics!r}\nof length {len(metrics)} whereas the model has {len(names)} "
                             f"outputs {names}.")
        if names is not None and len(names) == 1 and per_output:
            return ("flat", [m for group in metrics for m in _resolve_metric_list(group, argument)])
        return [_resolve_metric_list(group, argument) for group in metrics]
    return ("flat", _resolve_metric_list(metrics, argument))


def metrics_for(spec: Any, names: list[str], shapes: list[tuple], y_shapes: list, losses: list,
                 weighted: bool) -> list:
    """One list of metric objects per output (``"accuracy"`` resolved from the shapes, Keras 3's rule)."""
    n = len(names)
    if spec is None:
        return [[] for _ in range(n)]
    if isinstance(spec, tuple) and spec[0] == "flat":
        if n != 1:
            raise ValueError(f"For a model with multiple outputs {names}, pass `{'weighted_' if weighted else ''}"
                             "metrics` as a list of lists or a dict keyed by output name.")
        groups = [spec[1]]
    elif isinstance(spec, dict):
        unexpected = [k for k in spec if k not in names]
        if unexpected:
            raise ValueError(f"The metrics dict has keys {unexpected} that are not outputs of the model; its "
                             f"outputs are named {names}.")
        groups = [spec.get(name, []) for name in names]
    else:
        if len(spec) != n:
            raise ValueError(f"The metrics list has {len(spec)} entries for a model with {n} outputs {names}.")
        groups = spec
    out = []
    for i, group in enumerate(groups):
        resolved = []
        for m in group:
            if m is None:
                continue
            if isinstance(m, Deferred):
                metric = metrics_module.resolve_accuracy(m.identifier, losses[i], shapes[i],
                                                         y_true_shape=y_shapes[i])
            else:
                metric = m if not any(m is r for r in resolved) else copy.deepcopy(m)
            resolved.append(metric)
        out.append(resolved)
    return out


def result_names(metrics: list, weighted: list, names: list[str], multi: bool) -> list[str]:
    """Keras 3's CompileMetrics.result() keys, in the order of the plan's metric entries."""
    seen: dict[str, int] = {}
    result = []
    for i, group in enumerate(metrics):
        for m in group:
            name = f"{names[i]}_{m.name}" if multi else m.name
            if name in seen:
                index = seen[name]
                seen[name] += 1
                name = f"{name}_{index}"
            else:
                seen[name] = 1
            result.append(name)
    for i, group in enumerate(weighted):
        for m in group:
            name = f"{names[i]}_{m.name}" if multi else m.name
            if name in seen:
                name = f"weighted_{m.name}"
                if multi:
                    name = f"{names[i]}_{name}"
                if name in seen:
                    index = seen[name]
                    seen[name] += 1
                    name = f"{name}_{index}"
                else:
                    seen[name] = 1
            else:
                seen[name] = 1
            result.append(name)
    return result


def unique_names(names: list[str]) -> list[str]:
    """``names`` with repeats numbered: ``["out", "out"]`` -> ``["out", "out_1"]``."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            seen[name] += 1
            out.append(f"{name}_{seen[name]}")
        else:
            seen[name] = 0
            out.append(name)
    return out
