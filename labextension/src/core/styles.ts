/**
 * The views' CSS, added to the page once (by whichever bundle comes first). Colours follow
 * JupyterLab's theme variables, with light fallbacks elsewhere; theme.ts reads the `--gk-*`
 * properties to colour the graphviz drawing the same way.
 */

import { ensureStyleSheet } from './dom';

const STYLE_ID = 'graphkit-styles';

const CSS = `
.gk-graph-view {
  --gk-bg: var(--jp-layout-color0, #ffffff);
  --gk-fill: var(--jp-layout-color1, #ffffff);
  --gk-panel: var(--jp-layout-color1, #fafafa);
  --gk-fg: var(--jp-ui-font-color1, rgba(0, 0, 0, 0.87));
  --gk-muted: var(--jp-ui-font-color2, rgba(0, 0, 0, 0.6));
  --gk-border: var(--jp-border-color1, #bdbdbd);
  --gk-accent: var(--jp-brand-color1, #1976d2);
  --gk-error: var(--jp-error-color1, #d32f2f);
  --gk-font: var(--jp-ui-font-family, system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif);
  --gk-mono: var(--jp-code-font-family, Menlo, Consolas, 'DejaVu Sans Mono', monospace);
  box-sizing: border-box;
  margin: 4px 0;
  border: 1px solid var(--gk-border);
  border-radius: 4px;
  background: var(--gk-bg);
  color: var(--gk-fg);
  font-family: var(--gk-font);
  font-size: var(--jp-ui-font-size1, 13px);
}
.gk-graph-view *, .gk-graph-view *::before, .gk-graph-view *::after { box-sizing: border-box; }
.gk-toolbar {
  display: flex; align-items: center; gap: 4px; flex-wrap: wrap;
  padding: 4px 6px; border-bottom: 1px solid var(--gk-border);
}
.gk-title { font-weight: 600; }
.gk-total { color: var(--gk-muted); margin-left: 8px; }
.gk-spacer { flex: 1; }
.gk-toolbar button {
  min-width: 28px; padding: 2px 8px; cursor: pointer;
  font: inherit; color: var(--gk-fg); background: var(--gk-panel);
  border: 1px solid var(--gk-border); border-radius: 3px;
}
.gk-toolbar button:hover { border-color: var(--gk-accent); color: var(--gk-accent); }
.gk-body { display: flex; flex-wrap: wrap; }
.gk-canvas {
  position: relative; overflow: auto; flex: 1 1 360px; min-width: 0; display: flex; padding: 8px;
  height: 160px; cursor: grab; touch-action: none; user-select: none;
}
.gk-canvas:focus { outline: none; }
.gk-canvas:focus-visible { outline: 2px solid var(--gk-accent); outline-offset: -2px; }
.gk-canvas.gk-dragging { cursor: grabbing; }
/* margin: auto centres a drawing smaller than the view and lets a larger one scroll from its start */
.gk-canvas > svg { flex: none; margin: auto; overflow: visible; }
.gk-canvas svg text { font-family: Helvetica, Arial, 'Liberation Sans', 'Nimbus Sans', sans-serif; }
.gk-canvas g.node, .gk-canvas g.cluster { cursor: pointer; }
/* A model box's tinted inside is background: clicks there deselect, as outside; its label and outline collapse it. */
.gk-canvas g.cluster > path, .gk-canvas g.cluster > polygon { pointer-events: visibleStroke; }
.gk-canvas g.node:hover > path, .gk-canvas g.node:hover > polygon { stroke: var(--gk-accent); }
.gk-canvas g.node.gk-selected > path, .gk-canvas g.node.gk-selected > polygon {
  stroke: var(--gk-accent); stroke-width: 3px;
}
.gk-message { padding: 8px; color: var(--gk-muted); }
.gk-graph-view[data-state='error'] .gk-message { color: var(--gk-error); white-space: pre-wrap; }
.gk-message:empty { display: none; }
.gk-details {
  flex: 0 1 380px; min-width: 240px; overflow: auto;
  padding: 8px 10px; border-left: 1px solid var(--gk-border); background: var(--gk-panel);
  /* words break at spaces; only a token longer than the line breaks inside */
  word-break: normal; overflow-wrap: break-word;
}
.gk-details[hidden] { display: none; }
.gk-details-close {
  float: right; margin: -4px -4px 0 8px; padding: 0 6px; font: inherit; font-size: 1.3em; line-height: 1.2;
  color: var(--gk-muted); background: none; border: 1px solid transparent; border-radius: 3px; cursor: pointer;
}
.gk-details-close:hover { color: var(--gk-accent); border-color: var(--gk-accent); }
.gk-details-title { font-size: 1.1em; margin-bottom: 6px; }
/* a fixed layout: long values wrap inside their cell instead of widening (or squeezing) the table */
.gk-props { border-collapse: collapse; margin: 0 0 6px; width: 100%; table-layout: fixed; }
.gk-props th { width: 7.5em; }
.gk-props th, .gk-props td { padding: 1px 10px 1px 0; text-align: left; vertical-align: top; border: none; }
.gk-props th { color: var(--gk-muted); font-weight: normal; white-space: nowrap; }
.gk-props td { font-family: var(--gk-mono); }
.gk-formula { font-family: var(--gk-mono); margin: 6px 0; padding: 4px 6px; border-left: 3px solid var(--gk-accent); }
.gk-heading { margin-top: 8px; color: var(--gk-muted); font-weight: 600; }
/* pre.gk-error: the details panel's error, not a failed layer's node (g.gk-error) in the drawing. */
.gk-config, pre.gk-error {
  margin: 4px 0; padding: 4px 6px; font-family: var(--gk-mono); font-size: 12px;
  white-space: pre-wrap; word-break: normal; overflow-wrap: break-word; background: var(--gk-bg); border-radius: 3px;
}
pre.gk-error { color: var(--gk-error); border: 1px solid var(--gk-error); }
/* a wide weights table scrolls sideways on its own; the rest of the panel wraps */
.gk-weights-scroll { overflow-x: auto; }
.gk-weights { border-collapse: collapse; margin-top: 4px; font-size: 12px; }
.gk-weights th, .gk-weights td { padding: 2px 4px; border-bottom: 1px solid var(--gk-border); text-align: right; }
.gk-weights th:first-child, .gk-weights td:first-child { text-align: left; }
.gk-weights td { font-family: var(--gk-mono); white-space: nowrap; }
/* a weight's name may wrap at its space ("moving_mean (non-trainable)"); the numbers never */
.gk-weights td:first-child { white-space: normal; }
.gk-weights .gk-frozen { color: var(--gk-muted); white-space: nowrap; }
.gk-muted { color: var(--gk-muted); margin-top: 6px; }
.gk-summary { border-top: 1px solid var(--gk-border); padding: 4px 6px; }
.gk-summary > summary { cursor: pointer; color: var(--gk-muted); }
.gk-summary > pre { margin: 4px 0; font-family: var(--gk-mono); font-size: 12px; overflow-x: auto; }
`;

/** Adds the stylesheet to `doc` unless it is there already. */
export function ensureStyles(doc: Document = document): void {
  ensureStyleSheet(doc, STYLE_ID, CSS);
}
