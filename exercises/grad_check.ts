/**
 * Exercise 6: a finite-difference gradient checker.
 *
 * TASK. Write the test every backward pass has to pass: compare a gradient someone computed
 * (`grad`, e.g. your exercise 2) with central differences of the function itself, entry by
 * entry, and say whether it is right and where it is most wrong. A checker that always says "ok"
 * is worse than none: the grader feeds yours wrong gradients it must catch.
 *
 * SHAPES.  x [any shape], grad [x's shape], f: x ↦ a number.
 *
 * FORMULAS. For every flat index i (e_i: 1 at entry i, 0 elsewhere; h = opts.h, default 1e-5):
 *
 *   numeric_i = (f(x + h·e_i) − f(x − h·e_i)) / (2h)
 *   error_i   = |grad_i − numeric_i| / max(1, |grad_i|, |numeric_i|)
 *   maxError  = max_i error_i,  worst = an i where it is reached,  ok = maxError ≤ tolerance
 *
 * with tolerance = opts.tolerance, default 1e-6. The error is absolute for small gradients (an
 * entry that should be 0 is not divided by 0) and relative for large ones (a function of size
 * 10⁶ rounds 10⁶ times coarser). A NaN anywhere is not ok.
 *
 * RETURN `{ ok, numeric, maxError, worst }`: numeric a tensor of x's shape with Float64Array
 * data. Move x in place (`x.data[i] = old + h`, call f(x), ...) and put every entry back exactly
 * as it was (`x.data[i] = old`, not `-= h`, which rounds) before you return.
 *
 * HINTS.
 *  - docs/conv_backward.md ends with this check on a convolution and says why the central
 *    difference is accurate: its error is h²/6·f‴ plus rounding |f|·2⁻⁵²/h, about 1e-10 here,
 *    while a one-sided difference (f(x + h) − f(x)) / h is off by h/2·f″, about 5e-6.
 *  - The grader also compares your `numeric` with the true gradient.
 *
 * GRADE IT.  deno task exercise grad_check   [--file path/to/yours.ts]
 *
 * @module
 */

import type { GradCheckOptions, GradCheckResult, Tensor } from "./types.ts";
import { NotImplemented } from "./not_implemented.ts";

/**
 * Checks `grad` against the central differences of `f` at `x`.
 *
 * @param f The function; called with x itself, one entry moved by ±h.
 * @param x The point; left exactly as it was.
 * @param grad The gradient to check, x's shape.
 * @param opts `h` (default 1e-5) and `tolerance` (default 1e-6).
 * @returns `{ ok, numeric, maxError, worst }`.
 * @throws {NotImplemented} Until you write it.
 *
 * @example
 * ```ts ignore
 * const { ok, worst } = gradCheck((t) => loss(t), x, dx);
 * ```
 */
export function gradCheck(
  f: (x: Tensor) => number,
  x: Tensor,
  grad: Tensor,
  opts: GradCheckOptions = {},
): GradCheckResult {
  // ******************************** YOUR CODE HERE ********************************
  // for every i: old = x.data[i]; f at old + h and old − h; restore; numeric and error
  throw new NotImplemented("grad_check", { f, x, grad, opts });
  // ******************************** END OF YOUR CODE ******************************
}
