"""Batch-parallel CPU work (graphkit.backend.cpu_threads) and NumpyOps' split convolutions."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from graphkit.backend.cpu_threads import BatchThreads, batch_threads
from graphkit.backend.numpy_ops import NumpyOps
from graphkit.backend.ops import Ops

pytestmark = pytest.mark.skipif(batch_threads._control() is None,
                                reason="numpy's BLAS is not an OpenBLAS whose thread count can be set")

GENERIC = Ops(np)


@pytest.fixture
def blas():
    """numpy's OpenBLAS control, its thread count put back after the test."""
    control = batch_threads._control()
    before = control.get()
    yield control
    control.set(before)


def _record(calls: list):
    def fn(start, stop):
        calls.append((start, stop, threading.current_thread(), batch_threads._blas.get()))
        return start * 1000 + stop
    return fn


def test_parts_cover_the_batch_in_order_with_blas_single_threaded(blas):
    blas.set(2)
    calls: list = []
    results = batch_threads.run(_record(calls), 10, 3)
    assert results == [4, 4008, 8010]           # (0, 4), (4, 8), (8, 10), in range order
    assert sorted(c[:2] for c in calls) == [(0, 4), (4, 8), (8, 10)]
    first = next(c for c in calls if c[0] == 0)
    assert first[2] is threading.current_thread()
    assert all(c[2] is not threading.current_thread() for c in calls if c[0])
    assert {c[3] for c in calls} == {1}         # BLAS held to one thread while parts run
    assert blas.get() == 2                      # ... and set back after


def test_an_empty_range_is_one_call(blas):
    assert batch_threads.run(lambda a, b: (a, b), 0, 2) == [(0, 0)]


def test_one_part_runs_here_and_leaves_blas_alone(blas):
    blas.set(2)
    calls: list = []
    assert batch_threads.run(_record(calls), 5, 1) == [5]
    assert calls == [(0, 5, threading.current_thread(), 2)]


def test_parts_follow_the_blas_thread_limit(blas):
    blas.set(1)
    assert batch_threads.parts() == 1
    blas.set(64)
    assert 1 <= batch_threads.parts() <= (os.cpu_count() or 1)


def test_a_failing_part_raises_after_all_parts_end_and_blas_is_restored(blas):
    blas.set(2)
    finished = []

    def fn(start, stop):
        if start:
            raise ValueError(f"part {start}:{stop} failed")
        finished.append(start)
        return start
    with pytest.raises(ValueError, match="part 5:10 failed"):
        batch_threads.run(fn, 10, 2)
    assert finished == [0] and blas.get() == 2
    assert batch_threads.run(lambda a, b: b - a, 4, 2) == [2, 2]   # still usable


def test_work_nested_in_a_part_is_serial(blas):
    blas.set(2)
    inner = []

    def outer(start, stop):
        inner.append(batch_threads.parts())
        return batch_threads.run(lambda a, b: (a, b), 4, 2)
    assert batch_threads.run(outer, 2, 2) == [[(0, 4)], [(0, 4)]]
    assert inner == [1, 1]


def test_concurrent_callers_all_get_their_results_and_blas_is_restored(blas):
    blas.set(2)
    threads_ = BatchThreads()
    out = {}

    def caller(k):
        out[k] = threads_.run(lambda a, b: sum(range(a, b)) + k, 1000, 2)
    workers = [threading.Thread(target=caller, args=(k,)) for k in range(6)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert {k: sum(v) for k, v in out.items()} == {k: 499500 + k * len(out[k]) for k in range(6)}
    assert blas.get() == 2


def test_owning_the_cores_holds_blas_to_one_thread_and_is_reentrant(blas):
    blas.set(2)
    seen = {}

    def other_thread():
        seen["other parts"] = batch_threads.parts()
        with batch_threads.owning_cores():
            seen["other blas"] = blas.get()
        seen["other run"] = batch_threads.run(lambda a, b: (a, b), 4, 2)
    with batch_threads.owning_cores():
        assert blas.get() == 1
        assert batch_threads.parts() == min(2, os.cpu_count() or 1)   # the user's count, not BLAS's 1
        with batch_threads.owning_cores():
            assert blas.get() == 1
        assert blas.get() == 1                                       # an inner block restores nothing
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
    assert blas.get() == 2
    assert seen == {"other parts": 1, "other blas": 1, "other run": [(0, 4)]}   # serial meanwhile


def _blas_threads_seen_by(cls, name: str, blas, monkeypatch) -> list:
    """BLAS's thread count at each call of ``cls.name`` (appended to the returned list)."""
    counts = []
    method = getattr(cls, name)

    def recording(self, *args):
        counts.append(blas.get())
        return method(self, *args)
    monkeypatch.setattr(cls, name, recording)
    return counts


def test_numpy_convolutions_run_their_gemms_single_threaded(blas, monkeypatch):
    """Even a convolution too small to split runs its GEMM with BLAS at one thread (so no
    OpenBLAS worker spins against the next split); a single image keeps BLAS's threads."""
    blas.set(2)
    counts = _blas_threads_seen_by(Ops, "_kernel_grad", blas, monkeypatch)
    ops = NumpyOps()
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 3, 2, 4)).astype("float32")
    pads = ((0, 0), (0, 0))
    for n in (3, 1):
        x = rng.standard_normal((n, 6, 6, 2)).astype("float32")
        y = ops.conv(x, w, (1, 1), (1, 1), pads)
        ops.conv_backward(np.ones_like(y), x, w, (1, 1), (1, 1), pads)
    assert counts == [1, 2] and blas.get() == 2


def test_dense_products_run_single_threaded_only_while_split_work_goes_on(blas, monkeypatch):
    """An MLP's products keep BLAS's threads; after a split batch (a conv net's), a dense head's
    product runs with BLAS at one thread, so no OpenBLAS worker spins against the next split."""
    blas.set(2)
    counts = _blas_threads_seen_by(Ops, "dense", blas, monkeypatch)
    ops = NumpyOps()
    x, w = np.ones((4, 3), np.float32), np.ones((3, 2), np.float32)
    monkeypatch.setattr(batch_threads, "split_at", -np.inf)
    assert not batch_threads.recently_split()
    ops.dense(x, w, None)
    batch_threads.run(lambda a, b: None, 2, 2)
    assert batch_threads.recently_split()
    ops.dense(x, w, None)
    assert counts == [2, 1] and blas.get() == 2


def test_switched_off_by_environment():
    code = "from graphkit.backend.cpu_threads import batch_threads as b; print(b.parts())"
    env = dict(os.environ, GRAPHKIT_NO_BATCH_THREADS="1")
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip() == "1"


# ------------------------------------------------------- NumpyOps over several parts
@pytest.fixture
def three_parts(monkeypatch, blas):
    """NumpyOps splitting every batch it can into three parts, in small column chunks."""
    blas.set(2)
    monkeypatch.setattr(batch_threads, "parts", lambda: 3)
    ops = NumpyOps()
    ops.conv_chunk_bytes = 1 << 12
    ops.part_bytes = 1
    ops.dense_split_flops = 0
    return ops


def _close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("strides,dilation,pads", [
    ((1, 1), (1, 1), ((1, 1), (1, 1))),
    ((2, 1), (1, 2), ((0, 1), (2, 0))),
])
def test_split_conv_matches_the_generic_code(three_parts, strides, dilation, pads):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 9, 10, 3)).astype("float32")
    w = rng.standard_normal((3, 3, 3, 5)).astype("float32")
    y = three_parts.conv(x, w, strides, dilation, pads)
    _close(y, GENERIC.conv(x, w, strides, dilation, pads))
    g = rng.standard_normal(y.shape).astype("float32")
    gx, gw = three_parts.conv_backward(g, x, w, strides, dilation, pads)
    rx, rw = GENERIC.conv_backward(g, x, w, strides, dilation, pads)
    _close(gx, rx)
    _close(gw, rw)


def test_split_pooling_and_bias_relu_match_the_generic_code(three_parts):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((7, 9, 9, 4)).astype("float32")
    y, arg = three_parts.max_pool(x, (3, 3), (3, 3), ((0, 0), (0, 0)))
    ry, rarg = GENERIC.max_pool(x, (3, 3), (3, 3), ((0, 0), (0, 0)))
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(arg, rarg)
    g = rng.standard_normal(y.shape).astype("float32")
    np.testing.assert_array_equal(three_parts.max_pool_backward(g, arg, x.shape, (3, 3), (3, 3), ((0, 0), (0, 0))),
                                  GENERIC.max_pool_backward(g, rarg, x.shape, (3, 3), (3, 3), ((0, 0), (0, 0))))
    b = rng.standard_normal(4).astype("float32")
    out = three_parts.bias_activation(x.copy(), b, "relu")
    _close(out, GENERIC.bias_activation(x.copy(), b, "relu"))
    gz, gb = three_parts.bias_activation_backward(x, out, "relu", True)
    rz, rb = GENERIC.bias_activation_backward(x, out, "relu", True)
    _close(gz, rz)
    _close(gb, rb)


@pytest.mark.parametrize("shape", [(7, 5), (3, 4, 5)])
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("input_grad", [True, False])
def test_split_dense_matches_the_generic_code(three_parts, shape, with_bias, input_grad):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype("float32")
    w = rng.standard_normal((5, 6)).astype("float32")
    b = rng.standard_normal(6).astype("float32") if with_bias else None
    y = three_parts.dense(x, w, b)
    _close(y, GENERIC.dense(x, w, b))
    g = rng.standard_normal(y.shape).astype("float32")
    got = three_parts.dense_backward(g, x, w, with_bias, input_grad)
    want = GENERIC.dense_backward(g, x, w, with_bias, input_grad)
    for a, r in zip(got, want):
        assert (a is None) == (r is None)
        if a is not None:
            assert a.shape == r.shape
            _close(a, r)
