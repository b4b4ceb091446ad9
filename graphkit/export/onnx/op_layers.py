"""Op layers recorded from symbolic arithmetic and ``gk.ops`` calls (``x + y``, ``2 * x``,
``gk.ops.mean(x, axis=1)``, ``gk.ops.relu(x)``): elementwise binary and unary ops, reductions
and the activation ops."""
from __future__ import annotations

import inspect

import numpy

from ...graph.symbolic import SymbolicTensor
from ...layers.op_layer import OpLayer
from ...ops._symbolic import raw_op
from . import proto
from .convert import converts, unsupported
from .core import ACTIVATIONS
from .graph import GraphBuilder

_BINARY = {"add": "Add", "subtract": "Sub", "multiply": "Mul", "divide": "Div", "true_divide": "Div",
           "maximum": "Max", "minimum": "Min", "power": "Pow", "matmul": "MatMul"}
_UNARY = {"negative": "Neg", "abs": "Abs", "absolute": "Abs", "exp": "Exp", "log": "Log", "sqrt": "Sqrt",
          "floor": "Floor", "ceil": "Ceil", "sin": "Sin", "cos": "Cos", "erf": "Erf", "sign": "Sign",
          "reciprocal": "Reciprocal", "identity": "Identity", "stop_gradient": "Identity"}
_REDUCTIONS = {"mean": "ReduceMean", "sum": "ReduceSum", "max": "ReduceMax", "min": "ReduceMin"}


def _bound(layer: OpLayer, args: tuple, kwargs: dict) -> dict:
    """The op's arguments by parameter name, defaults included."""
    bound = inspect.signature(raw_op(layer.function)).bind(*args, **kwargs, **layer.op_kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


@converts(OpLayer)
def op_layer(g: GraphBuilder, layer: OpLayer, node, args) -> list:
    name = layer.function
    symbolic = _bound(layer, node.call_args, node.call_kwargs)
    values = _bound(layer, args, node.call_kwargs)
    tensors = [values[k] for k, v in symbolic.items() if isinstance(v, SymbolicTensor)]
    dtype = proto.exported_dtype(node.output_tensors[0].dtype)

    def operand(key: str) -> str:
        """A binary op's operand in the result's dtype (``int_tensor / 2`` is a float division)."""
        if isinstance(symbolic[key], SymbolicTensor):
            if proto.exported_dtype(symbolic[key].dtype) == dtype:
                return values[key]
            return g.op("Cast", [values[key]], to=proto.data_type(dtype))
        return g.constant(numpy.asarray(values[key], dtype=dtype), "constant", dtype=dtype.name)

    if name in _BINARY:
        first, second = list(symbolic)[:2]
        return [g.op(_BINARY[name], [operand(first), operand(second)])]
    options = {k: v for k, v in values.items() if not isinstance(symbolic[k], SymbolicTensor)}
    if name in _UNARY and len(tensors) == 1:
        return [g.op(_UNARY[name], tensors)]
    if name == "square" and len(tensors) == 1:
        return [g.op("Mul", tensors * 2)]
    if name in ACTIVATIONS and len(tensors) == 1:
        return [ACTIVATIONS[name](g, tensors[0], **options)]
    if name in _REDUCTIONS and len(tensors) == 1:
        axis = options.get("axis")
        inputs = tensors if axis is None else [tensors[0], g.ints(numpy.atleast_1d(axis))]
        return [g.op(_REDUCTIONS[name], inputs, keepdims=int(bool(options.get("keepdims", False))))]
    raise unsupported(layer, f"the op {name!r} has no ONNX converter (exported ops: elementwise arithmetic, "
                             f"{sorted(_UNARY)}, square, the activations and {sorted(_REDUCTIONS)})")
