/**
 * The dispatcher: the one module that decides which kernel the fast backend runs for a shape.
 * Every threshold is named here with the measurement behind it in one line; the longer lab notes
 * (crossover tables, tiles tried, V8's machine code) are in docs/gemm.md and docs/performance.md.
 * The layers (layers/fast/) ask it, then run what it answers; no other module compares a size
 * with a constant to pick a path.
 *
 * Every kernel it can choose computes the same numbers as the one it stands in for, bit for bit,
 * except where the GEMM's float32 sums change order (the SIMD kernels against the float64-summing
 * TypeScript ones), which stays within the k·ε bound the tests derive. Tests and benchmarks may
 * force a kernel ({@link forceKernels}); a forced kernel runs wherever it can.
 *
 * @module
 */

import type { FloatArray } from "../../tensor.ts";
import type { GemmProblem } from "../_gemm_args.ts";
import { gemmBlocked } from "./gemm_blocked.ts";
import { gemmSimple } from "./gemm_simple.ts";
import {
  gemmSimd,
  type PackedPanels,
  packOpA,
  type SimdKernel,
  simdKernel,
  type SimdKernelName,
} from "./gemm_simd.ts";
import { convSimdAvailable } from "./conv_simd.ts";
import {
  depthwiseBackward,
  type DepthwiseBackwardProblem,
  depthwiseForward,
  type DepthwiseForwardProblem,
} from "./depthwise.ts";
import {
  depthwiseSimdAvailable,
  depthwiseSimdBackward,
  depthwiseSimdForward,
} from "./depthwise_simd.ts";
import { maxPool2x2Simd, maxPoolSimdAvailable } from "./max_pool_simd.ts";
import {
  maxPool4,
  maxPoolAny,
  maxPoolPadded,
  pool2x2Width,
  type PoolProblem,
  tapOffsets,
} from "./max_pool.ts";
import type { Im2colGeometry } from "../im2col.ts";
import {
  avgPoolDirect,
  avgPoolDirectBackward,
  avgPoolGlobal,
  avgPoolGlobalBackward,
  type AvgPoolProblem,
} from "./avg_pool.ts";
import { col2imIndices, col2imRuns, im2colIndices, im2colRuns } from "./im2col.ts";
import type { FastTable } from "./tables.ts";
import { BATCH_NORM_PLANES, BATCH_NORM_ROWS, type BatchNormLoops } from "./batch_norm.ts";

// ---------------------------------------------------------------------------------------------
// The thresholds (measured on one core, Deno 2.9, x86-64; docs/gemm.md has the tables)

/** Below this m·n·k the simple loop: packing and call overhead dominate (32³: simd 4.5 µs,
 * blocked 13.1, simple 25.4; at 10³ multiply-adds the simple loop is ahead). */
export const GEMM_SIMPLE_BELOW = 1000;

/** n below this (or m, where SIMD is missing) takes the simple loop: 4- or 8-wide tiles would be
 * mostly padding (f64 512×1×512: simple 169 µs, blocked 521; f32 100×2×100: simd 17.9, simple
 * 18.5). SIMD pads m to its tile height and still wins at m = 1 (1×512×512: simd 146, simple 357). */
export const GEMM_THIN_BELOW = 4;

/** im2col and col2im walk a table's runs from this mean run length on, else its indices
 * (16-channel 3×3 tables: ties at 5–6 for the gather, 3–4 for the scatter; at 8 the runs are 12%
 * and 35% faster; stride 2's runs of 1 are 2.5–7× slower as runs). */
export const RUNS_MIN_MEAN = 5;

/** Runs this long are copied with TypedArray set / fill (a memcpy): −20% on a 64×32×32 3×3 padded
 * im2col, ×12 for a 1×1 kernel; no faster below (each needs a subarray). */
export const RUN_MEMCPY_MIN = 64;

/** The direct convolution pads each output row to 8 columns; it runs while that pads by at most
 * this fraction (Wo = 10 pads 6 of 16 and was slower than im2col + gemm). */
export const CONV_DIRECT_MAX_PADDING = 0.25;

/** One input channel per group (groups = C > 1): the depthwise kernel, on its TypeScript loops
 * while a group has at most this many filters M = D/C (float64 [16,32,14,14] 3×3 pad 1 fwd+bwd,
 * ms, loops vs im2col + GEMM: M = 1 6.2 vs 9.5, 2 11.4 vs 12.4, 4 18.8 vs 17.4, 8 35.4 vs 25.4).
 * Its SIMD kernel has no limit (float32 [16,8,14,14]: M = 16 1.8 vs 4.8, M = 128 14.6 vs 22.9). */
export const DEPTHWISE_LOOPS_MAX_MULTIPLIER = 2;

// ---------------------------------------------------------------------------------------------
// Forcing a kernel (tests and benchmarks only)

/** GEMM kernels: the simple loop nest, the blocked TypeScript kernel, WebAssembly SIMD. */
export type GemmKernel = "simple" | "blocked" | "simd";
/** How the fast convolution runs: one GEMM for the whole batch (one output position), the
 * direct SIMD kernel that never builds x_col (stride 1), im2col + one GEMM per sample, or the
 * depthwise kernel (one input channel per group: direct loops over the taps, no x_col). */
export type ConvKernel = "batched" | "direct" | "im2col" | "depthwise";
/** How im2col and col2im walk a table: entry by entry, or run by run. */
export type GatherKernel = "indices" | "runs";
/** Max-pool kernels: SIMD for float32 2×2/2, the 4-tap TypeScript loop, any window, and the
 * windows clipped to the image (the one for padding; it also runs unpadded pools). */
export type MaxPoolKernel = "simd" | "four" | "any" | "padded";

/** Average-pool kernels: one contiguous sum per image (a window of the whole unpadded image),
 * or each window clipped to the image and summed (any geometry). */
export type AvgPoolKernel = "global" | "direct";
/** The depthwise kernel's implementations: WebAssembly SIMD (float32), TypeScript loops. */
export type DepthwiseKernel = "simd" | "loops";

/** Kernels to use in place of the dispatcher's choice, where they can run. */
export interface ForcedKernels {
  /** The GEMM kernel. */
  gemm?: GemmKernel;
  /** The SIMD GEMM's micro-kernel: "fma" (5×8, relaxed SIMD) or "plain" (3×8, SIMD128). */
  simd?: SimdKernelName;
  /** The convolution's forward pass. */
  conv?: ConvKernel;
  /** The walk of im2col and col2im. */
  gather?: GatherKernel;
  /** The max-pool kernel. */
  maxPool?: MaxPoolKernel;
  /** The average-pool kernel. */
  avgPool?: AvgPoolKernel;
  /** The batch-norm loops. */
  batchNorm?: BatchNormKernel;
  /** The depthwise kernel's implementation. */
  depthwise?: DepthwiseKernel;
}

let forced: ForcedKernels = {};

/**
 * Makes the fast backend use the given kernels wherever they can run (a SIMD GEMM only for
 * float32 where WebAssembly SIMD exists, the direct convolution only at stride 1, ...), or the
 * dispatcher's own choices again (null). For tests and benchmarks, which compare the kernels.
 *
 * @param kernels The kernels to force, or null.
 * @returns Nothing.
 * @throws {Error} If a forced SIMD micro-kernel cannot run in this runtime.
 *
 * @example The blocked TypeScript GEMM for one product, then the dispatcher's choice again
 * ```ts
 * import { forceKernels, gemmKernel } from "./dispatch.ts";
 * import { assertEquals } from "@std/assert";
 * forceKernels({ gemm: "blocked" });
 * assertEquals(gemmKernel(64, 64, 64, true), "blocked");
 * forceKernels(null);
 * assertEquals(gemmKernel(2, 2, 2, true), "simple");
 * ```
 */
export function forceKernels(kernels: ForcedKernels | null): void {
  if (kernels?.simd !== undefined && simdKernel(kernels.simd) === null) {
    throw new Error(`forceKernels: the "${kernels.simd}" SIMD GEMM kernel cannot run here`);
  }
  forced = { ...kernels };
}

// ---------------------------------------------------------------------------------------------
// The choices

/**
 * The SIMD GEMM micro-kernel in use: the fused multiply-add one where the runtime accepts relaxed
 * SIMD (15–25% faster), else the SIMD128 one, else none.
 *
 * @returns The kernel, or null where WebAssembly SIMD is missing.
 *
 * @example
 * ```ts
 * import { simd } from "./dispatch.ts";
 * console.assert(simd() === null || ["fma", "plain"].includes(simd()!.name));
 * ```
 */
export function simd(): SimdKernel | null {
  if (forced.simd !== undefined) return simdKernel(forced.simd);
  return simdKernel("fma") ?? simdKernel("plain");
}

/**
 * Which kernel computes an m×k by k×n product.
 *
 * @param m Rows of C.
 * @param n Columns of C.
 * @param k The inner dimension.
 * @param float32 Whether the arrays are Float32Array (SIMD computes in float32 only).
 * @returns The kernel.
 *
 * @example
 * ```ts
 * import { gemmKernel, simd } from "./dispatch.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(gemmKernel(8, 8, 8, true), "simple"); // 512 multiply-adds
 * assertEquals(gemmKernel(64, 64, 64, false), "blocked"); // float64
 * assertEquals(gemmKernel(64, 64, 64, true), simd() === null ? "blocked" : "simd");
 * ```
 */
export function gemmKernel(m: number, n: number, k: number, float32: boolean): GemmKernel {
  const simdOk = float32 && simd() !== null;
  if (forced.gemm !== undefined && (forced.gemm !== "simd" || simdOk)) return forced.gemm;
  if (m * n * k < GEMM_SIMPLE_BELOW || n < GEMM_THIN_BELOW) return "simple";
  if (!simdOk) return m < GEMM_THIN_BELOW ? "simple" : "blocked";
  return "simd";
}

/** What the convolution's choice depends on. */
export interface ConvShape {
  /** Filters per group D/G (rows of one group's w_col). */
  readonly d: number;
  /** Taps per group K = (C/G)·kh·kw. */
  readonly k: number;
  /** Output positions per sample P = Ho·Wo. */
  readonly p: number;
  /** Output width Wo. */
  readonly outWidth: number;
  /** Stride [sh, sw]. */
  readonly stride: readonly [number, number];
  /** Groups G; default 1. */
  readonly groups?: number;
  /** Dilation [dh, dw]; default [1, 1]. */
  readonly dilation?: readonly [number, number];
  /** Whether the arrays are Float32Array. */
  readonly float32: boolean;
  /** Whether every sample's x_col is kept for the backward pass. */
  readonly keep: boolean;
  /** Input channels C; groups = C (one channel per group) may run the depthwise kernel. */
  readonly channels?: number;
}

/**
 * How the fast convolution's forward pass runs. One output position per sample (a kernel that
 * covers the input, as in a fully connected layer): the whole batch as one GEMM. Float32,
 * stride 1, no x_col kept, and a product the GEMM would run on the FMA kernel: the direct kernel,
 * whose sums are then the GEMM's bit for bit, while its row padding stays small. Both are for
 * one group and adjacent taps only. One input channel per group (groups = C > 1): the
 * depthwise kernel (any stride, padding and dilation; on its TypeScript loops only up to
 * {@link DEPTHWISE_LOOPS_MAX_MULTIPLIER} filters per group). Otherwise im2col and a GEMM per
 * sample (and per group).
 *
 * @param s The layer's shape.
 * @returns The kernel.
 *
 * @example LeNet's second convolution, and a stride-2 one
 * ```ts
 * import { convKernel } from "./dispatch.ts";
 * import { assert, assertEquals } from "@std/assert";
 * const s = { d: 50, k: 500, p: 64, outWidth: 8, stride: [1, 1] as [number, number], float32: true, keep: false };
 * assert(["direct", "im2col"].includes(convKernel(s))); // direct where relaxed SIMD runs
 * assertEquals(convKernel({ ...s, stride: [2, 2] }), "im2col");
 * assertEquals(convKernel({ ...s, keep: true }), "im2col");
 * assertEquals(convKernel({ ...s, p: 1, outWidth: 1 }), "batched");
 * assertEquals(convKernel({ ...s, groups: 2 }), "im2col");
 * // 32 channels, 32 groups, one 3×3 filter each: depthwise
 * assertEquals(convKernel({ ...s, d: 1, k: 9, groups: 32, channels: 32 }), "depthwise");
 * ```
 */
export function convKernel(s: ConvShape): ConvKernel {
  const plain = (s.groups ?? 1) === 1 && (s.dilation ?? [1, 1]).every((d) => d === 1);
  const direct = plain && s.float32 && !s.keep && s.stride[0] === 1 && s.stride[1] === 1 &&
    convSimdAvailable();
  if (forced.conv === "im2col" || (forced.conv === "direct" && direct)) return forced.conv;
  if (forced.conv === "batched" && plain && s.p === 1) return forced.conv;
  const depthwise = depthwiseChoice(s.channels, s.groups ?? 1, s.d, s.float32);
  if (depthwise !== null) return depthwise;
  if (!plain) return "im2col";
  if (s.p === 1) return "batched";
  const padded = Math.ceil(s.outWidth / 8) * 8;
  const fma = gemmKernel(s.d, s.p, s.k, s.float32) === "simd" && simd()?.name === "fma";
  return direct && fma && padded <= (1 + CONV_DIRECT_MAX_PADDING) * s.outWidth
    ? "direct"
    : "im2col";
}

/**
 * How the fast convolution's backward pass runs: one GEMM for the whole batch where there is one
 * output position per sample (and one group), the depthwise kernel where the forward pass's
 * {@link convKernel} would choose it (one input channel per group), else im2col and GEMMs per
 * sample and group.
 *
 * @param p Output positions per sample.
 * @param groups Groups G; default 1.
 * @param s Input channels C (else no depthwise kernel), filters per group D/G, and whether the
 *   arrays are Float32Array.
 * @returns The kernel.
 *
 * @example
 * ```ts
 * import { convBackwardKernel } from "./dispatch.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals([convBackwardKernel(1), convBackwardKernel(64)], ["batched", "im2col"]);
 * assertEquals(convBackwardKernel(1, 2), "im2col");
 * assertEquals(convBackwardKernel(64, 32, { channels: 32, d: 1 }), "depthwise");
 * assertEquals(convBackwardKernel(64, 32, { channels: 32, d: 16 }), "im2col"); // float64
 * ```
 */
export function convBackwardKernel(
  p: number,
  groups = 1,
  s: { readonly channels?: number; readonly d?: number; readonly float32?: boolean } = {},
): Exclude<ConvKernel, "direct"> {
  const batched = p === 1 && groups === 1;
  if (forced.conv === "im2col" || (forced.conv === "batched" && batched)) return forced.conv;
  const depthwise = depthwiseChoice(s.channels, groups, s.d ?? 1, s.float32 ?? false);
  if (depthwise !== null) return depthwise;
  return batched ? "batched" : "im2col";
}

/**
 * "depthwise" where a convolution with these sizes runs on the depthwise kernel (after the
 * forced im2col and batched kernels): forced, with one input channel per group; unforced, with
 * more than one group, on the SIMD kernel or with at most
 * {@link DEPTHWISE_LOOPS_MAX_MULTIPLIER} filters per group. One group (C = 1) keeps the
 * ungrouped kernels, whose sums are im2col + GEMM's. Else null.
 */
function depthwiseChoice(
  channels: number | undefined,
  groups: number,
  d: number,
  float32: boolean,
): "depthwise" | null {
  if (channels !== groups) return null; // not one channel per group (or C unknown)
  if (forced.conv === "depthwise") return "depthwise";
  if (groups === 1) return null;
  const fits = depthwiseKernel(float32) === "simd" || d <= DEPTHWISE_LOOPS_MAX_MULTIPLIER;
  return fits ? "depthwise" : null;
}

/**
 * How im2col and col2im walk a table.
 *
 * @param table The table.
 * @returns "runs" when its runs are long enough on average, else "indices".
 *
 * @example
 * ```ts
 * import { gatherKernel } from "./dispatch.ts";
 * import { fastTable } from "./tables.ts";
 * import { assertEquals } from "@std/assert";
 * const g = { channels: 16, height: 28, width: 28, kernel: [5, 5] as [number, number] };
 * assertEquals(gatherKernel(fastTable(g)), "runs");
 * assertEquals(gatherKernel(fastTable({ ...g, stride: [2, 2] })), "indices");
 * ```
 */
export function gatherKernel(table: FastTable): GatherKernel {
  if (forced.gather !== undefined) return forced.gather;
  return table.meanRunLength >= RUNS_MIN_MEAN ? "runs" : "indices";
}

/**
 * Which kernel pools S images through a table.
 *
 * A padded pool runs on the kernel that clips each window to the image ("padded"): the others
 * read every window as a translate of the first, which the padding's windows are not.
 *
 * @param table The pooling table (one channel).
 * @param offsets Its tap offsets.
 * @param float32 Whether the arrays are Float32Array.
 * @param padded Whether the pool has padding; default false.
 * @returns The kernel.
 *
 * @example
 * ```ts
 * import { maxPoolKernel } from "./dispatch.ts";
 * import { tapOffsets } from "./max_pool.ts";
 * import { fastTable } from "./tables.ts";
 * import { assertEquals } from "@std/assert";
 * const t = fastTable({ channels: 1, height: 24, width: 24, kernel: [2, 2], stride: [2, 2] });
 * assertEquals(maxPoolKernel(t, tapOffsets(t), false), "four");
 * const t3 = fastTable({ channels: 1, height: 24, width: 24, kernel: [3, 3], stride: [2, 2] });
 * assertEquals(maxPoolKernel(t3, tapOffsets(t3), true), "any");
 * assertEquals(maxPoolKernel(t3, tapOffsets(t3), true, true), "padded");
 * ```
 */
export function maxPoolKernel(
  table: FastTable,
  offsets: Int32Array,
  float32: boolean,
  padded = false,
): MaxPoolKernel {
  if (padded) return "padded";
  const simdOk = float32 && pool2x2Width(table, offsets) > 0 && maxPoolSimdAvailable();
  const fourOk = table.rows === 4;
  const f = forced.maxPool;
  if (f === "any" || f === "padded" || (f === "four" && fourOk) || (f === "simd" && simdOk)) {
    return f;
  }
  return simdOk ? "simd" : fourOk ? "four" : "any";
}

/**
 * Which kernel average-pools images of a geometry: "global" where one window covers each whole
 * image without padding (global average pooling: one contiguous sum per image), else "direct".
 *
 * @param g The geometry of one image (channels 1).
 * @returns The kernel.
 *
 * @example
 * ```ts
 * import { avgPoolKernel } from "./dispatch.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(avgPoolKernel({ channels: 1, height: 7, width: 7, kernel: [7, 7] }), "global");
 * assertEquals(avgPoolKernel({ channels: 1, height: 7, width: 7, kernel: [2, 2], stride: [2, 2] }), "direct");
 * ```
 */
export function avgPoolKernel(g: Im2colGeometry): AvgPoolKernel {
  const global = g.kernel[0] === g.height && g.kernel[1] === g.width &&
    (g.padding ?? [0, 0]).every((p) => p === 0);
  if (forced.avgPool === "direct" || (forced.avgPool === "global" && global)) return forced.avgPool;
  return global ? "global" : "direct";
}

/**
 * Which implementation runs the depthwise kernel: WebAssembly SIMD for float32 where the runtime
 * has it (3–5× the TypeScript loops on the depthwise-separable model's layers,
 * docs/performance.md), else the TypeScript loops.
 *
 * @param float32 Whether the arrays are Float32Array.
 * @returns The implementation.
 *
 * @example
 * ```ts
 * import { depthwiseKernel } from "./dispatch.ts";
 * import { assert, assertEquals } from "@std/assert";
 * assertEquals(depthwiseKernel(false), "loops");
 * assert(["simd", "loops"].includes(depthwiseKernel(true)));
 * ```
 */
export function depthwiseKernel(float32: boolean): DepthwiseKernel {
  const simdOk = float32 && depthwiseSimdAvailable();
  const f = forced.depthwise;
  if (f === "loops" || (f === "simd" && simdOk)) return f;
  return simdOk ? "simd" : "loops";
}

// ---------------------------------------------------------------------------------------------
// Running the choice

/**
 * C = alpha·op(A)·op(B) + beta·C on the kernel {@link gemmKernel} picks.
 *
 * @param p The checked problem.
 * @param packed op(A) packed by {@link packForGemm} for this product, or null.
 * @returns Nothing; `p.c` holds the result.
 *
 * @example
 * ```ts
 * import { runGemm } from "./dispatch.ts";
 * import { assertEquals } from "@std/assert";
 * const a = new Float32Array([1, 2, 3, 4]), b = new Float32Array([5, 6, 7, 8]), c = new Float32Array(4);
 * runGemm({ a, rsA: 2, csA: 1, b, rsB: 2, csB: 1, m: 2, n: 2, k: 2, alpha: 1, beta: 0, c });
 * assertEquals(Array.from(c), [19, 22, 43, 50]);
 * ```
 */
export function runGemm<T extends FloatArray>(
  p: GemmProblem<T>,
  packed: PackedPanels | null = null,
): void {
  const { m, n, k, alpha, beta, c } = p;
  if (m === 0 || n === 0) return;
  if (k === 0 || alpha === 0) {
    // the product is zero (empty sum) or not wanted: C = beta·C, and A, B are not read
    if (beta === 0) c.fill(0);
    else if (beta !== 1) { for (let i = 0; i < c.length; i++) c[i] *= beta; }
    return;
  }
  const kernel = gemmKernel(m, n, k, c instanceof Float32Array);
  if (kernel === "simd") gemmSimd(simd()!, p as unknown as GemmProblem<Float32Array>, packed);
  else if (kernel === "blocked") gemmBlocked(p);
  else gemmSimple(p);
}

/**
 * op(A) [m, k] packed once for many products with it (a layer's weights times each sample's
 * columns), when those products run on SIMD; else null (the other kernels pack per call).
 *
 * @param a A's data.
 * @param transA Whether op(A) is Aᵀ (A stored [k, m]).
 * @param m Rows of op(A).
 * @param k Columns of op(A).
 * @param n Columns of the products' B (decides the kernel).
 * @param storage Gives the panels' storage for a length (a workspace's array), or creates it.
 * @returns The panels, or null.
 *
 * @example
 * ```ts
 * import { packForGemm, runGemm } from "./dispatch.ts";
 * import { assertEquals } from "@std/assert";
 * const a = Float32Array.from({ length: 64 * 64 }, (_, i) => i % 3), b = a.slice();
 * const packed = packForGemm(a, false, 64, 64, 64, (n) => new Float32Array(n));
 * const c1 = new Float32Array(4096), c2 = new Float32Array(4096);
 * const p = { a, rsA: 64, csA: 1, b, rsB: 64, csB: 1, m: 64, n: 64, k: 64, alpha: 1, beta: 0 };
 * runGemm({ ...p, c: c1 }, packed);
 * runGemm({ ...p, c: c2 });
 * assertEquals(c1, c2);
 * ```
 */
export function packForGemm(
  a: FloatArray,
  transA: boolean,
  m: number,
  k: number,
  n: number,
  storage: (length: number) => Float32Array,
): PackedPanels | null {
  const kern = simd();
  if (!(a instanceof Float32Array) || kern === null || gemmKernel(m, n, k, true) !== "simd") {
    return null;
  }
  const mPad = Math.ceil(m / kern.mr) * kern.mr;
  return packOpA(kern, a, transA ? 1 : k, transA ? m : 1, m, k, storage(mPad * k));
}

/**
 * x_col = im2col(x) through a cached table, by the walk {@link gatherKernel} picks.
 *
 * @param x One sample [C,H,W].
 * @param table Its table.
 * @param x_col Where to write x_col [rows, cols].
 * @returns `x_col`.
 *
 * @example
 * ```ts
 * import { runIm2col } from "./dispatch.ts";
 * import { fastTable } from "./tables.ts";
 * import { assertEquals } from "@std/assert";
 * const t = fastTable({ channels: 1, height: 3, width: 3, kernel: [2, 2] });
 * const x_col = runIm2col(new Float64Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), t, new Float64Array(16));
 * assertEquals(Array.from(x_col.subarray(0, 4)), [1, 2, 4, 5]);
 * ```
 */
export function runIm2col<T extends FloatArray>(x: T, table: FastTable, x_col: T): T {
  if (gatherKernel(table) === "runs") im2colRuns(x, table, x_col, RUN_MEMCPY_MIN);
  else im2colIndices(x, table, x_col);
  return x_col;
}

/**
 * dx += col2im(x_col) through a cached table, by the walk {@link gatherKernel} picks.
 *
 * @param x_col A column matrix [rows, cols].
 * @param table Its table.
 * @param dx The sample [C,H,W] to add into.
 * @returns `dx`.
 *
 * @example
 * ```ts
 * import { runCol2im } from "./dispatch.ts";
 * import { fastTable } from "./tables.ts";
 * import { assertEquals } from "@std/assert";
 * const t = fastTable({ channels: 1, height: 3, width: 3, kernel: [2, 2] });
 * const dx = runCol2im(new Float64Array(16).fill(1), t, new Float64Array(9));
 * assertEquals(Array.from(dx), [1, 2, 1, 2, 4, 2, 1, 2, 1]);
 * ```
 */
export function runCol2im<T extends FloatArray>(x_col: T, table: FastTable, dx: T): T {
  if (gatherKernel(table) === "runs") col2imRuns(x_col, table, dx);
  else col2imIndices(x_col, table, dx);
  return dx;
}

/**
 * Max pooling of S images through their table on the kernel {@link maxPoolKernel} picks: the
 * maxima, and the winners' flat indices unless `route` is null (the SIMD and padded kernels then
 * skip them; the others need somewhere to put them and use `scratch`).
 *
 * @param pool The images, their table and the outputs (`route` null for the maxima only); and
 *   `geometry`, the table's, which a padded pool needs (without it the table is taken to have no
 *   padding).
 * @param scratch Gives an Int32Array of a length, for the TypeScript kernels' routes when
 *   `route` is null.
 * @returns Nothing; `max` (and `route`) are written.
 *
 * @example
 * ```ts
 * import { runMaxPool } from "./dispatch.ts";
 * import { fastTable } from "./tables.ts";
 * import { assertEquals } from "@std/assert";
 * const table = fastTable({ channels: 1, height: 2, width: 4, kernel: [2, 2], stride: [2, 2] });
 * const x = new Float32Array([1, 4, 5, 5, 2, 3, 5, 0]), max = new Float32Array(2);
 * runMaxPool({ x, table, slices: 1, max, route: null }, (n) => new Int32Array(n));
 * assertEquals(Array.from(max), [4, 5]);
 * ```
 */
export function runMaxPool<T extends FloatArray>(
  pool: Omit<PoolProblem<T>, "offsets" | "route"> & {
    route: Int32Array | null;
    geometry?: Im2colGeometry;
  },
  scratch: (length: number) => Int32Array,
): void {
  const { x, table, slices, max, route, geometry } = pool;
  const padded = geometry?.padding !== undefined && geometry.padding.some((p) => p > 0);
  const offsets = tapOffsets(table);
  const kernel = maxPoolKernel(table, offsets, x instanceof Float32Array, padded);
  // (forced to "padded" without the geometry, it cannot run: the table's own kernels do)
  if (kernel === "padded" && geometry !== undefined) {
    maxPoolPadded({ x, geometry, slices, max, route });
    return;
  }
  if (kernel === "simd") {
    const W = pool2x2Width(table, offsets), H = table.inputSize / W;
    if (maxPool2x2Simd(x as Float32Array, slices, H, W, max as Float32Array, route)) return;
  }
  const problem = { x, table, offsets, slices, max, route: route ?? scratch(max.length) };
  if (kernel === "any") maxPoolAny(problem);
  else if (table.rows === 4) maxPool4(problem);
  else maxPoolAny(problem);
}

/**
 * Average pooling of S images, forward (`input` x, `output` y), on the kernel
 * {@link avgPoolKernel} picks.
 *
 * @param p The images, their geometry, `countIncludePad`, and y.
 * @returns Nothing; `p.output` is written.
 *
 * @example Global average pooling of two 1×2 images
 * ```ts
 * import { runAvgPool } from "./dispatch.ts";
 * import { assertEquals } from "@std/assert";
 * const geometry = { channels: 1, height: 1, width: 2, kernel: [1, 2] } as const;
 * const output = new Float64Array(2);
 * runAvgPool({ geometry, countIncludePad: true, slices: 2, input: new Float64Array([1, 2, 3, 5]), output });
 * assertEquals(Array.from(output), [1.5, 4]);
 * ```
 */
export function runAvgPool<T extends FloatArray>(p: AvgPoolProblem<T>): void {
  if (avgPoolKernel(p.geometry) === "global") avgPoolGlobal(p);
  else avgPoolDirect(p);
}

/**
 * Average pooling's backward pass over S images (`input` dy, `output` dx), on the kernel
 * {@link avgPoolKernel} picks.
 *
 * @param p dy, the geometry, `countIncludePad`, and dx.
 * @returns Nothing; `p.output` is written.
 *
 * @example
 * ```ts
 * import { runAvgPoolBackward } from "./dispatch.ts";
 * import { assertEquals } from "@std/assert";
 * const geometry = { channels: 1, height: 1, width: 2, kernel: [1, 2] } as const;
 * const output = new Float64Array(4);
 * runAvgPoolBackward({ geometry, countIncludePad: true, slices: 2, input: new Float64Array([1, 4]), output });
 * assertEquals(Array.from(output), [0.5, 0.5, 2, 2]);
 * ```
 */
export function runAvgPoolBackward<T extends FloatArray>(p: AvgPoolProblem<T>): void {
  if (avgPoolKernel(p.geometry) === "global") avgPoolGlobalBackward(p);
  else avgPoolDirectBackward(p);
}

/**
 * The depthwise convolution's forward pass on the implementation {@link depthwiseKernel} picks
 * (the TypeScript loops also where the SIMD kernel's memory cannot grow).
 *
 * @param p The geometry, x, w, b (or null), and y to write.
 * @param scratch Gives an array of x's type of a length, for the TypeScript loops' padded plane.
 * @returns Nothing; `p.y` holds y.
 *
 * @example Two channels, one 1×1 filter each
 * ```ts
 * import { runDepthwiseForward } from "./dispatch.ts";
 * import { assertEquals } from "@std/assert";
 * const g = { N: 1, C: 2, H: 1, W: 2, D: 2, kh: 1, kw: 1, stride: [1, 1] as [number, number],
 *   padding: [0, 0] as [number, number], dilation: [1, 1] as [number, number], Ho: 1, Wo: 2 };
 * const y = new Float32Array(4);
 * runDepthwiseForward(
 *   { g, x: new Float32Array([1, 2, 3, 4]), w: new Float32Array([2, -1]), b: null, y },
 *   (n) => new Float32Array(n),
 * );
 * assertEquals(Array.from(y), [2, 4, -3, -4]);
 * ```
 */
export function runDepthwiseForward<T extends FloatArray>(
  p: DepthwiseForwardProblem<T>,
  scratch: (length: number) => T,
): void {
  const simdOk = depthwiseKernel(p.x instanceof Float32Array) === "simd";
  if (simdOk && depthwiseSimdForward(p as unknown as DepthwiseForwardProblem<Float32Array>)) {
    return;
  }
  depthwiseForward(p, scratch);
}

/**
 * The depthwise convolution's dw, db and dx (each unless null) on the implementation
 * {@link depthwiseKernel} picks (the TypeScript loops also where the SIMD kernel's memory cannot
 * grow).
 *
 * @param p The geometry, dy, x, w, and dx (or null), dw and db (or null) to write.
 * @param scratch Gives an array of x's type of a length, for the TypeScript loops' padded planes.
 * @returns Nothing; `p.dx`, `p.dw` and `p.db` hold the gradients.
 *
 * @example One channel, a 1×1 filter of 3
 * ```ts
 * import { runDepthwiseBackward } from "./dispatch.ts";
 * import { assertEquals } from "@std/assert";
 * const g = { N: 1, C: 1, H: 1, W: 2, D: 1, kh: 1, kw: 1, stride: [1, 1] as [number, number],
 *   padding: [0, 0] as [number, number], dilation: [1, 1] as [number, number], Ho: 1, Wo: 2 };
 * const x = new Float64Array([1, 2]), dx = new Float64Array(2), dw = new Float64Array(1);
 * const dy = new Float64Array([1, 1]), db = new Float64Array(1);
 * const w = new Float64Array([3]);
 * runDepthwiseBackward({ g, dy, x, w, dx, dw, db }, (n) => new Float64Array(n));
 * assertEquals([Array.from(dx), Array.from(dw), Array.from(db)], [[3, 3], [3], [2]]);
 * ```
 */
export function runDepthwiseBackward<T extends FloatArray>(
  p: DepthwiseBackwardProblem<T>,
  scratch: (length: number) => T,
): void {
  const simdOk = depthwiseKernel(p.x instanceof Float32Array) === "simd";
  if (simdOk && depthwiseSimdBackward(p as unknown as DepthwiseBackwardProblem<Float32Array>)) {
    return;
  }
  depthwiseBackward(p, scratch);
}

/**
 * What the fast backend can run here, for reports (compare, the benches).
 *
 * @returns The SIMD GEMM micro-kernel in use (or null), and whether the direct convolution,
 *   the SIMD max pool and the SIMD depthwise convolution can run.
 *
 * @example
 * ```ts
 * import { fastKernels } from "./dispatch.ts";
 * const k = fastKernels();
 * console.assert(typeof k.convDirect === "boolean");
 * ```
 */
export function fastKernels(): {
  gemmSimd: SimdKernelName | null;
  convDirect: boolean;
  maxPoolSimd: boolean;
  depthwiseSimd: boolean;
} {
  return {
    gemmSimd: simd()?.name ?? null,
    convDirect: convSimdAvailable(),
    maxPoolSimd: maxPoolSimdAvailable(),
    depthwiseSimd: depthwiseSimdAvailable(),
  };
}

// ---------------------------------------------------------------------------------------------
// Batch normalisation

/** Batch-norm loops: over each plane of a channel's S = H·W values, or across the channels of
 * each row when S = 1. */
export type BatchNormKernel = "planes" | "rows";

/**
 * Which loops normalise x [N, C, S]. Where a channel has one value per sample (S = 1: x [N, C],
 * or [N, C, 1, 1] after global pooling) the rows' loops, which run across the channels: a
 * plane's loop of one iteration costs more than its value (forward + backward on [64,256]
 * float32: rows 179 µs, planes 349). Otherwise the planes' loops, whose runs of S values are
 * contiguous. (The statistics stay two passes on either: a one-pass alternative, each plane's
 * deviations combined exactly, was slower on every shape measured; docs/batch_norm.md.)
 *
 * @param S The values of one channel in one sample.
 * @returns The loops' name.
 *
 * @example
 * ```ts
 * import { batchNormKernel } from "./dispatch.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals([batchNormKernel(1), batchNormKernel(196)], ["rows", "planes"]);
 * ```
 */
export function batchNormKernel(S: number): BatchNormKernel {
  const f = forced.batchNorm;
  if (f === "planes" || (f === "rows" && S === 1)) return f;
  return S === 1 ? "rows" : "planes";
}

/**
 * The loops {@link batchNormKernel} picks.
 *
 * @param S The values of one channel in one sample.
 * @returns The loops.
 *
 * @example
 * ```ts
 * import { batchNormLoops } from "./dispatch.ts";
 * import { BATCH_NORM_ROWS } from "./batch_norm.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(batchNormLoops(1), BATCH_NORM_ROWS);
 * ```
 */
export function batchNormLoops(S: number): BatchNormLoops {
  return batchNormKernel(S) === "rows" ? BATCH_NORM_ROWS : BATCH_NORM_PLANES;
}
