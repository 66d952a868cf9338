/**
 * Solution to exercise 1 (exercises/conv_forward.ts): the convolution's forward pass as its
 * definition, seven nested loops, no im2col and no GEMM. Slow, and obviously right: every other
 * convolution in the project (im2col + GEMM, the direct kernel, depthwise) must agree with it.
 *
 * @module
 */

import type { ConvParams, Tensor } from "../types.ts";

/**
 * y[n, d, oh, ow] = b[d] + Σ_{c, i, j} w[d, c, i, j] · x[n, c, oh·sh − ph + i, ow·sw − pw + j],
 * x read as 0 outside its H × W cells (the padding).
 *
 * @param x Input [N, C, H, W].
 * @param w Filters [D, C, kh, kw].
 * @param b Bias [D].
 * @param conv Stride [sh, sw] and padding [ph, pw].
 * @returns y [N, D, Ho, Wo], Ho = floor((H + 2·ph − kh) / sh) + 1 (Wo alike), Float64Array.
 *
 * @example A 2×2 box filter over a 3×3 image
 * ```ts
 * import { convForwardNaive } from "./conv_forward.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 3, 3], data: new Float64Array([1, 2, 3, 4, 5, 6, 7, 8, 9]) };
 * const w = { shape: [1, 1, 2, 2], data: new Float64Array([1, 1, 1, 1]) };
 * const b = { shape: [1], data: new Float64Array([0]) };
 * const y = convForwardNaive(x, w, b, { stride: [1, 1], padding: [0, 0] });
 * assertEquals(y.shape, [1, 1, 2, 2]);
 * assertEquals(Array.from(y.data), [12, 16, 24, 28]); // 1+2+4+5, 2+3+5+6, ...
 * ```
 */
export function convForwardNaive(x: Tensor, w: Tensor, b: Tensor, conv: ConvParams): Tensor {
  const [N, C, H, W] = x.shape, [D, , kh, kw] = w.shape;
  const [sh, sw] = conv.stride, [ph, pw] = conv.padding;
  // the number of windows along an axis: the last one starts at most at H + 2·ph − kh
  const Ho = Math.floor((H + 2 * ph - kh) / sh) + 1, Wo = Math.floor((W + 2 * pw - kw) / sw) + 1;
  const y = new Float64Array(N * D * Ho * Wo); // y [N, D, Ho, Wo]
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      for (let oh = 0; oh < Ho; oh++) {
        for (let ow = 0; ow < Wo; ow++) {
          let sum = b.data[d];
          for (let c = 0; c < C; c++) {
            for (let i = 0; i < kh; i++) {
              const h = oh * sh - ph + i; // the input row tap i reads
              if (h < 0 || h >= H) continue; // a row of padding: zeros add nothing
              for (let j = 0; j < kw; j++) {
                const v = ow * sw - pw + j; // the input column tap j reads
                if (v < 0 || v >= W) continue;
                sum += w.data[((d * C + c) * kh + i) * kw + j] *
                  x.data[((n * C + c) * H + h) * W + v];
              }
            }
          }
          y[((n * D + d) * Ho + oh) * Wo + ow] = sum;
        }
      }
    }
  }
  return { shape: [N, D, Ho, Wo], data: y };
}
