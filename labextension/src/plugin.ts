/**
 * The `graphkit-nn:pin` JupyterLab plugin: the graph views' `Pin` button keeps a synced view of
 * the graph in the right side panel while you work further down the notebook. A live widget's
 * pinned view follows the widget's graph (the same graph state as its views in the notebook);
 * a graph output's pinned view shows that graph. Closing the panel (or its `Unpin` button)
 * unpins it.
 */
import { Widget } from '@lumino/widgets';
import { GraphView } from './core';
import type { PinSource } from './core';
import { button } from './core/dom';
import { lab } from './mime';
import { render } from './widget';

/** The part of JupyterLab's application (`JupyterFrontEnd`) this plugin uses. */
interface LabApp {
  shell: {
    add(widget: Widget, area: 'right', options?: { rank?: number }): void;
    activateById(id: string): void;
  };
}

/** The right side panel holding one pinned view. */
class PinnedGraph extends Widget {
  private cleanup: () => void;

  constructor(source: PinSource) {
    super();
    this.addClass('gk-pinned');
    this.node.style.cssText = 'overflow: auto; padding: 4px; background: var(--jp-layout-color1)';
    this.title.label = 'graphkit';
    this.title.caption = 'Pinned graph (graphkit)';
    this.title.closable = true;
    if ('model' in source) {
      this.cleanup = render({ model: source.model, el: this.node });
    } else {
      const view = new GraphView(this.node);
      view.update(source.graph);
      this.cleanup = () => view.dispose();
    }
    const unpin = button('Unpin', 'Close this side panel', { action: 'unpin' });
    unpin.addEventListener('click', () => this.close());
    const toolbar = this.node.querySelector('.gk-toolbar');
    toolbar?.querySelector('button[data-action="pin"]')?.remove(); // already pinned
    toolbar?.appendChild(unpin);
  }

  protected onCloseRequest(): void {
    this.dispose();
  }

  dispose(): void {
    if (!this.isDisposed) {
      this.cleanup();
    }
    super.dispose();
  }
}

/** Pinned views by key: a live widget is pinned once (pinning it again shows its panel). */
const pinned = new Map<string, PinnedGraph>();
let count = 0;

function pin(app: LabApp, source: PinSource): void {
  const key = 'model' in source ? `gk-pin-${source.model.get('_uid')}` : `gk-pin-graph-${++count}`;
  let panel = pinned.get(key);
  if (!panel) {
    panel = new PinnedGraph(source);
    panel.id = key;
    pinned.set(key, panel);
    panel.disposed.connect(() => pinned.delete(key));
    app.shell.add(panel, 'right', { rank: 1000 });
  }
  app.shell.activateById(key);
}

const plugin = {
  id: 'graphkit-nn:pin',
  description: "Pins graphkit's graph views to the right side panel.",
  autoStart: true,
  activate: (app: LabApp): void => {
    lab.pin = source => pin(app, source);
  }
};

export default plugin;
