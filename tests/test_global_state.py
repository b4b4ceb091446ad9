"""graphkit.global_state: clear_session resets all run-time state, and a thread training in the
background never disturbs the model the main thread builds (nor the other way round)."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import graphkit as gk
from graphkit import events, global_state
from graphkit.global_state import EVENT_KINDS, PROCESS, SUBSCRIBERS, THREAD

L = gk.layers


def run_in_thread(target) -> threading.Thread:
    """Start ``target`` in a thread that re-raises its exception on ``join_checked()``."""
    errors = []

    def guarded():
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            errors.append(exc)

    thread = threading.Thread(target=guarded, daemon=True)

    def join_checked():
        thread.join(timeout=60)
        assert not thread.is_alive(), "the background thread did not finish"
        if errors:
            raise errors[0]

    thread.join_checked = join_checked
    thread.start()
    return thread


# -------------------------------------------------------------------- clear_session
def test_clear_session_is_one_function_everywhere():
    from graphkit.layers.layer import clear_session
    assert gk.utils.clear_session is global_state.clear_session is clear_session


def test_clear_session_resets_names_thread_state_subscribers_and_hooks():
    assert L.Dense(1).name == "dense" and L.Dense(1).name == "dense_1"
    for kind in EVENT_KINDS:
        events.subscribe(kind, print)
    resets = []
    hook = global_state.on_reset(lambda: resets.append(True))
    backend, seed = PROCESS.ops, PROCESS.default_seed
    try:
        gk.name_scope("outer").__enter__()
        gk.GradientTape().__enter__()
        THREAD.call_training = True
        gk.utils.clear_session()
        assert THREAD.tapes == () and THREAD.scope_stack == [] and THREAD.call_training is None
        assert all(getattr(SUBSCRIBERS, kind) == () for kind in EVENT_KINDS)
        assert resets == [True]
        assert PROCESS.ops is backend and PROCESS.default_seed == seed  # kept, as Keras keeps its backend
    finally:
        PROCESS.reset_hooks.remove(hook)
    assert L.Dense(1).name == "dense"


def test_clear_session_stops_live_views_recording():
    view = gk.live()
    gk.utils.clear_session()
    x = gk.Input((2,), name="x")
    L.Dense(2)(x)
    assert view.nodes == []
    view.close()


# ------------------------------------------------------------------------- threads
def test_names_are_unique_across_threads():
    names = []
    lock = threading.Lock()

    def make_layers():
        made = [L.Dense(1).name for _ in range(200)]
        with lock:
            names.extend(made)

    threads = [run_in_thread(make_layers) for _ in range(4)]
    for thread in threads:
        thread.join_checked()
    assert len(names) == len(set(names)) == 800


def test_tapes_scopes_and_training_flags_are_per_thread():
    """A background thread holds a tape open, inside a name scope and a training=True call, while
    the main thread builds and runs a model: neither sees the other's state."""
    background_inside, main_done = threading.Event(), threading.Event()
    seen = {}

    class Blocking(L.Layer):
        def call(self, inputs, training=None):
            seen["background_training"] = THREAD.call_training
            background_inside.set()
            assert main_done.wait(30)
            return inputs * 2.0

    w = gk.Variable(np.array([3.0], np.float32))

    def background():
        with gk.name_scope("background"), gk.GradientTape() as tape:
            y = Blocking()(gk.constant([1.0]) * w, training=True)
            seen["background_variable"] = gk.Variable(1.0, name="v").name
            loss = gk.ops.sum(y)
        seen["gradient"] = tape.gradient(loss, w).numpy()

    thread = run_in_thread(background)
    assert background_inside.wait(30)
    # main thread, while the background tape records inside its scope and training call
    assert THREAD.tapes == () and THREAD.scope_stack == [] and THREAD.call_training is None
    x = gk.Input((3,), name="x")
    model = gk.Model(x, L.Dense(2, name="out")(L.Dropout(0.5, name="drop")(x)))
    data = np.ones((4, 3), np.float32)
    out = model(data)  # training unset here: Dropout must be inference (the background call is training)
    np.testing.assert_allclose(out.numpy(), model.predict(data, verbose=0), rtol=1e-6)
    assert out._node is None  # no tape recorded it
    assert model.layers[-1].kernel.name == "out/kernel"  # no "background/" prefix
    main_done.set()
    thread.join_checked()
    assert seen["background_training"] is True and seen["background_variable"] == "background/v"
    np.testing.assert_allclose(seen["gradient"], [2.0])


def test_fit_in_a_background_thread_while_the_main_thread_builds_with_a_live_view():
    x_data = np.random.default_rng(0).random((64, 4), dtype=np.float32)
    y_data = (x_data.sum(axis=1, keepdims=True) > 2).astype(np.float32)
    gk.random.set_seed(0)
    trained = gk.Sequential([gk.Input((4,)), L.Dense(8, activation="relu"), L.Dense(1)], name="trained")
    trained.compile(optimizer="adam", loss="mse")
    before = trained.evaluate(x_data, y_data, verbose=0)
    history = {}

    def background():
        history["loss"] = trained.fit(x_data, y_data, epochs=30, batch_size=8, verbose=0).history["loss"]

    view = gk.live()
    try:
        thread = run_in_thread(background)
        built = []
        for index in range(10):  # build models while the background thread trains
            inputs = gk.Input((3,), name=f"in{index}")
            built.append(gk.Model(inputs, L.Dense(2)(L.Dense(4)(inputs)), name=f"m{index}"))
            assert THREAD.tapes == ()
        thread.join_checked()
    finally:
        view.close()
    assert len(history["loss"]) == 30 and history["loss"][-1] < before
    layer_names = [layer.name for model in built for layer in model.layers] + [l.name for l in trained.layers]
    assert len(layer_names) == len(set(layer_names))
    drawn = {node["id"] for node in view.nodes}
    assert {f"in{index}" for index in range(10)} <= drawn
    assert not drawn & {layer.name for layer in trained.layers}  # the training thread's eager calls are not drawn
    for model in built:
        assert model(np.ones((1, 3), np.float32)).shape == (1, 2)


@pytest.mark.parametrize("kind", ["primitive", "layer_call"])
def test_events_from_a_background_thread_reach_subscribers(kind):
    """Subscribers are process-wide (they filter on what they watch)."""
    threads_seen = set()
    with events.subscribed(kind, lambda *payload: threads_seen.add(threading.get_ident())):
        run_in_thread(lambda: L.Dense(1)(np.ones((1, 2), np.float32))).join_checked()
    assert threads_seen and threading.get_ident() not in threads_seen
