/**
 * The board payload (`application/vnd.graphkit.board+json`, version 1), as docs/board.md's
 * "Board data" section describes it, and its decoded form.
 */
import type { GraphData } from '../core';

/** A numeric array: a JSON list, or little-endian bytes in base64. */
export type NumericArray = number[] | { dtype: 'float64' | 'float32' | 'int32'; b64: string };

export interface ScalarSeriesJson {
  step: NumericArray;
  wall_time: NumericArray;
  value: NumericArray;
  /** Set when the Python side reduced the tag to per-bucket min and max. */
  reduced?: boolean;
  points?: number;
}

/** One histogram in TensorBoard's bucket semantics: `counts[i]` lies in (limits[i-1], limits[i]]. */
export interface HistogramJson {
  step: number;
  wall_time: number;
  min: number;
  max: number;
  limits: number[];
  counts: number[];
}

export interface TextJson {
  step: number;
  wall_time: number;
  text: string;
}

/** Measured time of one graph node (from the run's layer spans). */
export interface NodeTiming {
  total_ns: number;
  count: number;
  mean_ns: number;
}

/** The model graph of a run, with the board's additions. */
export interface BoardGraph extends GraphData {
  timing?: Record<string, NodeTiming>;
  op_graphs?: Record<string, GraphData>;
}

export interface SpanColumnsJson {
  count: number;
  columns: {
    name: string[];
    layer: (string | null)[];
    phase: (string | null)[];
    step: NumericArray;
    start_ns: NumericArray;
    end_ns: NumericArray;
    thread: (number | string)[];
    kind: string[];
    flops?: NumericArray;
    bytes?: NumericArray;
  };
}

export interface RunJson {
  name: string;
  scalars?: Record<string, ScalarSeriesJson>;
  histograms?: Record<string, HistogramJson[]>;
  text?: Record<string, TextJson[]>;
  graph?: BoardGraph | null;
  spans?: SpanColumnsJson | null;
}

export interface BoardPayload {
  format: 'graphkit.board';
  version: number;
  title: string;
  generated_wall_time?: number;
  live?: boolean;
  /** The server's change token (served boards). */
  token?: string | number;
  runs: RunJson[];
}

/** What `mountBoard` draws from: a payload, a server to poll, or both. */
export interface BoardSource {
  payload?: BoardPayload;
  /** The server's API base (the page's origin when served): polls `${url}/api/payload`. */
  url?: string;
  poll_ms?: number;
}

/** What `mountBoard` returns. */
export interface BoardHandle {
  /** Shows a new payload in place (zoom and selection are kept). */
  update(payload: BoardPayload): void;
  dispose(): void;
}
