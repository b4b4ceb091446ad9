"""gk.train.Checkpoint: object-path keys, write/read/save/restore, deferred restoration, errors."""
import json
import os
import re
import zipfile

import numpy as np
import pytest

import graphkit as gk
from graphkit.saving import archive
from graphkit.saving.archive import FileFormatError


class Inner(gk.Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.scale = gk.Variable(np.arange(3, dtype="float32"), name="scale")


class Tree(gk.Module):
    """Nested modules, a list of layers, a dict of variables, a tuple."""

    def __init__(self):
        super().__init__()
        self.w = gk.Variable(np.ones((2, 3), "float32"), name="w")
        self.blocks = [gk.layers.Dense(4), gk.layers.Dropout(0.5), gk.layers.Dense(2)]
        self.table = {"b": gk.Variable(np.zeros(2, "float32")), "a/x": gk.Variable(np.zeros((), "float32"))}
        self.pair = (gk.Variable(np.zeros(1, "float32")), Inner())
        self.inner = Inner()
        self.steps = gk.Variable(0, trainable=False, dtype="int64")

    def __call__(self, x):
        for block in self.blocks:
            x = block(x)
        return x


def _randomize(obj, seed=0):
    rng = np.random.default_rng(seed)
    for v in obj.variables:
        v.assign(rng.standard_normal(v.shape).astype(v.dtype) if v.dtype.kind == "f" else rng.integers(0, 9, v.shape))


def _values(obj):
    return [v.numpy().copy() for v in obj.variables]


def test_keys_and_round_trip_of_nested_module(tmp_path):
    tree = Tree()
    tree(np.ones((1, 3), "float32"))
    _randomize(tree)
    path = gk.train.Checkpoint(tree=tree).write(tmp_path / "tree")
    assert path == str(tmp_path / "tree") and os.path.isfile(path)
    keys = dict(gk.train.list_variables(path))
    assert keys == {
        "tree/blocks/dense/kernel": (3, 4), "tree/blocks/dense/bias": (4,),
        "tree/blocks/dense_1/kernel": (4, 2), "tree/blocks/dense_1/bias": (2,),
        "tree/inner/scale": (3,), "tree/pair/0": (1,), "tree/pair/inner/scale": (3,),
        "tree/steps": (), "tree/table/a%2Fx": (), "tree/table/b": (2,), "tree/w": (2, 3),
    }
    assert [k for k, _ in gk.train.list_variables(path)] == sorted(keys)

    fresh = Tree()
    fresh(np.ones((1, 3), "float32"))
    status = gk.train.Checkpoint(tree=fresh).read(path)
    status.assert_consumed()
    for a, b in zip(_values(tree), _values(fresh)):
        np.testing.assert_array_equal(a, b)
    assert fresh.steps.dtype == np.int64
    x = np.random.default_rng(1).standard_normal((5, 3)).astype("float32")
    np.testing.assert_array_equal(fresh(x).numpy(), tree(x).numpy())
    # The file is an .npz as well: numpy reads it without pickle.
    with np.load(path, allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["tree/w"], tree.w.numpy())


def test_model_keys_follow_keras_layer_numbering_not_layer_names(tmp_path):
    model = gk.Sequential([gk.Input((3,)), gk.layers.Dense(4, name="first"), gk.layers.BatchNormalization(),
                           gk.layers.Dense(2, name="second")])
    keys = [k for k, _ in gk.train.list_variables(gk.train.Checkpoint(model=model).write(tmp_path / "c"))]
    assert keys == sorted(["model/layers/dense/kernel", "model/layers/dense/bias",
                           "model/layers/batch_normalization/gamma", "model/layers/batch_normalization/beta",
                           "model/layers/batch_normalization/moving_mean",
                           "model/layers/batch_normalization/moving_variance",
                           "model/layers/dense_1/kernel", "model/layers/dense_1/bias"])
    # A functional model of the same architecture (other layer names) restores from it.
    x = gk.Input((3,))
    y = gk.layers.Dense(2)(gk.layers.BatchNormalization()(gk.layers.Dense(4)(x)))
    other = gk.Model(x, y)
    gk.train.Checkpoint(model=other).restore(tmp_path / "c").assert_consumed()


def test_shared_objects_are_stored_once_under_their_shortest_path(tmp_path):
    shared = gk.layers.Dense(2)
    shared(np.ones((1, 2), "float32"))
    holder = Tree()
    holder.blocks = [shared]
    path = gk.train.Checkpoint(layer=shared, holder=holder).write(tmp_path / "s")
    keys = [k for k, _ in gk.train.list_variables(path)]
    assert "layer/kernel" in keys and not any(k.startswith("holder/blocks") for k in keys)


def test_numbered_saves_index_and_counter(tmp_path):
    assert gk.train.latest_checkpoint(tmp_path) is None
    module = Inner()
    ckpt = gk.train.Checkpoint(module=module)
    prefix = str(tmp_path / "run" / "ckpt")
    paths = []
    for step in range(3):
        module.scale.assign(np.full(3, step, "float32"))
        paths.append(ckpt.save(prefix))
    assert paths == [f"{prefix}-1", f"{prefix}-2", f"{prefix}-3"]
    assert gk.train.latest_checkpoint(tmp_path / "run") == f"{prefix}-3"
    index = json.loads((tmp_path / "run" / "checkpoint").read_text())
    assert index["model_checkpoint_path"] == "ckpt-3"
    assert index["all_model_checkpoint_paths"] == ["ckpt-1", "ckpt-2", "ckpt-3"]
    assert int(ckpt.save_counter.numpy()) == 3

    fresh = Inner()
    again = gk.train.Checkpoint(module=fresh)
    again.restore(gk.train.latest_checkpoint(tmp_path / "run")).assert_consumed()
    np.testing.assert_array_equal(fresh.scale.numpy(), [2, 2, 2])
    assert again.save(prefix) == f"{prefix}-4"  # the counter was restored
    # A directory means its latest checkpoint for list_variables / load_variable.
    assert dict(gk.train.list_variables(tmp_path / "run"))["module/scale"] == (3,)
    np.testing.assert_array_equal(gk.train.load_variable(tmp_path / "run", "module/scale"), [2, 2, 2])
    # restore(None) is a no-op whose status says so.
    status = gk.train.Checkpoint(module=Inner()).restore(None)
    with pytest.raises(AssertionError, match="No checkpoint"):
        status.assert_consumed()


def test_checkpoint_manager_keeps_the_newest(tmp_path):
    module = Inner()
    manager = gk.train.CheckpointManager(gk.train.Checkpoint(module=module), tmp_path, max_to_keep=2)
    for _ in range(4):
        manager.save()
    assert [os.path.basename(p) for p in manager.checkpoints] == ["ckpt-3", "ckpt-4"]
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "ckpt-3", "ckpt-4"]
    assert gk.train.latest_checkpoint(tmp_path) == str(tmp_path / "ckpt-4")


def test_list_variables_with_optimizer_state(tmp_path):
    model = gk.Sequential([gk.Input((3,)), gk.layers.Dense(2)])
    optimizer = gk.optimizers.Adam(learning_rate=0.01)
    with gk.GradientTape() as tape:
        loss = gk.ops.mean(model(np.ones((4, 3), "float32")) ** 2)
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    listed = gk.train.list_variables(gk.train.Checkpoint(model=model, optimizer=optimizer).write(tmp_path / "c"))
    assert listed == [("model/layers/dense/bias", (2,)), ("model/layers/dense/kernel", (3, 2)),
                      ("optimizer/vars/0", ()), ("optimizer/vars/1", ()),
                      ("optimizer/vars/2", (3, 2)), ("optimizer/vars/3", (2,)),
                      ("optimizer/vars/4", (3, 2)), ("optimizer/vars/5", (2,))]


def test_deferred_restore_into_unbuilt_sequential(tmp_path):
    model = gk.Sequential([gk.layers.Dense(5, activation="relu"), gk.layers.BatchNormalization(),
                           gk.layers.Dense(2)])
    x = np.random.default_rng(0).standard_normal((4, 3)).astype("float32")
    model(x)
    _randomize(model)
    model.layers[1].moving_variance.assign(np.abs(model.layers[1].moving_variance.numpy()) + 0.5)
    expected = model(x).numpy()
    path = gk.train.Checkpoint(model=model).write(tmp_path / "m")

    fresh = gk.Sequential([gk.layers.Dense(5, activation="relu"), gk.layers.BatchNormalization(),
                           gk.layers.Dense(2)])
    status = gk.train.Checkpoint(model=fresh).restore(path)
    assert fresh.weights == [] and len(status.pending_keys) == 8
    with pytest.raises(AssertionError, match="not been created yet"):
        status.assert_consumed()
    np.testing.assert_array_equal(fresh(x).numpy(), expected)
    assert status.pending_keys == []
    status.assert_consumed()


class LazyLinear(gk.Module):
    """tf.Module style: variables created on the first call from the input's shape."""

    def __init__(self, units):
        super().__init__()
        self.units = units
        self.w = None
        self.b = None

    def __call__(self, x):
        if self.w is None:
            self.w = gk.Variable(np.random.default_rng().standard_normal((x.shape[-1], self.units)).astype("float32"))
            self.b = gk.Variable(np.zeros(self.units, "float32"))
        return gk.ops.matmul(x, self.w) + self.b


class LazyNet(gk.Module):
    def __init__(self):
        super().__init__()
        self.first = LazyLinear(4)
        self.head = gk.layers.Dense(1)

    def __call__(self, x):
        return self.head(gk.nn.relu(self.first(x)))


def test_deferred_restore_into_unbuilt_custom_module(tmp_path):
    x = np.random.default_rng(2).standard_normal((3, 6)).astype("float32")
    net = LazyNet()
    expected = net(x).numpy()
    path = gk.train.Checkpoint(net=net).write(tmp_path / "net")
    assert dict(gk.train.list_variables(path)) == {"net/first/w": (6, 4), "net/first/b": (4,),
                                                    "net/head/kernel": (4, 1), "net/head/bias": (1,)}
    fresh = LazyNet()
    status = gk.train.Checkpoint(net=fresh).restore(path)
    assert sorted(status.pending_keys) == sorted(["net/first/w", "net/first/b", "net/head/kernel", "net/head/bias"])
    np.testing.assert_array_equal(fresh(x).numpy(), expected)
    status.assert_consumed()


def test_deferred_shape_mismatch_is_reported_when_the_variable_appears(tmp_path):
    model = gk.Sequential([gk.layers.Dense(2)])
    model(np.ones((1, 3), "float32"))
    path = gk.train.Checkpoint(model=model).write(tmp_path / "m")
    fresh = gk.Sequential([gk.layers.Dense(2)])
    gk.train.Checkpoint(model=fresh).restore(path)
    with pytest.raises(ValueError, match=r"model/layers/dense/kernel.*\(3, 2\).*\(5, 2\)"):
        fresh(np.ones((1, 5), "float32"))


def test_deferred_optimizer_slots_restore_when_built(tmp_path):
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((8, 3)).astype("float32"), rng.standard_normal((8, 1)).astype("float32")

    def step(model, optimizer):
        with gk.GradientTape() as tape:
            loss = gk.ops.mean((model(x) - y) ** 2)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))

    model = gk.Sequential([gk.Input((3,)), gk.layers.Dense(1)])
    optimizer = gk.optimizers.Adam(learning_rate=0.05)
    for _ in range(3):
        step(model, optimizer)
    path = gk.train.Checkpoint(model=model, optimizer=optimizer).write(tmp_path / "c")

    fresh_model = gk.Sequential([gk.Input((3,)), gk.layers.Dense(1)])
    fresh_optimizer = gk.optimizers.Adam(learning_rate=0.05)
    status = gk.train.Checkpoint(model=fresh_model, optimizer=fresh_optimizer).restore(path)
    assert sorted(status.pending_keys) == [f"optimizer/vars/{i}" for i in range(2, 6)]
    assert int(fresh_optimizer.iterations.numpy()) == 3
    step(model, optimizer)
    step(fresh_model, fresh_optimizer)
    status.assert_consumed()
    for a, b in zip(model.weights + optimizer.variables, fresh_model.weights + fresh_optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_wrong_shape_names_key_and_shapes_and_changes_nothing(tmp_path):
    tree = Tree()
    tree(np.ones((1, 3), "float32"))
    path = gk.train.Checkpoint(tree=tree).write(tmp_path / "t")
    other = Tree()
    other.w = gk.Variable(np.ones((2, 5), "float32"))  # another shape
    other(np.ones((1, 3), "float32"))
    before = _values(other)
    with pytest.raises(ValueError) as info:
        gk.train.Checkpoint(tree=other).restore(path)
    message = str(info.value)
    assert "tree/w" in message and "(2, 3)" in message and "(2, 5)" in message and str(path) in message
    assert "nothing was changed" in message
    for a, b in zip(before, _values(other)):
        np.testing.assert_array_equal(a, b)


def test_missing_and_unexpected_keys_are_listed(tmp_path):
    model = gk.Sequential([gk.Input((3,)), gk.layers.Dense(2), gk.layers.Dense(1)])
    path = gk.train.Checkpoint(model=model).write(tmp_path / "c")
    smaller = gk.Sequential([gk.Input((3,)), gk.layers.Dense(2)])
    status = gk.train.Checkpoint(model=smaller, extra=gk.Variable(1.0)).restore(path)
    assert status.unexpected_keys == ["model/layers/dense_1/kernel", "model/layers/dense_1/bias"]
    assert status.missing_keys == ["extra"]
    with pytest.raises(AssertionError, match="dense_1/kernel") as info:
        status.assert_consumed()
    assert "extra" in str(info.value)
    with pytest.raises(AssertionError):
        status.assert_existing_objects_matched()
    assert status.expect_partial() is status
    np.testing.assert_array_equal(smaller.layers[0].kernel.numpy(), model.layers[0].kernel.numpy())


def test_checkpoint_rejects_untrackable_objects():
    with pytest.raises(TypeError, match="'data'"):
        gk.train.Checkpoint(data=np.ones(3))
    with pytest.raises(ValueError, match="reserved"):
        gk.train.Checkpoint(save_counter=gk.Variable(1))


def _written(tmp_path):
    model = gk.Sequential([gk.Input((3,)), gk.layers.Dense(2)])
    return model, gk.train.Checkpoint(model=model).write(tmp_path / "good")


def test_truncated_file_error_names_the_file(tmp_path):
    model, path = _written(tmp_path)
    data = open(path, "rb").read()
    bad = tmp_path / "truncated"
    bad.write_bytes(data[: len(data) // 2])
    before = _values(model)
    with pytest.raises(FileFormatError, match=re.escape(f"'{bad}'") + ".*truncated"):
        gk.train.Checkpoint(model=model).restore(bad)
    with pytest.raises(FileFormatError, match=re.escape(str(bad))):
        gk.train.list_variables(bad)
    for a, b in zip(before, _values(model)):
        np.testing.assert_array_equal(a, b)


def test_corrupt_array_bytes_error_names_the_file_and_key(tmp_path):
    model, path = _written(tmp_path)
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("model/layers/dense/kernel.npy")
    data = bytearray(open(path, "rb").read())
    offset = info.header_offset + 30 + len(info.filename) + len(info.extra) + info.file_size - 3
    data[offset] ^= 0xFF  # flip a byte of the kernel's values: the CRC no longer matches
    bad = tmp_path / "corrupt"
    bad.write_bytes(bytes(data))
    before = _values(model)
    with pytest.raises(FileFormatError, match=re.escape(f"'{bad}'") + ".*model/layers/dense/kernel.*corrupt"):
        gk.train.Checkpoint(model=model).restore(bad)
    for a, b in zip(before, _values(model)):
        np.testing.assert_array_equal(a, b)


def test_foreign_files_error_names_the_file(tmp_path):
    model, _ = _written(tmp_path)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    plain_npz = tmp_path / "plain.npz"
    np.savez(plain_npz, kernel=np.ones(3))
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr(archive.INDEX_NAME, json.dumps({"format": "something.else"}))
    for bad, reason in [(text, "not a readable zip"), (plain_npz, "not written by graphkit"),
                        (other_zip, "does not describe")]:
        with pytest.raises(FileFormatError, match=re.escape(f"'{bad}'") + f".*{reason}"):
            gk.train.Checkpoint(model=model).restore(bad)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        gk.train.Checkpoint(model=model).restore(tmp_path / "nowhere")
    with pytest.raises(FileFormatError, match="corrupt"):
        (tmp_path / "checkpoint").write_text("{not json")
        gk.train.latest_checkpoint(tmp_path)


def test_failed_write_leaves_previous_file_and_no_temp_files(tmp_path, monkeypatch):
    model, path = _written(tmp_path)
    ckpt = gk.train.Checkpoint(model=model)
    ckpt.save(tmp_path / "ckpt")
    original = open(path, "rb").read()
    index_before = (tmp_path / "checkpoint").read_text()
    files_before = sorted(os.listdir(tmp_path))
    model.layers[0].kernel.assign(np.full((3, 2), 7.0, "float32"))

    calls = []
    real = archive._write_array

    def failing(zf, name, array):
        calls.append(name)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        real(zf, name, array)

    monkeypatch.setattr(archive, "_write_array", failing)
    with pytest.raises(OSError, match="disk full"):
        ckpt.write(path)
    calls.clear()
    with pytest.raises(OSError, match="disk full"):
        ckpt.save(tmp_path / "ckpt")
    assert open(path, "rb").read() == original
    assert (tmp_path / "checkpoint").read_text() == index_before
    assert sorted(os.listdir(tmp_path)) == files_before  # no temp files, no ckpt-2
    assert int(ckpt.save_counter.numpy()) == 1
    monkeypatch.undo()
    assert ckpt.save(tmp_path / "ckpt") == str(tmp_path / "ckpt") + "-2"
