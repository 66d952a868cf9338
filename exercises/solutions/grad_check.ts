/**
 * Solution to exercise 6 (exercises/grad_check.ts): a finite-difference gradient checker, the
 * test every backward pass in this project passes (tests/gradcheck_test.ts). For each entry x_i,
 * the central difference (f(x + h·e_i) − f(x − h·e_i)) / (2h) differs from ∂f/∂x_i by
 * h²/6 · f‴ (truncation) plus about |f| · 2⁻⁵² / h (rounding): with h = 1e-5, about 1e-10 for
 * functions of size 1, so a correct float64 gradient agrees to far better than the default
 * tolerance 1e-6, and a wrong one (a missing term, a wrong index) is off by much more.
 *
 * @module
 */

import type { GradCheckOptions, GradCheckResult, Tensor } from "../types.ts";

/**
 * Compares `grad` with the central differences of `f` at `x`, entry by entry. The error of entry
 * i is |grad_i − numeric_i| / max(1, |grad_i|, |numeric_i|): absolute for small gradients (an
 * entry that should be 0 is not divided by 0), relative for large ones (a function of size 1000
 * rounds 1000 times coarser).
 *
 * @param f The function, called with `x` itself after one entry of `x.data` is moved by ±h.
 * @param x The point [any shape]; every entry is restored, bit for bit, before returning.
 * @param grad The gradient to check, x's shape.
 * @param opts The step `h` (default 1e-5) and the `tolerance` (default 1e-6).
 * @returns ok, the central differences, the largest error and the flat index where it is.
 *
 * @example f(x) = Σ x_i²: 2x is right, x is not
 * ```ts
 * import { gradCheck } from "./grad_check.ts";
 * import type { Tensor } from "../types.ts";
 * import { assertEquals } from "@std/assert";
 * const f = (t: Tensor): number => Array.from(t.data).reduce((s, v) => s + v * v, 0);
 * const x = { shape: [3], data: new Float64Array([1, -2, 3]) };
 * assertEquals(gradCheck(f, x, { shape: [3], data: new Float64Array([2, -4, 6]) }).ok, true);
 * const wrong = gradCheck(f, x, { shape: [3], data: new Float64Array([2, -4, 3]) });
 * assertEquals([wrong.ok, wrong.worst], [false, 2]); // entry 2 is 3, should be 6
 * ```
 */
export function gradCheck(
  f: (x: Tensor) => number,
  x: Tensor,
  grad: Tensor,
  opts: GradCheckOptions = {},
): GradCheckResult {
  const { h = 1e-5, tolerance = 1e-6 } = opts;
  const numeric = new Float64Array(x.data.length); // numeric [x's shape]
  let maxError = 0, worst = 0;
  for (let i = 0; i < x.data.length; i++) {
    const old = x.data[i];
    x.data[i] = old + h;
    const up = f(x);
    x.data[i] = old - h;
    const down = f(x);
    x.data[i] = old; // restored exactly: the same number, not old + h − h
    numeric[i] = (up - down) / (2 * h);
    const g = grad.data[i], n = numeric[i];
    const error = Math.abs(g - n) / Math.max(1, Math.abs(g), Math.abs(n));
    // a NaN (in the gradient, or from f) is the worst error there is, not one a `>` skips
    const e = Number.isNaN(error) ? Infinity : error;
    if (e > maxError) [maxError, worst] = [e, i];
  }
  return {
    ok: maxError <= tolerance,
    numeric: { shape: [...x.shape], data: numeric },
    maxError,
    worst,
  };
}
