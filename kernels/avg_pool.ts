/**
 * The average-pooling kernel over an im2col'd input, in its reference form: one column per
 * pooling window, so the pooled value is the column's sum divided by the window's size (which
 * the layer reads off the table: kh·kw, or the window's cells of x). The fast backend never
 * builds x_col: it sums each window straight from the image (kernels/fast/avg_pool.ts).
 *
 * @module
 */

import type { FloatArray } from "../tensor.ts";
import { describe, isFloatArray, zerosLike } from "../_validate.ts";

/** The size of the column matrix {@link avgPoolColumns} reads, and each column's divisor. */
export interface AvgPoolColumnsOptions {
  /** Rows of x_col: the window size kh·kw. */
  rows: number;
  /** Columns of x_col: the number of windows Ho·Wo. */
  cols: number;
  /** |window p| for every column p: what its sum is divided by (positive). */
  counts: ArrayLike<number>;
}

/**
 * Per-column means of x_col [rows, cols]: mean[p] = (Σ_r x_col[r, p]) / counts[p], each sum
 * taken in float64 and rounded once to x_col's type.
 *
 * @param x_col The column matrix, row-major.
 * @param opts Its size, and the divisor of each column.
 * @returns mean [cols], of x_col's type.
 * @throws {RangeError} If the sizes are not positive integers, do not match x_col, or a count is
 *   not positive.
 * @throws {TypeError} If x_col is not a Float32Array or Float64Array.
 *
 * @example Two windows of four cells: one divided by 4, one (a border window, a cell of padding
 * not counted) by 3
 * ```ts
 * import { avgPoolColumns } from "./avg_pool.ts";
 * import { assertEquals } from "@std/assert";
 * // columns are windows: [1,5,2,0] and [3,0,6,3] (the 0 of the second is padding)
 * const x_col = new Float64Array([1, 3, 5, 0, 2, 6, 0, 3]);
 * assertEquals(Array.from(avgPoolColumns(x_col, { rows: 4, cols: 2, counts: [4, 4] })), [2, 3]);
 * assertEquals(Array.from(avgPoolColumns(x_col, { rows: 4, cols: 2, counts: [4, 3] })), [2, 4]);
 * ```
 */
export function avgPoolColumns<T extends FloatArray>(x_col: T, opts: AvgPoolColumnsOptions): T {
  const { rows, cols, counts } = opts ?? {};
  if (!isFloatArray(x_col)) {
    throw new TypeError(
      `avgPoolColumns: x_col must be a Float32Array or Float64Array, got ${describe(x_col)}`,
    );
  }
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) {
    throw new RangeError(
      `avgPoolColumns: rows and cols must be positive integers, got ${rows}, ${cols}`,
    );
  }
  if (x_col.length !== rows * cols) {
    throw new RangeError(
      `avgPoolColumns: x_col has ${x_col.length} elements but [${rows},${cols}] needs ${
        rows * cols
      }`,
    );
  }
  if (counts?.length !== cols || !Array.prototype.every.call(counts, (c: number) => c > 0)) {
    throw new RangeError(
      `avgPoolColumns: counts must hold ${cols} positive numbers, one per column of x_col ` +
        `[${rows},${cols}]`,
    );
  }
  // x_col [rows, cols] -> mean [cols]
  const sum = new Float64Array(cols); // sum[p] = Σ_r x_col[r, p], in float64   [cols]
  for (let r = 0; r < rows; r++) for (let p = 0; p < cols; p++) sum[p] += x_col[r * cols + p];
  const mean = zerosLike(x_col, cols); // mean [cols], x_col's type
  for (let p = 0; p < cols; p++) mean[p] = sum[p] / counts[p]; // mean[p] = sum[p] / |window p|
  return mean;
}
