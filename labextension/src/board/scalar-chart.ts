/**
 * One scalar tag's chart, drawn with uPlot as TensorBoard draws it: every run that logged the
 * tag in its colour, its raw values faded under TensorBoard's smoothed curve. Each run is
 * downsampled per pixel column for the visible x range (recomputed on every zoom and resize),
 * then the runs are joined on one x array. Drag zooms every run, double-click shows everything
 * again, hovering reads out each shown run's point nearest the cursor; hidden runs keep their
 * place (and colour) and come back as they were.
 */
import uPlot from 'uplot';
import { alignOnX } from './align';
import type { ScalarSeries } from './data';
import type { Drawn } from './downsample';
import { formatRelative, formatTick } from './format';
import { ScalarCurve, type XAxisMode } from './scalar-curve';
import { ScalarReadout } from './scalar-readout';
import type { BoardColors } from './theme';
import { withAlpha } from './theme';

export type { XAxisMode } from './scalar-curve';

export interface ScalarSettings {
  smoothing: number;
  xAxis: XAxisMode;
  logY: boolean;
}

/** A run's series of the chart's tag. */
export interface ScalarRun {
  run: string;
  series: ScalarSeries;
}

const HEIGHT = 200;

/** What is drawn of one run (plain data for tests and benchmarks). */
export interface ScalarSeriesDebug {
  run: string;
  shown: boolean;
  points: number;
  x: number[];
  value: (number | null)[];
  smoothed: (number | null)[];
  step: number[];
}

/** What the chart draws (plain data for tests and benchmarks). */
export interface ScalarChartDebug {
  tag: string;
  runs: string[];
  range: [number, number];
  fullRange: [number, number];
  /** The y scale's range (log scale: its minimum is positive). */
  yRange: [number, number] | null;
  logY: boolean;
  series: ScalarSeriesDebug[];
  paints: number;
  lastPaint: number;
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

const NOTHING_DRAWN: Drawn = { x: [], ys: [[], []], index: [] };

const positive = (v: number | null | undefined): number | null | undefined => (v == null || v > 0 ? v : null);

export class ScalarChart {
  /** The `div.gk-chart` holding the plot. */
  readonly node: HTMLElement;
  readonly readout = new ScalarReadout();
  private plot: uPlot | null = null;
  private curves: ScalarCurve[] = [];
  /** What is drawn of each curve (nothing for a hidden run). */
  private drawn: Drawn[] = [];
  /** The zoomed x range, or null for everything. */
  private zoom: [number, number] | null = null;
  private paints = 0;
  private lastPaint = 0;
  private resizeObserver = new ResizeObserver(() => this.resized());

  constructor(
    readonly tag: string,
    runs: ScalarRun[],
    private colorOf: (run: string) => string,
    private settings: ScalarSettings,
    private hidden: ReadonlySet<string>,
    private colors: () => BoardColors
  ) {
    this.node = document.createElement('div');
    this.node.className = 'gk-chart';
    this.node.dataset.tag = tag;
    this.setCurves(runs);
    this.resizeObserver.observe(this.node);
  }

  /** The runs drawn, in drawing order. */
  get runs(): string[] {
    return this.curves.map(c => c.run);
  }

  /** New data for the same tag (live refresh): the zoom is kept. */
  setRuns(runs: ScalarRun[]): void {
    const same = runs.length === this.curves.length && runs.every((r, i) => r.run === this.curves[i].run);
    if (same) {
      runs.forEach((r, i) => {
        this.curves[i].series = r.series;
        this.curves[i].prepare(this.settings.xAxis, this.settings.smoothing);
      });
      this.refresh();
    } else {
      this.setCurves(runs);
      this.destroyPlot();
      this.build();
    }
  }

  /** New settings: smoothing recomputes the curves; axis and scale changes rebuild the chart. */
  setSettings(settings: ScalarSettings): void {
    const rebuild = settings.xAxis !== this.settings.xAxis || settings.logY !== this.settings.logY;
    const resmooth = settings.smoothing !== this.settings.smoothing;
    this.settings = settings;
    if (rebuild) {
      this.zoom = null;
      for (const curve of this.curves) {
        curve.prepare(settings.xAxis, settings.smoothing);
      }
      this.destroyPlot();
      this.build();
    } else if (resmooth) {
      for (const curve of this.curves) {
        curve.smooth(settings.smoothing);
      }
      this.refresh();
    }
  }

  /** Shows only the runs not in `hidden`; the zoom is kept. */
  setHidden(hidden: ReadonlySet<string>): void {
    this.hidden = hidden;
    this.refresh();
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
    return {
      tag: this.tag,
      runs: this.runs,
      range: this.plot ? [this.plot.scales.x.min ?? lo, this.plot.scales.x.max ?? hi] : [lo, hi],
      fullRange: this.fullRange(),
      yRange: this.plot ? [this.plot.scales.y.min ?? NaN, this.plot.scales.y.max ?? NaN] : null,
      logY: this.settings.logY,
      series: this.curves.map((curve, i) => {
        const drawn = this.drawn[i] ?? NOTHING_DRAWN;
        return {
          run: curve.run,
          shown: this.shown(curve),
          points: curve.x.length,
          x: drawn.x,
          value: drawn.ys[0],
          smoothed: drawn.ys[1],
          step: drawn.index.map(j => curve.step(j))
        };
      }),
      paints: this.paints,
      lastPaint: this.lastPaint
    };
  }

  dispose(): void {
    this.resizeObserver.disconnect();
    this.destroyPlot();
    this.node.remove();
  }

  private setCurves(runs: ScalarRun[]): void {
    const { xAxis, smoothing } = this.settings;
    this.curves = runs.map(r => new ScalarCurve(r.run, r.series, xAxis, smoothing));
    this.drawn = [];
    this.node.dataset.runs = JSON.stringify(this.runs);
  }

  private shown(curve: ScalarCurve): boolean {
    return !this.hidden.has(curve.run);
  }

  /** The x extent of the shown runs (of every run when none is shown). */
  private fullRange(): [number, number] {
    const shown = this.curves.filter(c => this.shown(c));
    const extents = (shown.length ? shown : this.curves).map(c => c.extent()).filter(e => e !== null);
    if (!extents.length) {
      return [0, 1];
    }
    const lo = Math.min(...extents.map(e => e[0]));
    const hi = Math.max(...extents.map(e => e[1]));
    return hi > lo ? [lo, hi] : [lo - 1, hi + 1];
  }

  private range(): [number, number] {
    return this.zoom ?? this.fullRange();
  }

  /** Downsamples every shown run for the visible range at `widthPx` device pixels; joins them on one x. */
  private sample(widthPx: number): uPlot.AlignedData {
    const [lo, hi] = this.range();
    this.drawn = this.curves.map(c => (this.shown(c) ? c.sample(lo, hi, widthPx) : NOTHING_DRAWN));
    const { x, ys } = alignOnX(this.drawn);
    const values = (s: number) => ys.map(run => (this.settings.logY ? run[s].map(positive) : run[s]));
    return [x, ...values(0), ...values(1)] as uPlot.AlignedData;
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
    const n = this.curves.length;
    plot.batch(() => {
      this.curves.forEach((curve, i) => {
        const show = this.shown(curve);
        if (plot.series[i + 1].show !== show) {
          plot.setSeries(i + 1, { show });
          plot.setSeries(n + i + 1, { show });
        }
      });
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
    const line = (curve: ScalarCurve, smoothed: boolean): uPlot.Series => ({
      label: smoothed ? curve.run : `${curve.run} (raw)`,
      stroke: smoothed ? this.colorOf(curve.run) : withAlpha(this.colorOf(curve.run), 0.3),
      width: smoothed ? 1.5 : 1,
      show: this.shown(curve),
      points: { show: false }
    });
    const options: uPlot.Options = {
      width,
      height: HEIGHT,
      legend: { show: false },
      scales: {
        x: { time: mode === 'wall', auto: false, range: () => this.range() },
        y: { distr: this.settings.logY ? 3 : 1 }
      },
      axes: [xAxis, axis({ size: labelWidth, values: ticks(formatTick) })],
      // the raw lines first, so every smoothed curve is drawn over them
      series: [{}, ...this.curves.map(c => line(c, false)), ...this.curves.map(c => line(c, true))],
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
    const { left, top } = u.cursor;
    if (left == null || top == null || left < 0) {
      this.readout.hide();
      return;
    }
    const x = u.posToVal(left, 'x');
    const rows = this.curves.flatMap(c => {
      const point = this.shown(c) ? c.nearest(x) : null;
      return point ? [{ run: c.run, color: this.colorOf(c.run), point }] : [];
    });
    const over = u.over.getBoundingClientRect();
    this.readout.show(rows, over.left + left, over.top + top);
  }

  private destroyPlot(): void {
    this.plot?.destroy();
    this.plot = null;
  }
}
