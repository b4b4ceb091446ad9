/**
 * Several runs' drawn points on one x array, as uPlot wants them (every series shares the x
 * values): the k-way merge of the runs' ascending x, one slot per point, points of different
 * runs at the same x sharing a slot. A run's series hold its values at its own slots and
 * `undefined` elsewhere (uPlot draws the line on across those), so its gaps (`null`) stay gaps.
 */
import type { Drawn } from './downsample';

export type AlignedValues = (number | null | undefined)[];

export interface Aligned {
  x: number[];
  /** Per part, per series of that part: its values on `x`. */
  ys: AlignedValues[][];
}

/** Joins `parts` (each with ascending x) on one ascending x array. */
export function alignOnX(parts: Drawn[]): Aligned {
  if (parts.length === 1) {
    return { x: parts[0].x, ys: [parts[0].ys] };
  }
  const heads = parts.map(() => 0);
  const x: number[] = [];
  const ys: AlignedValues[][] = parts.map(part => part.ys.map(() => []));
  for (;;) {
    let next = Infinity;
    let left = false;
    for (let p = 0; p < parts.length; p++) {
      if (heads[p] < parts[p].x.length) {
        left = true;
        next = Math.min(next, parts[p].x[heads[p]]);
      }
    }
    if (!left) {
      break;
    }
    x.push(next);
    for (let p = 0; p < parts.length; p++) {
      const here = heads[p] < parts[p].x.length && parts[p].x[heads[p]] === next;
      parts[p].ys.forEach((values, s) => ys[p][s].push(here ? values[heads[p]] : undefined));
      if (here) {
        heads[p]++;
      }
    }
  }
  return { x, ys };
}
