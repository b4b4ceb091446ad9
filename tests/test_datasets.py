"""gk.datasets: the bundled digits set, and the download/cache path of mnist/fashion_mnist
(the network is never used: the downloader is monkeypatched)."""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import urllib.error

import numpy as np
import pytest

import graphkit as gk
from graphkit.datasets import _download, digits, fashion_mnist, mnist

DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"


# --------------------------------------------------------------------------- digits (no network)

def test_digits_file_is_the_recorded_uci_copy():
    with open(digits.DATA_PATH, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == DIGITS_SHA256
    readme = os.path.join(os.path.dirname(digits.DATA_PATH), "README.md")
    assert DIGITS_SHA256 in open(readme).read()


def test_digits_shapes_dtypes_and_ranges():
    (x_train, y_train), (x_test, y_test) = gk.datasets.digits.load_data()
    assert x_train.shape == (1437, 8, 8) and y_train.shape == (1437,)
    assert x_test.shape == (360, 8, 8) and y_test.shape == (360,)
    for a in (x_train, y_train, x_test, y_test):
        assert a.dtype == np.uint8
    assert x_train.min() == 0 and x_train.max() == 16 and x_test.max() <= 16
    assert set(np.unique(y_train)) == set(range(10)) and set(np.unique(y_test)) <= set(range(10))
    x, y = digits.load_all()
    assert x.shape == (1797, 8, 8)
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    # the first image in the file is a 0 (as sklearn's load_digits().images[0])
    assert y[0] == 0 and x[0, 0].tolist() == [0, 0, 5, 13, 9, 1, 0, 0]


def test_digits_split_is_deterministic_and_a_partition():
    (a1, b1), (c1, d1) = digits.load_data(seed=7)
    (a2, b2), (c2, d2) = digits.load_data(seed=7)
    for p, q in ((a1, a2), (b1, b2), (c1, c2), (d1, d2)):
        np.testing.assert_array_equal(p, q)
    (a3, _), _ = digits.load_data(seed=8)
    assert not np.array_equal(a1, a3)
    # train + test is a permutation of the whole set
    x, y = digits.load_all(flatten=True)
    both = np.concatenate([a1.reshape(-1, 64), c1.reshape(-1, 64)])
    key = lambda rows, labels: sorted(map(bytes, np.concatenate([rows, labels[:, None]], axis=1)))
    assert key(both, np.concatenate([b1, d1])) == key(x, y)
    # default seed is fixed too; results are independent, writable copies
    (e, _), _ = digits.load_data()
    (f, _), _ = digits.load_data()
    np.testing.assert_array_equal(e, f)
    e[0, 0, 0] = 99
    (g, _), _ = digits.load_data()
    assert g[0, 0, 0] != 99


def test_digits_options_and_errors():
    (x, y), (xt, yt) = digits.load_data(test_split=0.5, flatten=True)
    assert x.shape == (898, 64) and xt.shape == (899, 64)
    (x, y), (xt, yt) = digits.load_data(test_split=0.0)
    assert len(x) == 1797 and xt.shape == (0, 8, 8) and yt.shape == (0,)
    for bad in (-0.1, 1.0, 2):
        with pytest.raises(ValueError, match="test_split"):
            digits.load_data(test_split=bad)


# --------------------------------------------------------------------------- downloads (simulated)

@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHKIT_HOME", str(tmp_path / "gkhome"))

    def no_network(url, filename):  # never touch the network in tests
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(_download, "urlretrieve", no_network)
    return tmp_path / "gkhome"


def _serve(monkeypatch, files: dict, calls: list):
    def fake_urlretrieve(url, filename):
        calls.append(url)
        with open(filename, "wb") as f:
            f.write(files[url])

    monkeypatch.setattr(_download, "urlretrieve", fake_urlretrieve)


def test_mnist_without_network_names_url_and_cache_path(home):
    with pytest.raises(gk.datasets.DownloadError) as info:
        gk.datasets.mnist.load_data()
    msg = str(info.value)
    assert mnist.ORIGIN in msg
    assert str(home / "datasets" / "mnist.npz") in msg
    assert "Temporary failure in name resolution" in msg
    assert not any(p.name.startswith(".download-") for p in (home / "datasets").iterdir())  # no temp left


def test_fashion_mnist_without_network(home):
    with pytest.raises(OSError) as info:  # DownloadError is an OSError
        gk.datasets.fashion_mnist.load_data()
    msg = str(info.value)
    assert fashion_mnist.BASE + "train-labels-idx1-ubyte.gz" in msg
    assert str(home / "datasets" / "fashion-mnist" / "train-labels-idx1-ubyte.gz") in msg


def test_get_file_downloads_verifies_and_caches(home, monkeypatch):
    payload = b"hello dataset"
    sha = hashlib.sha256(payload).hexdigest()
    calls = []
    _serve(monkeypatch, {"https://example.invalid/a.bin": payload}, calls)
    path = gk.datasets.get_file("a.bin", "https://example.invalid/a.bin", file_hash=sha)
    assert path == str(home / "datasets" / "a.bin") and open(path, "rb").read() == payload
    assert gk.datasets.get_file("a.bin", "https://example.invalid/a.bin", file_hash=sha) == path
    assert len(calls) == 1  # cached
    with open(path, "wb") as f:  # corrupted cache -> downloaded again
        f.write(b"garbage")
    gk.datasets.get_file("a.bin", "https://example.invalid/a.bin", file_hash=sha)
    assert len(calls) == 2 and open(path, "rb").read() == payload
    # a bad download raises and leaves the previous file alone
    with pytest.raises(gk.datasets.DownloadError, match="expected 0+"):
        gk.datasets.get_file("a.bin", "https://example.invalid/a.bin", file_hash="0" * 64)
    assert open(path, "rb").read() == payload
    # md5 picked from the hash length
    md5 = hashlib.md5(payload).hexdigest()
    _serve(monkeypatch, {"https://example.invalid/b.bin": payload}, calls)
    assert os.path.exists(gk.datasets.get_file("b.bin", "https://example.invalid/b.bin", file_hash=md5))


def test_manually_placed_file_works_offline(home, monkeypatch):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 255, (5, 28, 28), dtype=np.uint8), "y_train": np.arange(5, dtype=np.uint8),
              "x_test": rng.integers(0, 255, (2, 28, 28), dtype=np.uint8), "y_test": np.arange(2, dtype=np.uint8)}
    folder = home / "datasets"
    folder.mkdir(parents=True)
    np.savez(folder / "mnist.npz", **arrays)
    monkeypatch.setattr(mnist, "FILE_HASH", hashlib.sha256((folder / "mnist.npz").read_bytes()).hexdigest())
    (x, y), (xt, yt) = gk.datasets.mnist.load_data()  # no network: the "home" fixture blocks it
    np.testing.assert_array_equal(x, arrays["x_train"])
    np.testing.assert_array_equal(yt, arrays["y_test"])


def test_fashion_mnist_parses_downloaded_idx_files(home, monkeypatch):
    rng = np.random.default_rng(1)
    images = {"train": rng.integers(0, 255, (3, 28, 28), dtype=np.uint8),
              "t10k": rng.integers(0, 255, (2, 28, 28), dtype=np.uint8)}
    labels = {"train": np.array([1, 2, 3], np.uint8), "t10k": np.array([9, 0], np.uint8)}

    def gz(header: bytes, arr) -> bytes:
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as f:
            f.write(header + arr.tobytes())
        return buf.getvalue()

    blobs = {}
    for split in ("train", "t10k"):
        blobs[f"{split}-labels-idx1-ubyte.gz"] = gz(b"\0" * 8, labels[split])
        blobs[f"{split}-images-idx3-ubyte.gz"] = gz(b"\0" * 16, images[split])
    monkeypatch.setattr(fashion_mnist, "FILES", {k: hashlib.md5(blobs[k]).hexdigest() for k in fashion_mnist.FILES})
    calls = []
    _serve(monkeypatch, {fashion_mnist.BASE + k: v for k, v in blobs.items()}, calls)
    (x, y), (xt, yt) = gk.datasets.fashion_mnist.load_data()
    assert len(calls) == 4
    np.testing.assert_array_equal(x, images["train"])
    np.testing.assert_array_equal(y, labels["train"])
    np.testing.assert_array_equal(xt, images["t10k"])
    np.testing.assert_array_equal(yt, labels["t10k"])
    gk.datasets.fashion_mnist.load_data()
    assert len(calls) == 4  # cached in $GRAPHKIT_HOME/datasets/fashion-mnist
    assert sorted(os.listdir(home / "datasets" / "fashion-mnist")) == sorted(blobs)


def test_real_checksums_are_keras_and_zalando_values():
    assert mnist.FILE_HASH == "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
    assert mnist.ORIGIN == "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
    assert fashion_mnist.FILES["train-images-idx3-ubyte.gz"] == "8d4fb7e6c68d591d4c3dfef9ec88bf0d"


def test_to_categorical_and_utils_get_file():
    out = gk.utils.to_categorical([0, 2, 1])
    np.testing.assert_array_equal(out, np.eye(3, dtype=np.float32)[[0, 2, 1]])
    assert out.dtype == np.float32
    assert gk.utils.to_categorical(np.array([[1], [3]]), num_classes=5).shape == (2, 5)
    _, (_, y_test) = digits.load_data()
    assert gk.utils.to_categorical(y_test, 10).sum(axis=0).sum() == len(y_test)
    with pytest.raises(ValueError, match="in \\[0, 2\\)"):
        gk.utils.to_categorical([0, 2], num_classes=2)
    with pytest.raises(ValueError, match="integers"):
        gk.utils.to_categorical([0.5])
    assert gk.utils.get_file is gk.datasets.get_file
