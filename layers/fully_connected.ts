/**
 * A fully connected layer is a convolution whose kernel covers the whole input: w [D, K] is
 * the same numbers as conv filters [D, C, H, W] (K = C·H·W), there is one output position, and
 * y [N, D, 1, 1] is y [N, D]. So this file only reshapes and calls the conv code path; the
 * arithmetic is {@link convForward}'s and {@link convBackward}'s.
 *
 * @module
 */

import type { FloatArray, Tensor } from "../tensor.ts";
import { convBackward, type ConvCache, convForward } from "./conv.ts";
import {
  checkSameType,
  checkShapeEquals,
  checkTensor,
  fmtShape,
  isFloatArray,
  reuseBuffer,
  zerosLike,
} from "../_validate.ts";
import type { Layer, Param } from "./layer.ts";
import { heNormal, mulberry32, type Rng } from "../random.ts";

/** What {@link fcBackward} needs from the forward pass. Treat it as opaque. */
export interface FcCache<T extends FloatArray = FloatArray> {
  /** The input's own shape [N, ...], which dx gets. */
  readonly xShape: readonly number[];
  /** The weights [D, K]. */
  readonly w: Tensor<T>;
  /** The cache of the underlying convolution. */
  readonly conv: ConvCache<T>;
}

/** Options of {@link fcForward}. */
export interface FcForwardOptions<T extends FloatArray = FloatArray> {
  /** Where to write y (length N·D, x's type); default a new array. */
  out?: T;
}

/** Options of {@link fcBackward}: where to write the gradients (each overwritten). */
export interface FcBackwardOptions<T extends FloatArray = FloatArray> {
  /** Where to write dx (x's length and type). null: do not compute dx (the input is data; see
   * {@link ConvBackwardOptions.dx}); the result's dx is then null. */
  dx?: T | null;
  /** Where to write dw (length D·K). */
  dw?: T;
  /** Where to write db (length D). */
  db?: T;
}

/** The result of {@link fcForward}. */
export interface FcForwardResult<T extends FloatArray = FloatArray> {
  /** y [N, D]. */
  readonly y: Tensor<T>;
  /** For {@link fcBackward}. */
  readonly cache: FcCache<T>;
}

/** The result of {@link fcBackward} with `dx: null`: the parameters' gradients only. */
export interface FcParamGradients<T extends FloatArray = FloatArray> {
  /** Not computed. */
  readonly dx: null;
  /** dL/dw [D, K]. */
  readonly dw: Tensor<T>;
  /** dL/db [D]. */
  readonly db: Tensor<T>;
}

/** The result of {@link fcBackward}. */
export interface FcGradients<T extends FloatArray = FloatArray> {
  /** dL/dx, in x's shape. */
  readonly dx: Tensor<T>;
  /** dL/dw [D, K]. */
  readonly dw: Tensor<T>;
  /** dL/db [D]. */
  readonly db: Tensor<T>;
}

// x [N, ...] as the 4-D input of a convolution: [N, C, H, W] stays, anything else is [N, K, 1, 1].
function asImage(shape: readonly number[], K: number): number[] {
  return shape.length === 4 ? [...shape] : [shape[0], K, 1, 1];
}

/**
 * y = x · wᵀ + b, with x flattened to [N, K] in C order, computed as a convolution whose kernel
 * covers x.
 *
 * @param x Input [N, ...]; K = the product of the non-batch sizes.
 * @param w Weights [D, K].
 * @param b Bias [D].
 * @param opts `out`: a buffer to write y into.
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
  opts: FcForwardOptions<T> = {},
): FcForwardResult<T> {
  const fn = "fcForward";
  checkTensor(fn, "x", x, { min: 2 });
  checkTensor(fn, "w", w, 2);
  checkTensor(fn, "b", b, 1);
  checkSameType(fn, "x", x, "w", w);
  checkSameType(fn, "x", x, "b", b);
  const N = x.shape[0], K = x.data.length / N;
  const [D, Kw] = w.shape;
  if (Kw !== K) {
    throw new RangeError(
      `${fn}: x has ${K} features per sample but w expects ${Kw} (x ${fmtShape(x.shape)}, w ${
        fmtShape(w.shape)
      })`,
    );
  }
  if (b.shape[0] !== D) {
    throw new RangeError(
      `${fn}: b has ${b.shape[0]} entries but w has ${D} rows (b ${fmtShape(b.shape)}, w ${
        fmtShape(w.shape)
      })`,
    );
  }
  // x [N, C, H, W] (or [N, K, 1, 1]), w [D, C, H, W] -> y [N, D, 1, 1]
  const xs = asImage(x.shape, K);
  const w4 = { shape: [D, ...xs.slice(1)], data: w.data };
  const { y, cache } = convForward({ shape: xs, data: x.data }, w4, b, { out: opts.out });
  return {
    y: { shape: [N, D], data: y.data },
    cache: { xShape: [...x.shape], w, conv: cache },
  };
}

/**
 * fcBackward with `dx: null`: the parameters' gradients only, for a layer whose input is the
 * data (see {@link FcBackwardOptions.dx}); dx is not computed and is null in the result.
 *
 * @param dy dL/dy, the shape and type of the forward output.
 * @param cache The cache from the forward pass.
 * @param opts `dx: null`, and optional buffers for dw and db.
 * @returns dx null, dw and db.
 * @throws {RangeError} If dy's shape differs from y's.
 * @throws {TypeError} If dy's type differs from x's or the cache is not from the forward pass.
 *
 * @example The first layer of a network: dw and db only
 * ```ts
 * import { fcBackward, fcForward } from "./fully_connected.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 2], data: new Float64Array([3, 4]) };
 * const w = { shape: [1, 2], data: new Float64Array([1, 1]) };
 * const { cache } = fcForward(x, w, { shape: [1], data: new Float64Array([0]) });
 * const g = fcBackward({ shape: [1, 1], data: new Float64Array([2]) }, cache, { dx: null });
 * assertEquals([g.dx, Array.from(g.dw.data), Array.from(g.db.data)], [null, [6, 8], [2]]);
 * ```
 */
export function fcBackward<T extends FloatArray>(
  dy: Tensor<T>,
  cache: FcCache<T>,
  opts: FcBackwardOptions<T> & { dx: null },
): FcParamGradients<T>;
/**
 * The backward pass of {@link fcForward}: dx = dy · w (in x's shape), dw = dyᵀ · x, db = Σ_n dy,
 * computed by the conv backward pass.
 *
 * @param dy dL/dy [N, D].
 * @param cache The cache from {@link fcForward}.
 * @param opts Optional buffers to write dx, dw, db into.
 * @returns dx (x's shape), dw [D, K], db [D].
 * @throws {RangeError} If dy is not [N, D].
 * @throws {TypeError} If dy's type differs from x's or the cache is not an fc cache.
 *
 * @example
 * ```ts
 * import { fcBackward, fcForward } from "./fully_connected.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 2, 2], data: new Float64Array([1, 2, 3, 4]) }; // an image
 * const w = { shape: [1, 4], data: new Float64Array([0.5, 0, 0, -1]) };
 * const b = { shape: [1], data: new Float64Array([0]) };
 * const { y, cache } = fcForward(x, w, b);
 * assertEquals(Array.from(y.data), [0.5 - 4]);
 * const { dx, dw, db } = fcBackward({ shape: [1, 1], data: new Float64Array([2]) }, cache);
 * assertEquals(dx.shape, [1, 1, 2, 2]);
 * assertEquals(Array.from(dx.data), [1, 0, 0, -2]); // 2·w
 * assertEquals(Array.from(dw.data), [2, 4, 6, 8]); // 2·x
 * assertEquals(Array.from(db.data), [2]);
 * ```
 */
export function fcBackward<T extends FloatArray>(
  dy: Tensor<T>,
  cache: FcCache<T>,
  opts?: FcBackwardOptions<T>,
): FcGradients<T>;
export function fcBackward<T extends FloatArray>(
  dy: Tensor<T>,
  cache: FcCache<T>,
  opts: FcBackwardOptions<T> = {},
): FcGradients<T> | FcParamGradients<T> {
  const fn = "fcBackward";
  if (typeof cache !== "object" || cache === null || cache.conv === undefined) {
    throw new TypeError(`${fn}: cache must be the cache returned by fcForward`);
  }
  checkTensor(fn, "dy", dy);
  const N = cache.xShape[0], D = cache.w.shape[0];
  checkShapeEquals(fn, "dy", dy, [N, D], "y");
  checkSameType(fn, "w", cache.w, "dy", dy);
  // the convolution's gradients, dw [D, K, 1, 1] and dx [N, K, 1, 1], in the fc shapes
  const dy4 = { shape: [N, D, 1, 1], data: dy.data }, dwShape = [...cache.w.shape];
  if (opts.dx === null) {
    const g = convBackward(dy4, cache.conv, { ...opts, dx: null });
    return { dx: null, dw: { shape: dwShape, data: g.dw.data }, db: g.db };
  }
  const g = convBackward(dy4, cache.conv, { ...opts, dx: opts.dx });
  return {
    dx: { shape: [...cache.xShape], data: g.dx.data },
    dw: { shape: dwShape, data: g.dw.data },
    db: g.db,
  };
}

/** Options of {@link FullyConnected}. */
export interface FullyConnectedOptions {
  /** K: features per sample (the product of the input's non-batch sizes). */
  inFeatures: number;
  /** D: outputs per sample. */
  outFeatures: number;
  /** Element type of the parameters; default "float32". */
  dtype?: "float32" | "float64";
  /** Random source for the initial weights; default `mulberry32(0)`. */
  rng?: Rng;
}

/**
 * A fully connected layer holding w [D, K], b [D], their gradients and the forward cache.
 * Weights start He-normal (std √(2/K)), bias zero.
 *
 * Like llm.c's preallocated activations, the tensors `forward` and `backward` return live in
 * buffers the layer owns and reuses from call to call (a fresh large typed array costs page
 * faults on first touch): they stay valid until the layer's next call; copy them to keep them.
 *
 * @example
 * ```ts
 * import { FullyConnected } from "./fully_connected.ts";
 * import { assertEquals } from "@std/assert";
 * const fc = new FullyConnected({ inFeatures: 8, outFeatures: 3 });
 * const y = fc.forward({ shape: [5, 2, 2, 2], data: new Float32Array(40).fill(1) });
 * assertEquals(y.shape, [5, 3]);
 * const dx = fc.backward({ shape: [5, 3], data: new Float32Array(15).fill(1) });
 * assertEquals(dx.shape, [5, 2, 2, 2]);
 * assertEquals(fc.b.grad.data[0], 5); // db = Σ over the batch
 * ```
 */
export class FullyConnected implements Layer {
  /** The layer kind. */
  readonly kind: string = "FullyConnected";
  /** Weights [D, K]. */
  readonly w: Param;
  /** Bias [D]. */
  readonly b: Param;
  #cache: FcCache | undefined;
  #y: FloatArray | undefined;
  #dx: FloatArray | undefined;

  /**
   * Creates the layer; parameters (if any) start freshly initialised.
   *
   * @param opts Sizes, dtype and the random source.
   * @throws {RangeError} If a size is not a positive integer.
   */
  constructor(opts: FullyConnectedOptions) {
    const { inFeatures: K, outFeatures: D } = opts;
    for (const [name, v] of [["inFeatures", K], ["outFeatures", D]] as const) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(`FullyConnected: ${name} must be a positive integer, got ${v}`);
      }
    }
    const w = heNormal(D * K, {
      fanIn: K,
      dtype: opts.dtype ?? "float32",
      rng: opts.rng ?? mulberry32(0),
    });
    this.w = {
      name: "w",
      value: { shape: [D, K], data: w },
      grad: { shape: [D, K], data: zerosLike(w, w.length) },
    };
    this.b = {
      name: "b",
      value: { shape: [D], data: zerosLike(w, D) },
      grad: { shape: [D], data: zerosLike(w, D) },
    };
  }

  /**
   * Runs the forward pass and keeps its cache for `backward`.
   *
   * @param x Input [N, ...] with K features per sample.
   * @returns y [N, D].
   * @throws {RangeError} As {@link fcForward}.
   */
  forward(x: Tensor): Tensor {
    const N = x?.shape?.[0], D = this.w.value.shape[0];
    const out = Number.isInteger(N) && N > 0 && isFloatArray(x.data)
      ? this.#y = reuseBuffer(this.#y, x.data, N * D)
      : undefined;
    const { y, cache } = fcForward(x, this.w.value, this.b.value, { out });
    this.#cache = cache;
    return y;
  }

  /**
   * Runs the backward pass of the last `forward`; parameter gradients are overwritten.
   *
   * @param dy dL/dy [N, D].
   * @returns dL/dx in the input's shape; dL/dw and dL/db go to the params' `grad`.
   * @throws {Error} If called before `forward`; otherwise as {@link fcBackward}.
   */
  backward(dy: Tensor): Tensor {
    if (this.#cache === undefined) throw new Error("FullyConnected.backward: call forward first");
    const like = this.w.value.data;
    const n = this.#cache.xShape.reduce((a, b) => a * b, 1);
    this.#dx = reuseBuffer(this.#dx, like, n);
    const { dx } = fcBackward(dy, this.#cache, {
      dx: this.#dx,
      dw: this.w.grad.data,
      db: this.b.grad.data,
    });
    return dx;
  }

  /**
   * The backward pass for a first layer, whose input is the data: fills the params' `grad` as
   * {@link FullyConnected.backward} does, bit for bit, without computing dL/dx.
   *
   * @param dy dL/dy [N, D].
   * @returns Nothing; dL/dw and dL/db go to the params' `grad`.
   * @throws {Error} If called before `forward`; otherwise as {@link fcBackward}.
   */
  backwardParams(dy: Tensor): void {
    if (this.#cache === undefined) {
      throw new Error("FullyConnected.backwardParams: call forward first");
    }
    fcBackward(dy, this.#cache, { dx: null, dw: this.w.grad.data, db: this.b.grad.data });
  }

  /**
   * The trainable parameters, in a fixed order.
   *
   * @returns [w, b].
   */
  params(): Param[] {
    return [this.w, this.b];
  }
}
