/**
 * DOT -> SVG with the bundled WASM graphviz (`@viz-js/viz`). One graphviz instance per page,
 * created on first use; the elements of the result are tagged with graph ids for the DOM contract.
 */
import type { Viz } from '@viz-js/viz';
import type { DotTarget } from './dot';

let viz: Promise<Viz> | null = null;

function graphviz(): Promise<Viz> {
  if (!viz) {
    viz = import('@viz-js/viz').then(m => m.instance());
    viz.catch(() => {
      viz = null;
    });
  }
  return viz;
}

/**
 * Lays out `dot` and returns the SVG element. Each `g.node` and `g.cluster` whose DOT id (or,
 * with `byTitle`, whose graphviz title) is in `targets` gets `data-gk-id` (layer), `data-gk-group`
 * (collapsed group box) or `data-gk-cluster` (expanded group) and its tooltip; the classes a node
 * has in the DOT (`gk-pending`, `gk-error`, `gk-box`) graphviz writes itself. The element ids
 * graphviz gives are removed so that several views can share a page.
 */
export async function renderSvg(
  dot: string,
  targets: Map<string, DotTarget>,
  byTitle = false
): Promise<SVGSVGElement> {
  const svg = (await graphviz()).renderSVGElement(dot);
  for (const el of Array.from(svg.querySelectorAll('g[id]'))) {
    const title = el.querySelector(':scope > title');
    const target = byTitle ? titledNode(el, title, targets) : targets.get(el.id);
    if (target) {
      const attr = { node: 'data-gk-id', box: 'data-gk-group', cluster: 'data-gk-cluster' }[target.kind];
      el.setAttribute(attr, target.id);
      title?.replaceChildren(target.title);
    } else {
      title?.remove();
    }
    el.removeAttribute('id');
  }
  return svg;
}

/** With `byTitle`, a graphviz node's or cluster's title is its key in `targets`; a node not
 * there (DOT written elsewhere) stands for the layer its title names. */
function titledNode(el: Element, title: Element | null, targets: Map<string, DotTarget>): DotTarget | undefined {
  const id = title?.textContent;
  const isNode = el.classList.contains('node');
  if (!id || !(isNode || el.classList.contains('cluster'))) {
    return undefined;
  }
  return targets.get(id) ?? (isNode ? { kind: 'node', id, title: id } : undefined);
}
