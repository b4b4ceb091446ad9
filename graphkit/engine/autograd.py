"""Primitives, the tape they record onto, and reverse-mode differentiation.

A :class:`Primitive` pairs a forward function on backend arrays with a backward function
on gradients. :meth:`Primitive.apply` runs the forward and, only when a tape is recording
and an input is being tracked, records a :class:`Node` that keeps exactly what the
backward needs. Subscribers of the ``primitive`` event (:mod:`graphkit.events`) are told about
every forward and backward call; with none subscribed the cost is one attribute check.

The tapes recording right now are per thread (``global_state.THREAD.tapes``): a model trained in
a background thread and one run in the notebook's main thread never record onto each other's tapes.
"""
from __future__ import annotations

import contextlib
import inspect
import threading
import time
import weakref
from typing import Any, Callable, Iterator, Sequence

from .. import events
from ..global_state import PROCESS, SUBSCRIBERS, THREAD
from .tensor import Tensor, wrap

_clock = time.perf_counter_ns

Forward = Callable[..., tuple]
Backward = Callable[..., tuple]


class Node:
    """One recorded primitive call: what backward needs, and where its inputs came from."""

    __slots__ = ("prim", "saved", "inputs", "tapes", "n_outputs")

    def __init__(self, prim: "Primitive", saved: Any, inputs: tuple, tapes: tuple, n_outputs: int):
        self.prim = prim
        self.saved = saved
        self.inputs = inputs
        self.tapes = tapes
        self.n_outputs = n_outputs


# Every Primitive by its registry ``key`` (its name unless a distinct key is given), so saved graphs
# (gk.saved_model) can name their ops. A second primitive asking for a taken key is registered as
# ``<key>#<n>`` and listed in NAME_COLLISIONS; give it an explicit ``key=`` to make it stable.
PRIMITIVES: "weakref.WeakValueDictionary[str, Primitive]" = weakref.WeakValueDictionary()
NAME_COLLISIONS: list = []


def _has_parameter(fn: Callable, name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):  # a callable without an inspectable signature
        return False


def _register(prim: "Primitive", key: str) -> str:
    if key in PRIMITIVES:
        n = 2
        while f"{key}#{n}" in PRIMITIVES:
            n += 1
        NAME_COLLISIONS.append((key, f"{key}#{n}"))
        key = f"{key}#{n}"
    PRIMITIVES[key] = prim
    return key


class Primitive:
    """A differentiable array operation.

    ``forward(ops, *arrays, **attrs) -> (output, saved)`` computes the output (a tuple of
    arrays for multi-output primitives) and whatever backward will need.
    ``backward(ops, saved, grad) -> tuple`` returns one gradient (or None) per input.
    A backward that declares a ``needs_input_grad`` parameter is also passed, as that keyword,
    one bool per input (tinygrad's protocol): False for an input no tape tracks (data, constants),
    whose gradient would be dropped. It returns None for those and may skip their work (a dense
    fed a batch of data skips its input GEMM); backwards without the parameter are called as before.
    With ``multi_output=True`` forward returns a tuple of arrays and ``grad`` is a list holding
    None for outputs that got no gradient.
    ``backward=None`` marks a primitive that is not differentiable (comparisons, argmax).
    ``key`` (default: ``name``) is its unique name in the registry ``PRIMITIVES``.
    """

    __slots__ = ("name", "forward", "backward", "multi_output", "key", "takes_needs_input_grad", "__weakref__")

    def __init__(self, name: str, forward: Forward, backward: Backward | None, multi_output: bool = False,
                 key: str | None = None):
        self.name = name
        self.forward = forward
        self.backward = backward
        self.multi_output = multi_output
        self.takes_needs_input_grad = backward is not None and _has_parameter(backward, "needs_input_grad")
        self.key = _register(self, key or name)

    def __repr__(self) -> str:
        return f"<Primitive {self.name}>"

    def apply(self, *inputs: Tensor, **attrs: Any):
        """Run on tensors, recording onto the active tapes when any input is tracked."""
        ops = PROCESS.ops
        observers = SUBSCRIBERS.primitive
        if observers:
            start = _clock()
        if len(inputs) == 2:  # the common case, without building a list
            out, saved = self.forward(ops, inputs[0].data, inputs[1].data, **attrs)
        else:
            out, saved = self.forward(ops, *[t.data for t in inputs], **attrs)
        node = None
        tapes = THREAD.tapes
        if tapes and self.backward is not None:
            for t in inputs:
                if t._tracked:
                    node = Node(self, saved, inputs, tapes, len(out) if self.multi_output else 1)
                    break
        if self.multi_output:
            result = tuple(wrap(o, node, i) for i, o in enumerate(out))
        else:
            result = wrap(out, node, 0)
        if observers:
            end = _clock()
            for observe in observers:
                observe(self, inputs, result, attrs, start, end, "forward")
        return result


def primitive(name: str, forward: Forward, backward: Backward | None = None,
              multi_output: bool = False, key: str | None = None) -> Primitive:
    """Create a primitive; layers use this to register fused ops with a hand-written backward."""
    return Primitive(name, forward, backward, multi_output, key)


# --------------------------------------------------------------------------- tape

@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Run a block without recording onto any tape (inference)."""
    saved = THREAD.tapes
    THREAD.tapes = ()
    try:
        yield
    finally:
        THREAD.tapes = saved


@contextlib.contextmanager
def observe(callback: Callable) -> Iterator[None]:
    """Call ``callback(prim, inputs, outputs, attrs, start_ns, end_ns, phase)`` on every primitive
    run by this thread inside the block (forward and backward; the ``primitive`` event of
    :mod:`graphkit.events`, whose subscribers see every thread's calls)."""
    thread = threading.get_ident()

    def in_this_thread(*event: Any) -> None:
        if threading.get_ident() == thread:
            callback(*event)

    with events.subscribed("primitive", in_this_thread):
        yield


def _flatten(structure) -> list:
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in _flatten(item)]
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in _flatten(structure[key])]
    return [structure]


def _unflatten(structure, leaves: Iterator):
    if isinstance(structure, (list, tuple)):
        items = [_unflatten(item, leaves) for item in structure]
        if isinstance(structure, list):
            return items
        return type(structure)(*items) if hasattr(structure, "_fields") else tuple(items)
    if isinstance(structure, dict):
        return {key: _unflatten(structure[key], leaves) for key in sorted(structure)}
    return next(leaves)


class GradientTape:
    """Records primitives run in its block so :meth:`gradient` can differentiate them.

    Trainable :class:`Variable` objects are watched automatically (unless
    ``watch_accessed_variables=False``); other tensors must be passed to :meth:`watch`.
    A non-persistent tape can compute gradients once.

    Nodes remember the tape's ``_key`` (a plain token, so recorded graphs do not keep the tape
    alive); :meth:`reset` swaps the key, which disowns everything recorded before it.
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True):
        self.persistent = persistent
        self.watch_accessed_variables = watch_accessed_variables
        self._watched: dict[int, Tensor] = {}
        self._recording = False
        self._used = False
        self._key = object()

    def __enter__(self) -> "GradientTape":
        if self._recording:
            raise RuntimeError("This GradientTape is already recording; tapes cannot be nested into themselves.")
        self._recording = True
        THREAD.tapes = THREAD.tapes + (self._key,)
        return self

    def __exit__(self, *exc) -> None:
        self._recording = False
        THREAD.tapes = tuple(k for k in THREAD.tapes if k is not self._key)

    def watch(self, tensor) -> None:
        """Track ``tensor`` (or every tensor in a list/tuple/dict) so gradients can flow to it.

        The tensor stays marked as tracked afterwards (later tapes record ops on it), but only
        tapes that watch it, or auto-watch it as a trainable variable, report a gradient for it.
        """
        for t in _flatten(tensor):
            if not isinstance(t, Tensor):
                raise TypeError(f"GradientTape.watch expects tensors, got {type(t).__name__}.")
            t._tracked = True
            self._watched[id(t)] = t

    def watched_variables(self) -> tuple:
        from .variable import Variable
        return tuple(t for t in self._watched.values() if isinstance(t, Variable))

    @contextlib.contextmanager
    def stop_recording(self) -> Iterator[None]:
        """Temporarily pause this tape."""
        THREAD.tapes = tuple(k for k in THREAD.tapes if k is not self._key)
        try:
            yield
        finally:
            if self._recording and self._key not in THREAD.tapes:
                THREAD.tapes = THREAD.tapes + (self._key,)

    def reset(self) -> None:
        """Forget everything recorded and watched so far, as if the block were re-entered."""
        self._watched.clear()
        self._used = False
        old, self._key = self._key, object()
        THREAD.tapes = tuple(self._key if k is old else k for k in THREAD.tapes)

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients: str = "none"):
        """Gradient of ``target`` (summed over its elements and leaves) with respect to ``sources``.

        ``sources`` may be one tensor or a nested list/tuple/dict; the result has the same
        structure, with None (or zeros, ``unconnected_gradients="zero"``) where a source does
        not influence the target.
        """
        if self._used and not self.persistent:
            raise RuntimeError("A non-persistent GradientTape can only compute one gradient; "
                               "use GradientTape(persistent=True) to call gradient() several times.")
        if unconnected_gradients not in ("none", "zero"):
            raise ValueError(f"unconnected_gradients must be 'none' or 'zero', got {unconnected_gradients!r}.")
        targets = _flatten(target)
        source_list = _flatten(sources)
        for s in source_list:
            if not isinstance(s, Tensor):
                raise TypeError(f"GradientTape.gradient sources must be tensors or variables, got {type(s).__name__}.")
        if output_gradients is None:
            seeds = [None] * len(targets)
        elif isinstance(target, Tensor):  # one target: its seed may be a nested list of numbers
            single = isinstance(output_gradients, (list, tuple)) and len(output_gradients) == 1 \
                and hasattr(output_gradients[0], "shape")
            seeds = [output_gradients[0] if single else output_gradients]
        else:
            seeds = _flatten(output_gradients)
        if len(seeds) != len(targets):
            raise ValueError(f"output_gradients has {len(seeds)} entries for {len(targets)} targets.")
        self._used = True
        recording, THREAD.tapes = THREAD.tapes, ()  # backward itself is never recorded
        try:
            grads = self._backward(targets, seeds, source_list)
        finally:
            THREAD.tapes = recording
        ops = PROCESS.ops
        results = []
        for s, g in zip(source_list, grads):
            if g is None and unconnected_gradients == "zero":
                g = ops.xp.zeros(s.shape, dtype=s.data.dtype)
            results.append(None if g is None else wrap(g, None, 0))
        if not isinstance(sources, (list, tuple, dict)):
            return results[0]
        return _unflatten(sources, iter(results))

    # -------------------------------------------------------------- internals
    def _owns(self, node: Node | None) -> bool:
        return node is not None and self._key in node.tapes

    def _watches(self, tensor: Tensor) -> bool:
        """Whether a leaf (a tensor not produced on this tape) is watched by this tape."""
        return id(tensor) in self._watched or (
            self.watch_accessed_variables and getattr(tensor, "_trainable", False))

    def _backward(self, targets: Sequence[Tensor], seeds: Sequence, sources: Sequence[Tensor]) -> list:
        ops = PROCESS.ops
        key = self._key
        node_grads: dict[int, list] = {}
        leaf_grads: dict[int, Any] = {}
        wanted_leaves = {id(s) for s in sources if not self._owns(s._node) and self._watches(s)}
        wanted_slots = {(id(s._node), s._index) for s in sources if self._owns(s._node)}
        captured: dict[tuple, Any] = {}

        def accumulate(tensor: Tensor, grad) -> None:
            node = tensor._node
            if node is not None and key in node.tapes:
                slots = node_grads.get(id(node))
                if slots is None:
                    slots = node_grads[id(node)] = [None] * node.n_outputs
                prev = slots[tensor._index]
                slots[tensor._index] = grad if prev is None else prev + grad
            elif id(tensor) in wanted_leaves:
                prev = leaf_grads.get(id(tensor))
                leaf_grads[id(tensor)] = grad if prev is None else prev + grad

        for t, seed in zip(targets, seeds):
            if not isinstance(t, Tensor):
                raise TypeError(f"GradientTape.gradient target must be a tensor, got {type(t).__name__}.")
            if seed is None:
                g = ops.xp.ones(t.shape, dtype=t.data.dtype)
            else:
                g = ops.asarray(seed.data if isinstance(seed, Tensor) else seed, dtype=t.data.dtype)
                if g.shape != t.shape:
                    raise ValueError(f"output_gradients entry of shape {g.shape} does not match "
                                     f"its target of shape {t.shape}.")
            accumulate(t, g)

        observers = SUBSCRIBERS.primitive
        # A non-persistent tape frees what each node saved once used (only nodes no other tape
        # recorded), so a kept loss tensor does not keep the step's activations alive.
        release = None if self.persistent else (key,)
        for node in self._topological_order(targets):
            slots = node_grads.pop(id(node), None)
            if slots is None:
                continue
            if wanted_slots:
                for index, g in enumerate(slots):
                    if g is not None and (id(node), index) in wanted_slots:
                        captured[(id(node), index)] = g
            prim = node.prim
            grad_in = slots if prim.multi_output else slots[0]
            if observers:
                start = _clock()
            if prim.takes_needs_input_grad:  # an untracked input's gradient would be dropped
                input_grads = prim.backward(ops, node.saved, grad_in,
                                            needs_input_grad=tuple([t._tracked for t in node.inputs]))
            else:
                input_grads = prim.backward(ops, node.saved, grad_in)
            if observers:
                end = _clock()
                for observe_fn in observers:
                    observe_fn(prim, node.inputs, None, {}, start, end, "backward")
            for tensor, g in zip(node.inputs, input_grads):
                if g is not None:
                    dtype = tensor.data.dtype
                    if dtype.kind in "fc":  # integer and bool inputs get no gradient
                        if g.dtype != dtype:
                            g = g.astype(dtype)
                        accumulate(tensor, g)
            if node.tapes == release:
                node.saved = None
                node.inputs = ()

        out = []
        for s in sources:
            if self._owns(s._node):
                out.append(captured.get((id(s._node), s._index)))
            else:
                out.append(leaf_grads.get(id(s)))
        return out

    def _topological_order(self, targets: Sequence[Tensor]) -> list[Node]:
        """Nodes reachable from the targets, each after every node that consumes its outputs."""
        order: list[Node] = []
        visited: set[int] = set()
        key = self._key
        for t in targets:
            root = t._node
            if not self._owns(root) or id(root) in visited:
                continue
            visited.add(id(root))
            stack = [(root, iter(root.inputs))]
            while stack:
                node, children = stack[-1]
                for child in children:
                    parent = child._node
                    if parent is not None and id(parent) not in visited and key in parent.tapes:
                        visited.add(id(parent))
                        stack.append((parent, iter(parent.inputs)))
                        break
                else:
                    stack.pop()
                    order.append(node)
        order.reverse()
        return order

