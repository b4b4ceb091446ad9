"""Gradient checking for gk.ops: analytic gradients from ``gk.GradientTape`` against central
finite differences, both in float64, on a chosen backend.

The objective is ``sum_k sum(f(x)_k * w_k)`` with fixed random weights ``w_k`` (passed to the
tape as ``output_gradients``), so every element of every output matters and the objective is
computed outside graphkit.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

import graphkit as gk

BACKENDS = {"generic": gk.backend.Ops(np), "numpy": gk.backend.NumpyOps()}


def _outputs(result) -> list:
    return list(result) if isinstance(result, (list, tuple)) else [result]


def _to_tensor(value: Any):
    """float arrays become float64 tensors (differentiated), anything else a plain constant."""
    array = np.asarray(value)
    if array.dtype.kind == "f":
        return gk.constant(array, dtype="float64")
    return gk.constant(array)


def numeric_gradients(f: Callable, inputs: Sequence[Any], weights: Sequence[np.ndarray],
                      wrt: Sequence[int], eps: float = 1e-6) -> list[np.ndarray]:
    """Central differences of ``sum_k sum(f(*inputs)_k * weights_k)`` for the inputs in ``wrt``."""
    def objective(arrays) -> float:
        outs = _outputs(f(*[_to_tensor(a) for a in arrays]))
        return sum(float(np.sum(np.asarray(o, dtype=np.float64) * w)) for o, w in zip(outs, weights))

    arrays = [np.array(x, dtype=np.float64) if i in wrt else x for i, x in enumerate(inputs)]
    grads = []
    for i in wrt:
        x = arrays[i]
        grad = np.zeros_like(x)
        for j in np.ndindex(x.shape):
            original = x[j]
            x[j] = original + eps
            plus = objective(arrays)
            x[j] = original - eps
            minus = objective(arrays)
            x[j] = original
            grad[j] = (plus - minus) / (2 * eps)
        grads.append(grad)
    return grads


def check_gradients(f: Callable, *inputs: Any, backend: gk.backend.Ops, wrt: Sequence[int] | None = None,
                    eps: float = 1e-6, rtol: float = 1e-5, atol: float = 1e-6, seed: int = 0) -> list:
    """Assert that the tape's gradients of ``f`` match finite differences under ``backend``.

    ``inputs`` are arrays or numbers; floating ones are differentiated (or those listed in
    ``wrt``), others (indices, masks) are passed as constants. ``f`` returns a tensor or a
    list of tensors. Returns the analytic gradients (numpy arrays).
    """
    inputs = [np.asarray(x) for x in inputs]
    if wrt is None:
        wrt = [i for i, x in enumerate(inputs) if x.dtype.kind == "f"]
    rng = np.random.default_rng(seed)
    with gk.backend.use(backend):
        tensors = [_to_tensor(x) for x in inputs]
        with gk.GradientTape() as tape:
            for i in wrt:
                tape.watch(tensors[i])
            outs = _outputs(f(*tensors))
        for o in outs:
            assert o.dtype == np.float64, f"float64 inputs gave a {o.dtype} output"
        weights = [rng.standard_normal(o.shape) for o in outs]
        analytic = tape.gradient(outs, [tensors[i] for i in wrt], output_gradients=weights)
        numeric = numeric_gradients(f, inputs, weights, wrt, eps)
    results = []
    for i, a, n in zip(wrt, analytic, numeric):
        assert a is not None, f"no gradient for input {i}"
        assert a.shape == inputs[i].shape, f"input {i}: gradient shape {a.shape} != {inputs[i].shape}"
        assert a.dtype == np.float64, f"input {i}: gradient dtype {a.dtype}"
        np.testing.assert_allclose(a.numpy(), n, rtol=rtol, atol=atol, err_msg=f"gradient of input {i}")
        results.append(a.numpy())
    return results


def check_backward_dtypes(f: Callable, *inputs: Any, backend: gk.backend.Ops, dtype: str = "float32") -> None:
    """Assert that every primitive ``f`` records returns gradients of its inputs' float dtype.

    The tape casts stray gradients back, so a backward that upcasts (float32 -> float64) is
    only slow, not wrong; this catches it by calling each recorded backward directly.
    """
    results = []

    def collect(prim, ins, result, attrs, start, end, phase):
        if phase == "forward":
            results.extend(_outputs(result))

    with gk.backend.use(backend):
        tensors = [gk.constant(np.asarray(x), dtype=dtype) if np.asarray(x).dtype.kind == "f"
                   else gk.constant(x) for x in inputs]
        with gk.GradientTape() as tape, gk.observe(collect):
            tape.watch(tensors)
            f(*tensors)
        nodes = {id(t._node): t._node for t in results if t._node is not None}
        for node in nodes.values():
            outs = [t for t in results if t._node is node]
            grads = [backend.xp.ones(t.shape, dtype=t.dtype) for t in sorted(outs, key=lambda t: t._index)]
            grad_in = grads if node.prim.multi_output else grads[0]
            wants_all = {"needs_input_grad": (True,) * len(node.inputs)} if node.prim.takes_needs_input_grad else {}
            for x, g in zip(node.inputs, node.prim.backward(backend, node.saved, grad_in, **wants_all)):
                if g is not None and x.dtype.kind == "f":
                    assert g.dtype == x.dtype, f"{node.prim.name}: {g.dtype} gradient for a {x.dtype} input"
