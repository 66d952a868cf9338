/**
 * Average pooling through im2col, forward and backward: the reference form, which
 * docs/avg_pool.md quotes. Each (sample, channel) slice s is a one-channel image [1, H, W]; its
 * im2col has one column per window (0 in the padding), so, with T the table of one slice,
 *
 *     forward:   y_s[p]        = Σ_r x_col[r, p] / |window p|      [Ho·Wo]
 *     backward:  dX_col[r, p]  = dy_s[p] / |window p|              [kh·kw, Ho·Wo]
 *                dx_s          = addAt(0, T, dX_col)               [H, W]
 *
 * where |window p| = kh·kw with `countIncludePad` (PyTorch's default: the padding counts as cells
 * of zeros), else the number of cells of x in window p: the entries of column p of T that are not
 * −1. The gradient of a mean is the same share of dy for every cell it averaged, and the table
 * carries each share back to its cell, summing where windows overlap (the padding's shares fall
 * on −1 and are dropped). A window as large as the input is global average pooling.
 *
 * The fast backend (layers/fast/avg_pool.ts) computes the same means without building x_col.
 *
 * @module
 */

import type { FloatArray, Tensor } from "../tensor.ts";
import { zerosLike } from "../_validate.ts";
import { addAt } from "../kernels/add_at.ts";
import { avgPoolColumns } from "../kernels/avg_pool.ts";
import { im2col, type Im2colTable, im2colTable } from "../kernels/im2col.ts";
import { sample } from "../kernels/matrix.ts";
import { avgPoolArgs, avgPoolBackwardArgs, poolTableGeometry } from "./_args.ts";
import type {
  AvgPoolCache,
  AvgPoolForwardOptions,
  AvgPoolForwardResult,
  BackwardOptions,
} from "./types.ts";

/** |window p| for every window: its entries in T (kh·kw) with `countIncludePad`, else those of
 * them that are cells of x (not −1). */
function windowCounts(table: Im2colTable, countIncludePad: boolean): Float64Array {
  const idx = table.indices, R = table.rows, P = table.cols; // T [kh·kw, Ho·Wo]; −1 in padding
  const counts = new Float64Array(P); // |window p|   [Ho·Wo]
  for (let t = 0; t < R * P; t++) counts[t % P] += +(countIncludePad || idx[t] >= 0); // a cell
  return counts;
}

/**
 * y[n, c, oh, ow] = the mean of the window at (oh·sh − ph, ow·sw − pw) of x[n, c], the padding
 * read as 0 and counted in the window's size (`countIncludePad`, default true) or not; output size
 * floor((H + 2·ph − kh) / sh) + 1, as PyTorch's `avg_pool2d` (ceil_mode false). `size: [H, W]`
 * is global average pooling.
 *
 * @param x Input [N, C, H, W].
 * @param opts `size`, `stride` (default `size`) and `padding` (default 0, at most half the
 *   window), one number or [rows, cols]; `countIncludePad`; `training` and `workspace` are hints
 *   for the fast backend, ignored here.
 * @returns y [N, C, Ho, Wo] of x's type, and the cache for {@link avgPoolBackward}.
 * @throws {RangeError} If x is not 4-D, a size or stride is not a positive integer, padding is
 *   negative or more than half the window, or the window is larger than the padded input.
 * @throws {TypeError} If x is not a tensor of Float32Array or Float64Array, `size` is missing, or
 *   `countIncludePad` is not a boolean.
 *
 * @example 2×2 windows; padding with and without counting it; global average pooling
 * ```ts
 * import { avgPoolForward } from "./avg_pool.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 2, 4], data: new Float64Array([1, 2, 3, 4, 5, 6, 7, 8]) };
 * assertEquals(Array.from(avgPoolForward(x, { size: 2 }).y.data), [3.5, 5.5]);
 * // 3×3 windows, stride 2, padding 1: two windows of 9 cells, 4 and 6 of them in x
 * const opts = { size: 3, stride: 2, padding: 1 };
 * assertEquals(Array.from(avgPoolForward(x, opts).y.data), [(1 + 2 + 5 + 6) / 9, (2 + 3 + 4 + 6 + 7 + 8) / 9]);
 * assertEquals(Array.from(avgPoolForward(x, { ...opts, countIncludePad: false }).y.data), [3.5, 5]);
 * assertEquals(Array.from(avgPoolForward(x, { size: [2, 4] }).y.data), [4.5]);
 * ```
 */
export function avgPoolForward<T extends FloatArray>(
  x: Tensor<T>,
  opts: AvgPoolForwardOptions,
): AvgPoolForwardResult<T> {
  const g = avgPoolArgs("avgPoolForward", x, opts), { N, C, H, W, Ho, Wo } = g;
  // x [N,C,H,W] as N·C one-channel images [H, W] -> y [N,C,Ho,Wo]
  const table = im2colTable(poolTableGeometry(g)), R = table.rows, P = Ho * Wo;
  const counts = windowCounts(table, g.countIncludePad); // |window p|   [Ho·Wo]
  const y = zerosLike(x.data, N * C * P);
  for (let s = 0; s < N * C; s++) {
    const x_col = im2col(sample(x.data, s, H * W), table); // x_col [kh·kw, Ho·Wo], 0 in padding
    y.set(avgPoolColumns(x_col, { rows: R, cols: P, counts }), s * P); // Σ_r x_col / |window|
  }
  return { y: { shape: [N, C, Ho, Wo], data: y }, cache: { kind: "avgPool", x, geometry: g } };
}

/**
 * The backward pass of {@link avgPoolForward}: each dy is shared equally among the cells its
 * window averaged, dy / |window|, and a cell in several windows receives the sum of its shares
 * (`addAt` through the table, which drops the padding's shares).
 *
 * @param dy dL/dy [N, C, Ho, Wo].
 * @param cache The cache from {@link avgPoolForward}.
 * @param opts `workspace`, a hint for the fast backend (ignored here).
 * @returns dL/dx [N, C, H, W].
 * @throws {RangeError} If dy's shape differs from y's.
 * @throws {TypeError} If dy's type differs from x's, or the cache is not an average-pool cache.
 *
 * @example Overlapping 2×2 windows at stride 1: the centre is in all four, a corner in one
 * ```ts
 * import { avgPoolBackward, avgPoolForward } from "./avg_pool.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 3, 3], data: new Float64Array(9) };
 * const { cache } = avgPoolForward(x, { size: 2, stride: 1 });
 * const dx = avgPoolBackward({ shape: [1, 1, 2, 2], data: new Float64Array([4, 8, 12, 16]) }, cache);
 * assertEquals(Array.from(dx.data), [1, 3, 2, 4, 10, 6, 3, 7, 4]);
 * ```
 */
export function avgPoolBackward<T extends FloatArray>(
  dy: Tensor<T>,
  cache: AvgPoolCache<T>,
  opts: BackwardOptions = {},
): Tensor<T> {
  const g = avgPoolBackwardArgs("avgPoolBackward", dy, cache, opts), { N, C, H, W, Ho, Wo } = g;
  // dy [N,C,Ho,Wo] -> dx [N,C,H,W]
  const table = im2colTable(poolTableGeometry(g)), R = table.rows, P = Ho * Wo;
  const counts = windowCounts(table, g.countIncludePad); // |window p|   [Ho·Wo]
  const dx = zerosLike(dy.data, N * C * H * W);
  for (let s = 0; s < N * C; s++) {
    const dY = sample(dy.data, s, P); // dy of slice s   [Ho·Wo]
    const dX_col = zerosLike(dy.data, R * P); // dX_col [kh·kw, Ho·Wo]
    for (let t = 0; t < R * P; t++) dX_col[t] = dY[t % P] / counts[t % P]; // dy[p] / |window p|
    addAt(sample(dx, s, H * W), table.indices, dX_col); // dx_s[T[t]] += dX_col[t], padding skipped
  }
  return { shape: [...cache.x.shape], data: dx };
}
