/**
 * The live widget's front end (bundled to graphkit/static/graphkit-widget.js, and into the
 * JupyterLab extension): anywidget's `render({model, el})` speaking the protocol of
 * docs/frontend.md.
 *
 * One graph is kept per widget model, fed by the model's messages for the model's whole life
 * (`track`, called from anywidget's `initialize`), so deltas sent while a cell is still running
 * are drawn at once, and a view displayed later starts from the complete graph.
 */
import { GraphState, GraphView } from './core';
import type { GraphData, RenderProps, ServerMessage, WidgetModel } from './core';

export { version } from './version';

const MESSAGE_TYPES = new Set(['graph', 'delta', 'details']);

/** The graph a widget starts from (its `_initial` trait): seq 0, before any delta. */
interface InitialGraph {
  seq: number;
  graph: GraphData;
}

/** One widget model's graph, drawn by each of the model's views. */
class ModelGraph {
  private state = new GraphState();
  private views = new Set<GraphView>();
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
    const view = new GraphView(el, { onSelect: id => model.send({ type: 'details', id }) });
    this.views.add(view);
    if (this.state.graph) {
      view.update(this.state.graph);
    } else {
      this.hello();
    }
    return () => {
      this.views.delete(view);
      view.dispose();
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
