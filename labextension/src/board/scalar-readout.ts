/**
 * The hover read-out of a scalar chart, as TensorBoard's tooltip: a table with a row per shown
 * run (colour, name, smoothed value, value, step, time since the run's first point) of the point
 * nearest the cursor, floating beside the cursor inside the chart's card.
 */
import { el } from './dom';
import { formatRelative, formatValue } from './format';
import type { CurvePoint } from './scalar-curve';

export interface ReadoutRow {
  run: string;
  color: string;
  point: CurvePoint;
}

const COLUMNS = ['', 'Run', 'Smoothed', 'Value', 'Step', 'Relative'];

/** Distance between the cursor and the read-out, in CSS pixels. */
const OFFSET = 14;

export class ScalarReadout {
  /** `div.gk-readout`; its offset parent (the card) must be positioned. */
  readonly node = el('div', 'gk-readout');

  constructor() {
    this.node.hidden = true;
  }

  /** Shows `rows` beside the cursor at (`clientX`, `clientY`); hides the read-out without rows. */
  show(rows: ReadoutRow[], clientX: number, clientY: number): void {
    if (!rows.length) {
      this.hide();
      return;
    }
    const table = document.createElement('table');
    const head = table.createTHead().insertRow();
    for (const column of COLUMNS) {
      head.append(el('th', undefined, column));
    }
    const body = table.createTBody();
    for (const { run, color, point } of rows) {
      const row = body.insertRow();
      row.dataset.run = run;
      const swatch = el('span', 'gk-swatch');
      swatch.style.background = color;
      row.insertCell().append(swatch);
      row.insertCell().textContent = run;
      for (const text of [formatValue(point.smoothed), formatValue(point.value), String(point.step), formatRelative(point.relative)]) {
        row.insertCell().textContent = text;
      }
    }
    this.node.replaceChildren(table);
    this.node.hidden = false;
    this.place(clientX, clientY);
  }

  hide(): void {
    this.node.hidden = true;
  }

  /** Right of and below the cursor, or left of it where the card ends. */
  private place(clientX: number, clientY: number): void {
    const parent = (this.node.offsetParent as HTMLElement | null)?.getBoundingClientRect();
    if (!parent) {
      return;
    }
    const width = this.node.offsetWidth;
    let left = clientX - parent.left + OFFSET;
    if (left + width > parent.width) {
      left = Math.max(0, clientX - parent.left - OFFSET - width);
    }
    this.node.style.left = `${left}px`;
    this.node.style.top = `${clientY - parent.top + OFFSET}px`;
  }
}
