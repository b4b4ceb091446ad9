/**
 * One scalar chart (a run's tag) drawn with uPlot: the raw values faded, TensorBoard's smoothed
 * curve on top, downsampled per pixel column for the visible x range (recomputed on every zoom
 * and resize). Drag zooms, double-click shows everything again, hovering reads out the point.
 */
import uPlot from 'uplot';
import type { ScalarSeries } from './data';
import { downsample, type Drawn } from './downsample';
import { formatRelative, formatTick, formatValue } from './format';
import { smoothTensorBoard } from './smoothing';
import type { BoardColors } from './theme';
import { withAlpha } from './theme';

export type XAxisMode = 'step' | 'relative' | 'wall';

export interface ScalarSettings {
  smoothing: number;
  xAxis: XAxisMode;
  logY: boolean;
}

const HEIGHT = 200;

/** Plain data for tests and benchmarks. */
export interface ScalarChartDebug {
  run: string;
  tag: string;
  points: number;
  range: [number, number];
  fullRange: [number, number];
  /** The y scale's range (log scale: its minimum is positive). */
  yRange: [number, number] | null;
  logY: boolean;
  x: number[];
  value: (number | null)[];
  smoothed: (number | null)[];
  step: number[];
  paints: number;
  lastPaint: number;
}

/** The x values of `series` for `mode`, ascending, and the source index of each. */
function xValues(series: ScalarSeries, mode: XAxisMode): { x: Float64Array; order: Int32Array | null } {
  const raw =
    mode === 'step'
      ? series.step
      : mode === 'wall'
        ? series.wallTime
        : series.wallTime.map(t => t - series.wallTime[0]);
  for (let i = 1; i < raw.length; i++) {
    if (raw[i] < raw[i - 1]) {
      const order = Int32Array.from(raw.keys()).sort((a, b) => raw[a] - raw[b] || a - b);
      return { x: Float64Array.from(order, i => raw[i]), order };
    }
  }
  return { x: raw, order: null };
}

/** An axis' tick labels from `format` (uPlot passes null for ticks it leaves unlabelled). */
const ticks =
  (format: (v: number) => string) =>
  (_u: uPlot, values: (number | null)[]): string[] =>
    values.map(v => (v == null ? '' : format(v)));

/** Tick spacings of the step axis: whole steps only. */
const STEP_INCREMENTS = Array.from({ length: 13 * 3 }, (_, i) => [1, 2, 5][i % 3] * 10 ** Math.floor(i / 3));

/** The y axis' width: room for its longest label (uPlot sizes axes before labelling them again). */
function labelWidth(u: uPlot, values: string[] | null, axisIdx: number): number {
  const font = u.axes[axisIdx].font;
  const ctx = u.ctx;
  ctx.save();
  ctx.font = (Array.isArray(font) ? font[0] : font) ?? '11px sans-serif';
  const widest = Math.max(0, ...(values ?? []).map(v => ctx.measureText(v).width));
  ctx.restore();
  return Math.ceil(widest / devicePixelRatio) + 16;
}

const reorder = (values: Float64Array, order: Int32Array | null): Float64Array =>
  order ? Float64Array.from(order, i => values[i]) : values;

export class ScalarChart {
  readonly node: HTMLElement;
  private readout: HTMLElement;
  private plot: uPlot | null = null;
  private x: Float64Array = new Float64Array(0);
  private order: Int32Array | null = null;
  private value: Float64Array = new Float64Array(0);
  private smoothed: Float64Array = new Float64Array(0);
  private drawn: Drawn = { x: [], ys: [[], []], index: [] };
  /** The zoomed x range, or null for everything. */
  private zoom: [number, number] | null = null;
  private paints = 0;
  private lastPaint = 0;
  private resizeObserver = new ResizeObserver(() => this.resized());

  constructor(
    readonly run: string,
    readonly tag: string,
    private series: ScalarSeries,
    private color: string,
    private settings: ScalarSettings,
    private colors: () => BoardColors
  ) {
    this.node = document.createElement('div');
    this.node.className = 'gk-chart';
    this.node.dataset.run = run;
    this.node.dataset.tag = tag;
    this.readout = document.createElement('div');
    this.readout.className = 'gk-readout';
    this.prepare();
    this.resizeObserver.observe(this.node);
  }

  /** The element to put under the chart that shows the hovered point. */
  get readoutNode(): HTMLElement {
    return this.readout;
  }

  /** New data for the same run and tag (live refresh): the zoom is kept. */
  setSeries(series: ScalarSeries): void {
    this.series = series;
    this.prepare();
    this.refresh();
  }

  /** New settings: smoothing recomputes the curve; axis and scale changes rebuild the chart. */
  setSettings(settings: ScalarSettings): void {
    const rebuild = settings.xAxis !== this.settings.xAxis || settings.logY !== this.settings.logY;
    const resmooth = settings.smoothing !== this.settings.smoothing;
    this.settings = settings;
    if (rebuild) {
      this.zoom = null;
      this.prepare();
      this.destroyPlot();
      this.build();
    } else if (resmooth) {
      this.smoothed = smoothTensorBoard(this.value, settings.smoothing);
      this.refresh();
    }
  }

  /** Shows x range [lo, hi] (null: everything), as a drag does. */
  zoomTo(range: [number, number] | null): void {
    this.zoom = range;
    this.refresh();
  }

  /** Redraws with the current theme colours. */
  restyle(): void {
    this.plot?.redraw(false, true);
  }

  debug(): ScalarChartDebug {
    const [lo, hi] = this.range();
    const source = (i: number): number => (this.order ? this.order[i] : i);
    return {
      run: this.run,
      tag: this.tag,
      points: this.x.length,
      range: this.plot ? [this.plot.scales.x.min ?? lo, this.plot.scales.x.max ?? hi] : [lo, hi],
      fullRange: this.fullRange(),
      yRange: this.plot ? [this.plot.scales.y.min ?? NaN, this.plot.scales.y.max ?? NaN] : null,
      logY: this.settings.logY,
      x: this.drawn.x,
      value: this.drawn.ys[0],
      smoothed: this.drawn.ys[1],
      step: this.drawn.index.map(i => this.series.step[source(i)]),
      paints: this.paints,
      lastPaint: this.lastPaint
    };
  }

  dispose(): void {
    this.resizeObserver.disconnect();
    this.destroyPlot();
    this.node.remove();
  }

  private prepare(): void {
    const { x, order } = xValues(this.series, this.settings.xAxis);
    this.x = x;
    this.order = order;
    this.value = reorder(this.series.value, order);
    this.smoothed = smoothTensorBoard(this.value, this.settings.smoothing);
  }

  private fullRange(): [number, number] {
    const n = this.x.length;
    if (!n) {
      return [0, 1];
    }
    const lo = this.x[0];
    const hi = this.x[n - 1];
    return hi > lo ? [lo, hi] : [lo - 1, hi + 1];
  }

  private range(): [number, number] {
    return this.zoom ?? this.fullRange();
  }

  /** Downsamples the visible range for the plot's width (in device pixels). */
  private sample(widthPx: number): uPlot.AlignedData {
    const [lo, hi] = this.range();
    this.drawn = downsample(this.x, [this.value, this.smoothed], lo, hi, widthPx);
    let [raw, smooth] = this.drawn.ys;
    if (this.settings.logY) {
      const positive = (v: number | null): number | null => (v !== null && v > 0 ? v : null);
      raw = raw.map(positive);
      smooth = smooth.map(positive);
    }
    return [this.drawn.x, raw, smooth];
  }

  private plotWidth(): number {
    return Math.max(1, Math.round((this.plot?.bbox.width ?? this.node.clientWidth * devicePixelRatio) || 600));
  }

  private refresh(): void {
    if (!this.plot) {
      this.build();
      return;
    }
    const plot = this.plot;
    const data = this.sample(this.plotWidth());
    const [min, max] = this.range();
    plot.batch(() => {
      plot.setData(data, false);
      plot.setScale('x', { min, max });
    });
  }

  private resized(): void {
    const width = this.node.clientWidth;
    if (!width) {
      return;
    }
    if (!this.plot) {
      this.build();
    } else if (Math.abs(this.plot.width - width) >= 1) {
      this.plot.setSize({ width, height: HEIGHT });
      this.refresh();
    }
  }

  private build(): void {
    const width = this.node.clientWidth;
    if (!width) {
      return; // hidden: built when it gets a size
    }
    const colors = this.colors;
    const axis = (extra: Partial<uPlot.Axis>): uPlot.Axis => ({
      stroke: () => colors().muted,
      grid: { stroke: () => colors().grid, width: 1 },
      ticks: { stroke: () => colors().grid, width: 1 },
      font: '11px system-ui, sans-serif',
      ...extra
    });
    const mode = this.settings.xAxis;
    const xAxis =
      mode === 'relative'
        ? axis({ size: 30, values: ticks(formatRelative) })
        : mode === 'step'
          ? axis({ size: 30, values: ticks(formatTick), incrs: STEP_INCREMENTS })
          : axis({ size: 30 });
    const options: uPlot.Options = {
      width,
      height: HEIGHT,
      legend: { show: false },
      scales: {
        x: { time: mode === 'wall', auto: false, range: () => this.range() },
        y: { distr: this.settings.logY ? 3 : 1 }
      },
      axes: [xAxis, axis({ size: labelWidth, values: ticks(formatTick) })],
      series: [
        {},
        { label: 'value', stroke: withAlpha(this.color, 0.35), width: 1, points: { show: false } },
        { label: 'smoothed', stroke: this.color, width: 1.5, points: { show: false } }
      ],
      cursor: {
        drag: { x: true, y: false, setScale: false },
        bind: { dblclick: () => () => { this.zoomTo(null); return null; } },
        points: { show: false }
      },
      hooks: {
        setSelect: [u => this.selected(u)],
        setCursor: [u => this.hovered(u)],
        draw: [() => { this.paints++; this.lastPaint = performance.now(); }]
      }
    };
    const data = this.sample(Math.round(width * devicePixelRatio));
    this.plot = new uPlot(options, data, this.node);
    // the plot area is narrower than the element: sample again for its own width
    if (Math.abs(this.plot.bbox.width - width * devicePixelRatio) > 1) {
      this.refresh();
    }
  }

  private selected(u: uPlot): void {
    const { left, width } = u.select;
    if (width > 2) {
      const lo = u.posToVal(left, 'x');
      const hi = u.posToVal(left + width, 'x');
      u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
      this.zoomTo([lo, hi]);
    }
  }

  private hovered(u: uPlot): void {
    const i = u.cursor.idx;
    if (i == null || i >= this.drawn.index.length) {
      this.readout.textContent = '';
      return;
    }
    const source = this.order ? this.order[this.drawn.index[i]] : this.drawn.index[i];
    const s = this.series;
    const time = new Date(s.wallTime[source] * 1000).toLocaleTimeString();
    this.readout.textContent =
      `${this.run}  step ${s.step[source]}  value ${formatValue(s.value[source])}  ` +
      `smoothed ${formatValue(this.drawn.ys[1][i])}  ${time}`;
  }

  private destroyPlot(): void {
    this.plot?.destroy();
    this.plot = null;
  }
}
