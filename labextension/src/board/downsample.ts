/**
 * Lossless-for-the-eye downsampling of a line chart: the points of the visible x range are cut
 * into one bucket per pixel column, and each bucket keeps, for every series, its first, last,
 * minimum and maximum point (M4), in x order. A line through those points covers exactly the
 * pixels the full line covers, so no spike is ever dropped. Cost: two binary searches per bucket
 * plus one pass over the visible points.
 */
import { lowerBound, upperBound } from './arrays';

/** The points to draw: `x` and one array per series, gaps (non-finite values) as null. */
export interface Drawn {
  x: number[];
  ys: (number | null)[][];
  /** Source index of each drawn point. */
  index: number[];
}

/** Below this many points per bucket, every visible point is drawn. */
const KEEP_ALL_PER_BUCKET = 4;

/**
 * The points of `x` (ascending) and `series` to draw for the x range [`lo`, `hi`] at `buckets`
 * pixel columns; one point on each side of the range is included so lines reach the edges.
 */
export function downsample(
  x: Float64Array,
  series: Float64Array[],
  lo: number,
  hi: number,
  buckets: number
): Drawn {
  const start = Math.max(0, lowerBound(x, lo) - 1);
  const end = Math.min(x.length, upperBound(x, hi) + 1);
  const columns = Math.max(1, Math.floor(buckets));
  const indices: number[] = [];
  if (end - start <= KEEP_ALL_PER_BUCKET * columns || !(hi > lo)) {
    for (let i = start; i < end; i++) {
      indices.push(i);
    }
  } else {
    const width = (hi - lo) / columns;
    const kept: number[] = [];
    let from = start;
    for (let b = 0; b <= columns + 1 && from < end; b++) {
      // bucket 0 holds the point before the range; the last one the point after it
      const to = b > columns ? end : Math.min(end, Math.max(from + 1, lowerBound(x, lo + b * width, from, end)));
      kept.length = 0;
      kept.push(from, to - 1);
      for (const y of series) {
        let min = from;
        let max = from;
        for (let i = from + 1; i < to; i++) {
          const v = y[i];
          if (v < y[min] || !(y[min] === y[min])) {
            min = i;
          }
          if (v > y[max] || !(y[max] === y[max])) {
            max = i;
          }
        }
        kept.push(min, max);
      }
      kept.sort((a, b) => a - b);
      for (let k = 0; k < kept.length; k++) {
        if (k === 0 || kept[k] !== kept[k - 1]) {
          indices.push(kept[k]);
        }
      }
      from = to;
    }
  }
  return {
    x: indices.map(i => x[i]),
    ys: series.map(y => indices.map(i => (Number.isFinite(y[i]) ? y[i] : null))),
    index: indices
  };
}
