/**
 * The max-pooling kernel over an im2col'd input: one column per pooling window, so the pooled
 * value is the column's maximum and the gradient goes back only to the row that won.
 *
 * @module
 */

import type { FloatArray } from "../tensor.ts";
import type { Im2colTable } from "./im2col.ts";
import { maxPool2x2Simd } from "./_max_pool_simd.ts";

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

/** Options of {@link maxPoolTable}. */
export interface MaxPoolTableOptions<T extends FloatArray> {
  /** Where to write the maxima, one per window of every slice (length slices·cols). */
  max: T;
  /** Where to write, for every window, the flat index in x of its maximum (same length). Omit
   * it for the maxima only, as a forward pass with no backward needs. */
  route?: Int32Array;
}

/**
 * {@link maxPoolColumns} fused with the gather: for each of the `x.length / table.inputSize`
 * one-channel images stacked in x, the max of every column of its im2col, read straight through
 * the table instead of copying x_col out first, and the flat index in x that won. The result is
 * exactly `maxPoolColumns(im2col(x_s, table))` per slice s, with `route = s·H·W + table[argmax]`.
 * It is what the max-pool layer runs: one call for the whole batch, no column matrix.
 *
 * Float32 x with 2×2 windows at stride 2 (the usual pooling; read off the table's indices) runs
 * on a WebAssembly SIMD kernel (kernels/max_pool_simd.wat: 4 windows per step, x copied into its
 * memory in blocks of 128 KiB), where the runtime has WebAssembly SIMD128: W4's [64,20,24,24]
 * takes about 0.2 ms instead of 1.4. Its answers are bit-identical to the TypeScript path's,
 * which does everything else (float64, other windows and strides, no WebAssembly) and stays as
 * the reference that the tests compare the kernel to.
 *
 * @param x The images [S, H, W], flat.
 * @param table The im2col table of one image (channels 1, no padding).
 * @param opts The output buffers.
 * @returns Nothing; `max` (and `route` when given) are filled.
 * @throws {RangeError} If x is not a whole number of images, the table reads padding, or a
 *   buffer has the wrong length.
 *
 * @example Two 2×2 images, one 2×2 window each
 * ```ts
 * import { maxPoolTable } from "./max_pool.ts";
 * import { im2colTable } from "./im2col.ts";
 * import { assertEquals } from "@std/assert";
 * const table = im2colTable({ channels: 1, height: 2, width: 2, kernel: [2, 2] });
 * const max = new Float64Array(2), route = new Int32Array(2);
 * maxPoolTable(new Float64Array([1, 4, 2, 3, 9, 0, 0, 8]), table, { max, route });
 * assertEquals(Array.from(max), [4, 9]);
 * assertEquals(Array.from(route), [1, 4]); // x[1] won the first image, x[4] the second
 * ```
 */
export function maxPoolTable<T extends FloatArray>(
  x: T,
  table: Im2colTable,
  opts: MaxPoolTableOptions<T>,
): void {
  const { max } = opts;
  const R = table.rows, P = table.cols, HW = table.inputSize;
  const S = x.length / HW;
  if (!Number.isInteger(S)) {
    throw new RangeError(`maxPoolTable: x has ${x.length} elements, not a multiple of ${HW}`);
  }
  if (max.length !== S * P || (opts.route !== undefined && opts.route.length !== S * P)) {
    throw new RangeError(
      `maxPoolTable: max and route need ${
        S * P
      } elements, got ${max.length} and ${opts.route?.length}`,
    );
  }
  // A pooling table has no padding, so every tap r is a fixed step off[r] from its window's
  // first cell: idx[r·P + p] = idx[p] + off[r]. Checked here (R·P entries, once per call), so
  // the loops below may read the table's first row only.
  const idx = table.indices, off = new Int32Array(R);
  for (let r = 0; r < R; r++) off[r] = idx[r * P] - idx[0];
  for (let r = 0; r < R; r++) {
    for (let p = 0; p < P; p++) {
      const i = idx[r * P + p];
      if (i < 0) throw new RangeError("maxPoolTable: the table reads padding");
      if (i !== idx[p] + off[r]) {
        throw new RangeError("maxPoolTable: the table's windows are not translates of each other");
      }
    }
  }
  if (R === 4) {
    const W = pool2x2Width(table, off);
    if (
      W > 0 && x instanceof Float32Array && max instanceof Float32Array &&
      maxPool2x2Simd(x, S, HW / W, W, max, opts.route ?? null)
    ) return;
  }
  // The TypeScript loops find the winner's index anyway: without opts.route they write it to a
  // scratch array, reused from call to call.
  const route = opts.route ?? scratchRoute(S * P);
  if (R === 4) maxPool4(x, idx, off, S, P, HW, max, route);
  else maxPoolAny(x, idx, off, S, P, R, HW, max, route);
}

let routeScratch = new Int32Array(0);

function scratchRoute(n: number): Int32Array {
  if (routeScratch.length < n) routeScratch = new Int32Array(n);
  return routeScratch.subarray(0, n);
}

/** The image width W when the table's windows are exactly 2×2 with stride 2 over [H, W] images
 * (taps at offsets 0, 1, W, W + 1; window (oh, ow) at 2·oh·W + 2·ow; Ho = floor(H/2),
 * Wo = floor(W/2)), else 0. Read from the indices themselves, so whatever geometry built the
 * table, the SIMD kernel computes the windows the table describes. `off` as in maxPoolTable,
 * whose checks (no padding, translates) have passed. */
function pool2x2Width(table: Im2colTable, off: Int32Array): number {
  const W = off[2], HW = table.inputSize, Ho = table.outHeight, Wo = table.outWidth;
  if (off[1] !== 1 || W < 2 || off[3] !== W + 1 || HW % W !== 0) return 0;
  if (Ho !== (HW / W) >> 1 || Wo !== W >> 1 || Ho * Wo !== table.cols) return 0;
  const idx = table.indices;
  for (let oh = 0, p = 0; oh < Ho; oh++) {
    for (let ow = 0; ow < Wo; ow++, p++) if (idx[p] !== 2 * oh * W + 2 * ow) return 0;
  }
  return W;
}

// Which cell of a window wins is unpredictable, and a mispredicted branch per cell costs more
// than the whole gather; so both loops pick the winner with 0/1 arithmetic instead of ifs.

/** Windows of 4 cells (2×2, the usual pooling): the first maximum found by comparing every
 * pair at once, rather than a chain of 3 steps that each wait for the previous one. Also the
 * fallback, and the reference, of the SIMD kernel for float32 2×2/2. */
function maxPool4<T extends FloatArray>(
  x: T,
  idx: Int32Array,
  off: Int32Array,
  S: number,
  P: number,
  HW: number,
  max: T,
  route: Int32Array,
): void {
  const o1 = off[1], o2 = off[2], o3 = off[3];
  for (let s = 0; s < S; s++) {
    const base = s * HW, o = s * P;
    for (let p = 0; p < P; p++) {
      const i0 = base + idx[p];
      const v0 = x[i0], v1 = x[i0 + o1], v2 = x[i0 + o2], v3 = x[i0 + o3];
      // gab = 1 when cell b beats cell a (strictly: ties go to the first)
      const g01 = +(v1 > v0), g02 = +(v2 > v0), g03 = +(v3 > v0);
      const g12 = +(v2 > v1), g13 = +(v3 > v1), g23 = +(v3 > v2);
      // cell r wins when it beats every earlier cell and no later cell beats it
      const w1 = g01 & (1 - g12) & (1 - g13), w2 = g02 & g12 & (1 - g23), w3 = g03 & g13 & g23;
      let arg = i0 + w1 * o1 + w2 * o2 + w3 * o3;
      // A NaN makes every comparison false: such (rare, predictable) windows take the exact
      // sequential rule, where the first NaN wins as in PyTorch.
      if ((+(v1 !== v1) | +(v2 !== v2) | +(v3 !== v3)) !== 0) arg = firstMax(x, i0, off, 4);
      max[o + p] = x[arg];
      route[o + p] = arg;
    }
  }
}

/** Any window size: row 0 starts, each later cell takes over when larger or NaN (unless the
 * maximum already is NaN). */
function maxPoolAny<T extends FloatArray>(
  x: T,
  idx: Int32Array,
  off: Int32Array,
  S: number,
  P: number,
  R: number,
  HW: number,
  max: T,
  route: Int32Array,
): void {
  for (let s = 0; s < S; s++) {
    const base = s * HW, o = s * P;
    for (let p = 0; p < P; p++) {
      const arg = firstMax(x, base + idx[p], off, R);
      max[o + p] = x[arg];
      route[o + p] = arg;
    }
  }
}

/** The index of the first maximum of the window whose first cell is x[i0] (NaN wins). */
function firstMax(x: FloatArray, i0: number, off: Int32Array, R: number): number {
  let arg = i0, m = x[i0];
  for (let r = 1; r < R; r++) {
    const i = i0 + off[r], v = x[i];
    arg += (+!(v <= m) & +(m === m)) * (i - arg);
    m = x[arg];
  }
  return arg;
}
