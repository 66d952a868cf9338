/**
 * ReLU, y = max(0, x), and its gradient dx = dy · [x > 0].
 *
 * @module
 */

import type { FloatArray, Tensor } from "../tensor.ts";
import {
  checkSameType,
  checkShapeEquals,
  checkTensor,
  isFloatArray,
  outputBuffer,
  reuseBuffer,
} from "../_validate.ts";
import type { Layer, Param } from "./layer.ts";

/** What {@link reluBackward} needs: which inputs were positive. Treat it as opaque. */
export interface ReluCache<T extends FloatArray = FloatArray> {
  /** The input; its sign decides where the gradient passes. */
  readonly x: Tensor<T>;
}

/** Where to write the result of {@link reluForward} or {@link reluBackward}. */
export interface ReluOptions<T extends FloatArray = FloatArray> {
  /** A buffer of the input's length and type; default a new array. */
  out?: T;
}

/** The result of {@link reluForward}. */
export interface ReluForwardResult<T extends FloatArray = FloatArray> {
  /** y, x's shape. */
  readonly y: Tensor<T>;
  /** For {@link reluBackward}. */
  readonly cache: ReluCache<T>;
}

/**
 * y = max(0, x) elementwise (NaN stays NaN, as in PyTorch).
 *
 * @param x Any tensor.
 * @param opts `out`: a buffer to write y into.
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
  opts: ReluOptions<T> = {},
): ReluForwardResult<T> {
  checkTensor("reluForward", "x", x);
  const X = x.data, n = X.length;
  const y = outputBuffer("reluForward", "opts.out", opts.out, X, n, { x: X });
  // v·[v > 0] rather than `v > 0 ? v : 0`: activations' signs are unpredictable, and a
  // mispredicted branch per element costs several times the arithmetic. The product is NaN
  // only for v = −∞ (−∞·0), a rare and therefore well-predicted fix-up; NaN stays NaN.
  for (let i = 0; i < n; i++) {
    const v = X[i], r = v * +(v > 0);
    y[i] = r === r || v !== v ? r : 0;
  }
  return { y: { shape: [...x.shape], data: y }, cache: { x } };
}

/**
 * dx = dy where x > 0, else 0 (the subgradient at 0 is taken as 0, as PyTorch does).
 *
 * @param dy dL/dy, y's shape.
 * @param cache The cache from {@link reluForward}.
 * @param opts `out`: a buffer to write dx into.
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
  opts: ReluOptions<T> = {},
): Tensor<T> {
  const fn = "reluBackward";
  if (typeof cache !== "object" || cache === null || cache.x === undefined) {
    throw new TypeError(`${fn}: cache must be the cache returned by reluForward`);
  }
  checkTensor(fn, "dy", dy);
  checkShapeEquals(fn, "dy", dy, cache.x.shape, "x");
  checkSameType(fn, "x", cache.x, "dy", dy);
  const X = cache.x.data, D = dy.data, n = X.length;
  const dx = outputBuffer(fn, "opts.out", opts.out, X, n, { x: X });
  // dy·[x > 0] without a branch (see reluForward); a NaN product (±∞·0, NaN·0) falls back to
  // the exact select
  for (let i = 0; i < n; i++) {
    const g = D[i] * +(X[i] > 0);
    dx[i] = g === g ? g : (X[i] > 0 ? D[i] : 0);
  }
  return { shape: [...cache.x.shape], data: dx };
}

/**
 * A ReLU layer (no parameters) holding the forward cache.
 *
 * Like llm.c's preallocated activations, the tensors `forward` and `backward` return live in
 * buffers the layer owns and reuses from call to call (a fresh large typed array costs page
 * faults on first touch): they stay valid until the layer's next call; copy them to keep them.
 *
 * @example
 * ```ts
 * import { ReLU } from "./relu.ts";
 * import { assertEquals } from "@std/assert";
 * const relu = new ReLU();
 * relu.forward({ shape: [2], data: new Float32Array([-1, 1]) });
 * const dx = relu.backward({ shape: [2], data: new Float32Array([3, 3]) });
 * assertEquals(Array.from(dx.data), [0, 3]);
 * ```
 */
export class ReLU implements Layer {
  /** The layer kind. */
  readonly kind: string = "ReLU";
  #cache: ReluCache | undefined;
  #y: FloatArray | undefined;
  #dx: FloatArray | undefined;

  /**
   * Runs the forward pass and keeps its cache for `backward`.
   *
   * @param x Any tensor.
   * @returns max(0, x).
   * @throws {TypeError} As {@link reluForward}.
   */
  forward(x: Tensor): Tensor {
    const out = isFloatArray(x?.data)
      ? this.#y = reuseBuffer(this.#y, x.data, x.data.length)
      : undefined;
    const { y, cache } = reluForward(x, { out });
    this.#cache = cache;
    return y;
  }

  /**
   * Runs the backward pass of the last `forward`; parameter gradients are overwritten.
   *
   * @param dy dL/dy.
   * @returns dL/dx.
   * @throws {Error} If called before `forward`; otherwise as {@link reluBackward}.
   */
  backward(dy: Tensor): Tensor {
    if (this.#cache === undefined) throw new Error("ReLU.backward: call forward first");
    const like = this.#cache.x.data;
    this.#dx = reuseBuffer(this.#dx, like, like.length);
    return reluBackward(dy, this.#cache, { out: this.#dx });
  }

  /**
   * The trainable parameters, in a fixed order.
   *
   * @returns [] (no parameters).
   */
  params(): Param[] {
    return [];
  }
}
