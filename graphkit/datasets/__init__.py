"""``gk.datasets``: small datasets in the ``keras.datasets`` style.

- ``digits``: the UCI 8×8 handwritten digits, shipped with graphkit (no network).
- ``mnist``, ``fashion_mnist``: downloaded from Keras's public URLs and cached in
  ``$GRAPHKIT_HOME/datasets`` (default ``~/.graphkit/datasets``).
"""
from . import digits, fashion_mnist, mnist
from ._download import DownloadError, get_file

__all__ = ["DownloadError", "digits", "fashion_mnist", "get_file", "mnist"]
