/**
 * The board: a header with the dashboards' tabs, the four dashboards, the linked layer selection
 * (`data-selected-layer` on the root) and, when a server is given, live refresh that keeps every
 * dashboard's zoom and selection.
 */
import type { BoardContext } from './dashboard';
import { decodePayload, type BoardData } from './data';
import { button, el } from './dom';
import { GraphDashboard } from './graph';
import { HistogramsDashboard } from './histograms';
import { ScalarsDashboard } from './scalars';
import { ensureBoardStyles } from './styles';
import { boardColors, runColor, watchTheme, type BoardColors } from './theme';
import { TimelineDashboard } from './timeline';
import type { BoardPayload, BoardSource } from './types';

export const TABS = ['scalars', 'graph', 'timeline', 'histograms'] as const;
export type TabName = (typeof TABS)[number];

const TAB_LABELS: Record<TabName, string> = {
  scalars: 'Scalars',
  graph: 'Graph',
  timeline: 'Timeline',
  histograms: 'Histograms'
};

const DEFAULT_POLL_MS = 2000;

/** The server's answer to `/api/payload?since=<token>` when nothing changed. */
interface Unchanged {
  token: string | number;
  changed: false;
}

export class Board {
  /** The `div.gk-board` root. */
  readonly root = el('div', 'gk-board');
  private title = el('span', 'gk-board-title');
  private status = el('span', 'gk-board-status');
  private message = el('div', 'gk-board-message');
  private tabs = new Map<TabName, HTMLButtonElement>();
  readonly dashboards: {
    scalars: ScalarsDashboard;
    graph: GraphDashboard;
    timeline: TimelineDashboard;
    histograms: HistogramsDashboard;
  };
  private active: TabName = 'scalars';
  private colors: BoardColors | null = null;
  private runIndex = new Map<string, number>();
  private selected: string | null = null;
  private token: string | number | null = null;
  private timer = 0;
  private disposed = false;
  private stopWatchingTheme: () => void;

  constructor(host: HTMLElement, private source: BoardSource) {
    ensureBoardStyles(host.ownerDocument);
    this.root.dataset.state = 'loading';
    const header = el('div', 'gk-board-header');
    header.append(this.title);
    for (const tab of TABS) {
      const b = button(TAB_LABELS[tab], `Show the ${TAB_LABELS[tab]} dashboard`);
      b.className = 'gk-board-tab';
      b.dataset.tab = tab;
      b.setAttribute('role', 'tab');
      b.addEventListener('click', () => this.show(tab));
      this.tabs.set(tab, b);
      header.append(b);
    }
    header.append(this.status);
    this.message.textContent = 'Loading the board…';
    this.root.append(header, this.message);
    host.appendChild(this.root);

    const context: BoardContext = {
      colors: () => (this.colors ??= boardColors(this.root)),
      runColor: name => runColor(this.runIndex.get(name) ?? 0),
      select: layer => this.select(layer)
    };
    this.dashboards = {
      scalars: new ScalarsDashboard(context),
      graph: new GraphDashboard(context),
      timeline: new TimelineDashboard(context),
      histograms: new HistogramsDashboard(context)
    };
    for (const dashboard of Object.values(this.dashboards)) {
      dashboard.node.hidden = true;
      this.root.append(dashboard.node);
    }
    this.show('scalars');
    this.stopWatchingTheme = watchTheme(host.ownerDocument, () => this.restyle());

    if (source.payload) {
      this.update(source.payload);
    }
    if (source.url) {
      void this.poll(!source.payload);
    }
  }

  /** Shows `payload` in every dashboard, in place. */
  update(payload: BoardPayload): void {
    let data: BoardData;
    try {
      data = decodePayload(payload);
    } catch (err) {
      this.fail(err);
      return;
    }
    this.token = payload.token ?? this.token;
    this.title.textContent = data.title;
    // a run keeps its colour while the board lives, whatever runs come and go
    for (const run of data.runs) {
      if (!this.runIndex.has(run.name)) {
        this.runIndex.set(run.name, this.runIndex.size);
      }
    }
    for (const dashboard of Object.values(this.dashboards)) {
      dashboard.update(data);
    }
    this.message.textContent = data.runs.length ? '' : 'No runs in this log directory yet.';
    this.root.dataset.state = 'ready';
    if (this.source.url) {
      this.status.textContent = `live · updated ${new Date().toLocaleTimeString()}`;
    }
  }

  /** Switches to dashboard `tab`. */
  show(tab: TabName): void {
    this.active = tab;
    for (const [name, b] of this.tabs) {
      b.setAttribute('aria-selected', String(name === tab));
      this.dashboards[name].node.hidden = name !== tab;
    }
    this.root.dataset.tab = tab;
    this.dashboards[tab].shown();
  }

  /** Selects `layer` in every dashboard (null clears it). */
  select(layer: string | null): void {
    this.selected = layer;
    if (layer === null) {
      delete this.root.dataset.selectedLayer;
    } else {
      this.root.dataset.selectedLayer = layer;
    }
    for (const dashboard of Object.values(this.dashboards)) {
      dashboard.setSelected(layer);
    }
  }

  /** Plain data describing every dashboard (tests, benchmarks). */
  debug(): unknown {
    return {
      state: this.root.dataset.state,
      tab: this.active,
      selectedLayer: this.selected,
      token: this.token,
      scalars: this.dashboards.scalars.debug(),
      graph: this.dashboards.graph.debug(),
      timeline: this.dashboards.timeline.debug(),
      histograms: this.dashboards.histograms.debug()
    };
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    this.stopWatchingTheme();
    for (const dashboard of Object.values(this.dashboards)) {
      dashboard.dispose();
    }
    this.root.remove();
  }

  private restyle(): void {
    this.colors = null;
    for (const dashboard of Object.values(this.dashboards)) {
      dashboard.restyle();
    }
  }

  private fail(err: unknown): void {
    this.root.dataset.state = 'error';
    this.message.textContent = `Could not show the board: ${err instanceof Error ? err.message : String(err)}`;
  }

  /** Fetches the payload (first: the whole of it), then again every poll_ms. */
  private async poll(first: boolean): Promise<void> {
    const base = this.source.url!.replace(/\/+$/, '');
    const query = first || this.token === null ? '' : `?since=${encodeURIComponent(String(this.token))}`;
    try {
      const response = await fetch(`${base}/api/payload${query}`, { cache: 'no-store' });
      if (!response.ok) {
        throw new Error(`${response.status} ${response.statusText}`);
      }
      const answer = (await response.json()) as BoardPayload | Unchanged;
      if (this.disposed) {
        return;
      }
      if ('changed' in answer && answer.changed === false) {
        this.token = answer.token;
        this.status.textContent = `live · checked ${new Date().toLocaleTimeString()}`;
      } else {
        this.update(answer as BoardPayload);
      }
    } catch (err) {
      if (first) {
        this.fail(err);
      } else {
        this.status.textContent = `live · server not answering (${err instanceof Error ? err.message : String(err)}), retrying`;
      }
    }
    if (!this.disposed) {
      this.timer = window.setTimeout(() => void this.poll(this.root.dataset.state !== 'ready'), this.source.poll_ms ?? DEFAULT_POLL_MS);
    }
  }
}
