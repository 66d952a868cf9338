/**
 * Max pooling through im2col: each (sample, channel) slice is a one-channel image [1, H, W];
 * its im2col has one column per pooling window, so the output is the per-column max. The
 * backward pass sends each gradient to the one input cell that won its window:
 * dx = addAt(0, route, dy), where route[o] = the flat index in x of output o's winner — the
 * im2col table entry of the winning row, so the routing is the same table used backwards.
 * (The forward pass reads the columns straight through the table, `maxPoolTable`, rather than
 * copying each x_col out first: the same numbers, one pass over x.)
 *
 * @module
 */

import type { FloatArray, Tensor } from "../tensor.ts";
import { im2colTable } from "../kernels/im2col.ts";
import { maxPoolTable } from "../kernels/max_pool.ts";
import { addAt } from "../kernels/add_at.ts";
import {
  checkSameType,
  checkShapeEquals,
  checkTensor,
  fmtShape,
  isFloatArray,
  outputBuffer,
  pairOption,
  reuseBuffer,
  zerosLike,
} from "../_validate.ts";
import type { Layer, Param } from "./layer.ts";

/** Window size and stride of a max pool, one number for both axes or [rows, cols]. */
export interface MaxPoolOptions {
  /** The window [kh, kw]. */
  size: number | [number, number];
  /** The step between windows; default `size` (non-overlapping windows). */
  stride?: number | [number, number];
}

/** Options of {@link maxPoolForward}: the window, and optionally buffers to reuse. */
export interface MaxPoolForwardOptions<T extends FloatArray = FloatArray> extends MaxPoolOptions {
  /** Where to write y (length N·C·Ho·Wo, x's type); default a new array. */
  out?: T;
  /**
   * Where to keep the cache's routes (an Int32Array of y's length); default a new array. null:
   * keep none, for a forward pass that has no backward (inference): y only, computed without
   * finding each window's winner (2×2 float32 windows: about a third faster), and the cache
   * cannot be passed to {@link maxPoolBackward}.
   */
  route?: Int32Array | null;
}

/** Options of {@link maxPoolBackward}. */
export interface MaxPoolBackwardOptions<T extends FloatArray = FloatArray> {
  /** Where to write dx (x's length and type); default a new array. */
  out?: T;
}

/** What {@link maxPoolBackward} needs from the forward pass. Treat it as opaque. */
export interface MaxPoolCache<T extends FloatArray = FloatArray> {
  /** The input shape [N, C, H, W]. */
  readonly xShape: readonly number[];
  /** The output shape [N, C, Ho, Wo], which dy must have. */
  readonly yShape: readonly number[];
  /** For each output element, the flat index in x of its window's maximum; empty when the
   * forward pass was asked to keep none (`route: null`). */
  readonly route: Int32Array;
  /** An empty array of x's type (to check dy's type and make dx). */
  readonly like: T;
}

/** The cache's route when the forward pass kept none (`route: null`). */
const NO_ROUTES = new Int32Array(0);

/** The result of {@link maxPoolForward}. */
export interface MaxPoolForwardResult<T extends FloatArray = FloatArray> {
  /** y [N, C, Ho, Wo]. */
  readonly y: Tensor<T>;
  /** For {@link maxPoolBackward}. */
  readonly cache: MaxPoolCache<T>;
}

/**
 * y[n, c, oh, ow] = max over the window at (oh·sh, ow·sw) of x[n, c]; no padding, output size
 * floor((H − kh) / sh) + 1 as PyTorch. Ties go to the window's first cell in row-major order.
 *
 * @param x Input [N, C, H, W].
 * @param opts `size` and `stride` (default `size`), one number or [rows, cols]; optional `out`
 *   and `route` buffers to reuse (`route: null` for y alone, with no backward).
 * @returns y [N, C, Ho, Wo] of x's type, and the cache for {@link maxPoolBackward}.
 * @throws {RangeError} If x is not 4-D, a size or stride is not a positive integer, or the
 *   window is larger than the input.
 * @throws {TypeError} If x is not a tensor of Float32Array or Float64Array.
 *
 * @example 2×2 windows, stride 2
 * ```ts
 * import { maxPoolForward } from "./max_pool.ts";
 * import { assertEquals } from "@std/assert";
 * const x = {
 *   shape: [1, 1, 4, 4],
 *   data: new Float64Array([1, 2, 0, 0, 3, 4, 0, 9, 5, 0, 1, 1, 0, 6, 1, 2]),
 * };
 * const { y } = maxPoolForward(x, { size: 2 });
 * assertEquals(y.shape, [1, 1, 2, 2]);
 * assertEquals(Array.from(y.data), [4, 9, 6, 2]);
 * // inference: the same y, no routes kept
 * assertEquals(maxPoolForward(x, { size: 2, route: null }).y.data, y.data);
 * ```
 */
export function maxPoolForward<T extends FloatArray>(
  x: Tensor<T>,
  opts: MaxPoolForwardOptions<T>,
): MaxPoolForwardResult<T> {
  const fn = "maxPoolForward";
  checkTensor(fn, "x", x, 4);
  if (typeof opts !== "object" || opts === null) {
    throw new TypeError(`${fn}: opts must be an object with a size, as { size: 2 }`);
  }
  if (opts.size === undefined) throw new TypeError(`${fn}: opts.size is required, as { size: 2 }`);
  const ctx = `(x ${fmtShape(x.shape)})`;
  const [kh, kw] = pairOption(fn, "size", opts.size, 1, [1, 1], ctx);
  const [sh, sw] = pairOption(fn, "stride", opts.stride, 1, [kh, kw], ctx);
  const [N, C, H, W] = x.shape;
  if (kh > H || kw > W) {
    throw new RangeError(
      `${fn}: size [${kh},${kw}] (the window) is larger than the input ${ctx}`,
    );
  }
  // x [N,C,H,W] as N·C one-channel images [1,H,W]; x_col [kh·kw, Ho·Wo] per image
  const table = im2colTable({
    channels: 1,
    height: H,
    width: W,
    kernel: [kh, kw],
    stride: [sh, sw],
  });
  const P = table.cols;
  const y = outputBuffer(fn, "opts.out", opts.out, x.data, N * C * P, { x: x.data });
  const route = opts.route === null ? null : opts.route ?? new Int32Array(N * C * P);
  if (route !== null && (!(route instanceof Int32Array) || route.length !== N * C * P)) {
    throw new RangeError(
      `${fn}: opts.route must be an Int32Array of ${N * C * P} elements, or null ${ctx}`,
    );
  }
  // per image s and window p: y = max of column p of im2col(x_s), route = where in x it was
  maxPoolTable(x.data, table, { max: y, route: route ?? undefined });
  const yShape = [N, C, table.outHeight, table.outWidth];
  return {
    y: { shape: yShape, data: y },
    cache: { xShape: [...x.shape], yShape, route: route ?? NO_ROUTES, like: zerosLike(x.data, 0) },
  };
}

/**
 * The backward pass of {@link maxPoolForward}: each dy goes to its window's winner, and a cell
 * that wins several overlapping windows receives their sum (`addAt`).
 *
 * @param dy dL/dy [N, C, Ho, Wo].
 * @param cache The cache from {@link maxPoolForward}.
 * @param opts `out`: a buffer to write dx into.
 * @returns dL/dx [N, C, H, W].
 * @throws {RangeError} If dy's shape differs from y's.
 * @throws {TypeError} If dy's type differs from x's, the cache is not a max-pool cache, or it has
 *   no routes (its forward pass was given `route: null`).
 *
 * @example Overlapping windows: the centre wins all four, so it collects all four gradients
 * ```ts
 * import { maxPoolBackward, maxPoolForward } from "./max_pool.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 3, 3], data: new Float64Array([0, 0, 0, 0, 9, 0, 0, 0, 0]) };
 * const { y, cache } = maxPoolForward(x, { size: 2, stride: 1 });
 * assertEquals(Array.from(y.data), [9, 9, 9, 9]);
 * const dx = maxPoolBackward({ shape: [1, 1, 2, 2], data: new Float64Array([1, 2, 3, 4]) }, cache);
 * assertEquals(Array.from(dx.data), [0, 0, 0, 0, 10, 0, 0, 0, 0]);
 * ```
 */
export function maxPoolBackward<T extends FloatArray>(
  dy: Tensor<T>,
  cache: MaxPoolCache<T>,
  opts: MaxPoolBackwardOptions<T> = {},
): Tensor<T> {
  const fn = "maxPoolBackward";
  if (typeof cache !== "object" || cache === null || !(cache.route instanceof Int32Array)) {
    throw new TypeError(`${fn}: cache must be the cache returned by maxPoolForward`);
  }
  if (cache.route === NO_ROUTES) {
    throw new TypeError(
      `${fn}: this cache has no routes: its maxPoolForward was called with route: null ` +
        "(a forward pass without backward); call it without that option to train",
    );
  }
  checkTensor(fn, "dy", dy);
  checkShapeEquals(fn, "dy", dy, cache.yShape, "y");
  checkSameType(fn, "x", { shape: cache.xShape, data: cache.like }, "dy", dy);
  const [N, C, H, W] = cache.xShape;
  const dx = outputBuffer(fn, "opts.out", opts.out, cache.like, N * C * H * W, { dy: dy.data });
  dx.fill(0);
  addAt(dx, cache.route, dy.data);
  return { shape: [...cache.xShape], data: dx };
}

// The number of elements of y when x and the options are well-formed, else null.
function poolOutputSize(x: Tensor, opts: MaxPoolOptions): number | null {
  if (x?.shape?.length !== 4 || !isFloatArray(x.data)) return null;
  const [kh, kw] = typeof opts.size === "number" ? [opts.size, opts.size] : opts.size;
  const [sh, sw] = typeof opts.stride === "number"
    ? [opts.stride, opts.stride]
    : opts.stride ?? [kh, kw];
  const Ho = Math.floor((x.shape[2] - kh) / sh) + 1, Wo = Math.floor((x.shape[3] - kw) / sw) + 1;
  const n = x.shape[0] * x.shape[1] * Ho * Wo;
  return Number.isInteger(n) && n > 0 ? n : null;
}

/**
 * A max-pooling layer (no parameters) holding the forward cache.
 *
 * Like llm.c's preallocated activations, the tensors `forward` and `backward` return live in
 * buffers the layer owns and reuses from call to call (a fresh large typed array costs page
 * faults on first touch): they stay valid until the layer's next call; copy them to keep them.
 *
 * @example
 * ```ts
 * import { MaxPool2D } from "./max_pool.ts";
 * import { assertEquals } from "@std/assert";
 * const pool = new MaxPool2D({ size: 2 });
 * const y = pool.forward({ shape: [1, 2, 4, 4], data: new Float32Array(32).map((_, i) => i) });
 * assertEquals(y.shape, [1, 2, 2, 2]);
 * assertEquals(Array.from(y.data), [5, 7, 13, 15, 21, 23, 29, 31]);
 * ```
 */
export class MaxPool2D implements Layer {
  /** The layer kind. */
  readonly kind: string = "MaxPool2D";
  /** Window size and stride. */
  readonly options: MaxPoolOptions;
  /**
   * Training mode (the default): forward keeps each window's winner for the backward pass.
   * Evaluation mode (`Sequential.eval()` sets it false): forward computes y alone (about a third
   * faster for float32 2×2 windows); a backward pass after it still works, finding the winners
   * again from the input.
   */
  training = true;
  #x: Tensor | undefined; // the input of an evaluation-mode forward, for a later backward
  #cache: MaxPoolCache | undefined;
  #y: FloatArray | undefined;
  #route: Int32Array | undefined;
  #dx: FloatArray | undefined;

  /**
   * Creates the layer; parameters (if any) start freshly initialised.
   *
   * @param opts Window `size` and `stride` (default `size`).
   * @throws {RangeError} If a size or stride is not a positive integer.
   */
  constructor(opts: MaxPoolOptions) {
    pairOption("MaxPool2D", "size", opts.size, 1, [1, 1]);
    pairOption("MaxPool2D", "stride", opts.stride, 1, [1, 1]);
    this.options = { size: opts.size, stride: opts.stride };
  }

  /**
   * Runs the forward pass and keeps its cache for `backward`.
   *
   * @param x Input [N, C, H, W].
   * @returns y [N, C, Ho, Wo].
   * @throws {RangeError} As {@link maxPoolForward}.
   */
  forward(x: Tensor): Tensor {
    let out: FloatArray | undefined, route: Int32Array | undefined;
    const n = poolOutputSize(x, this.options);
    if (n !== null) {
      out = this.#y = reuseBuffer(this.#y, x.data, n);
      route = this.#route = this.#route?.length === n ? this.#route : new Int32Array(n);
    }
    const { y, cache } = maxPoolForward(x, {
      ...this.options,
      out,
      route: this.training ? route : null,
    });
    this.#cache = cache;
    this.#x = this.training ? undefined : x;
    return y;
  }

  /**
   * Runs the backward pass of the last `forward`; parameter gradients are overwritten.
   *
   * @param dy dL/dy [N, C, Ho, Wo].
   * @returns dL/dx [N, C, H, W].
   * @throws {Error} If called before `forward`; otherwise as {@link maxPoolBackward}.
   */
  backward(dy: Tensor): Tensor {
    if (this.#cache === undefined) throw new Error("MaxPool2D.backward: call forward first");
    if (this.#x !== undefined) {
      // the forward pass ran in evaluation mode and kept no winners: find them now, into the
      // layer's route buffer (y is recomputed into a new array, leaving the returned one alone)
      this.#cache = maxPoolForward(this.#x, { ...this.options, route: this.#route }).cache;
      this.#x = undefined;
    }
    const like = this.#cache.like, n = this.#cache.xShape.reduce((a, b) => a * b, 1);
    this.#dx = reuseBuffer(this.#dx, like, n);
    return maxPoolBackward(dy, this.#cache, { out: this.#dx });
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
