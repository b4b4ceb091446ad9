"""Recurrent layers (Keras 3 semantics): SimpleRNN, LSTM, GRU and the Bidirectional wrapper.

Each layer runs a whole sequence through one fused primitive of :mod:`graphkit.ops.rnn` (one
GEMM for the input projection, a per-step loop for the recurrence, hand-written BPTT). Weight
names and layouts are Keras's, so ``set_weights`` with a Keras layer's weights reproduces its
outputs:

* ``SimpleRNN``: ``kernel`` ``(F, u)``, ``recurrent_kernel`` ``(u, u)``, ``bias`` ``(u,)``.
* ``LSTM``: ``kernel`` ``(F, 4u)``, ``recurrent_kernel`` ``(u, 4u)``, ``bias`` ``(4u,)``; gates
  i, f, c, o. ``unit_forget_bias`` initializes the forget-gate slice of the bias to ones.
* ``GRU``: ``kernel`` ``(F, 3u)``, ``recurrent_kernel`` ``(u, 3u)``; gates z, r, h; ``bias``
  ``(2, 3u)`` (input row, recurrent row) with ``reset_after=True``, ``(3u,)`` without.

Keras keeps these weights in a cell sublayer (``lstm/lstm_cell/kernel``); graphkit's layers own
them directly (``lstm/kernel``), in the same order.

Semantics follow Keras 3's NumPy/JAX backends: with ``go_backwards`` the returned sequence is in
processing (reversed) order; under a mask the states are carried over masked steps and a masked
step outputs the previous output (zeros with ``zero_output_for_mask``); the non-sequence output
is the last output of that sequence. ``return_state`` returns ``(output, *states)`` (``h, c`` for
LSTM, ``h`` otherwise). ``dropout`` draws one keep mask per sequence (``(batch, features)``,
scaled by ``1 / (1 - rate)``) shared by all steps, as Keras does.

The fused kernels cover the default activations (LSTM/GRU: ``tanh`` and ``sigmoid``; SimpleRNN:
``tanh``, ``relu``, ``sigmoid``, ``linear``). Other activations, and ``recurrent_dropout`` while
training, run a step-by-step loop of differentiable ops (Keras's cell math, "implementation 1"
per-gate dropout masks when ``recurrent_dropout`` is set): same results, slower.

Not supported: ``stateful=True`` (NotImplementedError), regularizers and constraints (must be
None). ``unroll`` is accepted and changes nothing (the loop is the same either way), ``use_cudnn``
and ``implementation`` are accepted and ignored.
"""
from __future__ import annotations

import numbers
from typing import Any, Sequence

from .. import activations, backend, initializers
from ..engine.tensor import Tensor, wrap
from ..graph.node import flatten_structure
from ..ops import rnn as rnn_ops
from ..ops._operands import as_tensor
from ..ops.array import concatenate, split, stack, unstack, where
from ..ops.cast import cast
from ..ops.linalg import dense, matmul
from ..ops.math import add, multiply, subtract
from .core import _dropout_p, _require_none, _seeded_generator
from .input_spec import InputSpec
from .layer import Layer


def _label(layer: Layer) -> str:
    return f"{type(layer).__name__} '{layer.name}'"


def _positive_units(layer: Layer, units: Any) -> int:
    if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units <= 0:
        raise ValueError(f"{_label(layer)}: units must be a positive integer, got {units!r}.")
    return int(units)


def _rate(layer: Layer, value: Any, argument: str) -> float:
    """A dropout rate, clipped to [0, 1] as Keras does."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{_label(layer)}: {argument} must be a float between 0 and 1, got {value!r}.")
    return min(1.0, max(0.0, float(value)))


def _is(fn: Any, name: str) -> bool:
    return fn is activations.get(name)


class _RNNBase(Layer):
    """Shared code of SimpleRNN, LSTM and GRU: the RNN base-class arguments, shapes, masks, initial
    states, dropout and the generic step loop."""

    _gates = 1        # weight blocks in kernel / recurrent_kernel
    _state_count = 1  # states returned with return_state

    def __init__(self, units: int, *, activation: Any, use_bias: bool, kernel_initializer: Any,
                 recurrent_initializer: Any, bias_initializer: Any, kernel_regularizer: Any,
                 recurrent_regularizer: Any, bias_regularizer: Any, activity_regularizer: Any,
                 kernel_constraint: Any, recurrent_constraint: Any, bias_constraint: Any, dropout: float,
                 recurrent_dropout: float, seed: int | None, return_sequences: bool, return_state: bool,
                 go_backwards: bool, stateful: bool, unroll: bool, zero_output_for_mask: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _require_none(type(self).__name__, kernel_regularizer=kernel_regularizer,
                      recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                      activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                      recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint)
        if stateful:
            raise NotImplementedError(f"{_label(self)}: stateful=True is not supported by graphkit yet (pass the "
                                      "previous call's final states as initial_state instead).")
        self.units = _positive_units(self, units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.dropout = _rate(self, dropout, "dropout")
        self.recurrent_dropout = _rate(self, recurrent_dropout, "recurrent_dropout")
        self.seed = seed
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = False
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.state_size = [self.units] * self._state_count
        self.output_size = self.units
        self.states = None
        self.supports_masking = True
        self.input_spec = InputSpec(ndim=3)
        self._generators: dict[int, Any] = {}

    # ------------------------------------------------------------------ shapes
    def _check_sequence_shape(self, shape: Any) -> tuple:
        shape = tuple(shape)
        if len(shape) != 3:
            raise ValueError(f"{_label(self)} expects inputs of shape (batch, timesteps, features), got shape "
                             f"{shape}.")
        if self.unroll and shape[1] is None:
            raise ValueError(f"{_label(self)}: cannot unroll an RNN whose time dimension is undefined (input shape "
                             f"{shape}); give the Input a fixed number of timesteps or pass unroll=False.")
        return shape

    def compute_output_shape(self, sequences_shape: Any, initial_state_shape: Any = None) -> Any:
        batch, steps, _ = self._check_sequence_shape(sequences_shape)
        output = (batch, steps, self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return (output, *[(batch, size) for size in self.state_size])
        return output

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = flatten_structure(mask)[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self.state_size)
        return output_mask

    def build(self, sequences_shape: Any, initial_state_shape: Any = None) -> None:
        shape = self._check_sequence_shape(sequences_shape)
        input_dim = shape[-1]
        if input_dim is None:
            raise ValueError(f"{_label(self)} needs a known feature dimension (last axis), got input shape {shape}.")
        self._build_weights(int(input_dim))
        self.input_spec = InputSpec(ndim=3, axes={-1: int(input_dim)})
        self.built = True

    def _build_weights(self, input_dim: int) -> None:
        g, u = self._gates, self.units
        self.kernel = self.add_weight((input_dim, g * u), self.kernel_initializer, name="kernel")
        self.recurrent_kernel = self.add_weight((u, g * u), self.recurrent_initializer, name="recurrent_kernel")
        self.bias = self.add_weight(self._bias_shape(), self._bias_init(), name="bias") if self.use_bias else None

    def _bias_shape(self) -> tuple:
        return (self._gates * self.units,)

    def _bias_init(self) -> Any:
        return self.bias_initializer

    # ------------------------------------------------------------------ states
    def get_initial_state(self, batch_size: int) -> list:
        ops = backend.current()
        return [wrap(ops.zeros((batch_size, size), self._compute_dtype), None, 0) for size in self.state_size]

    def _initial_states(self, initial_state: Any, x: Tensor) -> list:
        """``initial_state`` as a list of ``_state_count`` tensors of ``x``'s dtype (None: zeros)."""
        if initial_state is None:
            return [None] * self._state_count
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(states) != self._state_count:
            what = "[h, c]" if self._state_count == 2 else "[h]"
            raise ValueError(f"{_label(self)} expects {self._state_count} initial state tensor(s) {what}, got "
                             f"{len(states)}.")
        result = []
        for state in states:
            if isinstance(state, Tensor) and state.dtype != x.dtype:
                state = cast(state, x.dtype)
            result.append(state)
        return result

    # ----------------------------------------------------------------- dropout
    _generator = _seeded_generator

    def _keep_masks(self, shape: tuple, rate: float, dtype: Any, count: int) -> list:
        """``count`` inverted-dropout keep masks of ``shape`` (backend arrays)."""
        ops = backend.current()
        if rate >= 1:
            return [ops.xp.zeros(shape, dtype=dtype) for _ in range(count)]
        draw_dtype = "float64" if dtype == "float64" else "float32"
        scale = dtype.type(1.0 / (1.0 - rate))
        gen = self._generator(ops)
        return [(gen.random(shape, dtype=draw_dtype) >= rate).astype(dtype) * scale for _ in range(count)]

    # ------------------------------------------------------------------- call
    def call(self, sequences, initial_state=None, mask=None, training=None):
        x = sequences
        if x.dtype.kind != "f":
            x = cast(x, self._compute_dtype)
        self._check_sequence_shape(x.shape)
        if isinstance(mask, (list, tuple)):
            mask = flatten_structure(mask)[0]
        states = self._initial_states(initial_state, x)
        n, _, features = x.shape
        recurrent_dropout = bool(training) and self.recurrent_dropout > 0
        if recurrent_dropout or not self._fused_supported():
            outputs, final = self._generic(x, states, mask, bool(training))
        else:
            if training and self.dropout > 0:
                keep = self._keep_masks((n, 1, features), self.dropout, x.dtype, 1)[0]
                x = _dropout_p.apply(x, keep=keep)
            outputs, *final = self._fused(x, states, mask)
        if self.return_sequences:
            output = outputs
        elif self.zero_output_for_mask and mask is not None:
            output = outputs[:, -1]
        else:
            output = final[0]  # the last output is the last hidden state
        if self.return_state:
            return (output, *final)
        return output

    def _fused_supported(self) -> bool:
        raise NotImplementedError

    def _fused(self, x, states, mask):
        raise NotImplementedError

    # ----------------------------------------------------------- generic path
    def _generic(self, x, states, mask, training: bool):
        """Keras's cell loop with differentiable ops: ``(outputs, final_states)``."""
        n, steps, features = x.shape
        u, g = self.units, self._gates
        dtype = x.dtype
        ops = backend.current()
        states = [as_tensor(ops.zeros((n, u), dtype) if s is None else s, dtype) for s in states]
        for s in states:
            if tuple(s.shape) != (n, u):
                raise ValueError(f"{_label(self)}: initial states must have shape (batch, units) = {(n, u)}, got "
                                 f"{tuple(s.shape)}.")
        # Keras: LSTM/GRU cells switch to per-gate masks ("implementation 1") when recurrent_dropout is set.
        per_gate = g if self.recurrent_dropout > 0 else 1
        in_masks = rec_masks = None
        if training and self.dropout > 0:
            in_masks = self._keep_masks((n, 1, features), self.dropout, dtype, per_gate)
        if training and self.recurrent_dropout > 0:
            rec_masks = self._keep_masks((n, u), self.recurrent_dropout, dtype, per_gate)
        xw = self._generic_projection(x, in_masks)
        step_inputs = unstack(xw, axis=1)
        mask_array = None
        if mask is not None:
            m = mask.data if isinstance(mask, Tensor) else ops.xp.asarray(mask)
            mask_array = m.astype(bool)[:, :, None]
        step = self._generic_step_fn(rec_masks)
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        outputs = []
        zeros = None
        for t in order:
            out, new_states = step(step_inputs[t], states)
            if mask_array is not None:
                keep = mask_array[:, t]
                if self.zero_output_for_mask:
                    if zeros is None:
                        zeros = ops.zeros((n, u), dtype)
                    out = where(keep, out, zeros)
                else:
                    out = where(keep, out, states[0])
                new_states = [where(keep, new, old) for new, old in zip(new_states, states)]
            outputs.append(out)
            states = new_states
        return stack(outputs, axis=1), states

    def _input_bias(self):
        return self.bias

    def _generic_projection(self, x, in_masks):
        """``x @ kernel + input bias`` for all steps: one GEMM, or one per gate with per-gate masks."""
        bias = self._input_bias()
        if in_masks is None or len(in_masks) == 1:
            xd = x if in_masks is None else _dropout_p.apply(x, keep=in_masks[0])
            return dense(xd, self.kernel, bias)
        u = self.units
        parts = []
        for k, keep in enumerate(in_masks):
            cols = slice(k * u, (k + 1) * u)
            parts.append(dense(_dropout_p.apply(x, keep=keep), self.kernel[:, cols],
                               None if bias is None else bias[cols]))
        return concatenate(parts, axis=-1)

    def _recurrent_products(self, h, rec_masks, blocks: int):
        """``[h_k @ U_k]`` for the first ``blocks`` gate blocks (``h_k`` the dropped-out state)."""
        u = self.units
        if rec_masks is None:
            return split(matmul(h, self.recurrent_kernel[:, :blocks * u]), blocks, axis=-1)
        return [matmul(multiply(h, rec_masks[k]), self.recurrent_kernel[:, k * u:(k + 1) * u])
                for k in range(blocks)]

    def _generic_step_fn(self, rec_masks):
        raise NotImplementedError

    # ----------------------------------------------------------------- config
    def _rnn_config(self) -> dict:
        return {"return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask}

    def _weights_config(self) -> dict:
        return {"kernel_initializer": initializers.serialize(self.kernel_initializer),
                "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer)}

    @staticmethod
    def _no_regularizers() -> dict:
        return {"kernel_regularizer": None, "recurrent_regularizer": None, "bias_regularizer": None,
                "activity_regularizer": None, "kernel_constraint": None, "recurrent_constraint": None,
                "bias_constraint": None}


def _check_use_cudnn(layer: Layer, use_cudnn: Any) -> Any:
    if use_cudnn not in ("auto", True, False):
        raise ValueError(f"{_label(layer)}: use_cudnn must be one of 'auto', True, False; got {use_cudnn!r}.")
    return use_cudnn


# --------------------------------------------------------------------------- SimpleRNN
_SIMPLE_RNN_FUSED = ("tanh", "relu", "sigmoid", "linear")


class SimpleRNN(_RNNBase):
    """Fully connected RNN: ``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``."""

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                         seed=seed, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll, **kwargs)

    def _fused_activation(self) -> str | None:
        for name in _SIMPLE_RNN_FUSED:
            if _is(self.activation, name):
                return name
        return None

    def _fused_supported(self) -> bool:
        return self._fused_activation() is not None

    def _fused(self, x, states, mask):
        return rnn_ops.simple_rnn(x, states[0], self.kernel, self.recurrent_kernel, self.bias, mask=mask,
                                  go_backwards=self.go_backwards, activation=self._fused_activation(),
                                  zero_output_for_mask=self.zero_output_for_mask)

    def _generic_step_fn(self, rec_masks):
        act = self.activation

        def step(x_t, states):
            h = act(add(x_t, self._recurrent_products(states[0], rec_masks, 1)[0]))
            return h, [h]
        return step

    def get_config(self) -> dict:
        # Keras 3 leaves seed out of SimpleRNN's config (it is lost on reload); graphkit keeps it.
        return {**super().get_config(), **self._rnn_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **self._weights_config(), **self._no_regularizers(), "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout, "seed": self.seed}


# --------------------------------------------------------------------------- LSTM
class LSTM(_RNNBase):
    """Long Short-Term Memory (Hochreiter 1997), Keras 3's gate order i, f, c, o.

    ``c_t = f * c_{t-1} + i * activation(.)``, ``h_t = o * activation(c_t)``, gates from
    ``recurrent_activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``.
    """

    _gates = 4
    _state_count = 2

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 unroll: bool = False, use_cudnn: Any = "auto", **kwargs: Any) -> None:
        kwargs.pop("implementation", None)  # Keras's cell variant: the same math here
        super().__init__(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                         seed=seed, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.use_cudnn = _check_use_cudnn(self, use_cudnn)

    def _bias_init(self) -> Any:
        if not self.unit_forget_bias:
            return self.bias_initializer
        u, init = self.units, self.bias_initializer

        def forget_bias_ones(shape, dtype=None):
            xp = backend.current().xp
            return xp.concatenate([xp.asarray(init((u,), dtype)), xp.ones((u,), dtype=dtype),
                                   xp.asarray(init((2 * u,), dtype))])
        return forget_bias_ones

    def _fused_supported(self) -> bool:
        return _is(self.activation, "tanh") and _is(self.recurrent_activation, "sigmoid")

    def _fused(self, x, states, mask):
        return rnn_ops.lstm(x, states[0], states[1], self.kernel, self.recurrent_kernel, self.bias, mask=mask,
                            go_backwards=self.go_backwards, zero_output_for_mask=self.zero_output_for_mask)

    def _generic_step_fn(self, rec_masks):
        act, ract = self.activation, self.recurrent_activation

        def step(x_t, states):
            h, c = states
            z_i, z_f, z_c, z_o = split(x_t, 4, axis=-1)
            r_i, r_f, r_c, r_o = self._recurrent_products(h, rec_masks, 4)
            i, f, o = ract(add(z_i, r_i)), ract(add(z_f, r_f)), ract(add(z_o, r_o))
            c_new = add(multiply(f, c), multiply(i, act(add(z_c, r_c))))
            h_new = multiply(o, act(c_new))
            return h_new, [h_new, c_new]
        return step

    def get_config(self) -> dict:
        return {**super().get_config(), **self._rnn_config(), "units": self.units,
                "activation": activations.serialize(self.activation),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "use_bias": self.use_bias, **self._weights_config(), "unit_forget_bias": self.unit_forget_bias,
                **self._no_regularizers(), "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
                "seed": self.seed}


# --------------------------------------------------------------------------- GRU
class GRU(_RNNBase):
    """Gated Recurrent Unit (Cho et al. 2014), Keras 3's gate order z, r, h.

    ``h_t = z * h_{t-1} + (1 - z) * hh``; with ``reset_after`` (default, cuDNN-compatible)
    ``hh = activation(x_t @ W_h + b_h + r * (h_{t-1} @ U_h + b_rh))`` and a ``(2, 3u)`` bias,
    else ``hh = activation(x_t @ W_h + (r * h_{t-1}) @ U_h + b_h)`` and a ``(3u,)`` bias.
    """

    _gates = 3

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False, reset_after: bool = True,
                 use_cudnn: Any = "auto", **kwargs: Any) -> None:
        kwargs.pop("implementation", None)
        super().__init__(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                         seed=seed, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)
        self.use_cudnn = _check_use_cudnn(self, use_cudnn)

    def _bias_shape(self) -> tuple:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _fused_supported(self) -> bool:
        return _is(self.activation, "tanh") and _is(self.recurrent_activation, "sigmoid")

    def _fused(self, x, states, mask):
        return rnn_ops.gru(x, states[0], self.kernel, self.recurrent_kernel, self.bias, mask=mask,
                           go_backwards=self.go_backwards, reset_after=self.reset_after,
                           zero_output_for_mask=self.zero_output_for_mask)

    def _input_bias(self):
        if self.bias is None or not self.reset_after:
            return self.bias
        return self.bias[0]

    def _generic_step_fn(self, rec_masks):
        act, ract = self.activation, self.recurrent_activation
        u = self.units
        rec_bias = self.bias[1] if (self.bias is not None and self.reset_after) else None
        rec_bias_parts = None if rec_bias is None else split(rec_bias, 3, axis=-1)
        u_h = self.recurrent_kernel[:, 2 * u:]

        def step(x_t, states):
            h = states[0]
            x_z, x_r, x_h = split(x_t, 3, axis=-1)
            if self.reset_after:
                r_z, r_r, r_h = self._recurrent_products(h, rec_masks, 3)
                if rec_bias_parts is not None:
                    r_z, r_r, r_h = (add(a, b) for a, b in zip((r_z, r_r, r_h), rec_bias_parts))
                z, r = ract(add(x_z, r_z)), ract(add(x_r, r_r))
                hh = act(add(x_h, multiply(r, r_h)))
            else:
                r_z, r_r = self._recurrent_products(h, rec_masks, 2)
                z, r = ract(add(x_z, r_z)), ract(add(x_r, r_r))
                h_h = h if rec_masks is None else multiply(h, rec_masks[2])
                hh = act(add(x_h, matmul(multiply(r, h_h), u_h)))
            h_new = add(multiply(z, h), multiply(subtract(1.0, z), hh))
            return h_new, [h_new]
        return step

    def get_config(self) -> dict:
        return {**super().get_config(), **self._rnn_config(), "units": self.units,
                "activation": activations.serialize(self.activation),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "use_bias": self.use_bias, **self._weights_config(), **self._no_regularizers(),
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "reset_after": self.reset_after,
                "seed": self.seed}


# --------------------------------------------------------------------------- Bidirectional
def _clone_layer(layer: Layer, **overrides: Any) -> Layer:
    """A fresh layer of ``layer``'s class from its config (new weights), built like it."""
    config = {**layer.get_config(), **overrides}
    clone = type(layer).from_config(config)
    if layer.built and getattr(layer, "_build_input_shape", None) is not None:
        clone._build_once(layer._build_input_shape)
    return clone


def _removeprefix(name: str, prefix: str) -> str:
    return name[len(prefix):] if name.startswith(prefix) else name


_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy of it backwards, and merges their outputs.

    The forward layer is rebuilt from ``layer``'s config (named ``forward_<name>``, fresh
    weights), the backward one too with ``go_backwards=True`` (``backward_<name>``) unless
    ``backward_layer`` is given. With ``return_sequences`` the backward outputs are flipped back
    to input order and masked steps output zeros (Keras forces ``zero_output_for_mask``).
    ``merge_mode``: ``"concat"`` (default), ``"sum"``, ``"mul"``, ``"ave"`` or None (a pair).
    ``return_state`` returns ``(output, *forward_states, *backward_states)``; ``initial_state``
    is split in halves between the two layers. ``weights``: forward then backward weights,
    assigned once the layer is built. Without a ``dtype`` the wrapper takes the wrapped layer's
    (Keras takes the global default, so a float64 layer would see float32 inputs).
    """

    def __init__(self, layer: Layer, merge_mode: str | None = "concat", weights: Sequence[Any] | None = None,
                 backward_layer: Layer | None = None, **kwargs: Any) -> None:
        if not isinstance(layer, Layer):
            raise ValueError(f"Bidirectional needs a gk.layers.Layer instance (such as LSTM or GRU), got {layer!r}.")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(f"Bidirectional backward_layer must be a gk.layers.Layer instance, got "
                             f"{backward_layer!r}.")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Bidirectional merge_mode must be one of {list(_MERGE_MODES)}, got {merge_mode!r}.")
        for attribute in ("go_backwards", "return_sequences", "return_state"):
            if not hasattr(layer, attribute):
                raise ValueError(f"Bidirectional needs a sequence layer with go_backwards, return_sequences and "
                                 f"return_state (such as LSTM or GRU); {type(layer).__name__} has no {attribute}.")
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = layer.dtype_policy  # Keras would use the global policy (casting a float64 layer's input)
        super().__init__(**kwargs)
        self.forward_layer = _clone_layer(layer, name="forward_" + _removeprefix(layer.name, "forward_"))
        if backward_layer is None:
            self.backward_layer = _clone_layer(layer, name="backward_" + _removeprefix(layer.name, "backward_"),
                                               go_backwards=True)
        else:
            self.backward_layer = backward_layer
        self._verify_layer_config()
        for sub in (self.forward_layer, self.backward_layer):
            if getattr(sub, "zero_output_for_mask", None) is not None:
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self._initial_weights = list(weights) if weights is not None and len(weights) else None
        self.stateful = getattr(layer, "stateful", False)
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self.input_spec = layer.input_spec
        if self._initial_weights is not None and self.forward_layer.built and self.backward_layer.built:
            self._assign_initial_weights()

    def _verify_layer_config(self) -> None:
        fw, bw = self.forward_layer, self.backward_layer
        if fw.go_backwards == bw.go_backwards:
            raise ValueError(f"Bidirectional '{self.name}': the forward and backward layers must have different "
                             f"go_backwards values, got {fw.go_backwards} for both.")
        for attribute in ("stateful", "return_sequences", "return_state"):
            fv, bv = getattr(fw, attribute, None), getattr(bw, attribute, None)
            if fv != bv:
                raise ValueError(f"Bidirectional '{self.name}': the forward and backward layers must have the same "
                                 f"{attribute}, got {fv} (forward) and {bv} (backward).")

    def _assign_initial_weights(self) -> None:
        weights, self._initial_weights = self._initial_weights, None
        self.set_weights(weights)

    def build(self, sequences_shape: Any, initial_state_shape: Any = None) -> None:
        for sub in (self.forward_layer, self.backward_layer):
            if not sub.built:
                sub._build_once(sequences_shape)
        self.built = True
        if self._initial_weights is not None:
            self._assign_initial_weights()

    def compute_output_shape(self, sequences_shape: Any, initial_state_shape: Any = None) -> Any:
        output_shape = self.forward_layer.compute_output_shape(sequences_shape)
        state_shapes: tuple = ()
        if self.return_state:
            output_shape, state_shapes = output_shape[0], tuple(output_shape[1:])
        if self.merge_mode == "concat":
            last = output_shape[-1]
            output_shape = (*output_shape[:-1], None if last is None else 2 * last)
        if self.merge_mode is None:
            outputs: tuple = (output_shape, output_shape)
            return outputs + state_shapes + state_shapes if self.return_state else outputs
        if self.return_state:
            return (output_shape,) + state_shapes + state_shapes
        return output_shape

    def call(self, sequences, initial_state=None, mask=None, training=None):
        kwargs: dict = {}
        if training is not None:
            kwargs["training"] = training
        if mask is not None:
            kwargs["mask"] = mask
        forward_state = backward_state = None
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            half = len(states) // 2
            forward_state, backward_state = states[:half], states[half:]
        y = self.forward_layer(sequences, initial_state=forward_state, **kwargs)
        y_rev = self.backward_layer(sequences, initial_state=backward_state, **kwargs)
        states_out: tuple = ()
        if self.return_state:
            states_out = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = y_rev[:, ::-1]
        if self.merge_mode == "concat":
            output: Any = concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = add(y, y_rev)
        elif self.merge_mode == "ave":
            output = multiply(add(y, y_rev), 0.5)
        elif self.merge_mode == "mul":
            output = multiply(y, y_rev)
        else:
            output = (y, y_rev)
        if self.return_state:
            return (output if self.merge_mode is None else (output,)) + states_out
        return output

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = flatten_structure(mask)[0]
        output_mask = mask if self.return_sequences else None
        masks: list = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            count = len(getattr(self.forward_layer, "state_size", [])) + \
                len(getattr(self.backward_layer, "state_size", []))
            masks += [None] * count
        if len(masks) == 1:
            return masks[0]
        return masks

    def get_config(self) -> dict:
        from ..saving.serialization import serialize_keras_object
        return {**super().get_config(), "merge_mode": self.merge_mode,
                "layer": serialize_keras_object(self.forward_layer),
                "backward_layer": serialize_keras_object(self.backward_layer)}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "Bidirectional":
        from ..saving.serialization import deserialize_keras_object
        config = dict(config)
        config["layer"] = deserialize_keras_object(config["layer"], custom_objects=custom_objects)
        backward = config.pop("backward_layer", None)
        if backward is not None:
            config["backward_layer"] = deserialize_keras_object(backward, custom_objects=custom_objects)
        return super().from_config(config)
