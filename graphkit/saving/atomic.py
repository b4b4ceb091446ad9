"""Atomic file writes that leave nothing behind.

:func:`atomic_write` (:func:`atomic_write_bytes` for bytes in hand; :func:`replacing` for
writers that need a path, such as downloads) writes to a temporary file
``.<name>.<pid>.<random>.tmp`` beside the target, flushes and fsyncs it, then ``os.replace``-s it
over the target: readers see the old file or the new one, never a partial one, and a failed write
removes its temporary and leaves the old file as it was. A writer killed mid-save (``kill -9``)
cannot remove its temporary, so every write of ``<name>`` first removes the temporaries of
``<name>`` whose writers are gone (:func:`remove_stale_temporaries`); a temporary another live
process is still writing is kept.
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from typing import BinaryIO, Callable, Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

# A temporary whose writer cannot be shown to have ended (an old-style name without a pid, a pid
# reused by another process, or Windows) is removed once it is this old.
STALE_AFTER_SECONDS = 3600.0


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> str:
    """Call ``write(binary_file)`` on a temporary file next to ``path``, then move it into place.

    Returns ``path`` as a string. The target directory is created when missing. On failure the
    temporary file is deleted and an existing file at ``path`` is left as it was.
    """
    with replacing(path) as (handle, _):
        write(handle)
    return os.fspath(path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> str:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`); returns ``path``."""
    return atomic_write(path, lambda handle: handle.write(data))


@contextlib.contextmanager
def replacing(path: str | os.PathLike) -> Iterator[tuple[BinaryIO, str]]:
    """Write a new version of ``path`` atomically: the block gets ``(binary_file, temporary_path)``
    (write through the file, or by the path, as a downloader does); when it ends the temporary
    is fsynced and moved over ``path``; when it raises, the temporary is deleted and ``path`` is
    left as it was."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"Cannot write '{path}': it is a directory.")
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp = _create_temporary(directory, os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle, tmp
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def _create_temporary(directory: str, basename: str) -> tuple[int, str]:
    """A new file ``.<basename>.<pid>.<random>.tmp`` in ``directory``, created with the usual
    permissions (0o666 minus the umask, unlike mkstemp's 0o600) and locked (``flock``) for as long
    as the returned descriptor is open, which tells :func:`remove_stale_temporaries` that a live
    writer owns it."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(directory, f".{basename}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # a file system without flock: the pid in the name still protects it
                pass
        return fd, tmp
    raise FileExistsError(f"Could not create a temporary file next to '{os.path.join(directory, basename)}'.")


def remove_stale_temporaries(path: str | os.PathLike) -> list[str]:
    """Remove the temporary files that killed writers of ``path`` left beside it; returns them.

    Only temporaries of this very target are considered, and one is removed only when no live
    process can be writing it: nobody holds its lock (``flock``, which the kernel releases when
    the writer dies), and either its writer (the pid in its name) has ended or it is older than
    :data:`STALE_AFTER_SECONDS`. Where ``flock`` is missing (Windows) only the age counts, and a
    file another process has open cannot be deleted there anyway. Best effort: a temporary that
    cannot be examined or removed stays.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    pattern = re.compile(re.escape(f".{os.path.basename(path)}.") + r"(?:(\d+)\.)?[0-9a-f]{12}\.tmp")
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match and _remove_if_abandoned(entry.path, match.group(1)):
            removed.append(entry.path)
    return removed


def _remove_if_abandoned(tmp: str, pid: str | None) -> bool:
    try:
        age = time.time() - os.stat(tmp).st_mtime
    except OSError:
        return False
    if age < STALE_AFTER_SECONDS and not (pid is not None and _process_ended(int(pid))):
        return False
    if _locked_by_a_writer(tmp):
        return False
    try:
        os.unlink(tmp)  # on Windows this fails while another process has the file open
    except OSError:
        return False
    return True


def _locked_by_a_writer(tmp: str) -> bool:
    """Whether a live process holds the lock :func:`_create_temporary` takes (False where
    ``flock`` is missing or unsupported by the file system)."""
    if fcntl is None:  # pragma: no cover - Windows
        return False
    try:
        fd = os.open(tmp, os.O_RDONLY)
    except OSError:
        return True  # cannot examine it: leave it alone
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
    return False


def _process_ended(pid: int) -> bool:
    """Whether process ``pid`` is known to have ended (never known on Windows, where
    ``os.kill`` would terminate the process instead of probing it)."""
    if os.name == "nt":  # pragma: no cover
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: it runs under another user
        return False
    return False


def _fsync_directory(directory: str) -> None:
    """Make the rename durable (POSIX); silently skipped where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
