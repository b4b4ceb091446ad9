"""Pooling and col2im in gather form, for :class:`~graphkit.backend.cupy_ops.CupyOps`.

The generic :class:`~graphkit.backend.conv_ops.ConvOps` code loops in Python over the window
positions (one small kernel, or GEMM, each), which on a GPU costs a launch per position. Here
each op is a few whole-array kernels, written against ``self.xp`` so that NumPy, the fake CuPy of
the tests and real CuPy all run the same code:

- max/average pooling forward: one reduction over the strided window view
  ``(N, *out, *k, C)`` (max pooling reduces a contiguous copy of it, for the argmax);
- gradients where windows overlap (max/average pooling, col2im): every padded input cell
  *gathers* its contributions, one per kernel offset ``j``, from output cell
  ``o = (cell - j * dilation) / stride`` where that is a whole number in range
  (:meth:`GatherWindowOps._window_gather`: per-axis index tables, built once per geometry);
  the gathered ``(N, *(cells, k) per axis, C)`` array is masked and summed over the ``k`` axes.
  No scatter, no atomics, no ``add.at``;
- where windows cannot overlap, max pooling's gradient is one masked write through the strided
  window view (each cell is in at most one window) and col2im keeps the generic one-GEMM path.

col2im gathers a few images at a time, within ``conv_chunk_bytes``.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple, Sequence

import numpy

from .conv_ops import _out_sizes, axis_table


class WindowGather(NamedTuple):
    """Per-axis index tables of a window geometry, on the device. ``cells`` and ``offsets`` index
    an array's spatial (and kernel) axes and broadcast to ``(cells_1, k_1, cells_2, k_2, ...)``;
    ``valid`` and ``flat`` have one more axis (size 1, the channels) to mask the gathered array."""

    cells: tuple      # per axis: the output cell whose window meets (cell, offset); 0 where none
    offsets: tuple    # per axis: the kernel offset j
    valid: Any        # whether (cells, offsets) is a real window position on every axis
    flat: Any         # the flat window position (row-major over the kernel offsets)
    window_axes: tuple  # the k axes of a gathered (N, *(cells, k) per axis, C) array


class GatherWindowOps:
    """Gather-form overrides of :class:`ConvOps`' pooling and col2im; needs ``self.xp``."""

    xp: Any
    conv_chunk_bytes: int | None

    def _window_gather(self, padded: Sequence[int], out: Sequence[int], ksize: Sequence[int],
                       strides: Sequence[int], dilation: Sequence[int]) -> WindowGather:
        """The :class:`WindowGather` of this geometry (built on the host once, then cached)."""
        key = (tuple(padded), tuple(out), tuple(ksize), tuple(strides), tuple(dilation))
        cache = self.__dict__.setdefault("_window_gathers", {})
        found = cache.get(key)
        if found is not None:
            return found
        r = len(ksize)
        cells, offsets, valid, flat = [], [], numpy.ones((1,) * (2 * r + 1), dtype=bool), 0
        for axis, (size, k, s, d, o) in enumerate(zip(padded, ksize, strides, dilation, out)):
            shape = [1] * (2 * r + 1)            # (cells, k) on this axis' pair of axes
            shape[2 * axis:2 * axis + 2] = size, k
            table = axis_table(size, o, k, s, d)
            ok = table >= 0
            cells.append(numpy.where(ok, table, 0).reshape(shape[:-1]))
            offset = numpy.broadcast_to(numpy.arange(k), (size, k)).reshape(shape)
            offsets.append(offset[..., 0])
            valid = valid & ok.reshape(shape)
            flat = flat + offset * math.prod(ksize[axis + 1:])
        xp = self.xp
        found = WindowGather(tuple(xp.asarray(c, dtype=numpy.int32) for c in cells),
                             tuple(xp.asarray(j, dtype=numpy.int32) for j in offsets),
                             xp.asarray(valid), xp.asarray(flat, dtype=numpy.int32),
                             tuple(2 + 2 * axis for axis in range(r)))
        if len(cache) > 32:
            cache.clear()
        cache[key] = found
        return found

    # --------------------------------------------------------------------- pooling
    def _max_pool_images(self, xpad, y, arg, pool_size, strides) -> None:
        out = y.shape[1:-1]
        view = self.window_view(xpad, out, pool_size, strides, (1,) * len(pool_size))
        windows = self.xp.ascontiguousarray(view).reshape(y.shape[:-1] + (-1, y.shape[-1]))
        arg[...] = windows.argmax(axis=-2)   # the first maximum of each window
        windows.max(axis=-2, out=y)

    def _max_pool_backward_images(self, grad, argmax, gpad, pool_size, strides) -> None:
        xp = self.xp
        ones = (1,) * len(pool_size)
        out = grad.shape[1:-1]
        if self._disjoint_windows(pool_size, strides, ones):
            # Each cell is in at most one window: one masked write of every window position.
            r = len(out)
            gpad[...] = 0
            positions = xp.arange(math.prod(pool_size), dtype=numpy.int32).reshape(tuple(pool_size) + (1,))
            spread = (slice(None),) * (r + 1) + (None,) * r + (slice(None),)
            view = self.window_view(gpad, out, pool_size, strides, ones)
            view[...] = xp.where(argmax[spread] == positions, grad[spread], 0)
            return
        gather = self._window_gather(gpad.shape[1:-1], out, pool_size, strides, ones)
        index = (slice(None), *gather.cells, slice(None))
        routed = xp.where(gather.valid & (argmax[index] == gather.flat), grad[index], 0)
        gpad[...] = routed.sum(axis=gather.window_axes)

    def average_pool(self, x, pool_size, strides, pads):
        xpad = self.pad_spatial(x, pads)
        r = len(pool_size)
        out = _out_sizes(xpad.shape[1:-1], pool_size, strides, (1,) * r)
        view = self.window_view(xpad, out, pool_size, strides, (1,) * r)
        y = view.sum(axis=tuple(range(r + 1, 2 * r + 1)))
        y /= self._pool_counts(x.shape[1:-1], pool_size, strides, pads, out, y.dtype)
        return y

    def average_pool_backward(self, grad, x_shape, pool_size, strides, pads):
        ones = (1,) * len(pool_size)
        if self._disjoint_windows(pool_size, strides, ones):
            return super().average_pool_backward(grad, x_shape, pool_size, strides, pads)  # one write
        out = grad.shape[1:-1]
        g = grad / self._pool_counts(x_shape[1:-1], pool_size, strides, pads, out, grad.dtype)
        padded = self._padded_shape(x_shape, pads)
        gather = self._window_gather(padded[1:-1], out, pool_size, strides, ones)
        gathered = self.xp.where(gather.valid, g[(slice(None), *gather.cells, slice(None))], 0)
        return self._unpad(gathered.sum(axis=gather.window_axes), x_shape, pads)

    # ---------------------------------------------------------------------- col2im
    def _col2im(self, g2, w, padded_shape, out, ksize, strides, dilation, groups: int = 1):
        if groups != 1 or self._disjoint_windows(ksize, strides, dilation):
            return super()._col2im(g2, w, padded_shape, out, ksize, strides, dilation, groups)
        xp = self.xp
        n, c = padded_shape[0], padded_shape[-1]
        kpos = math.prod(ksize)
        rows = math.prod(out)
        gather = self._window_gather(padded_shape[1:-1], out, ksize, strides, dilation)
        index = (slice(None), *gather.cells, *gather.offsets, slice(None))
        w_t = w.reshape(kpos * c, w.shape[-1]).T
        gpad = xp.empty(padded_shape, dtype=g2.dtype)
        # Per image: its columns and the gathered (cells, k) array, kpos times the input's size.
        per_image = (rows + math.prod(padded_shape[1:-1])) * kpos * c * g2.dtype.itemsize
        chunk = n if self.conv_chunk_bytes is None else max(1, min(n, self.conv_chunk_bytes // per_image))
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            cols = xp.matmul(g2[start * rows:stop * rows], w_t).reshape(stop - start, *out, *ksize, c)
            gpad[start:stop] = xp.where(gather.valid, cols[index], 0).sum(axis=gather.window_axes)
        return gpad
