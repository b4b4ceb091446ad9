"""Whole-model files and weights files (Keras 3's ``model.save`` / ``load_model`` / ``save_weights``).

Model file (``.gk``, or ``.keras``): a zip with

- ``metadata.json``: ``{"format": "graphkit.model", "format_version": 1, "graphkit_version",
  "keras_version": "3" (the Keras saving layout it follows), "date_saved", "backend",
  "python_version"}``;
- ``config.json``: the model's Keras 3 config (:mod:`graphkit.saving.serialization`), plus
  ``compile_config`` (the ``compile`` arguments, with the optimizer's config) for a compiled
  model, as Keras writes it;
- the weights, holding the optimizer's variables too (``optimizer/vars/0``...) when the model is
  compiled, so training resumes where it stopped: in a ``.gk`` file ``model.weights.npz``, a
  variables archive (:mod:`graphkit.saving.archive`) keyed by weight path inside the model
  (``layers/dense/kernel``, see :mod:`graphkit.train.object_graph`); in a ``.keras`` file
  ``model.weights.h5``, Keras 3's HDF5 layout (``layers/dense/vars/0``,
  :mod:`graphkit.saving.keras_format`), so Keras 3 loads the file. ``load_model`` reads both, and
  the ``.keras`` files Keras 3 writes.

Weights file: ``model.save_weights("w.weights.npz")`` writes just the variables archive
(readable with ``numpy.load(path, allow_pickle=False)``); ``"w.weights.h5"`` writes Keras 3's
weights file. ``load_weights`` reads both (Keras's own too) and also accepts a model file.

Loading never unpickles and never executes code from the file, except the Python lambdas of
``Lambda`` layers, which load only with ``safe_mode=False``. A file that does not fit the model
(missing or unexpected weights, another shape) raises one ValueError listing the keys, before any
variable is changed.
"""
from __future__ import annotations

import datetime
import json
import os
import sys
import warnings
from typing import Any

from . import archive, keras_format
from .archive import FileFormatError
from .atomic import atomic_write_bytes
from .code_serialization import DumpCodeScope, SafeModeScope

MODEL_SUFFIXES = (".gk", ".keras")
WEIGHTS_SUFFIX = ".weights.npz"
WEIGHTS_SUFFIXES = (WEIGHTS_SUFFIX, keras_format.WEIGHTS_H5_SUFFIX)
KERAS_SUFFIX = ".keras"
CONFIG_NAME = "config.json"
METADATA_NAME = "metadata.json"
WEIGHTS_NAME = "model.weights.npz"
WEIGHTS_NAMES = (WEIGHTS_NAME, keras_format.WEIGHTS_H5_NAME)
MODEL_FORMAT = "graphkit.model"
MODEL_FORMAT_VERSION = 1
_OPTIMIZER_PREFIX = "optimizer/"


# ------------------------------------------------------------------------------- helpers
def _path(filepath: Any) -> str:
    if not isinstance(filepath, (str, os.PathLike)):
        raise TypeError(f"Expected a file path, got {type(filepath).__name__}.")
    return os.fspath(filepath)


def _check_model_suffix(path: str) -> None:
    if not path.endswith(MODEL_SUFFIXES):
        hint = " (to save only the weights use model.save_weights('....weights.npz' or '....weights.h5'))" \
            if path.endswith((".npz", ".h5")) else ""
        raise ValueError(f"Invalid filepath extension for saving '{path}': a whole-model file must end in '.gk' "
                         f"(or '.keras'){hint}.")


def _check_overwrite(path: str, overwrite: bool) -> None:
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"'{path}' already exists and overwrite=False.")


def _model_graph(model: Any):
    from ..train.object_graph import ObjectGraph
    return ObjectGraph({"": model})


def _weights_arrays(model: Any, include_optimizer: bool = True) -> dict[str, Any]:
    arrays = {}
    for key, variable in _model_graph(model).variables.items():
        if not include_optimizer and key.startswith(_OPTIMIZER_PREFIX):
            continue
        arrays[key] = variable.numpy()
    return arrays


def _metadata() -> dict:
    from .. import __version__, backend
    current = backend.current()
    return {"format": MODEL_FORMAT, "format_version": MODEL_FORMAT_VERSION, "graphkit_version": __version__,
            "keras_version": "3", "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
            "backend": getattr(current, "name", type(current).__name__),
            "python_version": ".".join(map(str, sys.version_info[:3]))}


def _compile_config(model: Any) -> dict | None:
    """Keras 3's ``compile_config``: the compile arguments, objects as configs (the optimizer's
    current config, e.g. a learning rate changed by ReduceLROnPlateau)."""
    from .serialization import serialize_keras_object
    if not getattr(model, "compiled", False):
        return None
    getter = getattr(model, "get_compile_config", None)
    raw = dict(getter() or {}) if getter is not None else {}
    config = {}
    for key, value in raw.items():
        if key == "optimizer" and getattr(model, "optimizer", None) is not None:
            from .. import optimizers
            config[key] = optimizers.serialize(model.optimizer)
        elif key in ("loss", "metrics", "weighted_metrics"):
            config[key] = _map_leaves(value, lambda v: _serialize_training_object(key, v))
        else:
            config[key] = serialize_keras_object(value)
    return config or None


def _map_leaves(value: Any, fn) -> Any:
    if isinstance(value, (list, tuple)):
        return [_map_leaves(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: _map_leaves(v, fn) for k, v in value.items()}
    return fn(value)


def _training_module(key: str) -> Any:
    import importlib
    try:
        return importlib.import_module("graphkit.losses" if key == "loss" else "graphkit.metrics")
    except ImportError:
        return None


def _serialize_training_object(key: str, value: Any) -> Any:
    from .serialization import serialize_keras_object
    if value is None or isinstance(value, str):
        return value
    module = _training_module(key)
    serializer = getattr(module, "serialize", None)
    if serializer is not None:
        try:
            return serializer(value)
        except (TypeError, ValueError):
            pass
    return serialize_keras_object(value)


def _deserialize_training_object(key: str, value: Any, custom_objects: dict | None) -> Any:
    """A loss/metric config back to an object (names stay names, as compile accepts them)."""
    from .serialization import deserialize_keras_object
    if not (isinstance(value, dict) and "class_name" in value):
        return value
    module = _training_module(key)
    deserializer = getattr(module, "deserialize", None)
    if deserializer is not None:
        return deserializer(value, custom_objects=custom_objects)
    return deserialize_keras_object(value, custom_objects)


# ---------------------------------------------------------------------------------- save
def save_model(model: Any, filepath: str | os.PathLike, overwrite: bool = True, include_optimizer: bool = True,
               **kwargs: Any) -> str:
    """Save config, weights and (compiled) optimizer state to a ``.gk`` (or ``.keras``) zip; atomic."""
    from .serialization import _json_default, serialize_keras_object
    if kwargs.pop("zipped", True) is False:
        raise ValueError("graphkit model files are always zipped (zipped=False is not supported).")
    kwargs.pop("save_format", None)
    if kwargs:
        raise TypeError(f"save() got unexpected keyword arguments {sorted(kwargs)}.")
    path = _path(filepath)
    _check_model_suffix(path)
    _check_overwrite(path, overwrite)
    with DumpCodeScope():
        config = serialize_keras_object(model)
        compile_config = _compile_config(model) if include_optimizer else None
        if compile_config is not None:
            config["compile_config"] = serialize_keras_object(compile_config)
    try:
        config_json = json.dumps(config, default=_json_default, indent=1)
    except TypeError as exc:
        raise TypeError(f"Cannot save model '{getattr(model, 'name', model)}' to '{path}': its config is not "
                        f"JSON-serializable ({exc}).") from None
    arrays = _weights_arrays(model, include_optimizer)
    if path.endswith(KERAS_SUFFIX):
        weights_entry = (keras_format.WEIGHTS_H5_NAME, keras_format.h5_bytes(model, arrays, include_optimizer))
    else:
        weights_entry = (WEIGHTS_NAME, archive.variables_bytes(arrays, kind="model"))
    entries = [(METADATA_NAME, json.dumps(_metadata(), indent=1).encode("utf-8")),
               (CONFIG_NAME, config_json.encode("utf-8")),
               weights_entry]
    return archive.write_zip(path, entries)


def save_weights(model: Any, filepath: str | os.PathLike, overwrite: bool = True) -> str:
    """Save the model's variables (and its optimizer's, once compiled) to ``*.weights.npz`` or, in
    Keras 3's layout, ``*.weights.h5``; atomic."""
    path = _path(filepath)
    if not path.endswith(WEIGHTS_SUFFIXES):
        raise ValueError(f"The filename must end in '{WEIGHTS_SUFFIX}' (graphkit's archive) or "
                         f"'{keras_format.WEIGHTS_H5_SUFFIX}' (Keras 3's); got '{path}'.")
    _check_overwrite(path, overwrite)
    if path.endswith(keras_format.WEIGHTS_H5_SUFFIX):
        data = keras_format.h5_bytes(model, _weights_arrays(model))
        return atomic_write_bytes(path, data)
    return archive.write_variables(path, _weights_arrays(model), kind="weights")


# ---------------------------------------------------------------------------------- load
class _StoredWeights:
    """The weights read from a file: graphkit's keys, or Keras 3's HDF5 dataset paths."""

    __slots__ = ("arrays", "keras_layout", "label")

    def __init__(self, arrays: dict, keras_layout: bool, label: str) -> None:
        self.arrays, self.keras_layout, self.label = arrays, keras_layout, label

    def for_model(self, model: Any) -> dict:
        """The arrays keyed by ``model``'s weight keys (its optimizer built first, if it is to load)."""
        if self.keras_layout:
            return keras_format.model_arrays(model, self.arrays, self.label)
        return self.arrays


def _read_weights(source: str | bytes, keras_layout: bool, what: str, label: str) -> _StoredWeights:
    """The weights in ``source`` (a file's path, or a model file entry's bytes): Keras 3's HDF5
    layout, or graphkit's variables archive; ``label`` names it in errors."""
    if keras_layout:
        return _StoredWeights(keras_format.read_h5(source, label), True, label)
    return _StoredWeights(archive.read_variables(source, what, path_for_errors=label).arrays, False, label)


def _read_weights_file(path: str) -> _StoredWeights:
    keras_layout = path.endswith(keras_format.WEIGHTS_H5_SUFFIX)
    if keras_layout:
        archive.check_readable(path, "weights file")
    return _read_weights(path, keras_layout, "weights file", path)


def _read_model_file(path: str) -> tuple[dict, dict, _StoredWeights]:
    entries = archive.read_zip(path, "model file", required=(CONFIG_NAME,))
    present = [name for name in WEIGHTS_NAMES if name in entries]
    if not present:
        raise FileFormatError(f"Cannot read model file '{path}': it has a config.json but no weights entry "
                              f"({' or '.join(WEIGHTS_NAMES)}); entries: {sorted(entries)[:8]}.")
    try:
        config = json.loads(entries[CONFIG_NAME].decode("utf-8"))
        metadata = json.loads(entries[METADATA_NAME].decode("utf-8")) if METADATA_NAME in entries else {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"Cannot read model file '{path}': its JSON is corrupt ({exc}).") from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise FileFormatError(f"Cannot read model file '{path}': config.json does not describe a model.")
    version = metadata.get("format_version", 1) if isinstance(metadata, dict) else None
    if metadata.get("format", MODEL_FORMAT) == MODEL_FORMAT and (not isinstance(version, int)
                                                                  or version > MODEL_FORMAT_VERSION):
        raise FileFormatError(f"Cannot read model file '{path}': it uses format version {version!r}; this graphkit "
                              f"reads versions up to {MODEL_FORMAT_VERSION} (upgrade graphkit).")
    name = present[0]
    weights = _read_weights(entries[name], name == keras_format.WEIGHTS_H5_NAME, "model file", f"{path}!{name}")
    return config, metadata, weights


def load_model(filepath: str | os.PathLike, custom_objects: dict | None = None, compile: bool = True,
               safe_mode: bool = True) -> Any:
    """The model saved by ``model.save`` (Keras 3's ``keras.models.load_model``).

    Built-in layers and models need no Python code; custom classes come from ``custom_objects``
    or ``gk.saving.register_serializable()``. ``compile=True`` compiles the model as it was saved
    and restores the optimizer's state. ``safe_mode=False`` is needed (only) for Lambda layers
    whose functions were saved as code.
    """
    from ..train.deferred import has_pending
    from .serialization import CustomObjectScope, deserialize_keras_object
    path = _path(filepath)
    config, _, weights = _read_model_file(path)
    config = dict(config)
    compile_config = config.pop("compile_config", None)
    with SafeModeScope(safe_mode), CustomObjectScope(custom_objects):
        try:
            model = deserialize_keras_object(config, custom_objects)
        except (TypeError, ValueError) as exc:
            _add_note(exc, f"(while loading the model in '{path}')")
            raise
        if compile and compile_config:
            _compile_from_config(model, compile_config, custom_objects, path)
    optimizer = getattr(model, "optimizer", None) if compile else None
    saved_count = sum(1 for k in weights.arrays if _is_optimizer_key(k))
    if optimizer is not None and not getattr(optimizer, "built", True) and saved_count > len(optimizer.variables):
        optimizer.build(list(model.trainable_variables))  # create the slots, then assign them below
    _load_arrays(model, weights.for_model(model), path, what="model file", use_optimizer=optimizer is not None)
    if _any_pending(model, has_pending):
        _build_by_running(model)
    return model


def load_weights(model: Any, filepath: str | os.PathLike, skip_mismatch: bool = False, **kwargs: Any) -> None:
    """Load ``*.weights.npz``, ``*.weights.h5`` (Keras 3's) or the weights of a ``.gk``/``.keras``
    model file into ``model``.

    Keys must match the model's weights exactly (else a ValueError lists the missing and
    unexpected ones and nothing changes); ``skip_mismatch=True`` skips (with a warning) values of
    another shape or without a matching weight. Values for layers that are not built yet are
    assigned when they are built. Optimizer values are restored when the model is compiled (right
    away, or when its optimizer builds its slots) and ignored otherwise.
    """
    if kwargs:
        raise TypeError(f"load_weights() got unexpected keyword arguments {sorted(kwargs)}.")
    path = _path(filepath)
    if path.endswith(WEIGHTS_SUFFIXES):
        weights = _read_weights_file(path)
    elif path.endswith(MODEL_SUFFIXES):
        weights = _read_model_file(path)[2]
    else:
        raise ValueError(f"Cannot load weights from '{path}': expected a '{WEIGHTS_SUFFIX}' or "
                         f"'{keras_format.WEIGHTS_H5_SUFFIX}' weights file or a '.gk'/'.keras' model file. (A "
                         f"gk.train checkpoint is restored with gk.train.Checkpoint(model=model).restore(path).)")
    optimizer = getattr(model, "optimizer", None)
    _load_arrays(model, weights.for_model(model), path, what="weights file", use_optimizer=optimizer is not None,
                 skip_mismatch=skip_mismatch)


def _is_optimizer_key(key: str) -> bool:
    return key.startswith(_OPTIMIZER_PREFIX)


def _load_arrays(model: Any, arrays: dict, path: str, what: str, use_optimizer: bool,
                 skip_mismatch: bool = False) -> None:
    """Match ``arrays`` to the model's variables strictly, validate, then assign (or defer).

    The optimizer's values (``optimizer/...``) are used only when ``use_optimizer`` and the model
    has an optimizer; if they do not fit it (another optimizer, other variables) they are skipped
    with a warning, as Keras does, and the model's weights still load.
    """
    from ..train.checkpoint import RestorePlan
    from ..train.deferred import shape_error
    graph = _model_graph(model)
    plan = RestorePlan(graph, arrays, path, select=lambda k: not _is_optimizer_key(k))
    name = getattr(model, "name", type(model).__name__)
    if skip_mismatch:
        skipped = [k for k, _, _ in plan.mismatched] + plan.unexpected
        if skipped:
            warnings.warn(f"load_weights('{path}'): skipped {skipped} (another shape, or no such weight in model "
                          f"'{name}').", stacklevel=3)
        plan.mismatched, plan.unexpected = [], []
        if plan.missing:
            warnings.warn(f"load_weights('{path}'): the file has no values for {plan.missing}; they keep their "
                          "current values.", stacklevel=3)
            plan.missing = []
    if plan.unexpected or plan.missing:
        raise ValueError(f"Cannot load {what} '{path}' into model '{name}': its weights do not match the model's "
                         f"(different architecture?). In the file but not in the model: {plan.unexpected}; in the "
                         f"model but not in the file: {plan.missing}. Nothing was changed.")
    if plan.mismatched:
        raise shape_error(path, plan.mismatched, what)
    optimizer_plan = None
    optimizer = getattr(model, "optimizer", None)
    if use_optimizer and optimizer is not None and any(_is_optimizer_key(k) for k in arrays):
        optimizer_plan = RestorePlan(graph, arrays, path, select=_is_optimizer_key)
        if optimizer_plan.problems:
            details = [f"{k}: {f} vs {v}" for k, f, v in optimizer_plan.mismatched]
            warnings.warn(f"Skipping the optimizer state in '{path}': it does not fit optimizer "
                          f"'{getattr(optimizer, 'name', optimizer)}' (in the file only: {optimizer_plan.unexpected}; "
                          f"in the optimizer only: {optimizer_plan.missing}; other shapes: {details}).", stacklevel=3)
            optimizer_plan = None
    plan.apply()
    if optimizer_plan is not None:
        optimizer_plan.apply()


def _compile_from_config(model: Any, compile_config: dict, custom_objects: dict | None, path: str) -> None:
    if not hasattr(model, "compile"):
        return
    config = dict(compile_config)
    try:
        optimizer = config.get("optimizer")
        if isinstance(optimizer, dict) and "class_name" in optimizer:
            from .. import optimizers
            config["optimizer"] = optimizers.deserialize(optimizer, custom_objects=custom_objects)
        for key in ("loss", "metrics", "weighted_metrics"):
            if key in config:
                config[key] = _map_leaves_dicts(config[key], lambda v: _deserialize_training_object(
                    key, v, custom_objects))
        if hasattr(model, "compile_from_config"):
            model.compile_from_config(config)
        else:
            model.compile(**config)
    except (TypeError, ValueError) as exc:  # Keras warns and returns the model uncompiled
        warnings.warn(f"load_model('{path}'): the model could not be compiled as saved ({exc}); it is returned "
                      "uncompiled and without its optimizer state. Call model.compile(...) yourself.", stacklevel=3)


def _map_leaves_dicts(value: Any, fn) -> Any:
    """Like _map_leaves, but config dicts ({"class_name", "config"}) are leaves."""
    if isinstance(value, (list, tuple)):
        return [_map_leaves_dicts(v, fn) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _map_leaves_dicts(v, fn) for k, v in value.items()}
    return fn(value)


def _any_pending(model: Any, has_pending) -> bool:
    return has_pending(model) or any(has_pending(m) for m in model.submodules)


def _build_by_running(model: Any) -> None:
    """A subclassed model rebuilt from its config has no weights until called: run it once on
    zeros of its recorded input shape so the saved values land now (Keras's build-by-run)."""
    import numpy
    from ..engine.autograd import no_grad
    shape = getattr(model, "_build_input_shape", None)
    if not isinstance(shape, tuple) or not all(d is None or isinstance(d, int) for d in shape):
        return
    try:
        with no_grad():
            model(numpy.zeros(tuple(1 if d is None else d for d in shape), dtype="float32"), training=False)
    except Exception:  # noqa: BLE001 - the values stay pending and land on the first real call
        pass


def _add_note(exc: BaseException, note: str) -> None:
    if hasattr(exc, "add_note"):
        exc.add_note(note)
