/**
 * The backend switch, and the public layer functions it routes. Each public function runs either
 * the reference path (layers/*.ts, kernels/*.ts: plain loops, one line per formula, the code
 * docs/ quotes) or the fast path (layers/fast/, kernels/fast/: packing, blocking, WebAssembly
 * SIMD), with the same signature, the same checks and the same results up to the float32
 * rounding the tests bound. `setBackend` is the only switch; within the fast path,
 * kernels/fast/dispatch.ts alone decides which kernel runs for a shape.
 *
 * @module
 */

import type { FloatArray, Tensor } from "./tensor.ts";
import type { GemmOptions, Matrix } from "./kernels/gemm.ts";
import type {
  AvgPoolCache,
  AvgPoolForwardOptions,
  AvgPoolForwardResult,
  BackwardOptions,
  BackwardResult,
  BatchNormBackwardResult,
  BatchNormCache,
  BatchNormForwardOptions,
  BatchNormForwardResult,
  BiasGradient,
  ConvCache,
  ConvForwardOptions,
  ConvForwardResult,
  ConvTransposeCache,
  ConvTransposeForwardOptions,
  ConvTransposeForwardResult,
  FcCache,
  FcForwardResult,
  ForwardOptions,
  HasBias,
  MaxPoolCache,
  MaxPoolForwardOptions,
  MaxPoolForwardResult,
  ParamBackwardOptions,
  ReluCache,
  ReluForwardResult,
} from "./layers/types.ts";
import * as refGemm from "./kernels/gemm.ts";
import * as refConv from "./layers/conv.ts";
import * as refFc from "./layers/fully_connected.ts";
import * as refPool from "./layers/max_pool.ts";
import * as refRelu from "./layers/relu.ts";
import * as refConvT from "./layers/conv_transpose.ts";
import * as refAvgPool from "./layers/avg_pool.ts";
import * as refBatchNorm from "./layers/batch_norm.ts";
import * as fastGemm from "./kernels/fast/gemm.ts";
import * as fastConv from "./layers/fast/conv.ts";
import * as fastFc from "./layers/fast/fully_connected.ts";
import * as fastPool from "./layers/fast/max_pool.ts";
import * as fastRelu from "./layers/fast/relu.ts";
import * as fastConvT from "./layers/fast/conv_transpose.ts";
import * as fastAvgPool from "./layers/fast/avg_pool.ts";
import * as fastBatchNorm from "./layers/fast/batch_norm.ts";

/** The two backends: the readable reference path, and the tuned fast path (the default). */
export type BackendName = "reference" | "fast";

/** The functions a backend provides: the reference's signatures, which the fast path must have
 * (the compiler checks each entry of FAST against them). */
interface Backend {
  gemm: typeof refGemm.gemm;
  convForward: typeof refConv.convForward;
  convBackward: typeof refConv.convBackward;
  fcForward: typeof refFc.fcForward;
  fcBackward: typeof refFc.fcBackward;
  maxPoolForward: typeof refPool.maxPoolForward;
  maxPoolBackward: typeof refPool.maxPoolBackward;
  reluForward: typeof refRelu.reluForward;
  reluBackward: typeof refRelu.reluBackward;
  convTransposeForward: typeof refConvT.convTransposeForward;
  convTransposeBackward: typeof refConvT.convTransposeBackward;
  avgPoolForward: typeof refAvgPool.avgPoolForward;
  avgPoolBackward: typeof refAvgPool.avgPoolBackward;
  batchNormForward: typeof refBatchNorm.batchNormForward;
  batchNormBackward: typeof refBatchNorm.batchNormBackward;
}

const REFERENCE: Backend = {
  gemm: refGemm.gemm,
  convForward: refConv.convForward,
  convBackward: refConv.convBackward,
  fcForward: refFc.fcForward,
  fcBackward: refFc.fcBackward,
  maxPoolForward: refPool.maxPoolForward,
  maxPoolBackward: refPool.maxPoolBackward,
  reluForward: refRelu.reluForward,
  reluBackward: refRelu.reluBackward,
  convTransposeForward: refConvT.convTransposeForward,
  convTransposeBackward: refConvT.convTransposeBackward,
  avgPoolForward: refAvgPool.avgPoolForward,
  avgPoolBackward: refAvgPool.avgPoolBackward,
  batchNormForward: refBatchNorm.batchNormForward,
  batchNormBackward: refBatchNorm.batchNormBackward,
};

const FAST: Backend = {
  gemm: fastGemm.gemm,
  convForward: fastConv.convForward,
  convBackward: fastConv.convBackward,
  fcForward: fastFc.fcForward,
  fcBackward: fastFc.fcBackward,
  maxPoolForward: fastPool.maxPoolForward,
  maxPoolBackward: fastPool.maxPoolBackward,
  reluForward: fastRelu.reluForward,
  reluBackward: fastRelu.reluBackward,
  convTransposeForward: fastConvT.convTransposeForward,
  convTransposeBackward: fastConvT.convTransposeBackward,
  avgPoolForward: fastAvgPool.avgPoolForward,
  avgPoolBackward: fastAvgPool.avgPoolBackward,
  batchNormForward: fastBatchNorm.batchNormForward,
  batchNormBackward: fastBatchNorm.batchNormBackward,
};

const BACKENDS: Readonly<Record<BackendName, Backend>> = { reference: REFERENCE, fast: FAST };

// The one global choice (docs/architecture.md lists every piece of global state).
let current: BackendName = "fast";

/**
 * Chooses the backend every public layer function runs from now on: "fast" (the default: packed,
 * blocked and WebAssembly SIMD kernels) or "reference" (the plain loops docs/ quotes). Both give
 * PyTorch's numbers within the tested tolerances; switching never changes a signature or a
 * result's shape, and a cache from one backend's forward pass works with the other's backward.
 *
 * @param name "reference" or "fast".
 * @returns Nothing.
 * @throws {RangeError} If `name` is neither.
 *
 * @example The same convolution on both backends
 * ```ts
 * import { convForward, getBackend, setBackend } from "./backend.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 3, 3], data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]) };
 * const w = { shape: [1, 1, 2, 2], data: new Float32Array([1, 1, 1, 1]) };
 * const b = { shape: [1], data: new Float32Array([0]) };
 * const before = getBackend();
 * setBackend("fast");
 * const fast = convForward(x, w, b).y.data;
 * setBackend("reference");
 * assertEquals(getBackend(), "reference");
 * assertEquals(convForward(x, w, b).y.data, fast);
 * setBackend(before);
 * ```
 */
export function setBackend(name: BackendName): void {
  if (name !== "reference" && name !== "fast") {
    throw new RangeError(
      `setBackend: name must be "reference" or "fast", got ${JSON.stringify(name)}`,
    );
  }
  current = name;
}

/**
 * The backend the public layer functions run now.
 *
 * @returns "fast" (the default) or "reference".
 *
 * @example
 * ```ts
 * import { getBackend } from "./backend.ts";
 * console.assert(["fast", "reference"].includes(getBackend()));
 * ```
 */
export function getBackend(): BackendName {
  return current;
}

/**
 * General matrix multiply, C = alpha·op(A)·op(B) + beta·C, on flat row-major arrays, where op(X)
 * is X or Xᵀ (a transpose is never copied). BLAS semantics: with beta = 0 the old C is never read;
 * with alpha = 0 (or k = 0) A and B are not read and C = beta·C; otherwise NaN and Inf in A or B
 * reach C. The reference backend is the triple loop of kernels/gemm.ts (float64 sums); the fast
 * one blocks, packs, and runs float32 on WebAssembly SIMD (float32 sums, within k·ε of it).
 *
 * @param a A, stored [m, k] (or [k, m] with `transA`).
 * @param b B, stored [k, n] (or [n, k] with `transB`).
 * @param opts `transA`, `transB`, `alpha` (default 1), `beta` (default 0), `out`: where to write C.
 * @returns C [m, n], row-major: `opts.out` when given, otherwise a new array of A's type.
 * @throws {RangeError} If the inner dimensions differ, a data length does not match its
 *   rows·cols, rows or cols is not a non-negative integer, or `out` has the wrong length or
 *   shares memory with A or B.
 * @throws {TypeError} If A, B and `out` are not all the same float array type, or alpha or beta
 *   is not a number.
 *
 * @example A 2×3 times a 3×2, and Aᵀ·A without copying
 * ```ts
 * import { gemm } from "./backend.ts";
 * import { assertEquals } from "@std/assert";
 * const a = { data: new Float64Array([1, 2, 3, 4, 5, 6]), rows: 2, cols: 3 };
 * const b = { data: new Float64Array([7, 8, 9, 10, 11, 12]), rows: 3, cols: 2 };
 * assertEquals(gemm(a, b), new Float64Array([58, 64, 139, 154]));
 * assertEquals(gemm(a, a, { transA: true })[0], 1 * 1 + 4 * 4);
 * ```
 */
export function gemm<T extends FloatArray>(
  a: Matrix<T>,
  b: Matrix<T>,
  opts: GemmOptions<T> = {},
): T {
  return BACKENDS[current].gemm(a, b, opts);
}

/**
 * The forward pass of a 2-D convolution (cross-correlation, as PyTorch's `conv2d`):
 * y[n, d, oh, ow] = b[d] + Σ_{c,i,j} w[d, c, i, j] · x[n, g·C/G + c, oh·sh − ph + i·dh,
 * ow·sw − pw + j·dw], g the filter's group, computed as y_n = w_col · im2col(x_n) + b
 * (layers/conv.ts; docs/groups_dilation.md for dilation, groups, "same" and no bias).
 *
 * @param x Input [N, C, H, W].
 * @param w Filters [D, C/groups, kh, kw].
 * @param b Bias [D], or null for none (then convBackward's db is null).
 * @param opts `stride`, `padding` (or "same": stride 1 and an odd dilated kernel only),
 *   `dilation` (one number or [rows, cols]; output size floored as PyTorch), `groups` (dividing
 *   C and D; C is depthwise); `training: false` when no backward pass follows; `workspace` to
 *   reuse arrays between calls.
 * @returns y [N, D, Ho, Wo] of x's array type, and the cache for {@link convBackward}.
 * @throws {RangeError} On wrong ranks, channel or bias mismatch, a (dilated) kernel larger than
 *   the padded input, a stride/dilation/padding that is not a positive (padding: non-negative)
 *   integer, groups that do not divide C and D, or "same" where it would pad unevenly.
 * @throws {TypeError} If x, w and b are not all Float32Array or all Float64Array, or an option
 *   has the wrong type.
 *
 * @example A 2×2 box filter over a 3×3 image, and stride 2 with padding 1
 * ```ts
 * import { convForward } from "./backend.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 3, 3], data: new Float64Array([1, 2, 3, 4, 5, 6, 7, 8, 9]) };
 * const w = { shape: [1, 1, 2, 2], data: new Float64Array([1, 1, 1, 1]) };
 * const b = { shape: [1], data: new Float64Array([0]) };
 * const { y } = convForward(x, w, b);
 * assertEquals(y.shape, [1, 1, 2, 2]);
 * assertEquals(Array.from(y.data), [12, 16, 24, 28]); // 1+2+4+5, 2+3+5+6, ...
 * // windows at (-1,-1), (-1,1), (1,-1), (1,1) read zeros at the border
 * assertEquals(Array.from(convForward(x, w, b, { stride: 2, padding: 1 }).y.data), [1, 5, 11, 28]);
 * ```
 */
export function convForward<T extends FloatArray, B extends Tensor<T> | null>(
  x: Tensor<T>,
  w: Tensor<T>,
  b: B,
  opts: ConvForwardOptions = {},
): ConvForwardResult<T, HasBias<B>> {
  return BACKENDS[current].convForward(x, w, b, opts);
}

/**
 * The backward pass of {@link convForward}: dW = Σ_n dY_n · x_col_nᵀ, db = Σ dY,
 * dX_n = col2im(w_colᵀ · dY_n).
 *
 * @param dy dL/dy [N, D, Ho, Wo], the shape and type of the forward output.
 * @param cache The cache from {@link convForward}.
 * @param opts `inputGradient: false` to skip dx (the input is data; dw and db are the same bit
 *   for bit); `workspace` to reuse arrays between calls.
 * @returns dx, dw, db with the shapes of x, w, b (dx null with `inputGradient: false`, db null
 *   when the forward pass had no bias).
 * @throws {RangeError} If dy's shape differs from y's.
 * @throws {TypeError} If dy's type differs from x's, the cache is not a conv cache, or an option
 *   has the wrong type.
 *
 * @example The gradient of the sum of outputs, and of a first layer (no dx)
 * ```ts
 * import { convBackward, convForward } from "./backend.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 3, 3], data: new Float64Array([1, 2, 3, 4, 5, 6, 7, 8, 9]) };
 * const w = { shape: [1, 1, 2, 2], data: new Float64Array([1, 1, 1, 1]) };
 * const { cache } = convForward(x, w, { shape: [1], data: new Float64Array([0]) });
 * const dy = { shape: [1, 1, 2, 2], data: new Float64Array(4).fill(1) };
 * const { dx, dw, db } = convBackward(dy, cache);
 * assertEquals(Array.from(dx.data), [1, 2, 1, 2, 4, 2, 1, 2, 1]); // windows covering each cell
 * assertEquals(Array.from(dw.data), [12, 16, 24, 28]); // each tap sums the cells it reads
 * assertEquals(Array.from(db.data), [4]);
 * const first = convBackward(dy, cache, { inputGradient: false });
 * assertEquals([first.dx, Array.from(first.dw.data)], [null, [12, 16, 24, 28]]);
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
  return BACKENDS[current].convBackward(dy, cache, opts);
}

/**
 * A fully connected layer, y = x · wᵀ + b with x flattened to [N, K] in C order, computed as a
 * convolution whose kernel covers x (layers/fully_connected.ts).
 *
 * @param x Input [N, ...]; K = the product of the non-batch sizes.
 * @param w Weights [D, K].
 * @param b Bias [D].
 * @param opts `training: false` when no backward pass follows; `workspace` to reuse arrays.
 * @returns y [N, D] of x's type, and the cache for {@link fcBackward}.
 * @throws {RangeError} If x has fewer than 2 dimensions, w is not [D, K] for x's K, or b is
 *   not [D].
 * @throws {TypeError} If x, w and b are not all the same float array type.
 *
 * @example Two samples of three features, two outputs
 * ```ts
 * import { fcForward } from "./backend.ts";
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
  return BACKENDS[current].fcForward(x, w, b, opts);
}

/**
 * The backward pass of {@link fcForward}: dx = dy · w (in x's shape), dw = dyᵀ · x,
 * db = Σ_n dy, computed by the convolution's backward pass.
 *
 * @param dy dL/dy [N, D].
 * @param cache The cache from {@link fcForward}.
 * @param opts `inputGradient: false` to skip dx; `workspace` to reuse arrays.
 * @returns dx (x's shape, or null), dw [D, K], db [D].
 * @throws {RangeError} If dy is not [N, D].
 * @throws {TypeError} If dy's type differs from x's or the cache is not an fc cache.
 *
 * @example An image in, its gradient in the image's shape
 * ```ts
 * import { fcBackward, fcForward } from "./backend.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 2, 2], data: new Float64Array([1, 2, 3, 4]) };
 * const w = { shape: [1, 4], data: new Float64Array([0.5, 0, 0, -1]) };
 * const { y, cache } = fcForward(x, w, { shape: [1], data: new Float64Array([0]) });
 * assertEquals(Array.from(y.data), [0.5 - 4]);
 * const { dx, dw, db } = fcBackward({ shape: [1, 1], data: new Float64Array([2]) }, cache);
 * assertEquals(dx.shape, [1, 1, 2, 2]);
 * assertEquals([Array.from(dx.data), Array.from(dw.data), Array.from(db.data)], [
 *   [1, 0, 0, -2], // 2·w
 *   [2, 4, 6, 8], // 2·x
 *   [2],
 * ]);
 * ```
 */
export function fcBackward<T extends FloatArray, O extends ParamBackwardOptions = object>(
  dy: Tensor<T>,
  cache: FcCache<T>,
  opts?: O,
): BackwardResult<T, O> {
  return BACKENDS[current].fcBackward(dy, cache, opts);
}

/**
 * Max pooling: y[n, c, oh, ow] = max over the window at (oh·sh − ph, ow·sw − pw) of x[n, c],
 * the padding read as −∞ (so a window's maximum is never the padding); output size
 * floor((H + 2·ph − kh) / sh) + 1 as PyTorch's `max_pool2d` (ceil_mode false). Ties go to the
 * window's first cell of x in row-major order; a NaN wins its window, as in PyTorch
 * (layers/max_pool.ts).
 *
 * @param x Input [N, C, H, W].
 * @param opts `size`, `stride` (default `size`) and `padding` (default 0; at most half the
 *   window on each axis, 2·ph ≤ kh, as PyTorch), one number or [rows, cols];
 *   `training: false` when no backward pass follows (then the winners are not kept; a backward
 *   pass finds them again); `workspace` to reuse arrays.
 * @returns y [N, C, Ho, Wo] of x's type, and the cache for {@link maxPoolBackward}.
 * @throws {RangeError} If x is not 4-D, a size or stride is not a positive integer, padding is
 *   negative or more than half the window, or the window is larger than the padded input.
 * @throws {TypeError} If x is not a tensor of Float32Array or Float64Array, `size` is missing,
 *   or an option is unknown.
 *
 * @example 2×2 windows, stride 2; then 3×3, stride 2, padding 1 (ResNet's first pool)
 * ```ts
 * import { maxPoolForward } from "./backend.ts";
 * import { assertEquals } from "@std/assert";
 * const x = {
 *   shape: [1, 1, 4, 4],
 *   data: new Float64Array([1, 2, 0, 0, 3, 4, 0, 9, 5, 0, 1, 1, 0, 6, 1, 2]),
 * };
 * const { y } = maxPoolForward(x, { size: 2 });
 * assertEquals(y.shape, [1, 1, 2, 2]);
 * assertEquals(Array.from(y.data), [4, 9, 6, 2]);
 * // windows at rows and columns −1..1 and 1..3: the top-left one reads x[0..1, 0..1] only
 * const padded = maxPoolForward(x, { size: 3, stride: 2, padding: 1 });
 * assertEquals(Array.from(padded.y.data), [4, 9, 6, 9]);
 * ```
 */
export function maxPoolForward<T extends FloatArray>(
  x: Tensor<T>,
  opts: MaxPoolForwardOptions,
): MaxPoolForwardResult<T> {
  return BACKENDS[current].maxPoolForward(x, opts);
}

/**
 * The backward pass of {@link maxPoolForward}: each dy goes to its window's winner (a cell of x,
 * never the padding), and a cell that wins several overlapping windows receives their sum.
 *
 * @param dy dL/dy [N, C, Ho, Wo].
 * @param cache The cache from {@link maxPoolForward}.
 * @param opts `workspace` to reuse arrays.
 * @returns dL/dx [N, C, H, W].
 * @throws {RangeError} If dy's shape differs from y's.
 * @throws {TypeError} If dy's type differs from x's, or the cache is not a max-pool cache.
 *
 * @example Overlapping windows: the centre wins all four, so it collects all four gradients
 * ```ts
 * import { maxPoolBackward, maxPoolForward } from "./backend.ts";
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
  opts: BackwardOptions = {},
): Tensor<T> {
  return BACKENDS[current].maxPoolBackward(dy, cache, opts);
}

/**
 * ReLU, y = max(0, x) elementwise (NaN stays NaN, as in PyTorch).
 *
 * @param x Any tensor.
 * @param opts `workspace` to reuse y's array.
 * @returns y of x's shape and type, and the cache for {@link reluBackward}.
 * @throws {TypeError} If x is not a tensor of Float32Array or Float64Array.
 * @throws {RangeError} If x's data does not fit its shape.
 *
 * @example
 * ```ts
 * import { reluForward } from "./backend.ts";
 * import { assertEquals } from "@std/assert";
 * const { y } = reluForward({ shape: [4], data: new Float64Array([-2, -0.5, 0.5, 3]) });
 * assertEquals(Array.from(y.data), [0, 0, 0.5, 3]);
 * ```
 */
export function reluForward<T extends FloatArray>(
  x: Tensor<T>,
  opts: ForwardOptions = {},
): ReluForwardResult<T> {
  return BACKENDS[current].reluForward(x, opts);
}

/**
 * ReLU's backward pass: dx = dy where x > 0, else 0 (the subgradient at 0 is taken as 0, as
 * PyTorch does).
 *
 * @param dy dL/dy, y's shape.
 * @param cache The cache from {@link reluForward}.
 * @param opts `workspace` to reuse dx's array.
 * @returns dL/dx, x's shape and type.
 * @throws {RangeError} If dy's shape differs from x's.
 * @throws {TypeError} If dy's type differs from x's or the cache is not a ReLU cache.
 *
 * @example
 * ```ts
 * import { reluBackward, reluForward } from "./backend.ts";
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
  return BACKENDS[current].reluBackward(dy, cache, opts);
}

/**
 * The forward pass of a 2-D transposed convolution (PyTorch's `conv_transpose2d`): every input
 * cell stamps its kernel, scaled by its value, into y at stride spacing; the stamps add where
 * they overlap and the padding is cropped from each side, so
 * Ho = (H − 1)·sh − 2·ph + dh·(kh − 1) + oph + 1 (Wo alike). It is the input gradient of the
 * convolution from y's geometry to x's with w as its filters, used as a layer: per sample and
 * group, y_n = col2im(w_colᵀ · x_n) + b through that convolution's table
 * (layers/conv_transpose.ts, docs/conv_transpose.md).
 *
 * @param x Input [N, C, H, W].
 * @param w Filters [C, D/groups, kh, kw] (PyTorch's layout for a transposed convolution: input
 *   channels first).
 * @param b Bias [D], or null for none.
 * @param opts `stride`, `padding`, `dilation`, `outputPadding` (one number or [rows, cols]; an
 *   output padding must be smaller than the stride or the dilation of its axis, as PyTorch's);
 *   `groups` (dividing C); `workspace` to reuse arrays between calls (`training` is accepted and
 *   changes nothing: the backward pass needs only x, w and dy).
 * @returns y [N, D, Ho, Wo] of x's array type, and the cache for {@link convTransposeBackward}.
 * @throws {RangeError} On wrong ranks, w's rows not x's channels, a bias that is not [D], a size
 *   option that is not a positive (padding, outputPadding: non-negative) integer, an output
 *   padding not below the stride or the dilation, groups that do not divide C, or a padding that
 *   leaves no output.
 * @throws {TypeError} If x, w and b are not all Float32Array or all Float64Array, or an option
 *   is unknown or of the wrong kind.
 *
 * @example Upsampling 2×2 to 4×4: stride 2 places the 2×2 stamps side by side
 * ```ts
 * import { convTransposeForward } from "./backend.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 2, 2], data: new Float64Array([1, 2, 3, 4]) };
 * const w = { shape: [1, 1, 2, 2], data: new Float64Array([1, 0, 0, 1]) };
 * const { y } = convTransposeForward(x, w, null, { stride: 2 });
 * assertEquals(y.shape, [1, 1, 4, 4]);
 * assertEquals(Array.from(y.data), [1, 0, 2, 0, 0, 1, 0, 2, 3, 0, 4, 0, 0, 3, 0, 4]);
 * // kernel 3, stride 2, padding 1, outputPadding 1 doubles any size: 5×5 -> 10×10
 * const x5 = { shape: [1, 1, 5, 5], data: new Float64Array(25).fill(1) };
 * const w3 = { shape: [1, 1, 3, 3], data: new Float64Array(9).fill(1) };
 * const y10 = convTransposeForward(x5, w3, null, { stride: 2, padding: 1, outputPadding: 1 }).y;
 * assertEquals(y10.shape, [1, 1, 10, 10]);
 * ```
 */
export function convTransposeForward<T extends FloatArray, B extends Tensor<T> | null>(
  x: Tensor<T>,
  w: Tensor<T>,
  b: B,
  opts: ConvTransposeForwardOptions = {},
): ConvTransposeForwardResult<T, HasBias<B>> {
  return BACKENDS[current].convTransposeForward(x, w, b, opts);
}

/**
 * The backward pass of {@link convTransposeForward}, which is a convolution with the same
 * geometry: dx = convForward(dy, w, null) (stride, padding, dilation and groups as given),
 * dW = Σ_n x_n · im2col(dy_n)ᵀ (convolution's dW with the roles of x and dy swapped),
 * db = Σ dy over N, Ho and Wo.
 *
 * @param dy dL/dy [N, D, Ho, Wo], the shape and type of the forward output.
 * @param cache The cache from {@link convTransposeForward}.
 * @param opts `inputGradient: false` to skip dx (dw and db are the same bit for bit);
 *   `workspace` to reuse arrays between calls.
 * @returns dx, dw, db with the shapes of x, w, b (dx null with `inputGradient: false`, db null
 *   when the forward pass had no bias).
 * @throws {RangeError} If dy's shape differs from y's.
 * @throws {TypeError} If dy's type differs from x's, the cache is not a transposed
 *   convolution's, or an option has the wrong type.
 *
 * @example dx is the convolution of dy with the same w
 * ```ts
 * import { convBackward, convForward, convTransposeBackward, convTransposeForward } from "./backend.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 2, 2], data: new Float64Array([1, 2, 3, 4]) };
 * const w = { shape: [1, 1, 2, 2], data: new Float64Array([1, 0, 0, 1]) };
 * const { y, cache } = convTransposeForward(x, w, null, { stride: 2 });
 * const dy = { shape: y.shape, data: Float64Array.from(y.data, (_, i) => i) };
 * const { dx, dw, db } = convTransposeBackward(dy, cache);
 * assertEquals(dx.data, convForward(dy, w, null, { stride: 2 }).y.data);
 * assertEquals(db, null);
 * // and the transposed convolution's y is that convolution's input gradient
 * const conv = convForward({ shape: y.shape, data: new Float64Array(16) }, w, null, { stride: 2 });
 * assertEquals(convBackward(x, conv.cache).dx.data, y.data);
 * assertEquals(dw.shape, [1, 1, 2, 2]);
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
  return BACKENDS[current].convTransposeBackward(dy, cache, opts);
}

/**
 * Average pooling, as PyTorch's `avg_pool2d` (ceil_mode false): y[n, c, oh, ow] = the mean of the
 * window at (oh·sh − ph, ow·sw − pw) of x[n, c], the padding read as 0. With `countIncludePad`
 * (the default) every window divides by kh·kw; without, by its cells of x only, so a border
 * window is the mean of what it covers. Output size floor((H + 2·ph − kh) / sh) + 1.
 * `size: [H, W]` is global average pooling (y [N, C, 1, 1]: each channel's mean). Computed as the
 * mean of each column of im2col (layers/avg_pool.ts).
 *
 * @param x Input [N, C, H, W].
 * @param opts `size`, `stride` (default `size`) and `padding` (default 0; at most half the
 *   window on each axis, 2·ph ≤ kh, as PyTorch), one number or [rows, cols]; `countIncludePad`
 *   (default true); `training` (accepted; nothing is kept either way) and `workspace` to reuse
 *   y's array.
 * @returns y [N, C, Ho, Wo] of x's type, and the cache for {@link avgPoolBackward}.
 * @throws {RangeError} If x is not 4-D, a size or stride is not a positive integer, padding is
 *   negative or more than half the window, or the window is larger than the padded input.
 * @throws {TypeError} If x is not a tensor of Float32Array or Float64Array, `size` is missing,
 *   `countIncludePad` is not a boolean, or an option is unknown.
 *
 * @example 2×2 windows; 3×3 windows with padding, counted or not; global average pooling
 * ```ts
 * import { avgPoolForward } from "./backend.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 2, 4], data: new Float64Array([1, 2, 3, 4, 5, 6, 7, 8]) };
 * assertEquals(Array.from(avgPoolForward(x, { size: 2 }).y.data), [3.5, 5.5]); // (1+2+5+6)/4, ...
 * // two windows of 9 cells, 4 and 6 of them in x (the rest is padding)
 * const opts = { size: 3, stride: 2, padding: 1 };
 * assertEquals(Array.from(avgPoolForward(x, opts).y.data), [14 / 9, 30 / 9]);
 * assertEquals(Array.from(avgPoolForward(x, { ...opts, countIncludePad: false }).y.data), [3.5, 5]);
 * const gap = avgPoolForward(x, { size: [2, 4] }).y;
 * assertEquals([gap.shape, Array.from(gap.data)], [[1, 1, 1, 1], [4.5]]);
 * ```
 */
export function avgPoolForward<T extends FloatArray>(
  x: Tensor<T>,
  opts: AvgPoolForwardOptions,
): AvgPoolForwardResult<T> {
  return BACKENDS[current].avgPoolForward(x, opts);
}

/**
 * The backward pass of {@link avgPoolForward}: each dy is shared equally, dy / |window|, among
 * the cells of x its window averaged (|window| = kh·kw with `countIncludePad`, else the window's
 * cells of x), and a cell in several windows receives the sum of its shares.
 *
 * @param dy dL/dy [N, C, Ho, Wo].
 * @param cache The cache from {@link avgPoolForward}.
 * @param opts `workspace` to reuse dx's array.
 * @returns dL/dx [N, C, H, W].
 * @throws {RangeError} If dy's shape differs from y's.
 * @throws {TypeError} If dy's type differs from x's, or the cache is not an average-pool cache.
 *
 * @example Global average pooling spreads dy evenly; a padded border window over fewer cells
 * ```ts
 * import { avgPoolBackward, avgPoolForward } from "./backend.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 2, 2], data: new Float64Array([1, 2, 3, 4]) };
 * const gap = avgPoolForward(x, { size: 2 });
 * const dy = { shape: [1, 1, 1, 1], data: new Float64Array([8]) };
 * assertEquals(Array.from(avgPoolBackward(dy, gap.cache).data), [2, 2, 2, 2]);
 * // size 2, stride 1, padding 1, padding not counted: the centre window holds all 4 cells, the
 * // corner windows one each
 * const p = avgPoolForward(x, { size: 2, stride: 1, padding: 1, countIncludePad: false });
 * const ones = { shape: [1, 1, 3, 3], data: new Float64Array(9).fill(1) };
 * // each cell: 1 (its corner) + 2 · 1/2 (two edge windows) + 1/4 (the centre)
 * assertEquals(Array.from(avgPoolBackward(ones, p.cache).data), [2.25, 2.25, 2.25, 2.25]);
 * ```
 */
export function avgPoolBackward<T extends FloatArray>(
  dy: Tensor<T>,
  cache: AvgPoolCache<T>,
  opts: BackwardOptions = {},
): Tensor<T> {
  return BACKENDS[current].avgPoolBackward(dy, cache, opts);
}

/**
 * Batch normalisation, as PyTorch's `torch.nn.functional.batch_norm`: each channel c is
 * normalised over its M values (M = N·H·W for x [N, C, H, W], M = N for x [N, C]) and then
 * scaled and shifted, y = γ·(x − μ)/√(σ² + ε) + β (layers/batch_norm.ts). Training: μ and σ²
 * are the batch's mean and biased variance (computed in two passes, not as E[x²] − E[x]²), and
 * the running statistics are updated in place, runningMean = (1 − momentum)·runningMean +
 * momentum·μ and runningVar = (1 − momentum)·runningVar + momentum·σ²·M/(M − 1) (unbiased).
 * Evaluation: μ and σ² are the running statistics, which are left unchanged.
 *
 * @param x Input [N, C, H, W] or [N, C].
 * @param gamma The scale γ [C].
 * @param beta The shift β [C].
 * @param opts `training` (required); `runningMean` and `runningVar` [C] of x's type (required;
 *   updated in place when training); `eps` (default 1e-5); `momentum` in [0, 1] (default 0.1);
 *   `workspace` to reuse y's array between calls.
 * @returns y of x's shape and type, and the cache for {@link batchNormBackward}.
 * @throws {RangeError} If x is neither 4-D nor 2-D, gamma, beta or a running statistic is not
 *   [C], eps is not positive, momentum is outside [0, 1], training has fewer than 2 values per
 *   channel, or (training) a running statistic shares memory with an input or the other. Every
 *   check runs before anything is written: on any error the running statistics are untouched.
 * @throws {TypeError} If an argument is not a tensor, the array types differ, `training` is
 *   missing, or an option is unknown or of the wrong type.
 *
 * @example Training on a batch, then evaluating with what it left in the running statistics
 * ```ts
 * import { batchNormForward } from "./backend.ts";
 * import { assertAlmostEquals, assertEquals } from "@std/assert";
 * const x = { shape: [4, 1, 1, 2], data: new Float64Array([1, 2, 3, 4, 5, 6, 7, 8]) };
 * const gamma = { shape: [1], data: new Float64Array([2]) };
 * const beta = { shape: [1], data: new Float64Array([1]) };
 * const runningMean = { shape: [1], data: new Float64Array([0]) };
 * const runningVar = { shape: [1], data: new Float64Array([1]) };
 * const opts = { runningMean, runningVar, momentum: 0.5 };
 * const { y } = batchNormForward(x, gamma, beta, { ...opts, training: true });
 * // μ = 4.5, σ² = 5.25 (biased): y = 2·(x − 4.5)/√5.25 + 1
 * assertAlmostEquals(y.data[0], 2 * (1 - 4.5) / Math.sqrt(5.25 + 1e-5) + 1, 1e-12);
 * assertEquals(runningMean.data[0], 0.5 * 0 + 0.5 * 4.5);
 * assertAlmostEquals(runningVar.data[0], 0.5 * 1 + 0.5 * 6, 1e-12); // unbiased: 5.25·8/7 = 6
 * const e = batchNormForward(x, gamma, beta, { ...opts, training: false });
 * assertAlmostEquals(e.y.data[0], 2 * (1 - 2.25) / Math.sqrt(3.5 + 1e-5) + 1, 1e-12);
 * assertEquals(runningMean.data[0], 2.25); // evaluation leaves them as they are
 * ```
 */
export function batchNormForward<T extends FloatArray>(
  x: Tensor<T>,
  gamma: Tensor<T>,
  beta: Tensor<T>,
  opts: BatchNormForwardOptions<T>,
): BatchNormForwardResult<T> {
  return BACKENDS[current].batchNormForward(x, gamma, beta, opts);
}

/**
 * The backward pass of {@link batchNormForward}, with x̂ = (x − μ)/√(σ² + ε) and sums and means
 * over each channel's M values: dβ = Σ dy, dγ = Σ dy·x̂, and
 * dx = γ/√(σ² + ε)·(dy − mean(dy) − x̂·mean(dy·x̂)) after a training forward pass (μ and σ²
 * depend on x), dx = γ/√(σ² + ε)·dy after an evaluation one (they are constants).
 *
 * @param dy dL/dy, x's shape and type.
 * @param cache The cache from {@link batchNormForward}.
 * @param opts `inputGradient: false` to skip dx (dgamma and dbeta are the same bit for bit);
 *   `workspace` to reuse arrays between calls.
 * @returns dx (x's shape, or null with `inputGradient: false`), dgamma [C], dbeta [C].
 * @throws {RangeError} If dy's shape differs from x's.
 * @throws {TypeError} If dy's type differs from x's, the cache is not a batch-norm cache, or an
 *   option is unknown or of the wrong type.
 *
 * @example A loss that only sees one output: its gradient reaches every input of the channel
 * ```ts
 * import { batchNormBackward, batchNormForward } from "./backend.ts";
 * import { assertAlmostEquals, assertEquals } from "@std/assert";
 * const x = { shape: [3, 1], data: new Float64Array([0, 1, 5]) };
 * const f = (v: number) => ({ shape: [1], data: new Float64Array([v]) });
 * const opts = { training: true, runningMean: f(0), runningVar: f(1) };
 * const { cache } = batchNormForward(x, f(1), f(0), opts); // μ = 2, σ² = 14/3
 * const dy = { shape: [3, 1], data: new Float64Array([1, 0, 0]) };
 * const { dx, dgamma, dbeta } = batchNormBackward(dy, cache);
 * assertEquals(Array.from(dbeta.data), [1]);
 * assertAlmostEquals(dgamma.data[0], (0 - 2) / Math.sqrt(14 / 3 + 1e-5), 1e-12); // x̂ of x = 0
 * assertAlmostEquals(dx.data[0] + dx.data[1] + dx.data[2], 0, 1e-15); // Σ dx = 0: a shift of x moves nothing
 * assertEquals(batchNormBackward(dy, cache, { inputGradient: false }).dx, null);
 * ```
 */
export function batchNormBackward<T extends FloatArray, O extends ParamBackwardOptions = object>(
  dy: Tensor<T>,
  cache: BatchNormCache<T>,
  opts?: O,
): BatchNormBackwardResult<T, O> {
  return BACKENDS[current].batchNormBackward(dy, cache, opts);
}
