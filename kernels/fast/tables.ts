/**
 * The fast backend's im2col tables: each geometry's table built once (by the reference
 * {@link im2colTable}, the definition) and cached, with what the fast kernels derive from it.
 *
 * With stride 1 a table is made of long runs: one output row of one kernel tap reads Wo
 * consecutive input cells (indices[t + 1] = indices[t] + 1), and the padding gives runs of −1. So
 * a cached table also carries its run-length encoding, and kernels/fast/im2col.ts walks the runs
 * (a copy, a zero fill or an add per run) where dispatch.ts finds them long enough to pay off.
 *
 * The cache is global state, keyed on the geometry alone (docs/architecture.md lists what is
 * global). Its tables are never handed to a caller: the layers' caches keep the geometry and
 * look the table up again, so no caller can change a cached table into a wrong answer.
 *
 * @module
 */

import { type Im2colGeometry, type Im2colTable, im2colTable } from "../im2col.ts";

/** A cached table and what the fast kernels derive from it. */
export interface FastTable extends Im2colTable {
  /**
   * `indices` run-length encoded: triples (t, source, length), in increasing t, that cover x_col
   * [rows, cols] exactly once. A run is a maximal stretch with indices[t + q] = source + q for
   * q < length (x_col copies `length` consecutive cells of x), or with indices[t + q] = −1
   * throughout (source −1: padding, zeros).
   */
  readonly runs: Int32Array;
  /** rows·cols divided by the number of runs. */
  readonly meanRunLength: number;
  /** True when indices[t] = t for all t (the kernel covers the whole unpadded input, as in a
   * fully connected layer): im2col is then the identity and is skipped. */
  readonly identity: boolean;
}

/** Tables kept at most; a network uses a handful, a sweep over geometries would grow without
 * bound. The oldest goes first. */
const CACHE_LIMIT = 64;
const cache = new Map<string, FastTable>();

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

/**
 * The table of a geometry, built on first use and cached (with its runs).
 *
 * @param geometry Input [C,H,W], kernel, stride, padding, dilation, as for {@link im2colTable}.
 * @returns The cached table: the same object for the same geometry while it stays cached.
 * @throws {RangeError} As {@link im2colTable}, for a bad geometry.
 *
 * @example The runs: without padding, the top-left tap of a 2×2 kernel on a 3×3 input reads
 * x[0], x[1] (first output row), then x[3], x[4] (second output row)
 * ```ts
 * import { fastTable } from "./tables.ts";
 * import { assertEquals } from "@std/assert";
 * const t = fastTable({ channels: 1, height: 3, width: 3, kernel: [2, 2] });
 * assertEquals(Array.from(t.indices.subarray(0, 4)), [0, 1, 3, 4]);
 * // (t, source, length): x_col[0..2) = x[0..2), x_col[2..4) = x[3..5)
 * assertEquals(Array.from(t.runs.subarray(0, 6)), [0, 0, 2, 2, 3, 2]);
 * assertEquals(t.meanRunLength, 2); // 16 entries in 8 runs
 * assertEquals(fastTable({ channels: 1, height: 3, width: 3, kernel: [2, 2] }), t);
 * ```
 */
export function fastTable(geometry: Im2colGeometry): FastTable {
  const { channels, height, width, kernel, stride = [1, 1], padding = [0, 0] } = geometry;
  const { dilation = [1, 1] } = geometry;
  const key = [channels, height, width, ...kernel, ...stride, ...padding, ...dilation].join();
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const table = im2colTable(geometry);
  const runs = runsOf(table.indices);
  const identity = table.cols === 1 && table.rows === table.inputSize &&
    table.indices.every((v, t) => v === t);
  const fast: FastTable = {
    ...table,
    runs,
    meanRunLength: (table.rows * table.cols) / (runs.length / 3),
    identity,
  };
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(key, fast);
  return fast;
}
