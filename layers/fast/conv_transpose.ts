/**
 * The fast transposed convolution: the formulas of layers/conv_transpose.ts, composed from the
 * fast convolution's kernels. It has the reference's signatures (backend.ts checks that) and
 * asks kernels/fast/dispatch.ts what to run:
 *
 * - forward, the convolution y -> x's input gradient, run as the fast convolution runs its dx:
 *   per sample and group, x_n's columns w_colᵀ · x_n on the GEMM kernel for the shape (w_colᵀ
 *   packed once per call for all samples), then col2im by the table's runs or indices into y,
 *   which starts as the bias. With one input position per sample (a decoder's 1×1 latent) the
 *   whole batch is one GEMM, x [N, C] · w_col [C, K], as in the convolution's "batched" backward
 *   pass; when the stamp is the whole output, that product is y itself.
 * - backward, a convolution: dW by layers/fast/conv.ts's convBackwardChecked (x in the place of
 *   its dY, each im2col(dy_n) gathered by the table's runs), then dx = conv(dy) by its
 *   convForwardChecked with nothing kept (so a float32 stride-1 one may run on the direct kernel).
 *
 * Its own arrays live in the caller's workspace under roles of their own ("convTranspose y",
 * ...); the convolution's calls use the convolution's roles in the same workspace. dW runs
 * before dx so that nothing the convolution writes can be an input still to be read.
 *
 * @module
 */

import type { FloatArray, Tensor } from "../../tensor.ts";
import { convTableGeometry, convTransposeArgs, convTransposeBackwardArgs } from "../_args.ts";
import { Workspace } from "../workspace.ts";
import type {
  ConvTransposeCache,
  ConvTransposeForwardResult,
  ConvTransposeGeometry,
  ForwardOptions,
  Gradients,
  ParamBackwardOptions,
  ParamGradients,
} from "../types.ts";
import type * as reference from "../conv_transpose.ts";
import { convBackwardChecked, convForwardChecked } from "./conv.ts";
import { matrix, resizePlanes, sample } from "../../kernels/matrix.ts";
import { fastTable } from "../../kernels/fast/tables.ts";
import { product } from "../../kernels/fast/gemm.ts";
import { convBackwardKernel, packForGemm, runCol2im } from "../../kernels/fast/dispatch.ts";

/**
 * The forward pass of a transposed convolution on the fast kernels, with the signature of
 * layers/conv_transpose.ts's convTransposeForward (the type says so) and its contract: the same
 * checks, then {@link convTransposeForwardChecked}. `workspace` reuses arrays from call to call;
 * nothing is kept for the backward pass, whatever `training` says (it needs x, w and dy only).
 *
 * @example
 * ```ts
 * import { convTransposeForward } from "./conv_transpose.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 2, 2], data: new Float32Array([1, 2, 3, 4]) };
 * const w = { shape: [1, 1, 2, 2], data: new Float32Array([1, 1, 1, 1]) };
 * assertEquals(Array.from(convTransposeForward(x, w, null).y.data), [1, 3, 2, 4, 10, 6, 3, 7, 4]);
 * ```
 */
export const convTransposeForward: typeof reference.convTransposeForward = (x, w, b, opts = {}) =>
  // the cache's bias flag is the reference's conditional type, which TypeScript cannot check here
  convTransposeForwardChecked(
    convTransposeArgs("convTransposeForward", x, w, b, opts),
    x,
    w,
    b,
    opts,
  ) as never;

/**
 * {@link convTransposeForward} on checked arguments.
 *
 * @param g The sizes.
 * @param x Input [N, C, H, W].
 * @param w Filters [C, D/G, kh, kw].
 * @param b Bias [D], or null.
 * @param opts `workspace`.
 * @returns y and the cache.
 *
 * @example
 * ```ts
 * import { convTransposeForwardChecked } from "./conv_transpose.ts";
 * import { convTransposeArgs } from "../_args.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 1, 2], data: new Float64Array([1, 2]) };
 * const w = { shape: [1, 1, 1, 2], data: new Float64Array([1, 10]) };
 * const g = convTransposeArgs("convTransposeForward", x, w, null, {});
 * assertEquals(Array.from(convTransposeForwardChecked(g, x, w, null, {}).y.data), [1, 12, 20]);
 * ```
 */
export function convTransposeForwardChecked<T extends FloatArray>(
  g: ConvTransposeGeometry,
  x: Tensor<T>,
  w: Tensor<T>,
  b: Tensor<T> | null,
  opts: ForwardOptions,
): ConvTransposeForwardResult<T> {
  // x [N,C,H,W], w [C,D/G,kh,kw], b [D] or null -> y [N,D,Ho,Wo]
  const { N, C, H, W, D, Ho, Wo, groups: G, conv: c } = g, { K, P } = c;
  const Cg = C / G, Dg = D / G, Q = Ho * Wo;
  const table = fastTable(convTableGeometry(c)), ws = opts.workspace ?? new Workspace();
  const inputs = b === null ? [x.data, w.data] : [x.data, w.data, b.data];
  const y = ws.floats("convTranspose y", x.data, N * D * Q, inputs);
  // x [N, C, P] as the convolution's output: x itself, or with zero rows and columns past H, W
  // (an output padding of at least the stride)
  const x_c = c.Ho === H && c.Wo === W ? x.data : resizePlanes(x.data, N * C, [H, W], [c.Ho, c.Wo]);
  // y starts as the bias (0 without one); col2im adds every cell's stamp
  for (let s = 0; s < N * D; s++) y.fill(b === null ? 0 : b.data[s % D], s * Q, (s + 1) * Q);
  if (convBackwardKernel(P, G) === "batched") {
    // one input position per sample, one group: the columns of the batch, x [N, C] · w_col [C, K]
    const w_col = matrix(w.data, C, K);
    if (table.identity) product(matrix(x_c, N, C), w_col, y, { beta: 1 }); // y = x · w_col + b
    else {
      const cols = ws.floats("convTranspose columns", x.data, N * K, [...inputs, y]);
      product(matrix(x_c, N, C), w_col, cols); // [N, K]
      for (let n = 0; n < N; n++) runCol2im(sample(cols, n, K), table, sample(y, n, D * Q));
    }
  } else {
    const col = ws.floats("convTranspose col", x.data, K * P, [...inputs, y]); // [K, P]
    const w_cols = Array.from({ length: G }, (_, gi) => matrix(sample(w.data, gi, Cg * K), Cg, K));
    // each group's w_colᵀ [K, C/G], packed once for all samples
    const packs = w_cols.map((w_col, gi) =>
      packForGemm(
        w_col.data,
        true,
        K,
        Cg,
        P,
        (length) => ws.floats("convTranspose w_colT panels " + gi, new Float32Array(0), length),
      )
    );
    for (let n = 0; n < N; n++) {
      for (let gi = 0; gi < G; gi++) {
        const x_n = matrix(sample(x_c, n * G + gi, Cg * P), Cg, P); // [C/G, P]
        product(w_cols[gi], x_n, col, { transA: true, packed: packs[gi] }); // col = w_colᵀ · x_n
        runCol2im(col, table, sample(y, n * G + gi, Dg * Q)); // y_n += col2im(col)
      }
    }
  }
  return {
    y: { shape: [N, D, Ho, Wo], data: y },
    cache: { kind: "convTranspose", x, w, bias: b !== null, geometry: g },
  };
}

/**
 * The backward pass of {@link convTransposeForward} on the fast kernels, with the reference's
 * signature and contract: the same checks, then {@link convTransposeBackwardChecked}. It takes
 * either backend's cache.
 *
 * @example
 * ```ts
 * import { convTransposeBackward, convTransposeForward } from "./conv_transpose.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 2, 2], data: new Float64Array([1, 2, 3, 4]) };
 * const w = { shape: [1, 1, 2, 2], data: new Float64Array([1, 1, 1, 1]) };
 * const { cache } = convTransposeForward(x, w, { shape: [1], data: new Float64Array([0]) });
 * const g = convTransposeBackward({ shape: [1, 1, 3, 3], data: new Float64Array(9).fill(1) }, cache);
 * assertEquals([Array.from(g.dx.data), Array.from(g.dw.data)], [[4, 4, 4, 4], [10, 10, 10, 10]]);
 * ```
 */
export const convTransposeBackward: typeof reference.convTransposeBackward = (dy, cache, opts) =>
  // the result's type is the reference's conditional one, which TypeScript cannot check here
  convTransposeBackwardChecked(
    convTransposeBackwardArgs("convTransposeBackward", dy, cache, opts),
    dy,
    cache,
    opts ?? {},
  ) as never;

/**
 * {@link convTransposeBackward} on checked arguments.
 *
 * @param g The forward pass's sizes.
 * @param dy dL/dy [N, D, Ho, Wo].
 * @param cache The forward pass's cache.
 * @param opts `inputGradient` and `workspace`.
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
 * const r = convTransposeBackwardChecked(cache.geometry, dy, cache, {});
 * assertEquals([Array.from(r.dx!.data), Array.from(r.dw.data), r.db], [[1, 0], [1, 0], null]);
 * ```
 */
export function convTransposeBackwardChecked<T extends FloatArray>(
  g: ConvTransposeGeometry,
  dy: Tensor<T>,
  cache: ConvTransposeCache<T>,
  opts: ParamBackwardOptions,
): Gradients<T, Tensor<T> | null> | ParamGradients<T, Tensor<T> | null> {
  // dy [N,D,Ho,Wo] -> dx [N,C,H,W], dw [C,D/G,kh,kw], db [D] or null
  const { N, C, H, W, D, Ho, Wo, conv: c } = g, { x, w } = cache, Q = Ho * Wo;
  const ws = opts.workspace ?? new Workspace(), same = c.Ho === H && c.Wo === W;
  // x as the convolution's output [N, C, P], in the place of its dY
  const x_c = {
    shape: [N, C, c.Ho, c.Wo],
    data: same ? x.data : resizePlanes(x.data, N * C, [H, W], [c.Ho, c.Wo]),
  };
  const conv = { kind: "conv" as const, x: dy, w, bias: false, geometry: c }; // y -> x, on dy
  // dW = Σ_n x_n · im2col(dy_n)ᵀ: the convolution's dW
  const dw = convBackwardChecked(c, x_c, conv, { inputGradient: false, workspace: ws }).dw;
  const db = cache.bias
    ? ws.floats("convTranspose db", x.data, D, [dy.data, x.data, w.data, dw.data])
    : null;
  if (db !== null) {
    // db[d] = Σ_n Σ_p dy[n, d, p]
    db.fill(0);
    for (let n = 0; n < N; n++) {
      for (let d = 0; d < D; d++) {
        let s = 0;
        const o = (n * D + d) * Q;
        for (let p = 0; p < Q; p++) s += dy.data[o + p];
        db[d] += s;
      }
    }
  }
  const grads = { dw, db: db === null ? null : { shape: [D], data: db } };
  if (opts.inputGradient === false) return { dx: null, ...grads };
  // dx = conv(dy): the convolution's forward pass, no bias, nothing kept
  const y = convForwardChecked(c, dy, w, null, { training: false, workspace: ws }).y.data;
  const dx = same ? y : resizePlanes(y, N * C, [c.Ho, c.Wo], [H, W]);
  return { dx: { shape: [...x.shape], data: dx }, ...grads };
}
