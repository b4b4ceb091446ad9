"""The SPEC's reference models: parameter counts and output shapes equal Keras 3's, and they run."""
import numpy as np

from graphkit import examples


def _layer_table(model):
    return [(layer.name, type(layer).__name__, layer.count_params()) for layer in model.layers]


def test_mlp_matches_keras():
    model = examples.mlp()
    assert model.count_params() == 55_050
    assert [p for _, _, p in _layer_table(model)] == [0, 50_240, 4_160, 650]
    assert model.outputs[0].shape == (None, 10)
    assert model(np.random.rand(5, 784)).shape == (5, 10)


def test_conv_encoder_decoder_autoencoder_match_keras():
    encoder, decoder = examples.conv_encoder(), examples.conv_decoder()
    assert encoder.count_params() == 18_672
    assert decoder.count_params() == 9_569
    assert [t.shape for t in (l.output for l in encoder.layers[1:])] == [
        (None, 26, 26, 16), (None, 24, 24, 32), (None, 8, 8, 32), (None, 6, 6, 32), (None, 4, 4, 16), (None, 16)]
    assert [t.shape for t in (l.output for l in decoder.layers[1:])] == [
        (None, 4, 4, 1), (None, 6, 6, 16), (None, 8, 8, 32), (None, 24, 24, 32), (None, 26, 26, 16),
        (None, 28, 28, 1)]
    autoencoder = examples.conv_autoencoder()
    assert autoencoder.count_params() == 28_241
    images = np.random.rand(2, 28, 28, 1).astype(np.float32)
    assert autoencoder(images).shape == (2, 28, 28, 1)


def test_text_tagger_matches_keras():
    model = examples.text_tagger()
    assert model.count_params() == 1_392_097
    counts = {name: p for name, _, p in _layer_table(model)}
    assert counts["priority"] == 173 and counts["department"] == 692
    assert sorted(p for _, cls, p in _layer_table(model) if cls == "LSTM") == [12_416, 98_816]
    out = model({"title": np.random.randint(1, 10000, (3, 7)), "body": np.random.randint(1, 10000, (3, 11)),
                 "tags": np.random.rand(3, 12)})
    assert out["priority"].shape == (3, 1) and out["department"].shape == (3, 4)


def test_small_resnet_matches_keras():
    model = examples.small_resnet()
    assert model.count_params() == 223_242
    assert model.outputs[0].shape == (None, 10)
    assert model(np.random.rand(2, 32, 32, 3)).shape == (2, 10)
