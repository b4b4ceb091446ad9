"""MNIST (``keras.datasets.mnist``): downloaded from Keras's public copy and cached."""
from __future__ import annotations

import numpy as np

from ._download import get_file

__all__ = ["load_data", "ORIGIN", "FILE_HASH"]

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
FILE_HASH = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"  # sha256, as Keras


def load_data(path: str = "mnist.npz"):
    """Loads the MNIST dataset: 60,000 28×28 grayscale training images and 10,000 test images.

    Args:
        path: file name inside the cache folder (``$GRAPHKIT_HOME/datasets``, default
            ``~/.graphkit/datasets``), or an absolute path. Downloaded from ``ORIGIN`` when
            missing; its SHA-256 is checked. With no network, put the file there by hand.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 arrays of shapes (60000, 28, 28),
        (60000,), (10000, 28, 28), (10000,).

    The archive is read with ``allow_pickle=False``.
    """
    path = get_file(path, origin=ORIGIN, file_hash=FILE_HASH)
    try:
        with np.load(path, allow_pickle=False) as f:
            x_train, y_train = f["x_train"], f["y_train"]
            x_test, y_test = f["x_test"], f["y_test"]
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(f"{path} is not a valid mnist.npz ({e}); delete it and load again.") from None
    return (x_train, y_train), (x_test, y_test)
