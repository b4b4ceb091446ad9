"""Download-and-cache for datasets (``keras.utils.get_file``'s core, no extraction).

Files go to ``$GRAPHKIT_HOME/<cache_subdir>`` (default ``~/.graphkit/datasets``; when that is
not writable, ``<tmp>/.graphkit/datasets``). A file already there with the right checksum is
used without any network access, so a file placed there by hand works offline.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile

from ..saving.atomic import replacing

__all__ = ["DownloadError", "cache_dir", "get_file", "hash_file"]

TIMEOUT_S = 60


class DownloadError(OSError):
    """A dataset file could not be downloaded (no network, HTTP error) or failed its checksum."""


def graphkit_home() -> str:
    return os.path.expanduser(os.environ.get("GRAPHKIT_HOME") or os.path.join("~", ".graphkit"))


def cache_dir(cache_subdir: str = "datasets") -> str:
    """The folder cached files live in (created if needed)."""
    path = os.path.join(graphkit_home(), cache_subdir)
    try:
        os.makedirs(path, exist_ok=True)
        if not os.access(path, os.W_OK):
            raise PermissionError(path)
    except OSError:
        path = os.path.join(tempfile.gettempdir(), ".graphkit", cache_subdir)
        os.makedirs(path, exist_ok=True)
    return path


def hash_file(path: str, algorithm: str = "sha256", chunk_size: int = 1 << 20) -> str:
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def _algorithm(file_hash: str, hash_algorithm: str) -> str:
    if hash_algorithm in ("sha256", "md5"):
        return hash_algorithm
    return "sha256" if len(file_hash) == 64 else "md5"


def urlretrieve(url: str, filename: str) -> None:
    """Writes ``url`` to ``filename`` (tests replace this function to simulate no network)."""
    import urllib.request

    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, open(filename, "wb") as out:
        shutil.copyfileobj(response, out)


def get_file(fname: str, origin: str, file_hash: str | None = None, cache_subdir: str = "datasets",
             hash_algorithm: str = "auto") -> str:
    """The local path of ``fname``, downloading it from ``origin`` into the cache if needed.

    ``file_hash`` (sha256 or md5 hex, picked by length with ``hash_algorithm="auto"``) is checked
    on a cached file (a mismatch triggers a new download) and on every download. An absolute
    ``fname`` is used as the path itself. Raises :class:`DownloadError` naming the URL and the
    path where the file can be placed by hand when the download fails.
    """
    path = fname if os.path.isabs(fname) else os.path.join(cache_dir(cache_subdir), fname)
    algorithm = _algorithm(file_hash, hash_algorithm) if file_hash else None
    stale = None
    if os.path.exists(path):
        if file_hash is None or hash_file(path, algorithm) == file_hash:
            return path
        stale = hash_file(path, algorithm)
    with replacing(path) as (_, tmp):  # removes the partial files of killed downloads too
        try:
            urlretrieve(origin, tmp)
        except Exception as e:  # URLError, timeouts, HTTP errors, http.client errors
            reason = getattr(e, "reason", None) or e
            note = (f" The file already there has {algorithm} {stale}, not the expected {file_hash}."
                    if stale else "")
            raise DownloadError(
                f"Could not download {origin} ({reason}).{note} If this machine has no network, "
                f"download that URL elsewhere and copy the file to {path} (the cache folder is "
                "$GRAPHKIT_HOME/datasets, default ~/.graphkit/datasets); graphkit then loads it "
                "without a network. gk.datasets.digits.load_data() needs no download at all.") from None
        if file_hash is not None:
            got = hash_file(tmp, algorithm)
            if got != file_hash:
                raise DownloadError(
                    f"Downloaded {origin} but its {algorithm} is {got}, expected {file_hash}: the download "
                    f"is incomplete or corrupted. Nothing was written to {path}; try again.")
    return path
