"""gk.saved_model: save traced graphs + variables, load them in a fresh process without the class."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import graphkit as gk
from graphkit.saving.archive import FileFormatError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Classifier(gk.Module):
    """Dense layers, a captured variable, a constant, slicing and a dict output."""

    def __init__(self):
        super().__init__()
        self.hidden = gk.layers.Dense(8, activation="relu")
        self.out = gk.layers.Dense(3)
        self.temperature = gk.Variable(2.0, trainable=False, name="temperature")

    @gk.function
    def __call__(self, x):
        logits = self.out(self.hidden(x)) / self.temperature
        return {"probs": gk.ops.softmax(logits), "first": logits[..., 0:1] + gk.constant(1.5)}

    @gk.function(input_signature=[gk.TensorSpec((None, 4), "float32")])
    def score(self, x):
        return gk.ops.sum(self.hidden(x), axis=-1)


def _trained(tmp_path):
    module = Classifier()
    x2 = np.random.default_rng(0).standard_normal((5, 4)).astype("float32")
    x3 = np.random.default_rng(1).standard_normal((2, 6, 4)).astype("float32")
    expected = {"x2": x2, "x3": x3}
    for name, x in (("2", x2), ("3", x3)):
        out = module(x)
        expected["probs" + name] = out["probs"].numpy()
        expected["first" + name] = out["first"].numpy()
    expected["score"] = module.score(x2).numpy()
    export = str(tmp_path / "exported")
    assert gk.saved_model.save(module, export) == export
    return module, export, expected


LOAD_SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    import graphkit as gk
    export, data = sys.argv[1], np.load(sys.argv[2], allow_pickle=False)
    loaded = gk.saved_model.load(export)
    assert type(loaded).__name__ == "LoadedModule", type(loaded)
    assert "Classifier" not in dir(sys.modules["__main__"])
    for n in ("2", "3"):
        out = loaded(data["x" + n])
        np.testing.assert_allclose(out["probs"].numpy(), data["probs" + n], rtol=1e-6)
        np.testing.assert_allclose(out["first"].numpy(), data["first" + n], rtol=1e-6)
    for rows in (5, 9):  # input_signature with a None dimension
        x = np.random.default_rng(rows).standard_normal((rows, 4)).astype("float32")
        assert loaded.score(x).shape == (rows,)
    np.testing.assert_allclose(loaded.score(data["x2"]).numpy(), data["score"], rtol=1e-6)
    assert len(loaded.variables) == 5 and len(loaded.trainable_variables) == 4
    try:
        loaded(np.zeros((5, 7), "float32"))
    except ValueError as exc:
        assert "no saved signature" in str(exc) and "TensorSpec(shape=(5, 4)" in str(exc), exc
    else:
        raise AssertionError("an unseen signature must raise")
    # captured variables are live: changing one changes the outputs
    loaded.variables[[v.name for v in loaded.variables].index("temperature")].assign(4.0)
    assert not np.allclose(loaded(data["x2"])["probs"].numpy(), data["probs2"])
    print("LOADED OK")
""")


def test_save_and_load_in_fresh_process(tmp_path):
    module, export, expected = _trained(tmp_path)
    assert sorted(os.listdir(export)) == ["constants.npz", "saved_model.json", "variables.npz"]
    document = json.load(open(os.path.join(export, "saved_model.json")))
    assert sorted(document["functions"]) == ["__call__", "score"]
    assert len(document["functions"]["__call__"]) == 2
    ops = [n["op"] for n in document["functions"]["__call__"][0]["nodes"]]
    assert ops[:2] == ["dense", "relu"] and "getitem" in ops and "softmax" in ops
    keys = {e["key"] for e in document["variables"]}
    assert {"hidden/kernel", "hidden/bias", "out/kernel", "out/bias", "temperature"} == keys
    data = str(tmp_path / "expected.npz")
    np.savez(data, **expected)
    env = dict(os.environ, PYTHONPATH=ROOT)
    result = subprocess.run([sys.executable, "-c", LOAD_SCRIPT, export, data], capture_output=True, text=True,
                            env=env, cwd=str(tmp_path), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "LOADED OK" in result.stdout


def test_load_in_process_dispatch_and_gradients(tmp_path):
    module, export, expected = _trained(tmp_path)
    loaded = gk.saved_model.load(export)
    out = loaded(expected["x3"])
    np.testing.assert_allclose(out["probs"].numpy(), expected["probs3"], rtol=1e-6)
    assert set(loaded.signatures) == {"__call__", "score"}
    with pytest.raises(ValueError, match="no saved signature") as info:
        loaded(np.zeros((4,), "float32"))
    assert "Saved signatures" in str(info.value)
    with pytest.raises(ValueError, match="no saved signature"):
        loaded.score(np.zeros((5, 4), "int32"))
    x = gk.constant(expected["x2"])
    with gk.GradientTape() as tape:
        loss = gk.ops.sum(loaded(x)["first"])
    grads = tape.gradient(loss, loaded.trainable_variables)
    assert all(g is not None for g in grads)
    with gk.GradientTape() as tape:
        loss_e = gk.ops.sum(module(x)["first"])
    grads_e = tape.gradient(loss_e, module.trainable_variables)
    by_shape = {tuple(g.shape): g.numpy() for g in grads_e}
    for g in grads:
        np.testing.assert_allclose(g.numpy(), by_shape[tuple(g.shape)], rtol=1e-5, atol=1e-7)


def test_nothing_traced_or_unencodable_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no traced gk.function"):
        gk.saved_model.save(Classifier(), str(tmp_path / "a"))

    from graphkit.engine.autograd import Primitive
    odd = Primitive("test_odd_attr_op", lambda ops, a, fn: (a, None), None, key="test_odd_attr_op")

    @gk.function
    def f(x):
        return odd.apply(gk.constant(x) if not isinstance(x, gk.Tensor) else x, fn=len)

    f(np.ones(2, "float32"))
    with pytest.raises(gk.saved_model.UnencodableAttrError, match="test_odd_attr_op.*'fn'"):
        gk.saved_model.save(f, str(tmp_path / "b"))
    assert not os.path.exists(str(tmp_path / "b" / "saved_model.json"))


def test_plain_function_with_attrs_round_trips(tmp_path):
    @gk.function
    def f(x, scale=2.0):
        y = gk.ops.transpose(x[1:, ::2, None][..., 0] * scale, (1, 0))
        return [y, gk.ops.cast(y > 0, "int32"), None]

    x = np.arange(24, dtype="float32").reshape(4, 6) - 10
    want = f(x)
    want3 = f(x, scale=3.0)
    gk.saved_model.save(f, str(tmp_path / "f"))
    loaded = gk.saved_model.load(str(tmp_path / "f"))
    got = loaded(x)
    np.testing.assert_array_equal(got[0].numpy(), want[0].numpy())
    np.testing.assert_array_equal(got[1].numpy(), want[1].numpy())
    assert got[1].dtype == np.int32 and got[2] is None
    np.testing.assert_array_equal(loaded(x, scale=3.0)[0].numpy(), want3[0].numpy())
    with pytest.raises(ValueError, match="no saved signature"):
        loaded(x, scale=4.0)


@pytest.mark.parametrize("damage", ["missing_json", "corrupt_json", "missing_variables", "corrupt_variables",
                                    "truncated_constants", "unknown_op", "mismatched_keys", "no_dir"])
def test_damaged_exports_raise_clear_errors(tmp_path, damage):
    _, export, _ = _trained(tmp_path)
    graph, variables, constants = (os.path.join(export, n) for n in
                                   ("saved_model.json", "variables.npz", "constants.npz"))
    if damage == "missing_json":
        os.remove(graph)
        expected, name = FileNotFoundError, "saved_model.json"
    elif damage == "corrupt_json":
        open(graph, "w").write('{"format": "graphkit.saved_model", "functions": {')
        expected, name = FileFormatError, "saved_model.json"
    elif damage == "missing_variables":
        os.remove(variables)
        expected, name = FileNotFoundError, "variables.npz"
    elif damage == "corrupt_variables":
        data = bytearray(open(variables, "rb").read())
        data[len(data) // 2: len(data) // 2 + 64] = b"\0" * 64
        open(variables, "wb").write(bytes(data))
        expected, name = FileFormatError, "variables.npz"
    elif damage == "truncated_constants":
        data = open(constants, "rb").read()
        open(constants, "wb").write(data[: len(data) // 2])
        expected, name = FileFormatError, "constants.npz"
    elif damage == "unknown_op":
        document = json.load(open(graph))
        document["functions"]["score"][0]["nodes"][0]["prim"] = "no_such_primitive"
        json.dump(document, open(graph, "w"))
        expected, name = FileFormatError, "no_such_primitive"
    elif damage == "mismatched_keys":
        document = json.load(open(graph))
        document["variables"][0]["key"] = "renamed/kernel"
        json.dump(document, open(graph, "w"))
        expected, name = FileFormatError, "renamed/kernel"
    else:
        export = os.path.join(export, "nope")
        expected, name = FileNotFoundError, "nope"
    with pytest.raises(expected) as info:
        gk.saved_model.load(export)
    assert name in str(info.value)


def test_wrapped_keras_model_keys_variables_by_object_path(tmp_path):
    model = gk.Sequential([gk.layers.Dense(3, activation="relu"), gk.layers.Dense(2)])
    fast = gk.function(model)
    x = np.random.default_rng(0).standard_normal((4, 5)).astype("float32")
    want = fast(x).numpy()
    gk.saved_model.save(fast, str(tmp_path / "m"))
    keys = [key for key, _ in gk.train.list_variables(str(tmp_path / "m" / "variables.npz"))]
    assert sorted(keys) == ["layers/dense/bias", "layers/dense/kernel", "layers/dense_1/bias",
                            "layers/dense_1/kernel"]
    loaded = gk.saved_model.load(str(tmp_path / "m"))
    np.testing.assert_allclose(loaded(x).numpy(), want, rtol=1e-6)
