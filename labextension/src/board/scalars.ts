/**
 * The Scalars dashboard, as TensorBoard's: a chart per tag with every run that logged it
 * overlaid in the run's colour, sections by tag prefix, a run selector, a tag filter (a
 * case-insensitive regular expression) and the smoothing, axis and scale settings of every chart.
 */
import type { BoardContext, Dashboard } from './dashboard';
import type { BoardData } from './data';
import { el, select } from './dom';
import { cardTitle, groupedGrids } from './layout';
import { RunSelector } from './run-selector';
import { ScalarChart, type ScalarChartDebug, type ScalarRun, type ScalarSettings, type XAxisMode } from './scalar-chart';

const DEFAULT_SMOOTHING = 0.6;

/** A tag's card: its title, chart and hover read-out. */
interface ScalarCard {
  chart: ScalarChart;
  node: HTMLElement;
}

/** The card title's note for runs the Python side reduced to per-bucket min and max. */
function reducedNote(runs: ScalarRun[]): string | undefined {
  const notes = runs
    .filter(r => r.series.reducedFrom !== null)
    .map(r => `${runs.length > 1 ? `${r.run}: ` : ''}min/max of ${r.series.reducedFrom!.toLocaleString()} points`);
  return notes.length ? notes.join(', ') : undefined;
}

export class ScalarsDashboard implements Dashboard {
  readonly node = el('div', 'gk-dashboard');
  private content = el('div');
  private message = el('div', 'gk-board-message');
  private cards = new Map<string, ScalarCard>();
  private settings: ScalarSettings = { smoothing: DEFAULT_SMOOTHING, xAxis: 'step', logY: false };
  private runs: RunSelector;
  private filterInput = document.createElement('input');
  private filter: RegExp | null = null;
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

    const filter = this.filterInput;
    filter.type = 'search';
    filter.placeholder = 'Filter tags (regex)';
    filter.dataset.control = 'tag-filter';
    filter.addEventListener('input', () => this.setFilter(filter.value));

    const hint = el('span', 'gk-note', 'Drag to zoom, double-click to reset');
    controls.append(filter, smoothing, axis.node, log, hint);
    this.runs = new RunSelector(context.runColor, hidden => {
      for (const { chart } of this.cards.values()) {
        chart.setHidden(hidden);
      }
    });
    this.node.append(controls, this.runs.node, this.message, this.content);
  }

  update(data: BoardData): void {
    const byTag = new Map<string, ScalarRun[]>();
    for (const run of data.runs) {
      for (const [tag, series] of run.scalars) {
        byTag.set(tag, [...(byTag.get(tag) ?? []), { run: run.name, series }]);
      }
    }
    this.runs.setRuns(data.runs.filter(run => run.scalars.size).map(run => run.name));
    for (const [tag, card] of this.cards) {
      if (!byTag.has(tag)) {
        card.chart.dispose();
        this.cards.delete(tag);
      }
    }
    const tags = [...byTag.keys()].sort((a, b) => a.localeCompare(b));
    for (const tag of tags) {
      const runs = byTag.get(tag)!;
      const card = this.cards.get(tag);
      if (card) {
        card.chart.setRuns(runs);
        card.node.firstElementChild!.replaceWith(cardTitle(tag, null, reducedNote(runs)));
      } else {
        this.cards.set(tag, this.card(tag, runs));
      }
    }
    const layout = tags.join('\n');
    if (layout !== this.layout) {
      this.layout = layout;
      this.content.replaceChildren(...groupedGrids(tags.map(tag => ({ tag, node: this.cards.get(tag)!.node }))));
    }
    this.applyFilter();
  }

  shown(): void {
    // charts size themselves (ResizeObserver) once visible
  }

  setSelected(): void {
    // scalar tags are not tied to layers
  }

  restyle(): void {
    for (const { chart } of this.cards.values()) {
      chart.restyle();
    }
  }

  debug(): { settings: ScalarSettings; hiddenRuns: string[]; filter: string; charts: (ScalarChartDebug & { visible: boolean })[] } {
    return {
      settings: this.settings,
      hiddenRuns: [...this.runs.hiddenRuns],
      filter: this.filterInput.value,
      charts: [...this.cards.values()].map(({ chart, node }) => ({ ...chart.debug(), visible: !node.hidden }))
    };
  }

  /** The chart of `tag` (benchmarks zoom through it). */
  chart(tag: string): ScalarChart | undefined {
    return this.cards.get(tag)?.chart;
  }

  dispose(): void {
    for (const { chart } of this.cards.values()) {
      chart.dispose();
    }
    this.cards.clear();
    this.node.remove();
  }

  private card(tag: string, runs: ScalarRun[]): ScalarCard {
    const chart = new ScalarChart(tag, runs, this.context.runColor, this.settings, this.runs.hiddenRuns, this.context.colors);
    const node = el('div', 'gk-card');
    node.append(cardTitle(tag, null, reducedNote(runs)), chart.node, chart.readout.node);
    return { chart, node };
  }

  private change(patch: Partial<ScalarSettings>): void {
    this.settings = { ...this.settings, ...patch };
    for (const { chart } of this.cards.values()) {
      chart.setSettings(this.settings);
    }
  }

  /** Shows only the tags matching `text` (a case-insensitive regular expression; empty: all tags). */
  private setFilter(text: string): void {
    let invalid = '';
    try {
      this.filter = text ? new RegExp(text, 'i') : null;
    } catch (err) {
      this.filter = null;
      invalid = err instanceof Error ? err.message : String(err);
    }
    this.filterInput.setAttribute('aria-invalid', String(!!invalid));
    this.filterInput.title = invalid || 'Show the tags this regular expression matches (case-insensitive)';
    this.applyFilter();
  }

  private applyFilter(): void {
    let visible = 0;
    for (const [tag, { node }] of this.cards) {
      node.hidden = !!this.filter && !this.filter.test(tag);
      visible += node.hidden ? 0 : 1;
    }
    for (const section of this.content.querySelectorAll<HTMLElement>('.gk-section')) {
      section.hidden = !section.querySelector('.gk-card:not([hidden])');
    }
    this.message.textContent = !this.cards.size
      ? 'No scalars in this log directory.'
      : visible
        ? ''
        : `No tags match /${this.filterInput.value}/.`;
  }
}
