"""Model configs in Keras 3's schema: get_config/from_config, to_json/model_from_json, custom classes."""
from __future__ import annotations

import json

import numpy as np
import pytest

import graphkit as gk
from graphkit.layers.layer import clear_session

L = gk.layers


def rand(*shape):
    return np.random.default_rng(0).normal(size=shape).astype("float32")


def assert_same_outputs(a, b):
    if isinstance(a, dict):
        assert sorted(a) == sorted(b)
        for key in a:
            assert_same_outputs(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same_outputs(x, y)
    else:
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)


def round_trips(model, custom_objects=None):
    """The model rebuilt through get_config (as is and through JSON) and through to_json."""
    config = model.get_config()
    copies = [gk.Model.from_config(config, custom_objects=custom_objects),
              gk.Model.from_config(json.loads(json.dumps(config)), custom_objects=custom_objects),
              gk.models.model_from_json(model.to_json(), custom_objects=custom_objects)]
    for copy in copies:
        copy.set_weights(model.get_weights())
    return copies


def check(model, data, custom_objects=None):
    expected = model(data)
    for copy in round_trips(model, custom_objects):
        assert type(copy) is type(model)
        assert [l.name for l in copy.layers] == [l.name for l in model.layers]
        assert_same_outputs(copy(data), expected)


# --------------------------------------------------------------------------- round trips
def test_sequential_round_trip():
    model = gk.Sequential([gk.Input((6,)), L.Dense(5, activation="relu"), L.Dense(3, activation="softmax")],
                          name="seq")
    config = model.get_config()
    assert sorted(config) == ["build_input_shape", "dtype", "layers", "name", "trainable"]
    assert config["build_input_shape"] == [None, 6]
    assert [l["class_name"] for l in config["layers"]] == ["InputLayer", "Dense", "Dense"]
    assert all(sorted(l) in (["class_name", "config", "module", "registered_name"],
                             ["build_config", "class_name", "config", "module", "registered_name"])
               for l in config["layers"])
    check(model, rand(4, 6))


def test_sequential_built_by_a_call_and_unbuilt():
    model = gk.Sequential([L.Dense(4), L.Dense(2)])
    model(rand(3, 5))
    assert model.get_config()["build_input_shape"] == [None, 5]
    check(model, rand(3, 5))
    unbuilt = gk.Sequential([L.Dense(4)], name="later")
    assert "build_input_shape" not in unbuilt.get_config()
    copy = gk.Sequential.from_config(unbuilt.get_config())
    assert not copy.built and copy.name == "later" and copy.layers[0].units == 4


def test_functional_multi_input_output_dicts():
    a, b = gk.Input((8,), name="a"), gk.Input((8,), name="b")
    x = L.Concatenate()([L.Dense(6, activation="relu")(a), b])
    outputs = {"score": L.Dense(1, activation="sigmoid", name="score")(x), "cls": L.Dense(3, name="cls")(x)}
    model = gk.Model({"a": a, "b": b}, outputs, name="multi")
    config = model.get_config()
    assert config["input_layers"] == {"a": ["a", 0, 0], "b": ["b", 0, 0]}
    assert config["output_layers"] == {"score": ["score", 0, 0], "cls": ["cls", 0, 0]}
    check(model, {"a": rand(5, 8), "b": rand(5, 8)})
    lists = gk.Model([a, b], [outputs["score"], outputs["cls"]])
    assert lists.get_config()["input_layers"] == [["a", 0, 0], ["b", 0, 0]]
    check(lists, [rand(5, 8), rand(5, 8)])


def test_nested_models():
    inner_in = gk.Input((4,), name="inner_in")
    inner = gk.Model(inner_in, L.Dense(4, name="inner_dense")(inner_in), name="inner")
    head = gk.Sequential([gk.Input((4,)), L.Dense(3, name="head_dense")], name="head")
    x = gk.Input((4,), name="x")
    first = inner(x)
    second = inner(first * 0.5 + x)
    model = gk.Model(x, [first, head(second)], name="outer")
    config = model.get_config()
    entries = {l["name"]: l for l in config["layers"]}
    assert (entries["inner"]["module"], entries["inner"]["class_name"]) == ("keras.src.models.functional",
                                                                            "Functional")
    assert (entries["head"]["module"], entries["head"]["class_name"]) == ("keras", "Sequential")
    assert len(entries["inner"]["inbound_nodes"]) == 2
    # Keras numbers a nested Functional's calls from 1 in output_layers (its models own a node)
    assert config["output_layers"] == [["inner", 1, 0], ["head", 0, 0]]
    check(model, rand(3, 4))
    copy = gk.Model.from_config(config)
    assert isinstance(copy.get_layer("inner"), gk.models.Functional)
    assert isinstance(copy.get_layer("head"), gk.Sequential)


def test_shared_layers_at_different_depths():
    x = gk.Input((5,), name="x")
    shared = L.Dense(5, activation="tanh", name="shared")
    y = shared(shared(x))  # the same layer twice in a chain
    z = L.Add()([y, shared(x)])
    model = gk.Model(x, z)
    entry = next(l for l in model.get_config()["layers"] if l["name"] == "shared")
    histories = [node["args"][0]["config"]["keras_history"] for node in entry["inbound_nodes"]]
    assert histories == [["x", 0, 0], ["shared", 0, 0], ["x", 0, 0]]
    check(model, rand(2, 5))


def test_only_the_models_own_calls_are_saved():
    shared = L.Dense(3, name="shared_elsewhere")
    other = gk.Input((3,))
    shared(other)  # a call that belongs to no saved model
    x = gk.Input((3,), name="x")
    model = gk.Model(x, shared(x))
    entry = model.get_config()["layers"][1]
    assert len(entry["inbound_nodes"]) == 1
    assert model.get_config()["output_layers"] == ["shared_elsewhere", 0, 0]
    check(model, rand(2, 3))


def test_op_layers_round_trip():
    clear_session()  # op layers take Keras's auto names: mean, multiply, get_item...
    x = gk.Input((6, 4), name="x")
    y = gk.ops.mean(x, axis=1, keepdims=True)
    z = (x - y) * 2.0 + gk.ops.sum(gk.ops.relu(x[:, :, 1:3]), axis=-1, keepdims=True)
    w = gk.ops.concatenate([z, -x], axis=-1) @ np.ones((8, 2), "float32")
    model = gk.Model(x, [w, x[:, 0], x[..., None, 2]], name="ops")
    layers = {l["name"]: l for l in model.get_config()["layers"]}
    assert layers["mean"]["config"] == {"name": "mean", "axis": 1, "keepdims": True}
    assert (layers["mean"]["module"], layers["mean"]["class_name"], layers["mean"]["registered_name"]) == \
        ("keras.src.ops.numpy", "Mean", "Mean")
    assert layers["relu"]["module"] == "keras.src.ops.nn"
    assert layers["multiply"]["inbound_nodes"][0]["args"][1] == 2.0  # constants stay call arguments
    index = layers["get_item"]["inbound_nodes"][0]["args"][1]
    assert json.loads(json.dumps(index)) == [{"class_name": "__slice__", "config": {"start": None, "stop": None,
                                                                                   "step": None}},
                                             {"class_name": "__slice__", "config": {"start": None, "stop": None,
                                                                                   "step": None}},
                                             {"class_name": "__slice__", "config": {"start": 1, "stop": 3,
                                                                                   "step": None}}]
    assert layers["matmul"]["inbound_nodes"][0]["args"][1]["class_name"] == "__numpy__"
    check(model, rand(3, 6, 4))


def test_trainable_flags_and_activations_survive():
    x = gk.Input((3,))
    frozen = L.Dense(4, activation="tanh", name="frozen")
    model = gk.Model(x, L.Dense(2, activation="relu", name="free")(frozen(x)))
    frozen.trainable = False
    copy = gk.Model.from_config(model.get_config())
    assert copy.get_layer("frozen").trainable is False and copy.get_layer("free").trainable is True
    assert len(copy.trainable_weights) == 2 and len(copy.non_trainable_weights) == 2
    assert copy.get_layer("frozen").get_config()["activation"] == "tanh"


def test_layer_build_config_round_trip():
    layer = L.Dense(3, name="standalone")
    layer(rand(2, 7))
    config = gk.saving.serialize_keras_object(layer)
    assert config["build_config"] == {"input_shape": [2, 7]}
    assert (config["module"], config["class_name"], config["registered_name"]) == ("keras.layers", "Dense", None)
    copy = gk.saving.deserialize_keras_object(json.loads(json.dumps(config)))
    assert copy.built and [w.shape for w in copy.weights] == [(7, 3), (3,)]


def test_to_json_is_keras_shaped():
    clear_session()
    x = gk.Input((2,))
    model = gk.Model(x, L.Dense(1)(x))
    full = json.loads(model.to_json())
    assert (full["module"], full["class_name"], full["registered_name"]) == ("keras.src.models.functional",
                                                                            "Functional", "Functional")
    config = full["config"]
    assert sorted(config) == ["input_layers", "layers", "name", "output_layers", "trainable"]
    dense = config["layers"][1]
    assert sorted(dense) == ["build_config", "class_name", "config", "inbound_nodes", "module", "name",
                             "registered_name"]
    assert dense["inbound_nodes"] == [{"args": [{"class_name": "__keras_tensor__", "config": {
        "shape": [None, 2], "dtype": "float32", "keras_history": ["input_layer", 0, 0]}}], "kwargs": {}}]
    assert config["layers"][0]["inbound_nodes"] == []


# ---------------------------------------------------------------------------- custom classes
class Scale(gk.layers.Layer):
    def __init__(self, factor: float = 2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.gain = self.add_weight((input_shape[-1],), "ones", name="gain")

    def call(self, x):
        return x * self.gain * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def scaled_model(cls):
    x = gk.Input((3,))
    return gk.Model(x, L.Dense(2)(cls(3.0, name="scale")(x)))


def test_custom_layer_via_custom_objects():
    model = scaled_model(Scale)
    model.get_layer("scale").set_weights([np.array([1.0, 2.0, 3.0], "float32")])
    check(model, rand(4, 3), custom_objects={"Scale": Scale})
    with gk.saving.custom_object_scope({"Scale": Scale}):
        assert gk.Model.from_config(model.get_config()).get_layer("scale").factor == 3.0


def test_custom_layer_via_register_serializable():
    @gk.saving.register_serializable(package="MyLayers")
    class Shift(gk.layers.Layer):
        def __init__(self, offset: float = 1.0, **kwargs):
            super().__init__(**kwargs)
            self.offset = offset

        def call(self, x):
            return x + self.offset

        def get_config(self):
            return {**super().get_config(), "offset": self.offset}

    x = gk.Input((3,))
    model = gk.Model(x, Shift(0.5, name="shift")(x))
    entry = model.get_config()["layers"][1]
    assert entry["registered_name"] == "MyLayers>Shift"
    assert gk.saving.get_registered_name(Shift) == "MyLayers>Shift"
    check(model, rand(2, 3))


def test_unknown_class_names_say_what_to_do():
    model = scaled_model(Scale)
    with pytest.raises(ValueError) as info:
        gk.Model.from_config(model.get_config())
    message = str(info.value)
    assert "'Scale'" in message and "custom_objects" in message and "register_serializable" in message
    assert "Dense" in message  # lists the built-in layers
    assert isinstance(info.value, TypeError)  # Keras raises TypeError here; both work
    config = json.loads(gk.Model.from_config(model.get_config(), {"Scale": Scale}).to_json())
    config["config"]["layers"][2]["class_name"] = "Densse"
    with pytest.raises(ValueError, match="Unknown class 'Densse'"):
        gk.models.model_from_json(json.dumps(config), custom_objects={"Scale": Scale})


def test_config_is_plain_json():
    x = gk.Input((4,))
    model = gk.Model(x, gk.ops.softmax(L.Dense(3)(x) / 2))
    config = model.get_config()
    assert json.loads(json.dumps(config)) == json.loads(model.to_json())["config"]


def test_custom_activation_functions():
    def squash(x):
        return x / (1 + abs(x))

    x = gk.Input((3,))
    model = gk.Model(x, L.Dense(2, activation=squash, name="d")(x))
    assert model.get_config()["layers"][1]["config"]["activation"] == "squash"
    with pytest.raises(ValueError, match="Unknown activation 'squash'"):
        gk.Model.from_config(model.get_config())
    check(model, rand(4, 3), custom_objects={"squash": squash})

    @gk.saving.register_serializable(package="Acts")
    def clipped(x):
        return gk.ops.clip(x, -1.0, 1.0)

    model = gk.Model(x, L.Dense(2, activation=clipped)(x))
    assert model.get_config()["layers"][1]["config"]["activation"] == "Acts>clipped"
    check(model, rand(4, 3))
