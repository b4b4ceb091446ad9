"""The training loops' events (graphkit.events), callbacks as their subscribers, and the step
dispatcher's override detection."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import graphkit as gk
from graphkit import events, layers
from graphkit.callbacks import Callback
from graphkit.global_state import EVENT_KINDS, SUBSCRIBERS
from graphkit.training.step_dispatch import dispatch_for

TRAINING_KINDS = ("run_begin", "run_end", "epoch_begin", "epoch_end", "batch_begin", "batch_end")


def data(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)).astype("float32"), rng.integers(0, 2, n).astype("int32")


def classifier(name=None):
    inputs = gk.Input(shape=(3,))
    model = gk.Model(inputs, layers.Dense(2)(layers.Dense(4, activation="relu")(inputs)), name=name)
    model.compile(optimizer="sgd", loss=gk.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


class Recorder:
    """Subscribes to every training event; ``events`` lists ``(kind, *payload)``."""

    def __init__(self, kinds=TRAINING_KINDS):
        self.kinds = kinds
        self.events: list = []

    def __enter__(self):
        self.handlers = [(kind, lambda *payload, kind=kind: self.events.append((kind, *payload)))
                         for kind in self.kinds]
        for kind, handler in self.handlers:
            events.subscribe(kind, handler)
        return self

    def __exit__(self, *exc):
        for kind, handler in self.handlers:
            events.unsubscribe(kind, handler)

    def sequence(self):
        """The events without models and logs: ``(kind, mode or epoch[, batch])``."""
        return [(kind, *rest[:2]) if kind.startswith("batch") else (kind, rest[0])
                for kind, _model, *rest in self.events]


class HookLog(Callback):
    """Records every Keras hook (``on_*``) called on it: ``(hook name, *arguments)``."""

    def __init__(self):
        super().__init__()
        self.calls: list = []

    def __getattribute__(self, name):
        if name.startswith("on_"):
            return lambda *args: self.calls.append((name, *args))
        return super().__getattribute__(name)


def no_training_subscribers():
    return all(not getattr(SUBSCRIBERS, kind) for kind in TRAINING_KINDS)


def test_fit_with_validation_publishes_runs_epochs_and_batches_in_order():
    x, y = data(8)
    vx, vy = data(4, seed=1)
    model = classifier()
    with Recorder() as rec:
        history = model.fit(x, y, batch_size=4, epochs=2, validation_data=(vx, vy), verbose=0)
    expected = [("run_begin", "train")]
    for e in range(2):
        expected += [("epoch_begin", e), ("batch_begin", "train", 0), ("batch_end", "train", 0),
                     ("batch_begin", "train", 1), ("batch_end", "train", 1),
                     ("run_begin", "test"), ("batch_begin", "test", 0), ("batch_end", "test", 0),
                     ("run_end", "test"), ("epoch_end", e)]
    expected.append(("run_end", "train"))
    assert rec.sequence() == expected
    assert all(event[1] is model for event in rec.events)
    by_kind = {}
    for kind, _, *rest in rec.events:
        by_kind.setdefault(kind, []).append(rest)
    # begin events carry no logs (as Keras's hooks); ends carry the logs the callbacks get
    assert all(rest[-1] is None for rest in by_kind["batch_begin"] + by_kind["epoch_begin"])
    train_batch_logs = [rest[-1] for rest in by_kind["batch_end"] if rest[0] == "train"]
    assert all({"loss", "accuracy"} <= set(logs) for logs in train_batch_logs)
    last_epoch_logs = by_kind["epoch_end"][-1][-1]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(last_epoch_logs)
    assert history.history["val_loss"][-1] == pytest.approx(last_epoch_logs["val_loss"])
    assert by_kind["run_end"][-1] == ["train", last_epoch_logs]
    assert no_training_subscribers()


def test_evaluate_and_predict_publish_their_runs():
    x, y = data(6)
    model = classifier()
    with Recorder() as rec:
        logs = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
    assert rec.sequence() == [("run_begin", "test"), ("batch_begin", "test", 0), ("batch_end", "test", 0),
                              ("batch_begin", "test", 1), ("batch_end", "test", 1), ("run_end", "test")]
    assert rec.events[-1] == ("run_end", model, "test", logs)

    with Recorder() as rec:
        out = model.predict(x, batch_size=4, verbose=0)
    assert rec.sequence() == [("run_begin", "predict"), ("batch_begin", "predict", 0),
                              ("batch_end", "predict", 0), ("batch_begin", "predict", 1),
                              ("batch_end", "predict", 1), ("run_end", "predict")]
    batch_outputs = [event[-1]["outputs"] for event in rec.events if event[0] == "batch_end"]
    np.testing.assert_array_equal(np.concatenate(batch_outputs), out)
    assert no_training_subscribers()


def test_steps_per_execution_publishes_one_batch_pair_per_execution():
    x, y = data(12)
    model = classifier()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", steps_per_execution=2)
    with Recorder(("batch_begin", "batch_end")) as rec:
        model.fit(x, y, batch_size=2, epochs=1, verbose=0)
    assert rec.sequence() == [("batch_begin", "train", 0), ("batch_end", "train", 1),
                              ("batch_begin", "train", 2), ("batch_end", "train", 3),
                              ("batch_begin", "train", 4), ("batch_end", "train", 5)]


def test_optimizer_update_is_published_once_per_training_batch_with_timing():
    x, y = data(8)
    model = classifier()
    updates = []
    with events.subscribed("optimizer_update", lambda *payload: updates.append(payload)):
        model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    assert len(updates) == 4
    for optimizer, variables, start_ns, end_ns in updates:
        assert optimizer is model.optimizer
        assert [id(v) for v in variables] == [id(v) for v in model.trainable_weights]
        assert 0 < start_ns <= end_ns
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert len(updates) == 4 and not SUBSCRIBERS.optimizer_update


def test_callbacks_hear_every_keras_hook_through_the_events():
    x, y = data(8)
    vx, vy = data(4, seed=1)
    model = classifier()
    log = HookLog()
    model.fit(x, y, batch_size=4, epochs=1, validation_data=(vx, vy), verbose=0, callbacks=[log])
    names = [call[0] for call in log.calls]
    assert names == ["on_train_begin", "on_epoch_begin", "on_train_batch_begin", "on_train_batch_end",
                     "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_batch_begin",
                     "on_test_batch_end", "on_test_end", "on_epoch_end", "on_train_end"]
    assert log.calls[0] == ("on_train_begin", {})
    assert log.calls[2] == ("on_train_batch_begin", 0, {})
    epoch_end = log.calls[-2]
    assert epoch_end[1] == 0 and {"loss", "val_loss"} <= set(epoch_end[2])
    assert all(isinstance(v, float) for v in epoch_end[2].values())  # pythonified, as Keras 3


def test_a_background_fit_does_not_reach_another_models_callbacks():
    x, y = data(8)
    first, second = classifier("first"), classifier("second")
    first_log, second_log = HookLog(), HookLog()
    first_paused, second_done = threading.Event(), threading.Event()
    errors = []

    class PauseAfterFirstEpoch(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                first_paused.set()
                assert second_done.wait(timeout=60)

    def train_first():
        try:
            first.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[first_log, PauseAfterFirstEpoch()])
        except Exception as exc:  # surfaced in the main thread below
            errors.append(exc)

    thread = threading.Thread(target=train_first)
    thread.start()
    assert first_paused.wait(timeout=60)
    second.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[second_log])  # while first is mid-fit
    second_done.set()
    thread.join(timeout=60)
    assert not errors
    epochs_of = lambda log: [call[1] for call in log.calls if call[0] == "on_epoch_end"]  # noqa: E731
    assert epochs_of(first_log) == [0, 1]
    assert epochs_of(second_log) == [0, 1, 2]
    assert [c[0] for c in first_log.calls].count("on_train_batch_end") == 4
    assert [c[0] for c in second_log.calls].count("on_train_batch_end") == 6
    assert no_training_subscribers()


def test_an_evaluate_inside_a_callback_calls_only_its_own_callbacks():
    x, y = data(8)
    model = classifier()
    outer, inner = HookLog(), HookLog()

    class EvaluateEachEpoch(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.evaluate(x, y, verbose=0, callbacks=[inner])

    model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[outer, EvaluateEachEpoch()])
    assert not any(call[0].startswith("on_test") for call in outer.calls)
    assert [call[0] for call in inner.calls].count("on_test_begin") == 2


def test_a_raising_callback_stops_fit_and_leaves_no_subscriber():
    x, y = data(8)
    model = classifier()

    class Boom(Callback):
        def on_train_batch_end(self, batch, logs=None):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[Boom()])
    assert no_training_subscribers()


def test_stop_training_from_an_event_subscriber_ends_fit():
    x, y = data(16)
    model = classifier()

    def stop(model_, mode, batch, logs):
        if mode == "train" and batch == 1:
            model_.stop_training = True

    with Recorder(("epoch_end", "batch_end")) as rec, events.subscribed("batch_end", stop):
        model.fit(x, y, batch_size=4, epochs=3, verbose=0)
    assert rec.sequence() == [("batch_end", "train", 0), ("batch_end", "train", 1), ("epoch_end", 0)]


def test_fit_leaves_no_subscriber_behind():
    x, y = data(8)
    classifier().fit(x, y, batch_size=4, verbose=0)
    assert all(getattr(SUBSCRIBERS, kind) == () for kind in EVENT_KINDS)


# ----------------------------------------------------------------------- step dispatch

def test_step_dispatch_detects_overrides_once_per_class():
    class Plain(gk.Model):
        def call(self, x):
            return x

    class CustomTrain(Plain):
        def train_step(self, data):
            return super().train_step(data)

    class Inherits(CustomTrain):
        pass

    class CustomLoss(Plain):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None):
            return super().compute_loss(x, y, y_pred, sample_weight)

    class CustomLossWithTraining(Plain):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            return super().compute_loss(x, y, y_pred, sample_weight, training)

        def test_step(self, data):
            return super().test_step(data)

        def predict_step(self, data):
            return super().predict_step(data)

    flags = lambda cls: (dispatch_for(cls).custom_train_step, dispatch_for(cls).custom_test_step,  # noqa: E731
                         dispatch_for(cls).custom_predict_step, dispatch_for(cls).custom_compute_loss)
    assert flags(gk.Model) == flags(Plain) == flags(gk.Sequential) == (False, False, False, False)
    assert flags(CustomTrain) == flags(Inherits) == (True, False, False, False)
    assert flags(CustomLoss) == (False, False, False, True)
    assert flags(CustomLossWithTraining) == (False, True, True, True)
    assert not dispatch_for(CustomLoss).compute_loss_takes_training
    assert dispatch_for(CustomLossWithTraining).compute_loss_takes_training
    assert dispatch_for(CustomTrain) is dispatch_for(CustomTrain)


def test_an_overridden_train_step_is_what_fit_and_train_on_batch_run():
    x, y = data(8)
    seen = []

    class Counting(gk.models.Functional):
        def train_step(self, data):
            seen.append(len(data))
            return {"loss": 0.5, "custom": 1.0}

    inputs = gk.Input(shape=(3,))
    model = Counting(inputs, layers.Dense(2)(inputs))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert seen == [2, 2] and history.history == {"loss": [0.5], "custom": [1.0]}
    assert model.train_on_batch(x, y, return_dict=True) == {"custom": 1.0, "loss": 0.5}
    assert int(np.asarray(model.optimizer.iterations)) == 0  # the built-in step never ran
