/**
 * Transposed convolution (PyTorch's `conv_transpose2d`) as what it is: the input gradient of a
 * convolution, used as a layer. The reference form, one line per formula, which
 * docs/conv_transpose.md quotes.
 *
 * Take the convolution that maps y's geometry [D, Ho, Wo] to x's [C, H, W] with the same kernel,
 * stride, padding, dilation and groups, and w [C, D/G, kh, kw] as its C filters. Its backward
 * pass sends a gradient dY [C, P] (P = H·W) back as dX = col2im(w_colᵀ · dY). Put x in dY's
 * place and that is the transposed convolution:
 *
 *     forward, per sample n (and group):  y_n = col2im(w_colᵀ · x_n) + b      [D, Ho·Wo]
 *     backward:  dx  = conv(dy)                   the convolution's forward pass, no bias
 *                dW  = Σ_n x_n · im2col(dy_n)ᵀ    the convolution's dW, x as its dY   [C, K]
 *                db  = Σ_{n,p} dy                                                      [D]
 *
 * where the table is that convolution's im2col table [K, P] (K = (D/G)·kh·kw) and w_col is w read
 * as a [C, K] matrix. So the forward pass is layers/conv.ts's dX line with x for dY, and the
 * backward pass calls its convForwardChecked and convBackwardChecked. Output padding only makes
 * Ho, Wo larger, so the convolution's output floors back to H, W, except for an output padding
 * of at least the stride (PyTorch allows it below the dilation): that convolution then has more
 * output rows, where x reads as zeros (resizePlanes).
 *
 * This is the path `setBackend("reference")` runs; the default, fast one
 * (layers/fast/conv_transpose.ts) composes the fast convolution's kernels.
 *
 * @module
 */

import type { FloatArray, Tensor } from "../tensor.ts";
import { zerosLike } from "../_validate.ts";
import { col2im, im2colTable } from "../kernels/im2col.ts";
import { gemm } from "../kernels/gemm.ts";
import { addBias, addTo, matrix, resizePlanes, rowSums, sample } from "../kernels/matrix.ts";
import { convTableGeometry, convTransposeArgs, convTransposeBackwardArgs } from "./_args.ts";
import { convBackwardChecked, convForwardChecked } from "./conv.ts";
import type {
  BackwardResult,
  BiasGradient,
  ConvTransposeCache,
  ConvTransposeForwardOptions,
  ConvTransposeForwardResult,
  ConvTransposeGeometry,
  Gradients,
  HasBias,
  ParamBackwardOptions,
  ParamGradients,
} from "./types.ts";

/**
 * The forward pass of a 2-D transposed convolution (PyTorch's `conv_transpose2d`): every input
 * cell stamps its kernel, scaled by its value, into y at stride spacing, the stamps add where
 * they overlap, and the padding is cropped from each side:
 * y[n, g·D/G + d, oh, ow] = b + Σ x[n, g·C/G + c, h, v] · w[g·C/G + c, d, i, j] over
 * oh = h·sh − ph + i·dh, ow = v·sw − pw + j·dw; computed as y_n = col2im(w_colᵀ · x_n) + b, the
 * input gradient of the convolution from y's geometry to x's.
 *
 * @param x Input [N, C, H, W].
 * @param w Filters [C, D/groups, kh, kw] (PyTorch's layout: in_channels first).
 * @param b Bias [D], or null for none.
 * @param opts Stride, padding, dilation, outputPadding: one number or [rows, cols]; groups.
 *   Ho = (H − 1)·sh − 2·ph + dh·(kh − 1) + oph + 1 (Wo alike). `training` and `workspace` are
 *   hints for the fast backend, ignored here.
 * @returns y [N, D, Ho, Wo] of x's array type, and the cache for {@link convTransposeBackward}.
 * @throws {RangeError} On wrong ranks, w's rows not x's channels, a bias that is not [D], a
 *   stride/dilation/padding/outputPadding that is not a positive (padding, outputPadding:
 *   non-negative) integer, an outputPadding not below the stride or the dilation, groups that
 *   do not divide C, or a padding that leaves no output.
 * @throws {TypeError} If x, w and b are not all Float32Array or all Float64Array, or an option
 *   is unknown or of the wrong kind.
 *
 * @example Each cell stamps the 2×2 kernel: overlapping at stride 1, side by side at stride 2
 * ```ts
 * import { convTransposeForward } from "./conv_transpose.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 2, 2], data: new Float64Array([1, 2, 3, 4]) };
 * const w = { shape: [1, 1, 2, 2], data: new Float64Array([1, 1, 1, 1]) };
 * const { y } = convTransposeForward(x, w, null);
 * assertEquals(y.shape, [1, 1, 3, 3]);
 * assertEquals(Array.from(y.data), [1, 3, 2, 4, 10, 6, 3, 7, 4]);
 * const b = { shape: [1], data: new Float64Array([0.5]) };
 * assertEquals(Array.from(convTransposeForward(x, w, b, { stride: 2 }).y.data), [
 *   1.5, 1.5, 2.5, 2.5,
 *   1.5, 1.5, 2.5, 2.5,
 *   3.5, 3.5, 4.5, 4.5,
 *   3.5, 3.5, 4.5, 4.5,
 * ]);
 * ```
 */
export function convTransposeForward<T extends FloatArray, B extends Tensor<T> | null>(
  x: Tensor<T>,
  w: Tensor<T>,
  b: B,
  opts: ConvTransposeForwardOptions = {},
): ConvTransposeForwardResult<T, HasBias<B>> {
  const g = convTransposeArgs("convTransposeForward", x, w, b, opts);
  return convTransposeForwardChecked(g, x, w, b) as ConvTransposeForwardResult<T, HasBias<B>>;
}

/**
 * {@link convTransposeForward} on checked arguments: the derivation itself.
 *
 * @param g The sizes, from the argument checks.
 * @param x Input [N, C, H, W].
 * @param w Filters [C, D/G, kh, kw].
 * @param b Bias [D], or null.
 * @returns y [N, D, Ho, Wo] and the cache.
 *
 * @example
 * ```ts
 * import { convTransposeForwardChecked } from "./conv_transpose.ts";
 * import { convTransposeArgs } from "./_args.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 1, 2], data: new Float64Array([1, 2]) };
 * const w = { shape: [1, 1, 1, 2], data: new Float64Array([1, 10]) };
 * const g = convTransposeArgs("convTransposeForward", x, w, null, {});
 * assertEquals(Array.from(convTransposeForwardChecked(g, x, w, null).y.data), [1, 12, 20]);
 * ```
 */
export function convTransposeForwardChecked<T extends FloatArray>(
  g: ConvTransposeGeometry,
  x: Tensor<T>,
  w: Tensor<T>,
  b: Tensor<T> | null,
): ConvTransposeForwardResult<T> {
  // x [N,C,H,W], w [C,D/G,kh,kw], b [D] -> y [N,D,Ho,Wo]
  const { N, C, H, W, D, Ho, Wo, groups: G, conv: c } = g, { K, P } = c, Cg = C / G, Dg = D / G;
  const bias = b !== null;
  b ??= { shape: [D], data: zerosLike(x.data, D) }; // no bias: a bias of zeros
  const table = im2colTable(convTableGeometry(c)); // the convolution y -> x's table [K, P]
  const out = [c.Ho, c.Wo] as const; // the convolution's output size: [H, W] (more, for outputPadding ≥ stride)
  const x_c = resizePlanes(x.data, N * C, [H, W], out); // x [N, C, P]: the convolution's output
  const y = zerosLike(x.data, N * D * Ho * Wo); // y [N, D, Ho·Wo]
  for (let n = 0; n < N; n++) {
    for (let gi = 0; gi < G; gi++) {
      const w_col = matrix(sample(w.data, gi, Cg * K), Cg, K); // w_col [C/G, K]: group gi's rows of w
      const x_n = matrix(sample(x_c, n * G + gi, Cg * P), Cg, P); // x_n [C/G, P]: where the convolution has dY
      const b_g = sample(b.data, gi, Dg); // b_g [D/G]: group gi's outputs' biases
      const y_n = addBias(col2im(gemm(w_col, x_n, { transA: true }), table), b_g); // y_n = col2im(w_colᵀ · x_n) + b   [D/G, Ho·Wo]
      y.set(y_n, (n * G + gi) * Dg * Ho * Wo);
    }
  }
  const cache = { kind: "convTranspose" as const, x, w, bias, geometry: g };
  return { y: { shape: [N, D, Ho, Wo], data: y }, cache };
}

/**
 * The backward pass of {@link convTransposeForward}, which is a convolution: dx = conv(dy) with
 * w as its filters (the same stride, padding, dilation and groups, no bias),
 * dW = Σ_n x_n · im2col(dy_n)ᵀ (the convolution's dW with x in the place of its dY),
 * db = Σ dy over N, Ho, Wo. With `inputGradient: false` dx is not computed and the result's dx
 * is null; without a bias db is null.
 *
 * @param dy dL/dy [N, D, Ho, Wo], the shape and type of the forward output.
 * @param cache The cache from {@link convTransposeForward}.
 * @param opts `inputGradient: false` to skip dx; `workspace`, a hint for the fast backend.
 * @returns dx, dw, db with the shapes of x, w, b (dx null with `inputGradient: false`, db null
 *   when the forward pass had no bias).
 * @throws {RangeError} If dy's shape differs from y's.
 * @throws {TypeError} If dy's type differs from x's, the cache is not a transposed
 *   convolution's, or an option is unknown or of the wrong kind.
 *
 * @example The gradient of the sum of outputs
 * ```ts
 * import { convTransposeBackward, convTransposeForward } from "./conv_transpose.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 2, 2], data: new Float64Array([1, 2, 3, 4]) };
 * const w = { shape: [1, 1, 2, 2], data: new Float64Array([1, 1, 1, 1]) };
 * const { y, cache } = convTransposeForward(x, w, { shape: [1], data: new Float64Array([0]) });
 * const dy = { shape: y.shape, data: new Float64Array(9).fill(1) };
 * const { dx, dw, db } = convTransposeBackward(dy, cache);
 * assertEquals(Array.from(dx.data), [4, 4, 4, 4]); // each cell's stamp covers 4 outputs
 * assertEquals(Array.from(dw.data), [10, 10, 10, 10]); // each tap carries every cell once
 * assertEquals(Array.from(db.data), [9]);
 * assertEquals(convTransposeBackward(dy, cache, { inputGradient: false }).dx, null);
 * ```
 */
export function convTransposeBackward<
  T extends FloatArray,
  O extends ParamBackwardOptions = object,
  B extends boolean = boolean,
>(
  dy: Tensor<T>,
  cache: ConvTransposeCache<T, B>,
  opts?: O,
): BackwardResult<T, O, BiasGradient<T, B>> {
  const g = convTransposeBackwardArgs("convTransposeBackward", dy, cache, opts);
  return convTransposeBackwardChecked(
    g,
    dy,
    cache,
    opts?.inputGradient !== false,
  ) as BackwardResult<T, O, BiasGradient<T, B>>;
}

/**
 * {@link convTransposeBackward} on checked arguments: the derivation itself.
 *
 * @param g The forward pass's sizes.
 * @param dy dL/dy [N, D, Ho, Wo].
 * @param cache The forward pass's cache.
 * @param inputGradient Whether to compute dx.
 * @returns dx (or null), dw, db (or null).
 *
 * @example
 * ```ts
 * import { convTransposeBackwardChecked, convTransposeForward } from "./conv_transpose.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 1, 2], data: new Float64Array([1, 2]) };
 * const w = { shape: [1, 1, 1, 2], data: new Float64Array([1, 10]) };
 * const { cache } = convTransposeForward(x, w, null);
 * const dy = { shape: [1, 1, 1, 3], data: new Float64Array([1, 0, 0]) };
 * const r = convTransposeBackwardChecked(cache.geometry, dy, cache, true);
 * assertEquals([Array.from(r.dx!.data), Array.from(r.dw.data), r.db], [[1, 0], [1, 0], null]);
 * ```
 */
export function convTransposeBackwardChecked<T extends FloatArray>(
  g: ConvTransposeGeometry,
  dy: Tensor<T>,
  cache: ConvTransposeCache<T>,
  inputGradient: boolean,
): Gradients<T, Tensor<T> | null> | ParamGradients<T, Tensor<T> | null> {
  // dy [N,D,Ho,Wo] -> dx [N,C,H,W], dw [C,D/G,kh,kw], db [D]
  const { N, C, H, W, D, Ho, Wo, conv: c } = g, { x, w } = cache;
  const out = [c.Ho, c.Wo] as const; // the convolution's output size, as in the forward pass
  const x_c = { shape: [N, C, ...out], data: resizePlanes(x.data, N * C, [H, W], out) }; // x [N, C, P]
  const conv = { kind: "conv" as const, x: dy, w, bias: false, geometry: c }; // the convolution y -> x, run on dy
  const dW = convBackwardChecked(c, x_c, conv, false).dw.data; // dW = Σ_n x_n · im2col(dy_n)ᵀ   [C, K]
  const db = zerosLike(x.data, D); // sums over the samples
  for (let n = 0; n < N; n++) {
    addTo(db, rowSums(matrix(sample(dy.data, n, D * Ho * Wo), D, Ho * Wo))); // db += Σ_p dy_n   [D]
  }
  const dX = inputGradient ? convForwardChecked(c, dy, w, null).y.data : null; // dx = conv(dy)   [N, C, P]
  const grads = {
    dw: { shape: [...w.shape], data: dW },
    db: cache.bias ? { shape: [D], data: db } : null, // no bias: no db
  };
  if (dX === null) return { dx: null, ...grads };
  return { dx: { shape: [...x.shape], data: resizePlanes(dX, N * C, out, [H, W]) }, ...grads };
}
