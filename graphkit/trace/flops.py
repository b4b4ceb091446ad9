"""FLOP estimates of one primitive call from its input and output shapes.

A multiply-add counts as two FLOPs. Estimates, not measurements:

- ``matmul``: ``2·m·n·k`` per batch entry (``2 · output size · k``); ``dense``: the same plus
  the bias (one per output value);
- ``conv`` (channels-last, kernel ``(*k, C/groups, filters)``): ``2·N·Ho·Wo·Co·kh·kw·Ci/groups``
  (``2 · output size · kernel size / filters``); ``depthwise_conv``: ``2 · output size · kh·kw``;
  ``conv_transpose``: ``2 · input size · kernel size / Ci``;
- recurrent layers (``lstm``, ``gru``, ``simple_rnn``): the two GEMMs of every step,
  ``2 · N·T · (kernel size + recurrent kernel size)``;
- pooling, reductions, normalisations and losses: one per input value;
- everything else (elementwise, shape ops, unknown primitives): one per output value.

A backward pass is estimated at twice its forward (the input and the weight gradients).
"""
from __future__ import annotations

from math import prod
from typing import Callable, Sequence

Shapes = Sequence[tuple]


def _size(shape: tuple) -> int:
    return prod(shape)


def _first_output(inputs: Shapes, outputs: Shapes) -> int:
    return _size(outputs[0]) if outputs else 0


def _input_size(inputs: Shapes, outputs: Shapes) -> int:
    return _size(inputs[0]) if inputs else 0


def _matmul(inputs: Shapes, outputs: Shapes) -> int:
    depth = inputs[0][-1] if inputs and inputs[0] else 1
    return 2 * _first_output(inputs, outputs) * depth


def _dense(inputs: Shapes, outputs: Shapes) -> int:
    return _matmul(inputs, outputs) + (_first_output(inputs, outputs) if len(inputs) > 2 else 0)


def _conv(inputs: Shapes, outputs: Shapes) -> int:
    kernel = inputs[1]
    return 2 * _first_output(inputs, outputs) * (_size(kernel) // max(1, kernel[-1]))


def _depthwise_conv(inputs: Shapes, outputs: Shapes) -> int:
    return 2 * _first_output(inputs, outputs) * _size(inputs[1][:-2])


def _conv_transpose(inputs: Shapes, outputs: Shapes) -> int:
    x, kernel = inputs[0], inputs[1]
    return 2 * _size(x) * (_size(kernel) // max(1, x[-1]))


def _recurrent(kernel_position: int) -> Callable[[Shapes, Shapes], int]:
    def estimate(inputs: Shapes, outputs: Shapes) -> int:
        x = inputs[0]
        steps = _size(x) // max(1, x[-1])
        return 2 * steps * (_size(inputs[kernel_position]) + _size(inputs[kernel_position + 1]))
    return estimate


_BY_INPUT = ("max_pool", "average_pool", "sum", "mean", "max", "min", "logsumexp", "argmax", "argmin",
             "batch_norm_train", "layer_norm", "reduce_loss", "mean_squared_error", "mean_absolute_error",
             "huber", "binary_crossentropy", "sigmoid_cross_entropy", "categorical_crossentropy",
             "softmax_cross_entropy", "sparse_categorical_crossentropy", "sparse_softmax_cross_entropy")

ESTIMATORS: dict[str, Callable[[Shapes, Shapes], int]] = {
    "matmul": _matmul, "dense": _dense, "conv": _conv, "depthwise_conv": _depthwise_conv,
    "conv_transpose": _conv_transpose, "lstm": _recurrent(3), "gru": _recurrent(2), "simple_rnn": _recurrent(2),
    **{name: _input_size for name in _BY_INPUT},
}


def estimate_flops(op: str, inputs: Shapes, outputs: Shapes) -> int:
    """FLOPs of a forward call of primitive ``op`` on ``inputs`` giving ``outputs`` (shape tuples);
    an op without a rule of its own counts one FLOP per output value."""
    try:
        return int(ESTIMATORS.get(op, _first_output)(inputs, outputs))
    except (IndexError, TypeError):   # a call shaped unlike the rule expects: count it elementwise
        return int(_first_output(inputs, outputs))
