"""User data in the form the training loops run on, for one model.

``x`` leaves become numpy arrays of the dtypes the model's inputs expect (converted once for
the whole data set, not per batch); ``y`` and ``sample_weight`` become lists with one entry per
model output (the plan's ``output_names`` order); ``class_weight`` becomes sample weights.
Every check (input names, cardinality, NaN/inf) runs before training changes anything.
"""
from __future__ import annotations

from typing import Any

import numpy

from .. import backend
from . import data_adapter as da


def convert_x(model: Any, x: Any, what: str) -> Any:
    """``x`` with every leaf a numpy array of the dtype its model input expects."""
    leaves, template = da.flatten(x)
    names = da.describe_leaves(template, "x")
    dtypes = _input_dtypes(model, template, len(leaves))
    return da.rebuild(template, [_cast_input(da.to_numpy(leaf, f"{what}: {name}"), dtype)
                                 for leaf, name, dtype in zip(leaves, names, dtypes)])


def _input_dtypes(model: Any, template: Any, count: int) -> list:
    """The dtype of the model input each leaf feeds (None where unknown: a subclassed model)."""
    graph = model._functional
    if graph is None:
        return [None] * count
    inputs = graph.inputs
    if isinstance(template, da.Leaf) and len(inputs) == 1:
        return [inputs[0].dtype]
    if isinstance(template, dict):
        by_key = dict(zip(graph._input_keys(template), inputs))
        wanted = [by_key[key].dtype if isinstance(item, da.Leaf) and key in by_key else None
                  for key, item in template.items()]
        return wanted if len(wanted) == count else [None] * count
    if isinstance(template, (list, tuple)) and len(template) == len(inputs) == count:
        return [t.dtype for t in inputs]
    return [None] * count


def check_input_names(model: Any, x: Any) -> None:
    """A dict ``x`` must be keyed by the model's input names (listed in the error)."""
    graph = model._functional
    if graph is not None and isinstance(x, dict):
        graph._checked_input_keys(x, model.name)


def targets(y: Any, sample_weight: Any, names: list[str]) -> tuple:
    """``(ys, sws)``: targets and sample weights as numpy arrays, one entry per output (or None)."""
    ys = da.flatten_targets(y, names)
    if ys is not None:
        ys = [None if t is None else _cast_target(da.to_numpy(t, "y")) for t in ys]
    sws = da.flatten_targets(sample_weight, names, "sample_weight")
    if sws is not None:
        sws = [None if t is None else da.to_numpy(t, "sample_weight").astype(backend.FLOATX, copy=False)
               for t in sws]
    return ys, sws


def class_weights(ys: list | None, sws: list | None, class_weight: dict) -> list:
    """The sample weights ``class_weight`` gives a single-output model's targets."""
    if sws is not None and any(s is not None for s in sws):
        raise ValueError("You cannot use `class_weight` and `sample_weight` at the same time.")
    if ys is None or len(ys) != 1:
        raise ValueError("`class_weight` is only supported for models with a single output "
                         f"(this one has {0 if ys is None else len(ys)} targets).")
    return [da.class_weight_to_sample_weights(ys[0], class_weight)]


def make_adapter(model: Any, x: Any, y: Any, sample_weight: Any, *, batch_size: Any, shuffle: Any, steps: Any,
                 class_weight: dict | None, what: str) -> Any:
    """An adapter over ``(x, y, sample_weight)``: arrays or a dataset (``what`` names the caller
    in errors; ``"predict"`` keeps only ``x``). The model's training plan is built here when
    targets are involved, from the first samples."""
    batch_size = da.check_batch_size(batch_size)
    state = model._compile_state
    with_targets = state is not None and what != "predict"
    if da.is_dataset(x):
        if y is not None or sample_weight is not None:
            raise ValueError(f"{what}: `y` and `sample_weight` must not be passed when `x` is a generator or "
                             "dataset; yield (x, y) or (x, y, sample_weight) from it instead.")
        adapter = da.IterableDataAdapter(x, lambda raw: raw, steps=steps, shuffle=shuffle is True, what=what)
        first_x = da.unpack_x_y_sample_weight(adapter._pending[0])[0]
        check_input_names(model, first_x)
        if with_targets:
            state.build_plan(convert_x(model, first_x, what))
        adapter.convert = _dataset_converter(model, class_weight, what)
        adapter._pending = [adapter.convert(raw) for raw in adapter._pending]
        return adapter
    if x is None:
        raise ValueError(f"{what}: no input data (x is None).")
    check_input_names(model, x)
    x = convert_x(model, x, what)
    ys = sws = None
    if with_targets:
        ys, sws = targets(y, sample_weight, state.build_plan(da.head(x)).output_names)
    if class_weight is not None:
        sws = class_weights(ys, sws, class_weight)
    return da.ArrayDataAdapter(x, ys, sws, batch_size=batch_size, shuffle=shuffle, steps=steps, what=what)


def _dataset_converter(model: Any, class_weight: dict | None, what: str):
    """A function turning one raw generator batch into ``(x, y list, sample_weight list)``
    (``predict`` keeps only ``x``), checked like array data (NaN/inf warned about once)."""
    warned = [False]
    state = model._compile_state
    with_targets = what != "predict"

    def convert(raw: Any) -> tuple:
        x, y, sw = da.unpack_x_y_sample_weight(raw)
        x = convert_x(model, x, what)
        ys = sws = None
        if with_targets:
            ys, sws = targets(y, sw, state.plan.output_names)
            if class_weight is not None:
                sws = class_weights(ys, sws, class_weight)
        leaves, template = da.flatten(x)
        labels = da.describe_leaves(template, "x")
        arrays = list(leaves)
        for kind, values in (("y", ys), ("sample_weight", sws)):
            for i, t in enumerate(values or []):
                if t is not None and all(t is not a for a in arrays):
                    arrays.append(t)
                    labels.append(kind if len(values) == 1 else f"{kind}[{i}]")
        da.check_cardinality(arrays, labels, what)
        if not warned[0]:
            report = da.non_finite_report(arrays, labels)
            if report:
                warned[0] = True
                da.warn_non_finite(report)
        return x, ys, sws

    return convert


def split_validation(model: Any, x: Any, y: Any, sample_weight: Any, validation_split: float,
                     batch_size: int | None) -> tuple:
    """``fit``'s ``validation_split``: ``((x, y, sample_weight), (val_x, val_y, val_sw))``, the
    validation part being the *last* fraction of the arrays, cut before any shuffling."""
    if da.is_dataset(x):
        raise ValueError("`validation_split` is only supported for arrays (NumPy arrays, tensors, lists "
                         "or dicts of them), not for generators or datasets: pass validation_data.")
    if x is None:
        raise ValueError("fit: no input data (x is None).")
    check_input_names(model, x)
    x = convert_x(model, x, "fit")
    ys, sws = targets(y, sample_weight, model._compile_state.build_plan(da.head(x)).output_names)
    full = da.ArrayDataAdapter(x, ys, sws, batch_size=batch_size, what="fit", check_finite=False)
    split_at = da.train_validation_split(full.num_samples, validation_split)
    x, y, sample_weight = full.slice(0, split_at)
    val_x, val_y, val_sw = full.slice(split_at, full.num_samples)
    return (x, _unlist(y), _unlist(sample_weight)), (val_x, _unlist(val_y), _unlist(val_sw))


def batch_data(model: Any, x: Any, y: Any, sample_weight: Any, class_weight: Any, what: str) -> tuple:
    """One batch of user data in the loops' form ``(x, ys, sws)``, with the checks of ``fit``
    (``train_on_batch``/``test_on_batch``)."""
    state = model._compile_state
    if x is None:
        raise ValueError(f"{what}: no input data (x is None).")
    if isinstance(x, numpy.ndarray) and x.dtype.kind == "f" and state.plan is not None:
        xs = x  # the common case: the model converts the array itself
        x_leaves, labels = [x], ["x"]
    else:
        check_input_names(model, x)
        xs = convert_x(model, x, what)
        x_leaves, template = da.flatten(xs)
        labels = da.describe_leaves(template, "x")
    plan = state.plan if state.plan is not None else state.build_plan(da.head(xs))
    ys, sws = targets(y, sample_weight, plan.output_names)
    if class_weight is not None:
        sws = class_weights(ys, sws, class_weight)
    arrays = x_leaves + [t for t in (ys or []) if t is not None]
    names = labels + [("y" if len(ys) == 1 else f"y[{i}]") for i, t in enumerate(ys or []) if t is not None]
    extra = [t for t in (sws or []) if t is not None and all(t is not a for a in arrays)]
    da.check_cardinality(arrays + extra, names + ["sample_weight"] * len(extra), what)
    report = da.non_finite_report(arrays, names)
    if report:
        da.warn_non_finite(report)
    return xs, ys, sws


def _unlist(values: list | None) -> Any:
    """Per-output lists back to what flatten_targets accepts (a list; one output: the array)."""
    if values is None:
        return None
    if all(v is None for v in values):
        return None
    if len(values) == 1:
        return values[0]
    return list(values)


def _cast_input(array: numpy.ndarray, dtype: Any) -> numpy.ndarray:
    if dtype is not None:
        dtype = numpy.dtype(dtype)
        if array.dtype != dtype and (dtype.kind == "f" and array.dtype.kind in "biuf" or
                                     dtype.kind in "iu" and array.dtype.kind in "iu"):
            return array.astype(dtype)  # once for the whole data set, not per batch
        return array
    if array.dtype == numpy.float64 and numpy.dtype(backend.FLOATX) != numpy.float64:
        return array.astype(backend.FLOATX)
    return array


def _cast_target(array: numpy.ndarray) -> numpy.ndarray:
    if array.dtype == numpy.float64 and numpy.dtype(backend.FLOATX) != numpy.float64:
        return array.astype(backend.FLOATX)
    return array
