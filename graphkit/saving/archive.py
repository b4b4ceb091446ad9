"""Files of arrays: atomic zip writes and the variables archive shared by checkpoints and weights.

A *variables archive* (checkpoints, ``.weights.npz`` files, the ``model.weights.npz`` inside a
``.gk`` model file) is a zip holding

- ``graphkit_index.json``: ``{"format": "graphkit.variables", "format_version": 1, "kind",
  "graphkit_version", "variables": {key: {"shape": [...], "dtype": "float32"}, ...}}``;
- one ``<key>.npy`` entry per variable (numpy's ``.npy`` format, never pickled).

It is therefore an ``.npz`` file too: ``numpy.load(path, allow_pickle=False)[key]`` reads a
variable. Reading never unpickles (``allow_pickle=False``) and checks everything (zip CRCs, the
index, every array's shape and dtype) before returning, so a truncated, corrupt or foreign file
raises one :class:`FileFormatError` naming the file and nothing is half-loaded.

Writes are atomic and leave no temporary files behind (:mod:`graphkit.saving.atomic`).
"""
from __future__ import annotations

import io
import json
import os
import zipfile
import zlib
from typing import Any, Iterable, Mapping

import numpy

from ..backend.host import to_host
from .atomic import atomic_write

INDEX_NAME = "graphkit_index.json"
FORMAT = "graphkit.variables"
FORMAT_VERSION = 1

# Errors a damaged zip/npy can raise while being read.
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, KeyError, UnicodeDecodeError,
                NotImplementedError, OverflowError, TypeError, IndexError, RuntimeError)


class FileFormatError(ValueError):
    """A file that is not a valid graphkit checkpoint / weights / model file (truncated, corrupt,
    foreign or written by a newer format version). The message names the file."""


def describe(path: Any) -> str:
    return os.fspath(path) if isinstance(path, (str, os.PathLike)) else repr(path)


# ------------------------------------------------------------------------------------ writing
def _write_array(archive: zipfile.ZipFile, name: str, array: numpy.ndarray) -> None:
    """One ``.npy`` entry (a separate function so tests can make a save fail half-way)."""
    with archive.open(name, "w", force_zip64=True) as entry:
        numpy.lib.format.write_array(entry, array, allow_pickle=False)


def _as_numpy(value: Any) -> numpy.ndarray:
    array = to_host(value)
    if array.dtype.hasobject:
        raise TypeError("Cannot save an array of Python objects (graphkit files never use pickle).")
    return array


def write_variables_stream(handle: Any, arrays: Mapping[str, Any], kind: str,
                           extra: Mapping[str, Any] | None = None) -> None:
    """Write a variables archive (see the module docstring) to an open binary file."""
    from .. import __version__
    prepared = {key: _as_numpy(value) for key, value in arrays.items()}
    index = {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": kind, "graphkit_version": __version__,
             "variables": {key: {"shape": list(a.shape), "dtype": a.dtype.str if a.dtype.byteorder == ">"
                                 else a.dtype.name} for key, a in prepared.items()}}
    if extra:
        index.update(extra)
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(INDEX_NAME, json.dumps(index, indent=1))
        for key, array in prepared.items():
            _write_array(archive, entry_name(key), array)


def write_variables(path: str | os.PathLike, arrays: Mapping[str, Any], kind: str,
                    extra: Mapping[str, Any] | None = None) -> str:
    """Atomically write ``{key: array}`` as a variables archive at ``path``; returns the path."""
    return atomic_write(path, lambda handle: write_variables_stream(handle, arrays, kind, extra))


def variables_bytes(arrays: Mapping[str, Any], kind: str, extra: Mapping[str, Any] | None = None) -> bytes:
    buffer = io.BytesIO()
    write_variables_stream(buffer, arrays, kind, extra)
    return buffer.getvalue()


def entry_name(key: str) -> str:
    return f"{key}.npy"


# ------------------------------------------------------------------------------------ reading
class VariablesFile:
    """A variables archive read and checked completely: ``index`` (the JSON) and ``arrays``."""

    def __init__(self, path: str, index: dict, arrays: dict[str, numpy.ndarray]) -> None:
        self.path, self.index, self.arrays = path, index, arrays

    @property
    def kind(self) -> str:
        return self.index.get("kind", "")

    def shapes(self) -> list[tuple[str, tuple]]:
        return [(key, tuple(a.shape)) for key, a in self.arrays.items()]


def _fail(path: str, what: str, reason: str) -> FileFormatError:
    return FileFormatError(f"Cannot read {what} '{path}': {reason}")


def check_readable(path: str, what: str, directory_hint: str = "") -> None:
    """Raise IsADirectoryError (its message ending in ``directory_hint``) or FileNotFoundError,
    naming ``what`` and ``path``, unless ``path`` is a file to read."""
    if os.path.isdir(path):
        raise IsADirectoryError(f"Cannot read {what} '{path}': it is a directory{directory_hint}.")
    if not os.path.exists(path):
        raise FileNotFoundError(f"Cannot read {what} '{path}': no such file.")


def read_variables(source: str | os.PathLike | bytes, what: str = "checkpoint",
                   path_for_errors: str | None = None, index_only: bool = False) -> VariablesFile:
    """Read and check a variables archive (a path or the archive's bytes).

    ``what`` names the file kind in error messages ("checkpoint", "weights file", ...). With
    ``index_only`` the arrays are not read (``arrays`` maps keys to empty placeholders), which is
    what :func:`graphkit.train.list_variables` needs.
    """
    label = path_for_errors or (describe(source) if not isinstance(source, bytes) else "<bytes>")
    if not isinstance(source, bytes):
        path = os.fspath(source)
        check_readable(path, what, " (pass a file; gk.train.latest_checkpoint(directory) finds the newest "
                                   "checkpoint)")
        opened: Any = path
    else:
        opened = io.BytesIO(source)
    try:
        archive = zipfile.ZipFile(opened, "r")
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise _fail(label, what, f"the file is truncated, corrupt or not a graphkit file (it is not a readable "
                                 f"zip archive: {exc}).") from None
    with archive:
        names = set(archive.namelist())
        if INDEX_NAME not in names:
            if {"config.json", "model.weights.npz"} <= names:
                raise _fail(label, what, "it is a whole-model file (model.save); read it with "
                                         "gk.models.load_model(path) or model.load_weights(path).")
            raise _fail(label, what, f"it is a zip archive but has no '{INDEX_NAME}', so it was not written by "
                                     f"graphkit (entries: {sorted(names)[:8]}).")
        try:
            index = json.loads(archive.read(INDEX_NAME).decode("utf-8"))
        except _READ_ERRORS as exc:
            raise _fail(label, what, f"its index '{INDEX_NAME}' is corrupt ({type(exc).__name__}: {exc}).") from None
        if not isinstance(index, dict) or index.get("format") != FORMAT or \
                not isinstance(index.get("variables"), dict):
            raise _fail(label, what, f"its index does not describe a graphkit variables archive "
                                     f"(format {index.get('format') if isinstance(index, dict) else None!r}).")
        version = index.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise _fail(label, what, f"it uses format version {version!r}; this graphkit reads versions up to "
                                     f"{FORMAT_VERSION} (upgrade graphkit).")
        arrays: dict[str, numpy.ndarray] = {}
        for key, spec in index["variables"].items():
            name = entry_name(key)
            if name not in names:
                raise _fail(label, what, f"the array of '{key}' listed in its index is missing (truncated or "
                                         f"corrupt file).")
            try:
                shape, dtype = tuple(spec["shape"]), numpy.dtype(spec["dtype"])
            except _READ_ERRORS as exc:
                raise _fail(label, what, f"the index entry of '{key}' is invalid ({exc}).") from None
            if index_only:
                arrays[key] = _Placeholder(shape, dtype)  # type: ignore[assignment]
                continue
            try:
                with archive.open(name) as entry:
                    array = numpy.lib.format.read_array(entry, allow_pickle=False)
                    if entry.read(1):
                        raise ValueError("trailing data after the array")
            except _READ_ERRORS as exc:
                raise _fail(label, what, f"the array of '{key}' is corrupt ({type(exc).__name__}: {exc}).") \
                    from None
            if tuple(array.shape) != shape or array.dtype != dtype:
                raise _fail(label, what, f"the array of '{key}' has shape {tuple(array.shape)} and dtype "
                                         f"{array.dtype}, but the index says {shape} {dtype}.")
            arrays[key] = array
    return VariablesFile(label, index, arrays)


class _Placeholder:
    """Shape and dtype of an array that was not read (``index_only``)."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: tuple, dtype: numpy.dtype) -> None:
        self.shape, self.dtype = shape, dtype


# ------------------------------------------------------------------------- model zip helpers
def write_zip(path: str | os.PathLike, entries: Iterable[tuple[str, bytes]]) -> str:
    """Atomically write a zip of ``(name, bytes)`` entries (model files)."""
    def write(handle):
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries:
                _write_entry(archive, name, data)
    return atomic_write(path, write)


def _write_entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    # Arrays compress poorly: store the weights archive, deflate the JSON.
    compress = zipfile.ZIP_STORED if name.endswith((".npz", ".h5")) else zipfile.ZIP_DEFLATED
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o644 << 16
    archive.writestr(info, data, compress_type=compress)


def read_zip(path: str | os.PathLike, what: str, required: Iterable[str]) -> dict[str, bytes]:
    """Every entry of a zip (checked: CRCs, the ``required`` names), or one FileFormatError."""
    label = describe(path)
    check_readable(label, what)
    try:
        with zipfile.ZipFile(label, "r") as archive:
            names = archive.namelist()
            missing = [n for n in required if n not in names]
            if missing and INDEX_NAME in names:
                raise _fail(label, what, "it is a graphkit weights/checkpoint file, not a whole-model file; load it "
                                         "with model.load_weights(path) (a '.weights.npz' file) or "
                                         "gk.train.Checkpoint(...).restore(path).")
            if missing:
                raise _fail(label, what, f"it is a zip archive but lacks {missing}, so it is not a graphkit "
                                         f"{what} (entries: {sorted(names)[:8]}).")
            return {name: archive.read(name) for name in names}
    except FileFormatError:
        raise
    except _READ_ERRORS + (OSError,) as exc:
        raise _fail(label, what, f"the file is truncated, corrupt or not a graphkit file ({type(exc).__name__}: "
                                 f"{exc}).") from None
