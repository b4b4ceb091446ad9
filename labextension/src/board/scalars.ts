/** The Scalars dashboard: a section per tag, a chart per run, shared smoothing and axis settings. */
import type { BoardContext, Dashboard } from './dashboard';
import type { BoardData } from './data';
import { el, select } from './dom';
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
    const wanted = new Map<string, [string, string][]>();
    for (const run of data.runs) {
      for (const tag of run.scalars.keys()) {
        wanted.set(tag, [...(wanted.get(tag) ?? []), [run.name, tag]]);
      }
    }
    const tags = [...wanted.keys()].sort();
    const layout = JSON.stringify(tags.map(tag => [tag, wanted.get(tag)]));
    for (const [k, chart] of this.charts) {
      if (!tags.some(tag => wanted.get(tag)!.some(([run, t]) => key(run, t) === k))) {
        chart.dispose();
        this.charts.delete(k);
      }
    }
    const runs = new Map(data.runs.map(run => [run.name, run]));
    const cards: HTMLElement[] = [];
    for (const tag of tags) {
      const grid = el('div', 'gk-grid');
      for (const [runName] of wanted.get(tag)!) {
        const series = runs.get(runName)!.scalars.get(tag)!;
        let chart = this.charts.get(key(runName, tag));
        if (chart) {
          chart.setSeries(series);
        } else {
          chart = new ScalarChart(runName, tag, series, this.context.runColor(runName), this.settings, this.context.colors);
          this.charts.set(key(runName, tag), chart);
        }
        grid.append(this.card(chart, series.reducedFrom));
      }
      cards.push(el('div', 'gk-section-title', tag), grid);
    }
    if (layout !== this.layout) {
      this.layout = layout;
      this.content.replaceChildren(...cards);
      if (!tags.length) {
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
    const title = el('div', 'gk-card-title');
    const swatch = el('span', 'gk-swatch');
    swatch.style.background = this.context.runColor(chart.run);
    title.append(swatch, el('span', undefined, chart.run));
    if (reducedFrom !== null) {
      title.append(el('span', 'gk-note', `min/max of ${reducedFrom.toLocaleString()} points`));
    }
    card.append(title, chart.node, chart.readoutNode);
    return card;
  }

  private change(patch: Partial<ScalarSettings>): void {
    this.settings = { ...this.settings, ...patch };
    for (const chart of this.charts.values()) {
      chart.setSettings(this.settings);
    }
  }
}
