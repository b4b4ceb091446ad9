"""The example models of the Keras Functional API guide, built with graphkit.

Parameter counts (equal to Keras 3's): ``mlp`` 55,050; ``conv_encoder`` 18,672;
``conv_decoder`` 9,569; ``conv_autoencoder`` 28,241; ``text_tagger`` 1,392,097;
``small_resnet`` 223,242.
"""
from __future__ import annotations

from .. import layers
from ..layers import Input
from ..models import Model


def mlp(input_dim: int = 784, hidden: tuple[int, ...] = (64, 64), classes: int = 10, name: str = "mnist_model") -> Model:
    """A multilayer perceptron: ``input_dim`` → relu layers of ``hidden`` units → ``classes`` logits."""
    inputs = Input(shape=(input_dim,), name="img")
    x = inputs
    for units in hidden:
        x = layers.Dense(units, activation="relu")(x)
    outputs = layers.Dense(classes)(x)
    return Model(inputs, outputs, name=name)


def conv_encoder() -> Model:
    """28×28×1 image → 16-vector: two 3×3 convs, 3×3 max-pool, two 3×3 convs, global max-pool."""
    encoder_input = Input(shape=(28, 28, 1), name="img")
    x = layers.Conv2D(16, 3, activation="relu")(encoder_input)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    encoder_output = layers.GlobalMaxPooling2D()(x)
    return Model(encoder_input, encoder_output, name="encoder")


def conv_decoder() -> Model:
    """16-vector → 28×28×1 image, mirroring :func:`conv_encoder` with transposed convolutions."""
    decoder_input = Input(shape=(16,), name="encoded_img")
    x = layers.Reshape((4, 4, 1))(decoder_input)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu")(x)
    x = layers.UpSampling2D(3)(x)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    decoder_output = layers.Conv2DTranspose(1, 3, activation="relu")(x)
    return Model(decoder_input, decoder_output, name="decoder")


def conv_autoencoder() -> Model:
    """The encoder and decoder models nested inside one autoencoder model."""
    encoder, decoder = conv_encoder(), conv_decoder()
    autoencoder_input = Input(shape=(28, 28, 1), name="img")
    encoded = encoder(autoencoder_input)
    decoded = decoder(encoded)
    return Model(autoencoder_input, decoded, name="autoencoder")


def text_tagger(num_tags: int = 12, num_words: int = 10000, num_departments: int = 4) -> Model:
    """Two text inputs and a tag vector → a priority score and department logits."""
    title_input = Input(shape=(None,), dtype="int32", name="title")
    body_input = Input(shape=(None,), dtype="int32", name="body")
    tags_input = Input(shape=(num_tags,), name="tags")
    title_features = layers.Embedding(num_words, 64)(title_input)
    body_features = layers.Embedding(num_words, 64)(body_input)
    title_features = layers.LSTM(128)(title_features)
    body_features = layers.LSTM(32)(body_features)
    x = layers.concatenate([title_features, body_features, tags_input])
    priority_pred = layers.Dense(1, name="priority")(x)
    department_pred = layers.Dense(num_departments, name="department")(x)
    return Model(inputs=[title_input, body_input, tags_input], outputs={"priority": priority_pred,
                                                                         "department": department_pred})


def small_resnet(classes: int = 10) -> Model:
    """A toy ResNet for 32×32×3 images with two residual (``layers.add``) connections."""
    inputs = Input(shape=(32, 32, 3), name="img")
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    block_1_output = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_1_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_2_output = layers.add([x, block_1_output])
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_2_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_3_output = layers.add([x, block_2_output])
    x = layers.Conv2D(64, 3, activation="relu")(block_3_output)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(classes)(x)
    return Model(inputs, outputs, name="toy_resnet")
