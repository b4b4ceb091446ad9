"""Convolution and pooling on arrays, channels-last, mixed into :class:`~graphkit.backend.ops.Ops`.

Layouts (``r`` spatial dimensions, 1 to 3):

- inputs ``(N, *spatial, C)``; outputs ``(N, *out, O)``
- conv kernels ``(*k, C // groups, O)``; depthwise kernels ``(*k, C, multiplier)``;
  transposed-conv kernels ``(*k, O, C)`` (Keras' layout)
- ``pads`` is one ``(before, after)`` pair per spatial dimension (TF's "same" is asymmetric).

Everything is written against ``self.xp`` (numpy or cupy):

- im2col is one strided view (``as_strided``) of the padded input, shaped
  ``(N, *out, *k, C)``, copied once into the ``(N*prod(out), prod(k)*C)`` GEMM operand;
  the forward is then ONE matrix product (one batched product for ``groups > 1``).
- The kernel gradient is one GEMM of the same columns with the output gradient (the forward's
  columns, kept up to ``conv_columns_keep_bytes``); an input that needs no gradient skips col2im.
- With ``conv_chunk_bytes`` set (NumpyOps), ``groups == 1`` convolutions whose columns exceed it, or whose
  batch splits into parts (``batch_parts``), instead copy the columns
  of a few images at a time into one reused cache-sized buffer, for the forward product and again
  for the kernel gradient: on a CPU, writing and re-reading full-batch columns (tens of MB) from
  memory costs more than copying them twice from cache.
- The input gradient is the transposed product followed by col2im: one small GEMM per kernel
  position (into a reused buffer) added into a slice of a zero-padded buffer. Where windows
  cannot overlap (stride >= dilated kernel) the columns are written through one strided view.
  No ``add.at`` anywhere.
- The chunked forward, the chunked kernel gradient, col2im, max pooling and bias + activation
  run over contiguous parts of the batch through ``in_batch_parts`` (one part in the generic
  Ops; threads in NumpyOps, which swaps in numba kernels for the per-part work).
- Pooling loops over the ``prod(pool_size)`` window positions with elementwise ops on strided
  views; max pooling keeps the index of the first maximum of each window (uint8/int16) for its
  backward; where windows cannot overlap each position's gradient is written into its strided view.
- ``bias_activation`` adds a conv layer's bias and applies relu/linear in place in the conv output.
"""
from __future__ import annotations

import itertools
import math
from typing import Any, Sequence

import numpy

Pads = Sequence[Sequence[int]]


def _out_sizes(padded: Sequence[int], ksize: Sequence[int], strides: Sequence[int],
               dilation: Sequence[int]) -> tuple:
    return tuple((p - (k - 1) * d - 1) // s + 1 for p, k, s, d in zip(padded, ksize, strides, dilation))


def axis_table(padded: int, out: int, k: int, stride: int, dilation: int) -> numpy.ndarray:
    """``table[p, j]``: the output index whose window puts kernel position ``j`` on padded cell
    ``p`` along one axis, or -1 (the index arithmetic of col2im and of the gather-form window
    gradients, done once per geometry, not per cell)."""
    table = numpy.full((padded, k), -1, numpy.intp)
    for j in range(k):
        cells = numpy.arange(out) * stride + j * dilation
        table[cells, j] = numpy.arange(out)
    return table


def _position_index(dtype_source: int):
    return "uint8" if dtype_source <= 255 else ("int16" if dtype_source <= 32767 else "int32")


class ConvOps:
    """Convolution/pooling helpers and primitives; needs ``self.xp`` (provided by ``Ops``)."""

    xp: Any

    # ------------------------------------------------------------------ helpers
    def pad_spatial(self, x, pads: Pads, value: Any = 0):
        """``x`` (N, *spatial, C) padded with ``value`` by ``pads`` = ((before, after), ...)."""
        if not any(b or a for b, a in pads):
            return x
        out = self.xp.full(self._padded_shape(x.shape, pads), value, dtype=x.dtype)
        out[self._interior(x.shape[1:-1], pads)] = x
        return out

    @staticmethod
    def _padded_shape(shape: Sequence[int], pads: Pads) -> tuple:
        """``shape`` (N, *spatial, C) grown by ``pads``."""
        return (shape[0],) + tuple(n + b + a for n, (b, a) in zip(shape[1:-1], pads)) + (shape[-1],)

    @staticmethod
    def _interior(spatial: Sequence[int], pads: Pads) -> tuple:
        return (slice(None),) + tuple(slice(b, b + n) for n, (b, _) in zip(spatial, pads)) + (slice(None),)

    def _unpad(self, gpad, shape: Sequence[int], pads: Pads):
        """A gradient buffer of :meth:`_padded_shape` cropped back to ``shape`` (contiguous)."""
        if gpad.shape == tuple(shape):
            return gpad
        return self.xp.ascontiguousarray(gpad[self._interior(shape[1:-1], pads)])

    def window_view(self, x, out: Sequence[int], ksize: Sequence[int], strides: Sequence[int],
                    dilation: Sequence[int], groups: int = 1):
        """Strided view ``(N, *out, *k, C)`` of ``x`` (``(N, *out, *k, groups, C//groups)`` when
        ``groups > 1``): element ``[n, o.., j.., c]`` is ``x[n, o*s + j*d .., c]``. No copy."""
        st = x.strides
        spatial_strides = st[1:-1]
        shape = (x.shape[0], *out, *ksize)
        strides_ = (st[0],
                    *(sp * s for sp, s in zip(spatial_strides, strides)),
                    *(sp * d for sp, d in zip(spatial_strides, dilation)))
        if groups > 1:
            shape += (groups, x.shape[-1] // groups)
            strides_ += (st[-1] * (x.shape[-1] // groups), st[-1])
        else:
            shape += (x.shape[-1],)
            strides_ += (st[-1],)
        return self.xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides_)

    @staticmethod
    def _window_slice(position: Sequence[int], out: Sequence[int], strides: Sequence[int],
                      dilation: Sequence[int]) -> tuple:
        """Index of the input cells that kernel ``position`` meets, one per output cell."""
        return (slice(None),) + tuple(slice(j * d, j * d + (o - 1) * s + 1, s)
                                      for j, o, s, d in zip(position, out, strides, dilation)) + (slice(None),)

    @staticmethod
    def _disjoint_windows(ksize, strides, dilation) -> bool:
        return all(k == 1 or s >= (k - 1) * d + 1 for k, s, d in zip(ksize, strides, dilation))

    def im2col(self, xpad, out: Sequence[int], ksize: Sequence[int], strides: Sequence[int],
               dilation: Sequence[int], groups: int = 1):
        """The GEMM operand: ``(N*prod(out), prod(k)*C)``, or ``(groups, M, prod(k)*C/groups)``."""
        view = self.window_view(xpad, out, ksize, strides, dilation, groups)
        rows = xpad.shape[0] * math.prod(out)
        if groups == 1:
            return view.reshape(rows, -1)  # a copy unless the view is already contiguous (1x1)
        r = len(out)
        order = (r + 1 + r,) + tuple(range(r + 1 + r)) + (r + 2 + r,)
        return view.transpose(order).reshape(groups, rows, -1)

    @staticmethod
    def _grouped_kernel(w, groups: int):
        """Conv kernel ``(*k, Cg, O)`` as ``(groups, prod(k)*Cg, O/groups)``."""
        kpos = math.prod(w.shape[:-2])
        cg, o = w.shape[-2], w.shape[-1]
        return w.reshape(kpos, cg, groups, o // groups).transpose(2, 0, 1, 3).reshape(groups, kpos * cg, o // groups)

    def _col2im(self, g2, w, padded_shape: Sequence[int], out: Sequence[int], ksize, strides, dilation,
                groups: int = 1):
        """Input gradient in a padded buffer of ``padded_shape`` from the output gradient
        ``g2`` (``(M, O)``) and conv kernel ``w`` (``(*k, Cg, O)``)."""
        xp = self.xp
        n, c = padded_shape[0], padded_shape[-1]
        gpad = xp.zeros(padded_shape, dtype=g2.dtype)
        kpos = math.prod(ksize)
        cg, o = w.shape[-2], w.shape[-1]
        rows = g2.shape[0]
        if groups == 1:
            per_image = rows // max(n, 1)
            disjoint = self._disjoint_windows(ksize, strides, dilation)
            wk = w.reshape(kpos, cg, o)

            def images(start: int, stop: int) -> None:
                g_images, gpad_images = g2[start * per_image:stop * per_image], gpad[start:stop]
                if disjoint:
                    # Every padded cell gets at most one column entry: write the columns in one go.
                    view = self.window_view(gpad_images, out, ksize, strides, dilation)
                    view[...] = xp.matmul(g_images, w.reshape(kpos * cg, o).T).reshape(view.shape)
                    return
                buf = xp.empty((g_images.shape[0], cg), dtype=g2.dtype)
                for p, position in enumerate(itertools.product(*map(range, ksize))):
                    xp.matmul(g_images, wk[p].T, out=buf)
                    gpad_images[self._window_slice(position, out, strides, dilation)] += \
                        buf.reshape(stop - start, *out, c)
            self.in_batch_parts(images, n, per_image * kpos * cg * g2.dtype.itemsize)
            return gpad
        og = o // groups
        g3 = g2.reshape(rows, groups, og).transpose(1, 0, 2)                  # (G, M, Og)
        wk = w.reshape(kpos, cg, groups, og).transpose(0, 2, 3, 1)            # (kpos, G, Og, Cg)
        buf = xp.empty((groups, rows, cg), dtype=g2.dtype)
        for p, position in enumerate(itertools.product(*map(range, ksize))):
            xp.matmul(g3, wk[p], out=buf)
            gpad[self._window_slice(position, out, strides, dilation)] += \
                buf.transpose(1, 0, 2).reshape(n, *out, c)
        return gpad

    def _kernel_grad(self, cols, g2, wshape, groups: int):
        """Kernel gradient (one GEMM) from im2col columns and the output gradient ``(M, O)``."""
        xp = self.xp
        if groups == 1:
            return xp.matmul(cols.T, g2).reshape(wshape)
        o = wshape[-1]
        g3 = g2.reshape(g2.shape[0], groups, o // groups).transpose(1, 0, 2)
        gw = xp.matmul(cols.transpose(0, 2, 1), g3)                            # (G, kpos*Cg, Og)
        kpos = math.prod(wshape[:-2])
        return gw.reshape(groups, kpos, wshape[-2], o // groups).transpose(1, 2, 0, 3).reshape(wshape)

    def _conv_gemm(self, cols, w, groups: int):
        xp = self.xp
        if groups == 1:
            return xp.matmul(cols, w.reshape(-1, w.shape[-1]))
        y = xp.matmul(cols, self._grouped_kernel(w, groups))                  # (G, M, Og)
        return y.transpose(1, 0, 2).reshape(cols.shape[1], -1)

    # ---------------------------------------------------------------- convolution
    # im2col columns up to this size are kept from the forward for the kernel gradient (see
    # conv_with_columns), so the backward does not copy them out again.
    conv_columns_keep_bytes = 128 << 20

    def conv(self, x, w, strides: Sequence[int], dilation: Sequence[int], pads: Pads, groups: int = 1):
        """N-d convolution (cross-correlation, as TF): x ``(N, *sp, C)``, w ``(*k, C/groups, O)``."""
        return self.conv_with_columns(x, w, strides, dilation, pads, groups)[0]

    # Bytes of im2col columns copied at a time (whole images); None: the whole batch at once.
    conv_chunk_bytes: int | None = None

    def _column_chunk(self, x, out: Sequence[int], w, groups: int) -> int | None:
        """Images per im2col chunk where a ``groups == 1`` convolution builds its columns a few
        images at a time: when they exceed ``conv_chunk_bytes``, or when the batch splits into
        parts (:meth:`batch_parts`). None: all columns at once."""
        n = x.shape[0]
        if self.conv_chunk_bytes is None or groups != 1:
            return None
        per_image = math.prod(out) * math.prod(w.shape[:-1]) * x.dtype.itemsize
        chunk = max(1, min(n, self.conv_chunk_bytes // per_image))
        return chunk if chunk < n or self.batch_parts(n, per_image) > 1 else None

    def _column_chunks(self, xpad, out: Sequence[int], ksize, strides, dilation, chunk: int):
        """Yields ``(first_row, columns)`` for every ``chunk`` images of ``xpad``: the columns of
        those images (``groups == 1``) in ONE buffer reused by every chunk; a consumer must be
        done with a chunk before asking for the next."""
        xp = self.xp
        n = xpad.shape[0]
        rows = math.prod(out)
        view = self.window_view(xpad, out, ksize, strides, dilation)
        buffer = xp.empty((min(chunk, n) * rows, math.prod(view.shape[len(out) + 1:])), dtype=xpad.dtype)
        for start in range(0, n, chunk):
            part = view[start:start + chunk]
            cols = buffer[:part.shape[0] * rows]
            xp.copyto(cols.reshape(part.shape), part)
            yield start * rows, cols

    def _chunked_kernel_grad(self, xpad, g2, wshape, out, strides, dilation, chunk: int):
        """:meth:`_kernel_grad` (``groups == 1``) from columns rebuilt ``chunk`` images at a time."""
        xp = self.xp
        rows = math.prod(out)

        def images(start: int, stop: int):
            gw = xp.zeros((math.prod(wshape[:-1]), wshape[-1]), dtype=g2.dtype)
            part = xp.empty_like(gw)
            g_images = g2[start * rows:stop * rows]
            for first, cols in self._column_chunks(xpad[start:stop], out, wshape[:-2], strides, dilation, chunk):
                xp.matmul(cols.T, g_images[first:first + cols.shape[0]], out=part)
                gw += part
            return gw
        gws = self.in_batch_parts(images, xpad.shape[0], rows * math.prod(wshape[:-1]) * g2.dtype.itemsize)
        return sum(gws[1:], gws[0]).reshape(wshape)

    def conv_with_columns(self, x, w, strides: Sequence[int], dilation: Sequence[int], pads: Pads,
                          groups: int = 1):
        """:meth:`conv` and its im2col columns, for :meth:`conv_backward`'s ``cols`` (None
        where they are larger than ``conv_columns_keep_bytes`` or built in chunks: the backward
        rebuilds them)."""
        xpad = self.pad_spatial(x, pads)
        ksize = w.shape[:-2]
        out = _out_sizes(xpad.shape[1:-1], ksize, strides, dilation)
        chunk = self._column_chunk(x, out, w, groups)
        if chunk is not None:
            rows = math.prod(out)
            y = self.xp.empty((x.shape[0] * rows, w.shape[-1]), dtype=x.dtype)
            w2 = w.reshape(-1, w.shape[-1])

            def images(start: int, stop: int) -> None:
                y_images = y[start * rows:stop * rows]
                for first, cols in self._column_chunks(xpad[start:stop], out, ksize, strides, dilation, chunk):
                    self.xp.matmul(cols, w2, out=y_images[first:first + cols.shape[0]])
            self.in_batch_parts(images, x.shape[0], rows * w2.shape[0] * x.dtype.itemsize)
            return y.reshape(x.shape[0], *out, w.shape[-1]), None
        cols = self.im2col(xpad, out, ksize, strides, dilation, groups)
        y = self._conv_gemm(cols, w, groups).reshape(x.shape[0], *out, w.shape[-1])
        return y, (cols if cols.nbytes <= self.conv_columns_keep_bytes else None)

    def conv_backward(self, grad, x, w, strides, dilation, pads: Pads, groups: int = 1, input_grad: bool = True,
                      cols=None):
        """``(grad wrt x, grad wrt w)`` of :meth:`conv`; ``input_grad=False`` skips the input
        gradient (None), col2im and all, when the input needs none (a batch of data).
        ``cols``: the forward's im2col columns when kept (:meth:`conv_with_columns`)."""
        ksize = w.shape[:-2]
        out = grad.shape[1:-1]
        g2 = grad.reshape(-1, grad.shape[-1])
        padded = self._padded_shape(x.shape, pads)
        chunk = self._column_chunk(x, out, w, groups)
        if cols is None and chunk is not None:
            gw = self._chunked_kernel_grad(self.pad_spatial(x, pads), g2, w.shape, out, strides, dilation, chunk)
        else:
            if cols is None:
                cols = self.im2col(self.pad_spatial(x, pads), out, ksize, strides, dilation, groups)
            gw = self._kernel_grad(cols, g2, w.shape, groups)
            del cols
        if not input_grad:
            return None, gw
        gpad = self._col2im(g2, w, padded, out, ksize, strides, dilation, groups)
        return self._unpad(gpad, x.shape, pads), gw

    # ------------------------------------------------------------ bias + activation
    def bias_activation(self, y, b, activation: str):
        """``activation(y + b)`` computed IN PLACE in ``y`` (a conv output nobody else holds) and
        returned; ``b`` (channels,) or None; ``activation`` ``"relu"`` or ``"linear"``. Rows of a
        contiguous ``y`` run in batch parts (:meth:`in_batch_parts`)."""
        relu = activation == "relu"
        if b is None and not relu:
            return y
        if not y.flags.c_contiguous:
            self._bias_activation_rows(y, b, relu)
            return y
        y2 = y.reshape(-1, y.shape[-1])
        self.in_batch_parts(lambda start, stop: self._bias_activation_rows(y2[start:stop], b, relu),
                            y2.shape[0], y2.shape[1] * y2.dtype.itemsize)
        return y

    def _bias_activation_rows(self, y, b, relu: bool) -> None:
        """``y = relu?(y + b)`` in place (channels last)."""
        if b is not None:
            y += b
        if relu:
            self.xp.maximum(y, 0, out=y)

    def bias_activation_backward(self, grad, y, activation: str, with_bias: bool):
        """``(grad wrt the conv output, grad wrt b or None)`` of :meth:`bias_activation`; ``y`` is
        its output (for relu's mask). Rows run in batch parts, each returning its share of the
        bias gradient."""
        relu = activation == "relu"
        if not relu and not with_bias:
            return grad, None
        channels = grad.shape[-1]
        g2 = grad.reshape(-1, channels)
        gz = self.xp.empty(g2.shape, dtype=g2.dtype) if relu else g2
        y2 = y.reshape(-1, channels) if relu else None

        def rows(start: int, stop: int):
            return self._bias_activation_backward_rows(g2[start:stop], None if y2 is None else y2[start:stop],
                                                       gz[start:stop], with_bias)
        gbs = self.in_batch_parts(rows, g2.shape[0], channels * g2.dtype.itemsize)
        gb = sum(gbs[1:], gbs[0]).astype(grad.dtype, copy=False) if with_bias else None
        return gz.reshape(grad.shape), gb

    def _bias_activation_backward_rows(self, g2, y2, gz, with_bias: bool):
        """``gz = g2 * (y2 > 0)`` (relu: ``y2`` given; else ``gz`` is ``g2``) and, with a bias,
        the column sums of ``gz`` over these rows (returned; else None).

        One pass over row blocks (:meth:`_row_blocks`): each block's relu mask, masked gradient
        and bias-gradient share stay in cache, instead of three passes over the whole arrays.
        """
        xp = self.xp
        channels = g2.shape[1]
        relu = y2 is not None
        blocks = self._row_blocks(g2.shape[0], channels * g2.dtype.itemsize)
        size = blocks[0].stop
        mask = xp.empty((size, channels), dtype=bool) if relu else None
        # Summing rows as a GEMV with a vector of ones: several times faster than sum(axis=0).
        ones = xp.ones(size, dtype=g2.dtype)
        gb = xp.zeros(channels, dtype=g2.dtype) if with_bias else None
        part = xp.empty_like(gb) if with_bias else None
        for rows in blocks:
            k = rows.stop - rows.start
            if relu:
                xp.greater(y2[rows], 0, out=mask[:k])
                xp.multiply(g2[rows], mask[:k], out=gz[rows])
            if with_bias:
                xp.matmul(ones[:k], gz[rows], out=part)
                gb += part
        return gb

    # ------------------------------------------------------- transposed convolution
    @staticmethod
    def _transpose_buffer(x_spatial, ksize, strides, dilation, pad_before, out_spatial) -> tuple:
        """Spatial size of the uncropped transposed-conv output buffer."""
        return tuple(max((n - 1) * s + (k - 1) * d + 1, b + o)
                     for n, k, s, d, b, o in zip(x_spatial, ksize, strides, dilation, pad_before, out_spatial))

    def conv_transpose(self, x, w, strides, dilation, pad_before: Sequence[int], out_spatial: Sequence[int]):
        """Transposed convolution (the input gradient of :meth:`conv`): x ``(N, *n, C)``,
        w ``(*k, O, C)``; each input cell scatters ``x @ w[j].T`` to ``i*s + j*d``, then the
        result is cropped to ``[pad_before, pad_before + out)`` (zero beyond the scattered range)."""
        ksize = w.shape[:-2]
        x_spatial = x.shape[1:-1]
        buffer = self._transpose_buffer(x_spatial, ksize, strides, dilation, pad_before, out_spatial)
        full = self._col2im(x.reshape(-1, x.shape[-1]), w, (x.shape[0], *buffer, w.shape[-2]),
                            x_spatial, ksize, strides, dilation)
        crop = (slice(None),) + tuple(slice(b, b + o) for b, o in zip(pad_before, out_spatial)) + (slice(None),)
        return full if full.shape[1:-1] == tuple(out_spatial) else self.xp.ascontiguousarray(full[crop])

    def conv_transpose_backward(self, grad, x, w, strides, dilation, pad_before: Sequence[int],
                                input_grad: bool = True):
        """``(grad wrt x, grad wrt w)`` of :meth:`conv_transpose`; ``input_grad=False`` skips the
        input gradient (None)."""
        ksize = w.shape[:-2]
        x_spatial = x.shape[1:-1]
        out_spatial = grad.shape[1:-1]
        buffer = self._transpose_buffer(x_spatial, ksize, strides, dilation, pad_before, out_spatial)
        pads = [(b, full - b - o) for b, full, o in zip(pad_before, buffer, out_spatial)]
        gpad = self.pad_spatial(grad, pads)
        cols = self.im2col(gpad, x_spatial, ksize, strides, dilation)
        x2 = x.reshape(-1, x.shape[-1])
        gx = self._conv_gemm(cols, w, 1).reshape(x.shape) if input_grad else None
        gw = self._kernel_grad(cols, x2, w.shape, 1)
        return gx, gw

    # -------------------------------------------------------- depthwise convolution
    def depthwise_conv(self, x, w, strides, dilation, pads: Pads):
        """Depthwise convolution: x ``(N, *sp, C)``, w ``(*k, C, m)`` -> ``(N, *out, C*m)``
        (output channel ``c*m + j``); a loop of multiply-adds over kernel positions."""
        xp = self.xp
        xpad = self.pad_spatial(x, pads)
        ksize = w.shape[:-2]
        c, m = w.shape[-2], w.shape[-1]
        out = _out_sizes(xpad.shape[1:-1], ksize, strides, dilation)
        y = xp.zeros((x.shape[0], *out, c, m), dtype=x.dtype)
        tmp = xp.empty_like(y)
        for position in itertools.product(*map(range, ksize)):
            xs = xpad[self._window_slice(position, out, strides, dilation)]
            xp.multiply(xs[..., None], w[position], out=tmp)
            y += tmp
        return y.reshape(x.shape[0], *out, c * m)

    def depthwise_conv_backward(self, grad, x, w, strides, dilation, pads: Pads, input_grad: bool = True):
        """``(grad wrt x, grad wrt w)`` of :meth:`depthwise_conv`; ``input_grad=False`` skips the
        input gradient (None)."""
        xp = self.xp
        xpad = self.pad_spatial(x, pads)
        ksize = w.shape[:-2]
        c, m = w.shape[-2], w.shape[-1]
        out = grad.shape[1:-1]
        g = grad.reshape(grad.shape[:-1] + (c, m))
        gpad = xp.zeros(xpad.shape, dtype=grad.dtype) if input_grad else None
        gw = xp.empty(w.shape, dtype=grad.dtype)
        lead = tuple(range(len(out) + 1))
        for position in itertools.product(*map(range, ksize)):
            index = self._window_slice(position, out, strides, dilation)
            wp = w[position]
            if m == 1:
                if input_grad:
                    gpad[index] += g[..., 0] * wp[:, 0]
                gw[position] = (xpad[index] * g[..., 0]).sum(axis=lead)[:, None]
            else:
                if input_grad:
                    gpad[index] += (g * wp).sum(axis=-1)
                gw[position] = (xpad[index][..., None] * g).sum(axis=lead)
        if not input_grad:
            return None, gw
        return self._unpad(gpad, x.shape, pads), gw

    # --------------------------------------------------------------------- pooling
    def max_pool(self, x, pool_size, strides, pads: Pads):
        """Max pooling; returns ``(y, argmax)`` where ``argmax`` is the flat window position of
        the first maximum of each window (padding never wins). Images run in batch parts."""
        xp = self.xp
        if x.dtype.kind == "f":
            low = -math.inf
        else:
            low = xp.iinfo(x.dtype).min if x.dtype.kind in "iu" else False
        xpad = self.pad_spatial(x, pads, low)
        out = _out_sizes(xpad.shape[1:-1], pool_size, strides, (1,) * len(pool_size))
        shape = (x.shape[0], *out, x.shape[-1])
        y = xp.empty(shape, dtype=x.dtype)
        arg = xp.empty(shape, dtype=_position_index(math.prod(pool_size)))
        self.in_batch_parts(lambda start, stop: self._max_pool_images(xpad[start:stop], y[start:stop],
                                                                      arg[start:stop], pool_size, strides),
                            x.shape[0], xpad.nbytes // max(1, x.shape[0]))
        return y, arg

    def _max_pool_images(self, xpad, y, arg, pool_size, strides) -> None:
        """Writes :meth:`max_pool`'s ``y`` and ``argmax`` of the images of ``xpad``."""
        xp = self.xp
        ones = (1,) * len(pool_size)
        out = y.shape[1:-1]
        positions = list(itertools.product(*map(range, pool_size)))
        y[...] = xpad[self._window_slice(positions[0], out, strides, ones)]
        arg[...] = 0
        better = xp.empty(y.shape, dtype=bool)
        step = xp.empty_like(arg)
        for p, position in enumerate(positions[1:], start=1):
            v = xpad[self._window_slice(position, out, strides, ones)]
            xp.greater(v, y, out=better)  # strictly greater: ties keep the first position
            # arg = where(better, p, arg), as arithmetic (much faster than a masked copy);
            # arg < p holds everywhere here, so p - arg never wraps around.
            xp.subtract(p, arg, out=step)
            step *= better
            arg += step
            xp.maximum(y, v, out=y)

    def max_pool_backward(self, grad, argmax, x_shape, pool_size, strides, pads: Pads):
        """Route each output gradient to its window's (first) maximum. Images run in batch parts."""
        gpad = self.xp.empty(self._padded_shape(x_shape, pads), dtype=grad.dtype)
        n = grad.shape[0]
        self.in_batch_parts(lambda start, stop: self._max_pool_backward_images(
            grad[start:stop], argmax[start:stop], gpad[start:stop], pool_size, strides), n, gpad.nbytes // max(1, n))
        return self._unpad(gpad, x_shape, pads)

    def _max_pool_backward_images(self, grad, argmax, gpad, pool_size, strides) -> None:
        """Writes every cell of ``gpad`` (these images' padded input gradient)."""
        xp = self.xp
        ones = (1,) * len(pool_size)
        out = grad.shape[1:-1]
        mask = xp.empty(argmax.shape, dtype=bool)
        positions = itertools.product(*map(range, pool_size))
        # grad * (argmax == p): branch-free, several times faster than where() on random masks
        # (only a non-finite gradient would spread NaN to the window's other cells).
        if self._disjoint_windows(pool_size, strides, ones):
            # Each cell is in at most one window: write each position's share straight into its
            # strided view of the buffer (no temporaries, no read-modify-write). Windows that
            # tile the buffer (stride == pool) cover all of it but a tail per axis: only that
            # tail is zeroed.
            if all(s == k for s, k in zip(strides, pool_size)):
                for axis, (o, k) in enumerate(zip(out, pool_size), start=1):
                    if o * k < gpad.shape[axis]:
                        gpad[(slice(None),) * axis + (slice(o * k, None),)] = 0
            else:
                gpad[...] = 0
            view = self.window_view(gpad, out, pool_size, strides, ones)
            lead = (slice(None),) * (len(out) + 1)
            for p, position in enumerate(positions):
                xp.multiply(xp.equal(argmax, p, out=mask), grad, out=view[lead + position])
        else:
            gpad[...] = 0
            routed = xp.empty_like(grad)
            for p, position in enumerate(positions):
                xp.multiply(xp.equal(argmax, p, out=mask), grad, out=routed)
                gpad[self._window_slice(position, out, strides, ones)] += routed

    def _pool_counts(self, spatial, pool_size, strides, pads, out, dtype):
        """Number of real (unpadded) cells in each window, broadcastable to ``(N, *out, C)``;
        a Python number when every window is full."""
        per_axis = []
        full = True
        for n, k, s, (b, _), o in zip(spatial, pool_size, strides, pads, out):
            counts = [min(i * s - b + k, n) - max(i * s - b, 0) for i in range(o)]
            full = full and all(c == k for c in counts)
            per_axis.append(counts)
        if full:
            return math.prod(pool_size)
        r = len(per_axis)
        total = None
        for axis, counts in enumerate(per_axis):
            shape = [1] * (r + 2)
            shape[axis + 1] = len(counts)
            a = self.xp.asarray(counts, dtype=dtype).reshape(shape)
            total = a if total is None else total * a
        return total

    def average_pool(self, x, pool_size, strides, pads: Pads):
        """Average pooling; padded cells are not counted (TF's "same")."""
        xpad = self.pad_spatial(x, pads)
        ones = (1,) * len(pool_size)
        out = _out_sizes(xpad.shape[1:-1], pool_size, strides, ones)
        positions = list(itertools.product(*map(range, pool_size)))
        y = xpad[self._window_slice(positions[0], out, strides, ones)].copy()
        for position in positions[1:]:
            y += xpad[self._window_slice(position, out, strides, ones)]
        y /= self._pool_counts(x.shape[1:-1], pool_size, strides, pads, out, y.dtype)
        return y

    def average_pool_backward(self, grad, x_shape, pool_size, strides, pads: Pads):
        """Spread each output gradient evenly over its window's real cells."""
        xp = self.xp
        padded = self._padded_shape(x_shape, pads)
        ones = (1,) * len(pool_size)
        out = grad.shape[1:-1]
        g = grad / self._pool_counts(x_shape[1:-1], pool_size, strides, pads, out, grad.dtype)
        gpad = xp.zeros(padded, dtype=grad.dtype)
        if self._disjoint_windows(pool_size, strides, ones):
            view = self.window_view(gpad, out, pool_size, strides, ones)
            r = len(out)
            view[...] = g.reshape(g.shape[:-1] + (1,) * r + g.shape[-1:])
        else:
            for position in itertools.product(*map(range, pool_size)):
                gpad[self._window_slice(position, out, strides, ones)] += g
        return self._unpad(gpad, x_shape, pads)
