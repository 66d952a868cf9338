/**
 * Solution to exercise 3 (exercises/max_pool_backward.ts): max pooling's gradient. A window's
 * output is one of its cells, the winner, so y depends on that cell alone (with slope 1) and on
 * the others not at all: the window's gradient goes to its winner, whole. Windows that overlap
 * (stride smaller than the window) can share a winner, which then receives the sum.
 *
 * @module
 */

import type { PoolParams, Tensor } from "../types.ts";

/**
 * dx[n,c,h,v] = Σ over the windows whose winner is cell (h, v) of dy[n,c,oh,ow]; the winner of a
 * window is its first largest cell of x in row-major order (the padding is −∞: it never wins).
 *
 * @param dy dL/dy [N, C, Ho, Wo].
 * @param x The forward pass's input [N, C, H, W].
 * @param pool Window [kh, kw], stride [sh, sw], padding [ph, pw].
 * @returns dx [N, C, H, W], Float64Array.
 *
 * @example 2×2 windows, stride 2: each window's gradient lands on its maximum
 * ```ts
 * import { maxPoolBackwardNaive } from "./max_pool_backward.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 2, 4], data: new Float64Array([1, 5, 2, 0, 3, 4, 9, 9]) };
 * const dy = { shape: [1, 1, 1, 2], data: new Float64Array([10, 20]) };
 * const pool = { size: [2, 2], stride: [2, 2], padding: [0, 0] } as const;
 * // the second window's tie between its two 9s goes to the first
 * assertEquals(Array.from(maxPoolBackwardNaive(dy, x, pool).data), [0, 10, 0, 0, 0, 0, 20, 0]);
 * ```
 */
export function maxPoolBackwardNaive(dy: Tensor, x: Tensor, pool: PoolParams): Tensor {
  const [N, C, H, W] = x.shape, [, , Ho, Wo] = dy.shape;
  const [kh, kw] = pool.size, [sh, sw] = pool.stride, [ph, pw] = pool.padding;
  const dx = new Float64Array(N * C * H * W); // dx [N, C, H, W]
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * H * W; // where slice [n, c] starts in x and dx
      for (let oh = 0; oh < Ho; oh++) {
        for (let ow = 0; ow < Wo; ow++) {
          let best = -1, max = -Infinity; // the winner's flat index in x, and its value
          for (let i = 0; i < kh; i++) {
            const h = oh * sh - ph + i;
            if (h < 0 || h >= H) continue; // padding is −∞: never the winner
            for (let j = 0; j < kw; j++) {
              const v = ow * sw - pw + j;
              if (v < 0 || v >= W) continue;
              const k = base + h * W + v;
              // strictly larger: on a tie the earlier cell stays the winner (as PyTorch)
              if (best < 0 || x.data[k] > max) [best, max] = [k, x.data[k]];
            }
          }
          dx[best] += dy.data[((n * C + c) * Ho + oh) * Wo + ow]; // += : windows may share a winner
        }
      }
    }
  }
  return { shape: [N, C, H, W], data: dx };
}
