"""Every monitoring callback follows one direction rule (MonitorCallback's): accuracy/AUC-like
values are maximised, losses minimised, a metric object's own direction wins over its name, and
an explicit ``mode`` wins over everything.

Each callback is driven through its hooks with a rising and a falling value under every mode,
and once through a real fit monitoring ``val_auc``.
"""
import numpy as np
import pytest

import graphkit as gk
from graphkit.callbacks import EarlyStopping, ModelCheckpoint, ReduceLROnPlateau

RISING, FALLING = [0.6, 0.7, 0.8, 0.9], [0.9, 0.8, 0.7, 0.6]
LR = 0.01


class _Optimizer:
    learning_rate = LR


class _Model:
    """What the monitoring callbacks touch: weights, optimizer, stop_training, saving, metrics."""

    def __init__(self, metrics=()):
        self.metrics = list(metrics)
        self.optimizer = _Optimizer()
        self.stop_training = False
        self.saved_epochs = []
        self.epoch = 0

    def get_weights(self):
        return [np.full(2, self.epoch)]

    def set_weights(self, weights):
        pass

    def save(self, path):
        self.saved_epochs.append(self.epoch)

    save_weights = save


def _run(callback, monitor, values, model=None):
    """Epoch-end hooks with ``logs[monitor] = values[epoch]``; returns the model and the learning
    rate seen at each epoch end."""
    model = model or _Model()
    callback.set_model(model)
    callback.on_train_begin()
    rates = []
    for epoch, value in enumerate(values):
        model.epoch = epoch
        callback.on_epoch_begin(epoch)
        callback.on_epoch_end(epoch, {"loss": 1.0, monitor: value})
        rates.append(model.optimizer.learning_rate)
        if model.stop_training:
            break
    return model, rates


def _make(kind, monitor, mode):
    if kind == "early_stopping":
        return EarlyStopping(monitor=monitor, mode=mode, patience=1)
    if kind == "checkpoint":
        return ModelCheckpoint("unused.gk", monitor=monitor, mode=mode, save_best_only=True)
    return ReduceLROnPlateau(monitor=monitor, mode=mode, patience=1, factor=0.5, min_delta=0.0)


def _improved_every_epoch(kind, model, rates) -> bool:
    """Whether the callback treated each of the four values as an improvement."""
    if kind == "early_stopping":
        return not model.stop_training and model.epoch == 3
    if kind == "checkpoint":
        return model.saved_epochs == [0, 1, 2, 3]
    return rates == [LR] * 4


def _never_improved_after_the_first(kind, model, rates) -> bool:
    if kind == "early_stopping":
        return model.stop_training and model.epoch == 1
    if kind == "checkpoint":
        return model.saved_epochs == [0]
    return rates == pytest.approx([LR, LR / 2, LR / 4, LR / 8])  # 0.01 -> 0.00125, the reported bug


KINDS = ["early_stopping", "checkpoint", "reduce_lr"]
AUTO_DIRECTION = {"val_auc": "max", "val_accuracy": "max", "val_precision": "max", "val_recall": "max",
                  "val_f1_score": "max", "val_loss": "min", "val_mean_squared_error": "min"}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode", ["auto", "min", "max"])
@pytest.mark.parametrize("monitor", sorted(AUTO_DIRECTION))
@pytest.mark.parametrize("trend", ["rising", "falling"])
def test_each_callback_follows_the_direction_rule(kind, mode, monitor, trend):
    direction = AUTO_DIRECTION[monitor] if mode == "auto" else mode
    model, rates = _run(_make(kind, monitor, mode), monitor, RISING if trend == "rising" else FALLING)
    improving = (direction == "max") == (trend == "rising")
    if improving:
        assert _improved_every_epoch(kind, model, rates)
    else:
        assert _never_improved_after_the_first(kind, model, rates)


class _Metric:
    def __init__(self, name, direction):
        self.name, self._direction = name, direction


class _CompiledMetrics:
    """A compiled-metrics container: the metric objects sit in its ``metrics``."""

    name = "compile_metrics"

    def __init__(self, *metrics):
        self.metrics = list(metrics)


@pytest.mark.parametrize("kind", KINDS)
def test_a_metric_objects_direction_decides_under_auto(kind):
    # "error_rate" reads as a minimised name, but the metric object says it goes up.
    model = _Model([_CompiledMetrics(_Metric("error_rate", "up"))])
    model, rates = _run(_make(kind, "val_error_rate", "auto"), "val_error_rate", RISING, model)
    assert _improved_every_epoch(kind, model, rates)


@pytest.mark.parametrize("kind", KINDS)
def test_an_unknown_direction_under_auto_asks_for_a_mode(kind):
    with pytest.raises(ValueError, match=r"monitor=val_widgetness.*mode='max'"):
        _run(_make(kind, "val_widgetness", "auto"), "val_widgetness", RISING)
    model, rates = _run(_make(kind, "val_widgetness", "max"), "val_widgetness", RISING)
    assert _improved_every_epoch(kind, model, rates)


@pytest.mark.parametrize("kind", KINDS)
def test_an_unknown_mode_warns_and_falls_back_to_auto(kind):
    with pytest.warns(UserWarning, match="mode 'sideways' is unknown"):
        callback = _make(kind, "val_auc", "sideways")
    model, rates = _run(callback, "val_auc", RISING)
    assert _improved_every_epoch(kind, model, rates)


def test_real_fit_monitoring_val_auc_keeps_the_best_epoch_and_the_learning_rate(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = ((x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=1.5, size=256)) > 0).astype("float32")[:, None]
    inputs = gk.Input((8,))
    model = gk.Model(inputs, gk.layers.Dense(1, activation="sigmoid", kernel_initializer="zeros")(inputs))
    model.compile(optimizer=gk.optimizers.SGD(learning_rate=0.01), loss="binary_crossentropy",
                  metrics=[gk.metrics.AUC()])
    checkpoint = ModelCheckpoint(str(tmp_path / "e{epoch}.weights.npz"), monitor="val_auc", save_best_only=True)
    plateau = ReduceLROnPlateau(monitor="val_auc", patience=1, factor=0.5, min_delta=0.0)
    rates = []
    record_rate = gk.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: rates.append(float(model.optimizer.learning_rate)))
    history = model.fit(x[:192], y[:192], validation_data=(x[192:], y[192:]), batch_size=32, epochs=5,
                        shuffle=False, verbose=0, callbacks=[checkpoint, plateau, record_rate])

    aucs = history.history["val_auc"]
    best_before = np.maximum.accumulate([-np.inf] + aucs[:-1])
    improved = [epoch for epoch, auc in enumerate(aucs) if auc > best_before[epoch]]
    assert len(improved) > 1, f"val_auc never rose ({aucs}): the test would prove nothing"
    saved = sorted(int(path.name[1:].split(".")[0]) - 1 for path in tmp_path.iterdir())
    assert saved == improved
    assert checkpoint.best == pytest.approx(max(aucs))
    # The rate is halved after each epoch that did not raise val_auc (patience 1), kept otherwise.
    expected, rate = [], 0.01
    for epoch in range(len(aucs)):
        rate = rate if epoch in improved else rate / 2
        expected.append(rate)
    assert rates == pytest.approx(expected)
