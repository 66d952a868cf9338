// Reusable scratch buffers for the hot loops (x_col, dx_col, ...), so a forward or backward
// call does not allocate a fresh column matrix for every sample or every call. The layers are
// synchronous, so one buffer per (type, slot) is safe: a slot is never in use twice at once.
// Private: not part of the public API.

import type { FloatArray } from "../tensor.ts";

const f32 = new Map<string, Float32Array>();
const f64 = new Map<string, Float64Array>();

/** A buffer of `like`'s type with at least `length` elements, reused between calls of `slot`.
 * Its contents are garbage: the caller overwrites what it reads. Returns a view of exactly
 * `length` elements. */
export function scratch<T extends FloatArray>(like: T, slot: string, length: number): T {
  if (like instanceof Float32Array) {
    let buf = f32.get(slot);
    if (buf === undefined || buf.length < length) f32.set(slot, buf = new Float32Array(length));
    return buf.subarray(0, length) as T;
  }
  let buf = f64.get(slot);
  if (buf === undefined || buf.length < length) f64.set(slot, buf = new Float64Array(length));
  return buf.subarray(0, length) as T;
}
