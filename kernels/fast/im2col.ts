/**
 * The fast backend's im2col and col2im on its own cached tables (kernels/fast/tables.ts): the
 * definition's gather and scatter through `indices`, and the same walks run by run. Both visit
 * x_col in the same order as the reference kernels (kernels/im2col.ts), so the results are the
 * same bit for bit; dispatch.ts decides which walk a table gets.
 *
 * Arguments are trusted: the tables were built here, and the layers have checked the lengths.
 *
 * @module
 */

import type { FloatArray } from "../../tensor.ts";
import type { FastTable } from "./tables.ts";

/**
 * x_col[t] = x[indices[t]], or 0 in the padding: the definition, one table entry at a time.
 *
 * @param x One sample [C,H,W].
 * @param table Its table.
 * @param x_col Where to write x_col [rows, cols].
 * @returns Nothing; `x_col` is written.
 *
 * @example
 * ```ts
 * import { im2colIndices } from "./im2col.ts";
 * import { fastTable } from "./tables.ts";
 * import { assertEquals } from "@std/assert";
 * const table = fastTable({ channels: 1, height: 3, width: 3, kernel: [2, 2], stride: [2, 2] });
 * const x_col = new Float64Array(4);
 * im2colIndices(new Float64Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), table, x_col);
 * assertEquals(Array.from(x_col), [1, 2, 4, 5]); // the one window's four taps
 * ```
 */
export function im2colIndices<T extends FloatArray>(x: T, table: FastTable, x_col: T): void {
  const idx = table.indices, n = idx.length;
  for (let t = 0; t < n; t++) {
    const i = idx[t];
    x_col[t] = i < 0 ? 0 : x[i];
  }
}

/**
 * The same gather, run by run: x_col[t .. t+len) = x[s .. s+len), or zeros. Runs of at least
 * `memcpyMin` entries are copied with TypedArray set / fill (a memcpy / memset), shorter ones by
 * a loop.
 *
 * @param x One sample [C,H,W].
 * @param table Its table.
 * @param x_col Where to write x_col [rows, cols].
 * @param memcpyMin The shortest run copied with set / fill (dispatch.ts).
 * @returns Nothing; `x_col` is written.
 *
 * @example The same bits as the gather through the indices
 * ```ts
 * import { im2colIndices, im2colRuns } from "./im2col.ts";
 * import { fastTable } from "./tables.ts";
 * import { assertEquals } from "@std/assert";
 * const table = fastTable({ channels: 2, height: 5, width: 6, kernel: [3, 3], padding: [1, 1] });
 * const x = Float32Array.from({ length: 60 }, (_, i) => Math.sin(i));
 * const a = new Float32Array(table.rows * table.cols), b = a.slice();
 * im2colIndices(x, table, a);
 * im2colRuns(x, table, b, 4);
 * assertEquals(b, a);
 * ```
 */
export function im2colRuns<T extends FloatArray>(
  x: T,
  table: FastTable,
  x_col: T,
  memcpyMin: number,
): void {
  // x [C,H,W] -> x_col [rows, cols], run by run
  const runs = table.runs, end = runs.length;
  for (let r = 0; r < end; r += 3) {
    const t = runs[r], s = runs[r + 1], len = runs[r + 2];
    if (len >= memcpyMin) {
      if (s < 0) x_col.fill(0, t, t + len);
      else x_col.set(x.subarray(s, s + len), t);
    } else if (s < 0) {
      for (let q = 0; q < len; q++) x_col[t + q] = 0;
    } else {
      for (let q = 0; q < len; q++) x_col[t + q] = x[s + q];
    }
  }
}

/**
 * dx[indices[t]] += x_col[t], padding skipped: the definition (addAt), on a trusted table.
 *
 * @param x_col A column matrix [rows, cols].
 * @param table Its table.
 * @param dx The sample [C,H,W] to accumulate into.
 * @returns Nothing; `dx` is added to.
 *
 * @example
 * ```ts
 * import { col2imIndices } from "./im2col.ts";
 * import { fastTable } from "./tables.ts";
 * import { assertEquals } from "@std/assert";
 * const table = fastTable({ channels: 1, height: 3, width: 3, kernel: [2, 2] });
 * const dx = new Float64Array(9);
 * col2imIndices(new Float64Array(16).fill(1), table, dx);
 * assertEquals(Array.from(dx), [1, 2, 1, 2, 4, 2, 1, 2, 1]);
 * ```
 */
export function col2imIndices<T extends FloatArray>(x_col: T, table: FastTable, dx: T): void {
  const idx = table.indices, n = idx.length;
  for (let t = 0; t < n; t++) {
    const i = idx[t];
    if (i >= 0) dx[i] += x_col[t];
  }
}

/**
 * The same scatter, run by run: dx[s .. s+len) += x_col[t .. t+len), padding skipped. The runs
 * go in increasing t, so every cell receives its terms in the order of the definition.
 *
 * @param x_col A column matrix [rows, cols].
 * @param table Its table.
 * @param dx The sample [C,H,W] to accumulate into.
 * @returns Nothing; `dx` is added to.
 *
 * @example The same bits as the scatter through the indices
 * ```ts
 * import { col2imIndices, col2imRuns } from "./im2col.ts";
 * import { fastTable } from "./tables.ts";
 * import { assertEquals } from "@std/assert";
 * const table = fastTable({ channels: 2, height: 5, width: 6, kernel: [3, 3], padding: [1, 1] });
 * const x_col = Float32Array.from({ length: table.rows * table.cols }, (_, i) => Math.cos(i));
 * const a = new Float32Array(60), b = new Float32Array(60);
 * col2imIndices(x_col, table, a);
 * col2imRuns(x_col, table, b);
 * assertEquals(b, a);
 * ```
 */
export function col2imRuns<T extends FloatArray>(x_col: T, table: FastTable, dx: T): void {
  const runs = table.runs, end = runs.length;
  for (let r = 0; r < end; r += 3) {
    const t = runs[r], s = runs[r + 1], len = runs[r + 2];
    if (s < 0) continue;
    for (let q = 0; q < len; q++) dx[s + q] += x_col[t + q];
  }
}
