/**
 * Colours for the drawing, read from the view's CSS custom properties (which follow JupyterLab's
 * theme variables, with light fallbacks) and converted to hex that graphviz understands.
 */

export interface ThemeColors {
  background: string;
  text: string;
  muted: string;
  border: string;
  accent: string;
  error: string;
  fill: string;
}

/** CSS custom property and light fallback of each colour (styles.ts defines the properties). */
const PROPERTIES: Record<keyof ThemeColors, [string, string]> = {
  background: ['--gk-bg', '#ffffff'],
  text: ['--gk-fg', '#212121'],
  muted: ['--gk-muted', '#616161'],
  border: ['--gk-border', '#bdbdbd'],
  accent: ['--gk-accent', '#1976d2'],
  error: ['--gk-error', '#d32f2f'],
  fill: ['--gk-fill', '#ffffff']
};

const hex2 = (n: number): string => Math.round(Math.min(255, Math.max(0, n))).toString(16).padStart(2, '0');

/** `rgb(1, 2, 3)` / `rgba(1, 2, 3, 0.5)` -> `#010203` / `#01020380`; null for anything else. */
export function rgbToHex(css: string): string | null {
  const m = /^rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,/]\s*([\d.]+%?))?\s*\)$/.exec(css.trim());
  if (!m) {
    return null;
  }
  let alpha = '';
  if (m[4] !== undefined) {
    const a = m[4].endsWith('%') ? parseFloat(m[4]) / 100 : parseFloat(m[4]);
    alpha = a >= 1 ? '' : hex2(a * 255);
  }
  return `#${hex2(+m[1])}${hex2(+m[2])}${hex2(+m[3])}${alpha}`;
}

/** The theme colours as seen from `el` (which must be in the document). */
export function themeColors(el: HTMLElement): ThemeColors {
  const probe = document.createElement('span');
  probe.style.display = 'none';
  el.appendChild(probe);
  const style = getComputedStyle(el);
  const colors = {} as ThemeColors;
  for (const key of Object.keys(PROPERTIES) as (keyof ThemeColors)[]) {
    const [property, fallback] = PROPERTIES[key];
    probe.style.color = '';
    probe.style.color = style.getPropertyValue(property).trim();
    colors[key] = (probe.style.color && rgbToHex(getComputedStyle(probe).color)) || fallback;
  }
  probe.remove();
  return colors;
}
