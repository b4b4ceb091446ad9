/**
 * GraphView: one interactive drawing of a graph (toolbar, pan/zoom canvas, details panel,
 * running total, model summary), following the DOM contract of docs/frontend.md.
 *
 * `update()` may be called for every message; layout runs at most once per animation frame
 * and only when the DOT text changed.
 */
import { renderDetails } from './details';
import { button, el } from './dom';
import { buildDot, givenDot } from './dot';
import { download, safeFilename, svgToPng } from './download';
import { formatInt } from './format';
import { PAD, PanZoom } from './panzoom';
import { renderSvg } from './renderer';
import { ensureStyles } from './styles';
import { themeColors, type ThemeColors } from './theme';
import type { GraphData, GraphNode, PinSource } from './types';

export interface GraphViewOptions {
  /** Called when a layer is clicked; the live widget asks Python for its weight statistics. */
  onSelect?: (id: string) => void;
  /** What the `Pin` button keeps in JupyterLab's right side panel; the button shows only when
   * this is given and graphkit's JupyterLab extension offers pinning. */
  pin?: () => PinSource;
}

const MIN_HEIGHT = 120;
/** The canvas grows with the drawing up to the smaller of these, then scrolls. */
const MAX_HEIGHT = 800;
const MAX_VIEWPORT_SHARE = 0.7;
/** graphviz measures in points; CSS pixels are 3/4 of a point. */
const PX_PER_PT = 4 / 3;
/** "Fit" never shrinks the drawing's smallest text below this (CSS pixels). */
const MIN_TEXT_PX = 10;
/** Room a horizontal scrollbar takes (CSS pixels). */
const SCROLLBAR = 16;
/** PNG exports have this many pixels per CSS pixel. */
const PNG_SCALE = 2;

const TOOLBAR: [action: string, label: string, title: string][] = [
  ['fit', 'Fit', 'Fit the graph to the view (keeping its text readable)'],
  ['actual-size', '1:1', 'Show the graph at its actual size'],
  ['zoom-in', '+', 'Zoom in'],
  ['zoom-out', '−', 'Zoom out'],
  ['export-svg', 'SVG', 'Download the drawing as SVG'],
  ['export-png', 'PNG', 'Download the drawing as PNG'],
  ['export-dot', 'DOT', 'Download the graphviz DOT source']
];

export class GraphView {
  /** The `div.gk-graph-view` element. */
  readonly node = el('div', 'gk-graph-view');
  private title = document.createElement('span');
  private total = document.createElement('span');
  private canvas = el('div', 'gk-canvas');
  private details = el('div', 'gk-details');
  private message = el('div', 'gk-message');
  private summary = document.createElement('details');
  private panzoom = new PanZoom(this.canvas);
  private graph: GraphData | null = null;
  private svg: SVGSVGElement | null = null;
  private size = { width: 0, height: 0 };
  /** DOT of the current drawing. */
  private dot = '';
  /** Groups the user collapsed (true) or expanded (false), overriding the graph's defaults. */
  private toggled = new Map<string, boolean>();
  private selected: string | null = null;
  private shownNode: GraphNode | null = null;
  private frame = 0;
  private drawing = false;
  private redraw = false;
  private disposed = false;
  private resizeObserver = new ResizeObserver(() => this.resized());
  private themeObserver = new MutationObserver(() => this.themeChanged());

  constructor(host: HTMLElement, private options: GraphViewOptions = {}) {
    ensureStyles(host.ownerDocument);
    this.node.dataset.state = 'loading';
    this.title.className = 'gk-title';
    this.total.className = 'gk-total';
    this.summary.className = 'gk-summary';
    this.summary.hidden = true;
    this.details.hidden = true;
    this.message.textContent = 'Loading the graph…';

    const toolbar = el('div', 'gk-toolbar');
    toolbar.append(this.title, this.total, el('div', 'gk-spacer'));
    for (const [action, label, title] of TOOLBAR) {
      toolbar.appendChild(button(label, title, { action }));
    }
    if (options.pin && globalThis.__graphkitLab?.pin) {
      toolbar.appendChild(button('Pin', 'Keep a synced view of this graph in the right side panel', { action: 'pin' }));
    }
    toolbar.addEventListener('click', this.onToolbarClick);
    this.canvas.title = 'Drag to pan, Ctrl + wheel to zoom, click a layer for its details';
    this.canvas.tabIndex = 0;
    this.canvas.addEventListener('click', this.onCanvasClick);
    this.details.addEventListener('click', this.onDetailsClick);
    this.node.addEventListener('keydown', this.onKeyDown);

    const body = el('div', 'gk-body');
    body.append(this.canvas, this.details);
    this.node.append(toolbar, this.message, body, this.summary);
    host.appendChild(this.node);

    this.resizeObserver.observe(this.canvas);
    this.themeObserver.observe(host.ownerDocument.body, {
      attributes: true,
      attributeFilter: ['data-jp-theme-name', 'data-jp-theme-light']
    });
  }

  /** Shows `graph` (null: still waiting for it). Cheap; drawing happens on the next frame. */
  update(graph: GraphData | null): void {
    this.graph = graph;
    this.schedule();
  }

  dispose(): void {
    this.disposed = true;
    cancelAnimationFrame(this.frame);
    this.resizeObserver.disconnect();
    this.themeObserver.disconnect();
    this.panzoom.dispose();
    this.node.remove();
  }

  private schedule(): void {
    if (!this.frame && !this.disposed) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        void this.draw();
      });
    }
  }

  private async draw(): Promise<void> {
    if (this.drawing) {
      this.redraw = true;
      return;
    }
    const graph = this.graph;
    this.updateChrome(graph);
    // Theme colours need the element in the page; `resized` draws once it is there.
    if (!graph || !this.node.isConnected) {
      return;
    }
    const { dot, targets, byTitle } = graph.dot
      ? givenDot(graph)
      : buildDot(graph, this.collapsedGroups(graph), themeColors(this.node));
    if (dot === this.dot) {
      return;
    }
    this.drawing = true;
    try {
      const svg = await renderSvg(dot, targets, byTitle);
      if (this.disposed) {
        return;
      }
      this.dot = dot;
      this.show(svg);
      this.node.dataset.state = 'ready';
      this.message.textContent = graph.nodes.length || graph.dot ? '' : 'No layers yet.';
    } catch (err) {
      this.node.dataset.state = 'error';
      this.message.textContent = `Could not draw the graph: ${err instanceof Error ? err.message : String(err)}`;
    } finally {
      this.drawing = false;
      if (this.redraw) {
        this.redraw = false;
        this.schedule();
      }
    }
  }

  /** Title, total, summary and details panel: everything but the drawing. */
  private updateChrome(graph: GraphData | null): void {
    this.title.textContent = graph?.title ?? '';
    this.total.textContent = graph ? `Total params: ${formatInt(graph.total_params)}` : '';
    this.total.title = graph ? `Trainable params: ${formatInt(graph.trainable_params)}` : '';
    const summary = graph?.summary ?? null;
    this.summary.hidden = summary === null;
    if (summary !== null && this.summary.querySelector('pre')?.textContent !== summary) {
      const label = document.createElement('summary');
      label.textContent = 'Model summary';
      const text = document.createElement('pre');
      text.textContent = summary;
      this.summary.replaceChildren(label, text);
    }
    this.showDetails();
  }

  private collapsedGroups(graph: GraphData): Set<string> {
    return new Set(graph.groups.filter(g => this.toggled.get(g.id) ?? g.collapsed).map(g => g.id));
  }

  /**
   * Puts `svg` in the canvas at its natural size: graphviz's points as CSS pixels at 96 dpi,
   * whatever `dpi` the DOT asks for (graphviz scales the drawing by dpi/72 for that).
   */
  private show(svg: SVGSVGElement): void {
    this.canvas.replaceChildren(svg);
    const box = svg.viewBox.baseVal;
    const graph = svg.querySelector<SVGGraphicsElement>('g.graph');
    const dpiScale = graph?.transform.baseVal.consolidate()?.matrix.a || 1;
    const width = ((box?.width ?? 0) / dpiScale) * PX_PER_PT;
    const height = ((box?.height ?? 0) / dpiScale) * PX_PER_PT;
    svg.setAttribute('width', `${width}`);
    svg.setAttribute('height', `${height}`);
    const first = this.svg === null;
    this.svg = svg;
    this.size = { width, height };
    this.panzoom.setContent(svg, width, height, MIN_TEXT_PX / (smallestFont(svg) * PX_PER_PT));
    // a drawing wider than the view starts where its inputs are
    this.panzoom.startX = { LR: 0, RL: 1 }[this.graph?.rankdir ?? ''] ?? 0.5;
    if (!this.panzoom.touched) {
      this.setHeight(this.fittingHeight());
      this.panzoom.fit(first); // a redrawn graph (a live view growing) keeps the scroll position
    }
    this.markSelection();
  }

  /**
   * Canvas height that shows the whole drawing at the width available, as long as its text stays
   * readable, up to the cap (the canvas scrolls beyond).
   */
  private fittingHeight(): number {
    const available = this.canvas.clientWidth || 600;
    const scale = this.panzoom.widthScale(available);
    const scrollbar = this.size.width * scale + 2 * PAD > available ? SCROLLBAR : 0;
    const cap = Math.min(MAX_HEIGHT, MAX_VIEWPORT_SHARE * (this.node.ownerDocument.defaultView?.innerHeight ?? 1000));
    const natural = this.size.height * scale + 2 * PAD + scrollbar;
    return Math.round(Math.min(Math.max(cap, MIN_HEIGHT), Math.max(MIN_HEIGHT, natural)));
  }

  /** Sets the canvas height; the details panel beside it scrolls within the same height. */
  private setHeight(height: number): void {
    const px = `${height}px`;
    if (this.canvas.style.height !== px) {
      this.canvas.style.height = px;
      this.details.style.maxHeight = px;
    }
  }

  /** The canvas appeared or changed size: draw if not drawn yet, else refit (unless the user moved). */
  private resized(): void {
    if (!this.svg) {
      this.schedule();
    } else if (!this.panzoom.touched) {
      this.setHeight(this.fittingHeight());
      this.panzoom.fit(false);
    }
  }

  private themeChanged(): void {
    this.dot = '';
    this.schedule();
  }

  private select(id: string | null): void {
    this.selected = id;
    this.shownNode = null;
    this.markSelection();
    this.showDetails();
    if (id !== null) {
      this.options.onSelect?.(id);
    }
  }

  private markSelection(): void {
    for (const g of Array.from(this.canvas.querySelectorAll('g.node.gk-selected'))) {
      g.classList.remove('gk-selected');
    }
    if (this.selected !== null) {
      for (const g of Array.from(this.canvas.querySelectorAll('g.node[data-gk-id]'))) {
        if (g.getAttribute('data-gk-id') === this.selected) {
          g.classList.add('gk-selected');
        }
      }
    }
  }

  private showDetails(): void {
    const node = this.graph?.nodes.find(n => n.id === this.selected) ?? null;
    this.details.hidden = node === null;
    if (node && node !== this.shownNode) {
      renderDetails(this.details, node, this.options.onSelect !== undefined);
    }
    this.shownNode = node;
  }

  private toggleGroup(id: string, collapse: boolean): void {
    this.toggled.set(id, collapse);
    this.schedule();
  }

  private onCanvasClick = (event: MouseEvent): void => {
    const g = (event.target as Element).closest('g.node, g.cluster');
    const layer = g?.getAttribute('data-gk-id');
    const box = g?.getAttribute('data-gk-group');
    const cluster = g?.getAttribute('data-gk-cluster');
    if (layer != null) {
      this.canvas.focus({ preventScroll: true });
      this.select(layer);
    } else if (box != null) {
      this.toggleGroup(box, false);
    } else if (cluster != null) {
      this.toggleGroup(cluster, true);
    } else if (!g) {
      this.select(null);
    }
  };

  private onDetailsClick = (event: MouseEvent): void => {
    if ((event.target as Element).closest('button.gk-details-close')) {
      this.select(null);
    }
  };

  private onKeyDown = (event: KeyboardEvent): void => {
    if (event.key === 'Escape' && !this.details.hidden) {
      event.stopPropagation();
      this.select(null);
    }
  };

  private onToolbarClick = (event: MouseEvent): void => {
    const action = (event.target as Element).closest('button')?.dataset.action;
    const name = this.graph?.title || 'graph';
    switch (action) {
      case 'fit':
        this.panzoom.fit();
        break;
      case 'actual-size':
        this.panzoom.actualSize();
        break;
      case 'zoom-in':
        this.panzoom.zoomBy(1.25);
        break;
      case 'zoom-out':
        this.panzoom.zoomBy(0.8);
        break;
      case 'export-svg':
        if (this.svg) {
          download(this.exportedSvg(), safeFilename(name, 'svg'), 'image/svg+xml');
        }
        break;
      case 'export-png':
        if (this.svg) {
          const { width, height } = this.size;
          const colors = themeColors(this.node);
          void svgToPng(this.exportedSvg(), width * PNG_SCALE, height * PNG_SCALE, colors.background).then(png =>
            download(png, safeFilename(name, 'png'), 'image/png')
          );
        }
        break;
      case 'pin':
        globalThis.__graphkitLab?.pin?.(this.options.pin!());
        break;
      case 'export-dot':
        if (this.dot) {
          download(this.dot, safeFilename(name, 'dot'), 'text/vnd.graphviz');
        }
        break;
    }
  };

  /** The drawing as a standalone SVG file: natural size, the theme's background, no selection. */
  private exportedSvg(): string {
    const copy = this.svg!.cloneNode(true) as SVGSVGElement;
    copy.removeAttribute('style');
    copy.querySelectorAll('.gk-selected').forEach(g => g.classList.remove('gk-selected'));
    copy.insertBefore(background(copy, themeColors(this.node)), copy.firstChild);
    return new XMLSerializer().serializeToString(copy);
  }
}

/** The font size of the smallest text in a graphviz drawing, in graphviz points (14 without text). */
function smallestFont(svg: SVGSVGElement): number {
  let smallest = Infinity;
  for (const text of Array.from(svg.querySelectorAll('text[font-size]'))) {
    const size = parseFloat(text.getAttribute('font-size')!);
    if (size > 0 && size < smallest) {
      smallest = size;
    }
  }
  return Number.isFinite(smallest) ? smallest : 14;
}

/** A rectangle of the theme's background colour under the whole of `svg`'s viewBox. */
function background(svg: SVGSVGElement, colors: ThemeColors): SVGRectElement {
  const box = svg.viewBox.baseVal;
  const rect = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
  rect.setAttribute('x', `${box.x}`);
  rect.setAttribute('y', `${box.y}`);
  rect.setAttribute('width', `${box.width}`);
  rect.setAttribute('height', `${box.height}`);
  rect.setAttribute('fill', colors.background);
  return rect;
}
