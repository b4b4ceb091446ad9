"""Backend selection (set_backend / use / current / available) and the CuPy backend."""
from __future__ import annotations

import numpy as np
import pytest

import graphkit as gk
from graphkit import backend


@pytest.fixture(autouse=True)
def restore_backend():
    previous = backend.current()
    yield
    backend.set_backend(previous)


def test_default_backend_is_numpy():
    ops = backend.current()
    assert isinstance(ops, backend.NumpyOps) and ops.name == "numpy" and ops.xp is np
    assert gk.constant(1.0).device == "cpu"


def test_set_backend_by_name_and_instance():
    numpy_ops = backend.set_backend("numpy")
    assert backend.current() is numpy_ops
    assert backend.set_backend("numpy") is numpy_ops  # one instance per name
    generic = backend.Ops(np)
    assert backend.set_backend(generic) is generic and backend.current() is generic
    y = gk.ops.relu(gk.constant([-1.0, 2.0]))  # primitives run on the active backend
    np.testing.assert_array_equal(y.numpy(), [0.0, 2.0])


def test_unknown_backend_lists_valid_names():
    before = backend.current()
    with pytest.raises(ValueError) as info:
        backend.set_backend("torch")
    assert "'torch'" in str(info.value) and "numpy" in str(info.value) and "cupy" in str(info.value)
    with pytest.raises(ValueError, match="valid backends"):
        with backend.use("jax"):
            pass
    assert backend.current() is before


def test_use_restores_the_previous_backend():
    before = backend.current()
    generic = backend.Ops(np)
    with backend.use(generic) as ops:
        assert ops is generic and backend.current() is generic
        with backend.use("numpy") as inner:
            assert backend.current() is inner
        assert backend.current() is generic
    assert backend.current() is before


def test_use_restores_on_exception():
    before = backend.current()
    with pytest.raises(KeyError):
        with backend.use(backend.Ops(np)):
            raise KeyError("inside")
    assert backend.current() is before


def test_available():
    names = backend.available()
    assert names[0] == "numpy"
    assert ("cupy" in names) == (backend.cuda_unavailable_reason() is None)


def test_generic_ops_give_the_same_gradients_as_numpy_ops():
    x = np.array([[0.5, -1.0, 2.0], [1.5, 0.2, -0.3]], dtype=np.float32)
    w = np.array([[1.0, 2.0], [0.5, -1.0], [0.3, 0.1]], dtype=np.float32)

    def run():
        xv, wv = gk.Variable(x), gk.Variable(w)
        with gk.GradientTape() as tape:
            loss = gk.ops.sum(gk.ops.sigmoid(gk.matmul(xv, wv)) * gk.ops.erf(xv[:, :2]))
        return [loss.numpy()] + [g.numpy() for g in tape.gradient(loss, [xv, wv])]

    reference = run()
    with backend.use(backend.Ops(np)):
        generic = run()
    for a, b in zip(reference, generic):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(backend.cuda_unavailable_reason() is None, reason="CUDA is available here")
def test_cupy_backend_raises_a_clear_error_without_cuda():
    reason = backend.cuda_unavailable_reason()
    assert isinstance(reason, str) and reason
    before = backend.current()
    with pytest.raises(RuntimeError, match="'cupy' backend is unavailable") as info:
        backend.CupyOps()
    assert reason in str(info.value)
    with pytest.raises(RuntimeError, match="unavailable"):
        backend.set_backend("cupy")
    with pytest.raises(RuntimeError, match="unavailable"):
        with backend.use("cupy"):
            pass
    assert backend.current() is before
    assert "cupy" not in backend.available()


@pytest.mark.gpu
def test_cupy_matches_numpy_forward_and_gradient():
    reason = backend.cuda_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    import cupy

    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    w = rng.standard_normal((3, 2)).astype(np.float32)

    def run():
        xv, wv = gk.Variable(x), gk.Variable(w)
        with gk.GradientTape() as tape:
            h = gk.ops.tanh(gk.matmul(xv, wv)) * 2.0 + 1.0
            loss = gk.ops.sum(h * h)
        grads = tape.gradient(loss, [xv, wv])
        return loss, grads

    loss_cpu, grads_cpu = run()
    with backend.use("cupy") as ops:
        assert ops.name == "cupy" and ops.xp is cupy
        loss_gpu, grads_gpu = run()
        assert isinstance(loss_gpu.data, cupy.ndarray) and loss_gpu.device == "gpu"
        assert all(isinstance(g.data, cupy.ndarray) for g in grads_gpu)
    assert "cupy" in backend.available()
    np.testing.assert_allclose(loss_gpu.numpy(), loss_cpu.numpy(), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(loss_gpu), loss_cpu.numpy(), rtol=1e-5)
    for g_gpu, g_cpu in zip(grads_gpu, grads_cpu):
        assert isinstance(g_gpu.numpy(), np.ndarray)
        np.testing.assert_allclose(g_gpu.numpy(), g_cpu.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.gpu
def test_cupy_random_is_seeded():
    reason = backend.cuda_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with backend.use("cupy"):
        a = gk.random.normal((5,), seed=3).numpy()
        b = gk.random.normal((5,), seed=3).numpy()
    np.testing.assert_array_equal(a, b)


def test_malloc_tuning_runs_once_and_can_be_turned_off(monkeypatch):
    """NumpyOps raises glibc's mmap/trim thresholds once per process; GRAPHKIT_NO_MALLOPT opts out."""
    import os
    import sys

    from graphkit.backend import numpy_ops
    monkeypatch.setattr(numpy_ops, "_malloc_tuned", False)
    monkeypatch.setenv("GRAPHKIT_NO_MALLOPT", "1")
    assert numpy_ops._tune_malloc() is False and numpy_ops._malloc_tuned is False
    monkeypatch.delenv("GRAPHKIT_NO_MALLOPT")
    glibc = sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    assert numpy_ops._tune_malloc() is glibc
    assert numpy_ops._tune_malloc() is False  # once per process
