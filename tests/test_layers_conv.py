"""Convolution and pooling layers against Keras 3's numbers and PyTorch's functional ops.

Forward values are compared with ``torch.nn.functional`` (weights converted from the Keras
layouts and set with ``set_weights``; TF's asymmetric "same" padding done with ``F.pad``),
gradients w.r.t. inputs and weights with float64 central differences, parameter counts and
output shapes with what Keras 3 reports, and configs round-trip through JSON and from_config.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import graphkit as gk
from graphkit import examples
from graphkit import layers as L

RNG = np.random.default_rng(11)


def rand(*shape, dtype="float64"):
    return RNG.standard_normal(shape).astype(dtype)


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))


# ----------------------------------------------------------------------- references
def same_pads(n, k, s, d=1):
    """TensorFlow's "same" padding of one spatial dim: (before, after), the odd cell after."""
    k_eff = (k - 1) * d + 1
    total = max((-(-n // s) - 1) * s + k_eff - n, 0)
    return total // 2, total - total // 2


def tf_pad(x, kernel_size, strides, dilation, padding):
    """Pad the spatial dims of an NC* torch tensor as TF's padding mode does."""
    if padding == "valid":
        return x
    spatial = x.shape[2:]
    if padding == "causal":
        pairs = [((kernel_size[0] - 1) * dilation[0], 0)]
    else:
        pairs = [same_pads(n, k, s, d) for n, k, s, d in zip(spatial, kernel_size, strides, dilation)]
    flat = [v for pair in reversed(pairs) for v in pair]  # F.pad: last dim first
    return F.pad(x, flat)


def to_nc(x):  # channels-last numpy -> channels-first torch
    return t(np.moveaxis(x, -1, 1))


def from_nc(y):
    return np.moveaxis(y.detach().numpy(), 1, -1)


def ref_conv(x, kernel, bias, strides, padding, dilation, groups):
    """Keras kernel (*k, in/groups, out) -> torch weight (out, in/groups, *k)."""
    rank = x.ndim - 2
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[rank]
    w = np.moveaxis(np.moveaxis(kernel, -1, 0), -1, 1)
    xp = tf_pad(to_nc(x), kernel.shape[:-2], strides, dilation, padding)
    y = conv(xp, t(w), None if bias is None else t(bias), stride=strides, dilation=dilation, groups=groups)
    return from_nc(y)


def ref_conv_transpose(x, kernel, bias, strides, padding, output_padding, dilation):
    """Full scatter with torch (Keras kernel (*k, out, in) -> torch (in, out, *k)), then TF's crop."""
    rank = x.ndim - 2
    conv_t = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[rank]
    w = np.moveaxis(np.moveaxis(kernel, -1, 0), -1, 1)
    full = conv_t(to_nc(x), t(w), stride=strides, dilation=dilation)
    out = full
    for axis, (n, k, s, d) in enumerate(zip(x.shape[1:-1], kernel.shape[:-2], strides, dilation)):
        k_eff = (k - 1) * d + 1
        if output_padding is None:
            size = n * s + max(k_eff - s, 0) if padding == "valid" else n * s
        else:
            pad = k_eff // 2 if padding == "same" else 0
            size = (n - 1) * s + k_eff - 2 * pad + output_padding[axis]
        length = out.shape[2 + axis]
        before = 0 if padding == "valid" else max(length - size, 0) // 2
        out = out.narrow(2 + axis, before, min(size, length - before))
        missing = size - out.shape[2 + axis]
        if missing > 0:
            pad_spec = [0, 0] * (rank - 1 - axis) + [0, missing]
            out = F.pad(out, pad_spec)
    if bias is not None:
        out = out + t(bias).reshape(1, -1, *([1] * rank))
    return from_nc(out)


def ref_depthwise(x, kernel, bias, strides, padding, dilation):
    """Keras depthwise kernel (*k, C, dm) = torch grouped conv with groups=C, output c*dm + j."""
    *k, c, dm = kernel.shape
    grouped = kernel.reshape(*k, 1, c * dm)  # (*k, in/groups=1, out), out channel c*dm + j
    return ref_conv(x, grouped, bias, strides, padding, dilation, groups=c)


def ref_pool(x, mode, pool_size, strides, padding):
    rank = x.ndim - 2
    xt = to_nc(x)
    ones = (1,) * rank
    if mode == "max":
        fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[rank]
        if padding == "same":
            pairs = [same_pads(n, k, s) for n, k, s in zip(x.shape[1:-1], pool_size, strides)]
            xt = F.pad(xt, [v for pair in reversed(pairs) for v in pair], value=-np.inf)
        return from_nc(fn(xt, pool_size, strides))
    fn = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[rank]
    total = fn(tf_pad(xt, pool_size, strides, ones, padding), pool_size, strides)
    count = fn(tf_pad(torch.ones_like(xt), pool_size, strides, ones, padding), pool_size, strides)
    return from_nc(total / count)  # TF leaves padded cells out of the count


# ----------------------------------------------------------------------- helpers
def const(x):
    """A tensor keeping the array's dtype (plain float64 arrays would become float32 tensors)."""
    return gk.constant(x, dtype=str(np.asarray(x).dtype))


def run_layer(layer, x, weights=None):
    """Build ``layer`` on ``x``, optionally set its weights, and return the output as numpy."""
    x = const(x)
    layer(x)
    if weights is not None:
        layer.set_weights(weights)
    return layer(x).numpy()


def layer_gradcheck(layer, x, call_kwargs=None, eps=1e-6, rtol=1e-5, atol=1e-7, seed=0):
    """Tape gradients of ``sum(layer(x) * w)`` w.r.t. the input and every trainable weight against
    float64 central differences."""
    call_kwargs = call_kwargs or {}
    x = np.array(x, dtype=np.float64)
    xt = gk.constant(x, dtype="float64")
    layer(xt, **call_kwargs)  # build
    with gk.GradientTape() as tape:
        tape.watch(xt)
        out = layer(xt, **call_kwargs)
    assert out.dtype == np.float64
    w = np.random.default_rng(seed).standard_normal(out.shape)
    weights = layer.trainable_weights
    analytic = tape.gradient(out, [xt, *weights], output_gradients=w)

    def objective():
        with gk.no_grad():
            return float(np.sum(layer(gk.constant(x, dtype="float64"), **call_kwargs).numpy() * w))

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

    targets = [x] + [v.data for v in weights]
    names = ["input"] + [v.name for v in weights]
    for name, a, target in zip(names, analytic, targets):
        assert a is not None, f"no gradient for {name}"
        np.testing.assert_allclose(a.numpy(), numeric(target), rtol=rtol, atol=atol, err_msg=f"gradient of {name}")


def config_roundtrip(layer):
    """get_config -> JSON -> from_config -> get_config gives the same config."""
    config = layer.get_config()
    clone = type(layer).from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config
    return config


# ======================================================================= Keras guide models
def test_guide_models_parameter_counts_and_shapes():
    encoder = examples.conv_encoder()
    assert encoder.count_params() == 18_672
    assert [layer.count_params() for layer in encoder.layers] == [0, 160, 4_640, 0, 9_248, 4_624, 0]
    decoder = examples.conv_decoder()
    assert decoder.count_params() == 9_569
    assert [layer.count_params() for layer in decoder.layers] == [0, 0, 160, 4_640, 0, 4_624, 145]
    assert examples.conv_autoencoder().count_params() == 28_241
    resnet = examples.small_resnet()
    assert resnet.count_params() == 223_242
    assert [layer.count_params() for layer in resnet.layers if isinstance(layer, L.Conv2D)] == \
        [896, 18_496] + [36_928] * 5
    shapes = [(type(layer).__name__, layer.output.shape) for layer in resnet.layers]
    assert shapes[1:4] == [("Conv2D", (None, 30, 30, 32)), ("Conv2D", (None, 28, 28, 64)),
                           ("MaxPooling2D", (None, 9, 9, 64))]
    assert shapes[9:12] == [("Add", (None, 9, 9, 64)), ("Conv2D", (None, 7, 7, 64)),
                            ("GlobalAveragePooling2D", (None, 64))]
    out = resnet(np.random.rand(2, 32, 32, 3).astype("float32"))
    assert out.shape == (2, 10) and out.dtype == np.float32


# ======================================================================= weights
@pytest.mark.parametrize("make, input_shape, weights, params", [
    (lambda: L.Conv2D(8, 3), (10, 10, 4), [("kernel", (3, 3, 4, 8)), ("bias", (8,))], 296),
    (lambda: L.Conv2D(8, (2, 3), groups=2, use_bias=False), (10, 10, 4), [("kernel", (2, 3, 2, 8))], 96),
    (lambda: L.Conv1D(6, 5, padding="causal"), (20, 3), [("kernel", (5, 3, 6)), ("bias", (6,))], 96),
    (lambda: L.Conv3D(4, 2), (5, 5, 5, 2), [("kernel", (2, 2, 2, 2, 4)), ("bias", (4,))], 68),
    (lambda: L.Conv2DTranspose(5, 3), (4, 4, 2), [("kernel", (3, 3, 5, 2)), ("bias", (5,))], 95),
    (lambda: L.Conv1DTranspose(5, 4, strides=2), (6, 3), [("kernel", (4, 5, 3)), ("bias", (5,))], 65),
    (lambda: L.SeparableConv2D(16, 3, depth_multiplier=2), (10, 10, 3),
     [("depthwise_kernel", (3, 3, 3, 2)), ("pointwise_kernel", (1, 1, 6, 16)), ("bias", (16,))], 166),
    (lambda: L.SeparableConv1D(4, 3, use_bias=False), (9, 2),
     [("depthwise_kernel", (3, 2, 1)), ("pointwise_kernel", (1, 2, 4))], 14),
    (lambda: L.DepthwiseConv2D(3, depth_multiplier=2), (10, 10, 3), [("kernel", (3, 3, 3, 2)), ("bias", (6,))], 60),
    (lambda: L.DepthwiseConv1D(3), (9, 4), [("kernel", (3, 4, 1)), ("bias", (4,))], 16),
    (lambda: L.Conv2D(6, 3, data_format="channels_first"), (4, 8, 8), [("kernel", (3, 3, 4, 6)), ("bias", (6,))],
     222),
])
def test_weight_names_shapes_and_parameter_counts(make, input_shape, weights, params):
    layer = make()
    layer(gk.Input(input_shape))
    assert [(w.name.split("/")[-1], tuple(w.shape)) for w in layer.weights] == weights
    assert layer.count_params() == params
    assert all(w.trainable for w in layer.weights)


def test_glorot_uniform_kernel_and_zero_bias():
    layer = L.Conv2D(32, 3)
    layer(np.zeros((1, 8, 8, 16), "float32"))
    kernel, bias = layer.get_weights()
    limit = np.sqrt(6 / (3 * 3 * 16 + 3 * 3 * 32))  # Keras's fans count the receptive field
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    assert kernel.dtype == np.float32 and not bias.any()


# ======================================================================= output shapes
@pytest.mark.parametrize("make, input_shape, expected", [
    (lambda: L.Conv2D(8, 3), (None, None, 3), (None, None, None, 8)),
    (lambda: L.Conv2D(8, 3, strides=2, padding="same"), (7, 8, 3), (None, 4, 4, 8)),
    (lambda: L.Conv2D(8, 3, dilation_rate=2), (9, 10, 3), (None, 5, 6, 8)),
    (lambda: L.Conv2D(8, 3, data_format="channels_first"), (3, 9, None), (None, 8, 7, None)),
    (lambda: L.Conv1D(4, 3, padding="causal", dilation_rate=2), (10, 2), (None, 10, 4)),
    (lambda: L.Conv1D(4, 3, strides=2), (None, 2), (None, None, 4)),
    (lambda: L.Conv2DTranspose(4, 3), (5, 6, 2), (None, 7, 8, 4)),
    (lambda: L.Conv2DTranspose(4, 3, strides=2, padding="same"), (5, 6, 2), (None, 10, 12, 4)),
    (lambda: L.Conv2DTranspose(4, 2, strides=3), (5, 6, 2), (None, 15, 18, 4)),
    (lambda: L.Conv2DTranspose(4, 3, strides=2, output_padding=1), (5, None, 2), (None, 12, None, 4)),
    (lambda: L.Conv2DTranspose(4, 3, strides=2, padding="same", data_format="channels_first"), (2, 5, 6),
     (None, 4, 10, 12)),
    (lambda: L.DepthwiseConv2D(3, depth_multiplier=3, strides=2), (9, 9, 2), (None, 4, 4, 6)),
    (lambda: L.SeparableConv2D(5, 3, padding="same"), (6, 7, 2), (None, 6, 7, 5)),
    (lambda: L.MaxPooling2D(), (9, 8, 3), (None, 4, 4, 3)),
    (lambda: L.MaxPooling2D(3, strides=2, padding="same"), (9, None, 3), (None, 5, None, 3)),
    (lambda: L.AveragePooling1D(), (7, 3), (None, 3, 3)),
    (lambda: L.AveragePooling2D(2, data_format="channels_first"), (3, 8, 6), (None, 3, 4, 3)),
    (lambda: L.MaxPooling3D(), (4, 4, 4, 1), (None, 2, 2, 2, 1)),
    (lambda: L.GlobalMaxPooling1D(), (None, 5), (None, 5)),
    (lambda: L.GlobalAveragePooling2D(keepdims=True), (4, 4, 5), (None, 1, 1, 5)),
    (lambda: L.GlobalAveragePooling2D(data_format="channels_first"), (5, 4, 4), (None, 5)),
    (lambda: L.GlobalMaxPooling2D(data_format="channels_first", keepdims=True), (5, 4, 4), (None, 5, 1, 1)),
])
def test_output_shapes(make, input_shape, expected):
    layer = make()
    assert layer(gk.Input(input_shape)).shape == expected
    concrete = tuple(4 if d is None else d for d in (2, *input_shape))
    eager = layer(np.zeros(concrete, "float32")).shape
    assert len(eager) == len(expected)
    assert all(e is None or e == g for e, g in zip(expected[1:], eager[1:]))


# ======================================================================= forward vs torch
@pytest.mark.parametrize("rank, kwargs, shape", [
    (2, dict(kernel_size=3), (2, 7, 6, 3)),
    (2, dict(kernel_size=3, padding="same"), (2, 7, 6, 3)),
    (2, dict(kernel_size=(2, 4), strides=2, padding="same"), (2, 8, 9, 3)),   # asymmetric "same"
    (2, dict(kernel_size=3, strides=(2, 3), padding="same"), (1, 10, 11, 2)),
    (2, dict(kernel_size=3, dilation_rate=2, padding="same"), (2, 9, 8, 3)),
    (2, dict(kernel_size=3, groups=2, padding="same"), (2, 6, 6, 4)),
    (2, dict(kernel_size=2, groups=4), (2, 5, 5, 4)),                           # depthwise-like groups
    (1, dict(kernel_size=3, padding="causal", dilation_rate=2), (2, 11, 3)),
    (1, dict(kernel_size=4, strides=3, padding="same"), (2, 11, 3)),
    (3, dict(kernel_size=2, padding="same", strides=2), (1, 5, 4, 3, 2)),
])
def test_conv_matches_torch(rank, kwargs, shape):
    cls = {1: L.Conv1D, 2: L.Conv2D, 3: L.Conv3D}[rank]
    layer = cls(8, dtype="float64", bias_initializer="random_normal", **kwargs)
    x = rand(*shape)
    out = run_layer(layer, x)
    kernel, bias = layer.get_weights()
    expected = ref_conv(x, kernel, bias, layer.strides, layer.padding, layer.dilation_rate, layer.groups)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)


def test_conv_weights_set_from_torch_layout_and_activation():
    x = rand(2, 6, 7, 3)
    torch_weight = rand(5, 3, 3, 2)           # torch (out, in, kh, kw)
    bias = rand(5)
    layer = L.Conv2D(5, (3, 2), padding="same", activation="relu", dtype="float64")
    out = run_layer(layer, x, [np.transpose(torch_weight, (2, 3, 1, 0)), bias])
    expected = torch.relu(F.conv2d(tf_pad(to_nc(x), (3, 2), (1, 1), (1, 1), "same"), t(torch_weight), t(bias)))
    np.testing.assert_allclose(out, from_nc(expected), rtol=1e-10, atol=1e-10)
    assert (out >= 0).all()


def test_conv_channels_first_equals_channels_last():
    x = rand(2, 8, 7, 3, dtype="float32")
    last = L.Conv2D(4, 3, strides=2, padding="same", activation="tanh")
    first = L.Conv2D(4, 3, strides=2, padding="same", activation="tanh", data_format="channels_first")
    y_last = run_layer(last, x)
    y_first = run_layer(first, np.moveaxis(x, -1, 1).copy(), last.get_weights())
    np.testing.assert_allclose(np.moveaxis(y_first, 1, -1), y_last, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("rank, kwargs, shape", [
    (2, dict(kernel_size=3), (2, 4, 5, 3)),
    (2, dict(kernel_size=3, strides=2), (2, 4, 5, 3)),
    (2, dict(kernel_size=3, strides=2, padding="same"), (2, 4, 5, 3)),
    (2, dict(kernel_size=4, strides=2, padding="same"), (1, 3, 4, 2)),
    (2, dict(kernel_size=2, strides=3), (1, 3, 4, 2)),                         # k < s: zeros after
    (2, dict(kernel_size=3, strides=2, output_padding=1), (1, 3, 4, 2)),
    (2, dict(kernel_size=3, strides=2, padding="same", output_padding=1), (1, 3, 4, 2)),
    (2, dict(kernel_size=3, dilation_rate=2, padding="same"), (1, 4, 4, 2)),
    (1, dict(kernel_size=3, strides=2, padding="same"), (2, 5, 3)),
    (3, dict(kernel_size=2, strides=2), (1, 2, 3, 2, 2)),
])
def test_conv_transpose_matches_torch(rank, kwargs, shape):
    cls = {1: L.Conv1DTranspose, 2: L.Conv2DTranspose, 3: L.Conv3DTranspose}[rank]
    layer = cls(4, dtype="float64", bias_initializer="random_normal", **kwargs)
    x = rand(*shape)
    out = run_layer(layer, x)
    kernel, bias = layer.get_weights()
    expected = ref_conv_transpose(x, kernel, bias, layer.strides, layer.padding, layer.output_padding,
                                  layer.dilation_rate)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)


def test_conv_transpose_is_the_input_gradient_of_conv():
    """Keras's defining property: Conv2DTranspose(k, s, "same") maps conv outputs back to conv inputs,
    with a kernel shared as (kh, kw, filters_in_conv, channels_out_of_conv)."""
    x = rand(1, 8, 8, 2)
    kernel = rand(3, 3, 2, 4)
    xt = gk.constant(x, dtype="float64")
    with gk.GradientTape() as tape:
        tape.watch(xt)
        y = gk.ops.conv(xt, kernel, strides=2, padding="same")
    g = rand(*y.shape)
    expected = tape.gradient(y, xt, output_gradients=g).numpy()
    layer = L.Conv2DTranspose(2, 3, strides=2, padding="same", use_bias=False, dtype="float64")
    np.testing.assert_allclose(run_layer(layer, g, [kernel]), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kwargs, shape", [
    (dict(kernel_size=3, depth_multiplier=2), (2, 6, 7, 3)),
    (dict(kernel_size=3, strides=2, padding="same"), (2, 7, 8, 3)),
    (dict(kernel_size=(2, 3), dilation_rate=2, padding="same", depth_multiplier=3), (1, 7, 6, 2)),
])
def test_depthwise_conv_matches_torch_groups(kwargs, shape):
    layer = L.DepthwiseConv2D(dtype="float64", bias_initializer="random_normal", **kwargs)
    x = rand(*shape)
    out = run_layer(layer, x)
    kernel, bias = layer.get_weights()
    expected = ref_depthwise(x, kernel, bias, layer.strides, layer.padding, layer.dilation_rate)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kwargs, shape", [
    (dict(kernel_size=3, depth_multiplier=2), (2, 6, 7, 3)),
    (dict(kernel_size=3, strides=2, padding="same", activation="relu"), (2, 7, 8, 3)),
])
def test_separable_conv_matches_torch(kwargs, shape):
    layer = L.SeparableConv2D(5, dtype="float64", bias_initializer="random_normal", **kwargs)
    x = rand(*shape)
    out = run_layer(layer, x)
    depthwise, pointwise, bias = layer.get_weights()
    expected = ref_depthwise(x, depthwise, None, layer.strides, layer.padding, layer.dilation_rate)
    expected = ref_conv(expected, pointwise, bias, (1, 1), "valid", (1, 1), 1)
    if kwargs.get("activation") == "relu":
        expected = np.maximum(expected, 0)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)


def test_separable_equals_depthwise_then_pointwise_conv():
    x = rand(2, 6, 6, 3, dtype="float32")
    separable = L.SeparableConv2D(4, 3, depth_multiplier=2, padding="same")
    y = run_layer(separable, x)
    depthwise, pointwise, bias = separable.get_weights()
    dw = run_layer(L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", use_bias=False), x, [depthwise])
    pw = run_layer(L.Conv2D(4, 1), dw, [pointwise, bias])
    np.testing.assert_allclose(y, pw, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls, mode, kwargs, shape", [
    (L.MaxPooling2D, "max", {}, (2, 8, 7, 3)),
    (L.MaxPooling2D, "max", dict(pool_size=3, strides=2, padding="same"), (2, 8, 7, 3)),
    (L.MaxPooling2D, "max", dict(pool_size=(2, 3), strides=1), (2, 5, 6, 2)),
    (L.AveragePooling2D, "avg", {}, (2, 8, 7, 3)),
    (L.AveragePooling2D, "avg", dict(pool_size=3, strides=2, padding="same"), (2, 8, 7, 3)),
    (L.AveragePooling2D, "avg", dict(pool_size=2, strides=3, padding="same"), (1, 7, 8, 2)),
    (L.MaxPooling1D, "max", dict(pool_size=3, padding="same"), (2, 10, 3)),
    (L.AveragePooling1D, "avg", dict(strides=1), (2, 10, 3)),
    (L.AveragePooling1D, "avg", dict(pool_size=4, strides=3, padding="same"), (2, 10, 3)),
    (L.MaxPooling3D, "max", {}, (1, 4, 5, 4, 2)),
    (L.AveragePooling3D, "avg", dict(padding="same"), (1, 3, 5, 4, 2)),
])
def test_pooling_matches_torch(cls, mode, kwargs, shape):
    layer = cls(dtype="float64", **kwargs)
    x = rand(*shape)
    out = layer(const(x)).numpy()
    expected = ref_pool(x, mode, layer.pool_size, layer.strides, layer.padding)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_pooling_defaults_and_channels_first():
    assert L.MaxPooling2D().pool_size == (2, 2) and L.MaxPooling2D().strides == (2, 2)
    assert L.AveragePooling1D().pool_size == (2,) and L.AveragePooling1D(3).strides == (3,)
    assert L.MaxPooling2D(3, strides=1).strides == (1, 1)
    x = rand(2, 9, 8, 3, dtype="float32")
    for cls in (L.MaxPooling2D, L.AveragePooling2D):
        last = cls(3, strides=2, padding="same")(x).numpy()
        first = cls(3, strides=2, padding="same", data_format="channels_first")(np.moveaxis(x, -1, 1)).numpy()
        np.testing.assert_allclose(np.moveaxis(first, 1, -1), last, rtol=1e-6)
    assert L.AveragePooling2D()(np.ones((1, 4, 4, 1), "int32")).dtype == np.float32


def test_global_pooling_values():
    def check(layer, x, expected):
        np.testing.assert_allclose(layer(const(x)).numpy(), expected, rtol=1e-12)

    x = rand(3, 5, 4, 2)
    check(L.GlobalMaxPooling2D(dtype="float64"), x, x.max(axis=(1, 2)))
    check(L.GlobalAveragePooling2D(dtype="float64"), x, x.mean(axis=(1, 2)))
    check(L.GlobalAveragePooling2D(dtype="float64", keepdims=True), x, x.mean(axis=(1, 2), keepdims=True))
    check(L.GlobalMaxPooling2D(dtype="float64", data_format="channels_first"), x, x.max(axis=(2, 3)))
    s = rand(3, 6, 4)
    check(L.GlobalAveragePooling1D(dtype="float64"), s, s.mean(axis=1))
    check(L.GlobalMaxPooling1D(dtype="float64", keepdims=True), s, s.max(axis=1, keepdims=True))
    check(L.GlobalAveragePooling1D(dtype="float64", data_format="channels_first"), s, s.mean(axis=2))
    v = rand(2, 3, 4, 5, 2)
    check(L.GlobalAveragePooling3D(dtype="float64"), v, v.mean(axis=(1, 2, 3)))
    check(L.GlobalMaxPooling3D(dtype="float64"), v, v.max(axis=(1, 2, 3)))


def test_global_average_pooling_1d_mask():
    x = rand(3, 5, 4)
    mask = np.array([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
    out = L.GlobalAveragePooling1D(dtype="float64")(const(x), mask=mask).numpy()
    expected = np.stack([x[i, mask[i]].mean(axis=0) for i in range(3)])
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    kept = L.GlobalAveragePooling1D(keepdims=True, dtype="float64")(const(x), mask=mask).numpy()
    np.testing.assert_allclose(kept[:, 0], expected, rtol=1e-12)
    first = L.GlobalAveragePooling1D(data_format="channels_first", dtype="float64")(const(np.moveaxis(x, 1, 2)), mask=mask).numpy()
    np.testing.assert_allclose(first, expected, rtol=1e-12)
    # The mask from an Embedding(mask_zero=True) reaches it and stops there (as in Keras).
    ids = np.array([[3, 1, 0, 0], [2, 0, 0, 0]])
    embedding = L.Embedding(5, 3, mask_zero=True)
    pooled_layer = L.GlobalAveragePooling1D()
    pooled = pooled_layer(embedding(ids))
    table = embedding.get_weights()[0]
    np.testing.assert_allclose(pooled.numpy(), [table[[3, 1]].mean(0), table[[2]].mean(0)], rtol=1e-6)
    assert getattr(pooled, "_keras_mask", None) is None
    inputs = gk.Input((None,), dtype="int32")
    model = gk.Model(inputs, L.GlobalAveragePooling1D()(L.Embedding(5, 3, mask_zero=True)(inputs)))
    model.set_weights([table])
    np.testing.assert_allclose(model(ids).numpy(), pooled.numpy(), rtol=1e-6)


# ======================================================================= gradients
@pytest.mark.parametrize("cls, kwargs, shape", [
    (L.Conv2D, dict(filters=3, kernel_size=(2, 3), strides=2, padding="same", bias_initializer="random_normal"),
     (2, 5, 6, 2)),
    (L.Conv2D, dict(filters=4, kernel_size=3, groups=2, dilation_rate=2, padding="same", activation="tanh"),
     (1, 5, 5, 4)),
    (L.Conv1D, dict(filters=3, kernel_size=3, padding="causal", dilation_rate=2), (2, 7, 2)),
    (L.Conv2DTranspose, dict(filters=3, kernel_size=3, strides=2, padding="same"), (1, 3, 4, 2)),
    (L.Conv2DTranspose, dict(filters=2, kernel_size=2, strides=3, data_format="channels_first"), (1, 2, 3, 3)),
    (L.DepthwiseConv2D, dict(kernel_size=3, depth_multiplier=2, strides=2, padding="same"), (2, 5, 5, 2)),
    (L.SeparableConv2D, dict(filters=3, kernel_size=3, depth_multiplier=2, activation="sigmoid"), (1, 5, 5, 2)),
    (L.MaxPooling2D, dict(pool_size=3, strides=2, padding="same"), (2, 5, 6, 2)),
    (L.AveragePooling2D, dict(pool_size=3, strides=2, padding="same"), (2, 5, 6, 2)),
    (L.AveragePooling1D, dict(pool_size=3, strides=2), (2, 7, 2)),
    (L.GlobalMaxPooling2D, {}, (2, 3, 4, 2)),
    (L.GlobalAveragePooling2D, dict(keepdims=True), (2, 3, 4, 2)),
])
def test_gradients_match_finite_differences(cls, kwargs, shape):
    gk.random.set_seed(3)
    layer = cls(dtype="float64", **kwargs)
    layer_gradcheck(layer, rand(*shape))
    assert all(w.dtype == np.float64 for w in layer.weights)


def test_global_average_pooling_1d_mask_gradient():
    x = rand(2, 4, 3)
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 0]], dtype=bool)
    layer_gradcheck(L.GlobalAveragePooling1D(dtype="float64"), x, call_kwargs={"mask": mask})
    xt = gk.constant(x, dtype="float64")
    with gk.GradientTape() as tape:
        tape.watch(xt)
        out = L.GlobalAveragePooling1D()(xt, mask=mask)
    g = tape.gradient(out, xt).numpy()
    assert (g[~mask] == 0).all()  # masked steps get no gradient


# ======================================================================= config
@pytest.mark.parametrize("make, keys", [
    (lambda: L.Conv2D(8, 3, strides=2, padding="same", activation="relu", groups=2, name="c"),
     ["name", "trainable", "dtype", "filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
      "groups", "activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer",
      "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint"]),
    (lambda: L.Conv1D(4, 5, padding="causal", dilation_rate=2, kernel_initializer="he_normal"), None),
    (lambda: L.Conv2DTranspose(4, 3, strides=2, output_padding=1, data_format="channels_first"), None),
    (lambda: L.SeparableConv2D(4, 3, depth_multiplier=2, pointwise_initializer="ones"),
     ["name", "trainable", "dtype", "depth_multiplier", "filters", "kernel_size", "strides", "padding",
      "data_format", "dilation_rate", "activation", "use_bias", "depthwise_initializer", "pointwise_initializer",
      "bias_initializer", "depthwise_regularizer", "pointwise_regularizer", "bias_regularizer",
      "activity_regularizer", "depthwise_constraint", "pointwise_constraint", "bias_constraint"]),
    (lambda: L.DepthwiseConv2D(3, depth_multiplier=2, use_bias=False),
     ["name", "trainable", "dtype", "depth_multiplier", "kernel_size", "strides", "padding", "data_format",
      "dilation_rate", "activation", "use_bias", "depthwise_initializer", "bias_initializer",
      "depthwise_regularizer", "bias_regularizer", "activity_regularizer", "depthwise_constraint",
      "bias_constraint"]),
    (lambda: L.MaxPooling2D(3, strides=(1, 2), padding="same"),
     ["name", "trainable", "dtype", "pool_size", "padding", "strides", "data_format"]),
    (lambda: L.AveragePooling1D(), None),
    (lambda: L.GlobalAveragePooling1D(keepdims=True), ["name", "trainable", "dtype", "data_format", "keepdims"]),
    (lambda: L.GlobalMaxPooling2D(data_format="channels_first"), None),
])
def test_config_roundtrip(make, keys):
    layer = make()
    config = config_roundtrip(layer)
    if keys is not None:
        assert list(config) == keys


def test_config_values_are_keras_normalized():
    config = L.Conv2D(8, 3, padding="SAME").get_config()
    assert config["kernel_size"] == (3, 3) and config["strides"] == (1, 1) and config["dilation_rate"] == (1, 1)
    assert config["padding"] == "same" and config["data_format"] == "channels_last"
    assert config["activation"] == "linear" and config["groups"] == 1
    assert config["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert L.MaxPooling2D(3).get_config()["strides"] == (3, 3)
    assert L.Conv2DTranspose(2, 3).get_config()["output_padding"] is None
    clone = L.Conv2DTranspose.from_config(L.Conv2DTranspose(2, 3, strides=2, output_padding=(1, 0)).get_config())
    assert clone.output_padding == (1, 0)


def test_model_config_roundtrip_keeps_outputs():
    model = examples.conv_autoencoder()
    clone = gk.Model.from_config(json.loads(json.dumps(model.get_config())))
    assert clone.count_params() == 28_241
    clone.set_weights(model.get_weights())
    x = np.random.rand(2, 28, 28, 1).astype("float32")
    np.testing.assert_array_equal(clone(x).numpy(), model(x).numpy())


def test_aliases():
    assert L.MaxPool2D is L.MaxPooling2D and L.AvgPool2D is L.AveragePooling2D
    assert L.MaxPool1D is L.MaxPooling1D and L.AvgPool1D is L.AveragePooling1D
    assert L.GlobalAvgPool2D is L.GlobalAveragePooling2D and L.GlobalMaxPool2D is L.GlobalMaxPooling2D
    assert L.GlobalAvgPool1D is L.GlobalAveragePooling1D and L.GlobalMaxPool1D is L.GlobalMaxPooling1D
    assert L.Convolution2D is L.Conv2D and L.Convolution2DTranspose is L.Conv2DTranspose
    assert L.SeparableConvolution2D is L.SeparableConv2D
    assert L.MaxPool2D().name == "max_pooling2d" and L.Conv2DTranspose(1, 1).name == "conv2d_transpose"
    assert L.SeparableConv2D(1, 1).name == "separable_conv2d" and L.DepthwiseConv2D(1).name == "depthwise_conv2d"


def test_sequential_model_with_conv_and_pooling_trains_one_step():
    model = gk.Sequential([
        L.Conv2D(4, 3, activation="relu", padding="same", input_shape=(8, 8, 1)),
        L.MaxPooling2D(),
        L.SeparableConv2D(6, 3, activation="relu"),
        L.GlobalAveragePooling2D(),
        L.Dense(2),
    ])
    assert model.count_params() == (9 * 4 + 4) + (9 * 4 + 4 * 6 + 6) + (6 * 2 + 2)
    x = np.random.rand(3, 8, 8, 1).astype("float32")
    with gk.GradientTape() as tape:
        loss = gk.ops.mean(gk.ops.square(model(x)))
    grads = tape.gradient(loss, model.trainable_weights)
    assert all(g is not None and g.shape == w.shape for g, w in zip(grads, model.trainable_weights))


# ======================================================================= errors
@pytest.mark.parametrize("make, message", [
    (lambda: L.Conv2D(8, (3, 3, 3), name="c"), r"Conv2D 'c' kernel_size must be a positive int or a tuple of 2"),
    (lambda: L.Conv2D(8, 0), r"Conv2D 'conv2d' kernel_size must be a positive int"),
    (lambda: L.Conv2D(8, 3.0), r"Conv2D 'conv2d' kernel_size must be"),
    (lambda: L.Conv2D(8, 3, strides=(1, -1)), r"Conv2D 'conv2d' strides must be"),
    (lambda: L.Conv1D(8, 3, dilation_rate=(1, 2)), r"Conv1D 'conv1d' dilation_rate must be a positive int, got"),
    (lambda: L.Conv2D(0, 3), r"Conv2D 'conv2d' filters must be a positive integer, got 0"),
    (lambda: L.Conv2D(6, 3, groups=4), r"Conv2D 'conv2d' filters \(6\) must be divisible by groups \(4\)"),
    (lambda: L.Conv2D(6, 3, groups=0), r"groups must be a positive integer"),
    (lambda: L.Conv2D(6, 3, padding="causal"), r"Conv2D 'conv2d' padding must be one of \['valid', 'same'\]"),
    (lambda: L.Conv2D(6, 3, padding="full"), r"padding must be one of"),
    (lambda: L.Conv2D(6, 3, data_format="NHWC"), r"Conv2D 'conv2d' data_format must be"),
    (lambda: L.Conv2D(6, 3, strides=2, dilation_rate=2), r"strides > 1 are not supported together with "
                                                          r"dilation_rate > 1"),
    (lambda: L.Conv2DTranspose(6, 3, strides=2, output_padding=2),
     r"Conv2DTranspose 'conv2d_transpose' output_padding \(2, 2\) must be smaller than the strides"),
    (lambda: L.Conv2DTranspose(6, 3, padding="causal"), r"padding must be one of"),
    (lambda: L.DepthwiseConv2D(3, depth_multiplier=0), r"DepthwiseConv2D 'depthwise_conv2d' depth_multiplier"),
    (lambda: L.SeparableConv2D(4, 3, depth_multiplier=-1), r"SeparableConv2D 'separable_conv2d' depth_multiplier"),
    (lambda: L.MaxPooling2D((2, 2, 2)), r"MaxPooling2D 'max_pooling2d' pool_size must be"),
    (lambda: L.AveragePooling1D(2, strides=0), r"AveragePooling1D 'average_pooling1d' strides must be"),
    (lambda: L.MaxPooling2D(padding="causal"), r"padding must be one of"),
    (lambda: L.GlobalAveragePooling2D(data_format="nchw"), r"GlobalAveragePooling2D '.*' data_format"),
    (lambda: L.Conv2D(4, 3, kernel_regularizer="l2"), r"kernel_regularizer"),
])
def test_constructor_errors(make, message):
    with pytest.raises((ValueError, NotImplementedError), match=message):
        make()


def test_call_errors_name_the_layer():
    conv = L.Conv2D(4, 3, name="c")
    with pytest.raises(ValueError, match=r"Conv2D 'c' expected an input of rank 4"):
        conv(np.zeros((2, 5, 5), "float32"))
    conv(np.zeros((2, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match=r"Conv2D 'c' expected last dim 3, got 2"):
        conv(np.zeros((2, 5, 5, 2), "float32"))
    with pytest.raises(ValueError, match=r"Conv2D 'g'.*input channels \(3\) must be divisible by groups \(2\)"):
        L.Conv2D(4, 3, groups=2, name="g")(gk.Input((5, 5, 3)))
    with pytest.raises(ValueError, match=r"Conv2D 'big': the output would be empty"):
        L.Conv2D(4, 5, name="big")(gk.Input((3, 8, 1)))
    with pytest.raises(ValueError, match=r"Conv2D 'cf' expected dim 1 3, got 4"):
        cf = L.Conv2D(4, 1, data_format="channels_first", name="cf")
        cf(np.zeros((1, 3, 2, 2), "float32"))
        cf(np.zeros((1, 4, 2, 2), "float32"))
    with pytest.raises(ValueError, match=r"Conv2D 'unknown' needs a known channel dimension"):
        L.Conv2D(4, 3, name="unknown")(gk.Input((5, 5, None)))
    with pytest.raises(ValueError, match=r"MaxPooling2D 'p': the output would be empty"):
        L.MaxPooling2D(4, name="p")(gk.Input((3, 8, 1)))
    with pytest.raises(ValueError, match=r"GlobalMaxPooling1D 'gm' expected an input of rank 3"):
        L.GlobalMaxPooling1D(name="gm")(np.zeros((2, 3, 4, 5), "float32"))
    with pytest.raises(ValueError, match=r"Conv2DTranspose 'ct' expected an input of rank 4"):
        L.Conv2DTranspose(2, 3, name="ct")(gk.Input((4, 4)))
