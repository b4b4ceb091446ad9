/** The Scalars dashboard: a section per tag, a chart per run, shared smoothing and axis settings. */
import type { BoardContext, Dashboard } from './dashboard';
import type { BoardData } from './data';
import { el, select } from './dom';
import { cardTitle, groupedGrids } from './layout';
import { ScalarChart, type ScalarSettings, type XAxisMode } from './scalar-chart';

const DEFAULT_SMOOTHING = 0.6;

const key = (run: string, tag: string): string => `${run}\u0000${tag}`;

export class ScalarsDashboard implements Dashboard {
  readonly node = el('div', 'gk-dashboard');
  private content = el('div');
  private charts = new Map<string, ScalarChart>();
  private settings: ScalarSettings = { smoothing: DEFAULT_SMOOTHING, xAxis: 'step', logY: false };
  private layout = '';

  constructor(private context: BoardContext) {
    this.node.dataset.dashboard = 'scalars';
    const controls = el('div', 'gk-controls');

    const smoothing = document.createElement('label');
    const slider = document.createElement('input');
    slider.type = 'range';
    slider.min = '0';
    slider.max = '0.999';
    slider.step = '0.001';
    slider.value = String(DEFAULT_SMOOTHING);
    slider.dataset.control = 'smoothing';
    const shown = document.createElement('output');
    shown.textContent = String(DEFAULT_SMOOTHING);
    slider.addEventListener('input', () => {
      shown.textContent = slider.value;
      this.change({ smoothing: Number(slider.value) });
    });
    smoothing.append('Smoothing', slider, shown);

    const axis = select(
      'Horizontal axis',
      [['step', 'Step'], ['relative', 'Relative'], ['wall', 'Wall time']],
      'step',
      value => this.change({ xAxis: value as XAxisMode })
    );
    axis.input.dataset.control = 'x-axis';

    const log = document.createElement('label');
    const logBox = document.createElement('input');
    logBox.type = 'checkbox';
    logBox.dataset.control = 'log-y';
    logBox.addEventListener('change', () => this.change({ logY: logBox.checked }));
    log.append(logBox, 'Log scale');

    const hint = el('span', 'gk-note', 'Drag to zoom, double-click to reset');
    controls.append(smoothing, axis.node, log, hint);
    this.node.append(controls, this.content);
  }

  update(data: BoardData): void {
    const entries = data.runs
      .flatMap(run => [...run.scalars].map(([tag, series]) => ({ run: run.name, tag, series })))
      .sort((a, b) => a.tag.localeCompare(b.tag) || a.run.localeCompare(b.run));
    const wanted = new Set(entries.map(e => key(e.run, e.tag)));
    for (const [k, chart] of this.charts) {
      if (!wanted.has(k)) {
        chart.dispose();
        this.charts.delete(k);
      }
    }
    const cards = entries.map(({ run, tag, series }) => {
      let chart = this.charts.get(key(run, tag));
      if (chart) {
        chart.setSeries(series);
      } else {
        chart = new ScalarChart(run, tag, series, this.context.runColor(run), this.settings, this.context.colors);
        this.charts.set(key(run, tag), chart);
      }
      return { tag, node: this.card(chart, series.reducedFrom) };
    });
    const layout = [...wanted].join('\n');
    if (layout !== this.layout) {
      this.layout = layout;
      this.content.replaceChildren(...groupedGrids(cards));
      if (!cards.length) {
        this.content.append(el('div', 'gk-board-message', 'No scalars in this log directory.'));
      }
    }
  }

  shown(): void {
    // charts size themselves (ResizeObserver) once visible
  }

  setSelected(): void {
    // scalar tags are not tied to layers
  }

  restyle(): void {
    for (const chart of this.charts.values()) {
      chart.restyle();
    }
  }

  debug(): unknown {
    return { settings: this.settings, charts: [...this.charts.values()].map(c => c.debug()) };
  }

  /** The chart of `run`/`tag` (benchmarks zoom through it). */
  chart(run: string, tag: string): ScalarChart | undefined {
    return this.charts.get(key(run, tag));
  }

  dispose(): void {
    for (const chart of this.charts.values()) {
      chart.dispose();
    }
    this.charts.clear();
    this.node.remove();
  }

  private card(chart: ScalarChart, reducedFrom: number | null): HTMLElement {
    const existing = chart.node.parentElement;
    if (existing) {
      return existing;
    }
    const card = el('div', 'gk-card');
    const note = reducedFrom === null ? undefined : `min/max of ${reducedFrom.toLocaleString()} points`;
    card.append(cardTitle(chart.tag, chart.run, this.context.runColor(chart.run), note), chart.node, chart.readoutNode);
    return card;
  }

  private change(patch: Partial<ScalarSettings>): void {
    this.settings = { ...this.settings, ...patch };
    for (const chart of this.charts.values()) {
      chart.setSettings(this.settings);
    }
  }
}
