/**
 * The fast convolution: the formulas of layers/conv.ts, computed with the tuned kernels. It has
 * the reference's signatures (backend.ts checks that) and asks kernels/fast/dispatch.ts what to
 * run for each shape:
 *
 * - "batched" (one output position per sample, as a fully connected layer): the samples' single
 *   columns stacked as rows of x_cols [N, K], so the whole batch is one GEMM,
 *   y [N, D] = x_cols · w_colᵀ, which is already y's layout; backward dW = dYᵀ · x_cols,
 *   dx_cols = dY · w_col.
 * - "direct" (float32, stride 1, nothing kept): kernels/fast/conv_simd.wat reads x_col's entries
 *   in place, through one offset per tap of a zero-padded copy of x_n, never building x_col;
 *   bit-identical to im2col + the SIMD GEMM.
 * - "im2col": per sample (and per group), x_col by the table's runs, then
 *   y_n = w_col · x_col + b on the GEMM kernel for the shape, with each group's w_col packed once
 *   per call for all samples.
 * - "depthwise" (one input channel per group, groups = C): kernels/fast/depthwise.ts's direct
 *   loops over the taps (WebAssembly SIMD for float32), forward and backward, never building
 *   x_col; each group's GEMM would be [D/C, kh·kw]·[kh·kw, P], too small to pay for itself.
 *
 * The arrays it writes live in the caller's workspace when one is given (results, every
 * sample's x_col kept for the backward pass in training, scratch, packed weights), else in new
 * ones. A backward pass whose forward kept no x_col, or whose kept x_col a later call has
 * overwritten, gathers it again: the same numbers.
 *
 * @module
 */

import type { FloatArray, Tensor } from "../../tensor.ts";
import { convArgs, convBackwardArgs, convTableGeometry, MAX_ELEMENTS } from "../_args.ts";
import { Workspace } from "../workspace.ts";
import type {
  ConvCache,
  ConvForwardResult,
  ConvGeometry,
  ForwardOptions,
  Gradients,
  ParamBackwardOptions,
  ParamGradients,
} from "../types.ts";
import type * as reference from "../conv.ts";
import { matrix, sample } from "../../kernels/matrix.ts";
import { fastTable } from "../../kernels/fast/tables.ts";
import { product } from "../../kernels/fast/gemm.ts";
import { convSimd } from "../../kernels/fast/conv_simd.ts";
import {
  convBackwardKernel,
  convKernel,
  packForGemm,
  runCol2im,
  runDepthwiseBackward,
  runDepthwiseForward,
  runIm2col,
} from "../../kernels/fast/dispatch.ts";

/** Float32 panels' storage in a workspace, for packForGemm. */
function panels(ws: Workspace, role: string): (length: number) => Float32Array {
  return (length) => ws.floats(role, new Float32Array(0), length);
}

/**
 * The forward pass of a 2-D convolution on the fast kernels, with the signature of
 * layers/conv.ts's convForward (the type says so) and its contract: the same checks, then
 * {@link convForwardChecked}. `training: false` keeps nothing for a backward pass; `workspace`
 * reuses arrays from call to call.
 *
 * @example
 * ```ts
 * import { convForward } from "./conv.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 3, 3], data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]) };
 * const w = { shape: [1, 1, 2, 2], data: new Float32Array([1, 1, 1, 1]) };
 * const { y } = convForward(x, w, { shape: [1], data: new Float32Array([0]) });
 * assertEquals(Array.from(y.data), [12, 16, 24, 28]);
 * ```
 */
export const convForward: typeof reference.convForward = (x, w, b, opts = {}) =>
  // the cache's bias flag is the reference's conditional type, which TypeScript cannot check here
  convForwardChecked(convArgs("convForward", x, w, b, opts), x, w, b, opts) as never;

/**
 * {@link convForward} on checked arguments.
 *
 * @param g The sizes.
 * @param x Input [N, C, H, W].
 * @param w Filters [D, C/G, kh, kw].
 * @param b Bias [D], or null.
 * @param opts `training` and `workspace`.
 * @returns y and the cache.
 *
 * @example
 * ```ts
 * import { convForwardChecked } from "./conv.ts";
 * import { convArgs } from "../_args.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 2, 2], data: new Float64Array([1, 2, 3, 4]) };
 * const w = { shape: [1, 1, 1, 1], data: new Float64Array([2]) }, b = { shape: [1], data: new Float64Array([1]) };
 * const g = convArgs("convForward", x, w, b, {});
 * assertEquals(Array.from(convForwardChecked(g, x, w, b, {}).y.data), [3, 5, 7, 9]);
 * ```
 */
export function convForwardChecked<T extends FloatArray>(
  g: ConvGeometry,
  x: Tensor<T>,
  w: Tensor<T>,
  b: Tensor<T> | null,
  opts: ForwardOptions,
): ConvForwardResult<T> {
  // x [N,C,H,W], w [D,C/G,kh,kw], b [D] or null -> y [N,D,Ho,Wo]
  const { N, C, H, W, D, K, P, groups: G } = g, Cg = C / G, Dg = D / G, CHW = C * H * W;
  const table = fastTable(convTableGeometry(g)), ws = opts.workspace ?? new Workspace();
  // every sample's x_col is kept for the backward pass only while the batch's fit the bound of
  // one allocation (beyond it, the backward pass gathers each sample's again)
  const keep = opts.workspace !== undefined && opts.training !== false && !table.identity &&
    N * G * K * P <= MAX_ELEMENTS;
  const inputs = b === null ? [x.data, w.data] : [x.data, w.data, b.data];
  const y = ws.floats("y", x.data, N * D * P, inputs);
  // b [D], or zeros: a convolution without bias adds 0
  const bias = b?.data ?? ws.floats("zero bias", x.data, D, inputs).fill(0);
  const float32 = x.data instanceof Float32Array;
  const kernel = convKernel({
    d: Dg,
    k: K,
    p: P,
    outWidth: g.Wo,
    stride: g.stride,
    groups: G,
    dilation: g.dilation,
    float32,
    keep,
    channels: C,
  });
  let columns: T | undefined;
  if (kernel === "batched") {
    // one group: x_cols [N, K], sample n's single column is row n (x itself when the table is
    // the identity)
    const w_col = matrix(w.data, D, K); // [D, K]: w as stored
    const x_cols = table.identity
      ? x.data
      : ws.floats(keep ? "x_col" : "x_col scratch", x.data, N * K, [...inputs, y]);
    if (!table.identity) {
      for (let n = 0; n < N; n++) runIm2col(sample(x.data, n, CHW), table, sample(x_cols, n, K));
    }
    for (let n = 0; n < N; n++) y.set(bias, n * D);
    product(matrix(x_cols, N, K), w_col, y, { transB: true, beta: 1 }); // y = x_cols · w_colᵀ + b
    if (keep) columns = x_cols;
  } else if (kernel === "depthwise") {
    // one input channel per group: the taps read x in place, so there is no x_col to keep
    const scratch = (length: number) =>
      ws.floats("depthwise scratch", x.data, length, [...inputs, y]);
    runDepthwiseForward({ g, x: x.data, w: w.data, b: b?.data ?? null, y }, scratch);
  } else if (
    kernel === "direct" &&
    convSimd(x.data as Float32Array, w.data as Float32Array, bias as Float32Array, {
      n: N,
      c: C,
      h: H,
      w: W,
      d: D,
      kh: g.kh,
      kw: g.kw,
      ph: g.padding[0],
      pw: g.padding[1],
    }, y as Float32Array)
  ) {
    // done on the kernel that never builds x_col
  } else {
    // every sample's x_col [N, G, K, P] kept for backward, or one scratch x_col [K, P] reused
    const cols = keep ? ws.floats("x_col", x.data, N * G * K * P, [...inputs, y]) : undefined;
    const scratch = cols === undefined ? ws.floats("x_col scratch", x.data, K * P) : undefined;
    // each group's w_col [Dg, K] is the same for every sample: packed once, not N times
    const w_cols = Array.from({ length: G }, (_, gi) => matrix(sample(w.data, gi, Dg * K), Dg, K));
    const packs = w_cols.map((w_col, gi) =>
      packForGemm(w_col.data, false, Dg, K, P, panels(ws, "w_col panels " + gi))
    );
    for (let n = 0; n < N; n++) {
      for (let gi = 0; gi < G; gi++) {
        const x_col = scratch ?? sample(cols!, n * G + gi, K * P);
        runIm2col(sample(x.data, n * G + gi, Cg * H * W), table, x_col);
        const y_n = sample(y, n * G + gi, Dg * P); // [Dg, P]
        for (let d = 0; d < Dg; d++) y_n.fill(bias[gi * Dg + d], d * P, (d + 1) * P);
        // y_n = w_col · x_col + b
        product(w_cols[gi], matrix(x_col, K, P), y_n, { beta: 1, packed: packs[gi] });
      }
    }
    columns = cols;
  }
  const kept = columns === undefined ? undefined : ws.keep("x_col", columns);
  return {
    y: { shape: [N, D, g.Ho, g.Wo], data: y },
    cache: {
      kind: "conv",
      x,
      w,
      bias: b !== null,
      geometry: g,
      ...(kept === undefined ? {} : { columns: kept }),
    },
  };
}

/**
 * The backward pass of {@link convForward} on the fast kernels, with the reference's signature
 * and contract: the same checks, then {@link convBackwardChecked}. It takes either backend's
 * cache.
 *
 * @example
 * ```ts
 * import { convBackward, convForward } from "./conv.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 3, 3], data: new Float64Array([1, 2, 3, 4, 5, 6, 7, 8, 9]) };
 * const w = { shape: [1, 1, 2, 2], data: new Float64Array([1, 1, 1, 1]) };
 * const { cache } = convForward(x, w, { shape: [1], data: new Float64Array([0]) });
 * const { dx, dw } = convBackward({ shape: [1, 1, 2, 2], data: new Float64Array(4).fill(1) }, cache);
 * assertEquals(Array.from(dx.data), [1, 2, 1, 2, 4, 2, 1, 2, 1]);
 * assertEquals(Array.from(dw.data), [12, 16, 24, 28]);
 * ```
 */
export const convBackward: typeof reference.convBackward = (dy, cache, opts) =>
  // the result's type is the reference's conditional one, which TypeScript cannot check here
  convBackwardChecked(
    convBackwardArgs("convBackward", dy, cache, opts),
    dy,
    cache,
    opts ?? {},
  ) as never;

/**
 * {@link convBackward} on checked arguments.
 *
 * @param g The forward pass's sizes.
 * @param dy dL/dy [N, D, Ho, Wo].
 * @param cache The forward pass's cache.
 * @param opts `inputGradient` and `workspace`.
 * @returns dx (or null), dw, db.
 *
 * @example
 * ```ts
 * import { convBackwardChecked, convForward } from "./conv.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 2, 2], data: new Float64Array([1, 2, 3, 4]) };
 * const w = { shape: [1, 1, 1, 1], data: new Float64Array([2]) }, b = { shape: [1], data: new Float64Array([0]) };
 * const { cache } = convForward(x, w, b);
 * const dy = { shape: [1, 1, 2, 2], data: new Float64Array(4).fill(1) };
 * const r = convBackwardChecked(cache.geometry, dy, cache, { inputGradient: false });
 * assertEquals([r.dx, Array.from(r.dw.data), Array.from(r.db!.data)], [null, [10], [4]]);
 * ```
 */
export function convBackwardChecked<T extends FloatArray>(
  g: ConvGeometry,
  dy: Tensor<T>,
  cache: ConvCache<T>,
  opts: ParamBackwardOptions,
): Gradients<T, Tensor<T> | null> | ParamGradients<T, Tensor<T> | null> {
  // dy [N,D,Ho,Wo] -> dx [N,C,H,W], dw [D,C/G,kh,kw], db [D] or null
  const { N, C, H, W, D, K, P, groups: G } = g, Cg = C / G, Dg = D / G, CHW = C * H * W;
  const { x, w } = cache;
  const table = fastTable(convTableGeometry(g)), ws = opts.workspace ?? new Workspace();
  const kept = cache.columns;
  const cols = kept !== undefined && kept.owner.isCurrent(kept) ? kept.data : undefined;
  const inputs = [dy.data, x.data, w.data, ...(cols === undefined ? [] : [cols])];
  const dx = opts.inputGradient === false ? null : ws.floats("dx", x.data, N * CHW, inputs);
  const outs = dx === null ? inputs : [...inputs, dx];
  const dw = ws.floats("dw", x.data, D * K, outs);
  const db = cache.bias ? ws.floats("db", x.data, D, [...outs, dw]) : null;
  const dY = dy.data;
  const float32 = x.data instanceof Float32Array;
  const kernel = convBackwardKernel(P, G, { channels: C, d: Dg, float32 });
  if (kernel === "depthwise") {
    // one input channel per group: dw, db and all of dx straight from x and dY, no x_col
    const scratch = (length: number) =>
      ws.floats("depthwise planes", x.data, length, [...outs, dw, ...(db === null ? [] : [db])]);
    runDepthwiseBackward({ g, dy: dY, x: x.data, w: w.data, dx, dw, db }, scratch);
    return gradients(x, w, dx, dw, db);
  }
  // dx and db accumulate (col2im, Σ over samples), dw accumulates over samples: start at 0
  dx?.fill(0);
  dw.fill(0);
  if (db !== null) {
    db.fill(0);
    // db[d] = Σ_n Σ_p dY[n, d, p]
    for (let n = 0; n < N; n++) {
      for (let d = 0; d < D; d++) {
        let s = 0;
        const o = (n * D + d) * P;
        for (let p = 0; p < P; p++) s += dY[o + p];
        db[d] += s;
      }
    }
  }
  if (kernel === "batched") {
    // one group, the per-sample formulas for the whole batch: dY is [N, D], x_cols [N, K]
    const w_col = matrix(w.data, D, K);
    let x_cols = cols ?? x.data;
    if (cols === undefined && !table.identity) {
      x_cols = ws.floats("x_col scratch", x.data, N * K, outs);
      for (let n = 0; n < N; n++) runIm2col(sample(x.data, n, CHW), table, sample(x_cols, n, K));
    }
    const dY_mat = matrix(dY, N, D);
    product(dY_mat, matrix(x_cols, N, K), dw, { transA: true }); // dW = dYᵀ · x_cols
    if (dx !== null && table.identity) product(dY_mat, w_col, dx); // dx = dY · w_col
    else if (dx !== null) {
      const dx_cols = product(dY_mat, w_col, ws.floats("dx_col", x.data, N * K, outs));
      for (let n = 0; n < N; n++) runCol2im(sample(dx_cols, n, K), table, sample(dx, n, CHW));
    }
  } else {
    const scratch = cols === undefined
      ? ws.floats("x_col scratch", x.data, K * P, outs)
      : undefined;
    const dx_col = ws.floats("dx_col", x.data, K * P, outs); // [K, P]
    const w_cols = Array.from({ length: G }, (_, gi) => matrix(sample(w.data, gi, Dg * K), Dg, K));
    // each group's w_colᵀ [K, Dg], packed once for all samples (when dx is wanted)
    const packs = w_cols.map((w_col, gi) =>
      dx === null
        ? null
        : packForGemm(w_col.data, true, K, Dg, P, panels(ws, "w_colT panels " + gi))
    );
    for (let n = 0; n < N; n++) {
      for (let gi = 0; gi < G; gi++) {
        const dY_n = matrix(sample(dY, n * G + gi, Dg * P), Dg, P);
        // x_col [K, P]: kept by the forward pass, or gathered again
        const x_col = scratch === undefined
          ? sample(cols!, n * G + gi, K * P)
          : runIm2col(sample(x.data, n * G + gi, Cg * H * W), table, scratch);
        // dW_g += dY_n · x_colᵀ
        product(dY_n, matrix(x_col, K, P), sample(dw, gi, Dg * K), { transB: true, beta: 1 });
        if (dx === null) continue;
        product(w_cols[gi], dY_n, dx_col, { transA: true, packed: packs[gi] }); // dx_col = w_colᵀ · dY_n
        runCol2im(dx_col, table, sample(dx, n * G + gi, Cg * H * W)); // col2im: the table, backwards
      }
    }
  }
  return gradients(x, w, dx, dw, db);
}

/** The backward pass's result: dx (or null), dw and db (or null) as tensors of x's, w's and
 * b's shapes. */
function gradients<T extends FloatArray>(
  x: Tensor<T>,
  w: Tensor<T>,
  dx: T | null,
  dw: T,
  db: T | null,
): Gradients<T, Tensor<T> | null> | ParamGradients<T, Tensor<T> | null> {
  const grads = {
    dw: { shape: [...w.shape], data: dw },
    db: db === null ? null : { shape: [db.length], data: db },
  };
  return dx === null ? { dx: null, ...grads } : { dx: { shape: [...x.shape], data: dx }, ...grads };
}
