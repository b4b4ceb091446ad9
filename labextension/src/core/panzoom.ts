/**
 * Pan (drag) and zoom (Ctrl/Cmd + wheel, pinch, buttons) of one content element inside a clipping viewport,
 * with a CSS transform. A drag does not count as a click on what is under the pointer.
 */

const MIN_SCALE = 0.05;
const MAX_SCALE = 8;
const PAD = 8;
const DRAG_THRESHOLD = 4;

export class PanZoom {
  private content: HTMLElement | SVGElement | null = null;
  private width = 0;
  private height = 0;
  private x = 0;
  private y = 0;
  private k = 1;
  private drag: { id: number; x: number; y: number; moved: boolean } | null = null;
  private swallowClick = false;
  /** True once the user panned or zoomed; views then keep the transform across re-renders. */
  touched = false;

  constructor(private viewport: HTMLElement) {
    viewport.addEventListener('wheel', this.onWheel, { passive: false });
    viewport.addEventListener('pointerdown', this.onPointerDown);
    viewport.addEventListener('pointermove', this.onPointerMove);
    viewport.addEventListener('pointerup', this.onPointerUp);
    viewport.addEventListener('pointercancel', this.onPointerUp);
    viewport.addEventListener('click', this.onClickCapture, true);
  }

  /** Shows `content`, whose natural size is `width` x `height` CSS pixels. */
  setContent(content: HTMLElement | SVGElement, width: number, height: number): void {
    this.content = content;
    this.width = width;
    this.height = height;
    content.style.transformOrigin = '0 0';
    if (this.touched) {
      this.apply();
    } else {
      this.fit();
    }
  }

  /** Scales the content down (never up) to fit the viewport and centres it. */
  fit(): void {
    const vw = this.viewport.clientWidth;
    const vh = this.viewport.clientHeight;
    if (!this.width || !this.height || !vw || !vh) {
      this.k = 1;
      this.x = this.y = PAD;
    } else {
      this.k = Math.min(1, (vw - 2 * PAD) / this.width, (vh - 2 * PAD) / this.height);
      this.x = (vw - this.width * this.k) / 2;
      this.y = (vh - this.height * this.k) / 2;
    }
    this.touched = false;
    this.apply();
  }

  /** Multiplies the scale by `factor` around viewport point (cx, cy) (default: the centre). */
  zoomBy(factor: number, cx = this.viewport.clientWidth / 2, cy = this.viewport.clientHeight / 2): void {
    const k = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.k * factor));
    this.x = cx - ((cx - this.x) * k) / this.k;
    this.y = cy - ((cy - this.y) * k) / this.k;
    this.k = k;
    this.touched = true;
    this.apply();
  }

  dispose(): void {
    this.viewport.removeEventListener('wheel', this.onWheel);
    this.viewport.removeEventListener('pointerdown', this.onPointerDown);
    this.viewport.removeEventListener('pointermove', this.onPointerMove);
    this.viewport.removeEventListener('pointerup', this.onPointerUp);
    this.viewport.removeEventListener('pointercancel', this.onPointerUp);
    this.viewport.removeEventListener('click', this.onClickCapture, true);
  }

  private apply(): void {
    if (this.content) {
      this.content.style.transform = `translate(${this.x}px, ${this.y}px) scale(${this.k})`;
    }
  }

  // Only Ctrl/Cmd + wheel (and trackpad pinches, which arrive as Ctrl + wheel) zoom: a plain
  // wheel keeps scrolling the notebook past the graph.
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
    this.x += dx;
    this.y += dy;
    drag.x = event.clientX;
    drag.y = event.clientY;
    this.touched = true;
    this.apply();
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
