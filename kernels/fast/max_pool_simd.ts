/**
 * The WebAssembly SIMD kernel of the fast max pool for float32 2×2 windows with stride 2
 * (kernels/fast/max_pool.ts runs it where dispatch.ts chooses it).
 *
 * The kernel is kernels/max_pool_simd.wat (SIMD128 only: Deno, Node ≥ 16, current browsers): 4
 * windows per step, the same first-maximum rule as the TypeScript path, so the answers are
 * bit-identical. This file is its driver.
 *
 * Memory. WebAssembly code can only touch its own linear memory, so every call copies x in and the
 * results out, one block at a time, laid out as
 *
 *     [ x block + 8 | max: float32 [block's windows] + 4 | route: int32 [same] + 4 ]   64-byte aligned
 *
 * (the slack is what the kernel may touch past a row whose windows are not a multiple of 4). A
 * block is as many whole images as fit in BLOCK floats, or, for an image larger than that, a band
 * of its rows (2 input rows per output row; at least one pair, even if wider than BLOCK). So the
 * memory stays near 1.5·BLOCK floats whatever the batch, and x's block, freshly copied, is still
 * in L2 when the kernel reads it. The memory is grown on demand (a grow detaches the old
 * ArrayBuffer, so the views are remade) and reused by later calls; the only state kept between
 * calls is that one module instance.
 *
 * @module
 */

import { MAX_POOL_SIMD_WASM_BASE64 } from "./max_pool_simd_wasm.ts";
import { instantiate, type MemoryViews, reserveViews, roundUp } from "./wasm.ts";

/**
 * Floats of x per block: 128 KiB (half of a 256 KiB L2; with the outputs, 192 KiB in all). W4,
 * [64,20,24,24] (2.25 KiB per image), median ms per call, copies included, by block size:
 * 16 KiB 0.23, 32 KiB 0.21, 64 KiB 0.20, 128 KiB 0.19, 256 KiB 0.19, 512 KiB 0.20, 1 MiB 0.21,
 * 4 MiB (all of x at once) 0.24: small blocks pay per-call overhead, large ones fall out of L2.
 */
const BLOCK = 32768;

/** The instantiated kernel. */
interface Kernel extends MemoryViews {
  /** max_pool_simd.wat's `pool2x2` (byte addresses; see its header). */
  pool: (
    x: number,
    max: number,
    route: number,
    n: number,
    h: number,
    w: number,
    base: number,
  ) => void;
  /** max_pool_simd.wat's `max2x2`: the maxima only (byte addresses). */
  maxOnly: (x: number, max: number, n: number, h: number, w: number) => void;
}

let kern: Kernel | null | undefined; // undefined: not instantiated yet; null: unavailable

function load(): Kernel | null {
  if (kern !== undefined) return kern;
  // validating the module is the feature test: a runtime without SIMD128 rejects it
  const m = instantiate(MAX_POOL_SIMD_WASM_BASE64);
  return kern = m === null ? null : {
    memory: m.memory,
    f32: new Float32Array(m.memory.buffer),
    i32: new Int32Array(m.memory.buffer),
    pool: m.exports.pool2x2 as Kernel["pool"],
    maxOnly: m.exports.max2x2 as Kernel["maxOnly"],
  };
}

/**
 * Whether {@link maxPool2x2Simd} runs here (WebAssembly with SIMD128). The first call
 * instantiates the module.
 *
 * @returns true when the SIMD kernel can run.
 *
 * @example
 * ```ts
 * import { maxPoolSimdAvailable } from "./max_pool_simd.ts";
 * console.assert(typeof maxPoolSimdAvailable() === "boolean");
 * ```
 */
export function maxPoolSimdAvailable(): boolean {
  return load() !== null;
}

/**
 * Max pooling of S one-channel float32 images [H, W] stacked in x, 2×2 windows with stride 2 (an
 * odd last row or column is not read): for window p of image s, max[s·P + p] is the first
 * maximum of its 4 cells in row-major order (NaN wins; ties go to the earlier cell) and
 * route[s·P + p] its flat index in x, P = floor(H/2)·floor(W/2). Bit-identical to
 * the TypeScript path's. Arguments are trusted: kernels/fast/max_pool.ts has checked them.
 *
 * @param x The images [S, H, W], flat.
 * @param S Number of images.
 * @param H Rows of an image, at least 2.
 * @param W Columns of an image, at least 2.
 * @param max Where to write the maxima [S, H/2, W/2].
 * @param route Where to write the winners' indices in x (same length), or null for the maxima
 *   only (a forward pass with no backward): the kernel's `max2x2`, about a third faster.
 * @returns true when done; false when the kernel is unavailable (nothing was written: compute
 *   it another way).
 *
 * @example One 2×4 image: two windows
 * ```ts
 * import { maxPool2x2Simd } from "./max_pool_simd.ts";
 * import { assertEquals } from "@std/assert";
 * const x = new Float32Array([1, 4, 5, 5, 2, 3, 5, 0]);
 * const max = new Float32Array(2), route = new Int32Array(2);
 * if (maxPool2x2Simd(x, 1, 2, 4, max, route)) {
 *   assertEquals(Array.from(max), [4, 5]);
 *   assertEquals(Array.from(route), [1, 2]); // the first 5 of the second window
 * }
 * ```
 */
export function maxPool2x2Simd(
  x: Float32Array,
  S: number,
  H: number,
  W: number,
  max: Float32Array,
  route: Int32Array | null,
): boolean {
  const k = load();
  if (k === null) return false;
  const HW = H * W, Ho = H >> 1, Wo = W >> 1, P = Ho * Wo;
  if (S === 0 || P === 0) return true;
  // Whole images per block when one fits, else bands of `rows` output rows of one image.
  const perBlock = HW <= BLOCK ? Math.min(S, Math.floor(BLOCK / HW)) : 0;
  const rows = perBlock > 0 ? Ho : Math.min(Ho, Math.max(1, Math.floor(BLOCK / (2 * W))));
  const xFloats = perBlock > 0 ? perBlock * HW : 2 * rows * W;
  const outFloats = perBlock > 0 ? perBlock * P : rows * Wo;
  // float32 offsets of the three regions (x, max, route) and the slack the kernel may touch
  const pm = roundUp(xFloats + 8, 16), pr = pm + roundUp(outFloats + 4, 16);
  if (!reserveViews(k, pr + outFloats + 4)) return false;
  const { f32, i32, pool, maxOnly } = k;
  if (perBlock > 0) {
    // s0: the block of images s0 .. s0 + n − 1, its route offset s0·H·W
    for (let s0 = 0; s0 < S; s0 += perBlock) {
      const n = Math.min(perBlock, S - s0);
      f32.set(x.subarray(s0 * HW, (s0 + n) * HW), 0);
      if (route === null) maxOnly(0, pm * 4, n, H, W);
      else pool(0, pm * 4, pr * 4, n, H, W, s0 * HW);
      max.set(f32.subarray(pm, pm + n * P), s0 * P);
      route?.set(i32.subarray(pr, pr + n * P), s0 * P);
    }
    return true;
  }
  // s, oh0: output rows oh0 .. oh0 + r − 1 of image s, read from its input rows 2·oh0 ..
  for (let s = 0; s < S; s++) {
    for (let oh0 = 0; oh0 < Ho; oh0 += rows) {
      const r = Math.min(rows, Ho - oh0), start = s * HW + 2 * oh0 * W, o = s * P + oh0 * Wo;
      f32.set(x.subarray(start, start + 2 * r * W), 0);
      if (route === null) maxOnly(0, pm * 4, 1, 2 * r, W);
      else pool(0, pm * 4, pr * 4, 1, 2 * r, W, start);
      max.set(f32.subarray(pm, pm + r * Wo), o);
      route?.set(i32.subarray(pr, pr + r * Wo), o);
    }
  }
  return true;
}
