/** The board's colours as canvases need them: resolved from its CSS custom properties. */

export interface BoardColors {
  bg: string;
  panel: string;
  fg: string;
  muted: string;
  border: string;
  grid: string;
  accent: string;
}

const NAMES: (keyof BoardColors)[] = ['bg', 'panel', 'fg', 'muted', 'border', 'grid', 'accent'];

/** The colours in effect on `root` (a `.gk-board` in the document). */
export function boardColors(root: HTMLElement): BoardColors {
  const style = getComputedStyle(root);
  const colors = {} as BoardColors;
  for (const name of NAMES) {
    colors[name] = style.getPropertyValue(`--gkb-${name}`).trim() || (name === 'bg' ? '#ffffff' : '#808080');
  }
  return colors;
}

/** Run colours (TensorBoard-like, distinguishable on light and dark backgrounds). */
const RUN_PALETTE = ['#ff7043', '#0091ea', '#7cb342', '#ab47bc', '#ffa000', '#26a69a', '#ec407a', '#8d6e63'];

export function runColor(index: number): string {
  return RUN_PALETTE[index % RUN_PALETTE.length];
}

/** `color` (#rrggbb) with opacity `alpha`. */
export function withAlpha(color: string, alpha: number): string {
  const a = Math.round(Math.max(0, Math.min(1, alpha)) * 255).toString(16).padStart(2, '0');
  return `${color}${a}`;
}

/** A sequential heat colour for t in [0, 1] (cool yellow to hot red), as #rrggbb. */
export function heatColor(t: number): string {
  const stops: [number, number, number][] = [
    [255, 241, 118],
    [255, 167, 38],
    [229, 57, 53]
  ];
  const x = Math.max(0, Math.min(1, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const channel = (k: number): string =>
    Math.round(stops[i][k] + (stops[i + 1][k] - stops[i][k]) * f).toString(16).padStart(2, '0');
  return `#${channel(0)}${channel(1)}${channel(2)}`;
}

/** Calls `onChange` when JupyterLab's theme or the system's colour scheme changes; returns the stop function. */
export function watchTheme(doc: Document, onChange: () => void): () => void {
  const observer = new MutationObserver(onChange);
  observer.observe(doc.body, { attributes: true, attributeFilter: ['data-jp-theme-name', 'data-jp-theme-light'] });
  const media = doc.defaultView?.matchMedia?.('(prefers-color-scheme: dark)');
  media?.addEventListener('change', onChange);
  return () => {
    observer.disconnect();
    media?.removeEventListener('change', onChange);
  };
}
