/**
 * The max-pooling kernel over an im2col'd input, in its reference form: one column per pooling
 * window, so the pooled value is the column's maximum and the gradient goes back only to the row
 * that won. (The fast backend reads the windows straight through the table instead of copying
 * x_col out first: kernels/fast/max_pool.ts, with the same winners.)
 *
 * @module
 */

import type { FloatArray } from "../tensor.ts";
import { describe, isFloatArray } from "../_validate.ts";

/** The size of the column matrix {@link maxPoolColumns} reads. */
export interface MaxPoolColumnsOptions {
  /** Rows of x_col: the window size kh·kw. */
  rows: number;
  /** Columns of x_col: the number of windows Ho·Wo. */
  cols: number;
}

/** The maximum of every column and the row it came from. */
export interface ColumnMax<T extends FloatArray> {
  /** max[p] = max_r x_col[r, p]. */
  readonly max: T;
  /** argmax[p] = the first r with x_col[r, p] = max[p] (NaN wins, as in PyTorch). */
  readonly argmax: Int32Array;
}

/**
 * Per-column max and argmax of x_col [rows, cols]. Ties go to the first row (the window's first
 * cell in row-major order); a NaN wins its window so it propagates, as PyTorch does.
 *
 * @param x_col The column matrix, row-major.
 * @param opts Its size.
 * @returns The maxima and the winning rows.
 * @throws {RangeError} If the sizes are not positive integers or do not match x_col.
 * @throws {TypeError} If x_col is not a Float32Array or Float64Array.
 *
 * @example Two windows of four cells
 * ```ts
 * import { maxPoolColumns } from "./max_pool.ts";
 * import { assertEquals } from "@std/assert";
 * // columns are windows: [1,5,2,0] and [3,-1,7,4]
 * const x_col = new Float64Array([1, 3, 5, -1, 2, 7, 0, 4]);
 * const { max, argmax } = maxPoolColumns(x_col, { rows: 4, cols: 2 });
 * assertEquals(Array.from(max), [5, 7]);
 * assertEquals(Array.from(argmax), [1, 2]);
 * ```
 */
export function maxPoolColumns<T extends FloatArray>(
  x_col: T,
  opts: MaxPoolColumnsOptions,
): ColumnMax<T> {
  const { rows, cols } = opts ?? {};
  if (!isFloatArray(x_col)) {
    throw new TypeError(
      `maxPoolColumns: x_col must be a Float32Array or Float64Array, got ${describe(x_col)}`,
    );
  }
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) {
    throw new RangeError(
      `maxPoolColumns: rows and cols must be positive integers, got ${rows}, ${cols}`,
    );
  }
  if (x_col.length !== rows * cols) {
    throw new RangeError(
      `maxPoolColumns: x_col has ${x_col.length} elements but [${rows},${cols}] needs ${
        rows * cols
      }`,
    );
  }
  // x_col [rows, cols] -> max [cols], argmax [cols]
  const max = x_col.slice(0, cols) as T, argmax = new Int32Array(cols); // row 0 starts each column
  for (let r = 1; r < rows; r++) {
    for (let p = 0; p < cols; p++) {
      const v = x_col[r * cols + p];
      // a later row takes over when strictly larger, or NaN (unless the maximum already is NaN)
      if (v > max[p] || (v !== v && max[p] === max[p])) {
        max[p] = v;
        argmax[p] = r;
      }
    }
  }
  return { max, argmax };
}
