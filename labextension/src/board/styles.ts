/**
 * The board's CSS, added to the page once. Colours follow JupyterLab's theme variables; outside
 * JupyterLab (served page, exported file) they follow the system's light or dark preference.
 * The core's graph view inside the board takes the board's colours. The chart rules cover the
 * parts of uPlot's stylesheet that the board uses (cursor, selection, overlay).
 */

import { ensureStyleSheet } from '../core/dom';

const STYLE_ID = 'graphkit-board-styles';

const LIGHT = `
  --gkb-bg: var(--jp-layout-color0, #ffffff);
  --gkb-panel: var(--jp-layout-color1, #f7f7f7);
  --gkb-fg: var(--jp-ui-font-color1, #212121);
  --gkb-muted: var(--jp-ui-font-color2, #616161);
  --gkb-border: var(--jp-border-color1, #bdbdbd);
  --gkb-grid: var(--jp-border-color2, #e4e4e4);
  --gkb-accent: var(--jp-brand-color1, #1976d2);
  --gkb-error: var(--jp-error-color1, #d32f2f);`;

const DARK = `
  --gkb-bg: var(--jp-layout-color0, #111111);
  --gkb-panel: var(--jp-layout-color1, #1e1e1e);
  --gkb-fg: var(--jp-ui-font-color1, #e6e6e6);
  --gkb-muted: var(--jp-ui-font-color2, #a8a8a8);
  --gkb-border: var(--jp-border-color1, #555555);
  --gkb-grid: var(--jp-border-color2, #333333);
  --gkb-accent: var(--jp-brand-color1, #64b5f6);
  --gkb-error: var(--jp-error-color1, #ef5350);`;

const CSS = `
.gk-board {${LIGHT}
  --gkb-font: var(--jp-ui-font-family, system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif);
  --gkb-mono: var(--jp-code-font-family, Menlo, Consolas, 'DejaVu Sans Mono', monospace);
  box-sizing: border-box; margin: 4px 0; border: 1px solid var(--gkb-border); border-radius: 4px;
  background: var(--gkb-bg); color: var(--gkb-fg); font-family: var(--gkb-font);
  font-size: var(--jp-ui-font-size1, 13px);
}
@media (prefers-color-scheme: dark) { .gk-board {${DARK}} }
.gk-board *, .gk-board *::before, .gk-board *::after { box-sizing: border-box; }
.gk-board [hidden] { display: none !important; }
/* the board's graph has no weight statistics to wait for */
.gk-board .gk-details .gk-muted { display: none; }
.gk-board .gk-graph-view {
  --gk-bg: var(--gkb-bg); --gk-fill: var(--gkb-panel); --gk-panel: var(--gkb-panel);
  --gk-fg: var(--gkb-fg); --gk-muted: var(--gkb-muted); --gk-border: var(--gkb-border);
  --gk-accent: var(--gkb-accent); --gk-error: var(--gkb-error); margin: 0;
}
.gk-board-header {
  display: flex; align-items: center; gap: 4px; flex-wrap: wrap;
  padding: 4px 6px; border-bottom: 1px solid var(--gkb-border); background: var(--gkb-panel);
}
.gk-board-title { font-weight: 600; margin-right: 12px; }
.gk-board-status { color: var(--gkb-muted); margin-left: auto; }
.gk-board button, .gk-board select {
  font: inherit; color: var(--gkb-fg); background: var(--gkb-bg); cursor: pointer;
  border: 1px solid var(--gkb-border); border-radius: 3px; padding: 2px 8px;
}
.gk-board button:hover { border-color: var(--gkb-accent); color: var(--gkb-accent); }
.gk-board button.gk-board-tab { border-color: transparent; background: transparent; padding: 4px 10px; }
.gk-board button.gk-board-tab[aria-selected='true'] {
  border-bottom: 2px solid var(--gkb-accent); color: var(--gkb-accent); border-radius: 0; font-weight: 600;
}
.gk-board button[aria-pressed='true'] { background: var(--gkb-accent); color: var(--gkb-bg); border-color: var(--gkb-accent); }
.gk-board-message { padding: 8px; color: var(--gkb-muted); }
.gk-board[data-state='error'] .gk-board-message { color: var(--gkb-error); white-space: pre-wrap; }
.gk-board-message:empty { display: none; }
.gk-dashboard { padding: 6px; }
.gk-dashboard[hidden] { display: none; }
.gk-controls { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; margin-bottom: 6px; }
.gk-controls label { display: inline-flex; align-items: center; gap: 4px; color: var(--gkb-muted); }
.gk-controls input[type='range'] { width: 140px; accent-color: var(--gkb-accent); }
.gk-controls output { font-family: var(--gkb-mono); color: var(--gkb-fg); min-width: 3em; }
.gk-section-title { margin: 10px 0 4px; font-weight: 600; font-family: var(--gkb-mono); }
.gk-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 8px; }
.gk-card {
  position: relative; border: 1px solid var(--gkb-border); border-radius: 4px; padding: 4px; min-width: 0;
  background: var(--gkb-bg);
}
.gk-card.gk-linked { border-color: var(--gkb-accent); box-shadow: 0 0 0 1px var(--gkb-accent); }
.gk-card-title { display: flex; gap: 6px; align-items: center; font-size: 12px; min-height: 18px; }
.gk-board .gk-swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; flex: none; vertical-align: middle; }
.gk-card-title .gk-tag { font-family: var(--gkb-mono); font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.gk-card-title .gk-run { color: var(--gkb-muted); }
.gk-card-title .gk-note { color: var(--gkb-muted); margin-left: auto; }
.gk-readout {
  position: absolute; z-index: 10; pointer-events: none; padding: 3px 5px; font-size: 11px;
  color: var(--gkb-fg); background: var(--gkb-panel); border: 1px solid var(--gkb-border); border-radius: 3px;
  box-shadow: 0 2px 6px rgba(0, 0, 0, 0.25);
}
.gk-readout table { border-collapse: collapse; }
.gk-readout th { font-weight: 600; color: var(--gkb-muted); text-align: right; padding: 0 4px; }
.gk-readout td { font-family: var(--gkb-mono); text-align: right; padding: 1px 4px; white-space: nowrap; }
.gk-readout th:nth-child(2), .gk-readout td:nth-child(2) { text-align: left; font-family: var(--gkb-font); }
.gk-runs { display: flex; align-items: center; gap: 4px 12px; flex-wrap: wrap; margin-bottom: 6px; }
.gk-run-toggle { display: inline-flex; align-items: center; gap: 4px; cursor: pointer; }
.gk-run-toggle:first-child { color: var(--gkb-muted); margin-right: 4px; }
.gk-run-toggle input { margin: 0; accent-color: var(--gkb-accent); }
.gk-controls input[type='search'] {
  font: inherit; color: var(--gkb-fg); background: var(--gkb-bg); width: 220px;
  border: 1px solid var(--gkb-border); border-radius: 3px; padding: 2px 6px;
}
.gk-controls input[aria-invalid='true'] { border-color: var(--gkb-error); outline-color: var(--gkb-error); }
.gk-chart { position: relative; width: 100%; height: 200px; }
.gk-chart .uplot { width: 100%; font-family: var(--gkb-font); }
.gk-chart .u-wrap { position: relative; user-select: none; }
.gk-chart .u-over, .gk-chart .u-under { position: absolute; }
.gk-chart .u-under { overflow: hidden; }
.gk-chart canvas { display: block; position: relative; width: 100%; height: 100%; }
.gk-chart .u-axis { position: absolute; }
.gk-chart .u-select { position: absolute; pointer-events: none; background: var(--gkb-accent); opacity: 0.15; }
.gk-chart .u-cursor-x, .gk-chart .u-cursor-y {
  position: absolute; left: 0; top: 0; pointer-events: none; will-change: transform;
}
.gk-chart .u-hz .u-cursor-x { height: 100%; border-right: 1px dashed var(--gkb-muted); }
.gk-chart .u-hz .u-cursor-y { width: 100%; border-bottom: 1px dashed var(--gkb-muted); }
.gk-chart .u-cursor-pt {
  position: absolute; top: 0; left: 0; border-radius: 50%; border: 0 solid;
  pointer-events: none; will-change: transform; background-clip: padding-box !important;
}
.gk-chart .u-off { display: none; }
.gk-legend { display: flex; align-items: center; gap: 6px; margin: 4px 0 8px; color: var(--gkb-muted); font-size: 12px; }
.gk-legend-bar { width: 160px; height: 10px; border: 1px solid var(--gkb-border); border-radius: 2px; }
.gk-span-stats { margin-top: 8px; }
.gk-span-stats table { border-collapse: collapse; font-size: 12px; }
.gk-span-stats th, .gk-span-stats td { padding: 2px 6px; border-bottom: 1px solid var(--gkb-border); text-align: right; }
.gk-span-stats th:first-child, .gk-span-stats td:first-child { text-align: left; }
.gk-span-stats td { font-family: var(--gkb-mono); white-space: nowrap; }
.gk-board .gk-canvas g.node.gk-linked > path, .gk-board .gk-canvas g.node.gk-linked > polygon {
  stroke: var(--gkb-accent); stroke-width: 3px;
}
.gk-timeline-view {
  position: relative; overflow: auto; max-height: 560px; border: 1px solid var(--gkb-border);
  border-radius: 4px; cursor: grab; touch-action: none; user-select: none;
}
.gk-timeline-view.gk-dragging { cursor: grabbing; }
.gk-timeline-view canvas { display: block; }
.gk-dashboard[data-dashboard='timeline'] { position: relative; }
.gk-tooltip {
  position: absolute; z-index: 1000; pointer-events: none; padding: 4px 6px; font-size: 12px;
  font-family: var(--gkb-mono); white-space: pre; color: var(--gkb-fg); background: var(--gkb-panel);
  border: 1px solid var(--gkb-border); border-radius: 3px; box-shadow: 0 2px 6px rgba(0, 0, 0, 0.25);
}
.gk-tooltip[hidden] { display: none; }
.gk-hist canvas { display: block; width: 100%; height: 220px; }
`;

/** Adds the board's stylesheet to `doc` unless it is there already. */
export function ensureBoardStyles(doc: Document = document): void {
  ensureStyleSheet(doc, STYLE_ID, CSS);
}
