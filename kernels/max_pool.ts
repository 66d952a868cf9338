/**
 * The max-pooling kernel over an im2col'd input: one column per pooling window, so the pooled
 * value is the column's maximum and the gradient goes back only to the row that won.
 *
 * @module
 */

import type { FloatArray } from "../tensor.ts";

/** Options of {@link maxPoolColumns}. */
export interface MaxPoolColumnsOptions<T extends FloatArray> {
  /** Rows of x_col: the window size kh·kw. */
  rows: number;
  /** Columns of x_col: the number of windows Ho·Wo. */
  cols: number;
  /** Where to write the maxima (length cols); default a new array of x_col's type. */
  max?: T;
  /** Where to write the winning row of each column (length cols); default a new Int32Array. */
  argmax?: Int32Array;
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
 * @param opts Its size and optional output buffers.
 * @returns The maxima and the winning rows.
 * @throws {RangeError} If the sizes do not match x_col or the buffers.
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
  opts: MaxPoolColumnsOptions<T>,
): ColumnMax<T> {
  const { rows, cols } = opts;
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
  if (opts.max !== undefined && opts.max.length !== cols) {
    throw new RangeError(`maxPoolColumns: max has ${opts.max.length} elements, expected ${cols}`);
  }
  if (opts.argmax !== undefined && opts.argmax.length !== cols) {
    throw new RangeError(
      `maxPoolColumns: argmax has ${opts.argmax.length} elements, expected ${cols}`,
    );
  }
  const max = opts.max ?? (new (x_col.constructor as { new (n: number): T })(cols));
  const argmax = opts.argmax ?? new Int32Array(cols);
  // Row 0 starts every column; later rows replace it when strictly larger (or NaN). Walking
  // row by row keeps the reads of x_col sequential.
  for (let p = 0; p < cols; p++) {
    max[p] = x_col[p];
    argmax[p] = 0;
  }
  for (let r = 1; r < rows; r++) {
    const o = r * cols;
    for (let p = 0; p < cols; p++) {
      const v = x_col[o + p], m = max[p];
      if (v > m || (v !== v && m === m)) {
        max[p] = v;
        argmax[p] = r;
      }
    }
  }
  return { max, argmax };
}
