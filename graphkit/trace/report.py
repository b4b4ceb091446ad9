"""The text of ``Trace.summary()``: the slowest layers of a trace."""
from __future__ import annotations

from typing import Sequence

from .spans import Span


def layer_table(spans: Sequence[Span], top: int = 10, level: str = "layer") -> str:
    """A table of the ``top`` layers by total time (forward + backward), leaf layers only (a
    model's span holds its layers' time), with calls, forward, backward, total and mean (per
    forward call) in milliseconds and the share of the traced time: the training steps' time
    when steps were traced, else the time from the first span's start to the last one's end."""
    containers = {span.parent for span in spans if span.kind == "layer"}
    rows: dict[str, list] = {}
    for span in spans:
        if span.kind != "layer" or span.id in containers:
            continue
        row = rows.setdefault(span.layer, [0, 0, 0])
        if span.phase == "forward":
            row[0] += 1
            row[1] += span.duration_ns
        else:
            row[2] += span.duration_ns
    steps = [span for span in spans if span.kind == "step" and span.name == "train_step"]
    if steps:
        traced = sum(span.duration_ns for span in steps)
    elif spans:
        traced = max(span.end_ns for span in spans) - min(span.start_ns for span in spans)
    else:
        traced = 0
    backend = f"{spans[0].backend}/{spans[0].device}" if spans else "-"
    lines = [f"Trace: {len(spans)} spans, {len(steps)} training steps, level={level}, {backend}, "
             f"traced time {traced / 1e6:.3f} ms"]
    if not rows:
        lines.append("(no layer calls traced)")
        return "\n".join(lines)
    ranked = sorted(rows.items(), key=lambda item: item[1][1] + item[1][2], reverse=True)[:max(0, top)]
    width = max(12, *(len(name) for name, _ in ranked))
    lines.append(f"{'Layer':<{width}}  {'Calls':>6}  {'Forward ms':>10}  {'Backward ms':>11}  {'Total ms':>9}  "
                 f"{'Mean ms':>8}  {'Share':>6}")
    for name, (calls, forward, backward) in ranked:
        total = forward + backward
        share = f"{100.0 * total / traced:5.1f}%" if traced else "     -"
        lines.append(f"{name:<{width}}  {calls:>6}  {forward / 1e6:>10.3f}  {backward / 1e6:>11.3f}  "
                     f"{total / 1e6:>9.3f}  {total / max(1, calls) / 1e6:>8.3f}  {share:>6}")
    return "\n".join(lines)
