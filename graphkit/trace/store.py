"""``graphkit-spans.jsonl``: the append-only spans file of a run (one JSON object per line)."""
from __future__ import annotations

import json
import os
from typing import Iterable

from .spans import Span

SPANS_FILE = "graphkit-spans.jsonl"


def append_spans(logdir: str | os.PathLike, spans: Iterable[Span]) -> str:
    """Append ``spans`` to ``<logdir>/graphkit-spans.jsonl`` (created with its folder if needed)
    in one unbuffered write of whole lines, so a reader following the file never sees a line
    that will change; returns the file's path."""
    os.makedirs(logdir, exist_ok=True)
    path = os.path.join(logdir, SPANS_FILE)
    data = "".join(json.dumps(span.as_dict(), separators=(",", ":")) + "\n" for span in spans).encode("utf-8")
    if data:
        with open(path, "ab", buffering=0) as file:
            view = memoryview(data)
            while view:
                view = view[file.write(view):]
    return path


def read_spans(path: str | os.PathLike) -> list[dict]:
    """The spans in a ``graphkit-spans.jsonl`` file (a last line still being written is skipped)."""
    with open(path, "rb") as file:
        lines = file.read().split(b"\n")
    return [json.loads(line) for line in lines[:-1] if line.strip()]
