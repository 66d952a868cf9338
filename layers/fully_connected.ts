/**
 * A fully connected layer is a convolution whose kernel covers the whole input: w [D, K] is the
 * same numbers as conv filters [D, C, H, W] (K = C·H·W), there is one output position, and
 * y [N, D, 1, 1] is y [N, D]. So this file only reshapes and runs the convolution of
 * layers/conv.ts: the arithmetic is {@link convForwardChecked}'s and {@link convBackwardChecked}'s.
 * The reference form; layers/fast/fully_connected.ts does the same on the fast convolution.
 *
 * @module
 */

import type { FloatArray, Tensor } from "../tensor.ts";
import { fcArgs, fcBackwardArgs, fcConvGeometry } from "./_args.ts";
import { convBackwardChecked, convForwardChecked } from "./conv.ts";
import type {
  BackwardResult,
  ConvCache,
  ConvForwardResult,
  FcCache,
  FcForwardResult,
  ForwardOptions,
  Gradients,
  ParamBackwardOptions,
  ParamGradients,
} from "./types.ts";

/**
 * y = x · wᵀ + b, with x flattened to [N, K] in C order, computed as a convolution whose kernel
 * covers x.
 *
 * @param x Input [N, ...]; K = the product of the non-batch sizes.
 * @param w Weights [D, K].
 * @param b Bias [D].
 * @param opts `training` and `workspace`, hints for the fast backend (ignored here).
 * @returns y [N, D] of x's type, and the cache for {@link fcBackward}.
 * @throws {RangeError} If x has fewer than 2 dimensions, w is not [D, K] for x's K, or b is
 *   not [D].
 * @throws {TypeError} If x, w and b are not all the same float array type.
 *
 * @example Two samples of three features, two outputs
 * ```ts
 * import { fcForward } from "./fully_connected.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [2, 3], data: new Float64Array([1, 2, 3, 4, 5, 6]) };
 * const w = { shape: [2, 3], data: new Float64Array([1, 0, 0, 1, 1, 1]) };
 * const b = { shape: [2], data: new Float64Array([0, 10]) };
 * const { y } = fcForward(x, w, b);
 * assertEquals(y.shape, [2, 2]);
 * assertEquals(Array.from(y.data), [1, 16, 4, 25]); // [x0, x0+x1+x2+10] per sample
 * ```
 */
export function fcForward<T extends FloatArray>(
  x: Tensor<T>,
  w: Tensor<T>,
  b: Tensor<T>,
  opts: ForwardOptions = {},
): FcForwardResult<T> {
  const g = fcArgs("fcForward", x, w, b, opts);
  const [x4, w4] = asConvolution(g, x, w); // x as an image [N, C, H, W], w as D filters covering it
  return asFcResult(convForwardChecked(fcConvGeometry(g), x4, w4, b), x, w); // y [N, D, 1, 1] is y [N, D]
}

/**
 * x [N, ...] as the image [N, C, H, W] (a flat [N, K] as [N, K, 1, 1]) and w [D, K] as the D
 * filters [D, C, H, W] that cover it: the inputs of the convolution a fully connected layer is,
 * in the same memory.
 *
 * @param g The layer's checked sizes.
 * @param x Input [N, ...].
 * @param w Weights [D, K].
 * @returns [x as an image, w as filters].
 *
 * @example
 * ```ts
 * import { asConvolution } from "./fully_connected.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [2, 6], data: new Float64Array(12) }, w = { shape: [3, 6], data: new Float64Array(18) };
 * const [x4, w4] = asConvolution({ D: 3, image: [2, 6, 1, 1] }, x, w);
 * assertEquals([x4.shape, w4.shape], [[2, 6, 1, 1], [3, 6, 1, 1]]);
 * ```
 */
export function asConvolution<T extends FloatArray>(
  g: { readonly D: number; readonly image: readonly number[] },
  x: Tensor<T>,
  w: Tensor<T>,
): [Tensor<T>, Tensor<T>] {
  return [{ shape: g.image, data: x.data }, { shape: [g.D, ...g.image.slice(1)], data: w.data }];
}

/**
 * The convolution's forward result as the fully connected layer's: y [N, D, 1, 1] is y [N, D].
 *
 * @param r The convolution's output and cache.
 * @param x The layer's input (for its shape).
 * @param w The layer's weights [D, K].
 * @returns y [N, D] and the layer's cache.
 *
 * @example
 * ```ts
 * import { asFcResult } from "./fully_connected.ts";
 * import { convForward } from "./conv.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 2], data: new Float64Array([3, 4]) }, w = { shape: [1, 2], data: new Float64Array([1, 1]) };
 * const r = convForward({ shape: [1, 2, 1, 1], data: x.data }, { shape: [1, 2, 1, 1], data: w.data }, { shape: [1], data: new Float64Array(1) });
 * assertEquals(asFcResult(r, x, w).y.shape, [1, 1]);
 * ```
 */
export function asFcResult<T extends FloatArray>(
  r: ConvForwardResult<T>,
  x: Tensor<T>,
  w: Tensor<T>,
): FcForwardResult<T> {
  const [N, D] = [x.shape[0], w.shape[0]];
  return {
    y: { shape: [N, D], data: r.y.data },
    // a fully connected layer always has its bias
    cache: { kind: "fc", xShape: [...x.shape], w, conv: r.cache as ConvCache<T, true> },
  };
}

/**
 * The backward pass of {@link fcForward}: dx = dy · w (in x's shape), dw = dyᵀ · x,
 * db = Σ_n dy, computed by the convolution's backward pass. With `inputGradient: false` dx is
 * not computed and is null.
 *
 * @param dy dL/dy [N, D].
 * @param cache The cache from {@link fcForward}.
 * @param opts `inputGradient: false` to skip dx; `workspace`, a hint for the fast backend.
 * @returns dx (x's shape, or null), dw [D, K], db [D].
 * @throws {RangeError} If dy is not [N, D].
 * @throws {TypeError} If dy's type differs from x's or the cache is not an fc cache.
 *
 * @example
 * ```ts
 * import { fcBackward, fcForward } from "./fully_connected.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 2, 2], data: new Float64Array([1, 2, 3, 4]) }; // an image
 * const w = { shape: [1, 4], data: new Float64Array([0.5, 0, 0, -1]) };
 * const { y, cache } = fcForward(x, w, { shape: [1], data: new Float64Array([0]) });
 * assertEquals(Array.from(y.data), [0.5 - 4]);
 * const { dx, dw, db } = fcBackward({ shape: [1, 1], data: new Float64Array([2]) }, cache);
 * assertEquals(dx.shape, [1, 1, 2, 2]);
 * assertEquals(Array.from(dx.data), [1, 0, 0, -2]); // 2·w
 * assertEquals(Array.from(dw.data), [2, 4, 6, 8]); // 2·x
 * assertEquals(Array.from(db.data), [2]);
 * ```
 */
export function fcBackward<T extends FloatArray, O extends ParamBackwardOptions = object>(
  dy: Tensor<T>,
  cache: FcCache<T>,
  opts?: O,
): BackwardResult<T, O> {
  fcBackwardArgs("fcBackward", dy, cache, opts);
  const conv = cache.conv, dy4 = { shape: [dy.shape[0], dy.shape[1], 1, 1], data: dy.data };
  const g = convBackwardChecked(conv.geometry, dy4, conv, opts?.inputGradient !== false);
  return fcGradients(g, cache) as BackwardResult<T, O>;
}

/**
 * The convolution's gradients in the fully connected shapes: its dw [D, C, H, W] is dw [D, K],
 * its dx [N, C, H, W] has x's numbers in x's shape.
 *
 * @param g The convolution's gradients.
 * @param cache The fully connected layer's cache.
 * @returns The same arrays with the layer's shapes.
 *
 * @example
 * ```ts
 * import { fcGradients } from "./fully_connected.ts";
 * import { assertEquals } from "@std/assert";
 * const dw = { shape: [2, 3, 1, 1], data: new Float64Array(6) }, db = { shape: [2], data: new Float64Array(2) };
 * const cache = { xShape: [1, 3], w: { shape: [2, 3], data: new Float64Array(6) } };
 * assertEquals(fcGradients({ dx: null, dw, db }, cache).dw.shape, [2, 3]);
 * ```
 */
export function fcGradients<T extends FloatArray>(
  g: Gradients<T, Tensor<T> | null> | ParamGradients<T, Tensor<T> | null>,
  cache: Pick<FcCache<T>, "xShape" | "w">,
): Gradients<T> | ParamGradients<T> {
  // the convolution of a fully connected layer has its bias, so db is there
  const dw = { shape: [...cache.w.shape], data: g.dw.data }, db = g.db as Tensor<T>;
  return g.dx === null
    ? { dx: null, dw, db }
    : { dx: { shape: [...cache.xShape], data: g.dx.data }, dw, db };
}
