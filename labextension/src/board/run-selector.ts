/**
 * TensorBoard's run selector: a checkbox per run with the run's colour, every run on at first
 * (runs that appear later too), and one checkbox for all of them.
 */
import { el } from './dom';

export class RunSelector {
  /** `div.gk-runs`. */
  readonly node = el('div', 'gk-runs');
  private hidden = new Set<string>();
  private boxes = new Map<string, HTMLInputElement>();
  private all = document.createElement('input');
  private runs: string[] = [];

  constructor(
    private colorOf: (run: string) => string,
    private onChange: (hidden: ReadonlySet<string>) => void
  ) {
    this.all.type = 'checkbox';
    this.all.dataset.control = 'all-runs';
    this.all.title = 'Show or hide every run';
    this.all.addEventListener('change', () => this.setAll(this.all.checked));
  }

  /** The runs switched off. */
  get hiddenRuns(): ReadonlySet<string> {
    return this.hidden;
  }

  /** Lists `runs` (in this order); their checkboxes keep their state. */
  setRuns(runs: string[]): void {
    if (runs.join('\n') === this.runs.join('\n')) {
      return;
    }
    this.runs = runs;
    this.boxes.clear();
    const all = el('label', 'gk-run-toggle');
    all.append(this.all, 'Runs');
    this.node.replaceChildren(all, ...runs.map(run => this.toggle(run)));
    this.node.hidden = !runs.length;
    this.syncAll();
  }

  private toggle(run: string): HTMLElement {
    const label = el('label', 'gk-run-toggle');
    label.dataset.run = run;
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.dataset.control = 'run';
    box.dataset.run = run;
    box.checked = !this.hidden.has(run);
    box.addEventListener('change', () => {
      if (box.checked) {
        this.hidden.delete(run);
      } else {
        this.hidden.add(run);
      }
      this.changed();
    });
    this.boxes.set(run, box);
    const swatch = el('span', 'gk-swatch');
    swatch.style.background = this.colorOf(run);
    label.append(box, swatch, el('span', 'gk-run', run));
    label.title = run;
    return label;
  }

  private setAll(shown: boolean): void {
    for (const [run, box] of this.boxes) {
      box.checked = shown;
      if (shown) {
        this.hidden.delete(run);
      } else {
        this.hidden.add(run);
      }
    }
    this.changed();
  }

  private changed(): void {
    this.syncAll();
    this.onChange(this.hidden);
  }

  /** The "all runs" box: checked when every run is shown, indeterminate when some are. */
  private syncAll(): void {
    const off = this.runs.filter(run => this.hidden.has(run)).length;
    this.all.checked = off === 0;
    this.all.indeterminate = off > 0 && off < this.runs.length;
  }
}
