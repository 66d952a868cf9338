/**
 * General matrix multiply, C = alpha·op(A)·op(B) + beta·C, on flat row-major arrays.
 *
 * INTERIM version (to be replaced by the cache-blocked, register-tiled kernel): correct for all
 * four transpose cases, used while the layers are built.
 *
 * @module
 */

import type { FloatArray } from "../tensor.ts";

/** A row-major matrix stored in a flat array: element `[i, j]` is `data[i * cols + j]`. */
export interface Matrix<T extends FloatArray = FloatArray> {
  /** The elements, row-major; may be a `subarray` view into a larger buffer. */
  readonly data: T;
  /** Rows as stored (before any transpose). */
  readonly rows: number;
  /** Columns as stored (before any transpose). */
  readonly cols: number;
}

/** Options of {@link gemm}. */
export interface GemmOptions<T extends FloatArray = FloatArray> {
  /** Use Aᵀ in place of A. Default false. */
  transA?: boolean;
  /** Use Bᵀ in place of B. Default false. */
  transB?: boolean;
  /** Scale of the product. Default 1. */
  alpha?: number;
  /** Scale of the existing C. Default 0 (C is overwritten; its old contents are never read). */
  beta?: number;
  /** Where to write C [m, n] (length m·n). Default: a new zero array of A's type. */
  out?: T;
}

/**
 * C = alpha·op(A)·op(B) + beta·C, where op(X) is X or Xᵀ.
 *
 * @param a A, stored [m, k] (or [k, m] with `transA`).
 * @param b B, stored [k, n] (or [n, k] with `transB`).
 * @param opts Transposes, scales and the output array.
 * @returns C [m, n], row-major: `opts.out` when given, otherwise a new array of A's type.
 * @throws {RangeError} If the inner dimensions differ, a data length does not match its
 *   rows·cols, or `out` has the wrong length.
 * @throws {TypeError} If A, B and `out` are not all the same float array type.
 *
 * @example A 2×3 times a 3×2
 * ```ts
 * import { gemm } from "./gemm.ts";
 * import { assertEquals } from "@std/assert";
 * const a = { data: new Float64Array([1, 2, 3, 4, 5, 6]), rows: 2, cols: 3 };
 * const b = { data: new Float64Array([7, 8, 9, 10, 11, 12]), rows: 3, cols: 2 };
 * assertEquals(gemm(a, b), new Float64Array([58, 64, 139, 154]));
 * // Aᵀ·A is 3×3: transpose without copying
 * assertEquals(gemm(a, a, { transA: true })[0], 1 * 1 + 4 * 4);
 * ```
 */
export function gemm<T extends FloatArray>(
  a: Matrix<T>,
  b: Matrix<T>,
  opts: GemmOptions<T> = {},
): T {
  const transA = opts.transA ?? false, transB = opts.transB ?? false;
  const alpha = opts.alpha ?? 1, beta = opts.beta ?? 0;
  const m = transA ? a.cols : a.rows, k = transA ? a.rows : a.cols;
  const kb = transB ? b.cols : b.rows, n = transB ? b.rows : b.cols;
  if (a.data.length !== a.rows * a.cols) {
    throw new RangeError(`gemm: a.data has ${a.data.length} elements, expected ${a.rows}x${a.cols}`);
  }
  if (b.data.length !== b.rows * b.cols) {
    throw new RangeError(`gemm: b.data has ${b.data.length} elements, expected ${b.rows}x${b.cols}`);
  }
  if (k !== kb) {
    throw new RangeError(
      `gemm: op(a) is ${m}x${k} but op(b) is ${kb}x${n}; inner dimensions must match`,
    );
  }
  if (a.data.constructor !== b.data.constructor) {
    throw new TypeError(`gemm: a is ${a.data.constructor.name} but b is ${b.data.constructor.name}`);
  }
  const out = opts.out;
  if (out !== undefined) {
    if (out.constructor !== a.data.constructor) {
      throw new TypeError(`gemm: out is ${out.constructor.name} but a is ${a.data.constructor.name}`);
    }
    if (out.length !== m * n) {
      throw new RangeError(`gemm: out has ${out.length} elements, expected ${m}x${n}`);
    }
  }
  const c = out ?? (new (a.data.constructor as { new (n: number): T })(m * n));
  const A = a.data, B = b.data;
  // strides of op(A) and op(B): element [i, p] of op(A) is A[i*as + p*ap]
  const as = transA ? 1 : a.cols, ap = transA ? a.cols : 1;
  const bp = transB ? 1 : b.cols, bs = transB ? b.cols : 1;
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    if (beta === 0) c.fill(0, ci, ci + n);
    else if (beta !== 1) for (let j = 0; j < n; j++) c[ci + j] *= beta;
    for (let p = 0; p < k; p++) {
      const av = alpha * A[i * as + p * ap];
      if (av === 0) continue;
      const bo = p * bp;
      for (let j = 0; j < n; j++) c[ci + j] += av * B[bo + j * bs];
    }
  }
  return c;
}
