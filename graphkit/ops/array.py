"""Shape manipulation, joining/splitting, indexing and selection."""
from __future__ import annotations

import functools
from typing import Any, Sequence

import numpy

from ..backend import state as _backend
from ..engine.autograd import Primitive
from ..engine.tensor import Tensor
from ._operands import as_tensor, binary_operands, canonical_axis, result_dtype
from .cast import cast  # noqa: F401  (re-exported as gk.ops.cast)

# ------------------------------------------------------------------ reshaping


def _reshape_forward(ops, a, shape):
    return a.reshape(shape), a.shape


def _reshape_backward(ops, source_shape, g):
    return (g.reshape(source_shape),)


_reshape_p = Primitive("reshape", _reshape_forward, _reshape_backward)


def reshape(x: Any, shape: Sequence[int]) -> Tensor:
    """``x`` with a new shape of the same size (one entry may be -1)."""
    x = as_tensor(x)
    try:
        return _reshape_p.apply(x, shape=tuple(int(n) for n in shape))
    except ValueError:
        raise ValueError(f"Cannot reshape a tensor of shape {x.shape} ({x.size} values) "
                         f"into shape {tuple(shape)}.") from None


def _transpose_forward(ops, a, axes):
    return a.transpose(axes), axes


def _transpose_backward(ops, axes, g):
    return (g.transpose(tuple(int(i) for i in numpy.argsort(axes))),)


_transpose_p = Primitive("transpose", _transpose_forward, _transpose_backward)


def transpose(x: Any, axes: Sequence[int] | None = None) -> Tensor:
    """Permute dimensions (reverse them when ``axes`` is None)."""
    x = as_tensor(x)
    ndim = x.data.ndim
    if axes is None:
        axes = tuple(reversed(range(ndim)))
    else:
        axes = tuple(canonical_axis(a, ndim, "transpose") for a in axes)
    return _transpose_p.apply(x, axes=axes)


def expand_dims(x: Any, axis: int) -> Tensor:
    """Insert a length-1 axis at ``axis``."""
    x = as_tensor(x)
    shape = list(x.shape)
    shape.insert(canonical_axis(axis, len(shape) + 1, "expand_dims"), 1)
    return reshape(x, shape)


def squeeze(x: Any, axis: int | Sequence[int] | None = None) -> Tensor:
    """Drop length-1 axes (all of them, or those in ``axis``)."""
    x = as_tensor(x)
    ndim = x.data.ndim
    if axis is None:
        axes = {i for i, n in enumerate(x.shape) if n == 1}
    else:
        axes = {canonical_axis(a, ndim, "squeeze") for a in ((axis,) if isinstance(axis, int) else axis)}
        wrong = [a for a in axes if x.shape[a] != 1]
        if wrong:
            raise ValueError(f"Cannot squeeze axis {wrong[0]} of a tensor of shape {x.shape}: its size is not 1.")
    return reshape(x, [n for i, n in enumerate(x.shape) if i not in axes])


def flatten(x: Any) -> Tensor:
    """All values in one axis (``ops.ravel``)."""
    return reshape(x, (-1,))


ravel = flatten


def _broadcast_to_forward(ops, a, shape):
    return ops.xp.broadcast_to(a, shape), a.shape


def _broadcast_to_backward(ops, source_shape, g):
    return (ops.unbroadcast(g, source_shape),)


_broadcast_to_p = Primitive("broadcast_to", _broadcast_to_forward, _broadcast_to_backward)


def broadcast_to(x: Any, shape: Sequence[int]) -> Tensor:
    """``x`` broadcast to ``shape``."""
    return _broadcast_to_p.apply(as_tensor(x), shape=tuple(shape))


def _tile_forward(ops, a, reps):
    return ops.xp.tile(a, reps), (a.shape, reps)


def _tile_backward(ops, saved, g):
    shape, reps = saved
    reps = (1,) * (g.ndim - len(reps)) + tuple(reps)
    shape = (1,) * (g.ndim - len(shape)) + tuple(shape)
    split_shape = []
    for r, n in zip(reps, shape):
        split_shape += [r, n]
    summed = g.reshape(split_shape).sum(axis=tuple(range(0, 2 * g.ndim, 2)))
    return (summed.reshape(saved[0]),)


_tile_p = Primitive("tile", _tile_forward, _tile_backward)


def tile(x: Any, repeats: Sequence[int]) -> Tensor:
    """Repeat the whole of ``x`` ``repeats[i]`` times along each axis."""
    reps = (int(repeats),) if isinstance(repeats, int) else tuple(int(r) for r in repeats)
    return _tile_p.apply(as_tensor(x), reps=reps)


# ------------------------------------------------------------ join and split


def _concatenate_forward(ops, *arrays, axis):
    return ops.xp.concatenate(arrays, axis=axis), (axis, [a.shape[axis] for a in arrays])


def _concatenate_backward(ops, saved, g):
    axis, sizes = saved
    cuts = numpy.cumsum(sizes)[:-1]
    return tuple(ops.xp.split(g, cuts, axis=axis))


_concatenate_p = Primitive("concatenate", _concatenate_forward, _concatenate_backward)


def _same_dtype(xs: Sequence[Any]) -> list[Tensor]:
    tensors = [as_tensor(x) for x in xs]
    if not tensors:
        raise ValueError("Need at least one tensor to join.")
    dtype = functools.reduce(result_dtype, [t.data.dtype for t in tensors])
    return [cast(t, dtype) for t in tensors]


def concatenate(xs: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing ``axis``."""
    tensors = _same_dtype(xs)
    ndim = tensors[0].data.ndim
    axis = canonical_axis(axis, ndim, "concatenate")

    def others(t: Tensor) -> tuple:
        return t.shape[:axis] + t.shape[axis + 1:]

    if any(t.data.ndim != ndim or others(t) != others(tensors[0]) for t in tensors):
        raise ValueError(f"concatenate along axis {axis} needs equal shapes except on that axis; "
                         f"got {[t.shape for t in tensors]}.")
    return _concatenate_p.apply(*tensors, axis=axis)


concat = concatenate


def stack(xs: Sequence[Any], axis: int = 0) -> Tensor:
    """Join equal-shaped tensors along a new ``axis``."""
    tensors = _same_dtype(xs)
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack needs tensors of one shape; got {[t.shape for t in tensors]}.")
    return concatenate([expand_dims(t, axis) for t in tensors], axis=axis)


def _split_forward(ops, a, cuts, axis):
    return tuple(ops.xp.split(a, cuts, axis=axis)), (a.shape, a.dtype, cuts, axis)


def _split_backward(ops, saved, grads):
    shape, dtype, cuts, axis = saved
    bounds = [0, *cuts, shape[axis]]
    pieces = []
    for g, start, stop in zip(grads, bounds, bounds[1:]):
        if g is None:
            piece_shape = list(shape)
            piece_shape[axis] = stop - start
            g = ops.xp.zeros(piece_shape, dtype=dtype)
        pieces.append(g)
    return (ops.xp.concatenate(pieces, axis=axis),)


_split_p = Primitive("split", _split_forward, _split_backward, multi_output=True)


def split(x: Any, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[Tensor]:
    """Split into equal sections (an int) or at the given indices (a list), as ``numpy.split``."""
    x = as_tensor(x)
    axis = canonical_axis(axis, x.data.ndim, "split")
    length = x.shape[axis]
    if isinstance(indices_or_sections, int):
        if indices_or_sections <= 0 or length % indices_or_sections:
            raise ValueError(f"Cannot split axis {axis} of length {length} into {indices_or_sections} equal sections.")
        step = length // indices_or_sections
        cuts = tuple(range(step, length, step))
    else:
        cuts = tuple(int(i) + length if int(i) < 0 else int(i) for i in indices_or_sections)
        if list(cuts) != sorted(cuts) or any(not 0 <= i <= length for i in cuts):
            raise ValueError(f"split indices {list(indices_or_sections)} must be increasing and within "
                             f"axis {axis} of length {length}.")
    return list(_split_p.apply(x, cuts=cuts, axis=axis))


def unstack(x: Any, axis: int = 0) -> list[Tensor]:
    """Split along ``axis`` into tensors with that axis removed."""
    x = as_tensor(x)
    return [squeeze(piece, axis) for piece in split(x, x.shape[axis], axis=axis)]


# ------------------------------------------------------------------- indexing


def _normalize_index(index) -> tuple[Any, bool]:
    """Backend-ready index and whether it uses advanced (array) indexing."""
    items = index if isinstance(index, tuple) else (index,)
    advanced = False
    normalized = []
    for item in items:
        if isinstance(item, Tensor):
            item = item.data
        elif isinstance(item, list):
            item = numpy.asarray(item)
        if hasattr(item, "dtype") and getattr(item, "ndim", 0) > 0:
            advanced = True
        normalized.append(item)
    return (tuple(normalized) if isinstance(index, tuple) else normalized[0]), advanced


def _getitem_forward(ops, a, index, advanced):
    return a[index], (a.shape, index, advanced)


def _getitem_backward(ops, saved, g):
    shape, index, advanced = saved
    return (ops.index_backward(g, shape, index, advanced),)


_getitem_p = Primitive("getitem", _getitem_forward, _getitem_backward)


def getitem(x: Any, index) -> Tensor:
    """``x[index]`` with numpy's basic and advanced indexing; repeated indices accumulate gradients."""
    index, advanced = _normalize_index(index)
    return _getitem_p.apply(as_tensor(x), index=index, advanced=advanced)


def _take_forward(ops, a, indices, axis):
    return ops.xp.take(a, indices, axis=axis), (a.shape, a.dtype, indices, axis)


def _take_backward(ops, saved, g):
    shape, dtype, indices, axis = saved
    out = ops.xp.zeros(shape, dtype=dtype)
    moved = ops.xp.moveaxis(out, axis, 0)
    g_moved = ops.xp.moveaxis(g, tuple(range(axis, axis + indices.ndim)), tuple(range(indices.ndim)))
    ops.scatter_add(moved, indices, g_moved)
    return out, None


_take_p = Primitive("take", _take_forward, _take_backward)


def take(x: Any, indices: Any, axis: int = 0) -> Tensor:
    """Gather slices of ``x`` along ``axis`` at integer ``indices`` (``tf.gather``)."""
    x, indices = as_tensor(x), as_tensor(indices)
    if indices.data.dtype.kind not in "iu":
        raise TypeError(f"take/gather needs integer indices, got {indices.data.dtype}.")
    axis = canonical_axis(axis, x.data.ndim, "take")
    length = x.shape[axis]

    def describe(value: int, position: str) -> IndexError:
        return IndexError(f"take: index {value} ({position}) is out of range for axis {axis} of length {length}.")
    _backend.ops.check_index_range(indices.data, length, describe, low=-length)  # deferred in fit on a device
    return _take_p.apply(x, indices, axis=axis)


gather = take


def _where_forward(ops, cond, a, b):
    return ops.xp.where(cond, a, b), (cond, a.shape, b.shape)


def _where_backward(ops, saved, g):
    cond, shape_a, shape_b = saved
    zero = g.dtype.type(0)
    return (None, ops.unbroadcast(ops.xp.where(cond, g, zero), shape_a),
            ops.unbroadcast(ops.xp.where(cond, zero, g), shape_b))


_where_p = Primitive("where", _where_forward, _where_backward)


def where(condition: Any, x: Any, y: Any) -> Tensor:
    """Elements of ``x`` where ``condition`` holds, else of ``y`` (broadcasting)."""
    x, y = binary_operands(x, y)
    return _where_p.apply(as_tensor(condition, "bool"), x, y)


def _clip_forward(ops, a, low, high):
    return ops.xp.clip(a, low, high).astype(a.dtype, copy=False), (a, low, high)


def _clip_backward(ops, saved, g):
    a, low, high = saved
    return (g * ((a >= low) & (a <= high)),)


_clip_p = Primitive("clip", _clip_forward, _clip_backward)


def clip(x: Any, x_min: float, x_max: float) -> Tensor:
    """Limit values to ``[x_min, x_max]``; the gradient is zero where clipped."""
    if x_min > x_max:
        raise ValueError(f"clip needs x_min <= x_max, got {x_min} > {x_max}.")
    return _clip_p.apply(as_tensor(x), low=x_min, high=x_max)


def _pad_forward(ops, a, pad_width, constant_values):
    return ops.xp.pad(a, pad_width, constant_values=constant_values), (pad_width, a.shape)


def _pad_backward(ops, saved, g):
    pad_width, shape = saved
    return (g[tuple(slice(before, before + n) for (before, _), n in zip(pad_width, shape))],)


_pad_p = Primitive("pad", _pad_forward, _pad_backward)


def pad(x: Any, pad_width: Sequence[Sequence[int]], constant_values: float = 0) -> Tensor:
    """Constant padding; ``pad_width`` holds a ``(before, after)`` pair per axis."""
    x = as_tensor(x)
    widths = tuple((int(b), int(a)) for b, a in pad_width)
    if len(widths) != x.data.ndim:
        raise ValueError(f"pad_width has {len(widths)} pairs for a tensor of rank {x.data.ndim}.")
    return _pad_p.apply(x, pad_width=widths, constant_values=constant_values)


# -------------------------------------------------------- non-differentiable


def _one_hot_forward(ops, indices, num_classes, axis, dtype):
    eye = ops.xp.eye(num_classes, dtype=dtype)
    out = eye[indices]
    if axis != -1:
        out = ops.xp.moveaxis(out, -1, axis)
    return out, None


_one_hot_p = Primitive("one_hot", _one_hot_forward, None)


def one_hot(x: Any, num_classes: int, axis: int = -1, dtype: Any = "float32") -> Tensor:
    """One-hot encode integer class ids into a new ``axis`` of length ``num_classes``."""
    x = as_tensor(x)
    if x.data.dtype.kind not in "iu":
        raise TypeError(f"one_hot needs integer class ids, got {x.data.dtype}.")
    if x.size and (int(x.data.min()) < 0 or int(x.data.max()) >= num_classes):
        raise ValueError(f"one_hot: class ids must lie in [0, {num_classes}); got "
                         f"{int(x.data.min())}..{int(x.data.max())}.")
    return _one_hot_p.apply(x, num_classes=num_classes, axis=axis, dtype=numpy.dtype(dtype))


def _identity_forward(ops, a):
    return a, None


def _identity_backward(ops, _, g):
    return (g,)


_stop_gradient_p = Primitive("stop_gradient", _identity_forward, None)
_identity_p = Primitive("identity", _identity_forward, _identity_backward)


def stop_gradient(x: Any) -> Tensor:
    """``x`` treated as a constant by autograd."""
    return _stop_gradient_p.apply(as_tensor(x))


def identity(x: Any) -> Tensor:
    """``x`` unchanged (a new tensor on the tape)."""
    return _identity_p.apply(as_tensor(x))


def shape(x: Any) -> tuple:
    """The static shape as a tuple of ints."""
    return tuple(as_tensor(x).shape)
