"""graphkit.events: each event kind published by the engine, layers and models reaches its
subscribers with the documented payload; subscribing, unsubscribing and errors."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import graphkit as gk
from graphkit import events
from graphkit.global_state import EVENT_KINDS, SUBSCRIBERS

L = gk.layers


@pytest.fixture
def received():
    """Subscribe a recorder to a kind (``record(kind)``); every subscription is dropped afterwards."""
    log: dict[str, list] = {}
    subscriptions = []

    def record(kind: str) -> list:
        calls = log.setdefault(kind, [])
        callback = events.subscribe(kind, lambda *payload: calls.append(payload))
        subscriptions.append((kind, callback))
        return calls

    yield record
    for kind, callback in subscriptions:
        events.unsubscribe(kind, callback)


def test_every_kind_starts_without_subscribers():
    assert all(getattr(SUBSCRIBERS, kind) == () for kind in EVENT_KINDS)


# ------------------------------------------------------------------ primitive
def test_primitive_event_forward_and_backward(received):
    calls = received("primitive")
    w = gk.Variable(np.array([2.0, 3.0], np.float32))
    x = gk.constant([1.0, 4.0])
    with gk.GradientTape() as tape:
        y = gk.ops.multiply(x, w)
    forward = [c for c in calls if c[6] == "forward"]
    assert len(forward) == 1
    prim, inputs, outputs, attrs, start, end, phase = forward[0]
    assert prim.name == "multiply" and inputs == (x, w) and outputs is y and attrs == {}
    assert isinstance(start, int) and isinstance(end, int) and start <= end
    tape.gradient(y, w)
    backward = [c for c in calls if c[6] == "backward"]
    assert len(backward) == 1
    prim, inputs, outputs, attrs, start, end, phase = backward[0]
    assert prim.name == "multiply" and inputs == (x, w) and outputs is None and start <= end


def test_observe_is_a_subscription_for_its_block_and_its_thread():
    seen, other_thread_done = [], threading.Event()

    def other_thread():
        gk.ops.exp(gk.constant(1.0))
        other_thread_done.set()

    with gk.observe(lambda prim, *rest: seen.append(prim.name)):
        assert len(SUBSCRIBERS.primitive) == 1
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
        gk.ops.negative(gk.constant(1.0))
    assert other_thread_done.is_set() and seen == ["negative"]
    assert SUBSCRIBERS.primitive == ()


# ----------------------------------------------------------------- layer_call
def test_symbolic_layer_call_event(received):
    calls = received("layer_call")
    x = gk.Input((3,), name="x")
    dense = L.Dense(2, name="fc")
    y = dense(x)
    assert len(calls) == 1
    layer, args, outputs, node, error, start, end = calls[0]
    assert layer is dense and args == (x,) and outputs is y and error is None
    assert node is dense._inbound_nodes[0] and start is None and end is None


def test_failed_symbolic_layer_call_event(received):
    calls = received("layer_call")
    a, b = gk.Input((3,)), gk.Input((5,))
    with pytest.raises(ValueError) as raised:
        L.add([a, b], name="mismatch")
    layer, args, outputs, node, error, start, end = calls[-1]
    assert layer.name == "mismatch" and args == ([a, b],)
    assert outputs is None and node is None and error is raised.value


def test_eager_layer_call_event_is_timed(received):
    calls = received("layer_call")
    dense = L.Dense(2, name="fc")
    data = np.ones((4, 3), np.float32)
    out = dense(data)
    assert len(calls) == 1
    layer, args, outputs, node, error, start, end = calls[0]
    assert layer is dense and outputs is out and node is None and error is None
    assert isinstance(args[0], gk.Tensor) and np.array_equal(args[0].numpy(), data)
    assert isinstance(start, int) and start <= end


def test_nested_eager_calls_each_publish(received):
    calls = received("layer_call")
    model = gk.Sequential([gk.Input((3,)), L.Dense(4, name="a"), L.Dense(2, name="b")])
    calls.clear()
    model(np.ones((1, 3), np.float32))
    names = [c[0].name for c in calls]
    assert "a" in names and "b" in names and model.name in names


def test_eager_call_that_raises_publishes_nothing(received):
    calls = received("layer_call")
    dense = L.Dense(2)
    dense(np.ones((1, 3), np.float32))
    calls.clear()
    with pytest.raises(ValueError):
        dense(np.ones((1, 4), np.float32))
    assert calls == []


# ---------------------------------------------------------------------- model
def test_model_events(received):
    calls = received("model")
    x = gk.Input((3,))
    model = gk.Model(x, L.Dense(2)(x))
    assert calls == [(model, None)]
    with pytest.raises(ValueError, match="disconnected|Disconnected") as raised:
        gk.Model(gk.Input((3,)), L.Dense(2)(x))
    failed, error = calls[-1]
    assert isinstance(failed, gk.Model) and error is raised.value
    calls.clear()
    sequential = gk.Sequential([gk.Input((3,))])
    sequential.add(L.Dense(2))
    assert calls and all(c == (sequential, None) for c in calls)


# ------------------------------------------------------- subscribe/unsubscribe
def test_unsubscribe_and_subscribed():
    seen = []

    def callback(*payload):
        seen.append(payload)

    events.subscribe("model", callback)
    events.unsubscribe("model", callback)
    events.unsubscribe("model", callback)  # a second time: nothing happens
    x = gk.Input((1,))
    gk.Model(x, x)
    assert seen == [] and SUBSCRIBERS.model == ()
    with events.subscribed("model", callback):
        gk.Model(x, x)
    gk.Model(x, x)
    assert len(seen) == 1 and SUBSCRIBERS.model == ()


def test_bound_methods_unsubscribe():
    class Watcher:
        def on_model(self, model, error):
            pass

    watcher = Watcher()
    events.subscribe("model", watcher.on_model)
    events.unsubscribe("model", watcher.on_model)  # a new bound-method object, equal to the first
    assert SUBSCRIBERS.model == ()


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="Unknown graphkit event kind 'layer'; valid kinds: primitive, layer_call"):
        events.subscribe("layer", print)


def test_a_subscribers_exception_propagates_from_publish():
    def broken(*payload):
        raise KeyError("boom")

    with events.subscribed("primitive", broken):
        with pytest.raises(KeyError, match="boom"):
            gk.constant(1.0) + 1.0
    with events.subscribed("layer_call", broken):
        with pytest.raises(KeyError, match="boom"):
            L.Dense(2)(gk.Input((3,)))
    with pytest.raises(KeyError, match="boom"):
        with events.subscribed("optimizer_update", broken):
            events.publish("optimizer_update", None, [], 0, 0)
    assert SUBSCRIBERS.primitive == SUBSCRIBERS.layer_call == SUBSCRIBERS.optimizer_update == ()
