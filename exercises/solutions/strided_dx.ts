/**
 * Solution to exercise 5 (exercises/strided_dx.ts): a strided convolution's input gradient as a
 * stride-1 convolution. col2im scatters w_colᵀ · dY back through the table; here the same sum is
 * gathered instead, for every input cell, which needs three steps:
 *
 *  1. dilate: spread dy out with sh − 1 rows (and sw − 1 columns) of zeros between its entries, so
 *     that entry (oh, ow) sits where window (oh, ow) starts, at (oh·sh, ow·sw);
 *  2. pad the dilated dy by kh − 1 − ph rows on each side, plus the r_h = (H + 2·ph − kh) mod sh
 *     rows at the bottom that no window reached (the stride skipped them: their gradient is 0),
 *     and the same for the columns;
 *  3. correlate with the filters rotated by 180° and with C and D swapped,
 *     w_flip[c, d, i, j] = w[d, c, kh − 1 − i, kw − 1 − j], stride 1.
 *
 * The result is exactly [H, W]: (Ho − 1)·sh + 1 + 2·(kh − 1 − ph) + r_h − kh + 1 = H.
 *
 * @module
 */

import type { ConvParams, Tensor } from "../types.ts";

/**
 * dx[n,c,h,v] = Σ_{d,i,j} w[d,c,i,j] · dy[n, d, (h + ph − i) / sh, (v + pw − j) / sw], over the
 * taps where both quotients are whole numbers inside [0, Ho) × [0, Wo): computed as the
 * stride-1 correlation of the dilated, padded dy with the flipped filters.
 *
 * @param dy dL/dy [N, D, Ho, Wo].
 * @param w The forward pass's filters [D, C, kh, kw].
 * @param xShape The forward pass's input shape [N, C, H, W].
 * @param conv Stride [sh, sw] and padding [ph, pw], with ph < kh and pw < kw.
 * @returns dx [N, C, H, W], Float64Array.
 *
 * @example Stride 2, a 1×1 filter: the gradient lands on every other cell, the rest is 0
 * ```ts
 * import { stridedDx } from "./strided_dx.ts";
 * import { assertEquals } from "@std/assert";
 * const dy = { shape: [1, 1, 2, 2], data: new Float64Array([1, 2, 3, 4]) };
 * const w = { shape: [1, 1, 1, 1], data: new Float64Array([10]) };
 * const dx = stridedDx(dy, w, [1, 1, 4, 3], { stride: [2, 2], padding: [0, 0] });
 * assertEquals(Array.from(dx.data), [10, 0, 20, 0, 0, 0, 30, 0, 40, 0, 0, 0]);
 * ```
 */
export function stridedDx(
  dy: Tensor,
  w: Tensor,
  xShape: readonly number[],
  conv: ConvParams,
): Tensor {
  const [N, C, H, W] = xShape, [D, , kh, kw] = w.shape, [, , Ho, Wo] = dy.shape;
  const [sh, sw] = conv.stride, [ph, pw] = conv.padding;

  // 1 and 2: u [N, D, Hu, Wu], the dilated dy inside a border of zeros
  const ah = kh - 1 - ph, aw = kw - 1 - pw; // the border on the top (left) and, with r, bottom
  const rh = (H + 2 * ph - kh) % sh, rw = (W + 2 * pw - kw) % sw; // rows the stride skipped
  const Hu = (Ho - 1) * sh + 1 + 2 * ah + rh, Wu = (Wo - 1) * sw + 1 + 2 * aw + rw;
  const u = new Float64Array(N * D * Hu * Wu);
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      for (let oh = 0; oh < Ho; oh++) {
        for (let ow = 0; ow < Wo; ow++) {
          u[((n * D + d) * Hu + ah + oh * sh) * Wu + aw + ow * sw] =
            dy.data[((n * D + d) * Ho + oh) * Wo + ow];
        }
      }
    }
  }

  // 3a: w_flip [C, D, kh, kw], each filter rotated by 180°, input and output channels swapped
  const wFlip = new Float64Array(C * D * kh * kw);
  for (let d = 0; d < D; d++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          wFlip[((c * D + d) * kh + (kh - 1 - i)) * kw + (kw - 1 - j)] =
            w.data[((d * C + c) * kh + i) * kw + j];
        }
      }
    }
  }

  // 3b: dx = u ⋆ w_flip, stride 1, no padding (u has its border already): dx [N, C, H, W]
  const dx = new Float64Array(N * C * H * W);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let h = 0; h < H; h++) {
        for (let v = 0; v < W; v++) {
          let sum = 0;
          for (let d = 0; d < D; d++) {
            for (let i = 0; i < kh; i++) {
              for (let j = 0; j < kw; j++) {
                sum += wFlip[((c * D + d) * kh + i) * kw + j] *
                  u[((n * D + d) * Hu + h + i) * Wu + v + j];
              }
            }
          }
          dx[((n * C + c) * H + h) * W + v] = sum;
        }
      }
    }
  }
  return { shape: [N, C, H, W], data: dx };
}
