/** Number and duration formatting for read-outs, tooltips and tables. */

/** A value with up to 6 significant digits (exponent form when very large or small). */
export function formatValue(v: number | null | undefined): string {
  if (v == null) {
    return '—';
  }
  if (!Number.isFinite(v)) {
    return String(v);
  }
  const abs = Math.abs(v);
  return abs !== 0 && (abs >= 1e6 || abs < 1e-4) ? v.toExponential(4) : String(+v.toPrecision(6));
}

/** An axis tick: 3 significant digits, k / M / G for large magnitudes. */
export function formatTick(v: number): string {
  const abs = Math.abs(v);
  for (const [scale, suffix] of [[1e9, 'G'], [1e6, 'M'], [1e4, 'k']] as const) {
    if (abs >= scale) {
      return `${+(v / (suffix === 'k' ? 1e3 : scale)).toPrecision(3)}${suffix}`;
    }
  }
  return abs !== 0 && abs < 1e-4 ? v.toExponential(1) : String(+v.toPrecision(3));
}

/** A duration given in nanoseconds, in the unit that reads best. */
export function formatDuration(ns: number): string {
  const abs = Math.abs(ns);
  if (abs >= 1e9) {
    return `${(ns / 1e9).toPrecision(4)} s`;
  }
  if (abs >= 1e6) {
    return `${(ns / 1e6).toPrecision(4)} ms`;
  }
  if (abs >= 1e3) {
    return `${(ns / 1e3).toPrecision(4)} µs`;
  }
  return `${Math.round(ns)} ns`;
}

/** A relative time in seconds as h:mm:ss (or seconds below a minute). */
export function formatRelative(seconds: number): string {
  if (Math.abs(seconds) < 60) {
    return `${+seconds.toPrecision(3)}s`;
  }
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(sec).padStart(2, '0')}s`;
}

/** A share in [0, 1] as a percentage. */
export function formatShare(share: number): string {
  return `${(share * 100).toFixed(1)} %`;
}
