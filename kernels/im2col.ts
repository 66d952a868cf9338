/**
 * im2col through a fancy-index table, and col2im as the same table used backwards: the reference
 * form, which docs/im2col.md and docs/conv_backward.md quote.
 *
 * For one sample x [C,H,W], the column matrix x_col [C·kh·kw, Ho·Wo] has one column per output
 * position and one row per kernel tap: x_col[(c·kh + i)·kw + j, oh·Wo + ow] =
 * x[c, oh·sh − ph + i·dh, ow·sw − pw + j·dw] (0 in the padding; dilation [dh, dw] spaces the taps,
 * 1 by default). The table stores, for every entry of
 * x_col, the flat index into x that it reads, or −1 where it falls in the padding. It depends only
 * on the geometry, so im2col is then a plain gather, and col2im is `addAt(dx, table, dx_col)`: an
 * input cell read by several windows receives the sum of their gradients (x → x_col is
 * one-to-many, so its adjoint x_col → x sums).
 *
 * The fast backend builds each table once per geometry and walks it by runs of consecutive cells
 * (kernels/fast/tables.ts, kernels/fast/im2col_runs.ts), with the same results bit for bit.
 *
 * @module
 */

import type { FloatArray } from "../tensor.ts";
import { checkOut, describe, isFloatArray } from "../_validate.ts";
import { addAt } from "./add_at.ts";

/** The geometry of one convolution (or pooling) over one sample. */
export interface Im2colGeometry {
  /** Input channels C. */
  readonly channels: number;
  /** Input height H. */
  readonly height: number;
  /** Input width W. */
  readonly width: number;
  /** Kernel size [kh, kw]. */
  readonly kernel: readonly [number, number];
  /** Stride [sh, sw]; default [1, 1]. */
  readonly stride?: readonly [number, number];
  /** Zero padding [ph, pw] on each side; default [0, 0]. */
  readonly padding?: readonly [number, number];
  /** Dilation [dh, dw]: the spacing of the kernel's taps in the input; default [1, 1]. */
  readonly dilation?: readonly [number, number];
}

/** The fancy-index table of one geometry, with the sizes it implies. */
export interface Im2colTable {
  /** For each entry of x_col [rows, cols] (row-major), the flat index into x [C,H,W], or −1. */
  readonly indices: Int32Array;
  /** C·kh·kw: one row per kernel tap. */
  readonly rows: number;
  /** Ho·Wo: one column per output position. */
  readonly cols: number;
  /** Ho = floor((H + 2·ph − dh·(kh − 1) − 1) / sh) + 1, as PyTorch. */
  readonly outHeight: number;
  /** Wo = floor((W + 2·pw − dw·(kw − 1) − 1) / sw) + 1. */
  readonly outWidth: number;
  /** C·H·W: the length of the sample the indices point into. */
  readonly inputSize: number;
}

/**
 * The number of windows along one axis: floor((n + 2·pad − dilation·(k − 1) − 1) / stride) + 1,
 * as PyTorch (cells that a stride skips at the end are simply not read). A dilated kernel spans
 * dilation·(k − 1) + 1 cells. The one place this formula is written.
 *
 * @param n The input's size along the axis.
 * @param k The kernel's size along the axis.
 * @param stride The step between windows.
 * @param pad The zero padding on each side.
 * @param dilation The spacing of the kernel's taps; default 1.
 * @returns The output's size along the axis (at least 1 when the span fits n + 2·pad).
 *
 * @example LeNet's first convolution, a stride that skips the last column, a dilated kernel
 * ```ts
 * import { outputSize } from "./im2col.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(outputSize(28, 5, 1, 0), 24);
 * assertEquals(outputSize(5, 2, 2, 0), 2); // windows at 0 and 2; column 4 is never read
 * assertEquals(outputSize(7, 3, 1, 0, 2), 3); // taps at 0, 2, 4: a span of 5
 * ```
 */
export function outputSize(
  n: number,
  k: number,
  stride: number,
  pad: number,
  dilation = 1,
): number {
  return Math.floor((n + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;
}

/** A geometry's `[rows, cols]` pair, as given. */
function checkPair(name: string, v: unknown): readonly [number, number] {
  if (!Array.isArray(v) || v.length !== 2) {
    throw new TypeError(
      `im2colTable: ${name} must be a [rows, cols] pair, got ${JSON.stringify(v)}`,
    );
  }
  return v as [number, number];
}

function checkSize(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) {
    throw new RangeError(
      `im2colTable: ${name} must be ${
        min === 0 ? "a non-negative" : "a positive"
      } integer, got ${v}`,
    );
  }
}

/**
 * Builds the fancy-index table of a geometry: T[r·P + p] is the flat index in x [C,H,W] that
 * entry (r, p) of x_col reads, or −1 in the padding. A new table on every call, the caller's to
 * keep (the layers' fast path caches its own copies, which no caller sees).
 *
 * @param geometry Input [C,H,W], kernel [kh,kw], stride [sh,sw], padding [ph,pw], dilation
 *   [dh,dw].
 * @returns The table and the sizes it implies.
 * @throws {RangeError} If a size is not a positive integer (padding: non-negative), the (dilated)
 *   kernel is larger than the padded input, or the table would have more than 2²⁹ entries.
 * @throws {TypeError} If the geometry is not an object, or kernel, stride, padding or dilation
 *   not a pair.
 *
 * @example A 1×3×3 input, 2×2 kernel, padding 1: a 4×16 table with −1 in the padding
 * ```ts
 * import { im2colTable } from "./im2col.ts";
 * import { assertEquals } from "@std/assert";
 * const t = im2colTable({ channels: 1, height: 3, width: 3, kernel: [2, 2], padding: [1, 1] });
 * assertEquals([t.rows, t.cols, t.outHeight, t.outWidth], [4, 16, 4, 4]);
 * // row 0 is the top-left tap: the first window's top-left tap falls in the padding,
 * // the window at output (1,1) reads x[0,0]
 * assertEquals(t.indices[0], -1);
 * assertEquals(t.indices[1 * 4 + 1], 0);
 * // dilation 2: a 2×2 kernel whose taps are two cells apart reads the corners of a 3×3 input
 * const d = im2colTable({ channels: 1, height: 3, width: 3, kernel: [2, 2], dilation: [2, 2] });
 * assertEquals(Array.from(d.indices), [0, 2, 6, 8]);
 * ```
 */
export function im2colTable(geometry: Im2colGeometry): Im2colTable {
  if (typeof geometry !== "object" || geometry === null) {
    throw new TypeError(
      `im2colTable: geometry must be an object as { channels, height, width, kernel: [kh, kw] }, ` +
        `got ${describe(geometry)}`,
    );
  }
  const { channels: C, height: H, width: W } = geometry;
  const [kh, kw] = checkPair("kernel", geometry.kernel);
  const [sh, sw] = geometry.stride === undefined ? [1, 1] : checkPair("stride", geometry.stride);
  const [ph, pw] = geometry.padding === undefined ? [0, 0] : checkPair("padding", geometry.padding);
  const [dh, dw] = geometry.dilation === undefined
    ? [1, 1]
    : checkPair("dilation", geometry.dilation);
  checkSize("channels", C, 1);
  checkSize("height", H, 1);
  checkSize("width", W, 1);
  checkSize("kernel height", kh, 1);
  checkSize("kernel width", kw, 1);
  checkSize("stride height", sh, 1);
  checkSize("stride width", sw, 1);
  checkSize("padding height", ph, 0);
  checkSize("padding width", pw, 0);
  checkSize("dilation height", dh, 1);
  checkSize("dilation width", dw, 1);
  const spanH = dh * (kh - 1) + 1, spanW = dw * (kw - 1) + 1; // the cells a dilated kernel covers
  if (spanH > H + 2 * ph || spanW > W + 2 * pw) {
    throw new RangeError(
      `im2colTable: kernel [${kh},${kw}]${
        dh * dw === 1 ? "" : ` (dilated: [${spanH},${spanW}])`
      } ` +
        `is larger than the padded input [${H + 2 * ph},${W + 2 * pw}] (input [${C},${H},${W}], ` +
        `padding [${ph},${pw}])`,
    );
  }
  const Ho = outputSize(H, kh, sh, ph, dh), Wo = outputSize(W, kw, sw, pw, dw);
  const rows = C * kh * kw, cols = Ho * Wo;
  if (rows * cols > 2 ** 29) {
    throw new RangeError(
      `im2colTable: the table [${rows},${cols}] would have more than 2^29 entries ` +
        `(input [${C},${H},${W}], kernel [${kh},${kw}], stride [${sh},${sw}], padding [${ph},${pw}], ` +
        `dilation [${dh},${dw}])`,
    );
  }
  const indices = new Int32Array(rows * cols);
  // row r = (c·kh + i)·kw + j is one kernel tap; column p = oh·Wo + ow is one output position
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const r = (c * kh + i) * kw + j;
        for (let oh = 0; oh < Ho; oh++) {
          const h = oh * sh - ph + i * dh;
          for (let ow = 0; ow < Wo; ow++) {
            const w = ow * sw - pw + j * dw;
            const inside = h >= 0 && h < H && w >= 0 && w < W;
            indices[r * cols + oh * Wo + ow] = inside ? (c * H + h) * W + w : -1;
          }
        }
      }
    }
  }
  return { indices, rows, cols, outHeight: Ho, outWidth: Wo, inputSize: C * H * W };
}

/** Options of {@link im2col}. */
export interface Im2colOptions<T extends FloatArray> {
  /** Where to write x_col (length rows·cols, x's type); default a new array. */
  out?: T;
}

/** Checks a table handed in by a caller: sizes that agree, every index inside the sample. */
function checkTable(fn: string, table: Im2colTable): void {
  const t = table as Partial<Im2colTable> | null;
  if (typeof t !== "object" || t === null || !(t.indices instanceof Int32Array)) {
    throw new TypeError(
      `${fn}: table must be an Im2colTable (from im2colTable), got ${describe(t)}`,
    );
  }
  const { indices, rows, cols, inputSize } = t as Im2colTable;
  if (indices.length !== rows * cols) {
    throw new RangeError(
      `${fn}: table.indices has ${indices.length} entries but the table is [${rows},${cols}]`,
    );
  }
  for (let t = 0; t < indices.length; t++) {
    if (indices[t] >= inputSize) {
      throw new RangeError(
        `${fn}: table.indices[${t}] = ${indices[t]} is outside the sample of ${inputSize} cells`,
      );
    }
  }
}

/**
 * Gathers one sample into its column matrix: x_col[t] = x[table[t]], or 0 where table[t] = −1.
 *
 * @param x One sample [C,H,W], flat (a `subarray` of a batch works without copying).
 * @param table The table from {@link im2colTable}.
 * @param opts `out`: where to write x_col.
 * @returns x_col [rows, cols], row-major, of x's type.
 * @throws {RangeError} If x or out has the wrong length for the table, out shares memory with x,
 *   or an index of the table lies outside the sample.
 * @throws {TypeError} If x is not a Float32Array or Float64Array, or out is not of x's type.
 *
 * @example Columns of a 3×3 image with a 2×2 kernel
 * ```ts
 * import { im2col, im2colTable } from "./im2col.ts";
 * import { assertEquals } from "@std/assert";
 * const x = new Float64Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);
 * const table = im2colTable({ channels: 1, height: 3, width: 3, kernel: [2, 2] });
 * const x_col = im2col(x, table); // [4 taps, 4 positions]
 * assertEquals(Array.from(x_col.subarray(0, 4)), [1, 2, 4, 5]); // top-left tap of each window
 * assertEquals(Array.from(x_col.subarray(12, 16)), [5, 6, 8, 9]); // bottom-right tap
 * ```
 */
export function im2col<T extends FloatArray>(
  x: T,
  table: Im2colTable,
  opts: Im2colOptions<T> = {},
): T {
  if (!isFloatArray(x)) {
    throw new TypeError(`im2col: x must be a Float32Array or Float64Array, got ${describe(x)}`);
  }
  checkTable("im2col", table);
  if (x.length !== table.inputSize) {
    throw new RangeError(
      `im2col: x has ${x.length} elements but the table reads a sample of ${table.inputSize}`,
    );
  }
  const n = table.rows * table.cols, T = table.indices;
  const x_col = checkOut("im2col", "opts.out", opts.out, x, n, { x });
  for (let t = 0; t < n; t++) x_col[t] = T[t] < 0 ? 0 : x[T[t]]; // x_col[t] = x[T[t]], 0 in the padding
  return x_col;
}

/** Options of {@link col2im}. */
export interface Col2imOptions<T extends FloatArray> {
  /** Where to accumulate (length C·H·W); it is added to, not overwritten. Default: new zeros. */
  out?: T;
}

/**
 * The adjoint of {@link im2col}: scatters a column matrix back onto the sample, summing where
 * several windows read the same cell. It is exactly `addAt(out, table.indices, x_col)`.
 *
 * @param x_col A column matrix [rows, cols] of the table's geometry.
 * @param table The same table the forward pass used.
 * @param opts `out`: the sample to accumulate into.
 * @returns The sample [C,H,W] (`opts.out` when given).
 * @throws {RangeError} If x_col or out has the wrong length for the table, out shares memory
 *   with x_col, or an index of the table lies outside the sample.
 * @throws {TypeError} If x_col is not a Float32Array or Float64Array, or out is not of its type.
 *
 * @example Every cell of a 3×3 image is read by as many 2×2 windows as cover it
 * ```ts
 * import { col2im, im2colTable } from "./im2col.ts";
 * import { assertEquals } from "@std/assert";
 * const table = im2colTable({ channels: 1, height: 3, width: 3, kernel: [2, 2] });
 * const ones = new Float64Array(table.rows * table.cols).fill(1);
 * assertEquals(Array.from(col2im(ones, table)), [1, 2, 1, 2, 4, 2, 1, 2, 1]);
 * ```
 */
export function col2im<T extends FloatArray>(
  x_col: T,
  table: Im2colTable,
  opts: Col2imOptions<T> = {},
): T {
  if (!isFloatArray(x_col)) {
    throw new TypeError(
      `col2im: x_col must be a Float32Array or Float64Array, got ${describe(x_col)}`,
    );
  }
  checkTable("col2im", table);
  if (x_col.length !== table.rows * table.cols) {
    throw new RangeError(
      `col2im: x_col has ${x_col.length} elements but the table is [${table.rows},${table.cols}]`,
    );
  }
  const dx = checkOut("col2im", "opts.out", opts.out, x_col, table.inputSize, { x_col });
  addAt(dx, table.indices, x_col); // dx[T[t]] += x_col[t]: each cell sums the entries that read it
  return dx;
}
