/** The dashboards' chart grids: tags grouped by their first `/`-separated part, as TensorBoard does. */
import { el } from './dom';

/** A chart card's title: the tag, then (for a one-run card) the run's colour and name, and an optional note. */
export function cardTitle(tag: string, run: { name: string; color: string } | null, note?: string): HTMLElement {
  const title = el('div', 'gk-card-title');
  title.append(el('span', 'gk-tag', tag));
  if (run) {
    const swatch = el('span', 'gk-swatch');
    swatch.style.background = run.color;
    title.prepend(swatch);
    title.append(el('span', 'gk-run', run.name));
  }
  if (note) {
    title.append(el('span', 'gk-note', note));
  }
  title.title = run ? `${tag} (${run.name})` : tag;
  return title;
}

/** The group of `tag`: its part before the first `/`, or "" for a tag without one. */
const tagGroup = (tag: string): string => (tag.includes('/') ? tag.slice(0, tag.indexOf('/')) : '');

/**
 * One `div.gk-section` per tag group holding its title and a grid of its `cards` (already sorted
 * by tag); the group without a prefix comes first, untitled.
 */
export function groupedGrids(cards: { tag: string; node: HTMLElement }[]): HTMLElement[] {
  const groups = new Map<string, HTMLElement[]>();
  for (const card of cards) {
    const group = tagGroup(card.tag);
    groups.set(group, [...(groups.get(group) ?? []), card.node]);
  }
  return [...groups.keys()].sort().map(group => {
    const section = el('div', 'gk-section');
    section.dataset.group = group;
    const grid = el('div', 'gk-grid');
    grid.append(...groups.get(group)!);
    if (group) {
      section.append(el('div', 'gk-section-title', group));
    }
    section.append(grid);
    return section;
  });
}
