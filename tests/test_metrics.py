"""gk.metrics: values against numpy over several batches, sample weights, reset, state variables,
AUC against an independent threshold loop, lookup, configs and the compile-time accuracy rule."""
from __future__ import annotations

import numpy as np
import pytest

import graphkit as gk

rng = np.random.default_rng(11)
M = gk.metrics


def batches(*arrays, size=7):
    n = len(arrays[0])
    for start in range(0, n, size):
        yield tuple(a[start:start + size] for a in arrays)


def run(metric, y_true, y_pred, sample_weight=None, size=7):
    """Feed ``metric`` in batches; return its result as a float."""
    metric.reset_state()
    arrays = (y_true, y_pred) if sample_weight is None else (y_true, y_pred, sample_weight)
    for batch in batches(*arrays, size=size):
        metric.update_state(*batch[:2], sample_weight=batch[2] if len(batch) == 3 else None)
    result = metric.result()
    assert isinstance(result, gk.Tensor) and result.shape == () and result.dtype == np.float32
    return float(result)


N, C = 40, 5
LABELS = rng.integers(0, C, N)
ONEHOT = np.eye(C, dtype=np.float32)[LABELS]
SCORES = rng.standard_normal((N, C)).astype(np.float32)
WEIGHTS = rng.uniform(0, 2, N).astype(np.float32)
BINARY = rng.integers(0, 2, (N, 1)).astype(np.float32)
PROBS = rng.uniform(0, 1, (N, 1)).astype(np.float32)
TARGETS = rng.standard_normal((N, 3)).astype(np.float32)
PREDS = rng.standard_normal((N, 3)).astype(np.float32)


def wmean(values, weights=None):
    return float(np.average(values, weights=weights))


# ----------------------------------------------------------------------------- accuracy
@pytest.mark.parametrize("weights", [None, WEIGHTS], ids=["unweighted", "weighted"])
def test_accuracies_match_numpy(weights):
    hits = (SCORES.argmax(1) == LABELS).astype(float)
    assert run(M.SparseCategoricalAccuracy(), LABELS, SCORES, weights) == pytest.approx(wmean(hits, weights), abs=1e-6)
    assert run(M.SparseCategoricalAccuracy(), LABELS[:, None].astype(np.float32), SCORES, weights) == \
        pytest.approx(wmean(hits, weights), abs=1e-6)
    assert run(M.CategoricalAccuracy(), ONEHOT, SCORES, weights) == pytest.approx(wmean(hits, weights), abs=1e-6)
    binary_hits = ((PROBS > 0.5) == BINARY).astype(float)[:, 0]
    assert run(M.BinaryAccuracy(), BINARY, PROBS, weights) == pytest.approx(wmean(binary_hits, weights), abs=1e-6)
    assert run(M.BinaryAccuracy(), BINARY[:, 0], PROBS, weights) == pytest.approx(wmean(binary_hits, weights), abs=1e-6)
    hits_07 = ((PROBS > 0.7) == BINARY).astype(float)[:, 0]
    assert run(M.BinaryAccuracy(threshold=0.7), BINARY, PROBS, weights) == pytest.approx(wmean(hits_07, weights),
                                                                                         abs=1e-6)
    exact = (LABELS == SCORES.argmax(1)).astype(float)
    assert run(M.Accuracy(), LABELS[:, None], SCORES.argmax(1)[:, None], weights) == \
        pytest.approx(wmean(exact, weights), abs=1e-6)


def test_top_k_accuracy_with_ties_and_large_k():
    rank = (-SCORES).argsort(1).argsort(1)[np.arange(N), LABELS]  # 0 = best
    for k in (1, 2, 3):
        expected = (rank < k).mean()
        assert run(M.TopKCategoricalAccuracy(k=k), ONEHOT, SCORES) == pytest.approx(expected, abs=1e-6)
        assert run(M.SparseTopKCategoricalAccuracy(k=k), LABELS, SCORES) == pytest.approx(expected, abs=1e-6)
    assert run(M.TopKCategoricalAccuracy(), ONEHOT, SCORES) == 1.0  # k=5 >= 5 classes
    tied = np.array([[0.5, 0.5, 0.1], [0.2, 0.3, 0.5]], np.float32)
    # Keras counts a target tied with the k-th largest score as a hit
    assert run(M.SparseTopKCategoricalAccuracy(k=1), np.array([1, 0]), tied) == pytest.approx(0.5)


def test_accumulates_over_batches_and_resets():
    metric = M.SparseCategoricalAccuracy()
    metric.update_state([0, 1], [[0.9, 0.1], [0.8, 0.2]])
    assert float(metric.result()) == 0.5
    metric.update_state([1, 1], [[0.1, 0.9], [0.3, 0.7]])
    assert float(metric.result()) == 0.75
    total, count = metric.variables
    assert float(total.numpy()) == 3 and float(count.numpy()) == 4
    metric.reset_state()
    assert float(metric.result()) == 0.0 and float(count.numpy()) == 0
    assert float(metric([1], [[0.2, 0.8]])) == 1.0  # __call__ updates then reports


def test_state_lives_in_non_trainable_variables():
    metric = M.Mean(name="loss_mean")
    assert [v.name for v in metric.variables] == ["loss_mean/total", "loss_mean/count"]
    assert all(isinstance(v, gk.Variable) and not v.trainable for v in metric.variables)
    assert metric.trainable_variables == [] and metric.non_trainable_variables == metric.variables
    metric.update_state([1.0, 2.0, 6.0])
    saved = [v.numpy().copy() for v in metric.variables]
    fresh = M.Mean(name="loss_mean")
    for v, value in zip(fresh.variables, saved):  # what restoring a checkpoint does
        v.assign(value)
    assert float(fresh.result()) == 3.0
    auc = M.AUC(num_thresholds=50)
    assert [v.name.split("/")[-1] for v in auc.variables] == ["true_positives", "false_positives",
                                                             "true_negatives", "false_negatives"]
    assert all(v.shape == (50,) for v in auc.variables)


def test_updates_record_nothing_on_the_tape():
    calls = []
    y_pred = gk.Variable(SCORES)
    metrics = [M.SparseCategoricalAccuracy(), M.AUC(), M.MeanSquaredError(), M.RootMeanSquaredError(),
               M.TopKCategoricalAccuracy(k=2)]
    with gk.GradientTape() as tape, gk.observe(lambda *a: calls.append(a[0].name)):
        metrics[0].update_state(LABELS, y_pred)
        metrics[1].update_state(ONEHOT, gk.ops.sigmoid(y_pred))
        calls.clear()
        metrics[1].update_state(ONEHOT, y_pred.numpy().clip(0, 1))
        metrics[2].update_state(SCORES, y_pred)
        metrics[3].update_state(SCORES, y_pred)
        metrics[4].update_state(ONEHOT, y_pred)
        for m in metrics:
            m.result()
        assert calls == []
        total = gk.ops.sum(y_pred)
    assert tape.gradient(total, y_pred) is not None


def test_metrics_on_a_non_numpy_array_module():
    class Proxy:
        def __getattr__(self, name):
            return getattr(np, name)

    with gk.backend.use(gk.backend.Ops(Proxy())):
        hits = (SCORES.argmax(1) == LABELS).astype(float)
        assert run(M.SparseCategoricalAccuracy(), LABELS, SCORES, WEIGHTS) == pytest.approx(wmean(hits, WEIGHTS),
                                                                                            abs=1e-6)
        assert run(M.AUC(), AUC_TRUE, AUC_PRED, AUC_W, size=64) == pytest.approx(
            reference_auc(AUC_TRUE, AUC_PRED, weights=AUC_W), abs=2e-5)
        rank = (-SCORES).argsort(1).argsort(1)[np.arange(N), LABELS]
        assert run(M.SparseTopKCategoricalAccuracy(k=2), LABELS, SCORES) == pytest.approx((rank < 2).mean())


# --------------------------------------------------------------------------- reductions
def test_mean_and_sum_with_weights_and_matrices():
    values = rng.standard_normal((N, 3)).astype(np.float32)
    mean = M.Mean()
    mean.update_state(values)  # per-sample mean over the non-batch axes, then the mean over samples
    assert float(mean.result()) == pytest.approx(values.mean(), abs=1e-5)
    mean.reset_state()
    mean.update_state(values, sample_weight=WEIGHTS)
    assert float(mean.result()) == pytest.approx(wmean(values.mean(1), WEIGHTS), abs=1e-5)
    mean.reset_state()
    mean.update_state(values, sample_weight=np.tile(WEIGHTS[:, None], 3))
    assert float(mean.result()) == pytest.approx(wmean(values.mean(1), WEIGHTS), abs=1e-5)
    mean.reset_state()
    mean.update_state(2.0)
    mean.update_state(4.0, sample_weight=3)
    assert float(mean.result()) == pytest.approx((2 + 12) / 4)
    total = M.Sum()
    total.update_state(values, sample_weight=WEIGHTS)
    assert float(total.result()) == pytest.approx((values.sum(1) * WEIGHTS).sum(), rel=1e-5)
    assert float(M.Mean().result()) == 0.0  # no data: 0, not NaN


@pytest.mark.parametrize("weights", [None, WEIGHTS], ids=["unweighted", "weighted"])
def test_regression_metrics_match_numpy(weights):
    sq = ((TARGETS - PREDS) ** 2).mean(1)
    ab = np.abs(TARGETS - PREDS).mean(1)
    assert run(M.MeanSquaredError(), TARGETS, PREDS, weights) == pytest.approx(wmean(sq, weights), rel=1e-5)
    assert run(M.MeanAbsoluteError(), TARGETS, PREDS, weights) == pytest.approx(wmean(ab, weights), rel=1e-5)
    assert run(M.RootMeanSquaredError(), TARGETS, PREDS, weights) == pytest.approx(np.sqrt(wmean(sq, weights)),
                                                                                   rel=1e-5)
    # (N,) targets for (N, 1) predictions
    assert run(M.MeanAbsoluteError(), TARGETS[:, 0], PREDS[:, :1], weights) == \
        pytest.approx(wmean(np.abs(TARGETS[:, 0] - PREDS[:, 0]), weights), rel=1e-5)


def test_crossentropy_metrics_use_the_loss_functions():
    expected = gk.losses.sparse_categorical_crossentropy(LABELS, SCORES, from_logits=True).numpy()
    assert run(M.SparseCategoricalCrossentropy(from_logits=True), LABELS, SCORES) == \
        pytest.approx(expected.mean(), rel=1e-5)
    expected = gk.losses.binary_crossentropy(BINARY, PROBS).numpy()
    assert run(M.BinaryCrossentropy(), BINARY, PROBS, WEIGHTS) == pytest.approx(wmean(expected, WEIGHTS), rel=1e-5)


def test_mean_metric_wrapper_with_a_custom_function_and_mask():
    metric = M.MeanMetricWrapper(lambda t, p: gk.ops.mean(gk.ops.abs(p - t), axis=-1), name="l1")
    assert run(metric, TARGETS, PREDS) == pytest.approx(np.abs(TARGETS - PREDS).mean(), rel=1e-5)
    y_pred = gk.constant(PREDS)
    mask = np.arange(N) % 3 != 0
    y_pred._keras_mask = gk.constant(mask)
    metric = M.MeanAbsoluteError()
    metric.update_state(TARGETS, y_pred)
    assert float(metric.result()) == pytest.approx(np.abs(TARGETS - PREDS).mean(1)[mask].mean(), rel=1e-5)


# -------------------------------------------------------------------------------- AUC
def reference_auc(y_true, y_pred, num_thresholds=200, curve="ROC", summation="interpolation", weights=None,
                  thresholds=None):
    """Confusion counts by looping over thresholds (predictions strictly above count as positive),
    then Keras's curve sums."""
    y_true = np.asarray(y_true, np.float64).ravel()
    y_pred = np.asarray(y_pred, np.float64).ravel()
    w = np.ones_like(y_true) if weights is None else np.broadcast_to(np.asarray(weights, np.float64).reshape(
        len(weights), *([1] * (np.ndim(y_pred) - 1))), np.shape(y_pred)).ravel()
    if thresholds is None:
        thresholds = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    thresholds = [-1e-7] + list(thresholds) + [1 + 1e-7]
    tp, fp, tn, fn = (np.zeros(len(thresholds)) for _ in range(4))
    for i, t in enumerate(thresholds):
        above = y_pred > t
        tp[i] = w[above & (y_true > 0)].sum()
        fp[i] = w[above & (y_true == 0)].sum()
        fn[i] = w[~above & (y_true > 0)].sum()
        tn[i] = w[~above & (y_true == 0)].sum()

    def div(a, b):
        return np.divide(a, b, out=np.zeros_like(a), where=b != 0)

    if curve == "PR" and summation == "interpolation":
        total = 0.0
        for i in range(len(thresholds) - 1):
            dtp, p0, p1 = tp[i] - tp[i + 1], tp[i] + fp[i], tp[i + 1] + fp[i + 1]
            dp = p0 - p1
            slope = dtp / dp if dp > 0 else 0.0
            intercept = tp[i + 1] - slope * p1
            ratio = p0 / p1 if p0 > 0 and p1 > 0 else 1.0
            denom = tp[i + 1] + fn[i + 1]
            total += slope * (dtp + intercept * np.log(ratio)) / denom if denom > 0 else 0.0
        return total
    recall = div(tp, tp + fn)
    x, y = (div(fp, fp + tn), recall) if curve == "ROC" else (recall, div(tp, tp + fp))
    heights = {"interpolation": (y[:-1] + y[1:]) / 2, "minoring": np.minimum(y[:-1], y[1:]),
               "majoring": np.maximum(y[:-1], y[1:])}[summation]
    return float(((x[:-1] - x[1:]) * heights).sum())


AUC_TRUE = rng.integers(0, 2, 300).astype(np.float32)
AUC_PRED = np.clip(AUC_TRUE * 0.3 + rng.uniform(0, 0.7, 300), 0, 1).astype(np.float32)
AUC_W = rng.uniform(0, 2, 300).astype(np.float32)


@pytest.mark.parametrize("curve", ["ROC", "PR"])
@pytest.mark.parametrize("summation", ["interpolation", "majoring", "minoring"])
@pytest.mark.parametrize("weighted", [False, True])
def test_auc_matches_threshold_loop(curve, summation, weighted):
    weights = AUC_W if weighted else None
    metric = M.AUC(curve=curve, summation_method=summation)
    got = run(metric, AUC_TRUE, AUC_PRED, weights, size=64)
    assert got == pytest.approx(reference_auc(AUC_TRUE, AUC_PRED, 200, curve, summation, weights), abs=2e-5)


def test_auc_properties_options_and_exact_roc():
    positives, negatives = AUC_PRED[AUC_TRUE == 1], AUC_PRED[AUC_TRUE == 0]
    exact = ((positives[:, None] > negatives).mean() + 0.5 * (positives[:, None] == negatives).mean())
    assert run(M.AUC(num_thresholds=1000), AUC_TRUE, AUC_PRED) == pytest.approx(exact, abs=5e-3)
    assert run(M.AUC(), [0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == pytest.approx(1.0)
    # a prediction equal to a threshold is not above it; 0 and 1 are above/below the end points
    on = M.AUC(num_thresholds=3)
    on.update_state([1, 0, 1, 0], [0.5, 0.5, 1.0, 0.0])
    assert on.true_positives.numpy().tolist() == [2, 1, 0] and on.false_positives.numpy().tolist() == [2, 0, 0]
    assert on.false_negatives.numpy().tolist() == [0, 1, 2] and on.true_negatives.numpy().tolist() == [0, 2, 2]
    logits = rng.standard_normal(300).astype(np.float32)
    assert run(M.AUC(from_logits=True), AUC_TRUE, logits, size=50) == pytest.approx(
        reference_auc(AUC_TRUE, 1 / (1 + np.exp(-logits.astype(np.float64)))), abs=2e-5)
    custom = [0.1, 0.35, 0.5, 0.9]  # uneven thresholds: the comparison path instead of bucketing
    assert run(M.AUC(thresholds=custom), AUC_TRUE, AUC_PRED, AUC_W, size=64) == pytest.approx(
        reference_auc(AUC_TRUE, AUC_PRED, weights=AUC_W, thresholds=custom), abs=2e-5)
    assert run(M.AUC(num_thresholds=3), AUC_TRUE[:, None], AUC_PRED[:, None]) == pytest.approx(
        reference_auc(AUC_TRUE, AUC_PRED, 3), abs=2e-5)
    y = rng.integers(0, 2, (300, 3)).astype(np.float32)
    p = np.clip(y * 0.2 + rng.uniform(0, 0.8, (300, 3)), 0, 1).astype(np.float32)
    expected = np.mean([reference_auc(y[:, j], p[:, j]) for j in range(3)])
    assert run(M.AUC(multi_label=True), y, p, size=64) == pytest.approx(expected, abs=2e-5)
    weighted = M.AUC(multi_label=True, label_weights=[1.0, 0.0, 3.0])
    assert run(weighted, y, p, size=64) == pytest.approx(
        (reference_auc(y[:, 0], p[:, 0]) + 3 * reference_auc(y[:, 2], p[:, 2])) / 4, abs=2e-5)
    flat = M.AUC()
    assert run(flat, y, p, size=64) == pytest.approx(reference_auc(y, p), abs=2e-5)
    assert float(M.AUC().result()) == 0.0
    for bad in ({"num_thresholds": 1}, {"curve": "XY"}, {"summation_method": "left"}):
        with pytest.raises(ValueError):
            M.AUC(**bad)


# --------------------------------------------------------------------- lookup and configs
def test_get_names_and_errors():
    assert isinstance(M.get("accuracy"), M.Accuracy) and M.get("acc").name == "acc"
    assert isinstance(M.get("sparse_categorical_accuracy"), M.SparseCategoricalAccuracy)
    assert isinstance(M.get("binary_accuracy"), M.BinaryAccuracy)
    assert isinstance(M.get("categorical_accuracy"), M.CategoricalAccuracy)
    assert isinstance(M.get("mae"), M.MeanAbsoluteError) and M.get("mae").name == "mae"
    assert isinstance(M.get("mse"), M.MeanSquaredError)
    assert isinstance(M.get("auc"), M.AUC) and isinstance(M.get("AUC"), M.AUC)
    assert isinstance(M.get(M.TopKCategoricalAccuracy), M.TopKCategoricalAccuracy)
    metric = M.Mean()
    assert M.get(metric) is metric and M.get(None) is None
    with pytest.raises(ValueError, match=r"'accuracyy'.*'acc'.*'auc'.*'sparse_categorical_accuracy'"):
        M.get("accuracyy")


@pytest.mark.parametrize("metric", [
    M.Accuracy(), M.BinaryAccuracy(threshold=0.3), M.CategoricalAccuracy(name="cat"), M.SparseCategoricalAccuracy(),
    M.TopKCategoricalAccuracy(k=3), M.MeanSquaredError(), M.MeanAbsoluteError(), M.RootMeanSquaredError(),
    M.Mean(name="m"), M.Sum(), M.AUC(num_thresholds=50, curve="PR", from_logits=True),
    M.AUC(thresholds=[0.2, 0.6]), M.BinaryCrossentropy(from_logits=True)])
def test_configs_round_trip(metric):
    config = metric.get_config()
    assert config["name"] == metric.name and config["dtype"] == "float32"
    for rebuilt in (type(metric).from_config(config), M.get(M.serialize(metric)), M.deserialize(M.serialize(metric))):
        assert type(rebuilt) is type(metric) and rebuilt.get_config() == config
    if isinstance(metric, M.AUC):
        assert rebuilt.thresholds == metric.thresholds


def test_keras_config_values():
    assert M.BinaryAccuracy().get_config() == {"name": "binary_accuracy", "dtype": "float32", "threshold": 0.5}
    assert M.TopKCategoricalAccuracy().get_config() == {"name": "top_k_categorical_accuracy", "dtype": "float32",
                                                       "k": 5}
    config = M.AUC(name="auc").get_config()
    assert config == {"name": "auc", "dtype": "float32", "num_thresholds": 200, "curve": "ROC",
                      "summation_method": "interpolation", "multi_label": False, "num_labels": None,
                      "label_weights": None, "from_logits": False}
    assert len(M.AUC().thresholds) == 200 and M.AUC().thresholds[0] < 0 < 1 < M.AUC().thresholds[-1]


def test_resolve_accuracy_follows_compile():
    r = M.resolve_accuracy
    assert isinstance(r("accuracy", "sparse_categorical_crossentropy", (None, 10)), M.SparseCategoricalAccuracy)
    assert isinstance(r("acc", gk.losses.SparseCategoricalCrossentropy(from_logits=True), (None, 10)),
                      M.SparseCategoricalAccuracy)
    assert isinstance(r("accuracy", "categorical_crossentropy", (None, 10)), M.CategoricalAccuracy)
    assert isinstance(r("accuracy", gk.losses.binary_crossentropy, (None, 3)), M.BinaryAccuracy)
    assert isinstance(r("accuracy", "mse", (None, 1)), M.BinaryAccuracy)
    assert isinstance(r("accuracy", gk.losses.LossFunctionWrapper(gk.losses.sparse_categorical_crossentropy),
                        (None, 4)), M.SparseCategoricalAccuracy)
    # with the label shape (Keras 3's rule from the first batch)
    assert isinstance(r("accuracy", None, (32, 10), (32,)), M.SparseCategoricalAccuracy)
    assert isinstance(r("accuracy", None, (32, 10), (32, 1)), M.SparseCategoricalAccuracy)
    assert isinstance(r("accuracy", None, (32, 10), (32, 10)), M.CategoricalAccuracy)
    assert isinstance(r("accuracy", None, (32, 1), (32,)), M.BinaryAccuracy)
    assert r("acc", "sparse_categorical_crossentropy", (None, 3)).name == "acc"
    with pytest.raises(ValueError):
        r("mse", None, (None, 1))
