"""``model.summary()``: Keras 3's table, character for character, plus an HTML version for notebooks.

Keras 3 draws the summary with ``rich`` (a ``rich.table.Table`` with the HEAVY_HEAD box and
``show_lines=True``); this module reproduces that layout without the dependency:

* columns ``Layer (type)``, ``Output Shape``, ``Param #`` (right-aligned), ``Connected to`` for
  graphs that are not "sequential-like", ``Trainable`` (centred) with ``show_trainable``;
* default width 88 (108 with ``Connected to``, +12 with ``Trainable``), capped at the terminal
  width minus 4 (``shutil.get_terminal_size``: 80 columns where there is no terminal, as in
  Jupyter, giving 76), relative column ``positions`` [0.45, 0.80, 1.0] / [0.3, 0.56, 0.74, 1.0];
* rich's width arithmetic: each column gets ``int(pos * line_length)`` minus the previous one,
  plus one space of padding on each side; the excess over ``line_length`` (borders included)
  is taken from the columns evenly, in rich's rounding order (``ratio_reduce``);
* cells wrap at spaces; a word longer than its cell is cut with ``…``; header cells sit at the
  bottom of the header row, body cells at the top;
* totals `` Total params: 55,050 (215.04 KB)`` (weights' bytes by dtype, 1024-based units).

Differences from Keras, on purpose: no colours or bold (plain text always), and a
``line_length`` wider than the terminal is honoured rather than cropped at the console width.
Positions above 1 are read as absolute character positions (Keras 2's rule).
"""
from __future__ import annotations

import html
import math
import re
import shutil
import unicodedata
from typing import Any, Callable, Sequence

from ..graph.node import flatten_structure
from ..graph.symbolic import SymbolicTensor

__all__ = ["print_summary", "format_summary", "summary_html", "ordered_layers", "layer_output_shape"]

# HEAVY_HEAD box: heavy top and header, light body.
_TOP = ("┏", "━", "┳", "┓")
_HEAD = ("┃", "┃", "┃")
_HEAD_SEP = ("┡", "━", "╇", "┩")
_BODY = ("│", "│", "│")
_ROW_SEP = ("├", "─", "┼", "┤")
_BOTTOM = ("└", "─", "┴", "┘")


# ----------------------------------------------------------------------------- text cells
def _cell_len(text: str) -> int:
    """Terminal cells taken by ``text`` (East Asian wide characters take two)."""
    if text.isascii():
        return len(text)
    total = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total


def _crop_cells(text: str, width: int) -> str:
    """``text`` cut (or padded) to exactly ``width`` cells."""
    if text.isascii():
        return text[:width].ljust(width)
    out, used = [], 0
    for char in text:
        size = _cell_len(char)
        if used + size > width:
            break
        out.append(char)
        used += size
    return "".join(out) + " " * (width - used)


_WORD = re.compile(r"\s*\S+\s*")
_TRAILING_SPACE = re.compile(r"\s+$")


def _break_offsets(text: str, width: int) -> list[int]:
    """Where rich's word wrap (no folding) starts new lines in ``text``."""
    breaks: list[int] = []
    offset = 0
    for match in _WORD.finditer(text):
        start, word = match.start(), match.group(0)
        length = _cell_len(word.rstrip())
        if width - offset >= length:
            offset += _cell_len(word)
        elif length > width:  # too long for any line: it starts a line and gets cut
            if start:
                breaks.append(start)
            offset = _cell_len(word)
        elif offset and start:
            breaks.append(start)
            offset = _cell_len(word)
    return breaks


def _truncate(text: str, width: int) -> str:
    if _cell_len(text) > width:
        return (_crop_cells(text, width - 1) if width > 1 else "") + "…" if width > 0 else ""
    return text


def _wrap(text: str, width: int, justify: str) -> list[str]:
    """``text`` as lines of exactly ``width`` cells, wrapped and justified as a rich table cell."""
    if width <= 0:
        return [""]
    cuts = [0, *_break_offsets(text, width), len(text)]
    lines = []
    for start, stop in zip(cuts, cuts[1:]):
        line = text[start:stop]
        if len(line) > width:  # drop trailing spaces beyond the width
            trailing = _TRAILING_SPACE.search(line)
            if trailing:
                line = line[:len(line) - min(len(trailing.group(0)), len(line) - width)]
        if justify == "left":
            line = _truncate(line, width)
            line += " " * (width - _cell_len(line))
        else:
            line = _truncate(line.rstrip(), width)
            space = width - _cell_len(line)
            left = space if justify == "right" else space // 2
            line = " " * left + line + " " * (space - left)
        lines.append(line)
    return lines or [" " * width]


def _ratio_reduce(total: int, maximums: list[int], values: list[int]) -> list[int]:
    """rich's ``ratio_reduce`` with equal ratios: take ``total`` off ``values``, in turn."""
    ratios = [1 if m else 0 for m in maximums]
    total_ratio = sum(ratios)
    if not total_ratio:
        return list(values)
    remaining = total
    out = []
    for ratio, maximum, value in zip(ratios, maximums, values):
        if ratio and total_ratio > 0:
            taken = min(maximum, round(ratio * remaining / total_ratio))
            out.append(value - taken)
            remaining -= taken
            total_ratio -= ratio
        else:
            out.append(value)
    return out


def _ratio_distribute(total: int, ratios: list[int]) -> list[int]:
    """rich's ``ratio_distribute``: share ``total`` in proportion to ``ratios``, rounding up in turn."""
    total_ratio = sum(ratios)
    remaining = total
    out = []
    for ratio in ratios:
        share = math.ceil(ratio * remaining / total_ratio) if total_ratio > 0 else remaining
        out.append(share)
        total_ratio -= ratio
        remaining -= share
    return out


def render_table(headers: Sequence[str], justify: Sequence[str], column_widths: Sequence[int],
                 rows: Sequence[Sequence[str]], line_length: int) -> list[str]:
    """The lines of a rich HEAVY_HEAD table with ``show_lines`` of total width ``line_length``.

    ``column_widths`` are the content widths asked for; as in rich, one space of padding on each
    side and the borders come on top, and the excess is taken back from the columns evenly.
    """
    count = len(headers)
    max_width = line_length - (count + 1)
    widths = [(min(w + 2, max_width) if max_width >= 1 else 0) or 1 for w in column_widths]
    if sum(widths) > max_width:
        widths = _ratio_reduce(sum(widths) - max_width, widths, widths)
        widths = [w if w >= 1 else 0 for w in widths]
    elif sum(widths) < max_width and any(widths):  # a table with a width expands to it
        widths = [w + extra for w, extra in zip(widths, _ratio_distribute(max_width - sum(widths), widths))]

    def edge(parts: tuple) -> str:
        left, fill, cross, right = parts
        return left + cross.join(fill * w for w in widths) + right

    def row_lines(cells: Sequence[str], walls: tuple, header: bool) -> list[str]:
        wrapped = [_wrap(cell, w - 2, how) for cell, w, how in zip(cells, widths, justify)]
        height = max(len(c) for c in wrapped)
        blank = [" " * (w - 2) for w in widths]
        if header:  # rich aligns header cells at the bottom
            wrapped = [[b] * (height - len(c)) + c for c, b in zip(wrapped, blank)]
        else:
            wrapped = [c + [b] * (height - len(c)) for c, b in zip(wrapped, blank)]
        left, middle, right = walls
        return [left + middle.join(" " + column[i] + " " for column in wrapped) + right
                for i in range(height)]

    lines = [edge(_TOP), *row_lines(headers, _HEAD, True), edge(_HEAD_SEP)]
    for index, row in enumerate(rows):
        if index:
            lines.append(edge(_ROW_SEP))
        lines.extend(row_lines(row, _BODY, False))
    lines.append(edge(_BOTTOM))
    return lines


# ------------------------------------------------------------------------- graph order
def ordered_layers(model) -> list:
    """The layers of ``model`` in Keras's order (depth order for Functional models)."""
    from .functional import Functional
    if isinstance(model, Functional):
        return list(model._topology.depth_order)
    return list(getattr(model, "layers", []))


# ------------------------------------------------------------------------------ fields
def _format_shape(shape: Sequence) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def layer_output_shape(layer) -> str:
    """Keras's Output Shape cell: the last node's outputs, else the built shape, else ``?``."""
    if layer._inbound_nodes:
        tensors = layer._inbound_nodes[-1].output_tensors
        shapes = [_format_shape(t.shape) for t in tensors]
    else:
        build_shape = getattr(layer, "_build_input_shape", None)
        if build_shape is None or not layer.built:
            return "?"
        try:
            from ..saving.serialization import shape_structure
            structure = shape_structure(build_shape)
            specs = _symbolic_like(structure)
            outputs = layer.compute_output_spec((specs,), {})
        except Exception:  # noqa: BLE001 - any failure means "unknown", as in Keras
            return "?"
        shapes = [_format_shape(t.shape) for t in flatten_structure(outputs) if hasattr(t, "shape")]
    if len(shapes) == 1:
        return shapes[0]
    return "[" + ", ".join(shapes) + "]"


def _symbolic_like(structure: Any) -> Any:
    if isinstance(structure, tuple) and all(d is None or isinstance(d, int) for d in structure):
        return SymbolicTensor(structure)
    if isinstance(structure, (list, tuple)):
        return type(structure)(_symbolic_like(s) for s in structure)
    if isinstance(structure, dict):
        return {k: _symbolic_like(v) for k, v in structure.items()}
    return structure


def _param_cell(layer) -> str:
    if not getattr(layer, "built", True):
        return "0 (unbuilt)"
    return f"{layer.count_params():,}"


def _trainable_cell(layer) -> str:
    if layer.weights:
        return "Y" if layer.trainable else "N"
    return "-"


def _memory_size(weights: Sequence) -> float:
    """Bytes of ``weights`` (each counted once), Keras's way: bits per dtype / 8."""
    unique = {id(w): w for w in weights}.values()
    bits = 0
    for w in unique:
        kind, size = w.dtype.kind, w.dtype.itemsize
        bits += math.prod(w.shape) * (1 if kind == "b" else size * 8)
    return bits / 8


def readable_memory_size(size: float) -> str:
    """``215.04 KB``: 1024-based units with two decimals, as Keras prints them."""
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def _is_sequential_like(model, nodes_by_depth: dict) -> bool:
    """Keras's rule: one node per depth with at most one input tensor, and no layer used twice."""
    nodes = []
    for depth_nodes in nodes_by_depth.values():
        if len(depth_nodes) > 1 or (len(depth_nodes) == 1 and len(depth_nodes[0].input_tensors) > 1):
            return False
        nodes += depth_nodes
    node_ids = {id(n) for n in nodes}
    for layer in model.layers:
        if sum(1 for node in layer._inbound_nodes if id(node) in node_ids) > 1:
            return False
    return True


class _Plan:
    """Everything a summary shows, computed once for the text and the HTML versions."""

    def __init__(self, model, expand_nested: bool, show_trainable: bool, layer_range=None) -> None:
        from .functional import Functional
        from .sequential import Sequential
        self.model = model
        self.relevant: frozenset[int] = frozenset()
        if isinstance(model, Functional) and not isinstance(model, Sequential):
            topology = model._topology
            layers = list(topology.depth_order)
            self.sequential_like = _is_sequential_like(model, topology.nodes_by_depth)
            if not self.sequential_like:
                self.relevant = topology.node_ids
        else:  # Sequential and subclassed models: a plain list of layers
            layers = list(model.layers)
            self.sequential_like = True
        self.show_trainable = show_trainable
        self.expand_nested = expand_nested
        self.headers = ["Layer (type)", "Output Shape", "Param #"]
        self.justify = ["left", "left", "right"]
        if not self.sequential_like:
            self.headers.append("Connected to")
            self.justify.append("left")
        if show_trainable:
            self.headers.append("Trainable")
            self.justify.append("center")
        low, high = _layer_index_bounds(layers, layer_range)
        self.rows: list[tuple[int, list[str]]] = []  # (nesting level, cells)
        for layer in layers[low:high]:
            self._add(layer, 0)
        trainable = list(model.trainable_weights)
        non_trainable = list(model.non_trainable_weights)
        self.trainable_count = sum(math.prod(w.shape) for w in trainable)
        self.non_trainable_count = sum(math.prod(w.shape) for w in non_trainable)
        self.trainable_size = _memory_size(trainable)
        self.non_trainable_size = _memory_size(non_trainable)

    def _connections(self, layer) -> str:
        parts = []
        for node in layer._inbound_nodes:
            if self.relevant and id(node) not in self.relevant:
                continue  # a call that belongs to another model
            for tensor in node.input_tensors:
                source, node_index, tensor_index = tensor._keras_history
                parts.append(f"{source.name}[{node_index}][{tensor_index}]")
        return ", ".join(parts) or "-"

    def _add(self, layer, level: int) -> None:
        prefix = "   " * level + "└ " if level else ""
        cells = [f"{prefix}{layer.name} ({type(layer).__name__})", layer_output_shape(layer), _param_cell(layer)]
        if not self.sequential_like:
            cells.append(self._connections(layer))
        if self.show_trainable:
            cells.append(_trainable_cell(layer))
        self.rows.append((level, cells))
        if self.expand_nested:
            inner = ordered_layers(layer) if hasattr(layer, "layers") else []
            for sublayer in inner:
                self._add(sublayer, level + 1)

    def totals(self) -> list[tuple[str, int, float]]:
        return [("Total params", self.trainable_count + self.non_trainable_count,
                 self.trainable_size + self.non_trainable_size),
                ("Trainable params", self.trainable_count, self.trainable_size),
                ("Non-trainable params", self.non_trainable_count, self.non_trainable_size)]


def _layer_index_bounds(layers: list, layer_range) -> tuple[int, int]:
    """Keras's ``layer_range``: two name regexes, both ends included."""
    if layer_range is None:
        return 0, len(layers)
    if len(layer_range) != 2 or not all(isinstance(n, str) for n in layer_range):
        raise ValueError(f"layer_range must be two layer names (or regexes); got {layer_range!r}.")
    lower = [i for i, layer in enumerate(layers) if re.match(layer_range[0], layer.name)]
    upper = [i for i, layer in enumerate(layers) if re.match(layer_range[1], layer.name)]
    if not lower or not upper:
        raise ValueError(f"layer_range {list(layer_range)} matches no layer names; layers: "
                         f"{[layer.name for layer in layers]}.")
    if min(lower) > max(upper):
        return min(upper), max(lower) + 1
    return min(lower), max(upper) + 1


def format_summary(model, line_length: int | None = None, positions: Sequence[float] | None = None,
                   expand_nested: bool = False, show_trainable: bool = False, layer_range=None) -> str:
    """The summary text (ending with a newline), exactly as ``print_summary`` prints it."""
    plan = _Plan(model, expand_nested, show_trainable, layer_range)
    if plan.sequential_like:
        default_length, default_positions = 88, [0.45, 0.80, 1.0]
    else:
        default_length, default_positions = 108, [0.3, 0.56, 0.74, 1.0]
    positions = list(positions or default_positions)
    if show_trainable:
        default_length += 12
        positions = [p * 0.90 for p in positions] + [1.0]
    default_length = min(default_length, shutil.get_terminal_size().columns - 4)
    line_length = line_length or default_length
    if len(positions) < len(plan.headers):
        raise ValueError(f"positions needs {len(plan.headers)} entries (one per column: {plan.headers}); "
                         f"got {len(positions)}.")
    widths, current = [], 0
    for position in positions:  # (Keras checks every position, and uses one per column)
        end = int(position * line_length) if position <= 1 else int(position)
        width = end - current
        if width < 4:
            raise ValueError("Insufficient console width to print summary.")
        widths.append(width)
        current += width
    widths = widths[:len(plan.headers)]
    lines = [f'Model: "{model.name}"']
    lines += render_table(plan.headers, plan.justify, widths, [cells for _, cells in plan.rows], line_length)
    lines += [f" {label}: {count:,} ({readable_memory_size(size)})" for label, count, size in plan.totals()]
    return "\n".join(lines) + "\n"


def print_summary(model, line_length: int | None = None, positions: Sequence[float] | None = None,
                  print_fn: Callable[[str], Any] | None = None, expand_nested: bool = False,
                  show_trainable: bool = False, layer_range=None) -> None:
    """Print Keras 3's summary table of ``model``.

    Like Keras 3, a given ``print_fn`` is called once with the whole summary (a string of
    lines, ending with a newline); without one the summary goes to stdout.
    """
    text = format_summary(model, line_length, positions, expand_nested, show_trainable, layer_range)
    if print_fn is None:
        print(text, end="")
    else:
        print_fn(text)


# ---------------------------------------------------------------------------------- HTML
_CSS = ("<style>.gk-summary table{border-collapse:collapse;font-family:monospace;font-size:12px}"
        ".gk-summary th,.gk-summary td{border:1px solid #bbb;padding:2px 8px;text-align:left;"
        "vertical-align:top}.gk-summary td.num,.gk-summary th.num{text-align:right}"
        ".gk-summary td.mid,.gk-summary th.mid{text-align:center}"
        ".gk-summary th{border-bottom:2px solid #555}.gk-summary p{margin:4px 0;font-family:monospace;"
        "font-size:12px}</style>")


def summary_html(model, expand_nested: bool = False, show_trainable: bool = False) -> str:
    """The same content as the text summary, as a small HTML table (for Jupyter)."""
    plan = _Plan(model, expand_nested, show_trainable)
    css_class = {"left": "", "right": ' class="num"', "center": ' class="mid"'}
    head = "".join(f"<th{css_class[j]}>{html.escape(h)}</th>" for h, j in zip(plan.headers, plan.justify))
    body = []
    for level, cells in plan.rows:
        tds = []
        for index, (cell, how) in enumerate(zip(cells, plan.justify)):
            style = f' style="padding-left:{8 + 16 * level}px"' if index == 0 and level else ""
            text = cell.split("└ ", 1)[-1] if index == 0 and level else cell
            tds.append(f"<td{css_class[how]}{style}>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    totals = "<br>".join(f"<b>{label}:</b> {count:,} ({readable_memory_size(size)})"
                         for label, count, size in plan.totals())
    return (f'<div class="gk-summary">{_CSS}<p><b>Model: "{html.escape(model.name)}"</b></p>'
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f"<p>{totals}</p></div>")
