"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector, UpSampling2D, ZeroPadding2D,
Cropping2D. The batch axis stays dynamic (``Reshape`` copies it with a 0)."""
from __future__ import annotations

from typing import Any

from ...layers.reshaping import Cropping2D, Flatten, Permute, RepeatVector, Reshape, UpSampling2D, ZeroPadding2D
from .convert import converts
from .convolution import channels_first, restore_layout
from .graph import GraphBuilder

_INT64_MAX = 2 ** 63 - 1


@converts(Flatten)
def flatten(g: GraphBuilder, layer: Flatten, node, args) -> list:
    x = args[0]
    rank = len(node.input_tensors[0].shape)
    if layer.data_format == "channels_first" and rank > 2:
        x = g.transpose(x, [0, *range(2, rank), 1])
    return [g.op("Flatten", [x], axis=1)]


@converts(Reshape)
def reshape(g: GraphBuilder, layer: Reshape, node, args) -> list:
    return [g.op("Reshape", [args[0], g.ints([0, *layer.target_shape], "shape")])]


@converts(Permute)
def permute(g: GraphBuilder, layer: Permute, node, args) -> list:
    return [g.transpose(args[0], [0, *layer.dims])]


@converts(RepeatVector)
def repeat_vector(g: GraphBuilder, layer: RepeatVector, node, args) -> list:
    column = g.op("Unsqueeze", [args[0], g.ints([1])])
    return [g.op("Expand", [column, g.ints([1, layer.n, 1], "shape")])]


@converts(UpSampling2D)
def up_sampling(g: GraphBuilder, layer: UpSampling2D, node, args) -> list:
    x = channels_first(g, layer, args[0], 2)
    scales = g.constant([1.0, 1.0, *map(float, layer.size)], "scales")
    if layer.interpolation == "nearest":
        y = g.op("Resize", [x, "", scales], mode="nearest", coordinate_transformation_mode="asymmetric",
                 nearest_mode="floor")
    else:
        y = g.op("Resize", [x, "", scales], mode="linear", coordinate_transformation_mode="half_pixel")
    return [restore_layout(g, layer, y, 2)]


def _spatial_axes(layer: Any) -> list[int]:
    return [1, 2] if layer.data_format == "channels_last" else [2, 3]


@converts(ZeroPadding2D)
def zero_padding(g: GraphBuilder, layer: ZeroPadding2D, node, args) -> list:
    (top, bottom), (left, right) = layer.padding
    axes = g.ints(_spatial_axes(layer))
    return [g.op("Pad", [args[0], g.ints([top, left, bottom, right], "pads"), "", axes])]


@converts(Cropping2D)
def cropping(g: GraphBuilder, layer: Cropping2D, node, args) -> list:
    (top, bottom), (left, right) = layer.cropping
    starts = g.ints([top, left], "starts")
    ends = g.ints([-bottom if bottom else _INT64_MAX, -right if right else _INT64_MAX], "ends")
    return [g.op("Slice", [args[0], starts, ends, g.ints(_spatial_axes(layer))])]
