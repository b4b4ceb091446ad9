"""``gk.train.Checkpoint``: object-based checkpoints (the ``tf.train.Checkpoint`` model).

::

    ckpt = gk.train.Checkpoint(model=model, optimizer=optimizer)
    path = ckpt.write("/tmp/run/weights")          # exactly that file; returns the path
    ckpt.save("/tmp/run/ckpt")                      # /tmp/run/ckpt-1, ckpt-2, ... + /tmp/run/checkpoint
    status = gk.train.Checkpoint(model=fresh).restore(gk.train.latest_checkpoint("/tmp/run"))
    status.assert_consumed()                        # or .expect_partial()
    gk.train.list_variables(path)                   # [("model/layers/dense/bias", (10,)), ...]

Keys are object paths (see :mod:`graphkit.train.object_graph`); the file is a variables archive
(see :mod:`graphkit.saving.archive`): a zip of ``.npy`` arrays plus a JSON index, written
atomically and read without pickle. Restoring validates every shape before assigning anything;
values for variables that do not exist yet are kept and assigned when they are created
(deferred restoration, :mod:`graphkit.train.deferred`).
"""
from __future__ import annotations

import json
import os
import re
from typing import Any, Callable

import numpy

from ..engine.variable import Variable
from ..saving import archive
from ..saving.archive import FileFormatError
from ..saving.atomic import atomic_write_bytes
from .deferred import PendingValue, defer, resolve_pending, shape_error
from .object_graph import ObjectGraph, is_optimizer, is_trackable

INDEX_FILENAME = "checkpoint"
_SAVE_COUNTER = "save_counter"


# ------------------------------------------------------------------------- restore planning
class RestorePlan:
    """How a file's values map onto live objects: computed (and validated) before any assignment."""

    def __init__(self, graph: ObjectGraph, arrays: dict[str, numpy.ndarray], source: str,
                 ignore: tuple[str, ...] = (), select: Callable[[str], bool] | None = None) -> None:
        self.source = source
        self.assign: list[tuple[str, Variable, numpy.ndarray]] = []
        self.defer: list[tuple[Any, str, str, numpy.ndarray]] = []
        self.unexpected: list[str] = []
        self.mismatched: list[tuple[str, tuple, tuple]] = []
        for key, array in arrays.items():
            if key in ignore or (select is not None and not select(key)):
                continue
            target = graph.objects.get(key)
            if isinstance(target, Variable):
                if tuple(target.shape) != tuple(array.shape):
                    self.mismatched.append((key, tuple(array.shape), tuple(target.shape)))
                else:
                    self.assign.append((key, target, array))
                continue
            found = graph.owner(key) if target is None else None
            if found is None or not _can_defer(found[1]):
                self.unexpected.append(key)
                continue
            prefix, owner = found
            self.defer.append((owner, key[len(prefix) + 1:] if prefix else key, key, array))
        self.missing = [key for key, variable in graph.variables.items()
                        if key not in arrays and key not in ignore and (select is None or select(key))]

    @property
    def problems(self) -> bool:
        return bool(self.unexpected or self.missing or self.mismatched)

    def check_shapes(self, what: str = "checkpoint") -> None:
        if self.mismatched:
            raise shape_error(self.source, self.mismatched, what)

    def apply(self) -> list[PendingValue]:
        """Assign what exists, keep the rest pending; returns the pending records."""
        for _, variable, array in self.assign:
            variable.assign(array)
        records = []
        owners = []
        for owner, relative, key, array in self.defer:
            record = PendingValue(key, array, self.source)
            defer(owner, relative, record)
            records.append(record)
            if all(owner is not o for o in owners):
                owners.append(owner)
        for owner in owners:  # objects created since the graph was walked (none usually)
            resolve_pending(owner)
        return records


def _can_defer(owner: Any) -> bool:
    """Whether variables may still appear under ``owner``: an unbuilt layer, an optimizer without
    its slots, or a plain module (which may create variables on its first call)."""
    from ..layers.layer import Layer
    if isinstance(owner, Layer):
        return not owner.built
    if is_optimizer(owner):
        return not getattr(owner, "built", False)
    return True


# ------------------------------------------------------------------------------- the status
class CheckpointLoadStatus:
    """What a restore matched (``tf.train.Checkpoint.restore``'s status object).

    ``missing_keys``: variables of the objects that the file has no value for;
    ``unexpected_keys``: values in the file that belong to no object (and cannot be deferred);
    ``pending_keys`` (live): values kept for variables not created yet.
    """

    def __init__(self, path: str | None, missing: list[str], unexpected: list[str],
                 pending: list[PendingValue], matched: int) -> None:
        self.path = path
        self.missing_keys = list(missing)
        self.unexpected_keys = list(unexpected)
        self._pending = pending
        self._matched = matched
        self._expect_partial = False

    @property
    def pending_keys(self) -> list[str]:
        return [record.key for record in self._pending if not record.done]

    def _problems(self) -> list[str]:
        problems = []
        if self.unexpected_keys:
            problems.append(f"values in the checkpoint that match no object: {self.unexpected_keys}")
        if self.pending_keys:
            problems.append(f"values waiting for variables that have not been created yet (build/call the "
                            f"model first): {self.pending_keys}")
        if self.missing_keys:
            problems.append(f"variables the checkpoint has no value for: {self.missing_keys}")
        return problems

    def assert_consumed(self) -> "CheckpointLoadStatus":
        """Raise AssertionError unless every value was used and every variable got a value."""
        if self.path is None:
            raise AssertionError("No checkpoint was restored (restore(None)).")
        problems = self._problems()
        if problems:
            raise AssertionError(f"Checkpoint '{self.path}' was not fully consumed: " + "; ".join(problems) + ".")
        return self

    def assert_existing_objects_matched(self) -> "CheckpointLoadStatus":
        """Raise AssertionError if an existing variable got no value or a value matches no object."""
        if self.path is None:
            raise AssertionError("No checkpoint was restored (restore(None)).")
        problems = []
        if self.missing_keys:
            problems.append(f"variables the checkpoint has no value for: {self.missing_keys}")
        if self.unexpected_keys:
            problems.append(f"values in the checkpoint that match no object: {self.unexpected_keys}")
        if problems:
            raise AssertionError(f"Checkpoint '{self.path}': " + "; ".join(problems) + ".")
        return self

    def assert_nontrivial_match(self) -> "CheckpointLoadStatus":
        """Raise AssertionError if nothing at all was matched."""
        if self.path is None or (self._matched == 0 and not self._pending):
            raise AssertionError(f"Nothing in checkpoint '{self.path}' matched the objects being restored.")
        return self

    def expect_partial(self) -> "CheckpointLoadStatus":
        """Declare a partial restore intended (TF's way to silence unmatched-value warnings)."""
        self._expect_partial = True
        return self

    def __repr__(self) -> str:
        return (f"<CheckpointLoadStatus path={self.path!r} matched={self._matched} pending={len(self.pending_keys)} "
                f"missing={len(self.missing_keys)} unexpected={len(self.unexpected_keys)}>")


# ------------------------------------------------------------------------------ Checkpoint
class Checkpoint:
    """Groups trackable objects (Modules, Layers, Models, optimizers, Variables) under names and
    writes/reads all their variables, keyed by object path (``model/layers/dense/kernel``)."""

    def __init__(self, root: Any = None, **objects: Any) -> None:
        self.__dict__["_roots"] = {}
        self.__dict__["_save_counter"] = None
        if root is not None:
            objects = {"root": root, **objects}
        for name, obj in objects.items():
            setattr(self, name, obj)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            self.__dict__[name] = value
            return
        if name == _SAVE_COUNTER:
            raise ValueError("'save_counter' is reserved for the checkpoint's own save counter.")
        if not is_trackable(value):
            raise TypeError(f"Checkpoint: '{name}' must be a gk.Module (layer, model), an optimizer or a "
                            f"gk.Variable, got {type(value).__name__}.")
        self._roots[name] = value

    def __getattr__(self, name: str) -> Any:
        roots = self.__dict__.get("_roots", {})
        if name in roots:
            return roots[name]
        raise AttributeError(f"Checkpoint has no object named {name!r} (it holds {sorted(roots)}).")

    def __delattr__(self, name: str) -> None:
        self._roots.pop(name)

    @property
    def save_counter(self) -> Variable:
        """Number of ``save()`` calls (restored from the file, so numbering continues)."""
        if self._save_counter is None:
            self.__dict__["_save_counter"] = Variable(0, trainable=False, name="save_counter", dtype="int64")
        return self._save_counter

    def _graph(self) -> ObjectGraph:
        return ObjectGraph(dict(self._roots))

    def _arrays(self) -> dict[str, Any]:
        arrays = {key: variable.numpy() for key, variable in self._graph().variables.items()}
        if self._save_counter is not None:
            arrays[_SAVE_COUNTER] = self._save_counter.numpy()
        return arrays

    # ------------------------------------------------------------------------- writing
    def write(self, file_prefix: str | os.PathLike) -> str:
        """Write every variable to ``file_prefix`` (exactly that file, atomically); returns its path."""
        return archive.write_variables(file_prefix, self._arrays(), kind="checkpoint")

    def save(self, file_prefix: str | os.PathLike) -> str:
        """Write ``<file_prefix>-<n>`` (n = 1, 2, ... from ``save_counter``) and record it as the
        latest in the directory's ``checkpoint`` index; returns the path."""
        counter = self.save_counter
        number = int(counter.numpy()) + 1
        path = f"{os.fspath(file_prefix)}-{number}"
        counter.assign(number)
        try:
            self.write(path)
        except BaseException:
            counter.assign(number - 1)
            raise
        _update_index(os.path.dirname(os.path.abspath(path)), os.path.basename(path))
        return path

    # ------------------------------------------------------------------------- reading
    def read(self, save_path: str | os.PathLike) -> CheckpointLoadStatus:
        """Restore the values in ``save_path`` into the objects (see :meth:`restore`)."""
        return self.restore(save_path)

    def restore(self, save_path: str | os.PathLike | None) -> CheckpointLoadStatus:
        """Restore from ``save_path`` (``None``: do nothing, as TF does for a missing latest checkpoint).

        Every shape is checked first: a mismatch raises a ValueError naming the key and both shapes
        and changes no variable. Values for variables that do not exist yet wait for them. Returns
        a :class:`CheckpointLoadStatus` (``assert_consumed()``, ``expect_partial()``...).
        """
        if save_path is None:
            return CheckpointLoadStatus(None, [], [], [], 0)
        path = os.fspath(save_path)
        data = archive.read_variables(path, "checkpoint")
        plan = RestorePlan(self._graph(), data.arrays, path, ignore=(_SAVE_COUNTER,))
        plan.check_shapes()
        counter = data.arrays.get(_SAVE_COUNTER)
        if counter is not None and counter.shape != ():
            raise FileFormatError(f"Cannot read checkpoint '{path}': its save_counter has shape {counter.shape}.")
        pending = plan.apply()
        if counter is not None:
            self.save_counter.assign(counter)
        return CheckpointLoadStatus(path, plan.missing, plan.unexpected, pending, len(plan.assign))

    def __repr__(self) -> str:
        return f"<gk.train.Checkpoint {', '.join(f'{k}={type(v).__name__}' for k, v in self._roots.items())}>"


# --------------------------------------------------------------------------- the index file
def _index_path(directory: str, filename: str | None = None) -> str:
    return os.path.join(directory, filename or INDEX_FILENAME)


def _read_index(directory: str, filename: str | None = None) -> dict | None:
    path = _index_path(directory, filename)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, "rb") as handle:
            index = json.loads(handle.read().decode("utf-8"))
        if not isinstance(index, dict) or not isinstance(index.get("all_model_checkpoint_paths", []), list):
            raise ValueError("not a checkpoint index")
    except (ValueError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"Cannot read checkpoint index '{path}': it is corrupt ({exc}).") from None
    return index


def _write_index(directory: str, latest: str | None, all_paths: list[str]) -> None:
    index = {"model_checkpoint_path": latest, "all_model_checkpoint_paths": all_paths}
    data = json.dumps(index, indent=1).encode("utf-8")
    atomic_write_bytes(_index_path(directory), data)


def _update_index(directory: str, name: str) -> None:
    try:
        index = _read_index(directory) or {}
    except FileFormatError:
        index = {}  # a damaged index is replaced
    paths = [p for p in index.get("all_model_checkpoint_paths", []) if p != name and isinstance(p, str)]
    paths.append(name)
    _write_index(directory, name, paths)


def latest_checkpoint(checkpoint_dir: str | os.PathLike, latest_filename: str | None = None) -> str | None:
    """The path of the newest checkpoint ``save()`` wrote in ``checkpoint_dir`` (None when there is none)."""
    directory = os.fspath(checkpoint_dir)
    index = _read_index(directory, latest_filename)
    if not index or not index.get("model_checkpoint_path"):
        return None
    path = os.path.join(directory, index["model_checkpoint_path"])
    return path if os.path.isfile(path) else None


def list_variables(ckpt_dir_or_file: str | os.PathLike) -> list[tuple[str, tuple]]:
    """``(key, shape)`` of every variable in a checkpoint (or weights) file, sorted by key; a
    directory means its latest checkpoint."""
    path = _resolve(ckpt_dir_or_file)
    data = archive.read_variables(path, "checkpoint", index_only=True)
    return sorted((key, tuple(array.shape)) for key, array in data.arrays.items())


def load_variable(ckpt_dir_or_file: str | os.PathLike, name: str) -> numpy.ndarray:
    """The saved value of one key (a numpy array)."""
    path = _resolve(ckpt_dir_or_file)
    data = archive.read_variables(path, "checkpoint")
    if name not in data.arrays:
        raise KeyError(f"Checkpoint '{path}' has no variable {name!r}; keys: {sorted(data.arrays)}.")
    return data.arrays[name]


def _resolve(ckpt_dir_or_file: str | os.PathLike) -> str:
    path = os.fspath(ckpt_dir_or_file)
    if os.path.isdir(path):
        latest = latest_checkpoint(path)
        if latest is None:
            raise FileNotFoundError(f"No checkpoint found in directory '{path}' (no '{INDEX_FILENAME}' index).")
        return latest
    return path


# ----------------------------------------------------------------------- CheckpointManager
class CheckpointManager:
    """Numbered saves in one directory keeping the newest ``max_to_keep`` (``tf.train.CheckpointManager``)."""

    def __init__(self, checkpoint: Checkpoint, directory: str | os.PathLike, max_to_keep: int | None = 5,
                 checkpoint_name: str = "ckpt") -> None:
        if max_to_keep is not None and max_to_keep < 1:
            raise ValueError(f"max_to_keep must be None or >= 1, got {max_to_keep}.")
        self._checkpoint = checkpoint
        self.directory = os.fspath(directory)
        self.max_to_keep = max_to_keep
        self._prefix = os.path.join(self.directory, checkpoint_name)
        pattern = re.compile(re.escape(checkpoint_name) + r"-(\d+)$")
        try:
            index = _read_index(self.directory) or {}
        except FileFormatError:
            index = {}
        self._kept = [os.path.join(self.directory, p) for p in index.get("all_model_checkpoint_paths", [])
                      if isinstance(p, str) and pattern.match(p) and os.path.isfile(os.path.join(self.directory, p))]

    @property
    def checkpoints(self) -> list[str]:
        return list(self._kept)

    @property
    def latest_checkpoint(self) -> str | None:
        return self._kept[-1] if self._kept else None

    def save(self, checkpoint_number: int | None = None) -> str:
        if checkpoint_number is not None:
            self._checkpoint.save_counter.assign(int(checkpoint_number) - 1)
        path = self._checkpoint.save(self._prefix)
        self._kept = [p for p in self._kept if p != path] + [path]
        if self.max_to_keep is not None:
            while len(self._kept) > self.max_to_keep:
                old = self._kept.pop(0)
                try:
                    os.remove(old)
                except FileNotFoundError:
                    pass
        _write_index(self.directory, os.path.basename(path), [os.path.basename(p) for p in self._kept])
        return path

    def restore_or_initialize(self) -> str | None:
        latest = self.latest_checkpoint
        if latest is not None:
            self._checkpoint.restore(latest)
        return latest
