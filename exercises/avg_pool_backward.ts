/**
 * Exercise 4: average pooling's backward pass, through the im2col table with `addAt`.
 *
 * TASK. Compute dL/dx of an average-pooling layer the way the library's reference does: as
 * col2im, that is numpy's `np.add.at`, through the fancy-index table. Use the library's
 * `im2colTable` and `addAt` (import them from "../mod.ts"); the exercise is to see that the
 * gradient of a gather is a scatter-add through the same table.
 *
 * SHAPES.
 *   dy [N, C, Ho, Wo]        dL/dy;  Ho = floor((H + 2·ph − kh) / sh) + 1 (Wo alike)
 *   xShape = [N, C, H, W]    the forward pass's input shape (a mean's gradient needs no values)
 *   -> dx [N, C, H, W]
 *
 * THE TABLE. For one slice [1, H, W], `im2colTable({ channels: 1, height: H, width: W,
 * kernel: [kh, kw], stride: [sh, sw], padding: [ph, pw] })` gives `indices` [kh·kw, Ho·Wo]
 * (row-major, `rows` = kh·kw, `cols` = Ho·Wo): entry T[r·P + p] is the flat index into the
 * slice of the cell that window p reads at tap r, or −1 where the tap is in the padding.
 *
 * FORMULA. Per slice s = (n, c), with P = Ho·Wo:
 *
 *   dX_col[r, p] = dy_s[p] / |window p|                       (every tap gets the same share)
 *   dx_s         = addAt(zeros(H·W), T, dX_col)               (dx_s[T[t]] += dX_col[t], −1 skipped)
 *
 * where |window p| = kh·kw when `countIncludePad` is true (the padding counted as zeros, PyTorch's
 * default), else the number of entries of column p of T that are not −1.
 *
 * MEMORY. Row-major `{ shape, data }`; return a new tensor with Float64Array data. `addAt` adds
 * into the array you give it: `dx.subarray(s * H * W, (s + 1) * H * W)` is slice s of dx.
 *
 * HINTS.
 *  - docs/avg_pool.md, "Backward", derives it; docs/conv_backward.md explains why col2im is
 *    `addAt` through the table ("the sum over all mapped positions") and why `+=` matters.
 *  - The table is the same for every slice: build it once.
 *
 * GRADE IT.  deno task exercise avg_pool_backward   [--file path/to/yours.ts]
 *
 * @module
 */

import type { AvgPoolParams, Tensor } from "./types.ts";
import { NotImplemented } from "./not_implemented.ts";

/**
 * Average pooling's gradient as `addAt` through the im2col table.
 *
 * @param dy dL/dy [N, C, Ho, Wo].
 * @param xShape The forward pass's input shape [N, C, H, W].
 * @param pool `{ size: [kh, kw], stride: [sh, sw], padding: [ph, pw], countIncludePad }`.
 * @returns dx [N, C, H, W], a Float64Array.
 * @throws {NotImplemented} Until you write it.
 *
 * @example
 * ```ts ignore
 * const pool = { size: [3, 3], stride: [1, 1], padding: [1, 1], countIncludePad: false } as const;
 * const dx = avgPoolBackwardAddAt(dy, [2, 3, 8, 8], pool);
 * ```
 */
export function avgPoolBackwardAddAt(
  dy: Tensor,
  xShape: readonly number[],
  pool: AvgPoolParams,
): Tensor {
  // ******************************** YOUR CODE HERE ********************************
  // 1. the table of one slice, and |window p| for every column p
  // 2. for every slice s: fill dX_col [kh·kw, Ho·Wo], then addAt into slice s of dx
  throw new NotImplemented("avg_pool_backward", { dy, xShape, pool });
  // ******************************** END OF YOUR CODE ******************************
}
