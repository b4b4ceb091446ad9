/**
 * Pan and zoom of one content element inside a scrolling viewport. The content is sized to its
 * natural size times the scale, so the viewport's own scrollbars (and a plain wheel) move
 * around a drawing larger than the view; dragging pans (a drag does not count as a click on
 * what is under the pointer); Ctrl/Cmd + wheel, pinches and the buttons zoom.
 */

const MIN_SCALE = 0.05;
const MAX_SCALE = 8;
/** Space around the content (the viewport's CSS padding). */
export const PAD = 8;
const DRAG_THRESHOLD = 4;

export class PanZoom {
  private content: HTMLElement | SVGElement | null = null;
  private width = 0;
  private height = 0;
  /** The smallest scale at which the content is still readable (its smallest text ~10 px). */
  private readable = 0;
  private k = 1;
  private drag: { id: number; x: number; y: number; moved: boolean } | null = null;
  private swallowClick = false;
  /** True once the user panned or zoomed; views then keep the scale across re-renders. */
  touched = false;
  /** Where `fit` scrolls a drawing wider than the view: 0 its left end, 0.5 its middle, 1 its right end. */
  startX = 0.5;

  constructor(private viewport: HTMLElement) {
    viewport.addEventListener('wheel', this.onWheel, { passive: false });
    viewport.addEventListener('pointerdown', this.onPointerDown);
    viewport.addEventListener('pointermove', this.onPointerMove);
    viewport.addEventListener('pointerup', this.onPointerUp);
    viewport.addEventListener('pointercancel', this.onPointerUp);
    viewport.addEventListener('click', this.onClickCapture, true);
  }

  /** The current scale (1: natural size). */
  get scale(): number {
    return this.k;
  }

  /**
   * Takes `content`, whose natural size is `width` x `height` CSS pixels and whose text is
   * still readable down to scale `readable`, at the user's zoom once touched (else the caller
   * sizes the viewport and calls `fit`).
   */
  setContent(content: HTMLElement | SVGElement, width: number, height: number, readable: number): void {
    this.content = content;
    this.width = width;
    this.height = height;
    this.readable = Math.min(1, readable);
    if (this.touched) {
      this.apply();
    }
  }

  /**
   * The scale that fits the content's width into `available` pixels: never above 1, never
   * below the readable scale (the view scrolls instead).
   */
  widthScale(available: number): number {
    const k = this.width ? Math.min(1, (available - 2 * PAD) / this.width) : 1;
    return Math.max(k, this.readable);
  }

  /**
   * Shows the whole content when that keeps it readable, else fits its width (or shows it at the
   * readable scale), scrolling for the rest. Never enlarges. `fromStart`: scroll to the top
   * and to `startX` (else the scroll position stays, as when the view is resized).
   */
  fit(fromStart = true): void {
    const vw = this.viewport.clientWidth;
    const vh = this.viewport.clientHeight;
    if (!this.width || !this.height || !vw || !vh) {
      this.k = 1;
    } else {
      const whole = Math.min(1, (vw - 2 * PAD) / this.width, (vh - 2 * PAD) / this.height);
      this.k = whole >= this.readable ? whole : this.widthScale(vw);
    }
    this.touched = false;
    this.apply();
    if (fromStart) {
      this.viewport.scrollTop = 0;
      this.viewport.scrollLeft = (this.viewport.scrollWidth - vw) * this.startX;
    }
  }

  /** Shows the content at its natural size, keeping the viewport's centre in place. */
  actualSize(): void {
    this.zoomBy(1 / this.k);
  }

  /** Multiplies the scale by `factor` around viewport point (cx, cy) (default: the centre). */
  zoomBy(factor: number, cx = this.viewport.clientWidth / 2, cy = this.viewport.clientHeight / 2): void {
    const k = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.k * factor));
    const before = this.contentPoint(cx, cy);
    this.k = k;
    this.touched = true;
    this.apply();
    if (before) {
      // scroll so that the content point under (cx, cy) stays there
      const after = this.content!.getBoundingClientRect();
      const view = this.viewport.getBoundingClientRect();
      this.viewport.scrollLeft += after.left + before.x * k - (view.left + cx);
      this.viewport.scrollTop += after.top + before.y * k - (view.top + cy);
    }
  }

  dispose(): void {
    this.viewport.removeEventListener('wheel', this.onWheel);
    this.viewport.removeEventListener('pointerdown', this.onPointerDown);
    this.viewport.removeEventListener('pointermove', this.onPointerMove);
    this.viewport.removeEventListener('pointerup', this.onPointerUp);
    this.viewport.removeEventListener('pointercancel', this.onPointerUp);
    this.viewport.removeEventListener('click', this.onClickCapture, true);
  }

  /** The content point (natural pixels) under viewport point (cx, cy). */
  private contentPoint(cx: number, cy: number): { x: number; y: number } | null {
    if (!this.content) {
      return null;
    }
    const box = this.content.getBoundingClientRect();
    const view = this.viewport.getBoundingClientRect();
    return { x: (view.left + cx - box.left) / this.k, y: (view.top + cy - box.top) / this.k };
  }

  private apply(): void {
    if (this.content) {
      this.content.style.width = `${this.width * this.k}px`;
      this.content.style.height = `${this.height * this.k}px`;
    }
  }

  // Only Ctrl/Cmd + wheel (and trackpad pinches, which arrive as Ctrl + wheel) zoom: a plain
  // wheel scrolls the drawing when it is larger than the view, else the notebook.
  private onWheel = (event: WheelEvent): void => {
    if (!event.ctrlKey && !event.metaKey) {
      return;
    }
    event.preventDefault();
    const rect = this.viewport.getBoundingClientRect();
    const lines = event.deltaMode === WheelEvent.DOM_DELTA_LINE ? 16 : 1;
    this.zoomBy(Math.exp(-event.deltaY * lines * 0.002), event.clientX - rect.left, event.clientY - rect.top);
  };

  private onPointerDown = (event: PointerEvent): void => {
    if (event.button !== 0) {
      return;
    }
    this.swallowClick = false;
    this.drag = { id: event.pointerId, x: event.clientX, y: event.clientY, moved: false };
  };

  private onPointerMove = (event: PointerEvent): void => {
    const drag = this.drag;
    if (!drag || drag.id !== event.pointerId) {
      return;
    }
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < DRAG_THRESHOLD) {
      return;
    }
    if (!drag.moved) {
      drag.moved = true;
      this.viewport.setPointerCapture(event.pointerId);
      this.viewport.classList.add('gk-dragging');
    }
    this.viewport.scrollLeft -= dx;
    this.viewport.scrollTop -= dy;
    drag.x = event.clientX;
    drag.y = event.clientY;
    this.touched = true;
  };

  private onPointerUp = (event: PointerEvent): void => {
    if (!this.drag || this.drag.id !== event.pointerId) {
      return;
    }
    this.swallowClick = this.drag.moved;
    this.drag = null;
    this.viewport.classList.remove('gk-dragging');
  };

  private onClickCapture = (event: MouseEvent): void => {
    if (this.swallowClick) {
      this.swallowClick = false;
      event.stopPropagation();
    }
  };
}
