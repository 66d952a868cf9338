/**
 * ReLU, y = max(0, x), and its gradient dx = dy · [x > 0], with PyTorch's numbers to the sign of
 * zero: a negative input gives +0, while −0 and NaN pass through (`torch.relu` is a clamp at 0);
 * the gradient is +0 wherever x ≤ 0, and dy elsewhere, at a NaN input too (PyTorch's
 * `threshold_backward`). The reference form; the fast backend's layers/fast/relu.ts runs the same
 * loops into a workspace's arrays.
 *
 * @module
 */

import type { FloatArray, Tensor } from "../tensor.ts";
import { zerosLike } from "../_validate.ts";
import { reluArgs, reluBackwardArgs } from "./_args.ts";
import type { BackwardOptions, ForwardOptions, ReluCache, ReluForwardResult } from "./types.ts";

/**
 * y = max(0, x) elementwise, as PyTorch computes it: negative inputs give +0, NaN and −0 pass
 * through.
 *
 * @param x Any tensor.
 * @param opts `training` and `workspace`, hints for the fast backend (ignored here).
 * @returns y of x's shape and type, and the cache for {@link reluBackward}.
 * @throws {TypeError} If x is not a tensor of Float32Array or Float64Array.
 * @throws {RangeError} If x's data does not fit its shape.
 *
 * @example
 * ```ts
 * import { reluForward } from "./relu.ts";
 * import { assertEquals } from "@std/assert";
 * const { y } = reluForward({ shape: [4], data: new Float64Array([-2, -0.5, 0.5, 3]) });
 * assertEquals(Array.from(y.data), [0, 0, 0.5, 3]);
 * ```
 */
export function reluForward<T extends FloatArray>(
  x: Tensor<T>,
  opts: ForwardOptions = {},
): ReluForwardResult<T> {
  reluArgs("reluForward", x, opts);
  const y = zerosLike(x.data, x.data.length);
  for (let i = 0; i < y.length; i++) y[i] = x.data[i] < 0 ? 0 : x.data[i]; // y = max(0, x)
  return { y: { shape: [...x.shape], data: y }, cache: { kind: "relu", x } };
}

/**
 * dx = dy where x > 0, else 0 (the subgradient at 0 is taken as 0, and a NaN input passes dy,
 * as in PyTorch).
 *
 * @param dy dL/dy, y's shape.
 * @param cache The cache from {@link reluForward}.
 * @param opts `workspace`, a hint for the fast backend (ignored here).
 * @returns dL/dx, x's shape and type.
 * @throws {RangeError} If dy's shape differs from x's.
 * @throws {TypeError} If dy's type differs from x's or the cache is not a ReLU cache.
 *
 * @example
 * ```ts
 * import { reluBackward, reluForward } from "./relu.ts";
 * import { assertEquals } from "@std/assert";
 * const { cache } = reluForward({ shape: [3], data: new Float64Array([-1, 0, 2]) });
 * const dx = reluBackward({ shape: [3], data: new Float64Array([5, 6, 7]) }, cache);
 * assertEquals(Array.from(dx.data), [0, 0, 7]);
 * ```
 */
export function reluBackward<T extends FloatArray>(
  dy: Tensor<T>,
  cache: ReluCache<T>,
  opts: BackwardOptions = {},
): Tensor<T> {
  reluBackwardArgs("reluBackward", dy, cache, opts);
  const x = cache.x.data, dx = zerosLike(x, x.length);
  for (let i = 0; i < dx.length; i++) dx[i] = x[i] <= 0 ? 0 : dy.data[i]; // dx = dy · [x > 0]
  return { shape: [...cache.x.shape], data: dx };
}
