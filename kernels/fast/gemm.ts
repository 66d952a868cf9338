/**
 * The fast backend's GEMM: gemm's checks (shared with the reference), then the kernel dispatch.ts
 * picks for the shape; and {@link product}, the unchecked form the fast layers call.
 *
 * @module
 */

import type { FloatArray } from "../../tensor.ts";
import type * as reference from "../gemm.ts";
import type { Matrix } from "../gemm.ts";
import { gemmArgs, gemmProblem } from "../_gemm_args.ts";
import { runGemm } from "./dispatch.ts";
import type { PackedPanels } from "./gemm_simd.ts";

/**
 * C = alpha·op(A)·op(B) + beta·C on the fastest kernel for the shape, with the signature and
 * contract of kernels/gemm.ts's gemm: the same checks, the same BLAS semantics.
 *
 * @example
 * ```ts
 * import { gemm } from "./gemm.ts";
 * import { assertEquals } from "@std/assert";
 * const a = { data: new Float32Array([1, 2, 3, 4]), rows: 2, cols: 2 };
 * assertEquals(Array.from(gemm(a, a)), [7, 10, 15, 22]);
 * ```
 */
export const gemm: typeof reference.gemm = (a, b, opts = {}) => {
  const p = gemmArgs("gemm", a, b, opts);
  runGemm(p);
  return p.c;
};

/** The transposes and the scale of C of a {@link product}. */
export interface ProductOptions {
  /** Use Aᵀ. */
  transA?: boolean;
  /** Use Bᵀ. */
  transB?: boolean;
  /** 1 to add to C, 0 (the default) to overwrite it. */
  beta?: number;
  /** op(A) packed for these products by `packForGemm`, or null. */
  packed?: PackedPanels | null;
}

/**
 * C = op(A)·op(B) + beta·C without gemm's checks: for the fast layers, whose arguments have
 * been checked already.
 *
 * @param a A.
 * @param b B.
 * @param c C [m, n].
 * @param opts Transposes, beta and the packed A.
 * @returns `c`.
 *
 * @example w_colᵀ · dY
 * ```ts
 * import { product } from "./gemm.ts";
 * import { assertEquals } from "@std/assert";
 * const w_col = { data: new Float64Array([1, 2, 3, 4, 5, 6]), rows: 2, cols: 3 };
 * const dY = { data: new Float64Array([1, 0, 0, 1]), rows: 2, cols: 2 };
 * assertEquals(Array.from(product(w_col, dY, new Float64Array(6), { transA: true })), [1, 4, 2, 5, 3, 6]);
 * ```
 */
export function product<T extends FloatArray>(
  a: Matrix<T>,
  b: Matrix<T>,
  c: T,
  opts: ProductOptions = {},
): T {
  runGemm(gemmProblem(a, b, opts, c), opts.packed ?? null);
  return c;
}
