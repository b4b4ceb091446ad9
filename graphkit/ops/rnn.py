"""Recurrent layers' math as fused sequence primitives with hand-written BPTT backward.

``lstm``, ``gru`` and ``simple_rnn`` each run a whole sequence as one primitive: the input
projection is one GEMM over all time steps, the recurrence loops over steps, and backward
accumulates per-step pre-activation gradients into one buffer so the input, kernel and
recurrent-kernel gradients are one GEMM each. The array work lives in
:class:`graphkit.backend.rnn_ops.RNNOps` (methods of every ``Ops``).

Weight layouts, gate orders and masking follow Keras 3 (see that module's docstring). Outputs
are batch-major ``(N, T, units)`` in processing order: with ``go_backwards`` the first output
belongs to the last input step, as Keras returns them before any flip.
"""
from __future__ import annotations

from typing import Any

from ..backend import state as _backend
from ..engine.autograd import Primitive
from ..engine.tensor import Tensor, wrap
from ..global_state import THREAD
from ._operands import as_tensor

_LSTM_GATES, _GRU_GATES = 4, 3


# ----------------------------------------------------------------- primitives
def _split_rest(rest, has_bias, has_mask):
    bias = rest[0] if has_bias else None
    mask = rest[int(has_bias)] if has_mask else None
    return bias, mask


def _tail_grads(gb, has_bias, has_mask):
    return ((gb,) if has_bias else ()) + ((None,) if has_mask else ())


def _backward(method: str):
    """The BPTT backward of ``ops.<method>``, with the bias gradient and the mask's None appended
    as the primitive's inputs need. An input that needs no gradient (a batch of data fed straight
    in) skips the input GEMM, one of the three that close the backward."""
    def backward(ops, saved, grads, needs_input_grad):
        saved, has_bias, has_mask = saved
        *state_grads, gb = getattr(ops, method)(saved, *grads, input_grad=needs_input_grad[0])
        return tuple(state_grads) + _tail_grads(gb, has_bias, has_mask)
    return backward


def _lstm_forward(ops, x, h0, c0, kernel, recurrent_kernel, *rest, has_bias, has_mask, go_backwards,
                  zero_output_for_mask, save, zero_h0=False):
    bias, mask = _split_rest(rest, has_bias, has_mask)
    outputs, h, c, saved = ops.lstm_forward(x, h0, c0, kernel, recurrent_kernel, bias, mask, go_backwards,
                                            zero_output_for_mask, save, zero_h0=zero_h0)
    return (outputs, h, c), (saved, has_bias, has_mask)


def _gru_forward(ops, x, h0, kernel, recurrent_kernel, *rest, has_bias, has_mask, go_backwards,
                 reset_after, zero_output_for_mask, save):
    bias, mask = _split_rest(rest, has_bias, has_mask)
    outputs, h, saved = ops.gru_forward(x, h0, kernel, recurrent_kernel, bias, mask, go_backwards,
                                        reset_after, zero_output_for_mask, save)
    return (outputs, h), (saved, has_bias, has_mask)


def _simple_rnn_forward(ops, x, h0, kernel, recurrent_kernel, *rest, has_bias, has_mask, go_backwards,
                        activation, zero_output_for_mask, save):
    bias, mask = _split_rest(rest, has_bias, has_mask)
    outputs, h, saved = ops.simple_rnn_forward(x, h0, kernel, recurrent_kernel, bias, mask, go_backwards,
                                               activation, zero_output_for_mask, save)
    return (outputs, h), (saved, has_bias, has_mask)


lstm_p = Primitive("lstm", _lstm_forward, _backward("lstm_backward"), multi_output=True)
gru_p = Primitive("gru", _gru_forward, _backward("gru_backward"), multi_output=True)
simple_rnn_p = Primitive("simple_rnn", _simple_rnn_forward, _backward("simple_rnn_backward"),
                         multi_output=True)


# ------------------------------------------------------------------- operands
def _sequence(inputs: Any) -> Tensor:
    x = as_tensor(inputs)
    if x.ndim != 3:
        raise ValueError(f"Recurrent inputs must be (batch, timesteps, features), got shape {x.shape}.")
    if x.dtype.kind != "f":
        raise TypeError(f"Recurrent inputs must be floating point, got {x.dtype}.")
    if x.shape[1] == 0:
        raise ValueError("Recurrent inputs need at least one time step.")
    return x


def _like(value: Any, x: Tensor, shape: tuple, what: str) -> Tensor:
    """``value`` as a tensor of ``x``'s dtype with ``shape`` (zeros for an initial state of None)."""
    if value is None:
        return wrap(_backend.ops.zeros(shape, x.dtype), None, 0)
    t = as_tensor(value, dtype=x.dtype)
    if tuple(t.shape) != tuple(shape):
        raise ValueError(f"{what} must have shape {tuple(shape)}, got {tuple(t.shape)}.")
    return t


def _mask(mask: Any, x: Tensor):
    if mask is None:
        return None
    m = as_tensor(mask, dtype="bool")
    if tuple(m.shape) != tuple(x.shape[:2]):
        raise ValueError(f"mask must have shape (batch, timesteps) = {tuple(x.shape[:2])}, got {tuple(m.shape)}.")
    return m


def _weights(x, kernel, recurrent_kernel, gates: int):
    kernel = as_tensor(kernel, dtype=x.dtype)
    recurrent_kernel = as_tensor(recurrent_kernel, dtype=x.dtype)
    if recurrent_kernel.ndim != 2 or recurrent_kernel.shape[1] != gates * recurrent_kernel.shape[0]:
        raise ValueError(f"recurrent_kernel must have shape (units, {gates}*units), got {recurrent_kernel.shape}.")
    units = recurrent_kernel.shape[0]
    if tuple(kernel.shape) != (x.shape[2], gates * units):
        raise ValueError(f"kernel must have shape (input_dim, {gates}*units) = {(x.shape[2], gates * units)}, "
                         f"got {tuple(kernel.shape)}.")
    return kernel, recurrent_kernel, units


def _apply(prim, tensors, bias, mask, **attrs):
    tail = ([bias] if bias is not None else []) + ([mask] if mask is not None else [])
    tensors = list(tensors) + tail
    save = bool(THREAD.tapes) and any(t._tracked for t in tensors)
    return prim.apply(*tensors, has_bias=bias is not None, has_mask=mask is not None, save=save, **attrs)


# ------------------------------------------------------------------ functions
def lstm(inputs: Any, initial_h: Any, initial_c: Any, kernel: Any, recurrent_kernel: Any, bias: Any = None,
         mask: Any = None, go_backwards: bool = False, zero_output_for_mask: bool = False):
    """Run a Keras-3 LSTM (gates i, f, c, o; tanh / sigmoid) over ``inputs`` ``(N, T, F)``.

    ``kernel`` ``(F, 4u)``, ``recurrent_kernel`` ``(u, 4u)``, ``bias`` ``(4u,)`` or None;
    ``initial_h``/``initial_c`` ``(N, u)`` or None for zeros; ``mask`` ``(N, T)`` booleans.
    Returns ``(outputs (N, T, u), last_h, last_c)``: every step's hidden state (masked steps
    repeat the previous one, or are zeros with ``zero_output_for_mask``) and the final states.
    """
    x = _sequence(inputs)
    kernel, recurrent_kernel, u = _weights(x, kernel, recurrent_kernel, _LSTM_GATES)
    n = x.shape[0]
    h0 = _like(initial_h, x, (n, u), "initial_h")
    c0 = _like(initial_c, x, (n, u), "initial_c")
    b = None if bias is None else _like(bias, x, (4 * u,), "bias")
    # A left-out initial_h is an untracked zeros constant: the kernel skips the GEMMs on it.
    return _apply(lstm_p, (x, h0, c0, kernel, recurrent_kernel), b, _mask(mask, x),
                  go_backwards=bool(go_backwards), zero_output_for_mask=bool(zero_output_for_mask),
                  zero_h0=initial_h is None)


def gru(inputs: Any, initial_h: Any, kernel: Any, recurrent_kernel: Any, bias: Any = None, mask: Any = None,
        go_backwards: bool = False, reset_after: bool = True, zero_output_for_mask: bool = False):
    """Run a Keras-3 GRU (gates z, r, h; tanh / sigmoid) over ``inputs`` ``(N, T, F)``.

    ``kernel`` ``(F, 3u)``, ``recurrent_kernel`` ``(u, 3u)``; ``bias`` ``(2, 3u)`` (input and
    recurrent rows) with ``reset_after=True``, ``(3u,)`` with ``reset_after=False``, or None.
    Returns ``(outputs (N, T, u), last_h)``.
    """
    x = _sequence(inputs)
    kernel, recurrent_kernel, u = _weights(x, kernel, recurrent_kernel, _GRU_GATES)
    h0 = _like(initial_h, x, (x.shape[0], u), "initial_h")
    b = None if bias is None else _like(bias, x, (2, 3 * u) if reset_after else (3 * u,), "bias")
    return _apply(gru_p, (x, h0, kernel, recurrent_kernel), b, _mask(mask, x), go_backwards=bool(go_backwards),
                  reset_after=bool(reset_after), zero_output_for_mask=bool(zero_output_for_mask))


def simple_rnn(inputs: Any, initial_h: Any, kernel: Any, recurrent_kernel: Any, bias: Any = None,
               mask: Any = None, go_backwards: bool = False, activation: str = "tanh",
               zero_output_for_mask: bool = False):
    """Run a Keras-3 SimpleRNN ``h_t = act(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``.

    ``activation`` is "tanh", "relu", "sigmoid" or "linear". Returns ``(outputs, last_h)``.
    """
    x = _sequence(inputs)
    kernel, recurrent_kernel, u = _weights(x, kernel, recurrent_kernel, 1)
    h0 = _like(initial_h, x, (x.shape[0], u), "initial_h")
    b = None if bias is None else _like(bias, x, (u,), "bias")
    return _apply(simple_rnn_p, (x, h0, kernel, recurrent_kernel), b, _mask(mask, x),
                  go_backwards=bool(go_backwards), activation=activation or "linear",
                  zero_output_for_mask=bool(zero_output_for_mask))
