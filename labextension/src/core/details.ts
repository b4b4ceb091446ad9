/**
 * The details panel of one layer: a close button, class, shapes, parameter formula, error,
 * weights, config.
 */
import { el } from './dom';
import { formatInt, formatStat } from './format';
import type { GraphNode, WeightStats } from './types';

function properties(node: GraphNode): HTMLElement {
  const table = el('table', 'gk-props');
  const add = (term: string, value: string | null | undefined): void => {
    if (value) {
      table.insertRow().append(el('th', undefined, term), el('td', undefined, value));
    }
  };
  add('Input shapes', node.input_shapes.join(' | ') || null);
  add('Output shape', node.output_shape);
  add('dtype', node.dtype);
  add('Activation', node.activation);
  add('Params', `${formatInt(node.params)}${node.params && !node.trainable ? ' (non-trainable)' : ''}`);
  return table;
}

function weightsTable(weights: WeightStats[]): HTMLTableElement {
  const table = el('table', 'gk-weights');
  const head = table.createTHead().insertRow();
  for (const title of ['weight', 'shape', 'mean', 'std', 'min', 'max']) {
    head.append(el('th', undefined, title));
  }
  const body = table.createTBody();
  for (const w of weights) {
    const row = body.insertRow();
    const name = row.insertCell();
    name.textContent = w.name;
    if (!w.trainable) {
      name.append(' ', el('span', 'gk-frozen', '(non-trainable)'));
    }
    for (const text of [`(${w.shape.join(', ')})`, ...[w.mean, w.std, w.min, w.max].map(formatStat)]) {
      row.insertCell().textContent = text;
    }
  }
  return table;
}

/**
 * The parameter formula, one line per part when it has several (`…= 8 trainable; …= 8
 * non-trainable; total 16`).
 */
function formula(text: string): HTMLElement {
  const parts = text.split('; ');
  const box = el('div', 'gk-formula', parts.length === 1 ? text : undefined);
  if (parts.length > 1) {
    box.append(...parts.map(part => el('div', undefined, part)));
  }
  return box;
}

/**
 * Fills `panel` with the details of `node`. `loading` says that weight statistics were
 * requested and are on their way (the live view); otherwise missing statistics are just omitted.
 */
export function renderDetails(panel: HTMLElement, node: GraphNode, loading: boolean): void {
  const close = el('button', 'gk-details-close', '×');
  close.type = 'button';
  close.title = 'Close the details (Escape)';
  close.setAttribute('aria-label', 'Close the details');
  const title = el('div', 'gk-details-title');
  title.append(el('b', undefined, node.name), ` (${node.class_name})`);
  const parts: HTMLElement[] = [close, title, properties(node)];
  if (node.formula) {
    parts.push(formula(node.formula));
  }
  if (node.error) {
    parts.push(el('pre', 'gk-error', node.error));
  }
  if (node.weights?.length) {
    const scroller = el('div', 'gk-weights-scroll');
    scroller.append(weightsTable(node.weights));
    parts.push(el('div', 'gk-heading', 'Weights'), scroller);
  } else if (loading && node.params > 0) {
    parts.push(el('div', 'gk-muted', 'Loading weight statistics…'));
  }
  if (node.config && Object.keys(node.config).length) {
    parts.push(el('div', 'gk-heading', 'Config'), el('pre', 'gk-config', JSON.stringify(node.config, null, 2)));
  }
  panel.replaceChildren(...parts);
}
