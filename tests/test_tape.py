"""GradientTape semantics (as tf.GradientTape), gk.no_grad, gk.observe and graph lifetime."""
from __future__ import annotations

import collections
import gc
import weakref

import numpy as np
import pytest

import graphkit as gk
from graphkit.global_state import SUBSCRIBERS, THREAD


def close(tensor, expected):
    assert tensor is not None
    np.testing.assert_allclose(np.asarray(tensor), expected, rtol=1e-6, atol=1e-6)


@pytest.fixture(autouse=True)
def no_tape_leaks_between_tests():
    yield
    assert THREAD.tapes == (), "a test left a tape recording"
    assert SUBSCRIBERS.primitive == ()


# ------------------------------------------------------------------ watching

def test_trainable_variables_are_watched_automatically():
    v = gk.Variable(3.0)
    with gk.GradientTape() as tape:
        y = v * v
    close(tape.gradient(y, v), 6.0)


def test_non_trainable_variables_are_not_watched():
    v = gk.Variable(3.0, trainable=False)
    with gk.GradientTape() as tape:
        y = v * v
    assert tape.gradient(y, v) is None
    with gk.GradientTape() as tape:
        tape.watch(v)
        y = v * v
    close(tape.gradient(y, v), 6.0)


def test_constants_need_watch():
    x = gk.constant(3.0)
    with gk.GradientTape() as tape:
        y = x * x
    assert tape.gradient(y, x) is None
    with gk.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    close(tape.gradient(y, x), 6.0)


def test_unwatched_constant_beside_a_variable_gets_no_gradient():
    x, v = gk.constant(3.0), gk.Variable(2.0)
    with gk.GradientTape() as tape:
        y = x * v  # recorded because v is watched
    dx, dv = tape.gradient(y, [x, v])
    assert dx is None
    close(dv, 3.0)


def test_watch_nested_structure_and_rejects_non_tensors():
    a, b = gk.constant(1.0), gk.constant(2.0)
    with gk.GradientTape() as tape:
        tape.watch({"a": a, "rest": [b]})
        y = a * b
        with pytest.raises(TypeError, match="expects tensors"):
            tape.watch(1.0)
    close(tape.gradient(y, a), 2.0)


def test_watch_accessed_variables_false():
    v, w = gk.Variable(2.0), gk.Variable(5.0)
    with gk.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(v)
        y = v * w
    dv, dw = tape.gradient(y, [v, w])
    close(dv, 5.0)
    assert dw is None
    assert tape.watched_variables() == (v,)
    with gk.GradientTape(watch_accessed_variables=False) as tape:
        y = v * w
    assert tape.gradient(y, [v, w]) == [None, None]


def test_watch_applies_only_to_the_watching_tape():
    c = gk.constant(2.0)
    with gk.GradientTape() as first:
        first.watch(c)
        y = c * c
    close(first.gradient(y, c), 4.0)
    with gk.GradientTape() as later:
        z = c * c
    assert later.gradient(z, c) is None


# ------------------------------------------------------------------ persistence

def test_non_persistent_tape_computes_once():
    v = gk.Variable(2.0)
    with gk.GradientTape() as tape:
        y = v * v
    tape.gradient(y, v)
    with pytest.raises(RuntimeError, match="persistent"):
        tape.gradient(y, v)


def test_failed_gradient_call_does_not_use_up_the_tape():
    v = gk.Variable(2.0)
    with gk.GradientTape() as tape:
        y = v * v
    with pytest.raises(TypeError):
        tape.gradient(y, [v, 1.0])
    with pytest.raises(ValueError, match="unconnected_gradients"):
        tape.gradient(y, v, unconnected_gradients="maybe")
    close(tape.gradient(y, v), 4.0)


def test_persistent_tape_computes_many_times():
    v = gk.Variable(2.0)
    with gk.GradientTape(persistent=True) as tape:
        y = v * v
        z = y * v
    close(tape.gradient(y, v), 4.0)
    close(tape.gradient(z, v), 12.0)
    close(tape.gradient(z, v), 12.0)


def test_tape_cannot_be_entered_twice_at_once_but_can_be_reentered():
    v = gk.Variable(2.0)
    tape = gk.GradientTape(persistent=True)
    with tape:
        with pytest.raises(RuntimeError, match="already recording"):
            tape.__enter__()
        y = v * v
    with tape:  # recording goes on onto the same tape
        z = y * 3.0
    close(tape.gradient(z, v), 12.0)


def test_reset_forgets_earlier_ops():
    v = gk.Variable(3.0)
    with gk.GradientTape() as tape:
        a = v * v
        tape.reset()
        b = a + v
    close(tape.gradient(b, v), 1.0)  # only the op after reset counts (TF's example)


def test_reset_forgets_watches():
    x = gk.constant(3.0)
    with gk.GradientTape() as tape:
        tape.watch(x)
        tape.reset()
        y = x * x
    assert tape.gradient(y, x) is None


# ------------------------------------------------------------------ structures

def test_sources_structure_is_preserved():
    a, b, c = gk.Variable(1.0), gk.Variable(2.0), gk.Variable(3.0)
    with gk.GradientTape(persistent=True) as tape:
        y = a * b * c
    grads = tape.gradient(y, [a, (b, c)])
    assert isinstance(grads, list) and isinstance(grads[1], tuple)
    close(grads[0], 6.0), close(grads[1][0], 3.0), close(grads[1][1], 2.0)
    grads = tape.gradient(y, (a, b))
    assert isinstance(grads, tuple) and len(grads) == 2
    grads = tape.gradient(y, {"z": c, "a": [a]})
    assert set(grads) == {"z", "a"}
    close(grads["z"], 2.0), close(grads["a"][0], 6.0)
    Pair = collections.namedtuple("Pair", "first second")
    grads = tape.gradient(y, Pair(a, b))
    assert isinstance(grads, Pair)
    close(grads.second, 3.0)
    single = tape.gradient(y, a)
    assert isinstance(single, gk.Tensor) and not isinstance(single, gk.Variable)
    assert tape.gradient(y, []) == []
    assert tape.gradient(y, [a, a])[1] is not None  # a source listed twice


def test_unconnected_gradients():
    a, b = gk.Variable([1.0, 2.0]), gk.Variable([[1, 2]], dtype="float64")
    with gk.GradientTape(persistent=True) as tape:
        y = a * 2.0
    assert tape.gradient(y, [a, b])[1] is None
    zero = tape.gradient(y, [a, b], unconnected_gradients="zero")[1]
    assert isinstance(zero, gk.Tensor) and zero.shape == (1, 2) and zero.dtype == np.float64
    assert not zero.numpy().any()


def test_gradient_of_constant_target_is_none():
    v = gk.Variable(1.0)
    with gk.GradientTape() as tape:
        y = gk.constant(2.0) * 3.0
    assert tape.gradient(y, v) is None


def test_gradient_with_respect_to_intermediate_tensor():
    v = gk.Variable(3.0)
    with gk.GradientTape() as tape:
        h = v * v
        y = h * h + 2.0 * h
    dh, dv = tape.gradient(y, [h, v])
    close(dh, 2 * 9.0 + 2.0)
    close(dv, (2 * 9.0 + 2.0) * 6.0)


def test_gradient_with_respect_to_one_output_of_a_multi_output_op():
    v = gk.Variable([1.0, 2.0, 3.0, 4.0])
    with gk.GradientTape() as tape:
        left, right = gk.ops.split(v * 1.0, 2)
        y = gk.ops.sum(left * 3.0) + gk.ops.sum(right * right)
    dl, dr, dv = tape.gradient(y, [left, right, v])
    close(dl, [3.0, 3.0]), close(dr, [6.0, 8.0]), close(dv, [3.0, 3.0, 6.0, 8.0])


def test_gradient_of_a_source_with_respect_to_itself():
    v = gk.Variable([1.0, 2.0])
    with gk.GradientTape() as tape:
        pass
    close(tape.gradient(v, v), [1.0, 1.0])


def test_fan_out_accumulates():
    v = gk.Variable(2.0)
    with gk.GradientTape() as tape:
        a = v * 3.0
        y = a * a + a + v  # a is used three times, v twice
    close(tape.gradient(y, v), (2 * 6.0 + 1.0) * 3.0 + 1.0)


def test_diamond_graph_is_processed_in_topological_order():
    v = gk.Variable(1.5)
    with gk.GradientTape() as tape:
        a = v * v
        b = gk.ops.sin(a)
        c = gk.ops.exp(a)
        y = b * c
    a_ = 1.5 ** 2
    expected = (np.cos(a_) * np.exp(a_) + np.sin(a_) * np.exp(a_)) * 3.0
    close(tape.gradient(y, v), expected)


def test_broadcast_gradient_is_unbroadcast():
    b = gk.Variable([1.0, 2.0, 3.0])
    x = gk.constant(np.ones((4, 3)))
    with gk.GradientTape() as tape:
        y = x + b
    close(tape.gradient(y, b), [4.0, 4.0, 4.0])


def test_output_gradients():
    v = gk.Variable([1.0, 2.0])
    with gk.GradientTape(persistent=True) as tape:
        y = v * v
    close(tape.gradient(y, v, output_gradients=gk.constant([1.0, 10.0])), [2.0, 40.0])
    close(tape.gradient(y, v, output_gradients=np.array([0.5, 0.0])), [1.0, 0.0])
    close(tape.gradient(y, v, output_gradients=[1.0, 10.0]), [2.0, 40.0])  # a list of numbers for one target
    close(tape.gradient(y, v, output_gradients=[gk.constant([1.0, 10.0])]), [2.0, 40.0])  # TF's list form
    with pytest.raises(ValueError, match="does not match"):
        tape.gradient(y, v, output_gradients=np.ones((2, 2)))


def test_multiple_targets_are_summed():
    v = gk.Variable(2.0)
    with gk.GradientTape(persistent=True) as tape:
        y1 = v * v
        y2 = v * 3.0
        y3 = y1 * 2.0
    close(tape.gradient([y1, y2], v), 4.0 + 3.0)
    close(tape.gradient({"a": y1, "b": y2}, v), 4.0 + 3.0)
    close(tape.gradient([y1, y2], v, output_gradients=[1.0, 2.0]), 4.0 + 6.0)
    close(tape.gradient([y1, y3], v), 4.0 + 8.0)  # one target feeding another
    close(tape.gradient([y3, y1], v), 4.0 + 8.0)
    with pytest.raises(ValueError, match="2 targets"):
        tape.gradient([y1, y2], v, output_gradients=[1.0])
    with pytest.raises(TypeError, match="target"):
        tape.gradient([y1, 3.0], v)


def test_integer_inputs_get_no_gradient_but_floats_do():
    v = gk.Variable([1.0, 2.0])
    idx = gk.constant([1, 0])
    with gk.GradientTape() as tape:
        y = gk.ops.sum(v * idx)
    close(tape.gradient(y, v), [1.0, 0.0])


def test_gradients_are_untracked_constants():
    v = gk.Variable(2.0)
    with gk.GradientTape() as tape:
        y = v * v
    g = tape.gradient(y, v)
    assert g._node is None and not g._tracked


# ------------------------------------------------------------------ nesting

def test_nested_tapes_both_record():
    v = gk.Variable(2.0)
    with gk.GradientTape() as outer:
        with gk.GradientTape() as inner:
            y = v * v * v
        z = y * 2.0
    close(inner.gradient(y, v), 12.0)
    close(outer.gradient(z, v), 24.0)


def test_nested_tapes_have_no_second_order():
    """Higher-order gradients are not supported: backward runs on raw arrays, so the outer
    tape sees the inner tape's gradient as a constant (TF would give 6 * v = 12 here)."""
    v = gk.Variable(2.0)
    with gk.GradientTape(persistent=True) as outer:
        with gk.GradientTape() as inner:
            y = v * v * v
        g = inner.gradient(y, v)
        close(g, 12.0)
        h = g * v  # the gradient enters later ops as a constant
    assert outer.gradient(g, v) is None
    close(outer.gradient(h, v), 12.0)


def test_tensors_from_an_earlier_tape_are_constants_to_a_later_tape():
    v = gk.Variable(2.0)
    with gk.GradientTape() as first:
        y = v * v
    with gk.GradientTape(persistent=True) as second:
        z = y * 3.0
    assert second.gradient(z, v) is None  # the path through the first tape is not followed
    assert second.gradient(z, y) is None  # and y is not watched by the second tape
    close(first.gradient(y, v), 4.0)
    with gk.GradientTape() as third:
        third.watch(y)
        z = y * 3.0
    close(third.gradient(z, y), 3.0)


def test_inner_tape_does_not_see_ops_recorded_before_it():
    v = gk.Variable(2.0)
    with gk.GradientTape() as outer:
        a = v * v
        with gk.GradientTape() as inner:
            b = a * v
    close(inner.gradient(b, v), 4.0)  # only b = a * v; a is a constant to the inner tape
    close(outer.gradient(b, v), 12.0)


# ------------------------------------------------------------------ pausing

def test_stop_recording():
    v = gk.Variable(2.0)
    with gk.GradientTape() as tape:
        a = v * v
        with tape.stop_recording():
            b = v * 10.0
        y = a + b
    assert b._node is None
    close(tape.gradient(y, v), 4.0)


def test_stop_recording_pauses_only_that_tape():
    v = gk.Variable(2.0)
    with gk.GradientTape() as outer:
        with gk.GradientTape() as inner:
            with inner.stop_recording():
                y = v * v
    assert inner.gradient(y, v) is None
    close(outer.gradient(y, v), 4.0)


def test_no_grad():
    v = gk.Variable(2.0)
    with gk.GradientTape() as tape:
        with gk.no_grad():
            a = v * v
        y = a + v
    assert a._node is None
    close(tape.gradient(y, v), 1.0)


def test_no_grad_restores_on_exception_and_decorates():
    v = gk.Variable(2.0)

    @gk.no_grad()
    def frozen(x):
        return x * x

    with gk.GradientTape() as tape:
        with pytest.raises(KeyError):
            with gk.no_grad():
                raise KeyError
        a = frozen(v)
        y = v * a
    assert a._node is None
    close(tape.gradient(y, v), 4.0)


def test_ops_outside_any_tape_record_nothing():
    v = gk.Variable(2.0)
    y = v * v
    assert y._node is None and not y._tracked


# ------------------------------------------------------------------ memory

class _Payload:
    """A weak-referenceable stand-in for a saved activation."""


def test_dropping_the_target_frees_a_persistent_graph():
    gc.collect()
    gc.disable()  # the graph must be freed by reference counting alone (no cycles)
    try:
        v = gk.Variable(np.ones(8))
        with gk.GradientTape(persistent=True) as tape:
            h = gk.ops.tanh(v * 2.0)
            y = gk.ops.sum(h * h)
        hidden, square, saved = weakref.ref(h), weakref.ref(y._node.inputs[0]), weakref.ref(h.data)
        tape.gradient(y, v)
        del h
        assert hidden() is not None  # still reachable from y's node
        del y
        assert hidden() is None and square() is None and saved() is None
    finally:
        gc.enable()


def test_non_persistent_gradient_releases_saved_activations_while_the_loss_lives():
    gc.collect()
    gc.disable()
    try:
        v = gk.Variable(np.ones(8))
        with gk.GradientTape() as tape:
            h = gk.ops.tanh(v * 2.0)
            y = gk.ops.sum(h * h)
        saved = weakref.ref(h.data)
        np.testing.assert_allclose(tape.gradient(y, v).numpy(), 4 * np.tanh(2.0) * (1 - np.tanh(2.0) ** 2),
                                   rtol=1e-5)
        del h
        assert saved() is None and y.numpy() > 0  # the loss is kept, its activations are not
    finally:
        gc.enable()


def test_nodes_do_not_keep_the_tape_alive():
    v = gk.Variable(1.0)
    with gk.GradientTape() as tape:
        y = v * v
    ref = weakref.ref(tape)
    del tape
    gc.collect()
    assert ref() is None
    assert y._node is not None


def test_primitive_saved_state_is_released_with_the_graph():
    freed = []
    holder = _Payload()
    weakref.finalize(holder, freed.append, True)

    def forward(ops, a):
        return a * 2, holder

    def backward(ops, saved, g):
        return (g * 2,)

    prim = gk.primitive("double_with_payload", forward, backward)
    v = gk.Variable(1.0)
    with gk.GradientTape(persistent=True) as tape:
        y = prim.apply(v)
    del holder
    close(tape.gradient(y, v), 2.0)
    assert not freed  # a persistent tape may be asked again
    del y
    assert freed == [True]


# ------------------------------------------------------------------ observers

def test_observe_sees_forward_and_backward_calls():
    events = []

    def callback(prim, inputs, outputs, attrs, start, end, phase):
        events.append((prim.name, phase, start, end, inputs, outputs, attrs))

    v = gk.Variable([1.0, 2.0])
    with gk.observe(callback):
        with gk.GradientTape() as tape:
            y = gk.ops.sum(v * v)
        tape.gradient(y, v)
    y2 = v * v  # no longer observed
    assert [(name, phase) for name, phase, *_ in events] == [
        ("multiply", "forward"), ("sum", "forward"), ("sum", "backward"), ("multiply", "backward")]
    for name, phase, start, end, inputs, outputs, attrs in events:
        assert isinstance(start, int) and isinstance(end, int) and end >= start
        assert isinstance(attrs, dict)
    assert events[0][4] == (v, v) and events[0][5] is not None
    assert events[1][5] is y
    assert events[2][5] is None  # backward calls report no outputs
    assert y2 is not None


def test_observe_sees_untaped_calls_and_nests():
    outer_names, inner_names = [], []
    with gk.observe(lambda prim, *rest: outer_names.append(prim.name)):
        gk.constant(1.0) + 1.0
        with gk.observe(lambda prim, *rest: inner_names.append(prim.name)):
            gk.ops.exp(gk.constant(1.0))
    assert outer_names == ["add", "exp"] and inner_names == ["exp"]


def test_observer_removed_on_exception():
    with pytest.raises(ZeroDivisionError):
        with gk.observe(lambda *a: None):
            1 / 0
    assert SUBSCRIBERS.primitive == ()
