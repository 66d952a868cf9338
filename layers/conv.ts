/**
 * Convolution as im2col + GEMM, with its backward pass beside it.
 *
 * Forward, per sample n:   x_col = im2col(x_n)            [C·kh·kw, Ho·Wo]
 *                          y_n   = w_col · x_col + b       [D, Ho·Wo]
 * Backward, per sample n:  dW   += dY_n · x_colᵀ           [D, C·kh·kw]
 *                          db   += Σ_p dY_n[:, p]          [D]
 *                          dX_n  = col2im(w_colᵀ · dY_n)   [C, H, W]
 * where w_col is w [D,C,kh,kw] read as a [D, C·kh·kw] matrix (no copy: it is the same memory).
 *
 * One shortcut, same numbers: a float32 forward pass with stride 1 that keeps no columns runs on
 * kernels/conv_simd.wat, which reads x_col's entries through one offset per tap of a zero-padded
 * copy of x_n instead of gathering them into an array first (bit-identical; see convForward).
 *
 * @module
 */

import type { FloatArray, Tensor } from "../tensor.ts";
import { col2im, im2col, type Im2colTable, im2colTable } from "../kernels/im2col.ts";
import { gemm, type Matrix, packA, type PackedMatrix } from "../kernels/gemm.ts";
import { scratch } from "../kernels/_scratch.ts";
import { convSimd } from "../kernels/_conv_simd.ts";
import {
  checkSameType,
  checkShapeEquals,
  checkTensor,
  fmtShape,
  isFloatArray,
  outputBuffer,
  overlaps,
  pairOption,
  reuseBuffer,
  zerosLike,
} from "../_validate.ts";
import type { Layer, Param } from "./layer.ts";
import { heNormal, mulberry32, type Rng } from "../random.ts";

/** Stride and zero padding of a convolution, one number for both axes or [rows, cols]. */
export interface ConvOptions {
  /** Step between windows; default 1. */
  stride?: number | [number, number];
  /** Zeros added on each side; default 0. */
  padding?: number | [number, number];
}

/** Options of {@link convForward}: the geometry, and optionally where to write y. */
export interface ConvForwardOptions<T extends FloatArray = FloatArray> extends ConvOptions {
  /** Where to write y (length N·D·Ho·Wo, x's type); default a new array. Layers reuse one. */
  out?: T;
  /**
   * Where to keep every sample's x_col (length N·C·kh·kw·Ho·Wo, x's type), so that
   * {@link convBackward} reuses them instead of gathering them again: memory for speed. The
   * cache then refers to this buffer, so it is valid until the buffer is reused. Default: none
   * (one scratch x_col is reused from sample to sample and the backward pass gathers again).
   */
  columns?: T;
}

/** Options of {@link convBackward}: where to write the gradients (each overwritten). */
export interface ConvBackwardOptions<T extends FloatArray = FloatArray> {
  /**
   * Where to write dx (x's length and type); default a new array. null: do not compute dx, for
   * a layer whose input is the data (nothing upstream needs its gradient, as PyTorch skips the
   * gradient of an input that does not require one): no w_colᵀ · dY products, no col2im; the
   * result's dx is then null.
   */
  dx?: T | null;
  /** Where to write dw (w's length and type); default a new array. */
  dw?: T;
  /** Where to write db (length D); default a new array. */
  db?: T;
}

/** What {@link convBackward} needs from the forward pass. Treat it as opaque. */
export interface ConvCache<T extends FloatArray = FloatArray> {
  /** The input [N,C,H,W]. */
  readonly x: Tensor<T>;
  /** The weights [D,C,kh,kw]. */
  readonly w: Tensor<T>;
  /** The fancy-index table of this geometry. */
  readonly table: Im2colTable;
  /** The output shape [N,D,Ho,Wo], which dy must have. */
  readonly yShape: readonly number[];
  /** Every sample's x_col [N, K, P] when the forward pass was given `columns`. */
  readonly columns?: T;
}

/** The result of {@link convForward}. */
export interface ConvForwardResult<T extends FloatArray = FloatArray> {
  /** y [N,D,Ho,Wo]. */
  readonly y: Tensor<T>;
  /** For {@link convBackward}. */
  readonly cache: ConvCache<T>;
}

/** The result of {@link convBackward} with `dx: null`: the parameters' gradients only. */
export interface ConvParamGradients<T extends FloatArray = FloatArray> {
  /** Not computed. */
  readonly dx: null;
  /** dL/dw [D,C,kh,kw]. */
  readonly dw: Tensor<T>;
  /** dL/db [D]. */
  readonly db: Tensor<T>;
}

/** The result of {@link convBackward}: gradients of the loss with respect to x, w and b. */
export interface ConvGradients<T extends FloatArray = FloatArray> {
  /** dL/dx [N,C,H,W]. */
  readonly dx: Tensor<T>;
  /** dL/dw [D,C,kh,kw]. */
  readonly dw: Tensor<T>;
  /** dL/db [D]. */
  readonly db: Tensor<T>;
}

/** Checks x, w, b and the options, and builds the table. */
function convSetup(
  fn: string,
  x: Tensor,
  w: Tensor,
  b: Tensor,
  opts: ConvOptions,
): ConvSetup {
  checkTensor(fn, "x", x, 4);
  checkTensor(fn, "w", w, 4);
  checkTensor(fn, "b", b, 1);
  checkSameType(fn, "x", x, "w", w);
  checkSameType(fn, "x", x, "b", b);
  const [, C, H, W] = x.shape;
  const [D, Cw, kh, kw] = w.shape;
  const shapes = `(x ${fmtShape(x.shape)}, w ${fmtShape(w.shape)})`;
  if (C !== Cw) {
    throw new RangeError(`${fn}: x has ${C} channels but w expects ${Cw} ${shapes}`);
  }
  if (b.shape[0] !== D) {
    throw new RangeError(
      `${fn}: b has ${b.shape[0]} entries but w has ${D} filters (b ${fmtShape(b.shape)}, w ${
        fmtShape(w.shape)
      })`,
    );
  }
  const [sh, sw] = pairOption(fn, "stride", opts.stride, 1, [1, 1], shapes);
  const [ph, pw] = pairOption(fn, "padding", opts.padding, 0, [0, 0], shapes);
  if (kh > H + 2 * ph || kw > W + 2 * pw) {
    throw new RangeError(
      `${fn}: kernel [${kh},${kw}] is larger than the padded input [${H + 2 * ph},${W + 2 * pw}] ` +
        `${shapes}, padding [${ph},${pw}]`,
    );
  }
  const table = im2colTable({
    channels: C,
    height: H,
    width: W,
    kernel: [kh, kw],
    stride: [sh, sw],
    padding: [ph, pw],
  });
  return { table, stride: [sh, sw], padding: [ph, pw] };
}

/** What {@link convSetup} derives from the arguments. */
interface ConvSetup {
  readonly table: Im2colTable;
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
}

// The last panels packed for each weight array (w_col for the forward pass, w_colᵀ for the
// backward pass). Every pass packs again, since the weights change between steps, but into the
// same storage: a fresh 100 KiB array costs more in page faults than the packing itself.
const packedW = new WeakMap<FloatArray, PackedMatrix>();
const packedWT = new WeakMap<FloatArray, PackedMatrix>();

/** packA(w_col) (or its transpose), reusing the storage of the last one packed for w. */
function packWeights<T extends FloatArray>(
  cache: WeakMap<FloatArray, PackedMatrix>,
  w_col: Matrix<T>,
  transA: boolean,
): PackedMatrix<T> {
  const packed = packA(w_col, { transA, reuse: cache.get(w_col.data) });
  cache.set(w_col.data, packed);
  return packed;
}

/**
 * y = w_col · im2col(x) + b for every sample on kernels/conv_simd.wat, which reads x_col's
 * entries through one offset per kernel tap of a zero-padded copy of x_n instead of gathering
 * them into an array; bit-identical to the im2col + gemm loop below. Only where that holds and
 * pays: float32, stride 1, products large enough that gemm itself would run them on its SIMD
 * kernel (m·n·k ≥ 1000, n ≥ 4; below that gemm uses its plain loop, with other roundings), and
 * output rows that fill the kernel's 8-column panels well (Wo = 10 would waste 6 of 16).
 * Returns false, having written nothing, where it does not apply or cannot run.
 */
function convForwardSimd<T extends FloatArray>(
  x: Tensor<T>,
  w: Tensor<T>,
  b: Tensor<T>,
  { table, stride, padding }: ConvSetup,
  y: T,
): boolean {
  const D = w.shape[0], K = table.rows, P = table.cols, Wo = table.outWidth;
  if (!(x.data instanceof Float32Array) || stride[0] !== 1 || stride[1] !== 1) return false;
  if (D * P * K < 1000 || P < 4 || Math.ceil(Wo / 8) * 8 > 1.25 * Wo) return false;
  const [N, C, H, W] = x.shape;
  const geometry = { n: N, c: C, h: H, w: W, d: D, kh: w.shape[2], kw: w.shape[3] };
  return convSimd(x.data, w.data as Float32Array, b.data as Float32Array, {
    ...geometry,
    ph: padding[0],
    pw: padding[1],
  }, y as Float32Array);
}

/** Forward pass once the arguments are checked (see {@link convSetup}). */
function convForwardChecked<T extends FloatArray>(
  x: Tensor<T>,
  w: Tensor<T>,
  b: Tensor<T>,
  setup: ConvSetup,
  y: T,
  columns: T | undefined,
): ConvForwardResult<T> {
  const table = setup.table;
  // x [N,C,H,W], w [D,C,kh,kw], b [D] -> y [N,D,Ho,Wo]
  const N = x.shape[0], D = w.shape[0];
  const K = table.rows, P = table.cols, CHW = table.inputSize;
  const w_col = { data: w.data, rows: D, cols: K }; // [D, K]: w as stored
  if (P === 1) {
    // One output position per sample (the kernel covers the padded input, as in a fully
    // connected layer): stack the samples' single columns as rows of x_cols [N, K] and make
    // the whole batch one GEMM, y [N, D] = x_cols · w_colᵀ, which is already y's layout.
    const x_cols = table.identity ? x.data : columns ?? scratch(x.data, "conv.x_col", N * K);
    if (!table.identity) {
      for (let n = 0; n < N; n++) {
        im2col(x.data.subarray(n * CHW, (n + 1) * CHW), table, {
          out: x_cols.subarray(n * K, (n + 1) * K),
        });
      }
    }
    for (let n = 0; n < N; n++) y.set(b.data, n * D);
    gemm({ data: x_cols, rows: N, cols: K }, w_col, { transB: true, beta: 1, out: y });
  } else if (columns === undefined && convForwardSimd(x, w, b, setup, y)) {
    // done on the WebAssembly kernel that never builds x_col (see convForwardSimd)
  } else {
    // x_col [K, P]: one scratch matrix reused for every sample, or sample n's slice of columns
    const scratch_col = columns === undefined ? scratch(x.data, "conv.x_col", K * P) : undefined;
    // w_col is the same for every sample: pack it for the GEMM kernel once, not N times
    const w_packed = packWeights(packedW, w_col, false);
    for (let n = 0; n < N; n++) {
      const x_col = scratch_col ?? columns!.subarray(n * K * P, (n + 1) * K * P);
      im2col(x.data.subarray(n * CHW, (n + 1) * CHW), table, { out: x_col });
      const y_n = y.subarray(n * D * P, (n + 1) * D * P); // [D, P]
      for (let d = 0; d < D; d++) y_n.fill(b.data[d], d * P, (d + 1) * P);
      gemm(w_packed, { data: x_col, rows: K, cols: P }, { beta: 1, out: y_n });
    }
  }
  const yShape = [N, D, table.outHeight, table.outWidth];
  const kept = columns !== undefined && !(P === 1 && table.identity) ? columns : undefined;
  return { y: { shape: yShape, data: y }, cache: { x, w, table, yShape, columns: kept } };
}

/** Backward pass once dy is checked against the cache. */
function convBackwardChecked<T extends FloatArray>(
  dy: Tensor<T>,
  cache: ConvCache<T>,
  dx: T | null,
  dw: T,
  db: T,
): ConvGradients<T> | ConvParamGradients<T> {
  // dy [N,D,Ho,Wo] -> dx [N,C,H,W], dw [D,C,kh,kw], db [D]
  const { x, w, table } = cache;
  const N = x.shape[0], D = w.shape[0];
  const K = table.rows, P = table.cols, CHW = table.inputSize;
  const w_col = { data: w.data, rows: D, cols: K };
  const dY = dy.data;
  // dx and db accumulate (col2im, Σ over samples), dw accumulates over samples: start at 0
  dx?.fill(0);
  dw.fill(0);
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
  if (P === 1) {
    // The batched form of the per-sample formulas: dY is [N, D], x_cols [N, K].
    // dW = dYᵀ · x_cols [D, K];  dx_cols = dY · w_col [N, K], then col2im per sample.
    let x_cols = x.data;
    if (cache.columns !== undefined) {
      x_cols = cache.columns;
    } else if (!table.identity) {
      x_cols = scratch(x.data, "conv.x_col", N * K);
      for (let n = 0; n < N; n++) {
        im2col(x.data.subarray(n * CHW, (n + 1) * CHW), table, {
          out: x_cols.subarray(n * K, (n + 1) * K),
        });
      }
    }
    const dY_mat = { data: dY, rows: N, cols: D };
    gemm(dY_mat, { data: x_cols, rows: N, cols: K }, { transA: true, out: dw });
    if (dx === null) {
      // no input gradient asked for
    } else if (table.identity) {
      gemm(dY_mat, w_col, { out: dx });
    } else {
      const dx_cols = gemm(dY_mat, w_col, { out: scratch(x.data, "conv.dx_col", N * K) });
      for (let n = 0; n < N; n++) {
        col2im(dx_cols.subarray(n * K, (n + 1) * K), table, {
          out: dx.subarray(n * CHW, (n + 1) * CHW),
        });
      }
    }
  } else {
    const cols = cache.columns;
    const scratch_col = cols === undefined ? scratch(x.data, "conv.x_col", K * P) : undefined;
    const dx_col = scratch(x.data, "conv.dx_col", K * P); // [K, P]
    // w_colᵀ [K, D], once for all samples (when dx is wanted)
    const w_colT = dx === null ? null : packWeights(packedWT, w_col, true);
    for (let n = 0; n < N; n++) {
      const dY_n = { data: dY.subarray(n * D * P, (n + 1) * D * P), rows: D, cols: P };
      // x_col [K, P]: kept by the forward pass, or gathered again
      const x_col = scratch_col === undefined
        ? cols!.subarray(n * K * P, (n + 1) * K * P)
        : im2col(x.data.subarray(n * CHW, (n + 1) * CHW), table, { out: scratch_col });
      // dW += dY_n · x_colᵀ   [D, P]·[P, K]
      gemm(dY_n, { data: x_col, rows: K, cols: P }, { transB: true, beta: 1, out: dw });
      if (dx === null || w_colT === null) continue;
      // dx_col = w_colᵀ · dY_n   [K, D]·[D, P]; then col2im: the same table, used backwards
      gemm(w_colT, dY_n, { out: dx_col });
      col2im(dx_col, table, { out: dx.subarray(n * CHW, (n + 1) * CHW) });
    }
  }
  const dw_t = { shape: [...w.shape], data: dw }, db_t = { shape: [D], data: db };
  if (dx === null) return { dx: null, dw: dw_t, db: db_t };
  return { dx: { shape: [...x.shape], data: dx }, dw: dw_t, db: db_t };
}

/**
 * The forward pass of a 2-D convolution (cross-correlation, as in PyTorch's `conv2d`).
 *
 * y[n, d, oh, ow] = b[d] + Σ_{c,i,j} w[d, c, i, j] · x[n, c, oh·sh − ph + i, ow·sw − pw + j],
 * computed as y_n = w_col · im2col(x_n) + b.
 *
 * @param x Input [N, C, H, W].
 * @param w Filters [D, C, kh, kw].
 * @param b Bias [D].
 * @param opts Stride and padding, one number or [rows, cols]; output size floored as PyTorch.
 *   `out`: a buffer to write y into (checked before anything is written).
 * @returns y [N, D, Ho, Wo] of x's array type, and the cache for {@link convBackward}.
 * @throws {RangeError} On wrong ranks, channel or bias mismatch, a kernel larger than the padded
 *   input, or a stride/padding that is not a positive (padding: non-negative) integer.
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
 * // stride 2 with padding 1 reads zeros at the border: windows at (-1,-1), (-1,1), (1,-1), (1,1)
 * assertEquals(Array.from(convForward(x, w, b, { stride: 2, padding: 1 }).y.data), [1, 5, 11, 28]);
 * ```
 */
export function convForward<T extends FloatArray>(
  x: Tensor<T>,
  w: Tensor<T>,
  b: Tensor<T>,
  opts: ConvForwardOptions<T> = {},
): ConvForwardResult<T> {
  const setup = convSetup("convForward", x, w, b, opts), table = setup.table;
  const size = x.shape[0] * w.shape[0] * table.cols;
  const inputs = { x: x.data, w: w.data, b: b.data };
  const y = outputBuffer("convForward", "opts.out", opts.out, x.data, size, inputs);
  let columns: T | undefined;
  if (opts.columns !== undefined) {
    const n = x.shape[0] * table.rows * table.cols;
    columns = outputBuffer("convForward", "opts.columns", opts.columns, x.data, n, inputs);
    if (overlaps(columns, y)) {
      throw new RangeError("convForward: opts.columns and opts.out must not share memory");
    }
  }
  return convForwardChecked(x, w, b, setup, y, columns);
}

/**
 * convBackward with `dx: null`: the parameters' gradients only, for a layer whose input is the
 * data (see {@link ConvBackwardOptions.dx}); dx is not computed and is null in the result.
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
 * import { convBackward, convForward } from "./conv.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 2, 2], data: new Float64Array([1, 2, 3, 4]) };
 * const w = { shape: [1, 1, 1, 1], data: new Float64Array([2]) };
 * const { cache } = convForward(x, w, { shape: [1], data: new Float64Array([0]) });
 * const g = convBackward({ shape: [1, 1, 2, 2], data: new Float64Array(4).fill(1) }, cache, {
 *   dx: null,
 * });
 * assertEquals([g.dx, Array.from(g.dw.data), Array.from(g.db.data)], [null, [10], [4]]);
 * ```
 */
export function convBackward<T extends FloatArray>(
  dy: Tensor<T>,
  cache: ConvCache<T>,
  opts: ConvBackwardOptions<T> & { dx: null },
): ConvParamGradients<T>;
/**
 * The backward pass of {@link convForward}: dW = Σ_n dY_n · x_col_nᵀ, db = Σ dY,
 * dX_n = col2im(w_colᵀ · dY_n).
 *
 * @param dy dL/dy [N, D, Ho, Wo], the shape and type of the forward output.
 * @param cache The cache from {@link convForward}.
 * @param opts Optional buffers to write dx, dw, db into (checked before anything is written);
 *   `dx: null` to skip dx (the input is data).
 * @returns dx, dw, db with the shapes of x, w, b (dx null when `opts.dx` is null).
 * @throws {RangeError} If dy's shape differs from y's.
 * @throws {TypeError} If dy's type differs from x's or the cache is not a conv cache.
 *
 * @example The gradient of the sum of outputs
 * ```ts
 * import { convBackward, convForward } from "./conv.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 3, 3], data: new Float64Array([1, 2, 3, 4, 5, 6, 7, 8, 9]) };
 * const w = { shape: [1, 1, 2, 2], data: new Float64Array([1, 1, 1, 1]) };
 * const b = { shape: [1], data: new Float64Array([0]) };
 * const { cache } = convForward(x, w, b);
 * const { dx, dw, db } = convBackward({ shape: [1, 1, 2, 2], data: new Float64Array(4).fill(1) }, cache);
 * assertEquals(Array.from(dx.data), [1, 2, 1, 2, 4, 2, 1, 2, 1]); // windows covering each cell
 * assertEquals(Array.from(dw.data), [12, 16, 24, 28]); // each tap sums the cells it reads
 * assertEquals(Array.from(db.data), [4]);
 * // the first layer of a network: its input is data, so skip dx
 * const first = convBackward({ shape: [1, 1, 2, 2], data: new Float64Array(4).fill(1) }, cache, {
 *   dx: null,
 * });
 * assertEquals(first.dx, null);
 * assertEquals(first.dw.data, dw.data);
 * ```
 */
export function convBackward<T extends FloatArray>(
  dy: Tensor<T>,
  cache: ConvCache<T>,
  opts?: ConvBackwardOptions<T>,
): ConvGradients<T>;
export function convBackward<T extends FloatArray>(
  dy: Tensor<T>,
  cache: ConvCache<T>,
  opts: ConvBackwardOptions<T> = {},
): ConvGradients<T> | ConvParamGradients<T> {
  const fn = "convBackward";
  checkCache(fn, cache);
  checkTensor(fn, "dy", dy);
  checkShapeEquals(fn, "dy", dy, cache.yShape, "y");
  checkSameType(fn, "x", cache.x, "dy", dy);
  const { x, w } = cache;
  const inputs = { dy: dy.data, x: x.data, w: w.data };
  const dx = opts.dx === null
    ? null
    : outputBuffer(fn, "opts.dx", opts.dx, x.data, x.data.length, inputs);
  const dw = outputBuffer(fn, "opts.dw", opts.dw, w.data, w.data.length, inputs);
  const db = outputBuffer(fn, "opts.db", opts.db, w.data, w.shape[0], inputs);
  if ((dx !== null && (overlaps(dx, dw) || overlaps(dx, db))) || overlaps(dw, db)) {
    throw new RangeError(`${fn}: opts.dx, opts.dw and opts.db must not share memory`);
  }
  return convBackwardChecked(dy, cache, dx, dw, db);
}

// The number of elements of y when x and w are well-formed, else null (convForward then throws).
function convOutputShape(x: Tensor, w: Tensor, opts: ConvOptions): number | null {
  if (x?.shape?.length !== 4 || w?.shape?.length !== 4 || !isFloatArray(x.data)) return null;
  const [sh, sw] = typeof opts.stride === "number"
    ? [opts.stride, opts.stride]
    : opts.stride ?? [1, 1];
  const [ph, pw] = typeof opts.padding === "number"
    ? [opts.padding, opts.padding]
    : opts.padding ?? [0, 0];
  const Ho = Math.floor((x.shape[2] + 2 * ph - w.shape[2]) / sh) + 1;
  const Wo = Math.floor((x.shape[3] + 2 * pw - w.shape[3]) / sw) + 1;
  const n = x.shape[0] * w.shape[0] * Ho * Wo;
  return Number.isInteger(n) && n > 0 ? n : null;
}

function checkCache(fn: string, cache: unknown): void {
  const c = cache as ConvCache | undefined;
  if (typeof c !== "object" || c === null || c.table === undefined || c.x === undefined) {
    throw new TypeError(`${fn}: cache must be the cache returned by the forward pass`);
  }
}

/** Options of {@link Conv2D}. */
export interface Conv2DOptions extends ConvOptions {
  /** Input channels C. */
  inChannels: number;
  /** Output channels (filters) D. */
  outChannels: number;
  /** Kernel size, one number or [kh, kw]. */
  kernelSize: number | [number, number];
  /** Element type of the parameters; default "float32". */
  dtype?: "float32" | "float64";
  /** Random source for the initial weights; default `mulberry32(0)`. */
  rng?: Rng;
}

/**
 * A convolution layer holding its filters, bias, their gradients and the forward cache.
 *
 * Like llm.c's preallocated activations, the tensors `forward` and `backward` return live in
 * buffers the layer owns and reuses from call to call (a fresh large typed array costs page
 * faults on first touch): they stay valid until the layer's next call; copy them to keep them.
 *
 * @example
 * ```ts
 * import { Conv2D } from "./conv.ts";
 * import { assertEquals } from "@std/assert";
 * const conv = new Conv2D({ inChannels: 1, outChannels: 4, kernelSize: 3, padding: 1 });
 * const y = conv.forward({ shape: [2, 1, 5, 5], data: new Float32Array(50).fill(1) });
 * assertEquals(y.shape, [2, 4, 5, 5]);
 * const dx = conv.backward({ shape: y.shape, data: new Float32Array(200).fill(1) });
 * assertEquals(dx.shape, [2, 1, 5, 5]);
 * assertEquals(conv.params()[1].grad.data[0], 2 * 25); // db = Σ dy over batch and positions
 * ```
 */
export class Conv2D implements Layer {
  /** The layer kind. */
  readonly kind: string = "Conv2D";
  /** Filters [D, C, kh, kw]. */
  readonly w: Param;
  /** Bias [D]. */
  readonly b: Param;
  /** Stride and padding. */
  readonly options: ConvOptions;
  /**
   * Training mode (the default): forward keeps every sample's x_col for the backward pass
   * (memory for one gather fewer per sample). Evaluation mode (`Sequential.eval()` sets it
   * false): forward keeps none, so a float32 stride-1 layer runs on the SIMD kernel that never
   * builds x_col; backward still works, gathering x_col again. The numbers are the same.
   */
  training = true;
  #cache: ConvCache | undefined;
  #y: FloatArray | undefined;
  #dx: FloatArray | undefined;
  #cols: FloatArray | undefined;

  /**
   * Creates the layer; parameters (if any) start freshly initialised.
   *
   * @param opts Channels, kernel size, stride, padding, dtype and the random source.
   * @throws {RangeError} If a size is not a positive integer.
   */
  constructor(opts: Conv2DOptions) {
    const { inChannels: C, outChannels: D } = opts;
    const [kh, kw] = pairOption("Conv2D", "kernelSize", opts.kernelSize, 1, [0, 0]);
    for (const [name, v] of [["inChannels", C], ["outChannels", D]] as const) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(`Conv2D: ${name} must be a positive integer, got ${v}`);
      }
    }
    pairOption("Conv2D", "stride", opts.stride, 1, [1, 1]);
    pairOption("Conv2D", "padding", opts.padding, 0, [0, 0]);
    const dtype = opts.dtype ?? "float32";
    const rng = opts.rng ?? mulberry32(0);
    const K = C * kh * kw;
    const w = heNormal(D * K, { fanIn: K, dtype, rng });
    this.w = {
      name: "w",
      value: { shape: [D, C, kh, kw], data: w },
      grad: { shape: [D, C, kh, kw], data: zerosLike(w, w.length) },
    };
    this.b = {
      name: "b",
      value: { shape: [D], data: zerosLike(w, D) },
      grad: { shape: [D], data: zerosLike(w, D) },
    };
    this.options = { stride: opts.stride, padding: opts.padding };
  }

  /**
   * Runs the forward pass and keeps its cache for `backward`.
   *
   * @param x Input [N, C, H, W].
   * @returns y [N, D, Ho, Wo].
   * @throws {RangeError} As {@link convForward}.
   */
  forward(x: Tensor): Tensor {
    const size = convOutputShape(x, this.w.value, this.options);
    let out: FloatArray | undefined, columns: FloatArray | undefined;
    if (size !== null) {
      // y, and (training) every sample's x_col kept for backward ([N, C·kh·kw, Ho·Wo]): reused
      const w = this.w.value, K = w.data.length / w.shape[0];
      out = this.#y = reuseBuffer(this.#y, x.data, size);
      if (this.training) {
        columns = this.#cols = reuseBuffer(this.#cols, x.data, (size / w.shape[0]) * K);
      }
    }
    const { y, cache } = convForward(x, this.w.value, this.b.value, {
      ...this.options,
      out,
      columns,
    });
    this.#cache = cache;
    return y;
  }

  /**
   * Runs the backward pass of the last `forward`; parameter gradients are overwritten.
   *
   * @param dy dL/dy [N, D, Ho, Wo].
   * @returns dL/dx [N, C, H, W]; dL/dw and dL/db go to the params' `grad`.
   * @throws {Error} If called before `forward`; otherwise as {@link convBackward}.
   */
  backward(dy: Tensor): Tensor {
    if (this.#cache === undefined) throw new Error("Conv2D.backward: call forward first");
    const x = this.#cache.x;
    this.#dx = reuseBuffer(this.#dx, x.data, x.data.length);
    const { dx } = convBackward(dy, this.#cache, {
      dx: this.#dx,
      dw: this.w.grad.data,
      db: this.b.grad.data,
    });
    return dx;
  }

  /**
   * The backward pass for a first layer, whose input is the data: fills the params' `grad` as
   * {@link Conv2D.backward} does, bit for bit, without computing dL/dx.
   *
   * @param dy dL/dy [N, D, Ho, Wo].
   * @returns Nothing; dL/dw and dL/db go to the params' `grad`.
   * @throws {Error} If called before `forward`; otherwise as {@link convBackward}.
   */
  backwardParams(dy: Tensor): void {
    if (this.#cache === undefined) throw new Error("Conv2D.backwardParams: call forward first");
    convBackward(dy, this.#cache, { dx: null, dw: this.w.grad.data, db: this.b.grad.data });
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
