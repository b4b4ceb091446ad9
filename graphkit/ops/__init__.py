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
from ._symbolic import symbolic_aware as _symbolic_aware

# Every public function above also accepts symbolic tensors (gk.Input and layer outputs): such a
# call records an op layer in the model graph. The wrappers have each op's own signature, so eager
# calls pay one extra Python frame and nothing else. Keep new imports above this loop.
for _name, _fn in list(globals().items()):
    if not _name.startswith("_") and callable(_fn) and getattr(_fn, "__module__", "").startswith(__name__):
        globals()[_name] = _symbolic_aware(_name, _fn)
del _name, _fn, _symbolic_aware

_tensor_methods.install(globals())
del _tensor_methods
