/**
 * The blocked TypeScript GEMM: the Goto/BLIS scheme (Goto & van de Geijn, "Anatomy of
 * high-performance matrix multiplication", 2008) with a 4×4 register tile. The fast backend's
 * kernel for Float64Array, and for Float32Array where WebAssembly SIMD is missing.
 *
 *     for jc in n, step NC          B panel op(B)[pc.., jc..] packed once, reused by every A block
 *       for pc in k, step KC        first k block writes beta·C, later ones add to it
 *         pack op(B) block [KC, NC] into NR-column micro-panels        (gemm_pack.ts)
 *         for ic in m, step MC
 *           pack op(A) block [MC, KC] into MR-row micro-panels          (stays in L2)
 *           for jr in NC, step NR      one B micro-panel stays in L1
 *             for ir in MC, step MR    micro-kernel: MR×NR tile of C in registers, KC steps
 *
 * Packing copies each block once into the exact order the micro-kernel reads, so the innermost
 * loop reads both operands sequentially whatever the transposes, and never tests for edges (packs
 * are zero-padded to whole tiles; only the live part of an edge tile is stored). docs/gemm.md
 * derives it and records what was measured.
 *
 * @module
 */

import type { FloatArray } from "../../tensor.ts";
import type { GemmProblem } from "../_gemm_args.ts";
import { blockSize, packPanels } from "./gemm_pack.ts";

/** Register tile: a 4×4 block of C in 16 local variables (see macroKernel). */
const MR = 4, NR = 4;

// Cache blocks, in elements. The TypeScript packs are Float64Array (8 bytes; see the pack
// buffers below):
// - KC = 256: an A micro-panel and a B micro-panel (KC·4·8 = 8 KiB each) together use half of a
//   32 KiB L1, so the tile's k loop never misses L1.
// - MC = 64: the packed A block (MC·KC·8 = 128 KiB) stays in a 256 KiB L2 while the B
//   micro-panels stream past it.
// - NC = 512: the packed B panel (KC·NC·8 = 1 MiB) is reused by every A block (L2 or L3).
// (~6 GFLOP/s at 512³ whatever these are: the limit is V8's bookkeeping per load; docs/gemm.md.)
const MC = 64, KC = 256, NC = 512;

// Pack buffers, reused by every call and grown when a bigger block is needed (bounded by
// MC·KC and KC·NC): kernel scratch, which never holds anything from one call to the next (see
// docs/architecture.md, "What is global"). Float64Array for both float types: widening float32 to float64 is exact, so
// the packed values are the inputs themselves, and one array type keeps the micro-kernel's loads
// monomorphic (measured ~8% faster than also feeding it Float32Array). The sums are float64 in
// any case (JavaScript arithmetic): a Float32Array C gets them rounded to float32 once per KC
// block of k, so this path is more accurate than a float32 BLAS, and differs from the SIMD path
// (float32 sums) by float32 rounding only.
let packBufA = new Float64Array(0);
let packBufB = new Float64Array(0);

/** Scratch for the edge tiles (fewer than MR rows or NR columns live). */
const edgeTile = new Float64Array(MR * NR);

/**
 * Stores one row of a tile: C[o..o+3] = alpha·x + beta·C (beta = 0: C not read).
 * Small enough for V8 to inline into the macro-kernel.
 */
function storeRow(
  c: FloatArray,
  o: number,
  alpha: number,
  beta: number,
  x0: number,
  x1: number,
  x2: number,
  x3: number,
): void {
  if (beta === 0) {
    c[o] = alpha * x0;
    c[o + 1] = alpha * x1;
    c[o + 2] = alpha * x2;
    c[o + 3] = alpha * x3;
  } else {
    c[o] = alpha * x0 + beta * c[o];
    c[o + 1] = alpha * x1 + beta * c[o + 1];
    c[o + 2] = alpha * x2 + beta * c[o + 2];
    c[o + 3] = alpha * x3 + beta * c[o + 3];
  }
}

/**
 * C[mc, nc] (at c0, row stride ldc) = alpha·Ap·Bp + beta·C for one packed block: Ap holds
 * ceil(mc/4) micro-panels [kc, 4], Bp ceil(nc/4) micro-panels [kc, 4].
 */
function macroKernel(
  pa: Float64Array,
  pb: Float64Array,
  mc: number,
  nc: number,
  kc: number,
  c: FloatArray,
  c0: number,
  ldc: number,
  alpha: number,
  beta: number,
): void {
  // jr outer: one B micro-panel (kc·NR values) stays in L1 while the A block streams past it.
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = Math.min(NR, nc - jr);
    // ir inner: the tiles of one NR-column strip of C, top to bottom.
    for (let ir = 0; ir < mc; ir += MR) {
      const mr = Math.min(MR, mc - ir);
      // The 4×4 tile of C, c<row><col>: 16 sums, 8 loads per 32 flops. With a0..a3 and b that
      // is 21 live values, more than V8's 15 usable xmm registers, so some spill; the tiles that
      // fit were no faster (docs/gemm.md has the counts and the tiles tried).
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
      let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      // k loop: one rank-1 update per step, 4 values of A × 4 values of B, both sequential.
      for (let ia = ir * kc, ib = jr * kc, end = ib + kc * NR; ib < end; ia += MR, ib += NR) {
        const a0 = pa[ia], a1 = pa[ia + 1], a2 = pa[ia + 2], a3 = pa[ia + 3];
        let b = pb[ib];
        c00 += a0 * b;
        c10 += a1 * b;
        c20 += a2 * b;
        c30 += a3 * b;
        b = pb[ib + 1];
        c01 += a0 * b;
        c11 += a1 * b;
        c21 += a2 * b;
        c31 += a3 * b;
        b = pb[ib + 2];
        c02 += a0 * b;
        c12 += a1 * b;
        c22 += a2 * b;
        c32 += a3 * b;
        b = pb[ib + 3];
        c03 += a0 * b;
        c13 += a1 * b;
        c23 += a2 * b;
        c33 += a3 * b;
      }
      const o = c0 + ir * ldc + jr;
      if (mr === MR && nr === NR) {
        storeRow(c, o, alpha, beta, c00, c01, c02, c03);
        storeRow(c, o + ldc, alpha, beta, c10, c11, c12, c13);
        storeRow(c, o + 2 * ldc, alpha, beta, c20, c21, c22, c23);
        storeRow(c, o + 3 * ldc, alpha, beta, c30, c31, c32, c33);
      } else {
        // Edge tile: the zero-padded rows/columns were computed too; store only the live mr×nr.
        const t = edgeTile;
        t[0] = c00, t[1] = c01, t[2] = c02, t[3] = c03;
        t[4] = c10, t[5] = c11, t[6] = c12, t[7] = c13;
        t[8] = c20, t[9] = c21, t[10] = c22, t[11] = c23;
        t[12] = c30, t[13] = c31, t[14] = c32, t[15] = c33;
        for (let i = 0; i < mr; i++) {
          for (let j = 0, oi = o + i * ldc; j < nr; j++) {
            const x = alpha * t[i * NR + j];
            c[oi + j] = beta === 0 ? x : x + beta * c[oi + j];
          }
        }
      }
    }
  }
}

/**
 * C = alpha·op(A)·op(B) + beta·C on the blocked TypeScript path (m, n, k ≥ 1; alpha ≠ 0).
 *
 * @param problem The checked problem: strides of op(A) and op(B), sizes, scales, C.
 * @returns Nothing; `problem.c` holds the result.
 *
 * @example A 5×6 times a 6×7, against the reference triple loop
 * ```ts
 * import { gemmBlocked } from "./gemm_blocked.ts";
 * import { gemm } from "../gemm.ts";
 * import { assertEquals } from "@std/assert";
 * const a = Float64Array.from({ length: 30 }, (_, i) => i % 7 - 3);
 * const b = Float64Array.from({ length: 42 }, (_, i) => i % 5 - 2);
 * const c = new Float64Array(35);
 * gemmBlocked({ a, rsA: 6, csA: 1, b, rsB: 7, csB: 1, m: 5, n: 7, k: 6, alpha: 1, beta: 0, c });
 * assertEquals(c, gemm({ data: a, rows: 5, cols: 6 }, { data: b, rows: 6, cols: 7 }));
 * ```
 */
export function gemmBlocked(problem: GemmProblem): void {
  const { a, rsA, csA, b, rsB, csB, m, n, k, alpha, beta, c } = problem;
  const mcMax = blockSize(m, MC, MR), ncMax = blockSize(n, NC, NR), kcMax = blockSize(k, KC, 1);
  if (packBufA.length < mcMax * kcMax) packBufA = new Float64Array(mcMax * kcMax);
  if (packBufB.length < kcMax * ncMax) packBufB = new Float64Array(kcMax * ncMax);
  const pa = packBufA, pb = packBufB;
  // jc: one NC-wide column panel of C and op(B), so a packed B block is bounded (L2/L3).
  for (let jc = 0; jc < n; jc += ncMax) {
    const nc = Math.min(ncMax, n - jc);
    // pc: one KC-deep k block, so the micro-panels fit L1; the first applies beta, the next
    // ones add to it (beta = 1).
    for (let p0 = 0; p0 < k; p0 += kcMax) {
      const kc = Math.min(kcMax, k - p0);
      // op(B) block [kc, nc] packed as op(B)ᵀ [nc, kc]: rows step csB, columns step rsB.
      packPanels(pb, 0, b, p0 * rsB + jc * csB, csB, rsB, nc, kc, NR);
      const bt = p0 === 0 ? beta : 1;
      // ic: one MC-tall row block of op(A), packed once and kept in L2 while the macro-kernel
      // sweeps every B micro-panel of the packed B block across it.
      for (let ic = 0; ic < m; ic += mcMax) {
        const mc = Math.min(mcMax, m - ic);
        packPanels(pa, 0, a, ic * rsA + p0 * csA, rsA, csA, mc, kc, MR);
        macroKernel(pa, pb, mc, nc, kc, c, ic * n + jc, n, alpha, bt);
      }
    }
  }
}
