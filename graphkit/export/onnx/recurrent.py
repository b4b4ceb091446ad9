"""SimpleRNN, LSTM, GRU and Bidirectional as ONNX's RNN, LSTM and GRU operators.

ONNX runs time-major (``[seq, batch, features]``) and wants gate blocks in its own order:
Keras's LSTM i, f, c, o becomes i, o, f, c; GRU keeps z, r, h, with ``reset_after=True`` as
``linear_before_reset=1`` (input and recurrent biases stay apart). A ``"reverse"`` ONNX run
returns its sequence in input order, while Keras's ``go_backwards`` returns it in processing
order, so that case is reversed along time.
"""
from __future__ import annotations

from typing import Any

import numpy

from ... import activations
from ...layers.recurrent import GRU, LSTM, Bidirectional, SimpleRNN
from .convert import converts, unsupported
from .core import weight
from .graph import GraphBuilder

_ONNX_ACTIVATIONS = {"tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu"}
_LSTM_ORDER = (0, 3, 1, 2)  # ONNX's i, o, f, c from Keras's i, f, c, o
_INT64_MIN = -2 ** 63


def _onnx_activation(layer: Any, fn: Any) -> str:
    name = activations.serialize(fn)
    if name not in _ONNX_ACTIVATIONS or activations.get(name) is not fn:
        raise unsupported(layer, f"activation {name!r} (ONNX's recurrent operators take {sorted(_ONNX_ACTIVATIONS)})")
    return _ONNX_ACTIVATIONS[name]


def _blocks(matrix: numpy.ndarray, order: tuple) -> numpy.ndarray:
    """Gate blocks along axis 0, reordered."""
    parts = numpy.split(matrix, len(order), axis=0)
    return numpy.concatenate([parts[i] for i in order], axis=0)


def _run(g: GraphBuilder, layer: Any, x_time_major: str) -> tuple[str, list[str]]:
    """One direction of ``layer`` over ``x_time_major``: ``(sequence, states)``, the sequence
    ``[batch, seq, units]`` in input order and the final states ``[batch, units]`` (h, then c)."""
    if not isinstance(layer, (SimpleRNN, LSTM, GRU)):
        raise unsupported(layer, "only SimpleRNN, LSTM and GRU layers are exported")
    u = layer.units
    kernel, recurrent = weight(layer.kernel).T, weight(layer.recurrent_kernel).T
    bias = weight(layer.bias) if layer.use_bias else None
    attributes: dict = {"hidden_size": u, "direction": "reverse" if layer.go_backwards else "forward"}
    if isinstance(layer, LSTM):
        op_type, outputs = "LSTM", 3
        kernel, recurrent = _blocks(kernel, _LSTM_ORDER), _blocks(recurrent, _LSTM_ORDER)
        input_bias = numpy.zeros(4 * u, "float32") if bias is None else _blocks(bias, _LSTM_ORDER)
        biases = numpy.concatenate([input_bias, numpy.zeros(4 * u, "float32")])
        act = _onnx_activation(layer, layer.activation)
        attributes["activations"] = [_onnx_activation(layer, layer.recurrent_activation), act, act]
    elif isinstance(layer, GRU):
        op_type, outputs = "GRU", 2
        if bias is None:
            biases = numpy.zeros(6 * u, "float32")
        elif layer.reset_after:
            biases = numpy.concatenate([bias[0], bias[1]])
        else:
            biases = numpy.concatenate([bias, numpy.zeros(3 * u, "float32")])
        attributes["linear_before_reset"] = int(layer.reset_after)
        attributes["activations"] = [_onnx_activation(layer, layer.recurrent_activation),
                                     _onnx_activation(layer, layer.activation)]
    else:
        op_type, outputs = "RNN", 2
        biases = numpy.concatenate([numpy.zeros(u, "float32") if bias is None else bias, numpy.zeros(u, "float32")])
        attributes["activations"] = [_onnx_activation(layer, layer.activation)]
    weights = [g.constant(kernel[None], "W"), g.constant(recurrent[None], "R"), g.constant(biases[None], "B")]
    y, *states = g.op(op_type, [x_time_major, *weights], outputs=outputs, **attributes)
    sequence = g.transpose(g.op("Squeeze", [y, g.ints([1])]), [1, 0, 2])
    final = [g.op("Squeeze", [s, g.ints([0])]) for s in states]
    return sequence, final


def _reverse_time(g: GraphBuilder, sequence: str) -> str:
    return g.op("Slice", [sequence, g.ints([-1], "starts"), g.ints([_INT64_MIN], "ends"), g.ints([1]),
                          g.ints([-1], "steps")])


def _time_major(g: GraphBuilder, x: str) -> str:
    return g.transpose(x, [1, 0, 2])


@converts(SimpleRNN, LSTM, GRU)
def recurrent(g: GraphBuilder, layer: Any, node, args) -> list:
    sequence, states = _run(g, layer, _time_major(g, args[0]))
    if not layer.return_sequences:
        output = states[0]  # the last output is the final hidden state
    elif layer.go_backwards:
        output = _reverse_time(g, sequence)
    else:
        output = sequence
    return [output, *states] if layer.return_state else [output]


@converts(Bidirectional)
def bidirectional(g: GraphBuilder, layer: Bidirectional, node, args) -> list:
    """Keras flips the backward layer's sequence back to input order: for a ``go_backwards``
    layer that is ONNX's own ``"reverse"`` order."""
    x = _time_major(g, args[0])
    forward, forward_states = _run(g, layer.forward_layer, x)
    backward, backward_states = _run(g, layer.backward_layer, x)
    if layer.return_sequences:
        if layer.forward_layer.go_backwards:
            forward = _reverse_time(g, forward)
        if not layer.backward_layer.go_backwards:
            backward = _reverse_time(g, backward)
    else:
        forward, backward = forward_states[0], backward_states[0]
    mode = layer.merge_mode
    if mode == "concat":
        outputs = [g.op("Concat", [forward, backward], axis=-1)]
    elif mode == "sum":
        outputs = [g.op("Add", [forward, backward])]
    elif mode == "mul":
        outputs = [g.op("Mul", [forward, backward])]
    elif mode == "ave":
        outputs = [g.op("Mul", [g.op("Add", [forward, backward]), g.constant(0.5, "half")])]
    else:
        outputs = [forward, backward]
    if layer.return_state:
        outputs += forward_states + backward_states
    return outputs
