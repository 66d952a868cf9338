/**
 * Exercise 1: the convolution's forward pass, naively.
 *
 * TASK. Write the forward pass of a 2-D convolution with plain nested loops, straight from its
 * definition: no im2col, no matrix product, no library call. This is the version every faster
 * one (im2col + GEMM, docs/im2col.md) must agree with.
 *
 * SHAPES.
 *   x  [N, C, H, W]      N images of C channels
 *   w  [D, C, kh, kw]    D filters, each seeing all C channels
 *   b  [D]               one bias per filter
 *   y  [N, D, Ho, Wo]    Ho = floor((H + 2·ph − kh) / sh) + 1,  Wo = floor((W + 2·pw − kw) / sw) + 1
 *
 * FORMULA (cross-correlation, as PyTorch's conv2d; x is 0 outside its H × W cells: the padding):
 *
 *   y[n, d, oh, ow] = b[d] + Σ_{c < C} Σ_{i < kh} Σ_{j < kw} w[d, c, i, j] · x[n, c, oh·sh − ph + i, ow·sw − pw + j]
 *
 * MEMORY. Tensors are `{ shape, data }`, row-major: element [n, c, h, v] of x is
 * `x.data[((n * C + c) * H + h) * W + v]`. Return a new tensor `{ shape: [N, D, Ho, Wo], data }`
 * with `data` a Float64Array (the grader's inputs are Float64Array); do not write into x, w or b.
 *
 * HINTS.
 *  - docs/im2col.md, "The definition", derives the formula and the output size.
 *  - Do not build a padded copy of x: a tap whose row or column falls outside x reads a zero of
 *    the padding, so skip it.
 *  - stride = [sh, sw] and padding = [ph, pw] are [rows, cols] pairs; they may differ.
 *  - The grader tries named edge cases (padding, stride 2, non-square, C > 1, N > 1, ...) and
 *    random geometries, and prints the first wrong entry as [n, d, oh, ow].
 *
 * GRADE IT.  deno task exercise conv_forward
 *            deno task exercise conv_forward --file path/to/my_conv_forward.ts   (a file of your own)
 *
 * @module
 */

import type { ConvParams, Tensor } from "./types.ts";
import { NotImplemented } from "./not_implemented.ts";

/**
 * The convolution's forward pass by its definition.
 *
 * @param x Input [N, C, H, W].
 * @param w Filters [D, C, kh, kw].
 * @param b Bias [D].
 * @param conv `{ stride: [sh, sw], padding: [ph, pw] }`.
 * @returns y [N, D, Ho, Wo], a Float64Array.
 * @throws {NotImplemented} Until you write it.
 *
 * @example
 * ```ts ignore
 * const y = convForwardNaive(x, w, b, { stride: [1, 1], padding: [0, 0] });
 * ```
 */
export function convForwardNaive(x: Tensor, w: Tensor, b: Tensor, conv: ConvParams): Tensor {
  // ******************************** YOUR CODE HERE ********************************
  // 1. read N, C, H, W from x.shape and D, kh, kw from w.shape; compute Ho and Wo
  // 2. y = new Float64Array(N * D * Ho * Wo)
  // 3. for every n, d, oh, ow: start from b[d], add w[d,c,i,j] · x[n,c,h,v] over c, i, j
  //    (skipping the taps in the padding), store it in y
  throw new NotImplemented("conv_forward", { x, w, b, conv });
  // ******************************** END OF YOUR CODE ******************************
}
