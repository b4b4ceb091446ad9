"""BatchNormalization (inference: the moving statistics folded into one scale and one shift)
and LayerNormalization (ONNX's LayerNormalization, opset 17)."""
from __future__ import annotations

import numpy

from ...layers.normalization import BatchNormalization, LayerNormalization
from .convert import converts, unsupported
from .core import weight
from .graph import GraphBuilder


@converts(BatchNormalization)
def batch_normalization(g: GraphBuilder, layer: BatchNormalization, node, args) -> list:
    """``x * inv + shift`` with ``inv = gamma / sqrt(var + eps)``, ``shift = beta - mean * inv``,
    as graphkit computes it at inference."""
    rank = len(node.input_tensors[0].shape)
    axis = layer.axis % rank
    inv = (1.0 / numpy.sqrt(weight(layer.moving_variance) + numpy.float32(layer.epsilon))).astype("float32")
    if layer.scale:
        inv = inv * weight(layer.gamma)
    shift = -weight(layer.moving_mean) * inv
    if layer.center:
        shift = shift + weight(layer.beta)
    broadcast = (-1,) + (1,) * (rank - 1 - axis)  # the channel axis, then the trailing axes
    scaled = g.op("Mul", [args[0], g.constant(inv.reshape(broadcast), "scale")])
    return [g.op("Add", [scaled, g.constant(shift.reshape(broadcast), "shift")])]


@converts(LayerNormalization)
def layer_normalization(g: GraphBuilder, layer: LayerNormalization, node, args) -> list:
    shape = node.input_tensors[0].shape
    rank = len(shape)
    axes = [a % rank for a in layer._axes_list()]
    if axes != list(range(axes[0], rank)):
        raise unsupported(layer, f"axis {layer.axis} must list the trailing axes in order (ONNX's "
                                 f"LayerNormalization normalizes axis..rank-1)")
    normalized = tuple(shape[a] for a in axes)
    scale = weight(layer.gamma) if layer.scale else numpy.ones(normalized, "float32")
    inputs = [args[0], g.constant(scale, "gamma")]
    if layer.center:
        inputs.append(g.constant(weight(layer.beta), "beta"))
    return [g.op("LayerNormalization", inputs, axis=axes[0], epsilon=layer.epsilon)]
