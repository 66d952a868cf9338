/**
 * Exercise 2: the convolution's backward pass, naively.
 *
 * TASK. Given dL/dy, compute the gradients of the loss with respect to the convolution's three
 * inputs, dx, dw and db, with plain nested loops. The trick: loop exactly as the forward pass
 * does (exercise 1). Every term w[d,c,i,j] · x[n,c,h,v] that was added into y[n,d,oh,ow] sends
 * dy[n,d,oh,ow] back along itself: times x to dw, times w to dx, alone to db.
 *
 * SHAPES.
 *   dy [N, D, Ho, Wo]    dL/dy, the shape of the forward pass's output
 *   x  [N, C, H, W]      the forward pass's input
 *   w  [D, C, kh, kw]    the forward pass's filters
 *   -> dx [N, C, H, W], dw [D, C, kh, kw], db [D]: the shapes of x, w and b
 *
 * FORMULAS (h = oh·sh − ph + i and v = ow·sw − pw + j, taps in the padding left out):
 *
 *   db[d]          = Σ_{n, oh, ow} dy[n, d, oh, ow]
 *   dw[d, c, i, j] = Σ_{n, oh, ow} dy[n, d, oh, ow] · x[n, c, h, v]
 *   dx[n, c, h, v] = Σ over every (d, i, j, oh, ow) that reads cell (h, v): dy[n, d, oh, ow] · w[d, c, i, j]
 *
 * MEMORY. Row-major `{ shape, data }` as in exercise 1. Return `{ dx, dw, db }`, three new
 * tensors with Float64Array data; do not write into dy, x or w.
 *
 * HINTS.
 *  - docs/conv_backward.md derives all three: dW as a matrix product (a weight is shared by every
 *    position and every sample, hence the sums over n, oh, ow), db as a sum, and dX as "the sum
 *    over all the positions a cell was mapped to".
 *  - A cell covered by several windows gets the sum of their contributions: `+=`, never `=`.
 *  - Check your gradients against exercise 6 (your own gradient checker) on a tiny geometry.
 *
 * GRADE IT.  deno task exercise conv_backward   [--file path/to/my_conv_backward.ts]
 *
 * @module
 */

import type { ConvGradients, ConvParams, Tensor } from "./types.ts";
import { NotImplemented } from "./not_implemented.ts";

/**
 * The convolution's three gradients by loops.
 *
 * @param dy dL/dy [N, D, Ho, Wo].
 * @param x The forward pass's input [N, C, H, W].
 * @param w The forward pass's filters [D, C, kh, kw].
 * @param conv `{ stride: [sh, sw], padding: [ph, pw] }`.
 * @returns `{ dx, dw, db }` with the shapes of x, w and b.
 * @throws {NotImplemented} Until you write it.
 *
 * @example
 * ```ts ignore
 * const { dx, dw, db } = convBackwardNaive(dy, x, w, { stride: [2, 2], padding: [1, 1] });
 * ```
 */
export function convBackwardNaive(
  dy: Tensor,
  x: Tensor,
  w: Tensor,
  conv: ConvParams,
): ConvGradients {
  // ******************************** YOUR CODE HERE ********************************
  // the loops of the forward pass; where it computed y += w · x, here:
  //   db[d] += g,  dw[d,c,i,j] += g · x[n,c,h,v],  dx[n,c,h,v] += g · w[d,c,i,j]
  // with g = dy[n, d, oh, ow]
  throw new NotImplemented("conv_backward", { dy, x, w, conv });
  // ******************************** END OF YOUR CODE ******************************
}
