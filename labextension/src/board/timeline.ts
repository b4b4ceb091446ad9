/**
 * The Timeline dashboard: one canvas lane per layer and phase (forward, backward, optimizer, ...)
 * under a lane of training steps. Ctrl + wheel or the buttons zoom, dragging pans, the step menu
 * jumps to one step; hovering shows a span, clicking a layer's lane selects that layer.
 */
import { lowerBound, upperBound } from './arrays';
import type { BoardContext, Dashboard } from './dashboard';
import type { BoardData, RunData, SpanTable } from './data';
import { button, el, select, setOptions, setRunOptions } from './dom';
import { formatDuration } from './format';
import { buildLanes, type Lane } from './spans';

const LANE_HEIGHT = 20;
const AXIS_HEIGHT = 22;
const LABEL_WIDTH = 180;
const MIN_SPAN_NS = 1;
const DRAG_THRESHOLD = 4;
const ALL_STEPS = '';
const DEBUG_BOXES = 20;

const PHASE_COLORS: Record<string, string> = {
  forward: '#42a5f5',
  backward: '#ff7043',
  optimizer: '#66bb6a',
  data: '#9e9e9e',
  callback: '#ab47bc',
  step: '#90a4ae'
};
const ODD_STEP_COLOR = '#cfd8dc';

const phaseColor = (lane: Lane): string =>
  PHASE_COLORS[lane.kind === 'step' && !(lane.phase in PHASE_COLORS) ? 'step' : lane.phase] ?? '#bdbdbd';

/** Start times of a lane's spans, ascending (for binary search). */
function laneStarts(spans: SpanTable, lane: Lane): Float64Array {
  return Float64Array.from(lane.spans, i => spans.start[i]);
}

/** `text` cut (with an ellipsis) to fit `width` pixels. */
function fitText(ctx: CanvasRenderingContext2D, text: string, width: number): string {
  if (ctx.measureText(text).width <= width) {
    return text;
  }
  let n = text.length;
  while (n > 0 && ctx.measureText(`${text.slice(0, n)}…`).width > width) {
    n--;
  }
  return n ? `${text.slice(0, n)}…` : '';
}

/** Round tick spacing (1, 2 or 5 × 10^k ns) giving about `count` ticks over `span` ns. */
function tickStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map(m => m * power).find(s => s >= raw) ?? 10 * power;
}

export class TimelineDashboard implements Dashboard {
  readonly node = el('div', 'gk-dashboard');
  private runs: RunData[] = [];
  private runName = '';
  private spans: SpanTable | null = null;
  private lanes: Lane[] = [];
  private starts: Float64Array[] = [];
  private full: [number, number] = [0, 1];
  private range: [number, number] = [0, 1];
  private zoomed = false;
  private selected: string | null = null;
  private runSelect = select('Run', [], '', value => this.choose(value));
  private stepSelect = select('Step', [], ALL_STEPS, value => this.showStep(value));
  private view = el('div', 'gk-timeline-view');
  private canvas = document.createElement('canvas');
  private tooltip = el('div', 'gk-tooltip');
  private message = el('div', 'gk-board-message');
  private drag: { id: number; x: number; moved: boolean } | null = null;
  private swallowClick = false;
  private frame = 0;
  private resizeObserver = new ResizeObserver(() => this.schedule());

  constructor(private context: BoardContext) {
    this.node.dataset.dashboard = 'timeline';
    this.runSelect.input.dataset.control = 'timeline-run';
    this.stepSelect.input.dataset.control = 'timeline-step';
    const controls = el('div', 'gk-controls');
    const zoomIn = button('+', 'Zoom in', { action: 'timeline-zoom-in' });
    const zoomOut = button('−', 'Zoom out', { action: 'timeline-zoom-out' });
    const fit = button('Fit', 'Show every span', { action: 'timeline-fit' });
    zoomIn.addEventListener('click', () => this.zoomBy(0.5));
    zoomOut.addEventListener('click', () => this.zoomBy(2));
    fit.addEventListener('click', () => this.setRange(this.full, false));
    controls.append(this.runSelect.node, this.stepSelect.node, zoomIn, zoomOut, fit,
      el('span', 'gk-note', 'Drag to pan, Ctrl + wheel to zoom, click a lane to select its layer'));
    this.tooltip.hidden = true;
    this.view.append(this.canvas);
    this.node.append(controls, this.message, this.view, this.tooltip);
    this.view.addEventListener('wheel', this.onWheel, { passive: false });
    this.view.addEventListener('pointerdown', this.onPointerDown);
    this.view.addEventListener('pointermove', this.onPointerMove);
    this.view.addEventListener('pointerup', this.onPointerUp);
    this.view.addEventListener('pointercancel', this.onPointerUp);
    this.view.addEventListener('pointerleave', () => (this.tooltip.hidden = true));
    this.view.addEventListener('click', this.onClick);
    this.resizeObserver.observe(this.view);
  }

  update(data: BoardData): void {
    this.runs = data.runs.filter(run => run.spans?.count);
    this.choose(setRunOptions(this.runSelect, this.runs, this.runName));
  }

  shown(): void {
    this.schedule();
  }

  setSelected(layer: string | null): void {
    this.selected = layer;
    this.schedule();
  }

  restyle(): void {
    this.schedule();
  }

  debug(): unknown {
    const spans = this.spans;
    return {
      run: this.runName,
      range: this.range,
      fullRange: this.full,
      labelWidth: LABEL_WIDTH,
      lanes: this.lanes.map((lane, i) => ({
        layer: lane.layer,
        phase: lane.phase,
        kind: lane.kind,
        count: lane.spans.length,
        y: AXIS_HEIGHT + i * LANE_HEIGHT + LANE_HEIGHT / 2,
        // where its first spans are drawn: [x0, x1, step] in canvas pixels
        boxes: spans ? Array.from(lane.spans.subarray(0, DEBUG_BOXES), i => [this.xOf(spans.start[i]), this.xOf(spans.end[i]), spans.step[i]]) : [],
        selected: lane.layer === this.selected
      }))
    };
  }

  dispose(): void {
    cancelAnimationFrame(this.frame);
    this.resizeObserver.disconnect();
    this.node.remove();
  }

  private choose(runName: string): void {
    const changed = runName !== this.runName;
    this.runName = runName;
    const run = this.runs.find(r => r.name === runName);
    this.spans = run?.spans ?? null;
    this.message.textContent = this.runs.length ? '' : 'No spans recorded (use gk.trace or the TensorBoard callback with profile_batch).';
    this.view.hidden = !this.spans;
    const spans = this.spans;
    this.lanes = spans ? buildLanes(spans) : [];
    this.starts = spans ? this.lanes.map(lane => laneStarts(spans, lane)) : [];
    let lo = Infinity;
    let hi = -Infinity;
    const steps = new Set<number>();
    if (spans) {
      for (let i = 0; i < spans.count; i++) {
        lo = Math.min(lo, spans.start[i]);
        hi = Math.max(hi, spans.end[i]);
        if (Number.isFinite(spans.step[i])) {
          steps.add(spans.step[i]);
        }
      }
    }
    this.full = hi > lo ? [lo, hi + (hi - lo) * 0.01] : [0, 1];
    const stepOptions = [...steps].sort((a, b) => a - b).map((s): [string, string] => [String(s), `step ${s}`]);
    setOptions(this.stepSelect.input, [[ALL_STEPS, 'All steps'], ...stepOptions], changed ? ALL_STEPS : this.stepSelect.input.value);
    if (changed || !this.zoomed) {
      this.range = [...this.full];
      this.zoomed = false;
    }
    this.schedule();
  }

  private showStep(value: string): void {
    const spans = this.spans;
    if (!spans || value === ALL_STEPS) {
      this.setRange(this.full, false);
      return;
    }
    const step = Number(value);
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < spans.count; i++) {
      if (spans.step[i] === step) {
        lo = Math.min(lo, spans.start[i]);
        hi = Math.max(hi, spans.end[i]);
      }
    }
    if (hi > lo) {
      const pad = (hi - lo) * 0.02;
      this.setRange([lo - pad, hi + pad], true);
    }
  }

  private setRange([lo, hi]: [number, number], zoomed: boolean): void {
    const width = Math.max(MIN_SPAN_NS, hi - lo);
    this.range = [lo, lo + width];
    this.zoomed = zoomed;
    this.schedule();
  }

  /** Multiplies the visible duration by `factor` around time `at` (default: the middle). */
  private zoomBy(factor: number, at = (this.range[0] + this.range[1]) / 2): void {
    const [lo, hi] = this.range;
    this.setRange([at - (at - lo) * factor, at + (hi - at) * factor], true);
  }

  private plotWidth(): number {
    return Math.max(1, this.view.clientWidth - LABEL_WIDTH);
  }

  private xOf(t: number): number {
    const [lo, hi] = this.range;
    return LABEL_WIDTH + ((t - lo) / (hi - lo)) * this.plotWidth();
  }

  private timeAt(x: number): number {
    const [lo, hi] = this.range;
    return lo + ((x - LABEL_WIDTH) / this.plotWidth()) * (hi - lo);
  }

  private schedule(): void {
    if (!this.frame) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.draw();
      });
    }
  }

  private draw(): void {
    const width = this.view.clientWidth;
    if (!width || !this.spans) {
      return;
    }
    const spans = this.spans;
    const height = AXIS_HEIGHT + this.lanes.length * LANE_HEIGHT + 4;
    const ratio = devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(width * ratio) || this.canvas.height !== Math.round(height * ratio)) {
      this.canvas.width = Math.round(width * ratio);
      this.canvas.height = Math.round(height * ratio);
      this.canvas.style.width = `${width}px`;
      this.canvas.style.height = `${height}px`;
    }
    const ctx = this.canvas.getContext('2d')!;
    const colors = this.context.colors();
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.fillStyle = colors.bg;
    ctx.fillRect(0, 0, width, height);
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    this.drawAxis(ctx, width, height);

    const [lo, hi] = this.range;
    this.lanes.forEach((lane, index) => {
      const top = AXIS_HEIGHT + index * LANE_HEIGHT;
      if (lane.layer === this.selected) {
        ctx.globalAlpha = 0.2;
        ctx.fillStyle = colors.accent;
        ctx.fillRect(0, top, width, LANE_HEIGHT);
        ctx.globalAlpha = 1;
      }
      ctx.fillStyle = lane.kind === 'op' ? colors.muted : colors.fg;
      const label = [lane.layer, lane.kind === 'step' ? '' : lane.phase, lane.kind === 'op' ? 'ops' : '']
        .filter(Boolean)
        .join(' · ');
      ctx.fillText(fitText(ctx, label, LABEL_WIDTH - 10), 6, top + LANE_HEIGHT / 2);
      ctx.save();
      ctx.beginPath();
      ctx.rect(LABEL_WIDTH, top, width - LABEL_WIDTH, LANE_HEIGHT);
      ctx.clip();
      const color = phaseColor(lane);
      const starts = this.starts[index];
      const first = lowerBound(starts, lo - lane.longest);
      const last = upperBound(starts, hi);
      let drawnTo = -Infinity;
      for (let k = first; k < last; k++) {
        const i = lane.spans[k];
        if (spans.end[i] < lo) {
          continue;
        }
        const x0 = this.xOf(spans.start[i]);
        const x1 = Math.max(x0 + 1, this.xOf(spans.end[i]));
        if (x1 <= drawnTo) {
          continue; // inside a pixel already painted
        }
        const from = Math.max(x0, drawnTo);
        ctx.fillStyle = color === PHASE_COLORS.step && spans.step[i] % 2 ? ODD_STEP_COLOR : color;
        ctx.fillRect(from, top + 2, x1 - from, LANE_HEIGHT - 4);
        if (x1 - x0 > 48) {
          ctx.fillStyle = '#000000';
          const text = lane.kind === 'step' && Number.isFinite(spans.step[i]) ? `${spans.name[i]} ${spans.step[i]}` : spans.name[i];
          const left = Math.max(x0, LABEL_WIDTH) + 3;
          ctx.fillText(fitText(ctx, text, x1 - left - 3), left, top + LANE_HEIGHT / 2);
        }
        if (lane.layer === this.selected) {
          ctx.strokeStyle = colors.fg;
          ctx.strokeRect(x0 + 0.5, top + 2.5, x1 - x0 - 1, LANE_HEIGHT - 5);
        }
        drawnTo = x1;
      }
      ctx.restore();
      ctx.strokeStyle = colors.grid;
      ctx.beginPath();
      ctx.moveTo(0, top + LANE_HEIGHT + 0.5);
      ctx.lineTo(width, top + LANE_HEIGHT + 0.5);
      ctx.stroke();
    });
  }

  private drawAxis(ctx: CanvasRenderingContext2D, width: number, height: number): void {
    const colors = this.context.colors();
    const [lo, hi] = this.range;
    const step = tickStep(hi - lo, Math.floor(this.plotWidth() / 110));
    ctx.strokeStyle = colors.grid;
    ctx.fillStyle = colors.muted;
    for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) {
      const x = Math.round(this.xOf(t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(x, AXIS_HEIGHT - 4);
      ctx.lineTo(x, height);
      ctx.stroke();
      ctx.fillText(formatDuration(t - this.full[0]), x + 3, AXIS_HEIGHT / 2);
    }
    ctx.strokeStyle = colors.border;
    ctx.beginPath();
    ctx.moveTo(LABEL_WIDTH + 0.5, 0);
    ctx.lineTo(LABEL_WIDTH + 0.5, height);
    ctx.moveTo(0, AXIS_HEIGHT + 0.5);
    ctx.lineTo(width, AXIS_HEIGHT + 0.5);
    ctx.stroke();
  }

  /** The lane and span under a point of the canvas (CSS pixels). */
  private hit(x: number, y: number): { lane: Lane; span: number | null } | null {
    const index = Math.floor((y - AXIS_HEIGHT) / LANE_HEIGHT);
    const lane = this.lanes[index];
    if (!lane || !this.spans) {
      return null;
    }
    if (x < LABEL_WIDTH) {
      return { lane, span: null };
    }
    const spans = this.spans;
    const t = this.timeAt(x);
    const slack = (this.range[1] - this.range[0]) / this.plotWidth(); // one pixel
    const starts = this.starts[index];
    for (let k = upperBound(starts, t + slack) - 1; k >= 0 && starts[k] >= t - lane.longest - slack; k--) {
      const i = lane.spans[k];
      if (spans.end[i] + slack >= t) {
        return { lane, span: i };
      }
    }
    return { lane, span: null };
  }

  private local(event: MouseEvent): { x: number; y: number } {
    const rect = this.canvas.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  }

  private onWheel = (event: WheelEvent): void => {
    if (!event.ctrlKey && !event.metaKey) {
      return;
    }
    event.preventDefault();
    const { x } = this.local(event);
    const lines = event.deltaMode === WheelEvent.DOM_DELTA_LINE ? 16 : 1;
    this.zoomBy(Math.exp(event.deltaY * lines * 0.002), x > LABEL_WIDTH ? this.timeAt(x) : undefined);
  };

  private onPointerDown = (event: PointerEvent): void => {
    if (event.button === 0) {
      this.swallowClick = false;
      this.drag = { id: event.pointerId, x: event.clientX, moved: false };
    }
  };

  private onPointerMove = (event: PointerEvent): void => {
    const drag = this.drag;
    if (drag && drag.id === event.pointerId) {
      const dx = event.clientX - drag.x;
      if (!drag.moved && Math.abs(dx) < DRAG_THRESHOLD) {
        return;
      }
      if (!drag.moved) {
        drag.moved = true;
        this.view.setPointerCapture(event.pointerId);
        this.view.classList.add('gk-dragging');
        this.tooltip.hidden = true;
      }
      const shift = (dx / this.plotWidth()) * (this.range[1] - this.range[0]);
      this.setRange([this.range[0] - shift, this.range[1] - shift], true);
      drag.x = event.clientX;
      return;
    }
    this.hover(event);
  };

  private onPointerUp = (event: PointerEvent): void => {
    if (this.drag?.id === event.pointerId) {
      this.swallowClick = this.drag.moved;
      this.drag = null;
      this.view.classList.remove('gk-dragging');
    }
  };

  private onClick = (event: MouseEvent): void => {
    if (this.swallowClick) {
      this.swallowClick = false;
      return;
    }
    const { x, y } = this.local(event);
    const hit = this.hit(x, y);
    if (hit && hit.lane.kind !== 'step') {
      this.context.select(hit.lane.layer);
    } else if (hit?.span != null && this.spans) {
      this.stepSelect.input.value = String(this.spans.step[hit.span]);
      this.showStep(this.stepSelect.input.value);
    }
  };

  private hover(event: PointerEvent): void {
    const { x, y } = this.local(event);
    const hit = this.hit(x, y);
    const spans = this.spans;
    if (!hit || hit.span === null || !spans) {
      this.tooltip.hidden = true;
      return;
    }
    const i = hit.span;
    const lines = [
      spans.name[i],
      [spans.kind[i], spans.phase[i], spans.layer[i] ? `layer ${spans.layer[i]}` : ''].filter(Boolean).join(' · '),
      `duration ${formatDuration(spans.end[i] - spans.start[i])}`,
      Number.isFinite(spans.step[i]) ? `step ${spans.step[i]}` : ''
    ];
    this.tooltip.textContent = lines.filter(Boolean).join('\n');
    this.tooltip.hidden = false;
    const origin = this.node.getBoundingClientRect();
    this.tooltip.style.left = `${event.clientX - origin.left + 12}px`;
    this.tooltip.style.top = `${event.clientY - origin.top + 12}px`;
  }
}
