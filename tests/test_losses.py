"""gk.losses: values against independent numpy formulas and torch.nn.functional, gradients
against float64 finite differences (both backends), reductions, sample weights, masks, label
smoothing, numerical stability, errors, lookup and configs."""
from __future__ import annotations

import numpy as np
import pytest

import graphkit as gk
from gradcheck import BACKENDS, check_backward_dtypes, check_gradients

torch = pytest.importorskip("torch")
F = torch.nn.functional

EPS = 1e-7
rng = np.random.default_rng(7)


# ------------------------------------------------------------------ numpy reference formulas
def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    s = x - x.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def ref_mse(t, p):
    return ((t - p) ** 2).mean(-1)


def ref_mae(t, p):
    return np.abs(t - p).mean(-1)


def ref_huber(t, p, delta=1.0):
    e = np.abs(p - t)
    return np.where(e <= delta, 0.5 * e ** 2, delta * e - 0.5 * delta ** 2).mean(-1)


def ref_bce(t, p, from_logits=False, ls=0.0, axis=-1):
    t = t * (1 - ls) + 0.5 * ls
    if from_logits:
        p = 1 / (1 + np.exp(-p))
    p = np.clip(p, EPS, 1 - EPS)
    return -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean(axis)


def ref_cce(t, p, from_logits=False, ls=0.0, axis=-1):
    t = t * (1 - ls) + ls / t.shape[axis]
    if from_logits:
        logp = log_softmax(p, axis)
    else:
        logp = np.log(np.clip(p / p.sum(axis, keepdims=True), EPS, 1 - EPS))
    return -(t * logp).sum(axis)


def ref_sparse(labels, p, from_logits=False):
    labels = np.asarray(labels).astype(int).reshape(p.shape[:-1])
    onehot = np.eye(p.shape[-1])[labels]
    return ref_cce(onehot, p, from_logits)


def f64(x):
    return np.asarray(x, dtype=np.float64)


def T(x):
    return torch.tensor(np.asarray(x, dtype=np.float64))


N, C = 6, 4
LOGITS = rng.standard_normal((N, C)) * 2
PROBS = softmax(LOGITS)
LABELS = rng.integers(0, C, N)
ONEHOT = np.eye(C)[LABELS]
BINARY = rng.integers(0, 2, (N, C)).astype(np.float64)
SIGMOID = 1 / (1 + np.exp(-LOGITS))
TARGETS = rng.standard_normal((N, C))
WEIGHTS = rng.uniform(0.1, 2.0, N)


# ------------------------------------------------------------------------------ values
@pytest.mark.parametrize("loss, ref, y_true, y_pred", [
    (gk.losses.MeanSquaredError(), ref_mse, TARGETS, LOGITS),
    (gk.losses.MeanAbsoluteError(), ref_mae, TARGETS, LOGITS),
    (gk.losses.Huber(), ref_huber, TARGETS, LOGITS),
    (gk.losses.Huber(delta=0.3), lambda t, p: ref_huber(t, p, 0.3), TARGETS, LOGITS),
    (gk.losses.BinaryCrossentropy(), ref_bce, BINARY, SIGMOID),
    (gk.losses.BinaryCrossentropy(from_logits=True), lambda t, p: ref_bce(t, p, True), BINARY, LOGITS),
    (gk.losses.BinaryCrossentropy(label_smoothing=0.2), lambda t, p: ref_bce(t, p, ls=0.2), BINARY, SIGMOID),
    (gk.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
     lambda t, p: ref_bce(t, p, True, 0.1), BINARY, LOGITS),
    (gk.losses.CategoricalCrossentropy(), ref_cce, ONEHOT, PROBS * 3),  # unnormalised: divided by the sum
    (gk.losses.CategoricalCrossentropy(from_logits=True), lambda t, p: ref_cce(t, p, True), ONEHOT, LOGITS),
    (gk.losses.CategoricalCrossentropy(label_smoothing=0.1), lambda t, p: ref_cce(t, p, ls=0.1), ONEHOT, PROBS),
    (gk.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.3),
     lambda t, p: ref_cce(t, p, True, 0.3), ONEHOT, LOGITS),
    (gk.losses.SparseCategoricalCrossentropy(), ref_sparse, LABELS, PROBS),
    (gk.losses.SparseCategoricalCrossentropy(from_logits=True), lambda t, p: ref_sparse(t, p, True), LABELS, LOGITS),
], ids=lambda v: getattr(v, "name", None) and f"{type(v).__name__}-{id(v) % 1000}")
def test_loss_values_match_numpy(loss, ref, y_true, y_pred):
    expected = ref(f64(y_true), f64(y_pred))
    out = loss(y_true, y_pred)
    assert out.dtype == np.float32 and out.shape == ()
    np.testing.assert_allclose(out.numpy(), expected.mean(), rtol=2e-6, atol=1e-7)
    weighted = loss(y_true, y_pred, sample_weight=WEIGHTS)
    np.testing.assert_allclose(weighted.numpy(), (expected * WEIGHTS).mean(), rtol=2e-6, atol=1e-7)
    loss.reduction = "none"
    try:
        per_sample = loss(y_true, y_pred)
    finally:
        loss.reduction = "sum_over_batch_size"
    np.testing.assert_allclose(per_sample.numpy(), expected, rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("fn, ref, y_true, y_pred, kwargs", [
    (gk.losses.mean_squared_error, ref_mse, TARGETS, LOGITS, {}),
    (gk.losses.mse, ref_mse, TARGETS, LOGITS, {}),
    (gk.losses.mean_absolute_error, ref_mae, TARGETS, LOGITS, {}),
    (gk.losses.mae, ref_mae, TARGETS, LOGITS, {}),
    (gk.losses.huber, lambda t, p: ref_huber(t, p, 0.5), TARGETS, LOGITS, {"delta": 0.5}),
    (gk.losses.binary_crossentropy, lambda t, p: ref_bce(t, p, True, 0.1), BINARY, LOGITS,
     {"from_logits": True, "label_smoothing": 0.1}),
    (gk.losses.binary_crossentropy, lambda t, p: ref_bce(t, p, axis=0), BINARY, SIGMOID, {"axis": 0}),
    (gk.losses.categorical_crossentropy, lambda t, p: ref_cce(t, p, axis=0), ONEHOT.T, PROBS.T, {"axis": 0}),
    (gk.losses.categorical_crossentropy, lambda t, p: ref_cce(t, p, True, axis=0), ONEHOT.T, LOGITS.T,
     {"axis": 0, "from_logits": True}),
    (gk.losses.sparse_categorical_crossentropy, lambda t, p: ref_sparse(t, p, True), LABELS, LOGITS,
     {"from_logits": True}),
])
def test_functions_return_per_sample_losses(fn, ref, y_true, y_pred, kwargs):
    out = fn(y_true, gk.constant(y_pred, dtype="float64"), **kwargs)
    assert out.dtype == np.float64  # functions keep y_pred's dtype (Keras converts y_true to it)
    np.testing.assert_allclose(out.numpy(), ref(f64(y_true), f64(y_pred)), rtol=1e-12, atol=1e-13)


def test_keras_docstring_examples():
    y_true, y_pred = [[0., 1.], [0., 0.]], [[0.6, 0.4], [0.4, 0.6]]
    np.testing.assert_allclose(gk.losses.binary_crossentropy(y_true, y_pred).numpy(), [0.916, 0.714], atol=1e-3)
    np.testing.assert_allclose(gk.losses.huber([[0, 1], [0, 0]], y_pred).numpy().mean(), 0.155, atol=1e-3)
    p = [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]
    np.testing.assert_allclose(gk.losses.SparseCategoricalCrossentropy()([1, 2], p).numpy(), 1.177, atol=1e-3)
    np.testing.assert_allclose(gk.losses.SparseCategoricalCrossentropy()([1, 2], p, sample_weight=[0.3, 0.7]),
                               0.814, atol=1e-3)
    np.testing.assert_allclose(gk.losses.SparseCategoricalCrossentropy(reduction="sum")([1, 2], p), 2.354,
                               atol=1e-3)
    np.testing.assert_allclose(gk.losses.CategoricalCrossentropy()([[0, 1, 0], [0, 0, 1]], p), 1.177, atol=1e-3)


# ----------------------------------------------------------------------------- vs torch
def test_against_torch_functional():
    x, y = LOGITS, LABELS
    losses = gk.losses
    checks = [
        (losses.SparseCategoricalCrossentropy(from_logits=True)(y, x), F.cross_entropy(T(x), torch.tensor(y))),
        (losses.CategoricalCrossentropy(from_logits=True)(ONEHOT, x), F.cross_entropy(T(x), T(ONEHOT))),
        (losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2)(ONEHOT, x),
         F.cross_entropy(T(x), torch.tensor(y), label_smoothing=0.2)),
        (losses.BinaryCrossentropy()(BINARY, SIGMOID), F.binary_cross_entropy(T(SIGMOID), T(BINARY))),
        (losses.BinaryCrossentropy(from_logits=True)(BINARY, x),
         F.binary_cross_entropy_with_logits(T(x), T(BINARY))),
        (losses.MeanSquaredError()(TARGETS, x), F.mse_loss(T(x), T(TARGETS))),
        (losses.MeanAbsoluteError()(TARGETS, x), F.l1_loss(T(x), T(TARGETS))),
        (losses.Huber(delta=0.7)(TARGETS, x), F.huber_loss(T(x), T(TARGETS), delta=0.7)),
        (losses.MeanSquaredError(reduction="sum")(TARGETS, x), F.mse_loss(T(x), T(TARGETS), reduction="sum") / C),
    ]
    for ours, theirs in checks:
        np.testing.assert_allclose(ours.numpy(), theirs.item(), rtol=2e-6)
    # per-sample weights: torch's unreduced losses weighted by hand
    ours = losses.SparseCategoricalCrossentropy(from_logits=True)(y, x, sample_weight=WEIGHTS)
    theirs = (F.cross_entropy(T(x), torch.tensor(y), reduction="none") * T(WEIGHTS)).mean()
    np.testing.assert_allclose(ours.numpy(), theirs.item(), rtol=2e-6)
    # ignore_class is torch's ignore_index (mean over the kept labels)
    labels = y.copy()
    labels[[1, 4]] = -1
    ours = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)(labels, x)
    theirs = F.cross_entropy(T(x), torch.tensor(labels), ignore_index=-1)
    np.testing.assert_allclose(ours.numpy(), theirs.item(), rtol=2e-6)


def test_gradients_against_torch():
    x = gk.Variable(LOGITS.astype(np.float32))
    with gk.GradientTape() as tape:
        loss = gk.losses.SparseCategoricalCrossentropy(from_logits=True)(LABELS, x, sample_weight=WEIGHTS)
    ours = tape.gradient(loss, x).numpy()
    xt = T(LOGITS).requires_grad_()
    (F.cross_entropy(xt, torch.tensor(LABELS), reduction="none") * T(WEIGHTS)).mean().backward()
    np.testing.assert_allclose(ours, xt.grad.numpy(), rtol=1e-5, atol=1e-7)
    with gk.GradientTape() as tape:
        loss = gk.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)(BINARY, x)
    xt = T(LOGITS).requires_grad_()
    F.binary_cross_entropy_with_logits(xt, T(BINARY * 0.9 + 0.05)).backward()
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------------- gradients
def away_from(values, points, margin=0.05):
    for point in points:
        near = np.abs(values - point) < margin
        values = np.where(near, values + np.sign(values - point + 1e-12) * 2 * margin, values)
    return values


DIFF = away_from(rng.uniform(-2, 2, (N, C)), (0.0, 0.6, -0.6))  # MAE/Huber kinks at 0 and +-delta
GRAD_PROBS = rng.uniform(0.1, 0.9, (N, C))


def _cls(cls, **kw):
    return lambda t, p, *w: cls(dtype="float64", **kw)(t, p, sample_weight=w[0] if w else None)


GRAD_CASES = [
    ("mse", _cls(gk.losses.MeanSquaredError), TARGETS, TARGETS + DIFF, (0, 1)),
    ("mae", _cls(gk.losses.MeanAbsoluteError), TARGETS, TARGETS + DIFF, (0, 1)),
    ("huber", _cls(gk.losses.Huber, delta=0.6), TARGETS, TARGETS + DIFF, (0, 1)),
    ("bce", _cls(gk.losses.BinaryCrossentropy), BINARY * 0.8 + 0.1, GRAD_PROBS, (0, 1)),
    ("bce-logits-ls", _cls(gk.losses.BinaryCrossentropy, from_logits=True, label_smoothing=0.2),
     BINARY * 0.8 + 0.1, LOGITS, (0, 1)),
    ("bce-axis0", lambda t, p: gk.losses.binary_crossentropy(t, p, axis=0), BINARY, GRAD_PROBS, (1,)),
    ("cce", _cls(gk.losses.CategoricalCrossentropy), softmax(TARGETS), GRAD_PROBS, (0, 1)),
    ("cce-ls", _cls(gk.losses.CategoricalCrossentropy, label_smoothing=0.1), ONEHOT, GRAD_PROBS, (1,)),
    ("cce-logits-ls", _cls(gk.losses.CategoricalCrossentropy, from_logits=True, label_smoothing=0.2),
     softmax(TARGETS), LOGITS, (0, 1)),
    ("cce-logits-axis0", lambda t, p: gk.losses.categorical_crossentropy(t, p, from_logits=True, axis=0),
     softmax(TARGETS.T, 0), LOGITS.T, (0, 1)),
    ("sparse", _cls(gk.losses.SparseCategoricalCrossentropy), LABELS, GRAD_PROBS, (1,)),
    ("sparse-logits", _cls(gk.losses.SparseCategoricalCrossentropy, from_logits=True), LABELS, LOGITS, (1,)),
    ("sparse-logits-3d", lambda t, p: gk.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64")(t, p),
     rng.integers(0, C, (2, 3)), rng.standard_normal((2, 3, C)), (1,)),
    ("sparse-logits-axis1", lambda t, p: gk.losses.sparse_categorical_crossentropy(t, p, from_logits=True, axis=1),
     rng.integers(0, C, (2, 3)), rng.standard_normal((2, C, 3)), (1,)),
    ("sparse-probs-ignore", _cls(gk.losses.SparseCategoricalCrossentropy, ignore_class=2), LABELS, GRAD_PROBS, (1,)),
    ("sparse-logits-weights", _cls(gk.losses.SparseCategoricalCrossentropy, from_logits=True), LABELS, LOGITS, (1,),
     (WEIGHTS,)),
    # rows 100 apart: the global-max shift would underflow, so the per-row max path runs
    ("sparse-logits-far-rows", _cls(gk.losses.SparseCategoricalCrossentropy, from_logits=True), LABELS,
     LOGITS + 100 * np.arange(N)[:, None], (1,)),
    ("cce-logits-far-rows", _cls(gk.losses.CategoricalCrossentropy, from_logits=True), softmax(TARGETS),
     LOGITS - 100 * np.arange(N)[:, None], (0, 1)),
    ("mse-rank1-pred", _cls(gk.losses.MeanSquaredError), TARGETS[:, :1], TARGETS[:, 0] + DIFF[:, 0], (0, 1)),
    ("bce-rank1-true", _cls(gk.losses.BinaryCrossentropy), BINARY[:, 0], GRAD_PROBS[:, :1], (1,)),
]


class _ArrayModuleProxy:
    """numpy under another identity: runs the code paths written for non-NumPy backends (CuPy)."""

    def __getattr__(self, name):
        return getattr(np, name)


PROXY = gk.backend.Ops(_ArrayModuleProxy())
ALL_BACKENDS = {**BACKENDS, "non-numpy-xp": PROXY}


@pytest.mark.parametrize("backend", list(ALL_BACKENDS))
@pytest.mark.parametrize("case", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradients_match_finite_differences(backend, case):
    name, f, y_true, y_pred, wrt, *extra = case
    inputs = (y_true, y_pred) + (extra[0] if extra else ())
    check_gradients(lambda t, p, *w: f(t, p, *[x.numpy() for x in w]), *inputs, backend=ALL_BACKENDS[backend],
                    wrt=list(wrt), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("reduction", ["sum", "none", "sum_over_batch_size", "mean", "mean_with_sample_weight"])
def test_gradients_of_every_reduction(reduction):
    def f(t, p):
        return gk.losses.CategoricalCrossentropy(from_logits=True, reduction=reduction, dtype="float64")(
            t, p, sample_weight=WEIGHTS)
    check_gradients(f, ONEHOT, LOGITS, backend=BACKENDS["numpy"], wrt=[1])


@pytest.mark.parametrize("loss", [gk.losses.SparseCategoricalCrossentropy(from_logits=True),
                                  gk.losses.CategoricalCrossentropy(from_logits=True),
                                  gk.losses.BinaryCrossentropy(), gk.losses.Huber()])
def test_backward_keeps_float32(loss):
    y_true = LABELS if isinstance(loss, gk.losses.SparseCategoricalCrossentropy) else (
        ONEHOT if isinstance(loss, gk.losses.CategoricalCrossentropy) else BINARY)
    y_pred = SIGMOID if isinstance(loss, gk.losses.BinaryCrossentropy) else LOGITS
    check_backward_dtypes(lambda p: loss(y_true, p, sample_weight=WEIGHTS), y_pred, backend=BACKENDS["numpy"])


def test_one_fused_primitive_per_loss_call():
    calls = []
    x = gk.Variable(LOGITS.astype(np.float32))
    with gk.observe(lambda prim, *a: calls.append((prim.name, a[-1]))):
        for loss, y in [(gk.losses.SparseCategoricalCrossentropy(from_logits=True), LABELS),
                        (gk.losses.SparseCategoricalCrossentropy(from_logits=True), LABELS[:, None]),
                        (gk.losses.CategoricalCrossentropy(), ONEHOT), (gk.losses.MeanSquaredError(), TARGETS),
                        (gk.losses.BinaryCrossentropy(from_logits=True), BINARY), (gk.losses.Huber(), TARGETS)]:
            calls.clear()
            with gk.GradientTape() as tape:
                value = loss(y, x, sample_weight=WEIGHTS)
            tape.gradient(value, x)
            assert [phase for _, phase in calls] == ["forward", "backward"], (loss, calls)
    assert calls[0][0] == "huber"


# ----------------------------------------------------------------- reductions and weights
def test_reductions_and_sample_weight_shapes():
    per_sample = ref_sparse(LABELS, LOGITS, True)
    make = lambda r: gk.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=r)  # noqa: E731
    close = lambda a, b: np.testing.assert_allclose(np.asarray(a), b, rtol=2e-6, atol=1e-7)  # noqa: E731
    close(make("sum")(LABELS, LOGITS), per_sample.sum())
    close(make("sum_over_batch_size")(LABELS, LOGITS), per_sample.mean())
    close(make("mean")(LABELS, LOGITS), per_sample.mean())
    close(make(None)(LABELS, LOGITS), per_sample)
    close(make("none")(LABELS, LOGITS, sample_weight=WEIGHTS), per_sample * WEIGHTS)
    close(make("sum")(LABELS, LOGITS, sample_weight=WEIGHTS), (per_sample * WEIGHTS).sum())
    close(make("mean_with_sample_weight")(LABELS, LOGITS, sample_weight=WEIGHTS),
          (per_sample * WEIGHTS).sum() / WEIGHTS.sum())
    close(make("sum_over_batch_size")(LABELS, LOGITS, sample_weight=WEIGHTS[:, None]), (per_sample * WEIGHTS).mean())
    close(make("sum_over_batch_size")(LABELS, LOGITS, sample_weight=2.5), per_sample.mean() * 2.5)
    close(make("sum_over_batch_size")(LABELS, LOGITS, sample_weight=gk.constant(WEIGHTS)),
          (per_sample * WEIGHTS).mean())
    close(make("mean_with_sample_weight")(LABELS, LOGITS, sample_weight=np.zeros(N)), 0.0)
    # sequences: per-timestep losses, per-sample or per-timestep weights
    labels, logits = rng.integers(0, C, (3, 5)), rng.standard_normal((3, 5, C))
    per_step = ref_sparse(labels, logits, True)
    w = rng.uniform(0, 1, 3)
    close(make("sum_over_batch_size")(labels, logits, sample_weight=w), (per_step * w[:, None]).mean())
    w2 = rng.uniform(0, 1, (3, 5))
    close(make("sum_over_batch_size")(labels, logits, sample_weight=w2), (per_step * w2).mean())
    with pytest.raises(ValueError, match=r"sample_weight of shape \(4,\).*\(3, 5\)"):
        make("sum")(labels, logits, sample_weight=np.ones(4))


def test_masks_from_y_pred_and_ignore_class():
    y_pred = gk.constant(rng.standard_normal((2, 5, C)))
    labels = rng.integers(0, C, (2, 5))
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    y_pred._keras_mask = gk.constant(mask)
    per_step = ref_sparse(labels, y_pred.numpy(), True)
    loss = gk.losses.SparseCategoricalCrossentropy(from_logits=True)
    np.testing.assert_allclose(loss(labels, y_pred).numpy(), per_step[mask].mean(), rtol=2e-6)
    np.testing.assert_allclose(gk.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")(
        labels, y_pred).numpy(), per_step[mask].sum(), rtol=2e-6)
    # ignore_class on top of the mask; the function form carries the mask for custom reductions
    labels[1, 0] = 9
    loss = gk.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=9)
    keep = mask & (labels != 9)
    per_step = ref_sparse(np.where(labels == 9, 0, labels), y_pred.numpy(), True)
    np.testing.assert_allclose(loss(labels, y_pred).numpy(), per_step[keep].mean(), rtol=2e-6)
    out = gk.losses.sparse_categorical_crossentropy(labels, y_pred, from_logits=True, ignore_class=9)
    assert out.numpy()[1, 0] == 0 and out._keras_mask.numpy().tolist() == (labels != 9).tolist()


def test_custom_loss_subclass_gets_weighting_reduction_and_gradients():
    class Quartic(gk.losses.Loss):
        def call(self, y_true, y_pred):
            return gk.ops.mean((y_pred - y_true) ** 4, axis=-1)

    loss = Quartic(reduction="sum")
    assert loss.name == "quartic" and loss.dtype == "float32"
    expected = ((LOGITS - TARGETS) ** 4).mean(-1)
    np.testing.assert_allclose(loss(TARGETS, LOGITS, sample_weight=WEIGHTS).numpy(), (expected * WEIGHTS).sum(),
                               rtol=1e-5)
    check_gradients(lambda t, p: Quartic(dtype="float64")(t, p, sample_weight=WEIGHTS), TARGETS, LOGITS,
                    backend=BACKENDS["numpy"], wrt=[1])
    # a wrapper around a custom function and around a built-in one (which stays fused)
    wrapped = gk.losses.LossFunctionWrapper(lambda t, p: gk.ops.mean(gk.ops.abs(p - t), axis=-1))
    np.testing.assert_allclose(wrapped(TARGETS, LOGITS).numpy(), ref_mae(TARGETS, LOGITS).mean(), rtol=1e-6)
    fused = gk.losses.LossFunctionWrapper(gk.losses.get("huber"), delta=0.5)
    assert fused._fused is not None
    np.testing.assert_allclose(fused(TARGETS, LOGITS).numpy(), ref_huber(TARGETS, LOGITS, 0.5).mean(), rtol=1e-6)


def test_label_shapes_and_dtypes():
    loss = gk.losses.SparseCategoricalCrossentropy(from_logits=True)
    expected = ref_sparse(LABELS, LOGITS, True).mean()
    for labels in (LABELS, LABELS[:, None], LABELS.astype(np.float32), LABELS.astype(np.int32)[:, None],
                   gk.constant(LABELS), LABELS.tolist()):
        np.testing.assert_allclose(loss(labels, LOGITS).numpy(), expected, rtol=2e-6)
    # (N,) targets with (N, 1) predictions and the reverse: Keras's squeeze/expand
    y, p = BINARY[:, 0], SIGMOID[:, :1]
    expected = ref_bce(y[:, None], p).mean()
    np.testing.assert_allclose(gk.losses.BinaryCrossentropy()(y, p).numpy(), expected, rtol=2e-6)
    y2 = SIGMOID[:, 1]
    np.testing.assert_allclose(gk.losses.BinaryCrossentropy()(p, y2).numpy(), ref_bce(p, y2[:, None]).mean(),
                               rtol=2e-6)
    np.testing.assert_allclose(gk.losses.MeanSquaredError()(TARGETS[:, 0], LOGITS[:, :1]).numpy(),
                               ref_mse(TARGETS[:, :1], LOGITS[:, :1]).mean(), rtol=2e-6)
    # float64 input is computed in the loss dtype (float32 by default, as Keras)
    out = gk.losses.MeanSquaredError()(gk.constant(TARGETS, dtype="float64"), gk.constant(LOGITS, dtype="float64"))
    assert out.dtype == np.float32
    out = gk.losses.MeanSquaredError(dtype="float64")(TARGETS, gk.constant(LOGITS, dtype="float64"))
    assert out.dtype == np.float64


# ---------------------------------------------------------------------------- stability
def test_large_logits_and_saturated_probabilities_stay_finite():
    big = np.array([[1e4, -1e4, 0.0, 5.0], [-3e4, -3e4 + 1, -3e4 + 2, -3e4], [80.0, 90.0, 100.0, 88.0]],
                   np.float32)
    labels = np.array([1, 2, 0])
    cases = [
        (gk.losses.SparseCategoricalCrossentropy(from_logits=True), labels, big),
        (gk.losses.CategoricalCrossentropy(from_logits=True), np.eye(4)[labels], big),
        (gk.losses.BinaryCrossentropy(from_logits=True), np.eye(4)[labels], big),
        (gk.losses.BinaryCrossentropy(), np.eye(4)[labels], np.array([[0, 1, 1, 0.5]] * 3, np.float32)),
        (gk.losses.CategoricalCrossentropy(), np.eye(4)[labels], np.array([[0, 1, 0, 0]] * 3, np.float32)),
        (gk.losses.SparseCategoricalCrossentropy(), labels, np.array([[0, 1, 0, 0]] * 3, np.float32)),
    ]
    for loss, y, p in cases:
        x = gk.Variable(p)
        with gk.GradientTape() as tape:
            value = loss(y, x)
        grad = tape.gradient(value, x).numpy()
        assert np.isfinite(value.numpy()) and np.isfinite(grad).all(), loss
    # values: sparse CE of the first row is 2e4 (softmax is one-hot on the 1e4 logit); rows far apart
    # in scale (the second row sits 3e4 below the others) still give exact log-softmax values
    per_sample = gk.losses.sparse_categorical_crossentropy(labels, big, from_logits=True).numpy()
    np.testing.assert_allclose(per_sample, ref_sparse(labels, big.astype(np.float64), True), rtol=1e-6)
    # clipped probabilities: log(1e-7) is the largest per-element loss
    worst = gk.losses.BinaryCrossentropy()(np.ones((1, 1)), np.zeros((1, 1))).numpy()
    np.testing.assert_allclose(worst, -np.log(np.float32(1e-7)), rtol=1e-5)


# ------------------------------------------------------------------------------- errors
def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"y_true.shape=\(6, 3\).*y_pred.shape=\(6, 4\)"):
        gk.losses.MeanSquaredError()(TARGETS[:, :3], LOGITS)
    with pytest.raises(ValueError, match=r"\(6, 4\).*\(6, 4\).*categorical_crossentropy"):
        gk.losses.SparseCategoricalCrossentropy()(ONEHOT, PROBS)
    with pytest.raises(ValueError, match=r"y_true.shape=\(6,\).*sparse_categorical_crossentropy"):
        gk.losses.CategoricalCrossentropy()(LABELS, PROBS)
    with pytest.raises(ValueError, match=r"label value of 4 .*\[0, 4\)"):
        gk.losses.SparseCategoricalCrossentropy(from_logits=True)(np.array([0, 1, 4, 2, 0, 0]), LOGITS)
    with pytest.raises(ValueError, match=r"label value of -1"):
        gk.losses.SparseCategoricalCrossentropy()(np.array([0, 1, -1, 2, 0, 0]), PROBS)
    with gk.backend.use(PROXY):  # the explicit range check of non-NumPy backends
        for bad in (-1, 4):
            with pytest.raises(ValueError, match=f"label value of {bad} "):
                gk.losses.SparseCategoricalCrossentropy(from_logits=True)(np.array([0, 1, bad, 2, 0, 0]), LOGITS)
    with pytest.raises(ValueError, match="Invalid value for argument `reduction`"):
        gk.losses.MeanSquaredError(reduction="avg")
    with pytest.raises(ValueError, match=r"'nope'.*mean_squared_error.*sparse_categorical_crossentropy"):
        gk.losses.get("nope")
    with pytest.raises(ValueError, match="Unknown loss class 'Nope'"):
        gk.losses.get({"class_name": "Nope", "config": {}})
    with pytest.raises(ValueError, match="axis"):
        gk.losses.categorical_crossentropy(ONEHOT, PROBS, axis=True)
    with pytest.warns(SyntaxWarning, match="binary_crossentropy"):
        gk.losses.categorical_crossentropy(ONEHOT[:, :1], PROBS[:, :1])


# ------------------------------------------------------------------------ lookup, configs
def test_get_follows_keras():
    assert gk.losses.get("mse") is gk.losses.mean_squared_error
    assert gk.losses.get("MAE") is gk.losses.mean_absolute_error
    assert gk.losses.get("huber_loss") is gk.losses.huber
    assert gk.losses.get("binary_crossentropy") is gk.losses.binary_crossentropy
    assert isinstance(gk.losses.get("SparseCategoricalCrossentropy"), gk.losses.SparseCategoricalCrossentropy)
    assert isinstance(gk.losses.get(gk.losses.Huber), gk.losses.Huber)
    instance = gk.losses.CategoricalCrossentropy()
    assert gk.losses.get(instance) is instance and gk.losses.get(None) is None
    custom = lambda t, p: t  # noqa: E731
    assert gk.losses.get(custom) is custom


@pytest.mark.parametrize("loss, config", [
    (gk.losses.MeanSquaredError(), {"name": "mean_squared_error", "reduction": "sum_over_batch_size"}),
    (gk.losses.MeanAbsoluteError(reduction="sum"), {"name": "mean_absolute_error", "reduction": "sum"}),
    (gk.losses.Huber(delta=2.0), {"name": "huber_loss", "reduction": "sum_over_batch_size", "delta": 2.0}),
    (gk.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
     {"name": "binary_crossentropy", "reduction": "sum_over_batch_size", "from_logits": True,
      "label_smoothing": 0.1, "axis": -1}),
    (gk.losses.CategoricalCrossentropy(axis=1), {"name": "categorical_crossentropy", "reduction": "sum_over_batch_size",
                                                 "from_logits": False, "label_smoothing": 0.0, "axis": 1}),
    (gk.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0, reduction=None),
     {"name": "sparse_categorical_crossentropy", "reduction": None, "from_logits": True, "ignore_class": 0}),
])
def test_configs_round_trip(loss, config):
    assert loss.get_config() == config
    for rebuilt in (type(loss).from_config(loss.get_config()), gk.losses.get(gk.losses.serialize(loss)),
                    gk.losses.deserialize(gk.losses.serialize(loss))):
        assert type(rebuilt) is type(loss) and rebuilt.get_config() == config
        np.testing.assert_allclose(np.asarray(rebuilt(ONEHOT, PROBS) if not isinstance(
            loss, gk.losses.SparseCategoricalCrossentropy) else rebuilt(LABELS, PROBS)),
            np.asarray(loss(ONEHOT, PROBS) if not isinstance(
                loss, gk.losses.SparseCategoricalCrossentropy) else loss(LABELS, PROBS)))
    assert gk.losses.serialize(loss)["module"] == "keras.losses"


def test_wrapper_config_round_trip():
    wrapped = gk.losses.LossFunctionWrapper(gk.losses.binary_crossentropy, name="bce", from_logits=True)
    config = wrapped.get_config()
    assert config["fn"]["config"] == "binary_crossentropy" and config["from_logits"] is True
    rebuilt = gk.losses.LossFunctionWrapper.from_config(config)
    assert rebuilt.fn is gk.losses.binary_crossentropy and rebuilt._fused is not None
    np.testing.assert_allclose(rebuilt(BINARY, LOGITS).numpy(), ref_bce(BINARY, LOGITS, True).mean(), rtol=2e-6)
    assert gk.losses.deserialize(gk.losses.serialize(gk.losses.mse)) is gk.losses.mean_squared_error
