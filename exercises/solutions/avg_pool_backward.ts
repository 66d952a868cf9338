/**
 * Solution to exercise 4 (exercises/avg_pool_backward.ts): average pooling's gradient as col2im,
 * that is numpy's `add.at` through the im2col table. The forward pass gathered each window into a
 * column of x_col (the table says which cell of x each entry reads, −1 for the padding) and took
 * the column's mean; the mean hands each of its entries the same share dy[p] / |window p|, and
 * the gather's transpose adds every share back into the cell it was read from.
 *
 * @module
 */

import { addAt, im2colTable } from "../../mod.ts";
import type { AvgPoolParams, Tensor } from "../types.ts";

/**
 * dx_s = addAt(0, T, dX_col) per slice s = (n, c), with dX_col[r, p] = dy_s[p] / |window p|:
 * |window p| is kh·kw with `countIncludePad`, else the entries of column p of T that are not −1.
 *
 * @param dy dL/dy [N, C, Ho, Wo].
 * @param xShape The forward pass's input shape [N, C, H, W] (the gradient of a mean does not
 *   depend on the values).
 * @param pool Window [kh, kw], stride [sh, sw], padding [ph, pw], countIncludePad.
 * @returns dx [N, C, H, W], Float64Array.
 *
 * @example Overlapping 2×2 windows at stride 1: the centre is in all four, a corner in one
 * ```ts
 * import { avgPoolBackwardAddAt } from "./avg_pool_backward.ts";
 * import { assertEquals } from "@std/assert";
 * const dy = { shape: [1, 1, 2, 2], data: new Float64Array([4, 8, 12, 16]) };
 * const pool = { size: [2, 2], stride: [1, 1], padding: [0, 0], countIncludePad: true } as const;
 * const dx = avgPoolBackwardAddAt(dy, [1, 1, 3, 3], pool);
 * assertEquals(Array.from(dx.data), [1, 3, 2, 4, 10, 6, 3, 7, 4]);
 * ```
 */
export function avgPoolBackwardAddAt(
  dy: Tensor,
  xShape: readonly number[],
  pool: AvgPoolParams,
): Tensor {
  const [N, C, H, W] = xShape;
  // one slice [1, H, W] at a time: the table of a one-channel image, [kh·kw, Ho·Wo]
  const table = im2colTable({
    channels: 1,
    height: H,
    width: W,
    kernel: [pool.size[0], pool.size[1]],
    stride: [pool.stride[0], pool.stride[1]],
    padding: [pool.padding[0], pool.padding[1]],
  });
  const R = table.rows, P = table.cols, T = table.indices; // T[r·P + p]: the cell, or −1
  const counts = new Float64Array(P); // |window p|   [Ho·Wo]
  for (let r = 0; r < R; r++) {
    for (let p = 0; p < P; p++) if (pool.countIncludePad || T[r * P + p] >= 0) counts[p] += 1;
  }
  const dx = new Float64Array(N * C * H * W); // dx [N, C, H, W]
  const dX_col = new Float64Array(R * P); // dX_col [kh·kw, Ho·Wo], one slice's
  for (let s = 0; s < N * C; s++) {
    for (let r = 0; r < R; r++) {
      for (let p = 0; p < P; p++) dX_col[r * P + p] = dy.data[s * P + p] / counts[p]; // the share
    }
    // dx_s[T[t]] += dX_col[t] for every t, repeats summed, −1 (padding) skipped: col2im
    addAt(dx.subarray(s * H * W, (s + 1) * H * W), T, dX_col);
  }
  return { shape: [N, C, H, W], data: dx };
}
