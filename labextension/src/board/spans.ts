/** Views of a run's span table: per-layer statistics and timeline lanes. */
import type { SpanTable } from './data';

export const PHASES = ['forward', 'backward', 'optimizer', 'data', 'callback'] as const;

/** Statistics of one layer's spans in one phase ("all" sums the phases). */
export interface LayerStats {
  phase: string;
  count: number;
  totalNs: number;
  meanNs: number;
  /** Of the time of all the run's layer spans (of the layers `among`, when given). */
  share: number;
}

/** A span's lane: its layer (or, for spans without one, its name). */
export const laneLayer = (spans: SpanTable, i: number): string => spans.layer[i] ?? spans.name[i];

/**
 * Count, total, mean and share of `layer`'s layer spans per phase, then over all phases. `among`
 * limits the layers whose time the share divides by (a model's span contains its layers' spans).
 */
export function layerStats(spans: SpanTable, layer: string, among?: ReadonlySet<string>): LayerStats[] {
  let all = 0;
  const byPhase = new Map<string, { count: number; total: number }>();
  for (let i = 0; i < spans.count; i++) {
    if (spans.kind[i] !== 'layer') {
      continue;
    }
    const duration = spans.end[i] - spans.start[i];
    const name = laneLayer(spans, i);
    if (!among || among.has(name)) {
      all += duration;
    }
    if (name === layer) {
      const phase = spans.phase[i] ?? '';
      const entry = byPhase.get(phase) ?? { count: 0, total: 0 };
      entry.count++;
      entry.total += duration;
      byPhase.set(phase, entry);
    }
  }
  const row = (phase: string, count: number, total: number): LayerStats => ({
    phase,
    count,
    totalNs: total,
    meanNs: count ? total / count : 0,
    share: all ? total / all : 0
  });
  const rows = [...byPhase].map(([phase, e]) => row(phase, e.count, e.total));
  rows.sort((a, b) => phaseRank(a.phase) - phaseRank(b.phase));
  if (rows.length > 1) {
    rows.push(row('all', rows.reduce((n, r) => n + r.count, 0), rows.reduce((n, r) => n + r.totalNs, 0)));
  }
  return rows;
}

export function phaseRank(phase: string): number {
  const i = (PHASES as readonly string[]).indexOf(phase);
  return i < 0 ? PHASES.length : i;
}

/** One timeline lane: the spans of a layer (or of one kind of step span: train_step, data,
 * callbacks; or of ops) in one phase, by start time. `phase` is "" for spans without one. */
export interface Lane {
  layer: string;
  phase: string;
  kind: string;
  /** Span indices sorted by start. */
  spans: Int32Array;
  /** Largest duration in the lane (bounds the backward search for spans covering a time). */
  longest: number;
}

/**
 * The lanes of a run: step spans first (a lane per name), then one lane per layer and phase
 * (forward, backward, optimizer, ...) in the order layers first ran, each layer's op lanes after
 * its layer lanes.
 */
export function buildLanes(spans: SpanTable): Lane[] {
  const lanes = new Map<string, { layer: string; phase: string; kind: string; list: number[]; first: number }>();
  for (let i = 0; i < spans.count; i++) {
    const kind = spans.kind[i] === 'step' ? 'step' : spans.kind[i] === 'op' ? 'op' : 'layer';
    const layer = kind === 'step' ? spans.name[i] : laneLayer(spans, i);
    const phase = spans.phase[i] ?? '';
    const k = `${kind}\u0000${layer}\u0000${phase}`;
    let lane = lanes.get(k);
    if (!lane) {
      lane = { layer, phase, kind, list: [], first: spans.start[i] };
      lanes.set(k, lane);
    }
    lane.list.push(i);
    lane.first = Math.min(lane.first, spans.start[i]);
  }
  const firstOfLayer = new Map<string, number>();
  for (const lane of lanes.values()) {
    firstOfLayer.set(lane.layer, Math.min(firstOfLayer.get(lane.layer) ?? Infinity, lane.first));
  }
  const kindRank = { step: 0, layer: 1, op: 2 } as Record<string, number>;
  return [...lanes.values()]
    .sort(
      (a, b) =>
        (a.kind === 'step' ? -1 : 0) - (b.kind === 'step' ? -1 : 0) ||
        firstOfLayer.get(a.layer)! - firstOfLayer.get(b.layer)! ||
        a.layer.localeCompare(b.layer) ||
        kindRank[a.kind] - kindRank[b.kind] ||
        phaseRank(a.phase) - phaseRank(b.phase)
    )
    .map(lane => {
      const sorted = Int32Array.from(lane.list).sort((a, b) => spans.start[a] - spans.start[b]);
      let longest = 0;
      for (const i of sorted) {
        longest = Math.max(longest, spans.end[i] - spans.start[i]);
      }
      return { layer: lane.layer, phase: lane.phase, kind: lane.kind, spans: sorted, longest };
    });
}
