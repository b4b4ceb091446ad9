/** The payload decoded once into typed arrays: what the dashboards draw from. */
import { decodeNumeric } from './arrays';
import type { BoardGraph, BoardPayload, HistogramJson, SpanColumnsJson } from './types';

/** One scalar tag of one run. `reducedFrom` is the original point count when Python reduced it. */
export interface ScalarSeries {
  step: Float64Array;
  wallTime: Float64Array;
  value: Float64Array;
  reducedFrom: number | null;
}

/** The run's spans, column-wise. Times are nanoseconds relative to the run's first span. */
export interface SpanTable {
  count: number;
  name: string[];
  layer: (string | null)[];
  phase: (string | null)[];
  kind: string[];
  step: Float64Array;
  start: Float64Array;
  end: Float64Array;
}

export interface RunData {
  name: string;
  scalars: Map<string, ScalarSeries>;
  histograms: Map<string, HistogramJson[]>;
  graph: BoardGraph | null;
  spans: SpanTable | null;
}

export interface BoardData {
  title: string;
  live: boolean;
  runs: RunData[];
}

function decodeSpans(spans: SpanColumnsJson, run: string): SpanTable {
  const c = spans.columns;
  const where = (column: string): string => `run ${JSON.stringify(run)}: spans.${column}`;
  const table: SpanTable = {
    count: spans.count,
    name: c.name,
    layer: c.layer,
    phase: c.phase,
    kind: c.kind,
    step: decodeNumeric(c.step, where('step')),
    start: decodeNumeric(c.start_ns, where('start_ns')),
    end: decodeNumeric(c.end_ns, where('end_ns'))
  };
  for (const [column, values] of Object.entries(table)) {
    if (column !== 'count' && (values as ArrayLike<unknown>).length !== spans.count) {
      throw new Error(`${where(column)} has ${(values as ArrayLike<unknown>).length} entries, spans.count is ${spans.count}`);
    }
  }
  return table;
}

/** Decodes `payload` (one clear error naming the run and key for malformed data). */
export function decodePayload(payload: BoardPayload): BoardData {
  if (!payload || payload.format !== 'graphkit.board' || !Array.isArray(payload.runs)) {
    throw new Error('not a graphkit board payload (expected {"format": "graphkit.board", "runs": [...]})');
  }
  const runs = payload.runs.map((run): RunData => {
    const scalars = new Map<string, ScalarSeries>();
    for (const [tag, s] of Object.entries(run.scalars ?? {})) {
      const where = (key: string): string => `run ${JSON.stringify(run.name)}, scalar ${JSON.stringify(tag)}: ${key}`;
      const series: ScalarSeries = {
        step: decodeNumeric(s.step, where('step')),
        wallTime: decodeNumeric(s.wall_time, where('wall_time')),
        value: decodeNumeric(s.value, where('value')),
        reducedFrom: s.reduced ? s.points ?? null : null
      };
      if (series.step.length !== series.value.length) {
        throw new Error(`${where('step')} has ${series.step.length} entries but value has ${series.value.length}`);
      }
      scalars.set(tag, series);
    }
    return {
      name: run.name,
      scalars,
      histograms: new Map(Object.entries(run.histograms ?? {})),
      graph: run.graph ?? null,
      spans: run.spans ? decodeSpans(run.spans, run.name) : null
    };
  });
  return { title: payload.title ?? '', live: !!payload.live, runs };
}
