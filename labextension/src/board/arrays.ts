/** Decoding the payload's numeric arrays (JSON lists or base64 little-endian bytes). */
import type { NumericArray } from './types';

const DTYPES = {
  float64: Float64Array,
  float32: Float32Array,
  int32: Int32Array
} as const;

/** Base64 -> bytes, in a fresh (hence aligned) buffer. */
function base64Bytes(b64: string): Uint8Array<ArrayBuffer> {
  const text = atob(b64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    bytes[i] = text.charCodeAt(i);
  }
  return bytes;
}

/** `array` as a Float64Array (`name` names it in the error for a bad dtype). */
export function decodeNumeric(array: NumericArray | undefined | null, name: string): Float64Array {
  if (array == null) {
    return new Float64Array(0);
  }
  if (Array.isArray(array)) {
    return Float64Array.from(array, v => (v === null ? NaN : v));
  }
  const Kind = DTYPES[array.dtype];
  if (!Kind) {
    throw new Error(`${name}: unknown dtype ${JSON.stringify(array.dtype)} (expected float64, float32 or int32)`);
  }
  const bytes = base64Bytes(array.b64);
  if (bytes.length % Kind.BYTES_PER_ELEMENT) {
    throw new Error(`${name}: ${bytes.length} bytes is not a whole number of ${array.dtype} values`);
  }
  const values = new Kind(bytes.buffer);
  return values instanceof Float64Array ? values : Float64Array.from(values);
}

/** Index of the first element of the ascending `sorted` that is >= `x`. */
export function lowerBound(sorted: ArrayLike<number>, x: number, lo = 0, hi = sorted.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < x) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

/** Index of the first element of the ascending `sorted` that is > `x`. */
export function upperBound(sorted: ArrayLike<number>, x: number, lo = 0, hi = sorted.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= x) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}
