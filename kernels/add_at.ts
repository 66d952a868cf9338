/**
 * numpy's `add.at` on flat arrays: the scatter-add that is col2im when fed an im2col table.
 *
 * @module
 */

import type { FloatArray } from "../tensor.ts";
import { overlaps } from "../_validate.ts";

/**
 * target[indices[t]] += values[t] for every t, with repeated indices accumulating (unlike
 * `target[indices] += values` in numpy, which keeps only the last write), and negative indices
 * skipped (they mark the padding in an im2col table).
 *
 * Every index is checked before anything is written, so a bad index leaves `target` untouched.
 *
 * @param target The array to add into (modified in place).
 * @param indices Where each value goes: integers in [0, target.length), or negative to skip.
 * @param values The values to add; same length as `indices`.
 * @returns Nothing; `target` is updated.
 * @throws {RangeError} If the lengths differ, an index is not an integer or ≥ target.length, or
 *   `values` or `indices` shares memory with `target`.
 * @throws {TypeError} If `target` is not a Float32Array or Float64Array.
 *
 * @example Repeats accumulate; −1 is skipped
 * ```ts
 * import { addAt } from "./add_at.ts";
 * import { assertEquals } from "@std/assert";
 * const target = new Float64Array(3);
 * addAt(target, [0, 2, 0, -1], [1, 2, 3, 100]);
 * assertEquals(Array.from(target), [4, 0, 2]);
 * ```
 */
export function addAt(
  target: FloatArray,
  indices: ArrayLike<number>,
  values: ArrayLike<number>,
): void {
  if (!(target instanceof Float32Array || target instanceof Float64Array)) {
    throw new TypeError("addAt: target must be a Float32Array or Float64Array");
  }
  const n = indices.length, size = target.length;
  for (const [name, a] of [["values", values], ["indices", indices]] as const) {
    if (ArrayBuffer.isView(a) && overlaps(a, target)) {
      // numpy's add.at reads each value as it goes, so a value already added into would be
      // read changed: refused rather than depending on the order
      throw new RangeError(`addAt: ${name} shares memory with target; pass a copy`);
    }
  }
  if (values.length !== n) {
    throw new RangeError(
      `addAt: indices has ${n} entries but values has ${values.length}; they must match`,
    );
  }
  // Validate first (nothing half-written). An Int32Array holds only integers, so it needs only
  // the upper bound, which is the common, hot case of an im2col table.
  const typed = indices instanceof Int32Array;
  for (let t = 0; t < n; t++) {
    const i = indices[t];
    if (i >= size || (!typed && !Number.isInteger(i))) {
      throw new RangeError(
        `addAt: indices[${t}] = ${i} is ${
          Number.isInteger(i) ? "out of range" : "not an integer"
        } for target of length ${size}`,
      );
    }
  }
  for (let t = 0; t < n; t++) {
    const i = indices[t];
    if (i >= 0) target[i] += values[t];
  }
}
