/**
 * One run's series of a scalar tag, prepared for drawing: its x values for the horizontal axis
 * mode (ascending, with the source index of each when the mode reorders them), the values in
 * that order and TensorBoard's smoothed curve of them.
 */
import { lowerBound } from './arrays';
import type { ScalarSeries } from './data';
import { downsample, type Drawn } from './downsample';
import { smoothTensorBoard } from './smoothing';

export type XAxisMode = 'step' | 'relative' | 'wall';

/** The x values of `series` for `mode`, ascending, and the source index of each. */
function xValues(series: ScalarSeries, mode: XAxisMode): { x: Float64Array; order: Int32Array | null } {
  const raw =
    mode === 'step'
      ? series.step
      : mode === 'wall'
        ? series.wallTime
        : series.wallTime.map(t => t - series.wallTime[0]);
  for (let i = 1; i < raw.length; i++) {
    if (raw[i] < raw[i - 1]) {
      const order = Int32Array.from(raw.keys()).sort((a, b) => raw[a] - raw[b] || a - b);
      return { x: Float64Array.from(order, i => raw[i]), order };
    }
  }
  return { x: raw, order: null };
}

const reorder = (values: Float64Array, order: Int32Array | null): Float64Array =>
  order ? Float64Array.from(order, i => values[i]) : values;

/** A run's point of the curve, as the hover read-out shows it. */
export interface CurvePoint {
  step: number;
  value: number;
  smoothed: number;
  /** Seconds since the run's first point. */
  relative: number;
}

export class ScalarCurve {
  x: Float64Array = new Float64Array(0);
  value: Float64Array = new Float64Array(0);
  smoothed: Float64Array = new Float64Array(0);
  private order: Int32Array | null = null;

  constructor(
    readonly run: string,
    public series: ScalarSeries,
    mode: XAxisMode,
    smoothing: number
  ) {
    this.prepare(mode, smoothing);
  }

  /** Recomputes x, values and smoothing (new data or a new axis mode). */
  prepare(mode: XAxisMode, smoothing: number): void {
    const { x, order } = xValues(this.series, mode);
    this.x = x;
    this.order = order;
    this.value = reorder(this.series.value, order);
    this.smooth(smoothing);
  }

  /** Recomputes the smoothed curve for weight `smoothing`. */
  smooth(smoothing: number): void {
    this.smoothed = smoothTensorBoard(this.value, smoothing);
  }

  /** The first and last x, or null without points. */
  extent(): [number, number] | null {
    const n = this.x.length;
    return n ? [this.x[0], this.x[n - 1]] : null;
  }

  /** The points to draw for x range [lo, hi] at `columns` pixel columns: raw values, then smoothed. */
  sample(lo: number, hi: number, columns: number): Drawn {
    return downsample(this.x, [this.value, this.smoothed], lo, hi, columns);
  }

  /** The step of drawn point `index` (an index into `x`). */
  step(index: number): number {
    return this.series.step[this.order ? this.order[index] : index];
  }

  /** The point whose x is nearest to `x`, or null without points. */
  nearest(x: number): CurvePoint | null {
    const n = this.x.length;
    if (!n) {
      return null;
    }
    const after = Math.min(lowerBound(this.x, x), n - 1);
    const i = after > 0 && x - this.x[after - 1] < this.x[after] - x ? after - 1 : after;
    const source = this.order ? this.order[i] : i;
    const s = this.series;
    return {
      step: s.step[source],
      value: s.value[source],
      smoothed: this.smoothed[i],
      relative: s.wallTime[source] - s.wallTime[0]
    };
  }
}
