/**
 * The fast fully connected layer: the reshapes of layers/fully_connected.ts around the fast
 * convolution (layers/fast/conv.ts), whose one-position case is a single GEMM for the batch.
 *
 * @module
 */

import { fcArgs, fcBackwardArgs, fcConvGeometry } from "../_args.ts";
import { convBackwardChecked, convForwardChecked } from "./conv.ts";
import { asConvolution, asFcResult, fcGradients } from "../fully_connected.ts";
import type * as reference from "../fully_connected.ts";

/**
 * y = x · wᵀ + b on the fast convolution, with the signature and contract of
 * layers/fully_connected.ts's fcForward.
 *
 * @example
 * ```ts
 * import { fcForward } from "./fully_connected.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) };
 * const w = { shape: [1, 3], data: new Float32Array([1, 1, 1]) };
 * assertEquals(Array.from(fcForward(x, w, { shape: [1], data: new Float32Array([0]) }).y.data), [6, 15]);
 * ```
 */
export const fcForward: typeof reference.fcForward = (x, w, b, opts = {}) => {
  const g = fcArgs("fcForward", x, w, b, opts);
  const [x4, w4] = asConvolution(g, x, w);
  return asFcResult(convForwardChecked(fcConvGeometry(g), x4, w4, b, opts), x, w);
};

/**
 * The backward pass of {@link fcForward} on the fast convolution, with the reference's signature
 * and contract; it takes either backend's cache.
 *
 * @example
 * ```ts
 * import { fcBackward, fcForward } from "./fully_connected.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 2], data: new Float64Array([3, 4]) };
 * const { cache } = fcForward(x, { shape: [1, 2], data: new Float64Array([1, 1]) }, { shape: [1], data: new Float64Array([0]) });
 * const g = fcBackward({ shape: [1, 1], data: new Float64Array([2]) }, cache, { inputGradient: false });
 * assertEquals([g.dx, Array.from(g.dw.data), Array.from(g.db.data)], [null, [6, 8], [2]]);
 * ```
 */
export const fcBackward: typeof reference.fcBackward = (dy, cache, opts) => {
  fcBackwardArgs("fcBackward", dy, cache, opts);
  const conv = cache.conv, dy4 = { shape: [dy.shape[0], dy.shape[1], 1, 1], data: dy.data };
  // the result's type is the reference's conditional one, which TypeScript cannot check here
  return fcGradients(convBackwardChecked(conv.geometry, dy4, conv, opts ?? {}), cache) as never;
};
