/**
 * Solution to exercise 2 (exercises/conv_backward.ts): the convolution's three gradients by the
 * same loops as the forward pass. Every term w[d,c,i,j] · x[n,c,h,v] of the forward sum
 * contributed to y[n,d,oh,ow]; the chain rule sends dy[n,d,oh,ow] back along each such term:
 * dy · x to dw, dy · w to dx, dy to db. So the loop nest is the forward pass's, and every
 * assignment becomes a `+=` (a weight is shared by every window, an input cell by every window
 * that covers it).
 *
 * @module
 */

import type { ConvGradients, ConvParams, Tensor } from "../types.ts";

/**
 * dw[d,c,i,j] = Σ_{n,oh,ow} dy[n,d,oh,ow] · x[n,c,h,v], db[d] = Σ_{n,oh,ow} dy[n,d,oh,ow],
 * dx[n,c,h,v] = Σ_{d,i,j,oh,ow : h = oh·sh − ph + i, v = ow·sw − pw + j} dy[n,d,oh,ow] · w[d,c,i,j].
 *
 * @param dy dL/dy [N, D, Ho, Wo].
 * @param x The forward pass's input [N, C, H, W].
 * @param w The forward pass's filters [D, C, kh, kw].
 * @param conv Stride [sh, sw] and padding [ph, pw].
 * @returns dx [N, C, H, W], dw [D, C, kh, kw], db [D], Float64Array.
 *
 * @example dL/dy of ones: each input cell gets the sum of the taps that read it
 * ```ts
 * import { convBackwardNaive } from "./conv_backward.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 3, 3], data: new Float64Array([1, 2, 3, 4, 5, 6, 7, 8, 9]) };
 * const w = { shape: [1, 1, 2, 2], data: new Float64Array([1, 1, 1, 1]) };
 * const dy = { shape: [1, 1, 2, 2], data: new Float64Array([1, 1, 1, 1]) };
 * const { dx, dw, db } = convBackwardNaive(dy, x, w, { stride: [1, 1], padding: [0, 0] });
 * assertEquals(Array.from(dx.data), [1, 2, 1, 2, 4, 2, 1, 2, 1]); // windows covering each cell
 * assertEquals(Array.from(dw.data), [12, 16, 24, 28]); // each tap sums the cells it reads
 * assertEquals(Array.from(db.data), [4]);
 * ```
 */
export function convBackwardNaive(
  dy: Tensor,
  x: Tensor,
  w: Tensor,
  conv: ConvParams,
): ConvGradients {
  const [N, C, H, W] = x.shape, [D, , kh, kw] = w.shape, [, , Ho, Wo] = dy.shape;
  const [sh, sw] = conv.stride, [ph, pw] = conv.padding;
  const dx = new Float64Array(N * C * H * W); // dx [N, C, H, W]
  const dw = new Float64Array(D * C * kh * kw); // dw [D, C, kh, kw]
  const db = new Float64Array(D); // db [D]
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      for (let oh = 0; oh < Ho; oh++) {
        for (let ow = 0; ow < Wo; ow++) {
          const g = dy.data[((n * D + d) * Ho + oh) * Wo + ow]; // dL/dy[n, d, oh, ow]
          db[d] += g; // b[d] was added to every output of filter d
          for (let c = 0; c < C; c++) {
            for (let i = 0; i < kh; i++) {
              const h = oh * sh - ph + i;
              if (h < 0 || h >= H) continue; // padding: no input cell, no weight term
              for (let j = 0; j < kw; j++) {
                const v = ow * sw - pw + j;
                if (v < 0 || v >= W) continue;
                const xi = ((n * C + c) * H + h) * W + v, wi = ((d * C + c) * kh + i) * kw + j;
                dw[wi] += g * x.data[xi]; // ∂y/∂w[d,c,i,j] = x[n,c,h,v]
                dx[xi] += g * w.data[wi]; // ∂y/∂x[n,c,h,v] = w[d,c,i,j]; += over windows
              }
            }
          }
        }
      }
    }
  }
  return {
    dx: { shape: [N, C, H, W], data: dx },
    dw: { shape: [D, C, kh, kw], data: dw },
    db: { shape: [D], data: db },
  };
}
