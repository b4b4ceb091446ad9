/**
 * JupyterLab MIME renderers for `application/vnd.graphkit.graph+json` and
 * `application/vnd.graphkit.board+json`: saved notebooks show the graph (and the model summary)
 * and the board with no kernel, drawn by the same core as the live widget.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import { mountBoard } from './board';
import type { BoardHandle, BoardPayload } from './board';
import { GraphView } from './core';
import type { GraphData, WidgetCore } from './core';
import { render, track, version } from './widget';

/** The live widget's loader uses this copy of the core: no kernel round trip, so a widget draws
 * even while its cell is still running. The `graphkit-nn:pin` plugin adds `pin` (plugin.ts). */
export const lab: WidgetCore = { render, track, version };
globalThis.__graphkitLab = lab;

export const MIME_TYPE = 'application/vnd.graphkit.graph+json';
export const BOARD_MIME_TYPE = 'application/vnd.graphkit.board+json';

/** A graphkit output: `div.gk-mime`, tagged with its MIME type. */
abstract class GraphkitRenderer extends Widget implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this.addClass('gk-mime');
    // As JupyterLab's own renderers do: outputs can be selected by MIME type.
    this.node.dataset.mimeType = options.mimeType;
  }

  abstract renderModel(model: IRenderMime.IMimeModel): Promise<void>;
}

class GraphRenderer extends GraphkitRenderer {
  private view: GraphView | null = null;
  private graph: GraphData | null = null;

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const graph = model.data[MIME_TYPE] as unknown as GraphData;
    // A live view's picture: shown only while the widget before it cannot draw (widget.ts).
    this.node.toggleAttribute('data-gk-widget', !!graph.widget);
    this.graph = graph;
    this.view ??= new GraphView(this.node, { pin: () => ({ graph: this.graph! }) });
    this.view.update(graph);
  }

  dispose(): void {
    this.view?.dispose();
    this.view = null;
    super.dispose();
  }
}

class BoardRenderer extends GraphkitRenderer {
  private board: BoardHandle | null = null;

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const payload = model.data[BOARD_MIME_TYPE] as unknown as BoardPayload;
    if (this.board) {
      this.board.update(payload);
    } else {
      this.board = mountBoard(this.node, { payload });
    }
  }

  dispose(): void {
    this.board?.dispose();
    this.board = null;
    super.dispose();
  }
}

/** The extension rendering `mimeType` with `Renderer`. Rank 0 wins over the text/html and
 * image/svg+xml fallbacks in the same output. */
function rendererExtension(
  id: string,
  mimeType: string,
  Renderer: new (options: IRenderMime.IRendererOptions) => GraphkitRenderer
): IRenderMime.IExtension {
  return {
    id,
    rank: 0,
    dataType: 'json',
    rendererFactory: { safe: true, mimeTypes: [mimeType], createRenderer: options => new Renderer(options) }
  };
}

export default [
  rendererExtension('graphkit-nn:graph', MIME_TYPE, GraphRenderer),
  rendererExtension('graphkit-nn:board', BOARD_MIME_TYPE, BoardRenderer)
];
