/**
 * TensorBoard's scalar smoothing, exactly as its line chart computes it (`classicSmoothing` in
 * tensorboard/webapp/widgets/line_chart_v2/data_transformer.ts): a debiased exponential moving
 * average over the finite values; non-finite values pass through; a constant series is left as is.
 */

/** The smoothed copy of `values` for smoothing `weight` in [0, 1] (TensorBoard's slider). */
export function smoothTensorBoard(values: Float64Array, weight: number): Float64Array {
  const w = Number.isFinite(weight) ? Math.max(0, Math.min(weight, 1)) : 0;
  const first = values[0];
  if (values.every(v => v == first)) {
    return values.slice();
  }
  const smoothed = new Float64Array(values.length);
  let last = 0;
  let accumulated = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      smoothed[i] = v;
      continue;
    }
    last = last * w + (1 - w) * v;
    accumulated++;
    const debiasWeight = w === 1 ? 1 : 1 - Math.pow(w, accumulated);
    smoothed[i] = last / debiasWeight;
  }
  return smoothed;
}
