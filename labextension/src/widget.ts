/**
 * The live widget's front end (bundled to graphkit/static/graphkit-widget.js, and into the
 * JupyterLab extension): anywidget's `render({model, el})` speaking the protocol of
 * docs/frontend.md.
 *
 * One graph is kept per widget model, fed by the model's messages for the model's whole life
 * (`track`, called from anywidget's `initialize`), so deltas sent while a cell is still running
 * are drawn at once, and a view displayed later starts from the complete graph (a page reloaded
 * gets the widget's state anew from the kernel, whose `_initial` is the graph then).
 *
 * Python displays each live view as two outputs: the widget, then its kernel-free picture (the
 * graph JSON, whose `widget` names the widget, and a static SVG in `text/html`). The stylesheet
 * installed here shows exactly one of them in JupyterLab and Notebook 7: the widget once it
 * draws, else (no kernel, no ipywidgets in the server) the picture.
 */
import { GraphState, GraphView } from './core';
import type { GraphData, RenderProps, ServerMessage, WidgetModel } from './core';
import { button, ensureStyleSheet } from './core/dom';

export { version } from './version';

const MESSAGE_TYPES = new Set(['graph', 'delta', 'details']);

/** Set on the element a live widget draws into. */
const WIDGET_ATTRIBUTE = 'data-gk-live-widget';

/** A live view's picture: the MIME renderer's node (mime.ts) or the static HTML's div. */
const PICTURE = '.gk-mime[data-gk-widget], .gk-live-picture[data-gk-widget]';
const CHILD = '.jp-OutputArea-child';

/** Shows one output of each (widget, picture) pair: the picture is hidden while the widget
 * before it draws (not in its error state); the widget's output is hidden while it does not
 * draw ("Loading widget...", ipywidgets' errors, the text/plain of a server without ipywidgets). */
const PAIRING_CSS = `
${CHILD}:has([${WIDGET_ATTRIBUTE}] .gk-graph-view:not([data-state="error"])) + ${CHILD}:has(${PICTURE}) {
  display: none;
}
${CHILD}:not(:has([${WIDGET_ATTRIBUTE}])):has(+ ${CHILD} :is(${PICTURE})) {
  display: none;
}`;

// At load: JupyterLab loads the extension (which bundles this module) with the page, so the
// stylesheet is there for saved notebooks opened with no kernel too.
if (typeof document !== 'undefined') {
  ensureStyleSheet(document, 'gk-live-pairing', PAIRING_CSS);
}

/** The graph a widget starts from (its `_initial` trait): seq 0, before any delta. */
interface InitialGraph {
  seq: number;
  graph: GraphData;
}

/** One widget model's graph, drawn by each of the model's views. */
class ModelGraph {
  private state = new GraphState();
  private views = new Set<LiveGraphView>();
  /** True between a hello and the graph that answers it. */
  private waiting = false;

  constructor(private model: WidgetModel) {
    const initial = model.get('_initial') as InitialGraph | undefined;
    if (initial?.graph) {
      this.state.apply({ type: 'graph', seq: initial.seq, graph: initial.graph });
    }
  }

  receive = (msg: ServerMessage): void => {
    if (!msg || !MESSAGE_TYPES.has(msg.type)) {
      return;
    }
    const result = this.state.apply(msg);
    if (msg.type === 'graph') {
      this.waiting = false;
    }
    if (result === 'gap') {
      this.hello();
    } else if (result === 'changed' && this.state.graph) {
      for (const view of this.views) {
        view.update(this.state.graph);
      }
    }
  };

  /** Draws the graph into `el` (asking Python for it when unknown); returns the cleanup. */
  show(el: HTMLElement, model: WidgetModel): () => void {
    el.setAttribute(WIDGET_ATTRIBUTE, '');
    const view = new LiveGraphView(el, model);
    this.views.add(view);
    if (this.state.graph) {
      view.update(this.state.graph);
    } else {
      this.hello();
    }
    return () => {
      this.views.delete(view);
      view.dispose();
      el.removeAttribute(WIDGET_ATTRIBUTE);
    };
  }

  /** Asks Python for the whole graph (once until it comes). */
  private hello(): void {
    if (!this.waiting) {
      this.waiting = true;
      this.model.send({ type: 'hello', need_core: false });
    }
  }
}

/** A GraphView with the live view's extra toolbar button: remove the red nodes of failed calls. */
class LiveGraphView extends GraphView {
  private clearErrors = button('Clear errors', 'Remove the red nodes of failed calls', { action: 'clear-errors' });

  constructor(el: HTMLElement, model: WidgetModel) {
    super(el, { onSelect: id => model.send({ type: 'details', id }), pin: () => ({ model }) });
    this.clearErrors.hidden = true;
    this.clearErrors.addEventListener('click', () => model.send({ type: 'clear_errors' }));
    this.node.querySelector('.gk-toolbar')?.appendChild(this.clearErrors);
  }

  update(graph: GraphData | null): void {
    this.clearErrors.hidden = !graph?.nodes.some(node => node.status === 'error');
    super.update(graph);
  }
}

/** Graphs of the tracked widget models, by their `_uid`. */
const graphs = new Map<string, ModelGraph>();

export function track(model: WidgetModel, backlog: unknown[] = []): void {
  const key = model.get('_uid') as string | undefined;
  if (!key || graphs.has(key)) {
    return;
  }
  const graph = new ModelGraph(model);
  graphs.set(key, graph);
  model.on('msg:custom', graph.receive);
  model.on('destroy', () => graphs.delete(key));
  for (const msg of backlog) {
    graph.receive(msg as ServerMessage);
  }
}

/** Draws the graph of one widget view; returns the cleanup function. */
export function render({ model, el }: RenderProps): () => void {
  const key = model.get('_uid') as string | undefined;
  const tracked = key ? graphs.get(key) : undefined;
  if (tracked) {
    return tracked.show(el, model);
  }
  // An untracked model (no `initialize` ran): follow its messages while this view lives.
  const graph = new ModelGraph(model);
  model.on('msg:custom', graph.receive);
  const hide = graph.show(el, model);
  return () => {
    model.off('msg:custom', graph.receive);
    hide();
  };
}

export default { initialize: ({ model }: { model: WidgetModel }) => track(model), render };
