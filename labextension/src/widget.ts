/**
 * The live widget's front end (bundled to graphkit/static/graphkit-widget.js): anywidget's
 * `render({model, el})` speaking the protocol of docs/frontend.md.
 */
import { GraphState, GraphView } from './core';
import type { RenderProps, ServerMessage } from './core';

declare const GRAPHKIT_VERSION: string;

/** Version of this bundle (the npm package's). */
export const version: string = GRAPHKIT_VERSION;

const MESSAGE_TYPES = new Set(['graph', 'delta', 'details']);

/** Draws the graph of one widget view; returns the cleanup function. */
export function render({ model, el }: RenderProps): () => void {
  const state = new GraphState();
  const view = new GraphView(el, {
    onSelect: id => model.send({ type: 'details', id })
  });
  // True between a hello and the graph that answers it: deltas are dropped meanwhile.
  let waiting = false;
  const hello = (): void => {
    waiting = true;
    model.send({ type: 'hello', need_core: false });
  };
  const onMessage = (msg: ServerMessage): void => {
    if (!msg || !MESSAGE_TYPES.has(msg.type)) {
      return;
    }
    const result = state.apply(msg);
    if (msg.type === 'graph') {
      waiting = false;
    }
    if (result === 'gap' && !waiting) {
      hello();
    } else if (result === 'changed') {
      view.update(state.graph);
    }
  };
  model.on('msg:custom', onMessage);
  hello();
  return () => {
    model.off('msg:custom', onMessage);
    view.dispose();
  };
}

export default { render };
