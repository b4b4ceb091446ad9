"""Built-in layers (core, reshaping, merging, normalization) against independent references.

Forward values are compared with formulas and loops written here in numpy (and PyTorch where it
is natural); gradients with respect to inputs and weights with float64 central differences;
parameter counts with the numbers Keras 3 reports; configs round-trip through from_config.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import graphkit as gk
from gradcheck import BACKENDS, check_backward_dtypes, check_gradients
from graphkit import layers as L

RNG = np.random.default_rng(7)


def rand(*shape, dtype="float64"):
    return RNG.standard_normal(shape).astype(dtype)


# ------------------------------------------------------------------------- helpers
def layer_gradcheck(layer, x, call_kwargs=None, eps=1e-6, rtol=1e-5, atol=1e-7, seed=0):
    """Tape gradients of ``sum(layer(x) * w)`` w.r.t. the inputs and every trainable weight,
    against float64 central differences. ``x`` is an array or a list of arrays (merge layers)."""
    call_kwargs = call_kwargs or {}
    rng = np.random.default_rng(seed)
    multi = isinstance(x, list)
    arrays = [np.array(a, dtype=np.float64) for a in (x if multi else [x])]

    def run(values):
        tensors = [gk.constant(a, dtype="float64") for a in values]
        return tensors, layer(tensors if multi else tensors[0], **call_kwargs)

    tensors, _ = run(arrays)  # build
    with gk.GradientTape() as tape:
        tape.watch(tensors)
        out = layer(tensors if multi else tensors[0], **call_kwargs)
    assert out.dtype == np.float64
    w = rng.standard_normal(out.shape)
    weights = layer.trainable_weights
    analytic = tape.gradient(out, [*tensors, *weights], output_gradients=w)

    def objective():
        with gk.no_grad():
            return float(np.sum(run(arrays)[1].numpy() * w))

    def numeric(array):
        grad = np.zeros_like(array)
        for j in np.ndindex(array.shape):
            original = array[j]
            array[j] = original + eps
            plus = objective()
            array[j] = original - eps
            minus = objective()
            array[j] = original
            grad[j] = (plus - minus) / (2 * eps)
        return grad

    targets = arrays + [v.data for v in weights]
    names = [f"input {i}" for i in range(len(arrays))] + [v.name for v in weights]
    assert all(isinstance(t, np.ndarray) for t in targets)
    for name, a, target in zip(names, analytic, targets):
        assert a is not None, f"no gradient for {name}"
        np.testing.assert_allclose(a.numpy(), numeric(target), rtol=rtol, atol=atol, err_msg=f"gradient of {name}")
    return analytic


def roundtrip(layer):
    """get_config -> from_config -> get_config gives the same dict (JSON-ready unless a Lambda)."""
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    return config, clone


def symbolic_shape(layer, *shape, dtype="float32"):
    return layer(gk.Input(shape, dtype=dtype)).shape


# ======================================================================= Dropout
def test_dropout_is_identity_unless_training():
    x = rand(4, 5, dtype="float32")
    layer = L.Dropout(0.5)
    for kwargs in ({}, {"training": False}, {"training": None}):
        np.testing.assert_array_equal(layer(x, **kwargs).numpy(), x)
    assert L.Dropout(0.0)(x, training=True).numpy().tolist() == x.tolist()
    np.testing.assert_array_equal(L.Dropout(1.0)(x, training=True).numpy(), np.zeros_like(x))


def test_dropout_training_zeroes_and_scales():
    x = np.ones((200, 500), dtype="float32")
    out = L.Dropout(0.3)(x, training=True).numpy()
    assert out.dtype == np.float32
    kept = out != 0
    np.testing.assert_allclose(out[kept], 1 / 0.7, rtol=1e-6)
    assert abs(1 - kept.mean() - 0.3) < 0.01
    assert abs(out.mean() - 1.0) < 0.02  # inverted dropout keeps the expectation


def test_dropout_gradient_is_the_scaled_mask():
    x = rand(6, 7) + 3.0  # no zeros
    xt = gk.constant(x, dtype="float64")
    with gk.GradientTape() as tape:
        tape.watch(xt)
        out = L.Dropout(0.4, dtype="float64")(xt, training=True)
    g = tape.gradient(out, xt).numpy()
    mask = out.numpy() != 0
    np.testing.assert_allclose(g, mask / 0.6)
    np.testing.assert_allclose(out.numpy(), x * mask / 0.6)


def test_dropout_noise_shape_shares_the_mask():
    x = np.ones((3, 50, 4), dtype="float32")
    out = L.Dropout(0.5, noise_shape=(None, 1, 4))(x, training=True).numpy()
    assert (out == out[:, :1, :]).all()
    assert 0 < (out == 0).mean() < 1
    with pytest.raises(ValueError, match="Dropout 'dropout_1'.*noise_shape"):
        L.Dropout(0.5, noise_shape=(None, 3, 4))(x, training=True)


def test_dropout_seeds():
    x = np.ones((8, 32), dtype="float32")
    a, b = L.Dropout(0.5, seed=3), L.Dropout(0.5, seed=3)
    first = a(x, training=True).numpy()
    np.testing.assert_array_equal(first, b(x, training=True).numpy())
    assert not np.array_equal(first, a(x, training=True).numpy())  # the seeded generator moves on
    gk.random.set_seed(11)
    c = L.Dropout(0.5)(x, training=True).numpy()
    gk.random.set_seed(11)
    np.testing.assert_array_equal(c, L.Dropout(0.5)(x, training=True).numpy())


def test_dropout_training_flag_reaches_it_inside_models():
    inputs = gk.Input((16,))
    model = gk.Model(inputs, L.Dropout(0.5)(L.Dense(16, kernel_initializer="ones")(inputs)))
    x = np.ones((4, 16), dtype="float32")
    np.testing.assert_allclose(model(x).numpy(), 16.0)
    trained = model(x, training=True).numpy()
    assert set(np.unique(trained)) <= {0.0, 32.0} and (trained == 0).any()


def test_dropout_config_and_errors():
    layer = L.Dropout(0.25, noise_shape=(None, 1), seed=5, name="drop")
    config, _ = roundtrip(layer)
    assert config == {"name": "drop", "trainable": True, "dtype": "float32", "rate": 0.25, "seed": 5,
                      "noise_shape": [None, 1]}
    json.dumps(config)
    assert symbolic_shape(L.Dropout(0.1), 3, 4) == (None, 3, 4)
    for rate in (-0.1, 1.5, "x"):
        with pytest.raises(ValueError, match="rate"):
            L.Dropout(rate)
    layer = L.Dropout(0.5)
    layer(gk.Input((3,)))
    assert layer.count_params() == 0


# ======================================================================= Lambda
def test_lambda_forward_arguments_and_shapes():
    layer = L.Lambda(lambda x, power: x ** power, arguments={"power": 3})
    x = rand(2, 3, dtype="float32")
    np.testing.assert_allclose(layer(x).numpy(), x ** 3, rtol=1e-6)
    assert symbolic_shape(L.Lambda(lambda x: x[:, :2] * 2), 5) == (None, 2)  # dry run
    assert symbolic_shape(L.Lambda(lambda x: x, output_shape=(7,)), 5) == (None, 7)
    assert symbolic_shape(L.Lambda(lambda x: x, output_shape=lambda s: (s[0], 9)), 5) == (None, 9)
    concat = L.Lambda(lambda xs: gk.ops.concatenate(xs, axis=-1))
    assert concat([gk.Input((2,)), gk.Input((3,))]).shape == (None, 5)


def test_lambda_training_mask_and_gradient():
    seen = {}

    def fn(x, training=None, mask=None):
        seen["training"], seen["mask"] = training, mask
        return gk.ops.tanh(x) * 2

    layer = L.Lambda(fn, mask=lambda inputs, mask: gk.ops.greater(inputs, 0)[:, 0])
    x = rand(3, 4)
    out = layer(gk.constant(x), training=True)
    assert seen["training"] is True
    np.testing.assert_array_equal(out._keras_mask.numpy(), x[:, 0] > 0)
    check_gradients(lambda t: L.Lambda(lambda v: gk.ops.tanh(v) * 2, dtype="float64")(t), x, backend=BACKENDS["numpy"])


def test_lambda_config_roundtrip_keeps_the_function():
    fn = lambda x, k: x * k  # noqa: E731
    layer = L.Lambda(fn, output_shape=(3,), arguments={"k": 2.0}, name="times")
    config, clone = roundtrip(layer)
    assert config["function"] is fn and config["output_shape"] == (3,) and config["arguments"] == {"k": 2.0}
    np.testing.assert_allclose(clone(np.ones((1, 3), "float32")).numpy(), 2.0)


# ======================================================================= Embedding
def test_embedding_forward_params_and_initializer():
    layer = L.Embedding(1000, 64)
    ids = RNG.integers(0, 1000, (4, 7))
    out = layer(ids)
    assert out.shape == (4, 7, 64) and out.dtype == np.float32
    table = layer.get_weights()[0]
    assert table.shape == (1000, 64) and np.abs(table).max() <= 0.05 and table.std() > 0.02
    np.testing.assert_array_equal(out.numpy(), table[ids])
    assert layer.count_params() == 64_000  # Keras: Embedding(1000, 64) has 64,000 params
    assert [w.name for w in layer.weights] == ["embedding/embeddings"]
    config = layer.get_config()
    assert config["embeddings_initializer"]["class_name"] == "RandomUniform"
    assert config["embeddings_initializer"]["config"] == {"minval": -0.05, "maxval": 0.05, "seed": None}
    # float ids are cast, as Keras does
    np.testing.assert_array_equal(layer(ids.astype("float32")).numpy(), table[ids])


def test_embedding_gradient_scatter_adds_repeated_ids():
    layer = L.Embedding(6, 3, dtype="float64")
    ids = np.array([[1, 2, 1], [5, 1, 0]])
    out_grad = rand(2, 3, 3)
    with gk.GradientTape() as tape:
        out = layer(ids)
    g = tape.gradient(out, layer.embeddings, output_gradients=out_grad).numpy()
    expected = np.zeros((6, 3))
    for (i, j), index in np.ndenumerate(ids):  # naive loop
        expected[index] += out_grad[i, j]
    np.testing.assert_allclose(g, expected)


def test_embedding_matches_torch():
    torch = pytest.importorskip("torch")
    table = rand(10, 4)
    ids = np.array([[0, 3, 3, 9], [2, 2, 1, 0]])
    layer = L.Embedding(10, 4, weights=table, dtype="float64")
    out_grad = rand(2, 4, 4)
    with gk.GradientTape() as tape:
        out = layer(ids)
    g = tape.gradient(out, layer.embeddings, output_gradients=out_grad).numpy()
    weight = torch.tensor(table, requires_grad=True)
    ref = torch.nn.functional.embedding(torch.tensor(ids), weight)
    ref.backward(torch.tensor(out_grad))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy())
    np.testing.assert_allclose(g, weight.grad.numpy())


def test_embedding_mask_zero_propagates():
    ids = np.array([[4, 2, 0, 0], [1, 0, 3, 0]])
    layer = L.Embedding(5, 3, mask_zero=True)
    out = layer(ids)
    np.testing.assert_array_equal(out._keras_mask.numpy(), ids != 0)
    assert getattr(L.Embedding(5, 3)(ids), "_keras_mask", None) is None
    # the mask survives layers that support masking, including inside a Functional model
    inputs = gk.Input((None,), dtype="int32")
    x = L.Embedding(5, 3, mask_zero=True)(inputs)
    x = L.Dropout(0.2)(x)
    x = L.Dense(2)(x)
    model = gk.Model(inputs, x)
    result = model(ids, training=True)
    np.testing.assert_array_equal(result._keras_mask.numpy(), ids != 0)


def test_embedding_errors_shapes_and_config():
    layer = L.Embedding(5, 3, name="emb")
    with pytest.raises(IndexError, match=r"Embedding 'emb'.*\[0, 5\)"):
        layer(np.array([[1, 5]]))
    with pytest.raises(IndexError, match="Embedding 'emb'"):
        layer(np.array([[-1, 2]]))
    with pytest.raises(ValueError, match="input_dim"):
        L.Embedding(0, 3)
    assert symbolic_shape(L.Embedding(100, 8), 10, dtype="int32") == (None, 10, 8)
    assert symbolic_shape(L.Embedding(100, 8), None, dtype="int32") == (None, None, 8)
    with pytest.warns(UserWarning, match="input_length"):
        L.Embedding(5, 3, input_length=4)
    config, _ = roundtrip(L.Embedding(7, 2, mask_zero=True, name="e"))
    assert {k for k in config} == {"name", "trainable", "dtype", "input_dim", "output_dim", "embeddings_initializer",
                                   "embeddings_regularizer", "activity_regularizer", "embeddings_constraint",
                                   "mask_zero"}
    json.dumps(config)


# ======================================================================= reshaping
def test_flatten():
    x = rand(2, 3, 4, 5, dtype="float32")
    np.testing.assert_array_equal(L.Flatten()(x).numpy(), x.reshape(2, 60))
    # channels_first moves the channel axis last before flattening (Keras)
    np.testing.assert_array_equal(L.Flatten(data_format="channels_first")(x).numpy(),
                                  np.transpose(x, (0, 2, 3, 1)).reshape(2, 60))
    np.testing.assert_array_equal(L.Flatten()(np.arange(3.0)).numpy(), [[0.0], [1.0], [2.0]])
    assert symbolic_shape(L.Flatten(), 4, 5, 6) == (None, 120)
    assert symbolic_shape(L.Flatten(), None, 3) == (None, None)
    layer_gradcheck(L.Flatten(dtype="float64"), rand(2, 3, 2))
    assert roundtrip(L.Flatten())[0]["data_format"] == "channels_last"


def test_reshape():
    x = rand(2, 12, dtype="float32")
    np.testing.assert_array_equal(L.Reshape((3, 4))(x).numpy(), x.reshape(2, 3, 4))
    np.testing.assert_array_equal(L.Reshape((-1, 2))(x).numpy(), x.reshape(2, 6, 2))
    assert symbolic_shape(L.Reshape((-1, 2)), 6) == (None, 3, 2)
    assert symbolic_shape(L.Reshape((4, 4, 1)), 16) == (None, 4, 4, 1)
    assert symbolic_shape(L.Reshape((-1, 2)), None) == (None, None, 2)
    with pytest.raises(ValueError, match=r"Reshape 'reshape_\d+'.*\(5,\).*target_shape \(2, 3\)"):
        L.Reshape((2, 3))(gk.Input((5,)))
    with pytest.raises(ValueError, match="Reshape.*not a multiple"):
        L.Reshape((-1, 4))(rand(2, 6))
    with pytest.raises(ValueError, match="at most one -1"):
        L.Reshape((-1, -1))
    layer_gradcheck(L.Reshape((2, -1), dtype="float64"), rand(2, 6))
    config, _ = roundtrip(L.Reshape((-1, 2)))
    assert config["target_shape"] == (-1, 2)


def test_permute():
    x = rand(2, 3, 4, 5, dtype="float32")
    np.testing.assert_array_equal(L.Permute((3, 1, 2))(x).numpy(), np.transpose(x, (0, 3, 1, 2)))
    assert symbolic_shape(L.Permute((2, 1)), 10, 64) == (None, 64, 10)
    with pytest.raises(ValueError, match="Permute.*permutation"):
        L.Permute((0, 1))
    with pytest.raises(ValueError, match=r"Permute 'permute_\d+' expected an input of rank 3"):
        L.Permute((2, 1))(rand(2, 3, 4, 5))
    layer_gradcheck(L.Permute((2, 3, 1), dtype="float64"), rand(2, 3, 2, 2))
    assert roundtrip(L.Permute((2, 1)))[0]["dims"] == (2, 1)


def test_repeat_vector():
    x = rand(2, 3, dtype="float32")
    out = L.RepeatVector(4)(x).numpy()
    assert out.shape == (2, 4, 3)
    for i in range(4):
        np.testing.assert_array_equal(out[:, i], x)
    assert symbolic_shape(L.RepeatVector(3), 32) == (None, 3, 32)
    layer_gradcheck(L.RepeatVector(3, dtype="float64"), rand(2, 3))
    assert roundtrip(L.RepeatVector(5))[0]["n"] == 5


def _nearest_reference(x, sh, sw):
    n, h, w, c = x.shape
    out = np.zeros((n, h * sh, w * sw, c), x.dtype)
    for i in range(h * sh):
        for j in range(w * sw):
            out[:, i, j] = x[:, i // sh, j // sw]
    return out


def test_upsampling2d_nearest():
    x = rand(2, 3, 4, 2, dtype="float32")
    np.testing.assert_array_equal(L.UpSampling2D((2, 3))(x).numpy(), _nearest_reference(x, 2, 3))
    np.testing.assert_array_equal(L.UpSampling2D(2)(x).numpy(), x.repeat(2, axis=1).repeat(2, axis=2))
    xc = np.transpose(x, (0, 3, 1, 2))
    np.testing.assert_array_equal(L.UpSampling2D((2, 3), data_format="channels_first")(xc).numpy(),
                                  np.transpose(_nearest_reference(x, 2, 3), (0, 3, 1, 2)))
    assert symbolic_shape(L.UpSampling2D((2, 3)), 4, 5, 3) == (None, 8, 15, 3)
    assert symbolic_shape(L.UpSampling2D(3), None, 5, 3) == (None, None, 15, 3)
    layer_gradcheck(L.UpSampling2D((2, 3), dtype="float64"), rand(1, 2, 2, 2))
    config, _ = roundtrip(L.UpSampling2D(3))
    assert config["size"] == (3, 3) and config["interpolation"] == "nearest"


def test_upsampling2d_bilinear_matches_torch():
    torch = pytest.importorskip("torch")
    x = rand(2, 3, 5, 2)
    out = L.UpSampling2D((2, 3), interpolation="bilinear", dtype="float64")(gk.constant(x, dtype="float64")).numpy()
    ref = torch.nn.functional.interpolate(torch.tensor(np.transpose(x, (0, 3, 1, 2))), scale_factor=(2, 3),
                                          mode="bilinear", align_corners=False)
    np.testing.assert_allclose(out, np.transpose(ref.numpy(), (0, 2, 3, 1)), rtol=1e-10, atol=1e-12)
    layer_gradcheck(L.UpSampling2D(2, interpolation="bilinear", dtype="float64"), rand(1, 2, 3, 2))
    with pytest.raises(ValueError, match="interpolation"):
        L.UpSampling2D(interpolation="bicubic")


def test_zero_padding2d():
    x = rand(2, 3, 4, 2, dtype="float32")
    out = L.ZeroPadding2D(((1, 2), (3, 0)))(x).numpy()
    expected = np.zeros((2, 6, 7, 2), np.float32)
    expected[:, 1:4, 3:7] = x
    np.testing.assert_array_equal(out, expected)
    assert L.ZeroPadding2D(1)(x).shape == (2, 5, 6, 2)
    assert L.ZeroPadding2D((2, 1))(x).shape == (2, 7, 6, 2)
    assert L.ZeroPadding2D((1, 2), data_format="channels_first")(x).shape == (2, 3, 6, 6)
    assert symbolic_shape(L.ZeroPadding2D(((1, 2), (3, 4))), 4, 5, 3) == (None, 7, 12, 3)
    with pytest.raises(ValueError, match="ZeroPadding2D.*padding"):
        L.ZeroPadding2D((1, 2, 3))
    layer_gradcheck(L.ZeroPadding2D(((0, 1), (1, 1)), dtype="float64"), rand(1, 2, 2, 2))
    config, _ = roundtrip(L.ZeroPadding2D(2))
    assert config["padding"] == ((2, 2), (2, 2))
    json.dumps(config)


def test_cropping2d():
    x = rand(2, 6, 7, 2, dtype="float32")
    np.testing.assert_array_equal(L.Cropping2D(((1, 2), (3, 0)))(x).numpy(), x[:, 1:4, 3:7])
    np.testing.assert_array_equal(L.Cropping2D(1)(x).numpy(), x[:, 1:5, 1:6])
    np.testing.assert_array_equal(L.Cropping2D((2, 1))(x).numpy(), x[:, 2:4, 1:6])
    xc = rand(2, 2, 6, 7, dtype="float32")
    np.testing.assert_array_equal(L.Cropping2D(1, data_format="channels_first")(xc).numpy(), xc[:, :, 1:5, 1:6])
    assert symbolic_shape(L.Cropping2D(((1, 0), (2, 1))), 28, 28, 3) == (None, 27, 25, 3)
    with pytest.raises(ValueError, match=r"Cropping2D 'cropping2d_\d+'.*\(None, 3, 3, 1\)"):
        L.Cropping2D(((1, 2), (0, 0)))(gk.Input((3, 3, 1)))
    layer_gradcheck(L.Cropping2D(((1, 0), (0, 1)), dtype="float64"), rand(1, 3, 3, 2))
    assert roundtrip(L.Cropping2D(1))[0]["cropping"] == ((1, 1), (1, 1))


def test_reshaping_layers_have_no_weights():
    x = gk.Input((4, 4, 2))
    for layer in (L.Flatten(), L.Reshape((32,)), L.Permute((3, 1, 2)), L.UpSampling2D(), L.ZeroPadding2D(),
                  L.Cropping2D(1)):
        layer(x)
        assert layer.count_params() == 0 and layer.weights == []


# ======================================================================= merging
MERGES = [
    (L.Add, lambda xs: sum(xs)),
    (L.Multiply, lambda xs: np.prod(xs, axis=0)),
    (L.Average, lambda xs: sum(xs) / len(xs)),
    (L.Maximum, lambda xs: np.max(xs, axis=0)),
    (L.Minimum, lambda xs: np.min(xs, axis=0)),
]


@pytest.mark.parametrize("cls,reference", MERGES, ids=lambda v: getattr(v, "__name__", ""))
def test_elementwise_merges(cls, reference):
    xs = [rand(3, 4, dtype="float32") for _ in range(3)]
    np.testing.assert_allclose(cls()(xs).numpy(), reference(xs), rtol=1e-6)
    # broadcasting of size-1 dims, and a lower-rank input gains axes after the batch axis
    a, b = rand(2, 3, dtype="float32"), rand(2, 1, dtype="float32")
    np.testing.assert_allclose(cls()([a, b]).numpy(), reference(np.broadcast_arrays(a, b)), rtol=1e-6)
    c = rand(2, 4, 3, dtype="float32")
    np.testing.assert_allclose(cls()([a, c]).numpy(), reference(np.broadcast_arrays(a[:, None, :], c)), rtol=1e-6)
    assert cls()([gk.Input((4,)), gk.Input((4,))]).shape == (None, 4)
    assert cls()([gk.Input((5, 1)), gk.Input((5, 3))]).shape == (None, 5, 3)
    assert cls()([gk.Input((3,)), gk.Input((4, 3))]).shape == (None, 4, 3)
    functional = getattr(L, cls.__name__.lower())
    out = functional([gk.Input((2,)), gk.Input((2,))], name=f"my_{cls.__name__.lower()}")
    assert out.shape == (None, 2) and out._keras_history[0].name == f"my_{cls.__name__.lower()}"
    assert roundtrip(cls(name="m"))[0] == {"name": "m", "trainable": True, "dtype": "float32"}
    distinct = RNG.permutation(18).reshape(3, 2, 3) * 0.1  # no ties for maximum/minimum
    layer_gradcheck(cls(dtype="float64"), [distinct[0], distinct[1], distinct[2]])
    layer_gradcheck(cls(dtype="float64"), [distinct[0], distinct[1][:, :1] + 5.0])


def test_subtract_takes_exactly_two():
    a, b = rand(2, 3, dtype="float32"), rand(2, 3, dtype="float32")
    np.testing.assert_allclose(L.Subtract()([a, b]).numpy(), a - b)
    np.testing.assert_allclose(L.subtract([a, b]).numpy(), a - b)
    with pytest.raises(ValueError, match=r"Subtract 'subtract_\d+' should be called on exactly 2 inputs; got 3"):
        L.Subtract()([a, b, a])
    with pytest.raises(ValueError, match="Subtract.*exactly 2"):
        L.Subtract()([gk.Input((3,))] * 3)
    layer_gradcheck(L.Subtract(dtype="float64"), [rand(2, 3), rand(2, 1)])


def test_merge_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"Add 'add' cannot merge inputs of shapes \(None, 3\), \(None, 4\)"):
        L.Add()([gk.Input((3,)), gk.Input((4,))])
    with pytest.raises(ValueError, match=r"Add 'add_1' cannot merge inputs of shapes \(2, 3\), \(2, 4\)"):
        L.Add()([rand(2, 3), rand(2, 4)])
    layer = L.Multiply(name="mul")
    layer([rand(2, 3), rand(2, 3)])
    with pytest.raises(ValueError, match=r"Multiply 'mul' cannot merge inputs of shapes \(2, 3\), \(2, 5\)"):
        layer([rand(2, 3), rand(2, 5)])  # checked on every call, not only when built
    with pytest.raises(ValueError, match="Average 'average' cannot merge tensors with different batch sizes"):
        L.Average()([rand(2, 3), rand(3, 3)])
    with pytest.raises(ValueError, match="Maximum 'maximum' should be called on a list of inputs"):
        L.Maximum()(rand(2, 3))


def test_concatenate():
    a, b, c = rand(2, 3, 4, dtype="float32"), rand(2, 5, 4, dtype="float32"), rand(2, 3, 1, dtype="float32")
    np.testing.assert_array_equal(L.Concatenate(axis=1)([a, b]).numpy(), np.concatenate([a, b], axis=1))
    np.testing.assert_array_equal(L.concatenate([a, c]).numpy(), np.concatenate([a, c], axis=-1))
    assert L.Concatenate(axis=1)([gk.Input((2, 3)), gk.Input((4, 3))]).shape == (None, 6, 3)
    assert L.concatenate([gk.Input((None, 3)), gk.Input((None, 2))]).shape == (None, None, 5)
    assert L.concatenate([gk.Input((128,)), gk.Input((32,)), gk.Input((12,))]).shape == (None, 172)
    with pytest.raises(ValueError, match=r"Concatenate 'concatenate_\d+' requires inputs with matching shapes.*"
                                         r"\(None, 2, 3\), \(None, 4, 5\)"):
        L.Concatenate(axis=1)([gk.Input((2, 3)), gk.Input((4, 5))])
    with pytest.raises(ValueError, match="Concatenate.*one rank"):
        L.concatenate([rand(2, 3), rand(2, 3, 1)])
    config, _ = roundtrip(L.Concatenate(axis=1, name="cat"))
    assert config == {"name": "cat", "trainable": True, "dtype": "float32", "axis": 1}
    layer_gradcheck(L.Concatenate(axis=1, dtype="float64"), [rand(2, 1, 2), rand(2, 3, 2)])


def test_merge_masks():
    ids_a = np.array([[1, 2, 0], [3, 0, 0]])
    ids_b = np.array([[1, 0, 2], [3, 3, 3]])
    emb = L.Embedding(5, 2, mask_zero=True)
    ea, eb = emb(ids_a), emb(ids_b)
    plain = gk.constant(rand(2, 3, 2, dtype="float32"))
    for cls in (L.Add, L.Subtract, L.Multiply, L.Average, L.Maximum, L.Minimum):
        out = cls()([ea, eb])
        np.testing.assert_array_equal(out._keras_mask.numpy(), (ids_a != 0) & (ids_b != 0))
    # an input without a mask does not restrict the others
    np.testing.assert_array_equal(L.Add()([ea, plain])._keras_mask.numpy(), ids_a != 0)
    assert getattr(L.Add()([plain, plain]), "_keras_mask", None) is None
    # Concatenate (Keras 3): masks expanded to the inputs, concatenated, reduced with any() over the last axis
    np.testing.assert_array_equal(L.concatenate([ea, plain])._keras_mask.numpy(), np.ones((2, 3), bool))
    time_cat = L.Concatenate(axis=1)([ea, eb])._keras_mask.numpy()
    np.testing.assert_array_equal(time_cat, np.concatenate([ids_a != 0, ids_b != 0], axis=1))


# ======================================================================= BatchNormalization
def bn_reference(x, gamma, beta, axis, eps):
    """Training-mode batch norm, written out per channel (biased variance)."""
    moved = np.moveaxis(x, axis, -1)
    out = np.empty_like(moved)
    means, variances = [], []
    for c in range(moved.shape[-1]):
        values = moved[..., c]
        mean = values.sum() / values.size
        var = ((values - mean) ** 2).sum() / values.size
        out[..., c] = (values - mean) / np.sqrt(var + eps) * gamma[c] + beta[c]
        means.append(mean)
        variances.append(var)
    return np.moveaxis(out, -1, axis), np.array(means), np.array(variances)


def test_batchnorm_weights_and_param_counts():
    layer = L.BatchNormalization()
    layer(gk.Input((32,)))
    assert layer.count_params() == 128 and sum(w.size for w in layer.trainable_weights) == 64
    assert [w.name for w in layer.weights] == ["batch_normalization/gamma", "batch_normalization/beta",
                                               "batch_normalization/moving_mean",
                                               "batch_normalization/moving_variance"]
    assert [w.trainable for w in layer.weights] == [True, True, False, False]
    conv_bn = L.BatchNormalization()
    assert conv_bn(gk.Input((8, 8, 16))).shape == (None, 8, 8, 16)
    assert conv_bn.count_params() == 64
    no_affine = L.BatchNormalization(center=False, scale=False)
    no_affine(gk.Input((5,)))
    assert [w.name.split("/")[-1] for w in no_affine.weights] == ["moving_mean", "moving_variance"]
    assert no_affine.trainable_weights == []
    only_scale = L.BatchNormalization(center=False)
    only_scale(gk.Input((5,)))
    assert [w.name.split("/")[-1] for w in only_scale.weights] == ["gamma", "moving_mean", "moving_variance"]


@pytest.mark.parametrize("shape,axis", [((6, 4), -1), ((3, 2, 2, 3), -1), ((2, 3, 2, 2), 1)])
def test_batchnorm_training_forward_and_moving_update(shape, axis):
    x = rand(*shape, dtype="float32") * 3 + 1
    layer = L.BatchNormalization(axis=axis, momentum=0.9, epsilon=1e-3)
    layer.build(shape)
    channels = shape[axis]
    gamma, beta = rand(channels, dtype="float32"), rand(channels, dtype="float32")
    mm, mv = rand(channels, dtype="float32"), np.abs(rand(channels, dtype="float32")) + 0.5
    layer.set_weights([gamma, beta, mm, mv])
    out = layer(x, training=True)
    expected, mean, var = bn_reference(x.astype(np.float64), gamma, beta, axis % len(shape), 1e-3)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-4, atol=1e-5)
    assert out.dtype == np.float32
    np.testing.assert_allclose(layer.moving_mean.numpy(), mm * 0.9 + mean * 0.1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), mv * 0.9 + var * 0.1, rtol=1e-5, atol=1e-6)


def test_batchnorm_inference_uses_moving_statistics_and_changes_nothing():
    x = rand(5, 3, dtype="float32")
    layer = L.BatchNormalization(epsilon=1e-3)
    layer.build((None, 3))
    weights = [rand(3, dtype="float32"), rand(3, dtype="float32"), rand(3, dtype="float32"),
               np.abs(rand(3, dtype="float32")) + 0.1]
    layer.set_weights(weights)  # Keras order: gamma, beta, moving_mean, moving_variance
    gamma, beta, mm, mv = weights
    expected = (x - mm) / np.sqrt(mv + 1e-3) * gamma + beta
    for kwargs in ({}, {"training": False}, {"training": None}):
        np.testing.assert_allclose(layer(x, **kwargs).numpy(), expected, rtol=1e-5, atol=1e-6)
    for before, after in zip(weights, layer.get_weights()):
        np.testing.assert_array_equal(before, after)
    layer(x, training=True)
    assert not np.allclose(layer.get_weights()[2], mm) and not np.allclose(layer.get_weights()[3], mv)


def test_batchnorm_frozen_runs_in_inference_mode():
    layer = L.BatchNormalization()
    x = rand(4, 3, dtype="float32") * 5 + 2
    layer(x)
    layer.trainable = False
    before = layer.get_weights()
    out = layer(x, training=True)
    np.testing.assert_allclose(out.numpy(), x / np.sqrt(1 + 1e-3), rtol=1e-5)
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4


def test_batchnorm_training_flag_inside_models():
    inputs = gk.Input((3,))
    bn = L.BatchNormalization(momentum=0.5)
    model = gk.Model(inputs, bn(L.Dense(3, kernel_initializer="identity")(inputs)))
    x = rand(8, 3, dtype="float32") + 4
    model(x)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), 0)
    model(x, training=True)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.5 * x.mean(axis=0), rtol=1e-5)


def test_batchnorm_matches_torch():
    torch = pytest.importorskip("torch")
    x = rand(4, 3, 5, 5)  # NCHW for torch, axis=1 here
    gamma, beta = rand(3), rand(3)
    layer = L.BatchNormalization(axis=1, momentum=0.99, epsilon=1e-3, dtype="float64")
    layer.build(x.shape)
    layer.set_weights([gamma, beta, np.zeros(3), np.ones(3)])
    out_grad = rand(*x.shape)
    xt = gk.constant(x, dtype="float64")
    with gk.GradientTape() as tape:
        tape.watch(xt)
        out = layer(xt, training=True)
    gx, ggamma, gbeta = tape.gradient(out, [xt, layer.gamma, layer.beta], output_gradients=out_grad)

    tx = torch.tensor(x, requires_grad=True)
    tg, tb = torch.tensor(gamma, requires_grad=True), torch.tensor(beta, requires_grad=True)
    running_mean, running_var = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    ref = torch.nn.functional.batch_norm(tx, running_mean, running_var, tg, tb, training=True, momentum=0.01,
                                         eps=1e-3)
    ref.backward(torch.tensor(out_grad))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx.numpy(), tx.grad.numpy(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(ggamma.numpy(), tg.grad.numpy(), rtol=1e-8)
    np.testing.assert_allclose(gbeta.numpy(), tb.grad.numpy(), rtol=1e-8)
    np.testing.assert_allclose(layer.moving_mean.numpy(), running_mean.numpy(), rtol=1e-10)
    # torch's running variance uses the unbiased batch variance; Keras (and graphkit) the biased one
    n = x.size // 3
    biased = x.transpose(1, 0, 2, 3).reshape(3, -1).var(axis=1)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.99 + 0.01 * biased, rtol=1e-10)
    np.testing.assert_allclose(running_var.numpy(), 0.99 + 0.01 * biased * n / (n - 1), rtol=1e-10)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("center,scale", [(True, True), (False, True), (True, False), (False, False)])
def test_batchnorm_gradients(training, center, scale):
    layer = L.BatchNormalization(center=center, scale=scale, dtype="float64")
    layer.build((None, 3))
    layer.set_weights([rand(3) for _ in range(center + scale)] + [rand(3), np.abs(rand(3)) + 0.5])
    layer_gradcheck(layer, rand(5, 3), call_kwargs={"training": training})


def test_batchnorm_gradients_4d_channel_axis():
    layer = L.BatchNormalization(axis=1, dtype="float64")
    layer.build((None, 2, 3, 2))
    layer.set_weights([rand(2), rand(2), np.zeros(2), np.ones(2)])
    layer_gradcheck(layer, rand(2, 2, 3, 2), call_kwargs={"training": True})


def test_batchnorm_fused_primitive_gradients_of_all_outputs():
    from graphkit.layers.normalization import _batch_norm_train_p

    def f(x, gamma, beta):
        return list(_batch_norm_train_p.apply(x, gamma, beta, axes=(0, 1), shape=(1, 1, 3), scale=True,
                                              center=True, epsilon=1e-3))

    for backend in BACKENDS.values():  # y, batch mean and batch variance all differentiated
        check_gradients(f, rand(3, 2, 3), rand(3), rand(3), backend=backend)
    check_backward_dtypes(f, rand(3, 2, 3), rand(3), rand(3), backend=BACKENDS["numpy"])


def test_batchnorm_masked_training_statistics():
    x = rand(2, 4, 3, dtype="float32")
    mask = np.array([[True, True, False, True], [False, True, True, False]])
    layer = L.BatchNormalization(momentum=0.0)
    layer(x, training=True, mask=gk.constant(mask))
    chosen = x[mask]  # (5, 3): only unmasked time steps count
    np.testing.assert_allclose(layer.moving_mean.numpy(), chosen.mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), chosen.var(axis=0), rtol=1e-4, atol=1e-6)
    # a mask coming from an Embedding is used automatically
    ids = np.array([[1, 2, 0], [3, 0, 0]])
    emb = L.Embedding(4, 2, mask_zero=True)
    bn = L.BatchNormalization(momentum=0.0)
    out = bn(emb(ids), training=True)
    np.testing.assert_allclose(bn.moving_mean.numpy(), emb.get_weights()[0][ids[ids != 0]].mean(axis=0), rtol=1e-5)
    np.testing.assert_array_equal(out._keras_mask.numpy(), ids != 0)


def test_batchnorm_config_and_errors():
    layer = L.BatchNormalization(axis=1, momentum=0.9, epsilon=1e-5, center=False, name="bn",
                                 gamma_initializer="zeros")
    config, clone = roundtrip(layer)
    assert set(config) == {"name", "trainable", "dtype", "axis", "momentum", "epsilon", "center", "scale",
                           "beta_initializer", "gamma_initializer", "moving_mean_initializer",
                           "moving_variance_initializer", "beta_regularizer", "gamma_regularizer",
                           "beta_constraint", "gamma_constraint", "synchronized"}
    assert config["axis"] == 1 and config["momentum"] == 0.9 and config["gamma_initializer"]["class_name"] == "Zeros"
    json.dumps(config)
    built = L.BatchNormalization(name="bn2")
    built(gk.Input((4,)))
    with pytest.raises(ValueError, match=r"BatchNormalization 'bn2' expected last dim 4, got 5"):
        built(rand(2, 5, dtype="float32"))
    with pytest.raises(NotImplementedError, match="gamma_regularizer"):
        L.BatchNormalization(gamma_regularizer="l2")


# ======================================================================= LayerNormalization
def ln_reference(x, gamma, beta, axes, eps):
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def test_layernorm_forward_params_and_config():
    layer = L.LayerNormalization()
    assert layer(gk.Input((10, 64))).shape == (None, 10, 64)
    assert layer.count_params() == 128  # Keras: LayerNormalization on 64 features
    assert [w.name for w in layer.weights] == ["layer_normalization/gamma", "layer_normalization/beta"]
    x = rand(2, 10, 64, dtype="float32") * 2 + 1
    gamma, beta = rand(64, dtype="float32"), rand(64, dtype="float32")
    layer.set_weights([gamma, beta])
    np.testing.assert_allclose(layer(x).numpy(), ln_reference(x.astype(np.float64), gamma, beta, -1, 1e-3),
                               rtol=1e-4, atol=1e-5)
    config, _ = roundtrip(layer)
    assert config["axis"] == [-1]  # an int axis becomes a list once built, as in Keras
    assert set(config) == {"name", "trainable", "dtype", "axis", "epsilon", "center", "scale", "rms_scaling",
                           "beta_initializer", "gamma_initializer", "beta_regularizer", "gamma_regularizer",
                           "beta_constraint", "gamma_constraint"}
    json.dumps(config)
    assert L.LayerNormalization(axis=1).get_config()["axis"] == 1


def test_layernorm_multiple_axes():
    x = rand(2, 3, 4, 5)
    layer = L.LayerNormalization(axis=[1, 2], dtype="float64")
    layer.build(x.shape)
    assert layer.gamma.shape == (3, 4) and layer.count_params() == 24
    gamma, beta = rand(3, 4), rand(3, 4)
    layer.set_weights([gamma, beta])
    expected = ln_reference(x, gamma[..., None], beta[..., None], (1, 2), 1e-3)
    np.testing.assert_allclose(layer(gk.constant(x, dtype="float64")).numpy(), expected, rtol=1e-10)
    layer_gradcheck(layer, rand(2, 3, 4, 2))


def test_layernorm_matches_torch():
    torch = pytest.importorskip("torch")
    x, gamma, beta = rand(3, 4, 6), rand(6), rand(6)
    layer = L.LayerNormalization(epsilon=1e-5, dtype="float64")
    layer.build(x.shape)
    layer.set_weights([gamma, beta])
    out_grad = rand(3, 4, 6)
    xt = gk.constant(x, dtype="float64")
    with gk.GradientTape() as tape:
        tape.watch(xt)
        out = layer(xt)
    grads = tape.gradient(out, [xt, layer.gamma, layer.beta], output_gradients=out_grad)
    tx, tg, tb = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    ref = torch.nn.functional.layer_norm(tx, (6,), tg, tb, eps=1e-5)
    ref.backward(torch.tensor(out_grad))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    for mine, theirs in zip(grads, (tx, tg, tb)):
        np.testing.assert_allclose(mine.numpy(), theirs.grad.numpy(), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("center,scale", [(True, True), (False, True), (True, False), (False, False)])
def test_layernorm_gradients(center, scale):
    layer = L.LayerNormalization(center=center, scale=scale, dtype="float64")
    layer.build((None, 2, 4))
    layer.set_weights([rand(4) for _ in range(center + scale)])
    layer_gradcheck(layer, rand(3, 2, 4))
    assert len(layer.weights) == center + scale


def test_layernorm_fused_primitive_dtypes_and_masks():
    from graphkit.layers.normalization import _layer_norm_p

    def f(x, gamma, beta):
        return _layer_norm_p.apply(x, gamma, beta, axes=(1,), shape=(1, 4), scale=True, center=True, epsilon=1e-3)

    for backend in BACKENDS.values():
        check_gradients(f, rand(3, 4), rand(4), rand(4), backend=backend)
    check_backward_dtypes(f, rand(3, 4), rand(4), rand(4), backend=BACKENDS["numpy"])
    ids = np.array([[1, 0]])
    out = L.LayerNormalization()(L.Embedding(3, 4, mask_zero=True)(ids))
    np.testing.assert_array_equal(out._keras_mask.numpy(), ids != 0)
    with pytest.raises(ValueError, match=r"LayerNormalization 'layer_normalization_\d+': axis 3 is out of range"):
        L.LayerNormalization(axis=3)(rand(2, 3))
    with pytest.raises(NotImplementedError, match="rms_scaling"):
        L.LayerNormalization(rms_scaling=True)


def test_default_names_follow_keras():
    assert [cls().name for cls in (L.Flatten, L.UpSampling2D, L.ZeroPadding2D, L.BatchNormalization,
                                   L.LayerNormalization)] == \
        ["flatten", "up_sampling2d", "zero_padding2d", "batch_normalization", "layer_normalization"]
    assert L.Cropping2D().name == "cropping2d" and L.RepeatVector(2).name == "repeat_vector"


JSON_LAYERS = [
    lambda: L.Dropout(0.3, noise_shape=(None, 1), seed=2), lambda: L.Embedding(9, 4, mask_zero=True),
    lambda: L.Flatten(data_format="channels_first"), lambda: L.Reshape((-1, 3)), lambda: L.Permute((2, 1)),
    lambda: L.RepeatVector(4), lambda: L.UpSampling2D((2, 3), interpolation="bilinear"),
    lambda: L.ZeroPadding2D(((1, 2), (3, 4))), lambda: L.Cropping2D((1, 2)), lambda: L.Add(), lambda: L.Subtract(),
    lambda: L.Multiply(), lambda: L.Average(), lambda: L.Maximum(), lambda: L.Minimum(), lambda: L.Concatenate(1),
    lambda: L.BatchNormalization(axis=1, momentum=0.5, center=False), lambda: L.LayerNormalization(axis=[1, 2]),
]


@pytest.mark.parametrize("make", JSON_LAYERS)
def test_configs_survive_json(make):
    layer = make()
    text = json.dumps(layer.get_config())
    clone = type(layer).from_config(json.loads(text))
    assert json.dumps(clone.get_config()) == text and clone.name == layer.name
