/**
 * Max pooling through im2col, forward and backward: the reference form. Each (sample, channel)
 * slice is a one-channel image [1, H, W]; its im2col has one column per pooling window, so the
 * output is the maximum of each column. Padding reads the table's −1 entries as −∞, so no window's
 * maximum is ever the padding. The gradient of a window's output goes to the one input cell that
 * won it: the table's entry at the winning row, route[p] = T[argmax[p], p], so
 * dx = addAt(0, route, dy): the same table, used backwards, as for the convolution.
 *
 * The fast backend (layers/fast/max_pool.ts) finds the same winners reading the windows straight
 * through the table, without copying x_col out, and keeps them for the backward pass.
 *
 * @module
 */

import type { FloatArray, Tensor } from "../tensor.ts";
import { zerosLike } from "../_validate.ts";
import { addAt } from "../kernels/add_at.ts";
import { im2col, type Im2colTable, im2colTable } from "../kernels/im2col.ts";
import { type ColumnMax, maxPoolColumns } from "../kernels/max_pool.ts";
import { sample } from "../kernels/matrix.ts";
import { poolArgs, poolBackwardArgs, poolTableGeometry } from "./_args.ts";
import type {
  BackwardOptions,
  MaxPoolCache,
  MaxPoolForwardOptions,
  MaxPoolForwardResult,
} from "./types.ts";

/**
 * The windows of one slice x_s [H, W]: each window's maximum and the row of x_col it is in. The
 * padding reads as −∞, so it never beats a cell of x; only an input of −∞ ties it, and then the
 * window's first cell of x wins (the padding is not a cell), as in PyTorch.
 */
function windows<T extends FloatArray>(x_s: T, table: Im2colTable): ColumnMax<T> {
  const idx = table.indices, P = table.cols; // the table [kh·kw, Ho·Wo]; −1 in the padding
  const x_col = im2col(x_s, table); // x_col [kh·kw, Ho·Wo]: one column per window
  for (let t = 0; t < x_col.length; t++) if (idx[t] < 0) x_col[t] = -Infinity; // padding: −∞
  const { max, argmax } = maxPoolColumns(x_col, { rows: table.rows, cols: P }); // [Ho·Wo] each
  for (let p = 0; p < P; p++) while (idx[argmax[p] * P + p] < 0) argmax[p]++; // a tie: x's cell
  return { max, argmax };
}

/**
 * y[n, c, oh, ow] = max over the window at (oh·sh − ph, ow·sw − pw) of x[n, c], the padding read
 * as −∞; output size floor((H + 2·ph − kh) / sh) + 1 as PyTorch. Ties go to the window's first
 * cell of x in row-major order; a NaN wins its window, as in PyTorch.
 *
 * @param x Input [N, C, H, W].
 * @param opts `size`, `stride` (default `size`) and `padding` (default 0, at most half the
 *   window), one number or [rows, cols]; `training` and `workspace` are hints for the fast
 *   backend, ignored here.
 * @returns y [N, C, Ho, Wo] of x's type, and the cache for {@link maxPoolBackward}.
 * @throws {RangeError} If x is not 4-D, a size or stride is not a positive integer, padding is
 *   negative or more than half the window, or the window is larger than the padded input.
 * @throws {TypeError} If x is not a tensor of Float32Array or Float64Array, or `size` is missing.
 *
 * @example 2×2 windows, stride 2; and 3×3 windows, stride 2, padding 1 (ResNet's first pool)
 * ```ts
 * import { maxPoolForward } from "./max_pool.ts";
 * import { assertEquals } from "@std/assert";
 * const x = {
 *   shape: [1, 1, 4, 4],
 *   data: new Float64Array([1, 2, 0, 0, 3, 4, 0, 9, 5, 0, 1, 1, 0, 6, 1, 2]),
 * };
 * const { y } = maxPoolForward(x, { size: 2 });
 * assertEquals(y.shape, [1, 1, 2, 2]);
 * assertEquals(Array.from(y.data), [4, 9, 6, 2]);
 * const neg = { shape: [1, 1, 2, 2], data: new Float64Array([-4, -3, -2, -1]) };
 * // padding is −∞, not 0: one window over x and five cells of padding is −1, not 0
 * assertEquals(Array.from(maxPoolForward(neg, { size: 3, stride: 2, padding: 1 }).y.data), [-1]);
 * // the corner window holds x[0, 0] and three cells of padding: −4
 * assertEquals(Array.from(maxPoolForward(neg, { size: 2, stride: 1, padding: 1 }).y.data), [
 *   -4, -3, -3, -2, -1, -1, -2, -1, -1,
 * ]);
 * ```
 */
export function maxPoolForward<T extends FloatArray>(
  x: Tensor<T>,
  opts: MaxPoolForwardOptions,
): MaxPoolForwardResult<T> {
  const g = poolArgs("maxPoolForward", x, opts), { N, C, H, W, Ho, Wo } = g;
  // x [N,C,H,W] as N·C one-channel images [H, W] -> y [N,C,Ho,Wo]
  const table = im2colTable(poolTableGeometry(g)), P = Ho * Wo;
  const y = zerosLike(x.data, N * C * P);
  for (let s = 0; s < N * C; s++) y.set(windows(sample(x.data, s, H * W), table).max, s * P);
  return { y: { shape: [N, C, Ho, Wo], data: y }, cache: { kind: "maxPool", x, geometry: g } };
}

/**
 * The backward pass of {@link maxPoolForward}: each dy goes to its window's winner (never the
 * padding), and a cell that wins several overlapping windows receives their sum (`addAt`).
 *
 * @param dy dL/dy [N, C, Ho, Wo].
 * @param cache The cache from {@link maxPoolForward}.
 * @param opts `workspace`, a hint for the fast backend (ignored here).
 * @returns dL/dx [N, C, H, W].
 * @throws {RangeError} If dy's shape differs from y's.
 * @throws {TypeError} If dy's type differs from x's, or the cache is not a max-pool cache.
 *
 * @example Overlapping windows: the centre wins all four, so it collects all four gradients
 * ```ts
 * import { maxPoolBackward, maxPoolForward } from "./max_pool.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 3, 3], data: new Float64Array([0, 0, 0, 0, 9, 0, 0, 0, 0]) };
 * const { y, cache } = maxPoolForward(x, { size: 2, stride: 1 });
 * assertEquals(Array.from(y.data), [9, 9, 9, 9]);
 * const dx = maxPoolBackward({ shape: [1, 1, 2, 2], data: new Float64Array([1, 2, 3, 4]) }, cache);
 * assertEquals(Array.from(dx.data), [0, 0, 0, 0, 10, 0, 0, 0, 0]);
 * ```
 */
export function maxPoolBackward<T extends FloatArray>(
  dy: Tensor<T>,
  cache: MaxPoolCache<T>,
  opts: BackwardOptions = {},
): Tensor<T> {
  const g = poolBackwardArgs("maxPoolBackward", dy, cache, opts), { N, C, H, W, Ho, Wo } = g;
  // dy [N,C,Ho,Wo] -> dx [N,C,H,W]
  const table = im2colTable(poolTableGeometry(g)), P = Ho * Wo;
  const dx = zerosLike(dy.data, N * C * H * W);
  for (let s = 0; s < N * C; s++) {
    const { argmax } = windows(sample(cache.x.data, s, H * W), table); // the winners, again
    const route = argmax.map((r, p) => s * H * W + table.indices[r * P + p]); // route[p] = T[argmax[p], p]
    addAt(dx, route, sample(dy.data, s, P)); // dx[route[p]] += dy[p]: each gradient to its winner
  }
  return { shape: [...cache.x.shape], data: dx };
}
