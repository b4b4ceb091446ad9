/**
 * The Histograms dashboard: per run and tag, the distribution at every recorded step, in
 * TensorBoard's offset mode (a ridgeline, older steps behind) or overlaid. TensorBoard's buckets
 * (`counts[i]` over (limits[i-1], limits[i]], the first from `min`) are re-binned onto one
 * uniform grid per chart, spreading each count over the part of its bucket a bin covers.
 */
import type { BoardContext, Dashboard } from './dashboard';
import type { BoardData } from './data';
import { button, el } from './dom';
import { cardTitle, groupedGrids } from './layout';
import { formatTick } from './format';
import type { HistogramJson } from './types';

export type HistogramMode = 'offset' | 'overlay';

const BINS = 40;
const HEIGHT = 220;
const MARGIN = { left: 8, right: 56, top: 8, bottom: 20 };

/** Uniform bins over [lo, hi] holding `h`'s counts. */
export function rebin(h: HistogramJson, lo: number, hi: number, bins: number): Float64Array {
  const out = new Float64Array(bins);
  const width = (hi - lo) / bins || 1;
  let left = h.min;
  h.counts.forEach((count, i) => {
    const a = Math.max(h.min, Math.min(left, h.max));
    const b = Math.max(h.min, Math.min(h.limits[i], h.max));
    left = h.limits[i];
    if (!count) {
      return;
    }
    if (!(b > a)) {
      out[Math.min(bins - 1, Math.max(0, Math.floor((a - lo) / width)))] += count;
      return;
    }
    const first = Math.max(0, Math.floor((a - lo) / width));
    const last = Math.min(bins - 1, Math.floor((b - lo) / width));
    for (let k = first; k <= last; k++) {
      const overlap = Math.min(b, lo + (k + 1) * width) - Math.max(a, lo + k * width);
      if (overlap > 0) {
        out[k] += (count * overlap) / (b - a);
      }
    }
  });
  return out;
}

class HistogramChart {
  readonly node = el('div', 'gk-card gk-hist');
  private canvas = document.createElement('canvas');

  constructor(readonly run: string, readonly tag: string, private color: string) {
    this.node.dataset.run = run;
    this.node.dataset.tag = tag;
    this.node.append(cardTitle(tag, { name: run, color }), this.canvas);
  }

  draw(histograms: HistogramJson[], mode: HistogramMode, context: BoardContext): void {
    const width = this.canvas.clientWidth;
    if (!width) {
      return;
    }
    const ratio = devicePixelRatio || 1;
    this.canvas.width = Math.round(width * ratio);
    this.canvas.height = Math.round(HEIGHT * ratio);
    const ctx = this.canvas.getContext('2d')!;
    const colors = context.colors();
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, HEIGHT);
    ctx.font = '11px system-ui, sans-serif';
    const sorted = [...histograms].sort((a, b) => a.step - b.step);
    if (!sorted.length) {
      return;
    }
    const lo = Math.min(...sorted.map(h => h.min));
    const hi = Math.max(...sorted.map(h => h.max));
    const span = hi > lo ? [lo, hi] : [lo - 0.5, hi + 0.5];
    const binned = sorted.map(h => rebin(h, span[0], span[1], BINS));
    const peak = Math.max(1e-12, ...binned.map(b => Math.max(...b)));
    const plotW = width - MARGIN.left - MARGIN.right;
    const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
    const n = sorted.length;
    // offset: each ridge is a third of the plot high, baselines spread down the rest
    const ridge = mode === 'offset' ? plotH / 3 : plotH;
    const baseline = (j: number): number =>
      mode === 'offset' ? MARGIN.top + ridge + (n > 1 ? (j / (n - 1)) * (plotH - ridge) : plotH - ridge) : MARGIN.top + plotH;
    const xAt = (k: number): number => MARGIN.left + ((k + 0.5) / BINS) * plotW;

    binned.forEach((bins, j) => {
      const base = baseline(j);
      const age = n > 1 ? j / (n - 1) : 1;
      ctx.beginPath();
      ctx.moveTo(MARGIN.left, base);
      bins.forEach((v, k) => ctx.lineTo(xAt(k), base - (v / peak) * ridge));
      ctx.lineTo(MARGIN.left + plotW, base);
      if (mode === 'offset') {
        ctx.fillStyle = colors.bg;
        ctx.globalAlpha = 1;
        ctx.fill();
      }
      ctx.globalAlpha = mode === 'offset' ? 0.35 + 0.65 * age : 0.15 + 0.85 * age;
      ctx.strokeStyle = this.color;
      ctx.lineWidth = 1;
      ctx.stroke();
      ctx.globalAlpha = 1;
    });

    ctx.fillStyle = colors.muted;
    ctx.textBaseline = 'top';
    for (const f of [0, 0.5, 1]) {
      const v = span[0] + f * (span[1] - span[0]);
      const text = formatTick(v);
      const x = MARGIN.left + f * plotW - (f === 1 ? ctx.measureText(text).width : f === 0.5 ? ctx.measureText(text).width / 2 : 0);
      ctx.fillText(text, x, HEIGHT - MARGIN.bottom + 4);
    }
    ctx.textBaseline = 'middle';
    const labelled = mode === 'offset' ? [0, n - 1] : [n - 1];
    for (const j of new Set(labelled)) {
      ctx.fillText(`step ${sorted[j].step}`, MARGIN.left + plotW + 4, mode === 'offset' ? baseline(j) : MARGIN.top + 6);
    }
  }
}

/** Whether histogram tag `tag` is about layer `layer`: one of its `/`-separated parts is the layer's name. */
export function tagMentions(tag: string, layer: string): boolean {
  return tag === layer || `/${tag}/`.includes(`/${layer}/`);
}

export class HistogramsDashboard implements Dashboard {
  readonly node = el('div', 'gk-dashboard');
  private content = el('div');
  private charts = new Map<string, { chart: HistogramChart; data: HistogramJson[] }>();
  private mode: HistogramMode = 'offset';
  private modeButtons: HTMLButtonElement[];
  private selected: string | null = null;
  private layout = '';
  private resizeObserver = new ResizeObserver(() => this.drawAll());

  constructor(private context: BoardContext) {
    this.node.dataset.dashboard = 'histograms';
    this.node.dataset.histMode = this.mode;
    const controls = el('div', 'gk-controls');
    this.modeButtons = (['offset', 'overlay'] as HistogramMode[]).map(mode => {
      const b = button(mode === 'offset' ? 'Offset' : 'Overlay', `Draw the steps ${mode === 'offset' ? 'one behind the other' : 'on top of each other'}`, { histMode: mode });
      b.addEventListener('click', () => this.setMode(mode));
      return b;
    });
    controls.append('Mode', ...this.modeButtons);
    this.node.append(controls, this.content);
    this.setMode(this.mode);
    this.resizeObserver.observe(this.content);
  }

  update(data: BoardData): void {
    const entries: [string, string, HistogramJson[]][] = [];
    for (const run of data.runs) {
      for (const [tag, list] of run.histograms) {
        entries.push([run.name, tag, list]);
      }
    }
    entries.sort((a, b) => a[1].localeCompare(b[1]) || a[0].localeCompare(b[0]));
    const layout = JSON.stringify(entries.map(([run, tag]) => [run, tag]));
    const next = new Map<string, { chart: HistogramChart; data: HistogramJson[] }>();
    for (const [run, tag, list] of entries) {
      const k = `${run}\u0000${tag}`;
      const chart = this.charts.get(k)?.chart ?? new HistogramChart(run, tag, this.context.runColor(run));
      next.set(k, { chart, data: list });
    }
    this.charts = next;
    if (layout !== this.layout) {
      this.layout = layout;
      this.content.replaceChildren(...groupedGrids([...next.values()].map(({ chart }) => chart)));
      if (!entries.length) {
        this.content.append(el('div', 'gk-board-message', 'No histograms (histogram_freq > 0, or gk.summary.histogram).'));
      }
    }
    this.setSelected(this.selected);
    this.drawAll();
  }

  shown(): void {
    this.drawAll();
  }

  setSelected(layer: string | null): void {
    this.selected = layer;
    for (const { chart } of this.charts.values()) {
      chart.node.classList.toggle('gk-linked', layer !== null && tagMentions(chart.tag, layer));
    }
  }

  restyle(): void {
    this.drawAll();
  }

  debug(): unknown {
    return {
      mode: this.mode,
      charts: [...this.charts.values()].map(({ chart, data }) => ({
        run: chart.run,
        tag: chart.tag,
        steps: data.map(h => h.step),
        linked: chart.node.classList.contains('gk-linked')
      }))
    };
  }

  dispose(): void {
    this.resizeObserver.disconnect();
    this.node.remove();
  }

  private setMode(mode: HistogramMode): void {
    this.mode = mode;
    this.node.dataset.histMode = mode;
    for (const b of this.modeButtons) {
      b.setAttribute('aria-pressed', String(b.dataset.histMode === mode));
    }
    this.drawAll();
  }

  private drawAll(): void {
    for (const { chart, data } of this.charts.values()) {
      chart.draw(data, this.mode, this.context);
    }
  }
}
