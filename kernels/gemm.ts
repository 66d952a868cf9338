/**
 * General matrix multiply, C = alpha·op(A)·op(B) + beta·C, on flat row-major arrays: the hot loop
 * of convprop (every convolution and fully connected layer is one or three of these).
 *
 * How it is made fast (the Goto/BLIS scheme; Goto & van de Geijn, "Anatomy of high-performance
 * matrix multiplication", 2008):
 *
 *     for jc in n, step NC          B panel op(B)[pc.., jc..] packed once, reused by every A block
 *       for pc in k, step KC        first k block writes beta·C, later ones add to it
 *         pack op(B) block [KC, NC] into NR-column micro-panels        (kernels/_gemm_pack.ts)
 *         for ic in m, step MC
 *           pack op(A) block [MC, KC] into MR-row micro-panels          (stays in L2)
 *           for jr in NC, step NR      one B micro-panel stays in L1
 *             for ir in MC, step MR    micro-kernel: MR×NR tile of C in registers, KC steps
 *
 * Packing copies each block once into the exact order the micro-kernel reads, so the innermost
 * loop reads both operands sequentially whatever the transposes (a transpose only swaps the
 * strides the packing reads with: it is never materialised) and never tests for edges (packs are
 * zero-padded to whole tiles; only the live part of an edge tile is stored).
 *
 * Three implementations, chosen per call by {@link GemmOptions.backend} (default "auto"):
 * - "simd": Float32Array only. The micro-kernel is WebAssembly: 5×8 tiles with relaxed SIMD's
 *   fused multiply-add (kernels/gemm_simd_fma.wat) where the runtime accepts it, else 3×8 tiles
 *   of SIMD128 mul and add (kernels/gemm_simd.wat), driven by kernels/_gemm_simd.ts. Fastest;
 *   used automatically for float32 when the runtime has WebAssembly SIMD and the problem is large
 *   enough to pay for the copies.
 * - "ts": the same blocking in TypeScript with a 4×4 register tile (this file): the readable
 *   reference, and the path for Float64Array.
 * - "simple": a plain loop nest without packing, best for tiny problems and matrix-vector
 *   shapes, where packing costs more than it saves.
 *
 * When the same A multiplies many B's (a layer's weights, once per sample of a batch),
 * {@link packA} packs op(A) once for the SIMD kernel and {@link gemm} accepts the result in
 * place of A, so each call skips that packing (about a quarter of a [50, 500]·[500, 64] call).
 *
 * @module
 */

import type { FloatArray } from "../tensor.ts";
import { blockSize, packPanels } from "./_gemm_pack.ts";
import { gemmSimd, type PackedPanels, packOpA, simdAvailable } from "./_gemm_simd.ts";

/** A row-major matrix stored in a flat array: element `[i, j]` is `data[i * cols + j]`. */
export interface Matrix<T extends FloatArray = FloatArray> {
  /** The elements, row-major; may be a `subarray` view into a larger buffer. */
  readonly data: T;
  /** Rows as stored (before any transpose). */
  readonly rows: number;
  /** Columns as stored (before any transpose). */
  readonly cols: number;
}

/**
 * Which implementation {@link gemm} runs:
 * - `"auto"` (default): WebAssembly SIMD for large enough Float32Array problems when the runtime
 *   supports it, the simple loop for tiny problems, otherwise the blocked TypeScript path;
 * - `"simd"`: the WebAssembly SIMD kernel (Float32Array only; throws where unavailable);
 * - `"ts"`: the blocked, register-tiled TypeScript kernel;
 * - `"simple"`: the plain triple loop.
 *
 * All four give the same result up to rounding. Forcing one is for tests and benchmarks.
 */
export type GemmBackend = "auto" | "simd" | "ts" | "simple";

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
  /** Where to write C [m, n] (length m·n). Default: a new zero array of A's type. */
  out?: T;
  /** Which implementation to run (see {@link GemmBackend}). Default `"auto"`. */
  backend?: GemmBackend;
}

// ---------------------------------------------------------------------------------------------
// TypeScript path

/** Register tile: a 4×4 block of C in 16 local variables (see macroKernel). */
const MR = 4, NR = 4;

// Cache blocks, in elements. The TypeScript packs are Float64Array (8 bytes; see the pack
// buffers below):
// - KC = 256: an A micro-panel and a B micro-panel (KC·4·8 = 8 KiB each) together use half of a
//   32 KiB L1, so the tile's k loop never misses L1.
// - MC = 64: the packed A block (MC·KC·8 = 128 KiB) stays in a 256 KiB L2 while the B
//   micro-panels stream past it.
// - NC = 512: the packed B panel (KC·NC·8 = 1 MiB) is reused by every A block (L2 or L3).
// The scalar kernel runs ~6 GFLOP/s at 512³ whatever these are (KC = 128 or 384 measured the
// same), so they matter less here than for SIMD; they keep every operand cache-resident for
// large problems. What limits it is instructions, not multiplies: V8 (Node 20's printed code)
// emits about 6 instructions of index arithmetic and bounds check per typed-array load, and
// re-checks each pack's map and reloads its data pointer every k step, so ~60% of the loop is
// bookkeeping; the same 16 multiply-adds on values already in registers run at ~9 GFLOP/s (12
// of them: ~13).
const MC = 64, KC = 256, NC = 512;

// Pack buffers, reused by every call and grown when a bigger block is needed (bounded by
// MC·KC and KC·NC). Float64Array for both float types: widening float32 to float64 is exact, so
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
      // The 4×4 tile of C, c<row><col>: 16 numbers in registers, 8 loads per 32 flops. Measured
      // against it at 512³ (Deno 2.9, interleaved medians): tiles that fit V8's 15 usable xmm
      // registers (3×4, 2×6, 2×4 with k unrolled by 2) and larger ones that spill (4×8, 6×4,
      // 8×4) all land within -9% to +2%, as do float32 packs, a subarray per micro-panel and
      // `| 0` on the indices; none was consistently faster (unrolling k lost 10-15%).
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
 * The blocked TypeScript path: C = alpha·op(A)·op(B) + beta·C with op(A)[i, p] = a[i·rsA + p·csA]
 * and op(B)[p, j] = b[p·rsB + j·csB]; C is [m, n] row-major; m, n, k ≥ 1.
 */
function gemmBlocked(
  a: FloatArray,
  rsA: number,
  csA: number,
  b: FloatArray,
  rsB: number,
  csB: number,
  m: number,
  n: number,
  k: number,
  alpha: number,
  beta: number,
  c: FloatArray,
): void {
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

/** Float64 accumulator for one row of C in the simple path's i-p-j order; grown when needed. */
let rowAcc = new Float64Array(0);

/**
 * The simple path: no packing, so nothing to amortise; the fastest for tiny problems and for
 * matrix-vector shapes (m or n < 4), which the 4-wide tiles would pad with up to 3 wasted rows or
 * columns. Sums are float64; C = alpha·s + beta·C at the end. Loop order by layout, so the
 * innermost loop is always sequential:
 * - B not transposed and C rows long enough (n ≥ 16): i-p-j, each k step adds a·B[p, :] to a
 *   float64 row accumulator (for x [1, K] · W [K, N], the inner loop runs along rows of W);
 * - otherwise: one dot product per C[i, j] (for B transposed, both operands run along k).
 */
function gemmSimple(
  a: FloatArray,
  rsA: number,
  csA: number,
  b: FloatArray,
  rsB: number,
  csB: number,
  m: number,
  n: number,
  k: number,
  alpha: number,
  beta: number,
  c: FloatArray,
): void {
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

// ---------------------------------------------------------------------------------------------
// Dispatch for backend "auto". Crossovers measured on one core (Deno 2.9, x86-64), interleaving
// the backends on each shape (m×n×k, median µs): the simple loop wins below about 10³
// multiply-adds, where packing and call overhead dominate, and for matrix-vector shapes on the
// TypeScript path, where packing one operand costs as much as the whole product and the 4-wide
// tiles are mostly padding (float64 512×1×512: simple 169, ts 521; 1×512×512: simple 180, ts
// 537). Above that, WebAssembly SIMD wins for float32 (32³: simd 4.5, ts 13.1, simple 25.4;
// 1×512×512: simd 146, simple 357; 2×100×100: simd 6.9, simple 15.2), except for n < 4 (its
// tiles are 8 columns wide: 100×2×100: simd 17.9, simple 18.5), and the blocked TypeScript path
// wins for float64 (32³: ts 13.2, simple 22.3; 4×100×100: ts 20.0, simple 24.6).

/** Below this m·n·k, the simple loop is used. */
const SIMPLE_MAX_WORK = 1000;
/** The simple loop is used when n, or m on the TypeScript path, is below this. */
const THIN = 4;

const BACKENDS: readonly string[] = ["auto", "simd", "ts", "simple"];

/** How a bad argument is named in an error message: its class name, or its type. */
function describe(x: unknown): string {
  if (x === null) return "null";
  if (typeof x !== "object") return typeof x;
  return (x as object).constructor?.name ?? "object";
}

/** Whether two typed arrays share any byte of memory. */
function overlaps(x: FloatArray, y: FloatArray): boolean {
  return x.buffer === y.buffer && x.length > 0 && y.length > 0 &&
    x.byteOffset < y.byteOffset + y.byteLength && y.byteOffset < x.byteOffset + x.byteLength;
}

/** Throws unless `x` is a Matrix whose data is a float array of exactly rows·cols elements. */
function checkMatrix(fn: string, name: string, x: Matrix): void {
  if (!(x?.data instanceof Float32Array || x?.data instanceof Float64Array)) {
    throw new TypeError(
      `${fn}: ${name}.data must be a Float32Array or Float64Array, got ${describe(x?.data)}`,
    );
  }
  if (!Number.isInteger(x.rows) || !Number.isInteger(x.cols) || x.rows < 0 || x.cols < 0) {
    throw new RangeError(
      `${fn}: ${name} is ${x.rows}x${x.cols}; rows and cols must be non-negative integers`,
    );
  }
  if (x.data.length !== x.rows * x.cols) {
    throw new RangeError(
      `${fn}: ${name}.data has ${x.data.length} elements, expected ${x.rows}x${x.cols}`,
    );
  }
}

/**
 * op(A) prepared once by {@link packA}, accepted by {@link gemm} in place of A (without
 * `transA`: the transpose is part of the packing). Only {@link packA} makes them: gemm does not
 * recognise a look-alike object.
 */
export interface PackedMatrix<T extends FloatArray = FloatArray> {
  /** The matrix that was packed, as given to {@link packA} (referenced, not copied). */
  readonly source: Matrix<T>;
  /** Whether op(A) is `source`ᵀ. */
  readonly transA: boolean;
  /** Rows of op(A): m, the rows of every product it is used in. */
  readonly rows: number;
  /** Columns of op(A): k, the inner dimension. */
  readonly cols: number;
}

/** The float32 SIMD panels of each PackedMatrix (null: Float64Array, or no SIMD here). */
const packedPanels = new WeakMap<PackedMatrix, PackedPanels | null>();

/** PackedMatrix objects whose storage a later packA reused: gemm refuses them. */
const retired = new WeakSet<PackedMatrix>();

/** Options of {@link packA}. */
export interface PackOptions {
  /** Pack Aᵀ in place of A. Default false. */
  transA?: boolean;
  /**
   * An earlier PackedMatrix, no longer needed, whose storage to pack into instead of allocating
   * (used when it has the same shape): a layer repacks its weights every pass, and a fresh
   * panel array of 100 KiB costs more in page faults than the packing. The earlier matrix is
   * retired: gemm refuses it from then on. Default: none.
   */
  reuse?: PackedMatrix;
}

/**
 * Packs op(A) once, in the exact order gemm's SIMD kernel reads it, so that many products with
 * the same A (a layer's weights times each sample's columns) skip that work: pass the result to
 * {@link gemm} as its first argument, without `transA`. For a conv layer's
 * [50, 500]·[500, 64] this saves about a quarter of each call.
 *
 * The panels are a snapshot of A: after A changes (an optimizer step), pack it again; pack once
 * per forward or backward pass, not once per sample. They are float32 and take about as much
 * memory as A. For Float64Array, or where WebAssembly SIMD is unavailable, nothing is packed and
 * gemm reads `source` as usual (the TypeScript paths pack per call), as it also does when
 * `backend` is "ts" or "simple"; so do not modify A while its PackedMatrix is in use.
 *
 * @param a A, stored [m, k] (or [k, m] with `transA`).
 * @param opts `transA`: pack Aᵀ in place of A.
 * @returns The packed op(A) [m, k], valid while A is unchanged.
 * @throws {TypeError} If `a.data` is not a Float32Array or Float64Array.
 * @throws {RangeError} If rows or cols is not a non-negative integer, or the data length is not
 *   rows·cols.
 *
 * @example The weights packed once, then reused for every sample
 * ```ts
 * import { gemm, packA } from "./gemm.ts";
 * import { assertEquals } from "@std/assert";
 * const w_col = { data: new Float32Array([1, 2, 3, 4, 5, 6]), rows: 2, cols: 3 }; // [2, 3]
 * const w = packA(w_col); // op(A) = w_col [2, 3]
 * const wT = packA(w_col, { transA: true }); // op(A) = w_colᵀ [3, 2]
 * assertEquals([wT.rows, wT.cols], [3, 2]);
 * for (const s of [1, 2]) {
 *   const x_col = { data: new Float32Array([s, 0, 0, s, 0, 0]), rows: 3, cols: 2 }; // [3, 2]
 *   assertEquals(Array.from(gemm(w, x_col)), [s, 2 * s, 4 * s, 5 * s]);
 *   const dY = { data: new Float32Array([s, 0, 0, s]), rows: 2, cols: 2 }; // [2, 2]
 *   assertEquals(Array.from(gemm(wT, dY)), [s, 4 * s, 2 * s, 5 * s, 3 * s, 6 * s]);
 * }
 * ```
 */
export function packA<T extends FloatArray>(
  a: Matrix<T>,
  opts: PackOptions = {},
): PackedMatrix<T> {
  checkMatrix("packA", "a", a);
  const transA = opts.transA ?? false;
  const m = transA ? a.cols : a.rows, k = transA ? a.rows : a.cols;
  const packed: PackedMatrix<T> = Object.freeze({ source: a, transA, rows: m, cols: k });
  const simd = a.data instanceof Float32Array && m > 0 && k > 0 && simdAvailable();
  const rsA = transA ? 1 : a.cols, csA = transA ? a.cols : 1;
  let into: Float32Array | undefined;
  if (opts.reuse !== undefined) {
    if (!packedPanels.has(opts.reuse)) {
      throw new RangeError(
        "packA: opts.reuse must be a PackedMatrix from packA that has not been reused already",
      );
    }
    into = packedPanels.get(opts.reuse)?.data;
    packedPanels.delete(opts.reuse);
    retired.add(opts.reuse);
  }
  packedPanels.set(packed, simd ? packOpA(a.data as Float32Array, rsA, csA, m, k, into) : null);
  return packed;
}

/**
 * Whether gemm's WebAssembly SIMD backend can run here: true in Deno, Node ≥ 16 and current
 * browsers, false where WebAssembly or its SIMD128 extension is missing (or blocked, e.g. by a
 * content security policy). Where false, `backend: "auto"` uses TypeScript and
 * `backend: "simd"` throws.
 *
 * @returns true when `gemm(..., { backend: "simd" })` works for Float32Array.
 *
 * @example Choosing the backend to benchmark
 * ```ts
 * import { gemm, gemmSimdAvailable } from "./gemm.ts";
 * import { assertEquals } from "@std/assert";
 * const backend = gemmSimdAvailable() ? "simd" : "ts";
 * const a = { data: new Float32Array([1, 2, 3, 4]), rows: 2, cols: 2 };
 * assertEquals(Array.from(gemm(a, a, { backend })), [7, 10, 15, 22]);
 * ```
 */
export function gemmSimdAvailable(): boolean {
  return simdAvailable();
}

/**
 * C = alpha·op(A)·op(B) + beta·C, where op(X) is X or Xᵀ. BLAS semantics: with beta = 0 the old
 * C is never read (NaN there is simply overwritten); with alpha = 0 (or k = 0) A and B are not
 * read and C = beta·C; otherwise every product is computed, so NaN and Inf in A or B reach C
 * (zeros are not skipped).
 *
 * Float32Array is computed on the WebAssembly SIMD kernel (float32 sums) when the runtime supports
 * it and the problem is not tiny; otherwise in TypeScript (float64 sums, rounded to float32 once
 * per k block of 256). Both agree to within the rounding of a float32 sum. Float64Array is always
 * computed in TypeScript. See {@link GemmBackend} to force an implementation.
 *
 * @param a A, stored [m, k] (or [k, m] with `transA`).
 * @param b B, stored [k, n] (or [n, k] with `transB`).
 * @param opts Transposes, scales, the output array and the backend.
 * @returns C [m, n], row-major: `opts.out` when given, otherwise a new array of A's type.
 * @throws {RangeError} If the inner dimensions differ, a data length does not match its
 *   rows·cols, rows or cols is not a non-negative integer, `out` has the wrong length or shares
 *   memory with A or B, or `backend` is unknown.
 * @throws {TypeError} If A, B and `out` are not all the same float array type (Float32Array or
 *   Float64Array), alpha or beta is not a number, or `backend: "simd"` is asked for float64.
 * @throws {Error} If `backend: "simd"` is asked where WebAssembly SIMD is unavailable.
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
 *
 * @example Accumulating into C (beta = 1), and forcing a backend
 * ```ts
 * import { gemm, gemmSimdAvailable } from "./gemm.ts";
 * import { assertEquals } from "@std/assert";
 * const a = { data: new Float32Array([1, 2, 3, 4]), rows: 2, cols: 2 };
 * const eye = { data: new Float32Array([1, 0, 0, 1]), rows: 2, cols: 2 };
 * const c = new Float32Array([10, 10, 10, 10]);
 * gemm(a, eye, { alpha: 2, beta: 1, out: c, backend: "ts" }); // C = 2·A·I + C
 * assertEquals(Array.from(c), [12, 14, 16, 18]);
 * // the other backends give the same answer
 * assertEquals(Array.from(gemm(a, eye, { backend: "simple" })), [1, 2, 3, 4]);
 * if (gemmSimdAvailable()) {
 *   assertEquals(Array.from(gemm(a, eye, { backend: "simd" })), [1, 2, 3, 4]);
 * }
 * ```
 */
export function gemm<T extends FloatArray>(
  aIn: Matrix<T> | PackedMatrix<T>,
  b: Matrix<T>,
  opts: GemmOptions<T> = {},
): T {
  if (retired.has(aIn as PackedMatrix)) {
    throw new RangeError(
      "gemm: a is a PackedMatrix whose storage a later packA reused (opts.reuse); pack A again",
    );
  }
  // A PackedMatrix stands for op(A): its source and transpose, plus (SIMD) its packed panels.
  const panels = packedPanels.get(aIn as PackedMatrix);
  const isPacked = panels !== undefined;
  if (isPacked && opts.transA) {
    throw new RangeError(
      "gemm: a is a PackedMatrix, whose transpose was fixed by packA; do not pass transA",
    );
  }
  const a: Matrix<T> = isPacked ? (aIn as PackedMatrix<T>).source : aIn as Matrix<T>;
  const transA = isPacked ? (aIn as PackedMatrix<T>).transA : opts.transA ?? false;
  const transB = opts.transB ?? false;
  const alpha = opts.alpha ?? 1, beta = opts.beta ?? 0;
  const backend = opts.backend ?? "auto";
  checkMatrix("gemm", "a", a);
  checkMatrix("gemm", "b", b);
  const m = transA ? a.cols : a.rows, k = transA ? a.rows : a.cols;
  const kb = transB ? b.cols : b.rows, n = transB ? b.rows : b.cols;
  if (k !== kb) {
    throw new RangeError(
      `gemm: op(a) is ${m}x${k} but op(b) is ${kb}x${n}; inner dimensions must match`,
    );
  }
  if (a.data.constructor !== b.data.constructor) {
    throw new TypeError(
      `gemm: a is ${a.data.constructor.name} but b is ${b.data.constructor.name}`,
    );
  }
  const out = opts.out;
  if (out !== undefined) {
    if (out.constructor !== a.data.constructor) {
      throw new TypeError(`gemm: out is ${describe(out)} but a is ${a.data.constructor.name}`);
    }
    if (out.length !== m * n) {
      throw new RangeError(`gemm: out has ${out.length} elements, expected ${m}x${n}`);
    }
    for (const [name, x] of [["a", a.data], ["b", b.data]] as const) {
      if (overlaps(out, x)) {
        throw new RangeError(
          `gemm: out shares memory with ${name}.data; C must not overlap an input`,
        );
      }
    }
  }
  if (typeof alpha !== "number" || typeof beta !== "number") {
    throw new TypeError(
      `gemm: alpha and beta must be numbers, got ${describe(alpha)} and ${describe(beta)}`,
    );
  }
  if (!BACKENDS.includes(backend)) {
    throw new RangeError(
      `gemm: backend must be "auto", "simd", "ts" or "simple", got ${JSON.stringify(backend)}`,
    );
  }
  const isF32 = a.data instanceof Float32Array;
  if (backend === "simd") {
    if (!isF32) {
      throw new TypeError(
        `gemm: backend "simd" computes in float32; a is ${a.data.constructor.name}`,
      );
    }
    if (!simdAvailable()) {
      throw new Error(`gemm: backend "simd" asked, but WebAssembly SIMD is not available here`);
    }
  }

  const c = out ?? (new (a.data.constructor as { new (n: number): T })(m * n));
  if (m === 0 || n === 0) return c;
  if (k === 0 || alpha === 0) {
    // The product is zero (empty sum) or not wanted: C = beta·C, and A, B are not read.
    if (beta === 0) c.fill(0);
    else if (beta !== 1) { for (let i = 0; i < c.length; i++) c[i] *= beta; }
    return c;
  }
  // Strides of op(A) [m, k] and op(B) [k, n] in the stored arrays: a transpose swaps them.
  const rsA = transA ? 1 : a.cols, csA = transA ? a.cols : 1;
  const rsB = transB ? 1 : b.cols, csB = transB ? b.cols : 1;
  let path = backend;
  if (path === "auto") {
    const simd = isF32 && simdAvailable();
    // (SIMD pads m to 3 rows and n to 8 columns, and is fast enough to pay for it even at m = 1.)
    if (m * n * k < SIMPLE_MAX_WORK || n < THIN || (m < THIN && !simd)) path = "simple";
    else path = simd ? "simd" : "ts";
  }
  if (path === "simd") {
    gemmSimd(
      a.data as Float32Array,
      rsA,
      csA,
      b.data as Float32Array,
      rsB,
      csB,
      m,
      n,
      k,
      alpha,
      beta,
      c as Float32Array,
      panels ?? null,
    );
  } else if (path === "ts") {
    gemmBlocked(a.data, rsA, csA, b.data, rsB, csB, m, n, k, alpha, beta, c);
  } else {
    gemmSimple(a.data, rsA, csA, b.data, rsB, csB, m, n, k, alpha, beta, c);
  }
  return c;
}
