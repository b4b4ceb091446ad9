"""gk.Module: tf.Module-style tracking of variables and submodules, names and name scopes."""
from __future__ import annotations

import numpy as np
import pytest

import graphkit as gk


def names(variables):
    return [v.name for v in variables]


class Leaf(gk.Module):
    def __init__(self, tag: str, name: str | None = None):
        super().__init__(name=name)
        self.b = gk.Variable(0.0, name=f"{tag}_b")
        self.a = gk.Variable(0.0, name=f"{tag}_a", trainable=False)


class Dense(gk.Module):
    """Creates its variables on the first call, from the input's shape."""

    def __init__(self, units: int, name: str | None = None):
        super().__init__(name=name)
        self.units = units
        self.w = None
        self.b = None

    @gk.Module.with_name_scope
    def __call__(self, x):
        if self.w is None:
            self.w = gk.Variable(np.ones((x.shape[-1], self.units)), name="w")
            self.b = gk.Variable(np.zeros(self.units), name="b")
        return gk.matmul(x, self.w) + self.b


class MLP(gk.Module):
    def __init__(self, name: str | None = None):
        super().__init__(name=name)
        self.layers = [Dense(3, name="hidden"), Dense(1, name="out")]

    @gk.Module.with_name_scope
    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def test_variables_in_attributes_and_containers_in_sorted_order():
    m = gk.Module()
    m.z = gk.Variable(1.0, name="z")
    m.a_list = [gk.Variable(1.0, name="l0"), [gk.Variable(1.0, name="l1")]]
    m.b_tuple = (gk.Variable(1.0, name="t0"),)
    m.c_dict = {"y": gk.Variable(1.0, name="dy"), "x": {"inner": (gk.Variable(1.0, name="dx"),)}}
    m.not_tracked = [gk.constant(1.0), 3, "text", None, {"k": np.ones(2)}]
    assert names(m.variables) == ["l0", "l1", "t0", "dx", "dy", "z"]
    assert all(isinstance(v, gk.Variable) for v in m.variables)
    assert isinstance(m.variables, tuple)


def test_own_variables_come_before_submodules_depth_first():
    class Root(gk.Module):
        def __init__(self):
            super().__init__()
            self.z_var = gk.Variable(1.0, name="root_z")
            self.children = [Leaf("c0"), Leaf("c1")]
            self.a_var = gk.Variable(1.0, name="root_a")
            self.m_child = Leaf("m")
            self.m_child.grandchild = Leaf("g")

    root = Root()
    # Root's own variables (sorted attribute names a_var, z_var), then each submodule in
    # attribute order (children[0], children[1], m_child), each fully, depth first: the
    # grandchild comes right after m_child's own variables.
    assert names(root.variables) == [
        "root_a", "root_z", "c0_a", "c0_b", "c1_a", "c1_b", "m_a", "m_b", "g_a", "g_b"]
    assert [m.name for m in root.submodules] == ["leaf"] * 4
    assert root.submodules == (root.children[0], root.children[1], root.m_child, root.m_child.grandchild)


def test_submodule_order_lists_direct_children_first():
    outer = gk.Module(name="outer")
    outer.a = gk.Module(name="a")
    outer.a.deep = gk.Module(name="a_deep")
    outer.b = gk.Module(name="b")
    assert [m.name for m in outer.submodules] == ["a", "b", "a_deep"]


def test_trainable_and_non_trainable_variables():
    m = gk.Module()
    m.leaf = Leaf("x")
    m.counter = gk.Variable(0, trainable=False, name="counter")
    assert names(m.trainable_variables) == ["x_b"]
    assert names(m.non_trainable_variables) == ["counter", "x_a"]
    m.leaf.a.trainable = True
    assert names(m.trainable_variables) == ["x_a", "x_b"]


def test_objects_reachable_twice_are_listed_once_and_cycles_end():
    shared_var = gk.Variable(1.0, name="shared")
    shared_mod = Leaf("s")
    m = gk.Module()
    m.first = [shared_var, shared_var]
    m.second = {"again": shared_var}
    m.left, m.right = shared_mod, shared_mod
    m.right_alias = shared_mod.b
    shared_mod.back = m  # a cycle back to the root
    # m's own leaves first (first, left, right, right_alias, second): shared, then s_b via
    # right_alias; then the submodule, whose b was already listed.
    assert names(m.variables) == ["shared", "s_b", "s_a"]
    assert m.submodules == (shared_mod,)
    assert shared_mod.submodules == (m,)
    assert names(shared_mod.variables) == ["s_a", "s_b", "shared"]


def test_deferred_variables_appear_after_first_call():
    mlp = MLP()
    assert mlp.variables == () and mlp.trainable_variables == ()
    assert [m.name for m in mlp.submodules] == ["hidden", "out"]
    y = mlp(gk.ones((2, 4)))
    assert y.shape == (2, 1)
    assert names(mlp.variables) == ["mlp/hidden/b", "mlp/hidden/w", "mlp/out/b", "mlp/out/w"]
    assert [v.shape for v in mlp.trainable_variables] == [(3,), (4, 3), (1,), (3, 1)]
    mlp(gk.ones((2, 4)))
    assert len(mlp.variables) == 4  # not created twice


def test_module_variables_train_under_a_tape():
    mlp = MLP()
    x = gk.ones((2, 4))
    mlp(x)
    with gk.GradientTape() as tape:
        loss = gk.ops.sum(mlp(x))
    grads = tape.gradient(loss, mlp.trainable_variables)
    assert all(g is not None for g in grads)
    assert [g.shape for g in grads] == [v.shape for v in mlp.trainable_variables]


def test_name_defaults_to_snake_case_of_class_name():
    class MyDenseLayer(gk.Module):
        pass

    class HTTPServer(gk.Module):
        pass

    class Conv2D(gk.Module):
        pass

    assert MyDenseLayer().name == "my_dense_layer"
    assert HTTPServer().name == "http_server"
    assert Conv2D().name == "conv2_d"  # as tf.Module's camel_to_snake
    assert gk.Module().name == "module"
    assert gk.Module(name="custom").name == "custom"
    assert MyDenseLayer(name="x").name == "x"


@pytest.mark.parametrize("bad", ["", "1abc", "has space", "a/b", "ünïcode", 3, b"bytes"])
def test_invalid_names_raise(bad):
    with pytest.raises(ValueError, match="not a valid module name"):
        gk.Module(name=bad)


@pytest.mark.parametrize("good", ["a", "_private", "layer.1", "conv-2", "A9"])
def test_valid_names(good):
    assert gk.Module(name=good).name == good


def test_name_scope_prefixes_variable_names():
    m = gk.Module(name="encoder")
    with m.name_scope as scope:
        assert scope == "encoder/"
        m.w = gk.Variable(1.0, name="w")
    assert m.w.name == "encoder/w"
    with gk.name_scope("model"):
        with m.name_scope:
            v = gk.Variable(1.0, name="v")
    assert v.name == "model/encoder/v"  # scopes nest where they are entered
    assert gk.Variable(1.0, name="outside").name == "outside"


def test_with_name_scope_decorator():
    class Scoped(gk.Module):
        @gk.Module.with_name_scope
        def build(self, suffix="x"):
            """Creates a variable."""
            self.v = gk.Variable(1.0, name=suffix)
            return self.v.name

        @gk.Module.with_name_scope
        def fail(self):
            raise RuntimeError("boom")

    s = Scoped(name="scoped")
    assert s.build(suffix="k") == "scoped/k"
    assert Scoped.build.__name__ == "build" and Scoped.build.__doc__ == "Creates a variable."
    with pytest.raises(RuntimeError):
        s.fail()
    assert gk.Variable(1.0, name="after").name == "after"  # the scope was left


def test_repr():
    assert repr(gk.Module(name="m")) == "<graphkit.module.Module name='m'>"
