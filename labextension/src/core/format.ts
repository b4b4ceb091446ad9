/** Small text helpers shared by the DOT builder and the details panel. */

const INTEGER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** `55050` -> `"55,050"`. */
export function formatInt(n: number): string {
  return INTEGER.format(n);
}

/** A statistic for the weights table: four significant digits, exponent form for extremes. */
export function formatStat(x: number | null): string {
  if (x === null || !Number.isFinite(x)) {
    return '—';
  }
  const abs = Math.abs(x);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e5)) {
    return x.toExponential(2);
  }
  return String(Number(x.toPrecision(4)));
}

/**
 * `text` for a graphviz HTML-like label: `&`, `<`, `>` and `"` as entities, a backslash doubled
 * (graphviz expands `\N` and the like in these labels too, entities decoded first).
 */
export function escapeHtml(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** Splits `text` into at most `maxLines` lines of about `width` characters (ellipsis when cut). */
export function wrap(text: string, width: number, maxLines: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.replace(/\s+/g, ' ').trim().split(' ')) {
    let rest = word;
    while (rest.length > width) {
      if (line) {
        lines.push(line);
        line = '';
      }
      lines.push(rest.slice(0, width));
      rest = rest.slice(width);
    }
    if (line && line.length + 1 + rest.length > width) {
      lines.push(line);
      line = rest;
    } else {
      line = line ? `${line} ${rest}` : rest;
    }
  }
  if (line) {
    lines.push(line);
  }
  if (lines.length > maxLines) {
    lines.length = maxLines;
    lines[maxLines - 1] = `${lines[maxLines - 1].slice(0, width - 1)}…`;
  }
  return lines;
}
