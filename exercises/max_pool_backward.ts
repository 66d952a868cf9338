/**
 * Exercise 3: max pooling's backward pass.
 *
 * TASK. Given dL/dy of a max-pooling layer and its input x, compute dL/dx. Each window's output
 * is one of its cells, the winner, so y depends on the winner alone, with slope 1: the window's
 * gradient goes to its winner, whole, and every other cell of the window gets nothing from it.
 *
 * SHAPES.
 *   dy [N, C, Ho, Wo]   dL/dy;  Ho = floor((H + 2·ph − kh) / sh) + 1 (Wo alike)
 *   x  [N, C, H, W]     the forward pass's input
 *   -> dx [N, C, H, W]
 *
 * FORMULA. Window (oh, ow) of slice (n, c) covers rows oh·sh − ph ... oh·sh − ph + kh − 1 and
 * columns ow·sw − pw ... ow·sw − pw + kw − 1. Its winner is its largest cell of x; then
 *
 *   dx[n, c, h, v] = Σ over the windows whose winner is (h, v) of dy[n, c, oh, ow]
 *
 * THE RULES (PyTorch's, and the library's):
 *  - the padding reads as −∞, not 0: it is never the winner (a window over negative numbers is
 *    won by one of them), and it receives no gradient;
 *  - on a tie, the first maximal cell in row-major order (i, then j) wins: replace the winner
 *    only when a cell is strictly larger.
 *
 * MEMORY. Row-major `{ shape, data }`; return a new tensor with Float64Array data.
 *
 * HINTS.
 *  - docs/max_pool.md, "Backward", derives it (the seed's selection matrix S, dx = Sᵀ dy), and
 *    "Ties and NaN" and "Padding" give the two rules.
 *  - Windows overlap when the stride is smaller than the window: a cell can win several, and
 *    then receives the sum (`+=`).
 *  - The pooling works on each (n, c) slice alone: no sum over channels.
 *
 * GRADE IT.  deno task exercise max_pool_backward   [--file path/to/yours.ts]
 *
 * @module
 */

import type { PoolParams, Tensor } from "./types.ts";
import { NotImplemented } from "./not_implemented.ts";

/**
 * Max pooling's gradient, routed to each window's winner.
 *
 * @param dy dL/dy [N, C, Ho, Wo].
 * @param x The forward pass's input [N, C, H, W].
 * @param pool `{ size: [kh, kw], stride: [sh, sw], padding: [ph, pw] }`.
 * @returns dx [N, C, H, W], a Float64Array.
 * @throws {NotImplemented} Until you write it.
 *
 * @example
 * ```ts ignore
 * const dx = maxPoolBackwardNaive(dy, x, { size: [2, 2], stride: [2, 2], padding: [0, 0] });
 * ```
 */
export function maxPoolBackwardNaive(dy: Tensor, x: Tensor, pool: PoolParams): Tensor {
  // ******************************** YOUR CODE HERE ********************************
  // for every n, c, oh, ow: find the winner's flat index in x (skip the padding; strictly
  // larger replaces), then dx[winner] += dy[n, c, oh, ow]
  throw new NotImplemented("max_pool_backward", { dy, x, pool });
  // ******************************** END OF YOUR CODE ******************************
}
