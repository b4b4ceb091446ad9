"""Tensors, numpy interop, Python operators, gk.random and gk.Variable."""
from __future__ import annotations

import numpy as np
import pytest

import graphkit as gk


def test_constant_float_defaults_to_float32():
    assert gk.constant(1.5).dtype == np.float32
    assert gk.constant([1.0, 2.0]).dtype == np.float32
    assert gk.constant(np.arange(3.0)).dtype == np.float32  # float64 arrays too
    assert gk.constant(np.float64(2.0)).dtype == np.float32
    assert gk.constant([]).dtype == np.float32


def test_constant_other_dtypes():
    assert gk.constant(3).dtype == np.int32
    assert gk.constant([1, 2]).dtype == np.int32
    assert gk.constant(2**40).dtype == np.int64  # does not fit in int32: int64, as TF
    assert int(gk.constant(2**40)) == 2**40
    assert gk.constant(np.arange(3, dtype=np.int64)).dtype == np.int64  # arrays keep theirs
    assert gk.constant(True).dtype == np.bool_
    assert gk.constant(np.arange(3.0), dtype="float64").dtype == np.float64
    assert gk.constant([1, 2], dtype=gk.float32).dtype == np.float32
    assert gk.constant(1.7, dtype="int32").numpy() == 1
    assert gk.constant(np.zeros(2, np.float16)).dtype == np.float16


def test_constant_from_tensor_and_list_of_tensors():
    t = gk.constant([1.0, 2.0])
    assert gk.constant(t) is not t
    np.testing.assert_array_equal(gk.constant(t, dtype="float64").numpy(), [1.0, 2.0])
    assert gk.constant(t, dtype="float64").dtype == np.float64
    np.testing.assert_array_equal(gk.constant([gk.constant(1.0), gk.constant(2.0)]).numpy(), [1.0, 2.0])
    assert gk.convert_to_tensor is gk.constant


def test_constant_shape_fills_scalars_and_reshapes():
    t = gk.constant(5.0, shape=(2, 3))
    assert t.shape == (2, 3) and t.dtype == np.float32
    np.testing.assert_array_equal(t.numpy(), np.full((2, 3), 5.0))
    np.testing.assert_array_equal(gk.constant([7], shape=[2, 2]).numpy(), np.full((2, 2), 7))
    np.testing.assert_array_equal(gk.constant([1, 2, 3, 4, 5, 6], shape=(2, 3)).numpy(),
                                  [[1, 2, 3], [4, 5, 6]])
    assert gk.constant(1.0, shape=()).shape == ()


def test_constant_shape_mismatch_raises():
    with pytest.raises(ValueError, match=r"3 values cannot fill shape \(2, 2\)"):
        gk.constant([1, 2, 3], shape=(2, 2))
    with pytest.raises(ValueError):  # like TF, only single values are broadcast
        gk.constant([1, 2], shape=(2, 2))


def test_tensor_constructor_and_properties():
    t = gk.Tensor([[1, 2, 3], [4, 5, 6]], dtype="float32")
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6
    assert t.dtype == np.float32 and t.device == "cpu"
    assert t.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert gk.constant(4.0).item() == 4.0


def test_zeros_ones_and_like():
    z = gk.zeros((2, 3))
    assert z.shape == (2, 3) and z.dtype == np.float32 and not z.numpy().any()
    o = gk.ones([4], dtype="int32")
    assert o.dtype == np.int32 and o.numpy().tolist() == [1, 1, 1, 1]
    assert gk.zeros(3).shape == (3,) and gk.ones(2).shape == (2,)
    assert gk.zeros(()).shape == ()
    x = gk.constant([[1, 2]], dtype="int64")
    zl, ol = gk.zeros_like(x), gk.ones_like(x)
    assert zl.shape == (1, 2) and zl.dtype == np.int64 and not zl.numpy().any()
    assert ol.dtype == np.int64 and ol.numpy().tolist() == [[1, 1]]
    assert gk.ones_like(x, dtype="float32").dtype == np.float32
    assert gk.zeros_like([1.0, 2.0]).shape == (2,)


# ------------------------------------------------------------------ numpy interop

def test_numpy_interop():
    t = gk.constant([1.0, 2.0, 3.0])
    a = np.asarray(t)
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    np.testing.assert_array_equal(a, [1, 2, 3])
    assert isinstance(t.numpy(), np.ndarray)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert np.array(t, dtype="int32").tolist() == [1, 2, 3]
    copied = np.array(t, copy=True)
    copied[0] = 100
    assert t.numpy()[0] == 1.0
    assert t.__array__(copy=False) is t.numpy()
    with pytest.raises(ValueError, match="without a copy"):
        t.__array__(np.float64, copy=False)
    np.testing.assert_allclose(np.exp(t), np.exp([1.0, 2.0, 3.0]), rtol=1e-6)  # ufuncs go through __array__


def test_numpy_arrays_and_scalars_on_the_left_defer_to_tensor():
    t = gk.constant([1.0, 2.0, 3.0])
    for result in (np.arange(3.0) + t, np.ones(3) * t, np.float32(2) - t, np.float64(2) / t):
        assert isinstance(result, gk.Tensor)
        assert result.dtype == np.float32  # the tensor's dtype wins, no float64
    np.testing.assert_array_equal((np.arange(3.0) - t).numpy(), [-1, -1, -1])


def test_python_operators():
    t = gk.constant([1.0, 2.0, 4.0])
    cases = {
        "add": (t + 2, [3, 4, 6]), "radd": (2 + t, [3, 4, 6]),
        "sub": (t - 1, [0, 1, 3]), "rsub": (2 - t, [1, 0, -2]),
        "mul": (t * 3, [3, 6, 12]), "rmul": (3 * t, [3, 6, 12]),
        "div": (t / 2, [0.5, 1, 2]), "rdiv": (2 / t, [2, 1, 0.5]),
        "pow": (t ** 2, [1, 4, 16]), "rpow": (2 ** t, [2, 4, 16]),
        "floordiv": (t // 3, [0, 0, 1]), "rfloordiv": (5 // t, [5, 2, 1]),
        "mod": (t % 3, [1, 2, 1]), "rmod": (5 % t, [0, 1, 1]),
        "neg": (-t, [-1, -2, -4]), "pos": (+t, [1, 2, 4]), "abs": (abs(-t), [1, 2, 4]),
        "tensor+tensor": (t + t, [2, 4, 8]),
    }
    for name, (result, expected) in cases.items():
        assert isinstance(result, gk.Tensor), name
        assert result.dtype == np.float32, name
        np.testing.assert_allclose(result.numpy(), expected, err_msg=name)


def test_matmul_operator():
    a = gk.constant([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal((a @ a).numpy(), [[7, 10], [15, 22]])
    np.testing.assert_array_equal((np.eye(2) @ a).numpy(), a.numpy())  # reflected
    assert isinstance(np.eye(2) @ a, gk.Tensor)


def test_scalar_operand_dtypes():
    i = gk.constant([1, 2, 3])
    assert (i * 2).dtype == np.int32
    assert (gk.constant([1.0], dtype="float64") * 2).dtype == np.float64


def test_comparisons_and_logic():
    t = gk.constant([1.0, 2.0, 3.0])
    assert (t < 2).numpy().tolist() == [True, False, False]
    assert (t <= 2).numpy().tolist() == [True, True, False]
    assert (t > 2).numpy().tolist() == [False, False, True]
    assert (t >= 2).numpy().tolist() == [False, True, True]
    assert (t == 2).numpy().tolist() == [False, True, False]
    assert (t != 2).numpy().tolist() == [True, False, True]
    assert (2 < t).numpy().tolist() == [False, False, True]  # reflected via __gt__
    assert isinstance(t == t, gk.Tensor) and (t == t).dtype == np.bool_
    assert ((t > 1) & (t < 3)).numpy().tolist() == [False, True, False]
    assert ((t < 2) | (t > 2)).numpy().tolist() == [True, False, True]
    assert (~(t > 1)).numpy().tolist() == [True, False, False]
    hash(t)  # elementwise == does not make tensors unhashable (they key dicts by identity)


def test_indexing_and_slicing():
    x = gk.constant(np.arange(12.0).reshape(3, 4))
    ref = np.arange(12.0).reshape(3, 4)
    for index in (1, -1, slice(1, None), (slice(None), 2), (Ellipsis, 1), (slice(None, None, -1), 0),
                  (None, 0), np.array([2, 0]), [0, 2], (np.array([0, 1]), np.array([1, 3])),
                  ref > 5):
        result = x[index]
        assert isinstance(result, gk.Tensor)
        np.testing.assert_array_equal(result.numpy(), ref[index], err_msg=repr(index))
    assert x[gk.constant(1)].shape == (4,)  # integer tensors index like ints
    np.testing.assert_array_equal(x[x > 5].numpy(), ref[ref > 5])


def test_len_iter_bool_float_int():
    t = gk.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert len(t) == 3
    rows = list(t)
    assert len(rows) == 3 and all(isinstance(r, gk.Tensor) for r in rows)
    np.testing.assert_array_equal(rows[2].numpy(), [5, 6])
    s = gk.constant(2.5)
    with pytest.raises(TypeError):
        len(s)
    with pytest.raises(TypeError):
        iter(s)
    assert float(s) == 2.5 and int(s) == 2
    assert bool(gk.constant(1.0)) and not bool(gk.constant(0.0))
    assert bool(gk.constant([3]) > 2)
    with pytest.raises(ValueError):
        bool(t)  # ambiguous, as numpy and TF
    assert [10, 20, 30][gk.constant(1)] == 20  # __index__
    with pytest.raises(TypeError, match="integer"):
        [10, 20][gk.constant(1.0)]


def test_repr():
    assert repr(gk.constant([1.0, 2.0])) == "gk.Tensor([1., 2.], shape=(2,), dtype=float32)"
    assert repr(gk.constant(3)) == "gk.Tensor(3, shape=(), dtype=int32)"
    r = repr(gk.Variable([1.0], name="w"))
    assert "'w'" in r and "shape=(1,)" in r and "float32" in r


# ------------------------------------------------------------------ gk.random

@pytest.mark.parametrize("draw", [gk.random.normal, gk.random.uniform])
def test_random_set_seed_reproducible(draw):
    try:
        gk.random.set_seed(123)
        first = [draw((3, 2)).numpy() for _ in range(2)]
        gk.random.set_seed(123)
        second = [draw((3, 2)).numpy() for _ in range(2)]
        np.testing.assert_array_equal(first[0], second[0])
        np.testing.assert_array_equal(first[1], second[1])
        assert not np.array_equal(first[0], first[1])  # the sequence moves on
        gk.random.set_seed(124)
        assert not np.array_equal(draw((3, 2)).numpy(), first[0])
    finally:
        gk.random.set_seed(None)


@pytest.mark.parametrize("draw", [gk.random.normal, gk.random.uniform])
def test_random_seed_argument(draw):
    a = draw((5,), seed=7).numpy()
    gk.random.set_seed(1)
    try:
        np.testing.assert_array_equal(draw((5,), seed=7).numpy(), a)  # independent of the global seed
    finally:
        gk.random.set_seed(None)
    assert not np.array_equal(draw((5,), seed=8).numpy(), a)


def test_random_distributions_and_dtypes():
    n = gk.random.normal((20000,), mean=3.0, stddev=2.0, seed=0)
    assert n.dtype == np.float32 and n.shape == (20000,)
    assert abs(float(n.numpy().mean()) - 3.0) < 0.1 and abs(float(n.numpy().std()) - 2.0) < 0.1
    u = gk.random.uniform((20000,), minval=-2.0, maxval=1.0, seed=0)
    assert u.numpy().min() >= -2.0 and u.numpy().max() < 1.0
    assert abs(float(u.numpy().mean()) + 0.5) < 0.05
    assert gk.random.normal((2,), dtype="float64", seed=0).dtype == np.float64
    assert gk.random.uniform((2,), dtype="float16", seed=0).dtype == np.float16


# ------------------------------------------------------------------ gk.Variable

def test_variable_basics():
    v = gk.Variable([1.0, 2.0], name="w")
    assert isinstance(v, gk.Tensor)
    assert v.name == "w" and v.path == "w"
    assert v.trainable and v.dtype == np.float32 and v.shape == (2,)
    assert gk.Variable(0.0).name == "Variable"
    assert gk.Variable(np.zeros(2), dtype="float64").dtype == np.float64
    frozen = gk.Variable(1.0, trainable=False)
    assert not frozen.trainable
    frozen.trainable = True
    assert frozen.trainable
    np.testing.assert_array_equal((v * 2).numpy(), [2.0, 4.0])  # takes part in ops as a tensor


def test_variable_name_scopes():
    with gk.name_scope("outer") as scope:
        assert scope == "outer/"
        with gk.name_scope("inner") as inner_scope:
            assert inner_scope == "outer/inner/"
            v = gk.Variable(1.0, name="kernel")
        w = gk.Variable(1.0, name="bias")
    assert v.name == "outer/inner/kernel"
    assert w.name == "outer/bias"
    assert gk.Variable(1.0, name="free").name == "free"
    with pytest.raises(ValueError):
        gk.name_scope("")


def test_name_scope_pops_on_exception():
    with pytest.raises(RuntimeError):
        with gk.name_scope("boom"):
            raise RuntimeError
    assert gk.Variable(1.0, name="after").name == "after"


def test_variable_callable_initial_value():
    calls = []

    def init():
        calls.append(1)
        return np.ones((2, 2))

    v = gk.Variable(init, name="c")
    assert calls == [1]
    assert v.shape == (2, 2) and v.dtype == np.float32
    v2 = gk.Variable(lambda: gk.zeros((3,)), dtype="float64")
    assert v2.dtype == np.float64 and v2.shape == (3,)


def test_variable_copies_its_initial_value():
    array = np.zeros(3, dtype=np.float32)
    v = gk.Variable(array)
    array[0] = 5.0
    assert v.numpy()[0] == 0.0
    t = gk.constant([1.0, 2.0])
    v2 = gk.Variable(t)
    v2.assign([9.0, 9.0])
    assert t.numpy().tolist() == [1.0, 2.0]
    assert v2.data is not t.data
    v3 = gk.Variable(v2)
    v3.assign_add(1.0)
    assert v2.numpy().tolist() == [9.0, 9.0]


def test_variable_assign():
    v = gk.Variable([1.0, 2.0], name="w")
    snapshot = v.value()
    held = v + 0  # an op that read the old value
    assert v.assign([3.0, 4.0]) is v
    np.testing.assert_array_equal(v.numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(snapshot.numpy(), [1.0, 2.0])  # earlier reads are unaffected
    np.testing.assert_array_equal(held.numpy(), [1.0, 2.0])
    assert not isinstance(snapshot, gk.Variable) and v.read_value().numpy().tolist() == [3.0, 4.0]
    v.assign(np.array([5.0, 6.0], dtype=np.float64))  # cast to the variable's dtype
    assert v.dtype == np.float32 and v.numpy().tolist() == [5.0, 6.0]
    v.assign(0.0)  # a scalar fills
    assert v.numpy().tolist() == [0.0, 0.0]
    v.assign(gk.constant([1.0, 1.0]))
    assert v.assign_add([1.0, 2.0]) is v
    assert v.numpy().tolist() == [2.0, 3.0]
    assert v.assign_sub(gk.constant([0.5, 0.5])) is v
    assert v.numpy().tolist() == [1.5, 2.5]
    v.assign_add(1)
    assert v.numpy().tolist() == [2.5, 3.5] and v.dtype == np.float32


@pytest.mark.parametrize("method", ["assign", "assign_add", "assign_sub"])
def test_variable_assign_shape_errors(method):
    with gk.name_scope("layer"):
        v = gk.Variable(np.ones((2, 3)), name="kernel")
    before = v.numpy().copy()
    with pytest.raises(ValueError) as info:
        getattr(v, method)(np.ones((3, 2)))
    message = str(info.value)
    assert "layer/kernel" in message and method in message
    assert "(3, 2)" in message and "(2, 3)" in message
    np.testing.assert_array_equal(v.numpy(), before)
    with pytest.raises(ValueError):
        getattr(v, method)(np.ones((1, 3)))  # no silent broadcasting beyond scalars
    np.testing.assert_array_equal(v.numpy(), before)
