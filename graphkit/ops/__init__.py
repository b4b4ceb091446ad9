"""``gk.ops``: the differentiable primitives, in the style of ``keras.ops``.

Every function accepts tensors, arrays or Python numbers and returns :class:`gk.Tensor`.
"""
from .activations import (elu, exponential, gelu, hard_sigmoid, leaky_relu, linear, log_softmax, relu,
                          relu6, selu, sigmoid, silu, softmax, softplus, softsign, swish, tanh)
from .array import (broadcast_to, cast, clip, concat, concatenate, expand_dims, flatten, gather, getitem,
                    identity, one_hot, pad, ravel, reshape, shape, split, squeeze, stack, stop_gradient, take,
                    tile, transpose, unstack, where)
from .conv import average_pool, conv, conv_transpose, depthwise_conv, max_pool, separable_conv
from .linalg import dense, matmul
from .math import (abs, absolute, add, ceil, cos, divide, equal, erf, exp, expm1, floor, floor_divide,
                   greater, greater_equal, isfinite, isnan, less, less_equal, log, log1p, logical_and,
                   logical_not, logical_or, logical_xor, maximum, minimum, mod, multiply, negative,
                   not_equal, power, reciprocal, round, rsqrt, sign, sin, sqrt, square, subtract,
                   true_divide)
from .reduction import argmax, argmin, logsumexp, max, mean, min, std, sum, var
from . import tensor_methods as _tensor_methods

_tensor_methods.install()
del _tensor_methods
