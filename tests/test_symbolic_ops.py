"""Arithmetic and gk.ops on symbolic tensors: recorded as op layers that run inside Functional models."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

import graphkit as gk
from graphkit.graph.symbolic import SymbolicTensor
from graphkit.layers.layer import clear_session
from graphkit.layers.op_layer import OpLayer


def producer(tensor):
    return tensor._keras_history[0]


def rand(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def test_operators_record_keras_named_op_layers():
    clear_session()
    x = gk.Input((4, 3), name="x")
    cases = [(x + 1, "add", "Add"), (x - x, "subtract", "Subtract"), (x * 2, "multiply", "Multiply"),
             (x / 3, "true_divide", "TrueDivide"), (x // 2, "floor_divide", "FloorDivide"), (x % 2, "mod", "Mod"),
             (x ** 2, "power", "Power"), (-x, "negative", "Negative"), (abs(x), "absolute", "Absolute"),
             (x < 0, "less", "Less"), (x <= 0, "less_equal", "LessEqual"), (x > 0, "greater", "Greater"),
             (x >= 0, "greater_equal", "GreaterEqual"), (x != 0, "not_equal", "NotEqual"),
             (x[:, 0], "get_item", "GetItem"), (x @ np.ones((3, 2), "float32"), "matmul", "Matmul")]
    for tensor, name, class_name in cases:
        layer = producer(tensor)
        assert isinstance(tensor, SymbolicTensor) and isinstance(layer, OpLayer)
        assert (layer.name, type(layer).__name__) == (name, class_name)
    assert (x + 1).name == "add_1"  # names are made unique as for layers
    assert +x is x
    shapes = {name: t.shape for t, name, _ in cases}
    assert shapes["get_item"] == (None, 3) and shapes["matmul"] == (None, 4, 2) and shapes["less"] == (None, 4, 3)
    assert (x > 0).dtype == np.dtype("bool")


def test_reflected_operands_and_foreign_left_operands():
    x = gk.Input((3,))
    for tensor in (2 - x, np.ones(3, "float32") * x, gk.constant([1.0, 2.0, 3.0]) + x, 1 / x):
        assert isinstance(tensor, SymbolicTensor) and tensor.shape == (None, 3)
    node = producer(2 - x)._inbound_nodes[0]
    assert node.call_args[0] == 2 and node.call_args[1] is x  # the order of the operands is kept


def test_gk_ops_functions_on_symbolic_tensors():
    clear_session()
    x = gk.Input((5, 4), name="x")
    assert gk.ops.relu(x).shape == (None, 5, 4)
    assert gk.ops.mean(x, axis=1).shape == (None, 4)
    assert gk.ops.sum(x, axis=(1, 2), keepdims=True).shape == (None, 1, 1)
    assert gk.ops.concatenate([x, x], axis=-1).shape == (None, 5, 8)
    assert gk.ops.reshape(x, (-1, 20)).shape == (None, 20)
    assert gk.ops.transpose(x, (0, 2, 1)).shape == (None, 4, 5)
    assert gk.ops.where(x > 0, x, 0.0).shape == (None, 5, 4)
    parts = gk.ops.split(x, 2, axis=-1)
    assert [p.shape for p in parts] == [(None, 5, 2), (None, 5, 2)]
    assert producer(parts[0]) is producer(parts[1])  # one op layer, two outputs
    assert gk.ops.shape(x) == (None, 5, 4)
    assert gk.nn.relu(x).shape == gk.activations.get("gelu")(x).shape == (None, 5, 4)
    mean = producer(gk.ops.mean(x, axis=1))
    assert mean.get_config() == {"name": mean.name, "axis": 1, "keepdims": False}


def test_model_with_op_layers_runs_like_numpy():
    x = gk.Input((6,), name="x")
    h = gk.layers.Dense(6, name="h")(x)
    y = gk.ops.relu(h) * 2 - x[:, :1] / 4
    z = gk.ops.concatenate([y, gk.ops.mean(h, axis=-1, keepdims=True)], axis=-1)
    model = gk.Model(x, {"y": y, "z": z, "neg": -gk.ops.exp(x) + 1})
    data = rand(3, 6)
    kernel, bias = (w.numpy() for w in model.get_layer("h").weights)
    hidden = data @ kernel + bias
    expected_y = np.maximum(hidden, 0) * 2 - data[:, :1] / 4
    out = model(data)
    np.testing.assert_allclose(out["y"].numpy(), expected_y, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["z"].numpy(), np.concatenate([expected_y, hidden.mean(-1, keepdims=True)], -1),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["neg"].numpy(), 1 - np.exp(data), rtol=1e-5)


def test_gradients_flow_through_op_layers():
    x = gk.Input((3,))
    dense = gk.layers.Dense(2)
    model = gk.Model(x, gk.ops.sum(dense(x) * 3, axis=-1))
    with gk.GradientTape() as tape:
        loss = gk.ops.sum(model(rand(4, 3)))
    grads = tape.gradient(loss, dense.trainable_weights)
    np.testing.assert_allclose(grads[1].numpy(), [12.0, 12.0])  # d/db of sum(3 * (xW + b)) over 4 rows


def test_unknown_dimensions_are_inferred():
    x = gk.Input((None, 3))
    assert x[:, 0].shape == (None, 3)
    assert gk.ops.mean(x, axis=1).shape == (None, 3)
    assert (x @ np.ones((3, 5), "float32")).shape == (None, None, 5)


def test_op_layer_called_on_data():
    x = gk.Input((2,))
    layer = producer(x * 2)
    assert layer.count_params() == 0 and layer.built
    out = layer(gk.constant([[1.0, 2.0]]), 2)  # an op layer called on data computes directly
    np.testing.assert_allclose(out.numpy(), [[2.0, 4.0]])


def test_errors_name_the_op_and_the_shapes():
    a, b = gk.Input((3,)), gk.Input((4,))
    with pytest.raises(ValueError, match=r"Add 'add(_\d+)?' cannot be called on inputs of shape \(None, 3\)"):
        _ = a + b
    with pytest.raises(TypeError, match="holds no data"):
        np.asarray(a)
    with pytest.raises(TypeError, match="holds no data"):
        bool(a > 0)


def test_eager_ops_keep_their_signature_and_results():
    assert list(inspect.signature(gk.ops.mean).parameters) == ["x", "axis", "keepdims"]
    assert gk.ops.mean.__name__ == "mean" and "mean" in (gk.ops.mean.__doc__ or "").lower()
    assert gk.ops.true_divide.__name__ == "true_divide"
    t = gk.constant([[1.0, 2.0], [3.0, 4.0]])
    assert isinstance(gk.ops.add(t, 1), gk.Tensor)
    np.testing.assert_allclose(gk.ops.mean(t, axis=0).numpy(), [2.0, 3.0])
    np.testing.assert_allclose((t * t).numpy(), [[1.0, 4.0], [9.0, 16.0]])
    # symbolic tensors stay hashable and compare by identity (usable in sets and `in` tests)
    x = gk.Input((2,))
    assert x in [x] and len({x, x}) == 1


def test_wrappers_handle_every_parameter_kind():
    from graphkit.ops import math as raw_math
    from graphkit.ops._symbolic import symbolic_aware

    def raw(x, /, y, *rest, scale=2.0, **extra):  # built from the unwrapped ops, so it is one op
        return raw_math.multiply(raw_math.add(x, y), scale) if not rest and not extra else (x, y, rest, scale, extra)

    wrapped = symbolic_aware("scaled_sum_for_test", raw)
    assert inspect.signature(wrapped) == inspect.signature(raw)
    assert wrapped(1, 2, 3, scale=4, flag=True) == (1, 2, (3,), 4, {"flag": True})
    np.testing.assert_allclose(wrapped(gk.constant(1.0), 2.0, scale=3.0).numpy(), 9.0)
    x = gk.Input((2,))
    y = wrapped(x, 1.0, scale=3.0)
    layer = producer(y)
    assert type(layer).__name__ == "ScaledSumForTest" and layer.get_config()["scale"] == 3.0
    np.testing.assert_allclose(gk.Model(x, y)(np.ones((1, 2), "float32")).numpy(), [[6.0, 6.0]])


def test_python_functions_of_gk_ops_record_their_ops():
    def swishy(t):
        return t * gk.ops.sigmoid(t)

    x = gk.Input((3,))
    y = swishy(x)
    assert [type(producer(y)).__name__, type(producer(producer(y)._inbound_nodes[0].input_tensors[1])).__name__] \
        == ["Multiply", "Sigmoid"]
