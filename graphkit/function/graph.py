"""The op graph a :func:`graphkit.function` records, how it is recorded and how it is run again.

A :class:`Graph` is plain data: a list of :class:`GraphNode` (primitive, input references,
attributes, output specs), the graph inputs (:class:`TensorSpec`), the captured variables (by
reference: later assigns are seen), constants (arrays) and the output structure.

References (``ref``) are tuples:

- ``("input", k)``: the k-th tensor argument;
- ``("capture", k)``: the k-th captured variable;
- ``("const", k)``: the k-th constant array;
- ``("node", i, j)``: output ``j`` of node ``i``.

Recording runs the Python function on the real inputs with an observer
(:func:`graphkit.observe`) that sees every primitive call. While it runs, a private tape is
recording and the inputs are marked tracked, so library code that takes a shortcut for data
that needs no gradient (e.g. a loss's targets converted outside any primitive) goes through
primitives and stays connected to the inputs.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy

from ..engine import autograd
from ..engine.autograd import Primitive
from ..engine.tensor import Tensor, wrap
from ..engine.variable import Variable
from ..global_state import THREAD
from .tensor_spec import TensorSpec


class GraphNode:
    """One recorded primitive call."""

    __slots__ = ("name", "op", "prim", "inputs", "attrs", "outputs")

    def __init__(self, name: str, prim: Primitive, inputs: list, attrs: dict, outputs: list[TensorSpec]):
        self.name = name          # unique within the graph: "dense", "dense_1", ...
        self.op = prim.name       # the primitive's name
        self.prim = prim
        self.inputs = inputs      # refs (see the module docstring)
        self.attrs = attrs
        self.outputs = outputs    # TensorSpec per output

    @property
    def type(self) -> str:  # tf.Operation.type
        return self.op

    def __repr__(self) -> str:
        return f"<GraphNode {self.name} op={self.op} inputs={self.inputs}>"


class Graph:
    """A recorded op graph (see the module docstring)."""

    def __init__(self) -> None:
        self.nodes: list[GraphNode] = []
        self.inputs: list[TensorSpec] = []
        self.captures: list[Variable] = []
        self.constants: list[Any] = []
        self.structured_outputs: Any = None   # nested structure of ("ref", ref) / ("py", value)
        self.outputs: list[TensorSpec] = []   # specs of the output tensors, flattened

    @property
    def ops(self) -> list[GraphNode]:
        return self.nodes

    def get_operations(self) -> list[GraphNode]:  # tf.Graph.get_operations
        return list(self.nodes)

    @property
    def op_names(self) -> list[str]:
        return [node.op for node in self.nodes]

    def __repr__(self) -> str:
        return (f"<gk.function Graph: {len(self.nodes)} ops, {len(self.inputs)} inputs, "
                f"{len(self.captures)} captured variables, {len(self.constants)} constants>")


# ------------------------------------------------------------------------------- structures
def flatten(structure: Any) -> list:
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure, key=str) for leaf in flatten(structure[key])]
    return [structure]


def map_structure(fn, structure: Any) -> Any:
    if isinstance(structure, list):
        return [map_structure(fn, item) for item in structure]
    if isinstance(structure, tuple):
        items = [map_structure(fn, item) for item in structure]
        return type(structure)(*items) if hasattr(structure, "_fields") else tuple(items)
    if isinstance(structure, dict):
        return {key: map_structure(fn, structure[key]) for key in structure}
    return fn(structure)


# ------------------------------------------------------------------------------- recording
class _Recorder:
    def __init__(self, graph: Graph, input_tensors: list[Tensor]) -> None:
        self.graph = graph
        self.refs: dict[int, tuple] = {}
        self.keep: list = []  # keeps every seen tensor alive so ids stay unique
        self.captured_data: list = []
        self.backward_seen = False
        self.names: dict[str, int] = {}
        self.rng = _rng_state()
        self.random_constant = False  # a constant made after a random draw (gk.random.normal in the function)
        for k, t in enumerate(input_tensors):
            self.refs.setdefault(id(t), ("input", k))
            self.keep.append(t)

    def ref(self, t: Any) -> tuple:
        r = self.refs.get(id(t))
        if r is not None:
            return r
        self.keep.append(t)
        if isinstance(t, Variable):
            r = ("capture", len(self.graph.captures))
            self.graph.captures.append(t)
            self.captured_data.append(t.data)
        else:
            data = t.data
            r = ("const", len(self.graph.constants))
            self.graph.constants.append(data.copy())
        self.refs[id(t)] = r
        return r

    def __call__(self, prim, inputs, outputs, attrs, start, end, phase) -> None:
        if phase != "forward":
            self.backward_seen = True
            return
        rng = _rng_state()
        drew, self.rng = rng != self.rng, rng
        n_constants = len(self.graph.constants)
        refs = [self.ref(t) for t in inputs]
        if drew and len(self.graph.constants) > n_constants:
            self.random_constant = True
        outs = outputs if prim.multi_output else (outputs,)
        index = len(self.graph.nodes)
        for j, o in enumerate(outs):
            self.refs[id(o)] = ("node", index, j)
            self.keep.append(o)
        count = self.names.get(prim.name, 0)
        self.names[prim.name] = count + 1
        name = prim.name if count == 0 else f"{prim.name}_{count}"
        self.graph.nodes.append(GraphNode(name, prim, refs, dict(attrs),
                                          [TensorSpec.from_array(o.data) for o in outs]))


def _rng_state() -> Any:
    """The backend's random-state token (see ``Ops.random_state_token``): it changes with every
    draw from the backend's shared generator."""
    from ..backend import state
    return state.ops.random_state_token()


def trace(fn, args: Any, kwargs: dict, input_tensors: list[Tensor]) -> tuple[Graph, Any]:
    """Run ``fn(*args, **kwargs)`` recording a :class:`Graph`; returns it and the eager result."""
    graph = Graph()
    graph.inputs = [TensorSpec.from_array(t.data) for t in input_tensors]
    recorder = _Recorder(graph, input_tensors)
    tracked = [(t, t._tracked) for t in input_tensors]
    key = object()  # a private tape: every op records, so derived tensors stay tracked
    for t, _ in tracked:
        t._tracked = True
    THREAD.tapes = THREAD.tapes + (key,)
    try:
        with autograd.observe(recorder):
            result = fn(*args, **kwargs)
    finally:
        THREAD.tapes = tuple(k for k in THREAD.tapes if k is not key)
        for t, was in tracked:
            t._tracked = was
    if recorder.backward_seen:
        raise NotImplementedError(
            "gk.function cannot trace a gradient computed inside the function (GradientTape.gradient "
            "runs outside the primitive graph); compute gradients outside the gk.function, around a call "
            "of it (gradients flow through traced functions).")
    if recorder.random_constant:
        import warnings
        warnings.warn("gk.function: random numbers were drawn while tracing outside any primitive (e.g. "
                      "gk.random.normal); they are frozen into the graph as constants and repeat on every "
                      "call. Pass them in as arguments instead.", stacklevel=4)
    for var, data in zip(graph.captures, recorder.captured_data):
        if var.data is not data:
            import warnings
            warnings.warn(f"gk.function: variable '{var.name}' was assigned while tracing; assignments are "
                          "Python side effects and run only while tracing, not on later calls.", stacklevel=4)

    def out_ref(leaf: Any) -> tuple:
        if isinstance(leaf, Tensor):
            return ("ref", recorder.ref(leaf))
        return ("py", leaf)

    graph.structured_outputs = map_structure(out_ref, result)
    graph.outputs = [TensorSpec.from_array(leaf.data) for leaf in flatten(result) if isinstance(leaf, Tensor)]
    return graph, result


# ------------------------------------------------------------------------------- running
# Primitives whose attrs hold random draws (a dropout mask): ``factory(node) -> refresh`` where
# ``refresh(inputs) -> attrs`` draws them again on every run (None: nothing to redraw).
ATTR_REFRESH: dict[str, Callable] = {}


def _dropout_refresh(node: GraphNode):
    keep = node.attrs.get("keep")
    if keep is None or not hasattr(keep, "shape"):
        return None
    scale = float(keep.max()) if keep.size else 0.0
    if scale == 0.0:  # rate 1 (or nothing kept): the mask is all zeros whatever is drawn
        return None
    rate = 1.0 - 1.0 / scale
    traced_shape = tuple(node.outputs[0].shape)
    mask_shape = tuple(keep.shape)
    dtype = keep.dtype
    draw_dtype = "float64" if dtype == numpy.float64 else "float32"
    factor = dtype.type(scale)

    def refresh(inputs: list) -> dict:
        from ..backend import state
        ops = state.ops
        shape = tuple(n if m == t and t != 1 else m
                      for n, m, t in zip(inputs[0].shape, mask_shape, traced_shape)) \
            if len(inputs[0].shape) == len(mask_shape) else mask_shape
        uniform = ops.generator().random(shape, dtype=draw_dtype)
        return dict(node.attrs, keep=(uniform >= rate).astype(dtype) * factor)
    return refresh


ATTR_REFRESH["dropout"] = _dropout_refresh


class _Plan:
    """A graph compiled for running: every tensor is a slot in one list (inputs, captures,
    constants, then node outputs in order)."""

    __slots__ = ("steps", "single_output", "outputs")

    def __init__(self, graph: Graph) -> None:
        n_in, n_cap, n_const = len(graph.inputs), len(graph.captures), len(graph.constants)
        offsets = []
        next_slot = n_in + n_cap + n_const

        def slot(r: tuple) -> int:
            kind = r[0]
            if kind == "node":
                return offsets[r[1]] + r[2]
            if kind == "input":
                return r[1]
            if kind == "capture":
                return n_in + r[1]
            return n_in + n_cap + r[1]

        self.steps = []
        for node in graph.nodes:
            prim = node.prim
            factory = ATTR_REFRESH.get(prim.key)
            # A ``save`` attr (the RNN primitives) says whether forward keeps what backward needs;
            # it depends on the tapes recording at call time, so each run decides it again.
            self.steps.append((prim, "save" in node.attrs, tuple(slot(r) for r in node.inputs), node.attrs,
                               prim.multi_output, factory(node) if factory is not None else None))
            offsets.append(next_slot)
            next_slot += len(node.outputs)
        structure = graph.structured_outputs
        self.single_output = None
        if isinstance(structure, tuple) and len(structure) == 2 and structure[0] == "ref" \
                and isinstance(structure[1], tuple):
            self.single_output = slot(structure[1])
        self.outputs = _map_leaves(lambda leaf: ("slot", slot(leaf[1])) if leaf[0] == "ref" else leaf, structure)


def run(graph: Graph, input_tensors: list[Tensor], const_tensors: list[Tensor] | None = None) -> Any:
    """Run a recorded graph on tensors (primitives applied again: tapes record as usual)."""
    plan = graph.__dict__.get("_plan")
    if plan is None:
        plan = graph._plan = _Plan(graph)
    if const_tensors is None:
        const_tensors = [wrap(c, None, 0) for c in graph.constants]
    slots = [*input_tensors, *graph.captures, *const_tensors]
    tapes = bool(THREAD.tapes)
    for prim, saves_for_backward, refs, attrs, multi, refresh in plan.steps:
        inputs = [slots[i] for i in refs]
        if refresh is not None:
            attrs = refresh(inputs)
        if saves_for_backward:
            attrs = dict(attrs, save=tapes and any(t._tracked for t in inputs))
        out = prim.apply(*inputs, **attrs)
        if multi:
            slots.extend(out)
        else:
            slots.append(out)
    if plan.single_output is not None:
        return slots[plan.single_output]
    return _map_leaves(lambda leaf: slots[leaf[1]] if leaf[0] == "slot" else leaf[1], plan.outputs)


def _map_leaves(fn, structure: Any) -> Any:
    """Like map_structure, but the leaves are ("ref", r) / ("py", v) pairs (tuples themselves)."""
    if isinstance(structure, tuple) and len(structure) == 2 and structure[0] in ("ref", "py", "slot") \
            and not hasattr(structure, "_fields"):
        return fn(structure)
    if isinstance(structure, list):
        return [_map_leaves(fn, item) for item in structure]
    if isinstance(structure, tuple):
        items = [_map_leaves(fn, item) for item in structure]
        return type(structure)(*items) if hasattr(structure, "_fields") else tuple(items)
    if isinstance(structure, dict):
        return {key: _map_leaves(fn, structure[key]) for key in structure}
    return structure


def iter_refs(graph: Graph) -> Iterator[tuple]:
    for node in graph.nodes:
        yield from node.inputs
