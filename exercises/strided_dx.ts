/**
 * Exercise 5: a strided convolution's dX, as a stride-1 convolution.
 *
 * TASK. Compute dL/dx of a convolution with stride s ≥ 1 without scattering through windows:
 * for every input cell, gather the terms that reach it. docs/conv_backward.md shows that for
 * stride 1, dX is a "full" correlation of dy with the filters rotated by 180°. With a stride,
 * dy first has to be spread back out to where its windows started.
 *
 * SHAPES.
 *   dy [N, D, Ho, Wo]        dL/dy
 *   w  [D, C, kh, kw]        the forward pass's filters
 *   xShape = [N, C, H, W]    the forward pass's input shape; ph < kh and pw < kw
 *   -> dx [N, C, H, W]
 *
 * FORMULA (the gather form):
 *
 *   dx[n, c, h, v] = Σ_{d, i, j} w[d, c, i, j] · dy[n, d, (h + ph − i) / sh, (v + pw − j) / sw]
 *
 * over the taps (i, j) where both quotients are whole numbers and inside [0, Ho) × [0, Wo).
 * Equivalently, three steps:
 *  1. dilate dy: put sh − 1 zero rows between two of its rows (sw − 1 zero columns between two
 *     columns), so that dy[oh, ow] sits at (oh·sh, ow·sw), where window (oh, ow) started;
 *  2. pad it with kh − 1 − ph zero rows above and below and kw − 1 − pw columns left and right,
 *     plus (H + 2·ph − kh) mod sh more rows at the bottom ((W + 2·pw − kw) mod sw columns at the
 *     right): the cells the stride skipped, which no window read, so their gradient is 0;
 *  3. correlate, stride 1, with w_flip [C, D, kh, kw], w_flip[c, d, i, j] = w[d, c, kh−1−i, kw−1−j].
 *
 * MEMORY. Row-major `{ shape, data }`; return a new tensor with Float64Array data of x's shape.
 *
 * HINTS.
 *  - docs/conv_backward.md, "Another way to see dX: a convolution with the flipped kernel",
 *    derives the stride-1 case; docs/conv_transpose.md shows the same gradient as a transposed
 *    convolution, whose stride is exactly this dilation.
 *  - Check the size: (Ho − 1)·sh + 1 + 2·(kh − 1 − ph) + r − kh + 1 must be H.
 *  - When H + 2·ph − kh is not a multiple of sh, the last rows of x are in no window: dx is 0
 *    there, and dx must still be [N, C, H, W].
 *
 * GRADE IT.  deno task exercise strided_dx   [--file path/to/yours.ts]
 *
 * @module
 */

import type { ConvParams, Tensor } from "./types.ts";
import { NotImplemented } from "./not_implemented.ts";

/**
 * A strided convolution's input gradient, gathered for every input cell.
 *
 * @param dy dL/dy [N, D, Ho, Wo].
 * @param w The forward pass's filters [D, C, kh, kw].
 * @param xShape The forward pass's input shape [N, C, H, W].
 * @param conv `{ stride: [sh, sw], padding: [ph, pw] }`.
 * @returns dx [N, C, H, W], a Float64Array.
 * @throws {NotImplemented} Until you write it.
 *
 * @example
 * ```ts ignore
 * const dx = stridedDx(dy, w, [2, 3, 9, 9], { stride: [2, 2], padding: [1, 1] });
 * ```
 */
export function stridedDx(
  dy: Tensor,
  w: Tensor,
  xShape: readonly number[],
  conv: ConvParams,
): Tensor {
  // ******************************** YOUR CODE HERE ********************************
  // either the gather formula directly, or: dilate and pad dy, flip w, correlate
  throw new NotImplemented("strided_dx", { dy, w, xShape, conv });
  // ******************************** END OF YOUR CODE ******************************
}
