/** Small DOM helpers shared by the views (the graph view, its details panel, the board). */

/** A new `<tag>` with `className` and text content, when given. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) {
    e.className = className;
  }
  if (text !== undefined) {
    e.textContent = text;
  }
  return e;
}

/** A `<button>` with `text`, `title` and data attributes. */
export function button(text: string, title: string, data: Record<string, string> = {}): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  b.title = title;
  Object.assign(b.dataset, data);
  return b;
}

/** Adds a `<style id="{id}">` with `css` to `doc` unless one with that id is there already. */
export function ensureStyleSheet(doc: Document, id: string, css: string): void {
  if (doc.getElementById(id)) {
    return;
  }
  const style = doc.createElement('style');
  style.id = id;
  style.textContent = css;
  doc.head.appendChild(style);
}
