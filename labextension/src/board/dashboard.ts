/** What the board gives its dashboards, and what each dashboard offers the board. */
import type { BoardData } from './data';
import type { BoardColors } from './theme';

export interface BoardContext {
  /** The current theme colours (resolved CSS). */
  colors(): BoardColors;
  /** The colour of run `name` (the same in every dashboard). */
  runColor(name: string): string;
  /** Selects `layer` in every dashboard (null: clears the selection). */
  select(layer: string | null): void;
}

export interface Dashboard {
  /** The tab's `div.gk-dashboard`. */
  readonly node: HTMLElement;
  /** Shows new data in place, keeping zoom and selection. */
  update(data: BoardData): void;
  /** The tab became visible (sizes are known now). */
  shown(): void;
  /** Highlights `layer` (the board's selection). */
  setSelected(layer: string | null): void;
  /** The theme changed. */
  restyle(): void;
  /** Plain data describing what is drawn (tests, benchmarks). */
  debug(): unknown;
  dispose(): void;
}
