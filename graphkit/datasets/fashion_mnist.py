"""Fashion-MNIST (``keras.datasets.fashion_mnist``): downloaded from Keras's public copy and cached."""
from __future__ import annotations

import gzip
import os

import numpy as np

from ._download import get_file

__all__ = ["load_data", "BASE", "FILES"]

BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
# md5 of the files as published by Zalando Research (Keras serves the same files; Keras itself
# does not check them).
FILES = {
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
}
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
               "Bag", "Ankle boot"]


def load_data():
    """Loads Fashion-MNIST: 60,000 28×28 grayscale training images and 10,000 test images, 10 classes.

    The four ``.gz`` files are cached in ``$GRAPHKIT_HOME/datasets/fashion-mnist`` (default
    ``~/.graphkit/datasets/fashion-mnist``); with no network, put them there by hand.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 arrays of shapes (60000, 28, 28),
        (60000,), (10000, 28, 28), (10000,). Class names: ``CLASS_NAMES``.
    """
    subdir = os.path.join("datasets", "fashion-mnist")
    paths = [get_file(name, origin=BASE + name, file_hash=md5, cache_subdir=subdir)
             for name, md5 in FILES.items()]
    with gzip.open(paths[0], "rb") as lbpath:
        y_train = np.frombuffer(lbpath.read(), np.uint8, offset=8)
    with gzip.open(paths[1], "rb") as imgpath:
        x_train = np.frombuffer(imgpath.read(), np.uint8, offset=16).reshape(len(y_train), 28, 28)
    with gzip.open(paths[2], "rb") as lbpath:
        y_test = np.frombuffer(lbpath.read(), np.uint8, offset=8)
    with gzip.open(paths[3], "rb") as imgpath:
        x_test = np.frombuffer(imgpath.read(), np.uint8, offset=16).reshape(len(y_test), 28, 28)
    return (x_train, y_train), (x_test, y_test)
