/** The dashboards' chart grids: tags grouped by their first `/`-separated part, as TensorBoard does. */
import { el } from './dom';

/** A chart card's title: the run's colour, the tag, the run name and an optional note. */
export function cardTitle(tag: string, run: string, color: string, note?: string): HTMLElement {
  const title = el('div', 'gk-card-title');
  const swatch = el('span', 'gk-swatch');
  swatch.style.background = color;
  title.append(swatch, el('span', 'gk-tag', tag), el('span', 'gk-run', run));
  if (note) {
    title.append(el('span', 'gk-note', note));
  }
  title.title = `${tag} (${run})`;
  return title;
}

/** The group of `tag`: its part before the first `/`, or "" for a tag without one. */
const tagGroup = (tag: string): string => (tag.includes('/') ? tag.slice(0, tag.indexOf('/')) : '');

/**
 * Section titles and grids holding `cards` (already sorted by tag, then run), one grid per tag
 * group; the group without a prefix comes first, untitled.
 */
export function groupedGrids(cards: { tag: string; node: HTMLElement }[]): HTMLElement[] {
  const groups = new Map<string, HTMLElement[]>();
  for (const card of cards) {
    const group = tagGroup(card.tag);
    groups.set(group, [...(groups.get(group) ?? []), card.node]);
  }
  const out: HTMLElement[] = [];
  for (const group of [...groups.keys()].sort()) {
    const grid = el('div', 'gk-grid');
    grid.append(...groups.get(group)!);
    if (group) {
      out.push(el('div', 'gk-section-title', group));
    }
    out.push(grid);
  }
  return out;
}
