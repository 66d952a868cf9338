/**
 * General matrix multiply, C = alpha·op(A)·op(B) + beta·C, on flat row-major arrays: the reference
 * form, a plain triple loop. Every convolution and fully connected layer is one or three of these.
 *
 * A transpose is never copied: op(A)[i, p] is a[i·rsA + p·csA], and Aᵀ only swaps the two
 * strides. Sums are JavaScript numbers (float64) for both array types, rounded once when stored.
 * The fast backend (kernels/fast/gemm.ts) computes the same products blocked, packed and on
 * WebAssembly SIMD; docs/gemm.md explains how.
 *
 * @module
 */

import type { FloatArray } from "../tensor.ts";
import { gemmArgs } from "./_gemm_args.ts";

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
  /** Scale of the product. Default 1. With alpha = 0, A and B are not read (as in BLAS). */
  alpha?: number;
  /** Scale of the existing C. Default 0 (C is overwritten; its old contents are never read). */
  beta?: number;
  /** Where to write C [m, n] (length m·n, A's type, sharing no memory with A or B). Default: a
   * new array. */
  out?: T;
}

/**
 * C = alpha·op(A)·op(B) + beta·C, where op(X) is X or Xᵀ. BLAS semantics: with beta = 0 the old
 * C is never read (NaN there is simply overwritten); with alpha = 0 (or k = 0) A and B are not
 * read and C = beta·C; otherwise every product is computed, so NaN and Inf in A or B reach C.
 *
 * @param a A, stored [m, k] (or [k, m] with `transA`).
 * @param b B, stored [k, n] (or [n, k] with `transB`).
 * @param opts Transposes, scales and the output array.
 * @returns C [m, n], row-major: `opts.out` when given, otherwise a new array of A's type.
 * @throws {RangeError} If the inner dimensions differ, a data length does not match its
 *   rows·cols, rows or cols is not a non-negative integer, or `out` has the wrong length or
 *   shares memory with A or B.
 * @throws {TypeError} If A, B and `out` are not all the same float array type, or alpha or beta
 *   is not a number.
 *
 * @example A 2×3 times a 3×2, and Aᵀ·A without copying
 * ```ts
 * import { gemm } from "./gemm.ts";
 * import { assertEquals } from "@std/assert";
 * const a = { data: new Float64Array([1, 2, 3, 4, 5, 6]), rows: 2, cols: 3 };
 * const b = { data: new Float64Array([7, 8, 9, 10, 11, 12]), rows: 3, cols: 2 };
 * assertEquals(gemm(a, b), new Float64Array([58, 64, 139, 154]));
 * assertEquals(gemm(a, a, { transA: true })[0], 1 * 1 + 4 * 4); // Aᵀ·A is 3×3
 * // accumulating into C: C = 2·A·B + C
 * const c = new Float64Array([1, 1, 1, 1]);
 * assertEquals(gemm(a, b, { alpha: 2, beta: 1, out: c }), new Float64Array([117, 129, 279, 309]));
 * ```
 */
export function gemm<T extends FloatArray>(
  a: Matrix<T>,
  b: Matrix<T>,
  opts: GemmOptions<T> = {},
): T {
  const { m, n, k, alpha, beta, c, ...s } = gemmArgs("gemm", a, b, opts);
  // op(A) [m, k] · op(B) [k, n] -> C [m, n]
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0; // Σ_p op(A)[i, p] · op(B)[p, j]
      if (alpha !== 0) {
        for (let p = 0; p < k; p++) sum += s.a[i * s.rsA + p * s.csA] * s.b[p * s.rsB + j * s.csB];
      }
      c[i * n + j] = beta === 0 ? alpha * sum : alpha * sum + beta * c[i * n + j];
    }
  }
  return c;
}
