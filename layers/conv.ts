/**
 * Convolution as im2col + GEMM, forward and backward side by side: the reference form, one line
 * per formula, which docs/im2col.md and docs/conv_backward.md quote.
 *
 *     forward, per sample n:   x_col = im2col(x_n)            [K, P]   K = C·kh·kw, P = Ho·Wo
 *                              y_n   = w_col · x_col + b       [D, P]
 *     backward, per sample n:  dW   += dY_n · x_colᵀ           [D, K]
 *                              db   += Σ_p dY_n                [D]
 *                              dX_n  = col2im(w_colᵀ · dY_n)   [C, H, W]
 *
 * where w_col is w [D,C,kh,kw] read as a [D, K] matrix (the same memory, one filter per row).
 * Dilation changes only the table (kernels/im2col.ts); a convolution without a bias (b = null)
 * adds zeros and returns no db; one of G groups is G of these convolutions side by side, each on
 * its C/G channels with its D/G filters (docs/groups_dilation.md).
 * This is the path `setBackend("reference")` runs; the default, fast one (layers/fast/conv.ts)
 * computes the same formulas with packed, blocked and SIMD kernels.
 *
 * @module
 */

import type { FloatArray, Tensor } from "../tensor.ts";
import { zerosLike } from "../_validate.ts";
import { col2im, im2col, im2colTable } from "../kernels/im2col.ts";
import { gemm } from "../kernels/gemm.ts";
import {
  addBias,
  addTo,
  channels,
  matrix,
  putChannels,
  rowSums,
  sample,
} from "../kernels/matrix.ts";
import { convArgs, convBackwardArgs, convTableGeometry } from "./_args.ts";
import type {
  BackwardResult,
  BiasGradient,
  ConvCache,
  ConvForwardOptions,
  ConvForwardResult,
  ConvGeometry,
  Gradients,
  HasBias,
  ParamBackwardOptions,
  ParamGradients,
} from "./types.ts";

/**
 * The forward pass of a 2-D convolution (cross-correlation, as PyTorch's `conv2d`):
 * y[n, d, oh, ow] = b[d] + Σ_{c,i,j} w[d, c, i, j] · x[n, g·C/G + c, oh·sh − ph + i·dh,
 * ow·sw − pw + j·dw] with g = floor(d / (D/G)) the filter's group, computed as
 * y_n = w_col · im2col(x_n) + b per group.
 *
 * @param x Input [N, C, H, W].
 * @param w Filters [D, C/groups, kh, kw].
 * @param b Bias [D], or null for none.
 * @param opts Stride, padding (or "same"), dilation: one number or [rows, cols]; groups; output
 *   size floored as PyTorch. `training` and `workspace` are hints for the fast backend, ignored
 *   here.
 * @returns y [N, D, Ho, Wo] of x's array type, and the cache for {@link convBackward}.
 * @throws {RangeError} On wrong ranks, channel or bias mismatch, a (dilated) kernel larger than
 *   the padded input, a stride/dilation/padding that is not a positive (padding: non-negative)
 *   integer, groups that do not divide C and D, or "same" where it would be asymmetric.
 * @throws {TypeError} If x, w and b are not all Float32Array or all Float64Array.
 *
 * @example A 2×2 box filter over a 3×3 image
 * ```ts
 * import { convForward } from "./conv.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 3, 3], data: new Float64Array([1, 2, 3, 4, 5, 6, 7, 8, 9]) };
 * const w = { shape: [1, 1, 2, 2], data: new Float64Array([1, 1, 1, 1]) };
 * const b = { shape: [1], data: new Float64Array([0]) };
 * const { y } = convForward(x, w, b);
 * assertEquals(y.shape, [1, 1, 2, 2]);
 * assertEquals(Array.from(y.data), [12, 16, 24, 28]); // 1+2+4+5, 2+3+5+6, ...
 * // no bias, and two groups: each filter sees its own channel
 * const x2 = { shape: [1, 2, 1, 1], data: new Float64Array([3, 5]) };
 * const w2 = { shape: [2, 1, 1, 1], data: new Float64Array([10, 100]) };
 * assertEquals(Array.from(convForward(x2, w2, null, { groups: 2 }).y.data), [30, 500]);
 * ```
 */
export function convForward<T extends FloatArray, B extends Tensor<T> | null>(
  x: Tensor<T>,
  w: Tensor<T>,
  b: B,
  opts: ConvForwardOptions = {},
): ConvForwardResult<T, HasBias<B>> {
  const g = convArgs("convForward", x, w, b, opts);
  return convForwardChecked(g, x, w, b) as ConvForwardResult<T, HasBias<B>>;
}

/**
 * {@link convForward} on checked arguments: the derivation itself.
 *
 * @param g The sizes, from the argument checks.
 * @param x Input [N, C, H, W].
 * @param w Filters [D, C/G, kh, kw].
 * @param b Bias [D], or null.
 * @returns y [N, D, Ho, Wo] and the cache.
 *
 * @example
 * ```ts
 * import { convForwardChecked } from "./conv.ts";
 * import { convArgs } from "./_args.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 2, 2], data: new Float64Array([1, 2, 3, 4]) };
 * const w = { shape: [1, 1, 1, 1], data: new Float64Array([2]) }, b = { shape: [1], data: new Float64Array([1]) };
 * const g = convArgs("convForward", x, w, b, {});
 * assertEquals(Array.from(convForwardChecked(g, x, w, b).y.data), [3, 5, 7, 9]);
 * ```
 */
export function convForwardChecked<T extends FloatArray>(
  g: ConvGeometry,
  x: Tensor<T>,
  w: Tensor<T>,
  b: Tensor<T> | null,
): ConvForwardResult<T> {
  if (g.groups > 1) return groupedForward(g, x, w, b); // G convolutions side by side
  // x [N,C,H,W], w [D,C,kh,kw], b [D] -> y [N,D,Ho,Wo]
  const { N, C, H, W, D, K, P } = g, bias = b !== null;
  b ??= { shape: [D], data: zerosLike(x.data, D) }; // no bias: a bias of zeros
  const table = im2colTable(convTableGeometry(g)); // the fancy-index table of one sample [K, P]
  const w_col = matrix(w.data, D, K); // w_col [D, K]: w as stored, one filter per row
  const y = zerosLike(x.data, N * D * P); // y [N, D, P]
  for (let n = 0; n < N; n++) {
    const x_col = matrix(im2col(sample(x.data, n, C * H * W), table), K, P); // x_col [K, P]
    const y_n = addBias(gemm(w_col, x_col), b.data); // y_n = w_col · x_col + b   [D, P]
    y.set(y_n, n * D * P);
  }
  const cache = { kind: "conv" as const, x, w, bias, geometry: g };
  return { y: { shape: [N, D, g.Ho, g.Wo], data: y }, cache };
}

/** One group of a grouped convolution: its C/G channels, its D/G filters and bias entries. */
function group<T extends FloatArray>(
  g: ConvGeometry,
  gi: number,
  x: Tensor<T>,
  w: Tensor<T>,
): { one: ConvGeometry; x_g: Tensor<T>; w_g: Tensor<T> } {
  const { N, C, H, W, D, K, groups: G } = g, Cg = C / G, Dg = D / G;
  const one = { ...g, C: Cg, D: Dg, groups: 1 }; // the geometry of one group
  // x_g [N, C/G, H, W]: channels [gi·C/G, (gi+1)·C/G) of every sample, copied
  const x_g = { shape: [N, Cg, H, W], data: channels(x.data, N, C, H * W, gi * Cg, Cg) };
  // w_g [D/G, C/G, kh, kw]: filters [gi·D/G, (gi+1)·D/G), which already see C/G channels
  const w_g = { shape: [Dg, Cg, g.kh, g.kw], data: sample(w.data, gi, Dg * K) };
  return { one, x_g, w_g };
}

/**
 * The forward pass of a grouped convolution (docs/groups_dilation.md): G independent
 * convolutions, group gi's filters reading group gi's channels only, their outputs side by side.
 * Seen as one product, w_col is block-diagonal: its off-diagonal blocks are the zeros that never
 * get multiplied. groups = C is a depthwise convolution.
 */
function groupedForward<T extends FloatArray>(
  g: ConvGeometry,
  x: Tensor<T>,
  w: Tensor<T>,
  b: Tensor<T> | null,
): ConvForwardResult<T> {
  // x [N,C,H,W], w [D,C/G,kh,kw], b [D] -> y [N,D,Ho,Wo]
  const { N, D, P, groups: G } = g, Dg = D / G;
  const y = zerosLike(x.data, N * D * P);
  for (let gi = 0; gi < G; gi++) {
    const { one, x_g, w_g } = group(g, gi, x, w);
    const b_g = b === null ? null : { shape: [Dg], data: sample(b.data, gi, Dg) };
    const y_g = convForwardChecked(one, x_g, w_g, b_g).y; // y_g [N, D/G, Ho, Wo]
    putChannels(y, y_g.data, N, D, P, gi * Dg, Dg); // channels [gi·D/G, (gi+1)·D/G) of y
  }
  const cache = { kind: "conv" as const, x, w, bias: b !== null, geometry: g };
  return { y: { shape: [N, D, g.Ho, g.Wo], data: y }, cache };
}

/**
 * The backward pass of {@link convForward}: dW = Σ_n dY_n · x_col_nᵀ, db = Σ dY,
 * dX_n = col2im(w_colᵀ · dY_n), per group. With `inputGradient: false` dX is not computed (the
 * input is data) and the result's dx is null; without a bias db is null.
 *
 * @param dy dL/dy [N, D, Ho, Wo], the shape and type of the forward output.
 * @param cache The cache from {@link convForward}.
 * @param opts `inputGradient: false` to skip dx; `workspace`, a hint for the fast backend.
 * @returns dx, dw, db with the shapes of x, w, b (dx null with `inputGradient: false`, db null
 *   when the forward pass had no bias).
 * @throws {RangeError} If dy's shape differs from y's.
 * @throws {TypeError} If dy's type differs from x's or the cache is not a conv cache.
 *
 * @example The gradient of the sum of outputs
 * ```ts
 * import { convBackward, convForward } from "./conv.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 3, 3], data: new Float64Array([1, 2, 3, 4, 5, 6, 7, 8, 9]) };
 * const w = { shape: [1, 1, 2, 2], data: new Float64Array([1, 1, 1, 1]) };
 * const { cache } = convForward(x, w, { shape: [1], data: new Float64Array([0]) });
 * const dy = { shape: [1, 1, 2, 2], data: new Float64Array(4).fill(1) };
 * const { dx, dw, db } = convBackward(dy, cache);
 * assertEquals(Array.from(dx.data), [1, 2, 1, 2, 4, 2, 1, 2, 1]); // windows covering each cell
 * assertEquals(Array.from(dw.data), [12, 16, 24, 28]); // each tap sums the cells it reads
 * assertEquals(Array.from(db.data), [4]);
 * assertEquals(convBackward(dy, cache, { inputGradient: false }).dx, null); // the input is data
 * assertEquals(convBackward(dy, convForward(x, w, null).cache).db, null); // no bias, no db
 * ```
 */
export function convBackward<
  T extends FloatArray,
  O extends ParamBackwardOptions = object,
  B extends boolean = boolean,
>(
  dy: Tensor<T>,
  cache: ConvCache<T, B>,
  opts?: O,
): BackwardResult<T, O, BiasGradient<T, B>> {
  const g = convBackwardArgs("convBackward", dy, cache, opts);
  return convBackwardChecked(g, dy, cache, opts?.inputGradient !== false) as BackwardResult<
    T,
    O,
    BiasGradient<T, B>
  >;
}

/**
 * {@link convBackward} on checked arguments: the derivation itself.
 *
 * @param g The forward pass's sizes.
 * @param dy dL/dy [N, D, Ho, Wo].
 * @param cache The forward pass's cache.
 * @param inputGradient Whether to compute dx.
 * @returns dx (or null), dw, db (or null).
 *
 * @example
 * ```ts
 * import { convBackwardChecked, convForward } from "./conv.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 2, 2], data: new Float64Array([1, 2, 3, 4]) };
 * const w = { shape: [1, 1, 1, 1], data: new Float64Array([2]) }, b = { shape: [1], data: new Float64Array([0]) };
 * const { cache } = convForward(x, w, b);
 * const g = convBackwardChecked(cache.geometry, { shape: [1, 1, 2, 2], data: new Float64Array(4).fill(1) }, cache, false);
 * assertEquals([g.dx, Array.from(g.dw.data), Array.from(g.db!.data)], [null, [10], [4]]);
 * ```
 */
export function convBackwardChecked<T extends FloatArray>(
  g: ConvGeometry,
  dy: Tensor<T>,
  cache: ConvCache<T>,
  inputGradient: boolean,
): Gradients<T, Tensor<T> | null> | ParamGradients<T, Tensor<T> | null> {
  if (g.groups > 1) return groupedBackward(g, dy, cache, inputGradient);
  // dy [N,D,Ho,Wo] -> dx [N,C,H,W], dw [D,C,kh,kw], db [D]
  const { N, C, H, W, D, K, P } = g, { x, w } = cache;
  const table = im2colTable(convTableGeometry(g)); // the same table as the forward pass
  const w_col = matrix(w.data, D, K); // w_col [D, K]
  const dW = zerosLike(x.data, D * K), db = zerosLike(x.data, D); // both sum over the samples
  const dX = inputGradient ? zerosLike(x.data, N * C * H * W) : null;
  for (let n = 0; n < N; n++) {
    const x_col = matrix(im2col(sample(x.data, n, C * H * W), table), K, P); // x_col [K, P] again
    const dY = matrix(sample(dy.data, n, D * P), D, P); // dY [D, P]: sample n's dL/dy
    addTo(dW, gemm(dY, x_col, { transB: true })); // dW += dY · x_colᵀ   [D, K]
    addTo(db, rowSums(dY)); // db += Σ_p dY   [D]
    if (dX !== null) dX.set(col2im(gemm(w_col, dY, { transA: true }), table), n * C * H * W); // dX_n = col2im(w_colᵀ · dY)
  }
  const grads = {
    dw: { shape: [...w.shape], data: dW },
    db: cache.bias ? { shape: [D], data: db } : null, // no bias: no db
  };
  return dX === null ? { dx: null, ...grads } : { dx: { shape: [...x.shape], data: dX }, ...grads };
}

/** The backward pass of {@link groupedForward}: each group's own, the results side by side. */
function groupedBackward<T extends FloatArray>(
  g: ConvGeometry,
  dy: Tensor<T>,
  cache: ConvCache<T>,
  inputGradient: boolean,
): Gradients<T, Tensor<T> | null> | ParamGradients<T, Tensor<T> | null> {
  // dy [N,D,Ho,Wo] -> dx [N,C,H,W], dw [D,C/G,kh,kw], db [D]
  const { N, C, H, W, D, K, P, groups: G } = g, Cg = C / G, Dg = D / G, { x, w } = cache;
  const dW = zerosLike(x.data, D * K), db = zerosLike(x.data, D);
  const dX = inputGradient ? zerosLike(x.data, N * C * H * W) : null;
  for (let gi = 0; gi < G; gi++) {
    const { one, x_g, w_g } = group(g, gi, x, w);
    const dy_g = { shape: [N, Dg, g.Ho, g.Wo], data: channels(dy.data, N, D, P, gi * Dg, Dg) };
    const cache_g = { kind: "conv" as const, x: x_g, w: w_g, bias: true, geometry: one };
    const r = convBackwardChecked(one, dy_g, cache_g, inputGradient);
    dW.set(r.dw.data, gi * Dg * K); // dw's filters [gi·D/G, (gi+1)·D/G)
    db.set(r.db!.data, gi * Dg);
    if (dX !== null) putChannels(dX, r.dx!.data, N, C, H * W, gi * Cg, Cg);
  }
  const grads = {
    dw: { shape: [...w.shape], data: dW },
    db: cache.bias ? { shape: [D], data: db } : null,
  };
  return dX === null ? { dx: null, ...grads } : { dx: { shape: [...x.shape], data: dX }, ...grads };
}
