/**
 * im2col through a precomputed fancy-index table, and col2im as the same table used backwards.
 *
 * For one sample x [C,H,W], the column matrix x_col [C·kh·kw, Ho·Wo] has one column per output
 * position and one row per kernel tap: x_col[(c·kh + i)·kw + j, oh·Wo + ow] =
 * x[c, oh·sh − ph + i, ow·sw − pw + j] (0 in the padding). The table stores, for every entry of
 * x_col, the flat index into x that it reads, or −1 where it falls in the padding. It depends only
 * on the geometry, so it is built once and cached; im2col is then a plain gather, and col2im is
 * `addAt(dx, table, dx_col)`: an input cell read by several windows receives the sum of their
 * gradients (x → x_col is one-to-many, so its adjoint x_col → x sums).
 *
 * That gather through `indices` is the definition. It reads one table entry (4 bytes, as much
 * memory traffic as a float32 of data) and takes one branch per entry. With stride 1 the table is
 * made of long runs instead: one output row of one kernel tap reads Wo consecutive input cells
 * (indices[t + 1] = indices[t] + 1), and the padding gives runs of −1. So the table also carries
 * its run-length encoding, derived from `indices` when it is built, and im2col / col2im walk the
 * runs (a copy, a zero fill or an add per run) when they are long enough to pay off. The result is
 * the same, bit for bit: the runs visit x_col in the same order as the definition.
 *
 * @module
 */

import type { FloatArray } from "../tensor.ts";
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
}

/** The fancy-index table of one geometry, with the sizes it implies. */
export interface Im2colTable {
  /** For each entry of x_col [rows, cols] (row-major), the flat index into x [C,H,W], or −1. */
  readonly indices: Int32Array;
  /**
   * `indices` run-length encoded, derived from it when the table is built: triples
   * (t, source, length), in increasing t, that cover x_col [rows, cols] exactly once. A run is a
   * maximal stretch with indices[t + q] = source + q for q < length (x_col copies `length`
   * consecutive cells of x), or with indices[t + q] = −1 throughout (source −1: padding, zeros).
   * With stride 1 a run is one output row of one kernel tap (Wo entries, cut where the padding
   * begins), or several rows when the tap reads whole input rows; with stride 2 neighbouring
   * windows skip cells and most runs have length 1.
   */
  readonly runs: Int32Array;
  /** rows·cols divided by the number of runs. im2col and col2im walk the runs when it is at least
   * 5, and `indices` otherwise. */
  readonly meanRunLength: number;
  /** C·kh·kw: one row per kernel tap. */
  readonly rows: number;
  /** Ho·Wo: one column per output position. */
  readonly cols: number;
  /** Ho = floor((H + 2·ph − kh) / sh) + 1, as PyTorch. */
  readonly outHeight: number;
  /** Wo = floor((W + 2·pw − kw) / sw) + 1. */
  readonly outWidth: number;
  /** C·H·W: the length of the sample the indices point into. */
  readonly inputSize: number;
  /** True when indices[t] = t for all t (the kernel covers the whole unpadded input, as in a
   * fully connected layer): im2col is then the identity and may be skipped. */
  readonly identity: boolean;
}

// Tables cached by geometry. Bounded so that a long-running program sweeping geometries does not
// grow without limit; a network uses a handful.
const CACHE_LIMIT = 64;
const cache = new Map<string, Im2colTable>();

// The tables im2colTable built, whose `runs` are known to match their `indices`. Any other object
// of the Im2colTable shape (a hand-made table, or a copy such as { ...table, indices: mine } whose
// runs went stale) goes through `indices`, the definition, where addAt checks every index.
const built = new WeakSet<Im2colTable>();

// Below this average run length the per-run overhead (three reads, a loop set-up) costs more than
// reading one index per entry. Measured with deno bench on 16-channel 3×3 tables (runs of 1 to
// 8): the walks tie with the per-entry gather around 5–6 for im2col and 3–4 for col2im (addAt
// also validates every index); at 8 (LeNet's second convolution) the runs are ~12% (im2col) and
// ~35% (col2im) faster; at 1 (stride 2) they are 2.5–7× slower.
const MIN_MEAN_RUN = 5;

// Runs at least this long are copied with TypedArray set / fill (a memcpy / memset) rather than a
// loop: measured, `set` wins from 64 on (e.g. −20% on a 64×32×32 3×3 padded im2col whose centre
// taps read ~1000 consecutive cells, ×12 for a 1×1 kernel), and is no faster below (the subarray
// it needs is one allocation per call).
const LONG_RUN = 64;

// (t, source, length) triples for the maximal runs of `indices`: consecutive entries continue a
// run when both are −1, or the second reads the cell after the first.
function runsOf(indices: Int32Array): Int32Array {
  const n = indices.length;
  let count = 0;
  for (let t = 0; t < n; t++) {
    if (t === 0 || !continues(indices[t - 1], indices[t])) count++;
  }
  const runs = new Int32Array(3 * count);
  let r = -3;
  for (let t = 0; t < n; t++) {
    if (t === 0 || !continues(indices[t - 1], indices[t])) {
      r += 3;
      runs[r] = t;
      runs[r + 1] = indices[t]; // ≥ 0, or −1 for padding (the table holds no other negative)
    }
    runs[r + 2]++;
  }
  return runs;
}

function continues(prev: number, next: number): boolean {
  return prev < 0 ? next < 0 : next === prev + 1;
}

function checkPositive(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) {
    throw new RangeError(
      `im2colTable: ${name} must be ${
        min === 0 ? "a non-negative" : "a positive"
      } integer, got ${v}`,
    );
  }
}

/**
 * Builds (or fetches from the cache) the fancy-index table of a geometry.
 *
 * @param geometry Input [C,H,W], kernel [kh,kw], stride [sh,sw], padding [ph,pw].
 * @returns The table and the output size; the same object for the same geometry.
 * @throws {RangeError} If a size is not a positive integer (padding: non-negative), or the
 *   kernel is larger than the padded input.
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
 * ```
 *
 * @example The runs: without padding, the top-left tap of a 2×2 kernel on a 3×3 input reads
 * x[0], x[1] (first output row), then x[3], x[4] (second output row)
 * ```ts
 * import { im2colTable } from "./im2col.ts";
 * import { assertEquals } from "@std/assert";
 * const t = im2colTable({ channels: 1, height: 3, width: 3, kernel: [2, 2] });
 * assertEquals(Array.from(t.indices.subarray(0, 4)), [0, 1, 3, 4]);
 * // (t, source, length): x_col[0..2) = x[0..2), x_col[2..4) = x[3..5)
 * assertEquals(Array.from(t.runs.subarray(0, 6)), [0, 0, 2, 2, 3, 2]);
 * assertEquals(t.meanRunLength, 2); // 16 entries in 8 runs
 * ```
 */
export function im2colTable(geometry: Im2colGeometry): Im2colTable {
  const { channels: C, height: H, width: W, kernel } = geometry;
  const [kh, kw] = kernel;
  const [sh, sw] = geometry.stride ?? [1, 1];
  const [ph, pw] = geometry.padding ?? [0, 0];
  checkPositive("channels", C, 1);
  checkPositive("height", H, 1);
  checkPositive("width", W, 1);
  checkPositive("kernel height", kh, 1);
  checkPositive("kernel width", kw, 1);
  checkPositive("stride height", sh, 1);
  checkPositive("stride width", sw, 1);
  checkPositive("padding height", ph, 0);
  checkPositive("padding width", pw, 0);
  if (kh > H + 2 * ph || kw > W + 2 * pw) {
    throw new RangeError(
      `im2colTable: kernel [${kh},${kw}] is larger than the padded input ` +
        `[${H + 2 * ph},${W + 2 * pw}] (input [${C},${H},${W}], padding [${ph},${pw}])`,
    );
  }
  const key = `${C},${H},${W},${kh},${kw},${sh},${sw},${ph},${pw}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;

  const Ho = Math.floor((H + 2 * ph - kh) / sh) + 1;
  const Wo = Math.floor((W + 2 * pw - kw) / sw) + 1;
  const rows = C * kh * kw, cols = Ho * Wo;
  const indices = new Int32Array(rows * cols);
  let identity = rows === C * H * W && cols === 1;
  // row r = (c·kh + i)·kw + j is one kernel tap; column p = oh·Wo + ow is one output position
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const r = (c * kh + i) * kw + j;
        for (let oh = 0; oh < Ho; oh++) {
          const h = oh * sh - ph + i;
          for (let ow = 0; ow < Wo; ow++) {
            const w = ow * sw - pw + j;
            const t = r * cols + oh * Wo + ow;
            indices[t] = (h >= 0 && h < H && w >= 0 && w < W) ? (c * H + h) * W + w : -1;
            if (indices[t] !== t) identity = false;
          }
        }
      }
    }
  }
  const runs = runsOf(indices);
  const table: Im2colTable = {
    indices,
    runs,
    meanRunLength: (rows * cols) / (runs.length / 3),
    rows,
    cols,
    outHeight: Ho,
    outWidth: Wo,
    inputSize: C * H * W,
    identity,
  };
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(key, table);
  built.add(table);
  return table;
}

/** Options of {@link im2col}. */
export interface Im2colOptions<T extends FloatArray> {
  /** Where to write x_col (length rows·cols); default a new array of x's type. */
  out?: T;
}

/**
 * Gathers one sample into its column matrix: x_col[t] = x[table[t]], or 0 where table[t] = −1.
 * When the table's runs are long (stride 1) it copies them whole, with the same result.
 *
 * @param x One sample [C,H,W], flat (a `subarray` of a batch works without copying).
 * @param table The table from {@link im2colTable}.
 * @param opts `out`: a buffer to reuse.
 * @returns x_col [rows, cols], row-major, of x's type.
 * @throws {RangeError} If x or out has the wrong length for the table.
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
  if (x.length !== table.inputSize) {
    throw new RangeError(
      `im2col: x has ${x.length} elements but the table reads a sample of ${table.inputSize}`,
    );
  }
  const n = table.rows * table.cols;
  if (opts.out !== undefined && opts.out.length !== n) {
    throw new RangeError(
      `im2col: out has ${opts.out.length} elements but x_col [${table.rows},${table.cols}] needs ${n}`,
    );
  }
  const x_col = opts.out ?? (new (x.constructor as { new (n: number): T })(n));
  if (table.meanRunLength >= MIN_MEAN_RUN && built.has(table)) {
    // x [C,H,W] -> x_col [rows, cols], run by run: x_col[t .. t+len) = x[s .. s+len), or zeros
    const runs = table.runs, end = runs.length;
    for (let r = 0; r < end; r += 3) {
      const t = runs[r], s = runs[r + 1], len = runs[r + 2];
      if (len >= LONG_RUN) {
        if (s < 0) x_col.fill(0, t, t + len);
        else x_col.set(x.subarray(s, s + len), t);
      } else if (s < 0) {
        for (let q = 0; q < len; q++) x_col[t + q] = 0;
      } else {
        for (let q = 0; q < len; q++) x_col[t + q] = x[s + q];
      }
    }
  } else {
    // the definition, one table entry at a time: x [C,H,W] -> x_col [rows, cols]
    const idx = table.indices;
    for (let t = 0; t < n; t++) {
      const i = idx[t];
      x_col[t] = i < 0 ? 0 : x[i];
    }
  }
  return x_col;
}

/** Options of {@link col2im}. */
export interface Col2imOptions<T extends FloatArray> {
  /** Where to accumulate (length C·H·W); it is added to, not overwritten. Default: new zeros. */
  out?: T;
}

/**
 * The adjoint of {@link im2col}: scatters a column matrix back onto the sample, summing where
 * several windows read the same cell. It is exactly `addAt(out, table.indices, x_col)`, bit for
 * bit; when the table's runs are long (stride 1) it adds them whole, in the same order.
 *
 * @param x_col A column matrix [rows, cols] of the table's geometry.
 * @param table The same table the forward pass used.
 * @param opts `out`: the sample to accumulate into.
 * @returns The sample [C,H,W] (`opts.out` when given).
 * @throws {RangeError} If x_col or out has the wrong length for the table.
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
  if (x_col.length !== table.rows * table.cols) {
    throw new RangeError(
      `col2im: x_col has ${x_col.length} elements but the table is [${table.rows},${table.cols}]`,
    );
  }
  if (opts.out !== undefined && opts.out.length !== table.inputSize) {
    throw new RangeError(
      `col2im: out has ${opts.out.length} elements but the sample has ${table.inputSize}`,
    );
  }
  const out = opts.out ?? (new (x_col.constructor as { new (n: number): T })(table.inputSize));
  if (table.meanRunLength >= MIN_MEAN_RUN && built.has(table)) {
    // x_col [rows, cols] -> out [C,H,W]: out[s .. s+len) += x_col[t .. t+len), padding skipped.
    // The runs go in increasing t, so every cell receives its terms in addAt's order. No index
    // check: a table built here reads only cells of the sample.
    const runs = table.runs, end = runs.length;
    for (let r = 0; r < end; r += 3) {
      const t = runs[r], s = runs[r + 1], len = runs[r + 2];
      if (s < 0) continue;
      for (let q = 0; q < len; q++) out[s + q] += x_col[t + q];
    }
  } else {
    addAt(out, table.indices, x_col);
  }
  return out;
}
