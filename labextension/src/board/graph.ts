/**
 * The Graph dashboard: a run's model graph (or a traced op graph) drawn by the core's GraphView,
 * layers coloured by their measured time, a click showing the layer's span statistics.
 */
import { GraphView, type GraphData } from '../core';
import type { BoardContext, Dashboard } from './dashboard';
import type { BoardData, RunData } from './data';
import { el, select, setOptions, setRunOptions } from './dom';
import { formatDuration, formatShare } from './format';
import { layerStats, laneLayer } from './spans';
import { heatColor } from './theme';

const MODEL = '';

/** Total measured time per node id: the graph's `timing`, else summed from the run's layer spans. */
function nodeTimes(run: RunData): Map<string, number> {
  const times = new Map<string, number>();
  if (run.graph?.timing) {
    for (const [id, t] of Object.entries(run.graph.timing)) {
      times.set(id, t.total_ns);
    }
  } else if (run.spans) {
    const s = run.spans;
    for (let i = 0; i < s.count; i++) {
      if (s.kind[i] === 'layer') {
        const layer = laneLayer(s, i);
        times.set(layer, (times.get(layer) ?? 0) + s.end[i] - s.start[i]);
      }
    }
  }
  return times;
}

/** Black or white, whichever reads better on `hex`. */
function textOn(hex: string): string {
  const [r, g, b] = [1, 3, 5].map(i => parseInt(hex.slice(i, i + 2), 16) / 255);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 ? '#000000' : '#ffffff';
}

export class GraphDashboard implements Dashboard {
  readonly node = el('div', 'gk-dashboard');
  private runs: RunData[] = [];
  private runName = '';
  private graphName = MODEL;
  private runSelect = select('Run', [], '', value => this.choose(value, MODEL));
  private graphSelect = select('Graph', [], MODEL, value => this.choose(this.runName, value));
  private legend = el('div', 'gk-legend');
  private message = el('div', 'gk-board-message');
  private stats = el('div', 'gk-span-stats');
  private view: GraphView;
  private shownJson = '';
  private times = new Map<string, number>();
  private selected: string | null = null;
  private observer = new MutationObserver(() => this.decorate());

  constructor(private context: BoardContext) {
    this.node.dataset.dashboard = 'graph';
    this.runSelect.input.dataset.control = 'graph-run';
    this.graphSelect.input.dataset.control = 'graph-name';
    const controls = el('div', 'gk-controls');
    controls.append(this.runSelect.node, this.graphSelect.node, this.legend);
    this.node.append(controls, this.message);
    // the board selects layers by name (a nested model's node id is `model/layer`)
    this.view = new GraphView(this.node, { onSelect: id => this.context.select(this.layerName(id)) });
    this.observer.observe(this.view.node, { childList: true, subtree: true, attributeFilter: ['hidden'], attributes: true });
  }

  update(data: BoardData): void {
    this.runs = data.runs.filter(run => run.graph);
    this.choose(setRunOptions(this.runSelect, this.runs, this.runName), this.graphName);
  }

  shown(): void {
    this.view.update(this.currentGraph());
  }

  setSelected(layer: string | null): void {
    this.selected = layer;
    this.decorate();
  }

  restyle(): void {
    this.decorate();
  }

  debug(): unknown {
    const colored: Record<string, string> = {};
    for (const g of Array.from(this.view.node.querySelectorAll('g.node[data-gk-id]'))) {
      const fill = g.querySelector(':scope > polygon, :scope > path')?.getAttribute('fill');
      if (g.hasAttribute('data-gk-timed') && fill) {
        colored[g.getAttribute('data-gk-id')!] = fill;
      }
    }
    return { run: this.runName, graph: this.graphName, colored, stats: this.stats.isConnected ? this.stats.textContent : null };
  }

  dispose(): void {
    this.observer.disconnect();
    this.view.dispose();
    this.node.remove();
  }

  /** The layer name of graph node `id`. */
  private layerName(id: string): string {
    return this.currentGraph()?.nodes.find(node => node.id === id)?.name ?? id;
  }

  private run(): RunData | undefined {
    return this.runs.find(run => run.name === this.runName);
  }

  private currentGraph(): GraphData | null {
    const graph = this.run()?.graph ?? null;
    return this.graphName === MODEL ? graph : graph?.op_graphs?.[this.graphName] ?? null;
  }

  private choose(runName: string, graphName: string): void {
    this.runName = runName;
    const run = this.run();
    const opGraphs = Object.keys(run?.graph?.op_graphs ?? {});
    setOptions(this.graphSelect.input, [[MODEL, 'Model'], ...opGraphs.map((n): [string, string] => [n, n])], graphName);
    this.graphSelect.node.hidden = !opGraphs.length;
    this.graphName = this.graphSelect.input.value;
    // the drawn layers' times, by node id (a nested model's layer is timed under its own name)
    const measured = run && this.graphName === MODEL ? nodeTimes(run) : new Map<string, number>();
    this.times = new Map();
    for (const node of this.graphName === MODEL ? run?.graph?.nodes ?? [] : []) {
      const time = measured.get(node.id) ?? measured.get(node.name);
      if (time !== undefined) {
        this.times.set(node.id, time);
      }
    }
    this.showLegend();
    this.message.textContent = this.runs.length ? '' : 'No run has a model graph (write_graph=True, or trace_export).';
    const graph = this.currentGraph();
    const json = JSON.stringify(graph);
    if (json !== this.shownJson) {
      this.shownJson = json;
      this.view.update(graph);
    }
    this.decorate();
  }

  private showLegend(): void {
    const max = Math.max(0, ...this.times.values());
    this.legend.hidden = !max;
    if (max) {
      const bar = el('span', 'gk-legend-bar');
      bar.style.background = `linear-gradient(to right, ${heatColor(0)}, ${heatColor(0.5)}, ${heatColor(1)})`;
      this.legend.replaceChildren('Measured time: 0', bar, formatDuration(max));
    }
  }

  /** Colours timed layers, marks the selected one and puts its span statistics in the details panel. */
  private decorate(): void {
    const max = Math.max(0, ...this.times.values());
    for (const g of Array.from(this.view.node.querySelectorAll('g.node[data-gk-id]'))) {
      const id = g.getAttribute('data-gk-id')!;
      g.classList.toggle('gk-linked', this.selected !== null && this.layerName(id) === this.selected);
      const time = this.times.get(id);
      const shape = g.querySelector(':scope > polygon, :scope > path');
      if (time === undefined || !max || !shape) {
        continue;
      }
      const fill = heatColor(time / max);
      shape.setAttribute('fill', fill);
      for (const text of Array.from(g.querySelectorAll('text'))) {
        text.setAttribute('fill', textOn(fill));
        text.removeAttribute('fill-opacity'); // the theme's translucent text colours
      }
      g.setAttribute('data-gk-timed', '');
    }
    this.placeStats();
  }

  private placeStats(): void {
    const run = this.run();
    const layers = new Set(run?.graph?.nodes.map(node => node.name));
    const rows = run?.spans && this.selected !== null ? layerStats(run.spans, this.selected, layers) : [];
    if (!rows.length) {
      if (this.stats.isConnected) {
        this.stats.remove();
      }
      return;
    }
    const signature = `${this.selected}\u0000${rows.map(r => `${r.phase}:${r.count}:${r.totalNs}`).join()}`;
    if (this.stats.dataset.signature !== signature) {
      this.stats.dataset.signature = signature;
      const table = el('table');
      const head = table.createTHead().insertRow();
      for (const title of ['phase', 'count', 'total', 'mean', 'share']) {
        head.append(el('th', undefined, title));
      }
      const body = table.createTBody();
      for (const r of rows) {
        const row = body.insertRow();
        for (const text of [r.phase, r.count.toLocaleString(), formatDuration(r.totalNs), formatDuration(r.meanNs), formatShare(r.share)]) {
          row.insertCell().textContent = text;
        }
      }
      this.stats.replaceChildren(el('div', 'gk-heading', `Spans of ${this.selected}`), table);
    }
    // right under the layer's properties in the details panel, else under the graph
    const details = this.view.node.querySelector<HTMLElement>('.gk-details');
    const props = details && !details.hidden ? details.querySelector(':scope > .gk-props') : null;
    if (props) {
      if (props.nextElementSibling !== this.stats) {
        props.after(this.stats);
      }
    } else if (this.stats.parentElement !== this.node) {
      this.node.append(this.stats);
    }
  }
}
