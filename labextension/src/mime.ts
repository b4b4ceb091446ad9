/**
 * JupyterLab MIME renderer for `application/vnd.graphkit.graph+json`: saved notebooks show the
 * graph (and the model summary) with no kernel, drawn by the same core as the live widget.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import { GraphView } from './core';
import type { GraphData } from './core';
import { render, track, version } from './widget';

// The live widget's loader uses this copy of the core: no kernel round trip, so a widget draws
// even while its cell is still running.
globalThis.__graphkitLab = { render, track, version };

export const MIME_TYPE = 'application/vnd.graphkit.graph+json';

class GraphRenderer extends Widget implements IRenderMime.IRenderer {
  private view: GraphView | null = null;

  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this.addClass('gk-mime');
    // As JupyterLab's own renderers do: outputs can be selected by MIME type.
    this.node.dataset.mimeType = options.mimeType;
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const graph = model.data[MIME_TYPE] as unknown as GraphData;
    this.view ??= new GraphView(this.node);
    this.view.update(graph);
  }

  dispose(): void {
    this.view?.dispose();
    this.view = null;
    super.dispose();
  }
}

const extension: IRenderMime.IExtension = {
  id: 'graphkit-nn:graph',
  // Rank 0 wins over the text/html and image/svg+xml fallbacks in the same output.
  rank: 0,
  dataType: 'json',
  rendererFactory: {
    safe: true,
    mimeTypes: [MIME_TYPE],
    createRenderer: options => new GraphRenderer(options)
  }
};

export default extension;
