"""``Span``: one timed interval of a trace, with the fields of ``graphkit-spans.jsonl`` (docs/board.md)."""
from __future__ import annotations

from typing import Any

FIELDS = ("name", "kind", "layer", "op", "phase", "step", "start_ns", "end_ns", "thread", "thread_name",
          "inputs", "outputs", "dtype", "backend", "device", "bytes", "flops", "id", "parent", "flow")


class Span:
    """A timed interval: a layer call, a primitive call, an optimizer update or a piece of a
    training step (see docs/board.md, "Tracing", for what each ``kind`` and ``phase`` holds).

    ``parent`` is the ``id`` of the enclosing span (None at the top); ``flow`` is shared by a
    forward layer span and the backward span of that call. ``inputs``/``outputs`` are shapes.
    """

    __slots__ = ("name", "kind", "layer", "op", "phase", "step", "start_ns", "end_ns", "inputs", "outputs", "dtype",
                 "bytes", "flops", "id", "parent", "flow", "context", "parent_span", "layer_span")

    def __init__(self, id: int, name: str, kind: str, phase: str | None, start_ns: int, end_ns: int,
                 step: int | None = None, layer: str | None = None, op: str | None = None,
                 inputs: tuple = (), outputs: tuple = (), dtype: str | None = None, flops: int = 0,
                 bytes: int = 0, context: tuple = (0, "", "numpy", "cpu")) -> None:
        self.id = id
        self.name = name
        self.kind = kind
        self.phase = phase
        self.start_ns = start_ns
        self.end_ns = end_ns
        self.step = step
        self.layer = layer
        self.op = op
        self.inputs = inputs
        self.outputs = outputs
        self.dtype = dtype
        self.flops = flops
        self.bytes = bytes
        self.context = context                   # (thread, thread_name, backend, device): one per trace
        self.parent: int | None = None
        self.flow: int | None = None
        self.parent_span: Span | None = None     # the enclosing Span object (assembly only)
        self.layer_span: Span | None = None      # the innermost layer span at or above this one
        #                                          (a backward span: the forward call it belongs to)

    @property
    def thread(self) -> int:
        """The recording thread's native id."""
        return self.context[0]

    @property
    def thread_name(self) -> str:
        return self.context[1]

    @property
    def backend(self) -> str:
        """``"numpy"`` or ``"cupy"``."""
        return self.context[2]

    @property
    def device(self) -> str:
        """``"cpu"`` or ``"gpu:<id>"``."""
        return self.context[3]

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns

    def as_dict(self) -> dict[str, Any]:
        """The span as one JSON object of ``graphkit-spans.jsonl``."""
        out = {name: getattr(self, name) for name in FIELDS}
        out["inputs"] = [list(shape) for shape in self.inputs]
        out["outputs"] = [list(shape) for shape in self.outputs]
        return out

    def __repr__(self) -> str:
        where = f" layer={self.layer}" if self.layer and self.layer != self.name else ""
        return (f"<Span {self.id} {self.kind} {self.name!r} {self.phase}{where} step={self.step} "
                f"{self.duration_ns / 1e3:.1f}µs>")
