"""ONNX export (``model.export(path, format="onnx")``): ONNX Runtime's predictions equal
graphkit's for the guide's models and one model per layer family, on batch sizes 1 and 3 (one
file: the batch dimension is dynamic); the files pass ``onnx.checker``; a layer that cannot be
exported raises one error naming it, and nothing is written.

Skipped without onnx/onnxruntime (the test extra installs them), except under ``CI=true``,
where that fails.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import graphkit as gk
from graphkit import layers
from graphkit.examples import models as examples
from graphkit.export import UnsupportedLayerError
from graphkit.export.onnx import onnx_bytes
from graphkit.graph.node import flatten_structure

try:
    import onnx
    import onnxruntime
except ImportError as exc:  # pragma: no cover - the test extra installs both
    if os.environ.get("CI") == "true":
        raise
    pytest.skip(f"onnx and onnxruntime are needed for the ONNX export tests ({exc})", allow_module_level=True)


# --------------------------------------------------------------------------- helpers
def randomize(model: gk.Model, seed: int = 0) -> gk.Model:
    """Random biases and normalization weights (kernels keep their random initial values, whose
    scale suits deep stacks), so that every weight shows in the predictions."""
    rng = np.random.default_rng(seed)
    values = []
    for variable, value in zip(model.weights, model.get_weights()):
        kind = variable.name.rsplit("/", 1)[-1]
        if kind in ("gamma", "moving_variance"):
            value = rng.uniform(0.5, 1.5, value.shape)
        elif kind in ("bias", "beta", "moving_mean"):
            value = rng.standard_normal(value.shape) * 0.1
        values.append(np.asarray(value, dtype=variable.dtype))
    model.set_weights(values)
    return model


def random_inputs(model: gk.Model, batch: int, rng: np.random.Generator, vocabulary: int = 50) -> list:
    arrays = []
    for tensor in model._functional.inputs:
        shape = [batch, *(6 if d is None else d for d in tensor.shape[1:])]
        if tensor.dtype.kind in "iu":
            arrays.append(rng.integers(0, vocabulary, shape).astype(tensor.dtype))
        else:
            arrays.append(rng.standard_normal(shape).astype("float32"))
    return arrays


def assert_parity(model: gk.Model, tmp_path, vocabulary: int = 50) -> onnx.ModelProto:
    """Export ``model``, check the file, and compare ONNX Runtime with ``model.predict`` (to 1e-5,
    deep convolution stacks included)."""
    path = model.export(str(tmp_path / f"{model.name}.onnx"), format="onnx")
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    functional = model._functional
    assert [i.name for i in session.get_inputs()] == functional.input_names
    names = functional.output_names
    if len(set(names + functional.input_names)) == len(names) + len(functional.input_names):
        assert [o.name for o in session.get_outputs()] == names  # else made unique: test_output_names
    rng = np.random.default_rng(1)
    for batch in (1, 3):
        arrays = random_inputs(model, batch, rng, vocabulary)
        got = session.run(None, dict(zip(functional.input_names, arrays)))
        expected = flatten_structure(model.predict(arrays[0] if len(arrays) == 1 else arrays, verbose=0))
        assert len(got) == len(expected)
        for ours, theirs in zip(expected, got):
            assert theirs.shape == ours.shape
            np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-5)
    return proto


def single(layer_or_layers, input_shape: tuple, name: str = "family", dtype: str = "float32") -> gk.Model:
    """A Functional model applying the layers in order to one input."""
    inputs = gk.Input(shape=input_shape, name="x", dtype=dtype)
    x = inputs
    for layer in layer_or_layers if isinstance(layer_or_layers, list) else [layer_or_layers]:
        x = layer(x)
    return randomize(gk.Model(inputs, x, name=name))


# --------------------------------------------------------------------------- the guide's models
def test_mnist_model(tmp_path):
    proto = assert_parity(randomize(examples.mlp()), tmp_path)
    batch = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param == "batch"
    assert proto.opset_import[0].version == 18


def test_autoencoder_with_nested_models(tmp_path):
    proto = assert_parity(randomize(examples.conv_autoencoder()), tmp_path)
    ops = [n.op_type for n in proto.graph.node]
    # the encoder's and decoder's convolutions are inlined, with no transpose pair undoing itself
    assert ops.count("Conv") == 4 and ops.count("ConvTranspose") == 4
    assert ops.count("Transpose") <= 4


def test_multi_input_ticket_model(tmp_path):
    assert_parity(randomize(examples.text_tagger()), tmp_path, vocabulary=10000)


def test_toy_resnet(tmp_path):
    assert_parity(randomize(examples.small_resnet()), tmp_path)


def test_sequential_model(tmp_path):
    model = gk.Sequential([gk.Input((6,)), layers.Dense(8, activation="relu"), layers.Dense(3)], name="stack")
    assert_parity(randomize(model), tmp_path)


def test_sequential_nested_in_functional(tmp_path):
    inner = gk.Sequential([gk.Input((6,)), layers.Dense(5, activation="tanh")], name="inner")
    inputs = gk.Input((6,), name="features")
    outputs = layers.Dense(2)(inner(inputs))
    assert_parity(randomize(gk.Model(inputs, outputs, name="outer")), tmp_path)


def test_shared_layers_and_a_model_called_twice(tmp_path):
    a, b = gk.Input((4,), name="left"), gk.Input((4,), name="right")
    shared = layers.Dense(3, activation="tanh")
    pair_in = [gk.Input((3,), name="p"), gk.Input((3,), name="q")]
    pair = gk.Model(pair_in, layers.Subtract()(pair_in), name="pair")
    difference = pair([shared(a), shared(b)])
    outputs = pair([difference, shared(a)])
    assert_parity(randomize(gk.Model([a, b], outputs, name="siamese")), tmp_path)


# --------------------------------------------------------------------------- core layers
ACTIVATIONS = ["relu", "sigmoid", "tanh", "softmax", "gelu", "elu", "selu", "swish", "silu", "softplus",
               "leaky_relu", "linear", "relu6", "softsign", "hard_sigmoid", "exponential", "log_softmax"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_activations(tmp_path, activation):
    assert_parity(single([layers.Dense(7, activation=activation), layers.Activation(activation),
                          layers.Dropout(0.5)], (5,)), tmp_path)


def test_embedding(tmp_path):
    model = single([layers.Embedding(30, 4), layers.Flatten()], (6,), dtype="int32")
    assert_parity(model, tmp_path, vocabulary=30)


def test_dense_on_sequences(tmp_path):
    assert_parity(single(layers.Dense(3, activation="softmax"), (4, 5)), tmp_path)


# --------------------------------------------------------------------------- convolutions
@pytest.mark.parametrize("layer, shape", [
    (layers.Conv1D(4, 3, strides=2, padding="same"), (9, 3)),
    (layers.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu"), (9, 3)),
    (layers.Conv2D(4, 3, strides=2, padding="same", activation="softmax"), (7, 8, 3)),
    (layers.Conv2D(6, (2, 3), dilation_rate=2, padding="same"), (9, 7, 4)),
    (layers.Conv2D(6, 3, groups=2, padding="valid", use_bias=False), (6, 6, 4)),
    (layers.Conv2D(3, 3, data_format="channels_first", padding="same"), (2, 6, 5)),
    (layers.Conv2DTranspose(4, 3, strides=2, padding="same"), (5, 4, 3)),
    (layers.Conv2DTranspose(4, 3, strides=2, padding="valid", activation="relu"), (5, 4, 3)),
    (layers.Conv2DTranspose(2, 2, strides=3, padding="valid"), (3, 4, 2)),
    (layers.Conv2DTranspose(4, 3, strides=2, padding="same", output_padding=1), (4, 4, 3)),
    (layers.SeparableConv2D(5, 3, depth_multiplier=2, padding="same", activation="elu"), (7, 6, 3)),
    (layers.DepthwiseConv2D(3, strides=2, depth_multiplier=2, padding="same"), (7, 7, 3)),
    (layers.DepthwiseConv1D(3, padding="same"), (7, 3)),
    (layers.SeparableConv1D(4, 3, strides=2), (9, 3)),
    (layers.Conv1DTranspose(3, 4, strides=2, padding="same"), (5, 2)),
    (layers.Conv3D(3, 2, padding="same"), (3, 4, 5, 2)),
    (layers.Conv3DTranspose(2, 2, strides=2), (2, 3, 2, 2)),
], ids=lambda v: getattr(v, "name", None) or str(v))
def test_convolutions(tmp_path, layer, shape):
    assert_parity(single(layer, shape), tmp_path)


@pytest.mark.parametrize("layer, shape", [
    (layers.MaxPooling1D(3, strides=2, padding="same"), (8, 3)),
    (layers.AveragePooling1D(3, strides=2, padding="same"), (8, 3)),
    (layers.MaxPooling2D(2), (7, 6, 3)),
    (layers.MaxPooling2D(3, strides=2, padding="same"), (7, 6, 3)),
    (layers.AveragePooling2D(3, strides=2, padding="same"), (7, 6, 3)),
    (layers.AveragePooling2D((2, 3), padding="valid"), (7, 6, 3)),
    (layers.MaxPooling3D(2, padding="same"), (3, 4, 5, 2)),
    (layers.AveragePooling3D(2, padding="same"), (3, 4, 5, 2)),
    (layers.GlobalAveragePooling3D(), (3, 4, 5, 2)),
    (layers.GlobalMaxPooling1D(), (6, 3)),
    (layers.GlobalAveragePooling1D(keepdims=True), (6, 3)),
    (layers.GlobalMaxPooling2D(keepdims=True), (5, 4, 3)),
    (layers.GlobalAveragePooling2D(), (5, 4, 3)),
], ids=lambda v: getattr(v, "name", None) or str(v))
def test_pooling(tmp_path, layer, shape):
    assert_parity(single(layer, shape), tmp_path)


def test_same_padding_with_sizes_known_only_at_run_time(tmp_path):
    model = single([layers.Conv2D(4, 3, strides=2, padding="same"), layers.MaxPooling2D(3, 2, padding="same"),
                    layers.AveragePooling2D(2, padding="same"), layers.GlobalAveragePooling2D()], (None, None, 3))
    assert_parity(model, tmp_path)  # unknown sizes are 6 here: padding 1 row, at the end


def test_conv_batch_normalization_model(tmp_path):
    inputs = gk.Input((12, 12, 3), name="image")
    x = layers.Conv2D(8, 3, padding="same", use_bias=False)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(8, 3)(x)
    x = layers.BatchNormalization(center=False, epsilon=1e-2)(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(4, activation="softmax")(x)
    assert_parity(randomize(gk.Model(inputs, outputs, name="conv_bn")), tmp_path)


# --------------------------------------------------------------------------- normalization
@pytest.mark.parametrize("layer, shape", [
    (layers.BatchNormalization(), (5,)),
    (layers.BatchNormalization(axis=1, scale=False), (3, 4, 2)),
    (layers.LayerNormalization(), (4, 6)),
    (layers.LayerNormalization(axis=[-2, -1], center=False), (4, 6)),
], ids=lambda v: getattr(v, "name", None) or str(v))
def test_normalization(tmp_path, layer, shape):
    assert_parity(single(layer, shape), tmp_path)


# --------------------------------------------------------------------------- reshaping
@pytest.mark.parametrize("layer, shape", [
    (layers.Flatten(), (3, 4, 2)),
    (layers.Flatten(data_format="channels_first"), (3, 4, 2)),
    (layers.Reshape((2, -1)), (3, 4)),
    (layers.Permute((2, 1)), (3, 4)),
    (layers.RepeatVector(3), (4,)),
    (layers.UpSampling2D((2, 3)), (3, 4, 2)),
    (layers.UpSampling2D(2, interpolation="bilinear"), (3, 4, 2)),
    (layers.ZeroPadding2D(((1, 2), (0, 3))), (3, 4, 2)),
    (layers.Cropping2D(((1, 0), (2, 1))), (5, 6, 2)),
], ids=lambda v: getattr(v, "name", None) or str(v))
def test_reshaping(tmp_path, layer, shape):
    assert_parity(single(layer, shape), tmp_path)


# --------------------------------------------------------------------------- recurrent
def test_lstm_model(tmp_path):
    inputs = gk.Input((None,), dtype="int32", name="tokens")
    x = layers.Embedding(40, 8)(inputs)
    x = layers.LSTM(6, return_sequences=True)(x)
    x = layers.LSTM(5, go_backwards=True)(x)
    outputs = layers.Dense(2)(x)
    assert_parity(randomize(gk.Model(inputs, outputs, name="lstm_model")), tmp_path, vocabulary=40)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_model(tmp_path, reset_after):
    inputs = gk.Input((7, 4), name="series")
    x = layers.GRU(6, return_sequences=True, reset_after=reset_after)(inputs)
    x = layers.GRU(5, go_backwards=True, return_sequences=True, reset_after=reset_after)(x)
    outputs = layers.Flatten()(x)  # keeps the time order, which go_backwards reverses
    assert_parity(randomize(gk.Model(inputs, outputs, name="gru_model")), tmp_path)


@pytest.mark.parametrize("activation, go_backwards", [("tanh", False), ("relu", True), ("sigmoid", False)])
def test_simple_rnn(tmp_path, activation, go_backwards):
    layer = layers.SimpleRNN(5, activation=activation, return_sequences=True, go_backwards=go_backwards)
    assert_parity(single([layer, layers.Flatten()], (6, 3)), tmp_path)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_bidirectional(tmp_path, merge_mode, return_sequences):
    layer = layers.Bidirectional(layers.LSTM(4, return_sequences=return_sequences), merge_mode=merge_mode)
    assert_parity(single(layer, (6, 3)), tmp_path)


def test_bidirectional_gru_pair_output_and_states(tmp_path):
    inputs = gk.Input((5, 3), name="x")
    forward, backward, *states = layers.Bidirectional(layers.GRU(4, return_sequences=True, return_state=True),
                                                      merge_mode=None)(inputs)
    model = gk.Model(inputs, [forward, backward, *states], name="pair")
    assert_parity(randomize(model), tmp_path)


def test_lstm_return_state(tmp_path):
    inputs = gk.Input((5, 3), name="x")
    output, h, c = layers.LSTM(4, return_state=True)(inputs)
    assert_parity(randomize(gk.Model(inputs, [output, h, c], name="states")), tmp_path)


# --------------------------------------------------------------------------- merging and ops
@pytest.mark.parametrize("merge", [layers.Add, layers.Subtract, layers.Multiply, layers.Average, layers.Maximum,
                                   layers.Minimum, layers.Concatenate])
def test_merge_layers(tmp_path, merge):
    a, b = gk.Input((3, 4), name="a"), gk.Input((3, 4), name="b")
    merged = merge()([layers.Dense(4)(a), b])
    assert_parity(randomize(gk.Model([a, b], merged, name="merge")), tmp_path)


def test_merge_of_lower_rank_input(tmp_path):
    a, b, c = gk.Input((3, 4), name="a"), gk.Input((4,), name="b"), gk.Input((3, 4), name="c")
    assert_parity(gk.Model([a, b, c], layers.Add()([a, b, c]), name="broadcast_merge"), tmp_path)


def test_op_layers(tmp_path):
    a, b = gk.Input((4,), name="a"), gk.Input((4,), name="b")
    x = (a * 2.0 + b) / 3.0 - 1.0
    x = gk.ops.maximum(1.0 - x, gk.ops.square(b))
    x = gk.ops.relu(x) + gk.ops.gelu(a) + gk.ops.softmax(b, axis=-1) + gk.ops.exp(-a)
    outputs = [gk.ops.mean(x, axis=1, keepdims=True), gk.ops.sum(x), x]
    assert_parity(gk.Model([a, b], outputs, name="ops"), tmp_path)


def test_op_layers_on_integer_inputs(tmp_path):
    counts = gk.Input((4,), dtype="int32", name="counts")
    assert_parity(gk.Model(counts, [counts / 2, counts + 1], name="int_ops"), tmp_path)


def test_float64_model_exports_as_float32(tmp_path):
    inputs = gk.Input((3,), dtype="float64", name="x")
    outputs = layers.Dense(2, dtype="float64")(inputs) * 2.0
    proto = assert_parity(randomize(gk.Model(inputs, outputs, name="doubles")), tmp_path)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT


def test_output_names(tmp_path):
    """An output that is an input, or repeats another output, gets a name of its own."""
    inputs = gk.Input((3,), name="x")
    hidden = layers.Dense(2, name="hidden")(inputs)
    proto = assert_parity(randomize(gk.Model(inputs, [inputs, hidden, hidden], name="passthrough")), tmp_path)
    assert [o.name for o in proto.graph.output] == ["x_1", "hidden", "hidden_1"]


# --------------------------------------------------------------------------- errors
def test_unsupported_layer_names_it_and_writes_nothing(tmp_path):
    inputs = gk.Input((3,), name="x")
    outputs = layers.Lambda(lambda t: t * 2, name="doubler")(layers.Dense(3)(inputs))
    model = gk.Model(inputs, outputs)
    target = tmp_path / "m.onnx"
    with pytest.raises(UnsupportedLayerError, match=r"layer 'doubler' \(Lambda\)"):
        model.export(str(target))
    assert list(tmp_path.iterdir()) == []
    target.write_bytes(b"previous")
    with pytest.raises(UnsupportedLayerError):
        model.export(str(target))
    assert target.read_bytes() == b"previous"
    assert list(tmp_path.iterdir()) == [target]


def test_subclass_with_its_own_call_is_refused(tmp_path):
    class ScaledDense(layers.Dense):
        def call(self, inputs):
            return super().call(inputs) * 2

    model = single(ScaledDense(2, name="scaled"), (3,))
    with pytest.raises(UnsupportedLayerError, match=r"'scaled' \(ScaledDense\)"):
        model.export(str(tmp_path / "m.onnx"))


def test_unsupported_activation_names_the_layer(tmp_path):
    model = single(layers.Dense(2, activation=lambda t: t * 3, name="custom_act"), (3,))
    with pytest.raises(UnsupportedLayerError, match=r"'custom_act' \(Dense\).*activation"):
        model.export(str(tmp_path / "m.onnx"))


def test_masking_embedding_is_refused(tmp_path):
    model = single([layers.Embedding(10, 3, mask_zero=True, name="words"), layers.LSTM(2)], (4,), dtype="int32")
    with pytest.raises(UnsupportedLayerError, match=r"'words' \(Embedding\).*mask_zero"):
        model.export(str(tmp_path / "m.onnx"))


def test_subclassed_model_is_refused(tmp_path):
    class Doubler(gk.Model):
        def call(self, inputs):
            return inputs * 2

    with pytest.raises(UnsupportedLayerError, match="subclassed"):
        Doubler(name="doubler").export(str(tmp_path / "m.onnx"))
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("opset", [19, 20, 21, 22])
def test_later_opsets(tmp_path, opset):
    inputs = gk.Input((6, 6, 2), name="image")
    x = layers.Conv2D(3, 3, padding="same", activation="gelu")(inputs)
    x = layers.LayerNormalization()(layers.Reshape((6, 54))(layers.UpSampling2D((1, 3))(x)))
    outputs = layers.GRU(4)(layers.AveragePooling1D(2, padding="same")(x))
    model = randomize(gk.Model(inputs, outputs, name=f"opset{opset}"))
    path = str(tmp_path / "m.onnx")
    model.export(path, opset_version=opset)
    proto = onnx.load(path)
    assert proto.opset_import[0].version == opset
    onnx.checker.check_model(proto, full_check=True)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((2, 6, 6, 2)).astype("float32")
    np.testing.assert_allclose(session.run(None, {"image": x})[0], model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


def test_verbose_and_unknown_opset(tmp_path, capsys):
    path = str(tmp_path / "m.onnx")
    assert examples.mlp().export(path, verbose=True) == path
    assert path in capsys.readouterr().out
    with pytest.raises(ValueError, match="the opset must be one of"):
        examples.mlp().export(path, opset_version=13)


@pytest.mark.parametrize("build", [examples.small_resnet, examples.text_tagger,
                                   lambda: single(layers.Dense(3, activation="selu"), (4,))])
def test_encoding_equals_protobufs_own(build):
    """The hand-written bytes are exactly what protobuf writes for the same ModelProto."""
    data = onnx_bytes(build())
    assert onnx.load_from_string(data).SerializeToString() == data


def test_export_needs_no_onnx_package(tmp_path):
    """graphkit writes the protobuf itself: exporting works where onnx cannot be imported."""
    path = tmp_path / "m.onnx"
    script = ("import sys; sys.modules['onnx'] = None; sys.modules['onnxruntime'] = None\n"
              "from graphkit.examples import models\n"
              f"models.small_resnet().export({str(path)!r})\n")
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)


def test_other_formats_are_refused(tmp_path):
    with pytest.raises(ValueError, match="tf_saved_model"):
        examples.mlp().export(str(tmp_path / "m"), format="tf_saved_model")
