/** Small DOM helpers of the board's dashboards. */
export { button, el } from '../core/dom';

/** A labelled `<select>` of `options` ([value, label]) calling `onChange` with the chosen value. */
export function select(
  label: string,
  options: [string, string][],
  value: string,
  onChange: (value: string) => void
): { node: HTMLLabelElement; input: HTMLSelectElement } {
  const node = document.createElement('label');
  const input = document.createElement('select');
  setOptions(input, options, value);
  input.addEventListener('change', () => onChange(input.value));
  node.append(label, input);
  return { node, input };
}

/** Replaces the options of `input`, keeping `value` selected when it is still there. */
export function setOptions(input: HTMLSelectElement, options: [string, string][], value: string): void {
  input.replaceChildren(
    ...options.map(([v, text]) => {
      const option = document.createElement('option');
      option.value = v;
      option.textContent = text;
      return option;
    })
  );
  input.value = options.some(([v]) => v === value) ? value : options[0]?.[0] ?? '';
}

/** Lists `runs` in a run `<select>` (keeping `current` when it is still there), hidden unless
 * there are two runs or more; returns the chosen run's name. */
export function setRunOptions(
  runSelect: { node: HTMLElement; input: HTMLSelectElement },
  runs: { name: string }[],
  current: string
): string {
  setOptions(runSelect.input, runs.map(run => [run.name, run.name]), current);
  runSelect.node.hidden = runs.length < 2;
  return runSelect.input.value;
}
