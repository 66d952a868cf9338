/**
 * The fast ReLU: the same numbers as layers/relu.ts without a branch per element (activations'
 * signs are unpredictable, and a mispredicted branch per element costs several times the
 * arithmetic), into a workspace's arrays when one is given.
 *
 * @module
 */

import { reluArgs, reluBackwardArgs } from "../_args.ts";
import { Workspace } from "../workspace.ts";
import type * as reference from "../relu.ts";

/**
 * layers/relu.ts's reluForward without a branch per element, into the workspace's array when one
 * is given. (A negative input gives −0 here and +0 there: the same number.)
 *
 * @example ±Infinity and NaN are exact
 * ```ts
 * import { reluForward } from "./relu.ts";
 * import { assertEquals } from "@std/assert";
 * const { y } = reluForward({ shape: [4], data: new Float64Array([-Infinity, Infinity, NaN, 2]) });
 * assertEquals(Array.from(y.data), [0, Infinity, NaN, 2]);
 * ```
 */
export const reluForward: typeof reference.reluForward = (x, opts = {}) => {
  reluArgs("reluForward", x, opts);
  const X = x.data, n = X.length;
  const y = (opts.workspace ?? new Workspace()).floats("y", X, n, [X]);
  // v·[v > 0] rather than `v > 0 ? v : 0`. The product is NaN only for v = −∞ (−∞·0), a rare and
  // therefore well-predicted fix-up; NaN stays NaN.
  for (let i = 0; i < n; i++) {
    const v = X[i], r = v * +(v > 0);
    y[i] = r === r || v !== v ? r : 0;
  }
  return { y: { shape: [...x.shape], data: y }, cache: { kind: "relu", x } };
};

/**
 * layers/relu.ts's reluBackward without a branch per element (a zero here may carry dy's sign).
 *
 * @example
 * ```ts
 * import { reluBackward, reluForward } from "./relu.ts";
 * import { assertEquals } from "@std/assert";
 * const { cache } = reluForward({ shape: [3], data: new Float64Array([-1, 0, 2]) });
 * const dx = reluBackward({ shape: [3], data: new Float64Array([Infinity, 6, 7]) }, cache);
 * assertEquals(Array.from(dx.data), [0, 0, 7]);
 * ```
 */
export const reluBackward: typeof reference.reluBackward = (dy, cache, opts = {}) => {
  reluBackwardArgs("reluBackward", dy, cache, opts);
  const X = cache.x.data, D = dy.data, n = X.length;
  const dx = (opts.workspace ?? new Workspace()).floats("dx", X, n, [X, D]);
  // dy·[x > 0] without a branch; a NaN product (±∞·0, NaN·0) falls back to the exact select
  for (let i = 0; i < n; i++) {
    const g = D[i] * +(X[i] > 0);
    dx[i] = g === g ? g : (X[i] > 0 ? D[i] : 0);
  }
  return { shape: [...cache.x.shape], data: dx };
};
