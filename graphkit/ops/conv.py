"""Convolution and pooling as fused primitives, channels-last, with ``keras.ops`` semantics.

Shapes (``r`` = 1, 2 or 3 spatial dimensions; ``data_format="channels_first"`` transposes in
and out around the same code):

- ``conv``: inputs ``(N, *spatial, C)``, kernel ``(*k, C // groups, filters)``; ``groups`` is
  ``C // kernel.shape[-2]`` as in Keras; output channel ``o`` belongs to group ``o // (filters // groups)``.
- ``depthwise_conv``: kernel ``(*k, C, depth_multiplier)``; output channel ``c * multiplier + j``.
- ``conv_transpose``: kernel ``(*k, filters, C)`` (Keras/TF layout).
- ``padding``: ``"valid"``, ``"same"`` (TensorFlow's: total ``max((ceil(n/s)-1)*s + (k-1)*d + 1 - n, 0)``,
  the odd cell on the after side) and, for 1-D ``conv``/``depthwise_conv``, ``"causal"`` (left
  padding ``(k-1)*d``).

The array work (im2col + one GEMM forward, GEMM + strided col2im backward, pooling by strided
window loops) lives in :class:`graphkit.backend.conv_ops.ConvOps` so backends can override it.
"""
from __future__ import annotations

from typing import Any, Sequence

from ..backend import FLOATX
from ..engine.autograd import Primitive
from ..engine.tensor import Tensor
from ._operands import as_tensor, binary_operands
from .array import reshape, transpose
from .cast import cast

__all__ = ["conv", "conv_transpose", "depthwise_conv", "separable_conv", "max_pool", "average_pool",
           "compute_conv_output_shape", "compute_conv_transpose_output_shape", "compute_pooling_output_shape"]

# --------------------------------------------------------------------- arguments


def _tuple(value: Any, rank: int, name: str) -> tuple:
    if isinstance(value, int):
        values = (value,) * rank
    else:
        values = tuple(int(v) for v in value)
        if len(values) == 1 and rank > 1:
            values *= rank
    if len(values) != rank or any(v < 1 for v in values):
        raise ValueError(f"{name} must be a positive int or a tuple of {rank} positive ints, got {value!r}.")
    return values


def _padding(padding: str, allowed: Sequence[str]) -> str:
    mode = str(padding).lower()
    if mode not in allowed:
        raise ValueError(f"padding must be one of {list(allowed)}, got {padding!r}.")
    return mode


def _data_format(data_format: str | None) -> str:
    fmt = "channels_last" if data_format is None else str(data_format).lower()
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}.")
    return fmt


def _same_pad(n: int, k_eff: int, s: int) -> tuple[int, int]:
    """TensorFlow's "same": output ceil(n/s), the odd padded cell after."""
    total = max((-(-n // s) - 1) * s + k_eff - n, 0)
    return total // 2, total - total // 2


def _pads(spatial: Sequence[int], ksize: Sequence[int], strides: Sequence[int], dilation: Sequence[int],
          padding: str) -> tuple:
    k_effs = [(k - 1) * d + 1 for k, d in zip(ksize, dilation)]
    if padding == "valid":
        return tuple((0, 0) for _ in spatial)
    if padding == "causal":
        return ((k_effs[0] - 1, 0),)
    return tuple(_same_pad(n, k, s) for n, k, s in zip(spatial, k_effs, strides))


def _check_spatial(op: str, spatial, pads, ksize, dilation) -> None:
    for n, (b, a), k, d in zip(spatial, pads, ksize, dilation):
        if n + b + a < (k - 1) * d + 1:
            raise ValueError(f"{op}: a window of size {k} (dilation {d}) does not fit into a spatial "
                             f"dimension of size {n} with padding {(b, a)}; use padding='same' or a larger input.")


def _rank(op: str, x: Tensor) -> int:
    r = x.data.ndim - 2
    if r not in (1, 2, 3):
        raise ValueError(f"{op} expects inputs of rank 3, 4 or 5 (batch, *spatial, channels); got shape {x.shape}.")
    return r


def _channels_last(x: Tensor, fmt: str) -> Tensor:
    if fmt == "channels_last":
        return x
    r = x.data.ndim
    return transpose(x, (0, *range(2, r), 1))


def _restore(y: Tensor, fmt: str) -> Tensor:
    if fmt == "channels_last":
        return y
    r = y.data.ndim
    return transpose(y, (0, r - 1, *range(1, r - 1)))


# ---------------------------------------------------------------- shape helpers


def _conv_length(n, k, s, d, padding):
    if n is None:
        return None
    if padding == "valid":
        return (n - (k - 1) * d - 1) // s + 1
    if padding == "causal":
        return (n - 1) // s + 1
    return -(-n // s)


def compute_conv_output_shape(input_shape: Sequence[int | None], filters: int, kernel_size, strides=1,
                              padding: str = "valid", dilation_rate=1) -> tuple:
    """Channels-last output shape of :func:`conv` (``None`` dims stay ``None``)."""
    r = len(input_shape) - 2
    ks, st = _tuple(kernel_size, r, "kernel_size"), _tuple(strides, r, "strides")
    dl = _tuple(dilation_rate, r, "dilation_rate")
    padding = _padding(padding, ("valid", "same", "causal"))
    spatial = tuple(_conv_length(n, k, s, d, padding) for n, k, s, d in zip(input_shape[1:-1], ks, st, dl))
    return (input_shape[0], *spatial, filters)


def _transpose_length(n, k, s, d, padding, output_padding):
    """Keras/TF ``compute_conv_transpose_output_shape`` for one dimension."""
    if n is None:
        return None
    k_eff = (k - 1) * d + 1
    if output_padding is None:
        return n * s + max(k_eff - s, 0) if padding == "valid" else n * s
    pad = k_eff // 2 if padding == "same" else 0
    return (n - 1) * s + k_eff - 2 * pad + output_padding


def compute_conv_transpose_output_shape(input_shape: Sequence[int | None], filters: int, kernel_size, strides,
                                        padding: str = "valid", output_padding=None, dilation_rate=1) -> tuple:
    """Channels-last output shape of :func:`conv_transpose` (Keras' rules).

    ``valid``: ``n*s + max(k_eff - s, 0)``; ``same``: ``n*s``; with ``output_padding`` p:
    ``(n-1)*s + k_eff - 2*pad + p`` with ``pad = k_eff // 2`` for ``same``, 0 for ``valid``.
    """
    r = len(input_shape) - 2
    ks, st = _tuple(kernel_size, r, "kernel_size"), _tuple(strides, r, "strides")
    dl = _tuple(dilation_rate, r, "dilation_rate")
    padding = _padding(padding, ("valid", "same"))
    ops_ = (None,) * r if output_padding is None else _nonneg_tuple(output_padding, r)
    spatial = tuple(_transpose_length(n, k, s, d, padding, p)
                    for n, k, s, d, p in zip(input_shape[1:-1], ks, st, dl, ops_))
    return (input_shape[0], *spatial, filters)


def _nonneg_tuple(value, rank: int) -> tuple:
    values = (value,) * rank if isinstance(value, int) else tuple(int(v) for v in value)
    if len(values) == 1 and rank > 1:
        values *= rank
    if len(values) != rank or any(v < 0 for v in values):
        raise ValueError(f"output_padding must be a non-negative int or a tuple of {rank} of them, got {value!r}.")
    return values


def compute_pooling_output_shape(input_shape: Sequence[int | None], pool_size, strides=None,
                                 padding: str = "valid") -> tuple:
    """Channels-last output shape of :func:`max_pool` / :func:`average_pool`."""
    r = len(input_shape) - 2
    ps = _tuple(pool_size, r, "pool_size")
    st = ps if strides is None else _tuple(strides, r, "strides")
    padding = _padding(padding, ("valid", "same"))
    spatial = tuple(_conv_length(n, k, s, 1, padding) for n, k, s in zip(input_shape[1:-1], ps, st))
    return (input_shape[0], *spatial, input_shape[-1])


# ---------------------------------------------------------------- convolution


def _conv_forward(ops, x, w, strides, dilation, pads, groups):
    # The im2col columns are saved too (when not too large): the kernel gradient reuses them.
    y, cols = ops.conv_with_columns(x, w, strides, dilation, pads, groups)
    return y, (x, w, strides, dilation, pads, groups, cols)


def _conv_backward(ops, saved, g, needs_input_grad):
    """No col2im (most of a first conv layer's backward) when the input needs no gradient."""
    x, w, strides, dilation, pads, groups, cols = saved
    return ops.conv_backward(g, x, w, strides, dilation, pads, groups, input_grad=needs_input_grad[0], cols=cols)


_conv_p = Primitive("conv", _conv_forward, _conv_backward)


def _depthwise_forward(ops, x, w, strides, dilation, pads):
    return ops.depthwise_conv(x, w, strides, dilation, pads), (x, w, strides, dilation, pads)


def _depthwise_backward(ops, saved, g, needs_input_grad):
    x, w, strides, dilation, pads = saved
    return ops.depthwise_conv_backward(g, x, w, strides, dilation, pads, input_grad=needs_input_grad[0])


_depthwise_conv_p = Primitive("depthwise_conv", _depthwise_forward, _depthwise_backward)


def conv(inputs: Any, kernel: Any, strides=1, padding: str = "valid", data_format: str | None = None,
         dilation_rate=1) -> Tensor:
    """General N-d convolution (cross-correlation, as ``keras.ops.conv``), 1-D to 3-D.

    ``inputs`` ``(N, *spatial, C)``, ``kernel`` ``(*k, C // groups, filters)`` with ``groups``
    inferred as ``C // kernel.shape[-2]``. ``padding`` is ``"valid"``, ``"same"`` (TF's
    asymmetric rule) or ``"causal"`` (1-D only). One im2col + GEMM forward.
    """
    fmt = _data_format(data_format)
    x, w = binary_operands(inputs, kernel)
    r = _rank("conv", x)
    x = _channels_last(x, fmt)
    if w.data.ndim != r + 2:
        raise ValueError(f"conv: a {r}-D convolution needs a kernel of rank {r + 2}, got shape {w.shape}.")
    c, cg, filters = x.shape[-1], w.shape[-2], w.shape[-1]
    if c % cg:
        raise ValueError(f"conv: input channels ({c}) must be a multiple of kernel.shape[-2] ({cg}); "
                         f"inputs {x.shape}, kernel {w.shape}.")
    groups = c // cg
    if filters % groups:
        raise ValueError(f"conv: filters ({filters}) must be divisible by groups ({groups}).")
    mode = _padding(padding, ("valid", "same", "causal"))
    if mode == "causal" and r != 1:
        raise ValueError("conv: padding='causal' is only defined for 1-D convolution.")
    ksize = w.shape[:-2]
    st, dl = _tuple(strides, r, "strides"), _tuple(dilation_rate, r, "dilation_rate")
    pads = _pads(x.shape[1:-1], ksize, st, dl, mode)
    _check_spatial("conv", x.shape[1:-1], pads, ksize, dl)
    if groups > 1 and cg == 1:  # one input channel per group: the depthwise kernel is cheaper
        dw = reshape(w, (*ksize, c, filters // c))
        y = _depthwise_conv_p.apply(x, dw, strides=st, dilation=dl, pads=pads)
    else:
        y = _conv_p.apply(x, w, strides=st, dilation=dl, pads=pads, groups=groups)
    return _restore(y, fmt)


def depthwise_conv(inputs: Any, kernel: Any, strides=1, padding: str = "valid", data_format: str | None = None,
                   dilation_rate=1) -> Tensor:
    """Depthwise convolution (``keras.ops.depthwise_conv``): kernel ``(*k, C, depth_multiplier)``,
    output ``(N, *out, C * depth_multiplier)`` with channel ``c * depth_multiplier + j``."""
    fmt = _data_format(data_format)
    x, w = binary_operands(inputs, kernel)
    r = _rank("depthwise_conv", x)
    x = _channels_last(x, fmt)
    if w.data.ndim != r + 2 or w.shape[-2] != x.shape[-1]:
        raise ValueError(f"depthwise_conv: kernel must be (*kernel_size, {x.shape[-1]}, depth_multiplier) "
                         f"of rank {r + 2}; got {w.shape} for inputs {x.shape}.")
    mode = _padding(padding, ("valid", "same", "causal"))
    if mode == "causal" and r != 1:
        raise ValueError("depthwise_conv: padding='causal' is only defined for 1-D convolution.")
    ksize = w.shape[:-2]
    st, dl = _tuple(strides, r, "strides"), _tuple(dilation_rate, r, "dilation_rate")
    pads = _pads(x.shape[1:-1], ksize, st, dl, mode)
    _check_spatial("depthwise_conv", x.shape[1:-1], pads, ksize, dl)
    return _restore(_depthwise_conv_p.apply(x, w, strides=st, dilation=dl, pads=pads), fmt)


def separable_conv(inputs: Any, depthwise_kernel: Any, pointwise_kernel: Any, strides=1, padding: str = "valid",
                   data_format: str | None = None, dilation_rate=1) -> Tensor:
    """Depthwise convolution followed by a 1x1 convolution (``keras.ops.separable_conv``);
    ``pointwise_kernel`` is ``(*1, C * depth_multiplier, filters)``."""
    fmt = _data_format(data_format)
    x = _channels_last(as_tensor(inputs), fmt)
    y = depthwise_conv(x, depthwise_kernel, strides=strides, padding=padding, dilation_rate=dilation_rate)
    return _restore(conv(y, pointwise_kernel, strides=1, padding="valid"), fmt)


# ------------------------------------------------------------ bias + activation


def _bias_activation_forward(ops, y, b=None, activation="linear"):
    out = ops.bias_activation(y, b, activation)
    return out, (out if activation == "relu" else None, activation, b is not None)


def _bias_activation_backward(ops, saved, g):
    y, activation, with_bias = saved
    gz, gb = ops.bias_activation_backward(g, y, activation, with_bias)
    return (gz, gb) if with_bias else (gz,)


_bias_activation_p = Primitive("bias_activation", _bias_activation_forward, _bias_activation_backward)
BIAS_ACTIVATIONS = ("linear", "relu")


def bias_activation(outputs: Tensor, bias: Tensor | None, activation: str) -> Tensor:
    """``activation(outputs + bias)`` over channels-last ``outputs``, fused, for the conv layers.

    Consumes ``outputs``: the result is computed in its buffer, so pass only a fresh primitive
    output that nothing else refers to (a conv output inside a layer's call).
    ``activation`` is one of :data:`BIAS_ACTIVATIONS`; ``bias`` is ``(channels,)`` or None.
    """
    if activation not in BIAS_ACTIVATIONS:
        raise ValueError(f"bias_activation: activation must be one of {BIAS_ACTIVATIONS}, got {activation!r}.")
    if bias is None:
        return _bias_activation_p.apply(outputs, activation=activation)
    return _bias_activation_p.apply(outputs, bias, activation=activation)


# ------------------------------------------------------ transposed convolution


def _conv_transpose_forward(ops, x, w, strides, dilation, pad_before, out_spatial):
    y = ops.conv_transpose(x, w, strides, dilation, pad_before, out_spatial)
    return y, (x, w, strides, dilation, pad_before)


def _conv_transpose_backward(ops, saved, g, needs_input_grad):
    x, w, strides, dilation, pad_before = saved
    return ops.conv_transpose_backward(g, x, w, strides, dilation, pad_before, input_grad=needs_input_grad[0])


_conv_transpose_p = Primitive("conv_transpose", _conv_transpose_forward, _conv_transpose_backward)


def conv_transpose(inputs: Any, kernel: Any, strides, padding: str = "valid", output_padding=None,
                   data_format: str | None = None, dilation_rate=1) -> Tensor:
    """Transposed convolution (``keras.ops.conv_transpose``), the gradient of :func:`conv`
    with respect to its input.

    ``inputs`` ``(N, *n, C)``, ``kernel`` ``(*k, filters, C)``. Output sizes follow Keras:
    ``valid`` ``n*s + max(k_eff - s, 0)``, ``same`` ``n*s``; with ``output_padding`` p,
    ``(n-1)*s + k_eff - 2*pad + p`` (``pad = k_eff // 2`` for ``same``). The full scatter of
    length ``(n-1)*s + k_eff`` is cropped TF-style: ``pad_before = max(full - out, 0) // 2``
    (0 for ``valid``), zeros past its end.
    """
    fmt = _data_format(data_format)
    x, w = binary_operands(inputs, kernel)
    r = _rank("conv_transpose", x)
    x = _channels_last(x, fmt)
    if w.data.ndim != r + 2 or w.shape[-1] != x.shape[-1]:
        raise ValueError(f"conv_transpose: kernel must be (*kernel_size, filters, {x.shape[-1]}) of rank {r + 2}; "
                         f"got {w.shape} for inputs {x.shape}.")
    mode = _padding(padding, ("valid", "same"))
    ksize = w.shape[:-2]
    st, dl = _tuple(strides, r, "strides"), _tuple(dilation_rate, r, "dilation_rate")
    if output_padding is not None:
        for p, s, d in zip(_nonneg_tuple(output_padding, r), st, dl):
            if p >= max(s, d):
                raise ValueError(f"conv_transpose: output_padding ({output_padding}) must be smaller than "
                                 f"the stride ({strides}) or dilation ({dilation_rate}).")
    out_shape = compute_conv_transpose_output_shape(x.shape, w.shape[-2], ksize, st, mode, output_padding, dl)
    out_spatial = out_shape[1:-1]
    pad_before = tuple(0 if mode == "valid" else max((n - 1) * s + (k - 1) * d + 1 - o, 0) // 2
                       for n, k, s, d, o in zip(x.shape[1:-1], ksize, st, dl, out_spatial))
    if any(o < 1 for o in out_spatial):
        raise ValueError(f"conv_transpose: output spatial shape {out_spatial} is empty.")
    y = _conv_transpose_p.apply(x, w, strides=st, dilation=dl, pad_before=pad_before, out_spatial=out_spatial)
    return _restore(y, fmt)


# --------------------------------------------------------------------- pooling


def _max_pool_forward(ops, x, pool_size, strides, pads):
    y, argmax = ops.max_pool(x, pool_size, strides, pads)
    return y, (argmax, x.shape, pool_size, strides, pads)


def _max_pool_backward(ops, saved, g):
    argmax, shape, pool_size, strides, pads = saved
    return (ops.max_pool_backward(g, argmax, shape, pool_size, strides, pads),)


_max_pool_p = Primitive("max_pool", _max_pool_forward, _max_pool_backward)


def _average_pool_forward(ops, x, pool_size, strides, pads):
    return ops.average_pool(x, pool_size, strides, pads), (x.shape, pool_size, strides, pads)


def _average_pool_backward(ops, saved, g):
    shape, pool_size, strides, pads = saved
    return (ops.average_pool_backward(g, shape, pool_size, strides, pads),)


_average_pool_p = Primitive("average_pool", _average_pool_forward, _average_pool_backward)


def _pool(op: str, prim: Primitive, inputs, pool_size, strides, padding, data_format, float_only: bool) -> Tensor:
    fmt = _data_format(data_format)
    x = as_tensor(inputs)
    if float_only and x.dtype.kind not in "fc":
        x = cast(x, FLOATX)
    r = _rank(op, x)
    x = _channels_last(x, fmt)
    ps = _tuple(pool_size, r, "pool_size")
    st = ps if strides is None else _tuple(strides, r, "strides")
    mode = _padding(padding, ("valid", "same"))
    ones = (1,) * r
    pads = _pads(x.shape[1:-1], ps, st, ones, mode)
    _check_spatial(op, x.shape[1:-1], pads, ps, ones)
    return _restore(prim.apply(x, pool_size=ps, strides=st, pads=pads), fmt)


def max_pool(inputs: Any, pool_size, strides=None, padding: str = "valid", data_format: str | None = None) -> Tensor:
    """Max pooling (``keras.ops.max_pool``), 1-D to 3-D; ``strides`` default to ``pool_size``.
    ``"same"`` pads as TF and padding never wins; the gradient goes to the first maximum of each window."""
    return _pool("max_pool", _max_pool_p, inputs, pool_size, strides, padding, data_format, False)


def average_pool(inputs: Any, pool_size, strides=None, padding: str = "valid",
                 data_format: str | None = None) -> Tensor:
    """Average pooling (``keras.ops.average_pool``), 1-D to 3-D; ``strides`` default to
    ``pool_size``. With ``"same"`` padded cells are left out of each window's count (TF)."""
    return _pool("average_pool", _average_pool_p, inputs, pool_size, strides, padding, data_format, True)
