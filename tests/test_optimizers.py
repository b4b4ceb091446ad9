"""gk.optimizers: Keras 3's update formulas (vs an independent numpy transcription and vs
torch.optim where the formulas coincide), schedules, clipping, weight decay, state and configs.

Keras <-> PyTorch mappings checked here:

- SGD momentum/Nesterov: Keras ``m = mu*m - lr*g; w += m`` is PyTorch's ``b = mu*b + g; w -= lr*b``
  with ``m = -lr*b`` (constant lr); Nesterov likewise.
- Adam/AdamW: Keras adds ``epsilon`` to ``sqrt(v)`` and folds the bias correction into the step
  size, PyTorch adds ``eps`` to ``sqrt(v / (1 - beta_2**t))``: identical when PyTorch's eps at step t
  is ``epsilon / sqrt(1 - beta_2**t)`` (set per step below). Keras's decoupled ``weight_decay`` on
  Adam is PyTorch's AdamW (``w *= 1 - lr*wd`` first).
- RMSprop and Adagrad: Keras adds ``epsilon`` INSIDE the square root, PyTorch outside, so they are
  compared with epsilon = 0.
"""
from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

import graphkit as gk
from graphkit import backend
from graphkit.backend.ops import Ops
from graphkit.optimizers import schedules

O = gk.optimizers
SHAPES = [(3, 4), (4,), (2, 3, 2)]


# ----------------------------------------------------------------------------------- references
class KerasReference:
    """Keras 3's update_step formulas transcribed in plain float64 numpy (one variable)."""

    def __init__(self, kind: str, **cfg):
        self.kind, self.cfg, self.state, self.t = kind, cfg, {}, 0

    def slot(self, name, like, init=0.0):
        if name not in self.state:
            self.state[name] = np.full_like(like, init, dtype=np.float64)
        return self.state[name]

    def step(self, w, g, lr):
        c, k = self.cfg, self.kind
        w = w.astype(np.float64).copy()
        g = g.astype(np.float64)
        if c.get("weight_decay") is not None:
            w = w - w * c["weight_decay"] * lr
        if k == "sgd":
            mu = c.get("momentum", 0.0)
            if mu:
                m = self.slot("momentum", w)
                m[...] = m * mu - g * lr
                w = w + (m * mu - g * lr if c.get("nesterov") else m)
            else:
                w = w - g * lr
        elif k in ("adam", "adamw"):
            b1, b2, eps = c.get("beta_1", 0.9), c.get("beta_2", 0.999), c.get("epsilon", 1e-7)
            t = self.t + 1
            m, v = self.slot("momentum", w), self.slot("velocity", w)
            m[...] = m + (g - m) * (1 - b1)
            v[...] = v + (g * g - v) * (1 - b2)
            if c.get("amsgrad"):
                vh = self.slot("velocity_hat", w)
                vh[...] = np.maximum(vh, v)
                v = vh
            alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            w = w - (m * alpha) / (np.sqrt(v) + eps)
        elif k == "rmsprop":
            rho, mu, eps = c.get("rho", 0.9), c.get("momentum", 0.0), c.get("epsilon", 1e-7)
            v = self.slot("velocity", w)
            v[...] = rho * v + (1 - rho) * g * g
            if c.get("centered"):
                a = self.slot("average_gradient", w)
                a[...] = rho * a + (1 - rho) * g
                denominator = v - a * a + eps
            else:
                denominator = v + eps
            increment = lr * g / np.sqrt(denominator)
            if mu > 0:
                m = self.slot("momentum", w)
                m[...] = mu * m + increment
                w = w - m
            else:
                w = w - increment
        elif k == "adagrad":
            acc = self.slot("accumulator", w, c.get("initial_accumulator_value", 0.1))
            acc[...] = acc + g * g
            w = w - lr * g / np.sqrt(acc + c.get("epsilon", 1e-7))
        else:  # pragma: no cover
            raise AssertionError(k)
        self.t += 1
        return w


CASES = [
    ("sgd", {}),
    ("sgd", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.8, "nesterov": True}),
    ("adam", {}),
    ("adam", {"amsgrad": True, "beta_1": 0.8, "epsilon": 1e-3}),
    ("adamw", {"weight_decay": 0.05}),
    ("rmsprop", {}),
    ("rmsprop", {"momentum": 0.5}),
    ("rmsprop", {"centered": True, "rho": 0.8}),
    ("rmsprop", {"centered": True, "momentum": 0.3, "epsilon": 1e-4}),
    ("adagrad", {}),
    ("adagrad", {"initial_accumulator_value": 0.5, "epsilon": 1e-3}),
    ("sgd", {"momentum": 0.9, "weight_decay": 0.1}),
    ("rmsprop", {"weight_decay": 0.01}),
]
CLASSES = {"sgd": O.SGD, "adam": O.Adam, "adamw": O.AdamW, "rmsprop": O.RMSprop, "adagrad": O.Adagrad}


def make(kind, lr=0.05, **cfg):
    return CLASSES[kind](learning_rate=lr, **cfg)


def case_id(case):
    kind, cfg = case
    return kind + "".join(f"-{k}={v}" for k, v in cfg.items())


def quadratic_grad(w, a, c):
    """Gradient of 0.5 * sum(a * (w - c)**2)."""
    return a * (w - c)


# ---------------------------------------------------------------------------------- trajectories
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_trajectory_on_a_quadratic_matches_the_keras_formula(case):
    kind, cfg = case
    rng = np.random.default_rng(0)
    inits = [rng.normal(size=s) for s in SHAPES]
    curv = [rng.uniform(0.5, 3.0, size=s) for s in SHAPES]
    centres = [rng.normal(size=s) for s in SHAPES]
    variables = [gk.Variable(x, dtype="float64", name=f"q{i}") for i, x in enumerate(inits)]
    refs = [KerasReference(kind, **cfg) for _ in SHAPES]
    expected = [x.copy() for x in inits]
    opt = make(kind, lr=0.05, **cfg)
    for _ in range(8):
        grads = [quadratic_grad(v.numpy(), a, c) for v, a, c in zip(variables, curv, centres)]
        opt.apply(grads, variables)
        expected = [r.step(e, quadratic_grad(e, a, c), 0.05) for r, e, a, c in zip(refs, expected, curv, centres)]
        for v, e in zip(variables, expected):
            np.testing.assert_allclose(v.numpy(), e, rtol=1e-10, atol=1e-12)
    assert int(opt.iterations) == 8
    for name in opt.get_slot_names():
        for v, r in zip(variables, refs):
            np.testing.assert_allclose(opt.get_slot(v, name).numpy(), r.state[name], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_float32_trajectory_on_random_gradients(case):
    kind, cfg = case
    rng = np.random.default_rng(1)
    inits = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
    variables = [gk.Variable(x, name=f"r{i}") for i, x in enumerate(inits)]
    refs = [KerasReference(kind, **cfg) for _ in SHAPES]
    expected = [x.astype(np.float64) for x in inits]
    opt = make(kind, lr=0.01, **cfg)
    for _ in range(6):
        grads = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
        opt.apply([gk.constant(g) for g in grads], variables)
        expected = [r.step(e, g, 0.01) for r, e, g in zip(refs, expected, grads)]
    for v, e in zip(variables, expected):
        assert v.dtype == np.float32
        np.testing.assert_allclose(v.numpy(), e, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in ("sgd", "rmsprop", "adam")], ids=case_id)
def test_generic_kernels_with_python_float_scalars_match(case):
    """The CuPy path passes Python floats to the kernels (NumpyOps passes 0-d arrays)."""

    class FloatScalarOps(Ops):
        def optimizer_scalar(self, value, dtype):
            return float(value)

    kind, cfg = case
    rng = np.random.default_rng(2)
    grads = [[rng.normal(size=s) for s in SHAPES] for _ in range(4)]
    results = []
    for ops in (backend.current(), FloatScalarOps(np)):
        with backend.use(ops):
            variables = [gk.Variable(np.ones(s), dtype="float64", name="g") for s in SHAPES]
            opt = make(kind, **cfg)
            for step in grads:
                opt.apply(step, variables)
            results.append([v.numpy().copy() for v in variables])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_rmsprop_velocities_of_dead_units_never_become_denormal():
    """A weight whose gradient stops (a dead relu unit) has its velocity decay by rho per step;
    flooring it at sqrt(tiny) every so often keeps float32 updates out of slow denormal
    arithmetic, while the live weights follow the reference formula."""
    tiny = np.finfo(np.float32).tiny
    var = gk.Variable(np.ones(4, np.float32), name="w")
    ref, expected = KerasReference("rmsprop"), np.ones(4)
    opt = O.RMSprop(0.01)
    rng = np.random.default_rng(3)
    for step in range(1200):
        g = rng.normal(size=4).astype(np.float32)
        if step:
            g[:2] = 0   # units 0 and 1 die after the first step
        opt.apply([gk.constant(g)], [var])
        expected = ref.step(expected, g, 0.01)
    velocity = opt.get_slot(var, "velocity").numpy()
    assert velocity.dtype == np.float32 and np.all(velocity >= tiny)
    assert np.all(velocity[:2] <= np.sqrt(tiny) * (1 + 1e-6))
    np.testing.assert_allclose(var.numpy(), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name,kwargs,slots", [
    ("adam", {}, ("momentum", "velocity")),
    ("adamw", {"weight_decay": 0.004}, ("momentum", "velocity")),
    ("sgd", {"momentum": 0.9}, ("momentum",)),
    ("sgd", {"momentum": 0.9, "nesterov": True}, ("momentum",)),
])
def test_momentum_slots_of_dead_units_never_become_denormal(name, kwargs, slots):
    """Signed slots decaying under zero gradients are set to zero below sqrt(tiny), second
    moments floored there, before any entry turns denormal; the live weights follow the
    reference formula."""
    tiny = np.finfo(np.float32).tiny
    var = gk.Variable(np.ones(4, np.float32), name="w")
    ref, expected = KerasReference(name, **kwargs), np.ones(4)
    opt = make(name, lr=0.01, **kwargs)
    rng = np.random.default_rng(4)
    for step in range(1500):
        g = rng.normal(size=4).astype(np.float32)
        if step:
            g[:2] = 0
        opt.apply([gk.constant(g)], [var])
        expected = ref.step(expected, g, 0.01)
        for slot in slots:
            values = np.abs(opt.get_slot(var, slot).numpy())
            assert np.all((values == 0) | (values >= tiny)), (step, slot, values)
    assert np.all(opt.get_slot(var, slots[0]).numpy()[:2] == 0)
    np.testing.assert_allclose(var.numpy(), expected, rtol=1e-4, atol=1e-5)


def test_keep_normal_zeroes_or_raises_small_entries_in_place():
    ops = backend.current()
    slot = np.array([1e-20, -1e-20, 1e-18, -2e-18, 0.0, np.nan, -np.inf], np.float32)
    ops.keep_normal(slot, np.float32(1e-19), signed=True)
    np.testing.assert_array_equal(slot, np.array([0, 0, 1e-18, -2e-18, 0, np.nan, -np.inf], np.float32))
    second = np.array([1e-25, 0.0, 3e-19, np.nan], np.float32)
    ops.keep_normal(second, np.float32(1e-19), signed=False)
    np.testing.assert_array_equal(second, np.array([1e-19, 1e-19, 3e-19, np.nan], np.float32))


def test_minimize_with_a_gradient_tape():
    w = gk.Variable(np.array([3.0, -2.0], np.float32), name="w")
    opt = O.SGD(learning_rate=0.1)
    for _ in range(3):
        opt.minimize(lambda: gk.ops.sum(w * w), [w])
    np.testing.assert_allclose(w.numpy(), np.array([3.0, -2.0]) * 0.8 ** 3, rtol=1e-6)
    with gk.GradientTape() as tape:
        loss = gk.ops.sum(w * w)
    opt.minimize(loss, [w], tape=tape)
    np.testing.assert_allclose(w.numpy(), np.array([3.0, -2.0]) * 0.8 ** 4, rtol=1e-6)


# ------------------------------------------------------------------------------------- torch
torch = pytest.importorskip("torch")


def run_torch(make_opt, grads_per_step, inits, before_step=None):
    params = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inits]
    opt = make_opt(params)
    for t, grads in enumerate(grads_per_step, start=1):
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g, dtype=torch.float64)
        if before_step is not None:
            before_step(opt, t)
        opt.step()
    return [p.detach().numpy() for p in params]


def run_gk(opt, grads_per_step, inits):
    variables = [gk.Variable(x, dtype="float64", name=f"t{i}") for i, x in enumerate(inits)]
    for grads in grads_per_step:
        opt.apply(grads, variables)
    return [v.numpy() for v in variables]


TORCH_CASES = [
    ("sgd", lambda: O.SGD(0.05), lambda p: torch.optim.SGD(p, lr=0.05), None),
    ("sgd-momentum", lambda: O.SGD(0.05, momentum=0.9),
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9), None),
    ("sgd-nesterov", lambda: O.SGD(0.05, momentum=0.7, nesterov=True),
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.7, nesterov=True), None),
    ("adam", lambda: O.Adam(0.01, epsilon=1e-3),
     lambda p: torch.optim.Adam(p, lr=0.01, eps=1e-3), ("adam", 1e-3, 0.999)),
    ("adam-amsgrad", lambda: O.Adam(0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-2, amsgrad=True),
     lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), amsgrad=True), ("adam", 1e-2, 0.99)),
    ("adamw", lambda: O.AdamW(0.01, weight_decay=0.1, epsilon=1e-3),
     lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1), ("adam", 1e-3, 0.999)),
    ("adam-weight_decay", lambda: O.Adam(0.01, weight_decay=0.1),
     lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1), ("adam", 1e-7, 0.999)),
    ("rmsprop", lambda: O.RMSprop(0.01, epsilon=0.0),
     lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=0.0), None),
    ("rmsprop-momentum-centered", lambda: O.RMSprop(0.01, rho=0.8, momentum=0.5, centered=True, epsilon=0.0),
     lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.8, momentum=0.5, centered=True, eps=0.0), None),
    ("adagrad", lambda: O.Adagrad(0.1, epsilon=0.0),
     lambda p: torch.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, eps=0.0), None),
]


def _torch_eps_hat(eps_k, beta_2):
    """A PyTorch ``before_step`` hook: Keras's epsilon-hat as PyTorch's eps at step t."""
    def before_step(opt, t):
        opt.param_groups[0]["eps"] = eps_k / math.sqrt(1 - beta_2 ** t)
    return before_step


@pytest.mark.parametrize("name,gk_opt,torch_opt,eps_map", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_matches_torch_optim(name, gk_opt, torch_opt, eps_map):
    rng = np.random.default_rng(3)
    inits = [rng.normal(size=s) for s in SHAPES]
    grads = [[rng.normal(size=s) for s in SHAPES] for _ in range(7)]
    expected = run_torch(torch_opt, grads, inits, None if eps_map is None else _torch_eps_hat(*eps_map[1:]))
    got = run_gk(gk_opt(), grads, inits)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------------- schedules
def test_schedules_match_their_formulas():
    ed = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert ed(0) == pytest.approx(0.1) and ed(5) == pytest.approx(0.1 * 0.5 ** 0.5)
    eds = schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True)
    assert eds(9) == pytest.approx(0.1) and eds(10) == pytest.approx(0.05) and eds(25) == pytest.approx(0.025)

    pc = schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    assert [pc(s) for s in (0, 10, 11, 20, 21, 1000)] == [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]

    it = schedules.InverseTimeDecay(0.1, decay_steps=2, decay_rate=0.5)
    assert it(3) == pytest.approx(0.1 / (1 + 0.5 * 1.5))
    its = schedules.InverseTimeDecay(0.1, 2, 0.5, staircase=True)
    assert its(3) == pytest.approx(0.1 / 1.5)

    pd = schedules.PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.01, power=2.0)
    assert pd(4) == pytest.approx(0.09 * 0.6 ** 2 + 0.01) and pd(50) == pytest.approx(0.01)
    pdc = schedules.PolynomialDecay(0.1, 10, 0.01, power=1.0, cycle=True)
    assert pdc(0) == pytest.approx(0.1)
    assert pdc(15) == pytest.approx(0.09 * (1 - 15 / 20) + 0.01)
    assert pdc(20) == pytest.approx(0.01)

    cd = schedules.CosineDecay(0.1, decay_steps=10, alpha=0.1)
    for s in (0, 3, 10, 30):
        frac = min(s, 10) / 10
        assert cd(s) == pytest.approx(0.1 * (0.9 * 0.5 * (1 + math.cos(math.pi * frac)) + 0.1))
    cw = schedules.CosineDecay(0.0, decay_steps=10, warmup_target=0.2, warmup_steps=5)
    assert cw(0) == pytest.approx(0.0) and cw(2) == pytest.approx(0.08) and cw(5) == pytest.approx(0.2)
    assert cw(10) == pytest.approx(0.2 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert cw(100) == pytest.approx(0.0, abs=1e-12)

    cr = schedules.CosineDecayRestarts(1.0, first_decay_steps=10, t_mul=2.0, m_mul=0.5)
    assert cr(0) == pytest.approx(1.0)
    assert cr(5) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))
    assert cr(10) == pytest.approx(0.5)  # restart: m_mul ** 1
    assert cr(20) == pytest.approx(0.5 * 0.5 * (1 + math.cos(math.pi * 0.5)))  # second period is 20 steps
    # steps may be tensors / variables
    assert ed(gk.Variable(5, dtype="int64")) == pytest.approx(ed(5))


def test_schedule_validation():
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="1 less than the length of values"):
        schedules.PiecewiseConstantDecay([1, 2], [1.0, 2.0])


@pytest.mark.parametrize("schedule", [
    schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True),
    schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1]),
    schedules.PolynomialDecay(0.1, 10, 0.01, power=0.5, cycle=True),
    schedules.InverseTimeDecay(0.1, 2, 0.5),
    schedules.CosineDecay(0.0, 10, alpha=0.1, warmup_target=0.2, warmup_steps=3),
    schedules.CosineDecayRestarts(0.1, 5),
], ids=lambda s: type(s).__name__)
def test_schedule_config_round_trip(schedule):
    config = json.loads(json.dumps(schedules.serialize(schedule)))
    assert config["module"] == "keras.optimizers.schedules"
    assert config["class_name"] == type(schedule).__name__
    again = schedules.deserialize(config)
    assert type(again) is type(schedule) and again.get_config() == schedule.get_config()
    assert [again(s) for s in range(0, 40, 3)] == [schedule(s) for s in range(0, 40, 3)]


def test_optimizer_evaluates_its_schedule_at_iterations():
    sched = schedules.PiecewiseConstantDecay([1, 2], [1.0, 0.5, 0.25])
    w = gk.Variable(np.zeros(2), dtype="float64", name="w")
    opt = O.SGD(learning_rate=sched)
    lrs = []
    for _ in range(4):
        lrs.append(opt.learning_rate)
        opt.apply([np.ones(2)], [w])
    assert lrs == [1.0, 1.0, 0.5, 0.25]
    np.testing.assert_allclose(w.numpy(), -(1.0 + 1.0 + 0.5 + 0.25))
    assert [v.name for v in opt.variables] == ["SGD/iteration"]  # no learning-rate variable with a schedule
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.1
    config = O.serialize(opt)
    again = O.deserialize(json.loads(json.dumps(config)))
    assert isinstance(again._learning_rate, schedules.PiecewiseConstantDecay)


def test_callable_learning_rate():
    w = gk.Variable(np.zeros(1), dtype="float64", name="w")
    current = {"lr": 0.5}
    opt = O.SGD(learning_rate=lambda: current["lr"])
    opt.apply([np.ones(1)], [w])
    current["lr"] = 0.25
    opt.apply([np.ones(1)], [w])
    np.testing.assert_allclose(w.numpy(), [-0.75])


# -------------------------------------------------------------------------------- clipping
def sgd_delta(grads, **clip):
    variables = [gk.Variable(np.zeros(np.shape(g)), dtype="float64", name=f"c{i}") for i, g in enumerate(grads)]
    O.SGD(learning_rate=1.0, **clip).apply([np.asarray(g, np.float64) for g in grads], variables)
    return [-v.numpy() for v in variables]


def test_clipnorm_clips_each_gradient_by_its_own_norm():
    big, small = np.array([3.0, 4.0]), np.array([0.3, 0.4])
    d_big, d_small = sgd_delta([big, small], clipnorm=1.0)
    np.testing.assert_allclose(d_big, [0.6, 0.8])
    np.testing.assert_allclose(d_small, small)
    (zero,) = sgd_delta([np.zeros(3)], clipnorm=1.0)
    np.testing.assert_array_equal(zero, 0.0)


def test_global_clipnorm_scales_all_gradients_together():
    a, b = np.array([3.0, 0.0]), np.array([0.0, 4.0])  # global norm 5
    d_a, d_b = sgd_delta([a, b], global_clipnorm=1.0)
    np.testing.assert_allclose(d_a, a / 5)
    np.testing.assert_allclose(d_b, b / 5)
    d_a, d_b = sgd_delta([a, b], global_clipnorm=10.0)
    np.testing.assert_allclose(d_a, a)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy warnings either
        d_inf, _ = sgd_delta([np.array([np.inf, 1.0]), b], global_clipnorm=1.0)
    assert np.isnan(d_inf).all()  # Keras: a non-finite global norm makes every gradient NaN


def test_clipvalue():
    (d,) = sgd_delta([np.array([-3.0, 0.2, 5.0])], clipvalue=0.5)
    np.testing.assert_allclose(d, [-0.5, 0.2, 0.5])


def test_only_one_clipping_argument():
    with pytest.raises(ValueError, match="Only one of `clipnorm`, `clipvalue` and `global_clipnorm`"):
        O.Adam(clipnorm=1.0, clipvalue=1.0)


def test_clipping_runs_before_the_update_in_adam():
    rng = np.random.default_rng(4)
    g = rng.normal(size=(5,)) * 10
    w1 = gk.Variable(np.zeros(5), dtype="float64", name="w")
    O.Adam(0.01, clipnorm=1.0).apply([g], [w1])
    w2 = gk.Variable(np.zeros(5), dtype="float64", name="w")
    O.Adam(0.01).apply([g / np.linalg.norm(g)], [w2])
    np.testing.assert_allclose(w1.numpy(), w2.numpy(), rtol=1e-12)


# --------------------------------------------------------------------------------- weight decay
def test_weight_decay_is_decoupled_and_applied_before_the_update():
    w = gk.Variable(np.array([2.0, -4.0]), dtype="float64", name="dense/kernel")
    O.SGD(learning_rate=0.1, weight_decay=0.5).apply([np.array([1.0, 1.0])], [w])
    np.testing.assert_allclose(w.numpy(), np.array([2.0, -4.0]) * (1 - 0.05) - 0.1)


def test_exclude_from_weight_decay_by_variable_and_by_name():
    kernel = gk.Variable(np.ones(2), dtype="float64", name="dense/kernel")
    bias = gk.Variable(np.ones(2), dtype="float64", name="dense/bias")
    other = gk.Variable(np.ones(2), dtype="float64", name="embedding/embeddings")
    opt = O.AdamW(learning_rate=0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_list=[other], var_names=["bias"])
    zero = np.zeros(2)
    opt.apply([zero, zero, zero], [kernel, bias, other])  # zero gradients: Adam's step is 0
    np.testing.assert_allclose(kernel.numpy(), 0.95)
    np.testing.assert_allclose(bias.numpy(), 1.0)
    np.testing.assert_allclose(other.numpy(), 1.0)
    opt.exclude_from_weight_decay()  # after build: takes effect too
    opt.apply([zero, zero, zero], [kernel, bias, other])
    np.testing.assert_allclose(bias.numpy(), 0.95)


def test_adamw_needs_a_weight_decay():
    assert O.AdamW().weight_decay == 0.004
    with pytest.raises(ValueError, match="weight_decay"):
        O.AdamW(weight_decay=None)


# ------------------------------------------------------------------------------ gradients in
def test_none_gradients_are_skipped_with_one_warning():
    a = gk.Variable(np.ones(2), dtype="float64", name="a")
    b = gk.Variable(np.ones(2), dtype="float64", name="b")
    opt = O.SGD(0.5, momentum=0.5)
    with pytest.warns(UserWarning, match=r"Gradients do not exist for variables \['b'\]"):
        opt.apply([np.ones(2), None], [a, b])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.apply([np.ones(2), None], [a, b])  # warned once only
    np.testing.assert_allclose(a.numpy(), 1 - 0.5 - (0.5 * 0.5 + 0.5))
    np.testing.assert_allclose(b.numpy(), 1.0)
    np.testing.assert_allclose(opt.get_slot(b, "momentum").numpy(), 0.0)
    assert int(opt.iterations) == 2
    with pytest.raises(ValueError, match="No gradients provided for any variable"):
        opt.apply([None, None], [a, b])
    assert int(opt.iterations) == 2


def test_gradients_are_never_written_to():
    w = gk.Variable(np.ones((3, 2), np.float32), name="w")
    g = np.broadcast_to(np.float32(0.5), (3, 2))  # a read-only broadcast view, as tapes may return
    assert not g.flags.writeable
    shared = np.full((3, 2), 0.25, np.float32)
    for opt in (O.SGD(0.1, momentum=0.9, nesterov=True), O.Adam(amsgrad=True), O.RMSprop(centered=True, momentum=0.1),
                O.Adagrad(), O.Adam(clipnorm=0.1), O.SGD(global_clipnorm=0.1), O.RMSprop(clipvalue=0.1)):
        opt.apply([g], [w])
        opt.apply([shared], [w])
    np.testing.assert_array_equal(shared, 0.25)


def test_updates_are_in_place_and_gradients_may_be_tensors_or_lists():
    w = gk.Variable(np.ones((2, 2), np.float32), name="w")
    before = w.data
    opt = O.RMSprop(0.01)
    opt.apply([gk.constant([[1.0, 2.0], [3.0, 4.0]])], [w])
    opt.apply([[[1.0, 2.0], [3.0, 4.0]]], [w])
    opt.apply_gradients([(np.ones((2, 2), np.float64), w)])  # float64 gradient for a float32 variable
    assert w.data is before and w.dtype == np.float32
    slot = opt.get_slot(w, "velocity")
    assert slot.dtype == np.float32 and not slot.trainable


def test_shape_mismatch_names_the_variable_and_changes_nothing():
    a = gk.Variable(np.ones(3), dtype="float64", name="dense/bias")
    b = gk.Variable(np.ones((4, 3)), dtype="float64", name="dense/kernel")
    opt = O.Adam()
    opt.apply([np.ones(3), np.ones((4, 3))], [a, b])
    snapshot = [a.numpy().copy(), b.numpy().copy()] + [v.numpy().copy() for v in opt.variables]
    with pytest.raises(ValueError) as info:
        opt.apply([np.ones(3), np.ones((3, 4))], [a, b])
    message = str(info.value)
    assert "'dense/kernel'" in message and "(3, 4)" in message and "(4, 3)" in message
    after = [a.numpy(), b.numpy()] + [v.numpy() for v in opt.variables]
    for x, y in zip(snapshot, after):
        np.testing.assert_array_equal(x, y)


def test_unknown_variable_and_count_mismatch():
    a = gk.Variable(np.ones(2), name="a")
    stranger = gk.Variable(np.ones(2), name="stranger")
    opt = O.SGD()
    opt.apply([np.ones(2)], [a])
    with pytest.raises(ValueError, match="Unknown variable: 'stranger'"):
        opt.apply([np.ones(2)], [stranger])
    with pytest.raises(ValueError, match="2 gradients for 1 variables"):
        opt.apply([np.ones(2), np.ones(2)], [a])
    with pytest.raises(ValueError, match="must already be built"):
        O.SGD().apply([np.ones(2)])
    opt.apply([np.ones(2)])  # built: grads alone, in build order
    assert int(opt.iterations) == 2


# ------------------------------------------------------------------------------------- state
def test_slots_are_created_lazily_once_with_keras_names_and_order():
    with gk.name_scope("dense"):
        kernel = gk.Variable(np.ones((2, 3), np.float32), name="kernel")
        bias = gk.Variable(np.ones(3), name="bias")
    opt = O.Adam(amsgrad=True)
    assert not opt.built
    assert [v.name for v in opt.variables] == ["adam/iteration", "adam/learning_rate"]
    assert opt.iterations.dtype == np.int64 and not opt.iterations.trainable
    opt.apply([np.ones((2, 3)), np.ones(3)], [kernel, bias])
    names = [v.name for v in opt.variables]
    assert names == ["adam/iteration", "adam/learning_rate",
                     "adam/dense_kernel_momentum", "adam/dense_bias_momentum",
                     "adam/dense_kernel_velocity", "adam/dense_bias_velocity",
                     "adam/dense_kernel_velocity_hat", "adam/dense_bias_velocity_hat"]
    first = opt.variables
    opt.apply([np.ones((2, 3)), np.ones(3)], [kernel, bias])
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply([None, np.ones(3)], [kernel, bias])
    assert all(a is b for a, b in zip(first, opt.variables)) and len(first) == len(opt.variables)
    assert opt.get_slot_names() == ["momentum", "velocity", "velocity_hat"]
    assert opt.get_slot(bias, "velocity") is first[5]
    assert opt.model_variables == [kernel, bias]
    assert all(not v.trainable for v in first)
    assert [v.shape for v in first[2:4]] == [(2, 3), (3,)]


@pytest.mark.parametrize("opt,slots", [
    (O.SGD(), []), (O.SGD(momentum=0.9), ["momentum"]), (O.RMSprop(), ["velocity"]),
    (O.RMSprop(momentum=0.1, centered=True), ["velocity", "momentum", "average_gradient"]),
    (O.Adagrad(), ["accumulator"]), (O.AdamW(), ["momentum", "velocity"]),
], ids=lambda x: x if isinstance(x, list) else type(x).__name__)
def test_slot_names(opt, slots):
    w = gk.Variable(np.ones(2), name="w")
    opt.apply([np.ones(2)], [w])
    assert opt.get_slot_names() == slots
    assert len(opt.variables) == 2 + len(slots)
    if isinstance(opt, O.Adagrad):
        np.testing.assert_allclose(opt.get_slot(w, "accumulator").numpy(), 0.1 + 1.0)


def test_learning_rate_setter_and_restored_state():
    w = gk.Variable(np.zeros(2), dtype="float64", name="w")
    opt = O.SGD(learning_rate=0.1)
    assert opt.learning_rate == 0.1 and isinstance(opt.learning_rate, float)
    opt.learning_rate = 0.5  # as ReduceLROnPlateau / LearningRateScheduler do
    assert opt.learning_rate == 0.5 and opt.get_config()["learning_rate"] == 0.5
    opt.apply([np.ones(2)], [w])
    np.testing.assert_allclose(w.numpy(), -0.5)
    lr_var = opt.variables[1]
    assert lr_var.name == "SGD/learning_rate" and lr_var.dtype == np.float32
    np.testing.assert_allclose(lr_var.numpy(), 0.5)
    lr_var.assign(0.25)  # e.g. a checkpoint restore
    assert opt.learning_rate == 0.25
    opt.apply([np.ones(2)], [w])
    np.testing.assert_allclose(w.numpy(), -0.75)
    opt.learning_rate = schedules.ExponentialDecay(1.0, 1, 0.5)
    assert [v.name for v in opt.variables] == ["SGD/iteration"] and opt.learning_rate == 0.25  # 0.5 ** 2
    with pytest.raises(ValueError, match="learning_rate"):
        O.SGD(learning_rate="fast")


def test_iterations_restore_drives_adam_bias_correction():
    rng = np.random.default_rng(5)
    grads = [rng.normal(size=4) for _ in range(6)]
    w_full = gk.Variable(np.zeros(4), dtype="float64", name="w")
    full = O.Adam(0.01)
    for g in grads:
        full.apply([g], [w_full])
    # Interrupted run: 3 steps, save by position, fresh objects, load, 3 more steps.
    w = gk.Variable(np.zeros(4), dtype="float64", name="w")
    first = O.Adam(0.01)
    for g in grads[:3]:
        first.apply([g], [w])
    store = {}
    first.save_own_variables(store)
    saved_w = w.numpy().copy()
    w2 = gk.Variable(saved_w, dtype="float64", name="w")
    second = O.Adam(0.01)
    second.build([w2])
    second.load_own_variables(store)
    assert int(second.iterations) == 3
    for g in grads[3:]:
        second.apply([g], [w2])
    np.testing.assert_allclose(w2.numpy(), w_full.numpy(), rtol=1e-12)
    with pytest.warns(UserWarning, match="Skipping variable loading"):
        O.Adam().load_own_variables(store)
    weights = second.get_weights()
    third = O.Adam(0.01)
    third.build([gk.Variable(np.zeros(4), dtype="float64", name="w")])
    third.set_weights(weights)
    assert int(third.iterations) == 6
    with pytest.raises(ValueError, match="not compatible"):
        third.set_weights([np.zeros(3)] * len(weights))


# -------------------------------------------------------------------------- extra base args
def test_loss_scale_factor_unscales_gradients():
    w = gk.Variable(np.zeros(2), dtype="float64", name="w")
    opt = O.SGD(1.0, loss_scale_factor=8.0)
    assert opt.scale_loss(2.0) == 16.0
    opt.apply([np.full(2, 8.0)], [w])
    np.testing.assert_allclose(w.numpy(), -1.0)


def test_gradient_accumulation_updates_every_n_steps_with_the_mean():
    w = gk.Variable(np.zeros(2), dtype="float64", name="w")
    opt = O.SGD(1.0, gradient_accumulation_steps=3)
    opt.apply([np.full(2, 1.0)], [w])
    opt.apply([np.full(2, 2.0)], [w])
    np.testing.assert_allclose(w.numpy(), 0.0)
    opt.apply([np.full(2, 6.0)], [w])
    np.testing.assert_allclose(w.numpy(), -3.0)
    assert int(opt.iterations) == 1 and int(opt._iterations) == 3
    np.testing.assert_allclose(opt.variables[2].numpy(), 0.0)  # the accumulator was reset
    assert opt.variables[2].name == "SGD/w_gradient_accumulator"


def test_ema_keeps_a_moving_average_and_finalize_copies_it():
    w = gk.Variable(np.zeros(1), dtype="float64", name="w")
    opt = O.SGD(1.0, use_ema=True, ema_momentum=0.5)
    values = []
    for _ in range(3):
        opt.apply([np.ones(1)], [w])
        values.append(w.numpy().item())
    assert values == [-1.0, -2.0, -3.0]
    average = opt.variables[2]
    assert average.name == "SGD/w_average"
    # step 0: average = w; then average = 0.5 * average + 0.5 * w
    np.testing.assert_allclose(average.numpy(), 0.5 * (0.5 * -1.0 + 0.5 * -2.0) + 0.5 * -3.0)
    opt.finalize_variable_values([w])
    np.testing.assert_allclose(w.numpy(), average.numpy())


def test_unknown_keyword_and_deprecated_decay():
    with pytest.raises(ValueError, match="not recognized"):
        O.Adam(betas=(0.9, 0.99))
    with pytest.warns(UserWarning, match="decay"):
        O.SGD(decay=0.1)
    with pytest.raises(ValueError, match="momentum"):
        O.SGD(momentum=1.5)


# ----------------------------------------------------------------------------------- configs
@pytest.mark.parametrize("opt", [
    O.SGD(0.1, momentum=0.9, nesterov=True, clipnorm=1.0),
    O.Adam(0.002, beta_1=0.8, amsgrad=True, weight_decay=0.01),
    O.AdamW(0.003, weight_decay=0.1, global_clipnorm=2.0),
    O.RMSprop(0.004, rho=0.8, momentum=0.2, centered=True, clipvalue=0.5),
    O.Adagrad(0.05, initial_accumulator_value=0.2, name="my_adagrad"),
    O.Adam(schedules.CosineDecay(0.01, 100, warmup_target=0.1, warmup_steps=10)),
], ids=lambda o: type(o).__name__)
def test_config_round_trip(opt):
    config = json.loads(json.dumps(O.serialize(opt)))
    assert config["module"] == "keras.optimizers" and config["registered_name"] is None
    assert config["class_name"] == type(opt).__name__
    again = O.deserialize(config)
    assert type(again) is type(opt)
    assert again.get_config() == opt.get_config()
    assert type(opt).from_config(opt.get_config()).get_config() == opt.get_config()
    again2 = O.get(config)
    assert again2.get_config() == opt.get_config()


def test_keras_default_config():
    assert O.Adam().get_config() == {
        "name": "adam", "learning_rate": 0.001, "weight_decay": None, "clipnorm": None, "global_clipnorm": None,
        "clipvalue": None, "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
        "loss_scale_factor": None, "gradient_accumulation_steps": None, "beta_1": 0.9, "beta_2": 0.999,
        "epsilon": 1e-07, "amsgrad": False}
    assert O.SGD().get_config()["learning_rate"] == 0.01 and O.SGD().name == "SGD"
    assert O.RMSprop().name == "rmsprop" and O.Adagrad().name == "adagrad" and O.AdamW().name == "adamw"


@pytest.mark.parametrize("name,cls", [("sgd", O.SGD), ("SGD", O.SGD), ("adam", O.Adam), ("Adam", O.Adam),
                                      ("adamw", O.AdamW), ("AdamW", O.AdamW), ("rmsprop", O.RMSprop),
                                      ("RMSprop", O.RMSprop), ("adagrad", O.Adagrad), ("Adagrad", O.Adagrad)])
def test_get_by_name(name, cls):
    opt = O.get(name)
    assert type(opt) is cls
    assert O.get(opt) is opt


def test_get_errors_list_the_valid_names():
    assert O.get(None) is None
    with pytest.raises(ValueError) as info:
        O.get("adamax_typo")
    message = str(info.value)
    assert "'adamax_typo'" in message
    for name in ("sgd", "adam", "adamw", "rmsprop", "adagrad"):
        assert f"'{name}'" in message
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier"):
        O.get(42)


def test_custom_optimizer_with_keras_style_update_step_and_registration():
    @gk.saving.register_serializable(package="TestOpt")
    class SignSGD(O.Optimizer):
        def __init__(self, learning_rate=0.1, **kwargs):
            super().__init__(learning_rate=learning_rate, **kwargs)

        def build(self, var_list):
            if self.built:
                return
            super().build(var_list)
            self.counts = self.add_optimizer_variables(var_list, "count")

        def update_step(self, gradient, variable, learning_rate):
            self.assign_sub(variable, gk.ops.sign(gradient) * learning_rate)
            self.assign_add(self.counts[self._get_variable_index(variable)], gk.ones(variable.shape, "float32"))

    w = gk.Variable(np.array([1.0, -1.0], np.float32), name="w")
    opt = SignSGD(0.25)
    opt.apply([np.array([3.0, -0.5], np.float32)], [w])
    np.testing.assert_allclose(w.numpy(), [0.75, -0.75])
    np.testing.assert_allclose(opt.get_slot(w, "count").numpy(), 1.0)
    config = O.serialize(opt)
    assert config["registered_name"] == "TestOpt>SignSGD"
    again = O.deserialize(json.loads(json.dumps(config)))
    assert type(again) is SignSGD and again.learning_rate == 0.25


# -------------------------------------------------------------------------------------- GPU
@pytest.mark.skipif(backend.cuda_unavailable_reason() is not None,
                    reason=f"CuPy/CUDA unavailable: {backend.cuda_unavailable_reason()}")
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_cupy_updates_match_numpy(case):
    kind, cfg = case
    rng = np.random.default_rng(6)
    grads = [[rng.normal(size=s).astype(np.float32) for s in SHAPES] for _ in range(4)]
    results = []
    for name in ("numpy", "cupy"):
        with backend.use(name) as ops:
            variables = [gk.Variable(np.ones(s, np.float32), name="w") for s in SHAPES]
            opt = make(kind, **cfg)
            for step in grads:
                opt.apply([ops.asarray(g) for g in step], variables)
            results.append([v.numpy().copy() for v in variables])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
