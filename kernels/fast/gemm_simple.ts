/**
 * The simple GEMM: plain loop nests without packing, for the fast backend's tiny and thin
 * products, where packing would cost more than it saves (the thresholds are in dispatch.ts).
 *
 * @module
 */

import type { GemmProblem } from "../_gemm_args.ts";

/** Float64 accumulator for one row of C in the simple path's i-p-j order; grown when needed
 * (kernel scratch: nothing stays in it from one call to the next). */
let rowAcc = new Float64Array(0);

/**
 * The simple path: no packing, so nothing to amortise; the fastest for tiny problems and for
 * matrix-vector shapes (m or n < 4), which the 4-wide tiles would pad with up to 3 wasted rows or
 * columns. Sums are float64; C = alpha·s + beta·C at the end. Loop order by layout, so the
 * innermost loop is always sequential:
 * - B not transposed and C rows long enough (n ≥ 16): i-p-j, each k step adds a·B[p, :] to a
 *   float64 row accumulator (for x [1, K] · W [K, N], the inner loop runs along rows of W);
 * - otherwise: one dot product per C[i, j] (for B transposed, both operands run along k).
 *
 * @param problem The checked problem.
 * @returns Nothing; `problem.c` holds the result.
 *
 * @example The same bits as the reference triple loop (both sum each entry in k order, in float64)
 * ```ts
 * import { gemmSimple } from "./gemm_simple.ts";
 * import { gemm } from "../gemm.ts";
 * import { assertEquals } from "@std/assert";
 * const a = Float32Array.from({ length: 6 }, (_, i) => 0.1 * i), b = Float32Array.from([3, 0.7, 1]);
 * const c = new Float32Array(2);
 * gemmSimple({ a, rsA: 3, csA: 1, b, rsB: 1, csB: 1, m: 2, n: 1, k: 3, alpha: 1, beta: 0, c });
 * assertEquals(c, gemm({ data: a, rows: 2, cols: 3 }, { data: b, rows: 3, cols: 1 }));
 * ```
 */
export function gemmSimple(problem: GemmProblem): void {
  const { a, rsA, csA, b, rsB, csB, m, n, k, alpha, beta, c } = problem;
  if (csB === 1 && n >= 16) {
    if (rowAcc.length < n) rowAcc = new Float64Array(n);
    const acc = rowAcc;
    for (let i = 0; i < m; i++) {
      acc.fill(0, 0, n);
      // p: one row of B at a time, scaled by A[i, p]; j: along that row and the accumulator.
      for (let p = 0, ia = i * rsA, ib0 = 0; p < k; p++, ia += csA, ib0 += rsB) {
        const aip = a[ia];
        for (let j = 0, ib = ib0; j < n; j++, ib++) acc[j] += aip * b[ib];
      }
      for (let j = 0, o = i * n; j < n; j++, o++) {
        c[o] = beta === 0 ? alpha * acc[j] : alpha * acc[j] + beta * c[o];
      }
    }
    return;
  }
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      // p: the dot product of row i of op(A) and column j of op(B), in a register.
      let s = 0;
      for (let p = 0, ia = i * rsA, ib = j * csB; p < k; p++, ia += csA, ib += rsB) {
        s += a[ia] * b[ib];
      }
      const o = i * n + j;
      c[o] = beta === 0 ? alpha * s : alpha * s + beta * c[o];
    }
  }
}
