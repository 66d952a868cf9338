/**
 * The WebAssembly kernel of a float32 convolution's forward pass with stride 1 (the fast
 * backend's "direct" convolution; dispatch.ts decides where it runs): y_n = w_col · im2col(x_n) + b with op(B) = im2col(x_n) read by the kernel
 * through one offset per kernel tap, on a zero-padded copy of the sample, instead of being
 * gathered into x_col and copied into the GEMM's memory (kernels/conv_simd.wat explains it).
 * Bit-identical to im2col + gemm on the fused multiply-add kernel: the same 5×8 tiles, k order
 * and k blocks (kernels/fast/gemm_simd.ts).
 *
 * Memory, one growing linear memory, laid out per call as
 *
 *     [ A: w_col panels, mPad·K | off: int32 [K] | x: the sample, C·H·W + 4 |
 *       xpad: C·Hp·Wp + 8 | C: mPad·Ho·wo8 | y_n: D·Ho·Wo + 4, when Wo % 8 ≠ 0 ]
 *
 * (floats; each region 64-byte aligned).
 *
 * A and the offsets are written once per call, x, xpad and C once per sample.
 *
 * @module
 */

import { CONV_SIMD_WASM_BASE64 } from "./conv_simd_wasm.ts";
import { blockSize, packPanels } from "./gemm_pack.ts";
import { growTo, instantiate, roundUp } from "./wasm.ts";

/** Tile of the kernel: 5 rows of w_col, 8 output positions. */
const MR = 5, NR = 8;
/** k block, as the GEMM's (kernels/fast/gemm_simd.ts), so that the sums are the same. */
const KC = 512;

interface Kernel {
  memory: WebAssembly.Memory;
  f32: Float32Array;
  i32: Int32Array;
  pad: (x: number, xp: number, c: number, h: number, w: number, ph: number, pw: number) => void;
  conv: (
    mc: number,
    ho: number,
    wo8: number,
    kc: number,
    pa: number,
    off: number,
    xp: number,
    wpb: number,
    c: number,
    ldc: number,
  ) => void;
  compact: (src: number, dst: number, rows: number, wo: number, wo8: number) => void;
}

let kern: Kernel | null | undefined; // undefined: not tried yet

function load(): Kernel | null {
  if (kern === undefined) {
    // validating the module is the feature test: a runtime without relaxed SIMD rejects it
    const m = instantiate(CONV_SIMD_WASM_BASE64);
    kern = m === null ? null : {
      memory: m.memory,
      f32: new Float32Array(m.memory.buffer),
      i32: new Int32Array(m.memory.buffer),
      pad: m.exports.pad as Kernel["pad"],
      conv: m.exports.conv as Kernel["conv"],
      compact: m.exports.compact as Kernel["compact"],
    };
  }
  return kern;
}

/**
 * Whether this runtime runs the kernel (it needs relaxed SIMD, as the FMA GEMM does). The first
 * call instantiates the module.
 *
 * @returns true when {@link convSimd} can run.
 *
 * @example
 * ```ts
 * import { convSimdAvailable } from "./conv_simd.ts";
 * console.assert(typeof convSimdAvailable() === "boolean");
 * ```
 */
export function convSimdAvailable(): boolean {
  return load() !== null;
}

/** The geometry of a stride-1 convolution, as layers/fast/conv.ts has checked it. */
export interface ConvSimdGeometry {
  /** Batch N of x [N, C, H, W]. */
  readonly n: number;
  /** Channels C. */
  readonly c: number;
  /** Height H. */
  readonly h: number;
  /** Width W. */
  readonly w: number;
  /** Filters D of w [D, C, kh, kw]. */
  readonly d: number;
  /** Kernel height kh. */
  readonly kh: number;
  /** Kernel width kw. */
  readonly kw: number;
  /** Zero padding on the top and bottom. */
  readonly ph: number;
  /** Zero padding on the left and right. */
  readonly pw: number;
}

/**
 * y [N, D, Ho, Wo] = the stride-1 convolution of x [N, C, H, W] with w [D, C, kh, kw] plus b,
 * on the WebAssembly kernel. Arguments are trusted (layers/fast/conv.ts has checked them).
 *
 * @param x The input, flat.
 * @param w The weights, flat (w_col [D, C·kh·kw]).
 * @param b The bias [D].
 * @param g The geometry.
 * @param y Where to write y, flat.
 * @returns false when the kernel cannot run here or its memory cannot grow (nothing written),
 *   true when y is written.
 *
 * @example A 1×1×3×3 input, one 2×2 filter of ones, bias 0.5
 * ```ts
 * import { convSimd } from "./conv_simd.ts";
 * import { assertEquals } from "@std/assert";
 * const x = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), y = new Float32Array(4);
 * const g = { n: 1, c: 1, h: 3, w: 3, d: 1, kh: 2, kw: 2, ph: 0, pw: 0 };
 * if (convSimd(x, new Float32Array(4).fill(1), new Float32Array([0.5]), g, y)) {
 *   assertEquals(Array.from(y), [12.5, 16.5, 24.5, 28.5]);
 * }
 * ```
 */
export function convSimd(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array,
  g: ConvSimdGeometry,
  y: Float32Array,
): boolean {
  const k = load();
  if (k === null) return false;
  const { n: N, c: C, h: H, w: W, d: D, kh, kw, ph, pw } = g;
  const Hp = H + 2 * ph, Wp = W + 2 * pw, Ho = Hp - kh + 1, Wo = Wp - kw + 1;
  const K = C * kh * kw, CHW = C * H * W, P = Ho * Wo;
  const wo8 = roundUp(Wo, NR), mPad = roundUp(D, MR), kcMax = blockSize(K, KC, 1);
  // regions (float offsets)
  const pa = 0, po = roundUp(pa + mPad * K, 16), px = roundUp(po + K, 16);
  const pxp = roundUp(px + CHW + 4, 16), pc = roundUp(pxp + C * Hp * Wp + 8, 16);
  // y_n compacted from C's padded rows when Wo is not a multiple of 8 (+ 4: the last row's slack)
  const py = roundUp(pc + mPad * Ho * wo8, 16), end = py + (wo8 === Wo ? 0 : D * P + 4);
  if (!growTo(k.memory, end * 4)) return false; // out of memory: the caller uses im2col + gemm
  if (k.f32.buffer !== k.memory.buffer) {
    k.f32 = new Float32Array(k.memory.buffer);
    k.i32 = new Int32Array(k.memory.buffer);
  }
  const { f32, i32, pad, conv, compact } = k;
  // A: w_col's panels, k block by k block (block p0 at p0·mPad), as the GEMM packs them
  for (let p0 = 0; p0 < K; p0 += kcMax) {
    const kc = Math.min(kcMax, K - p0);
    packPanels(f32, pa + p0 * mPad, w, p0, K, 1, D, kc, MR);
  }
  // off[k]: tap k = (c, i, j) reads xpad[c, oh + i, ow + j]: (c·Hp + i)·Wp + j from (oh, ow)
  for (let c = 0, t = po; c < C; c++) {
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++, t++) i32[t] = ((c * Hp + i) * Wp + j) * 4;
    }
  }
  const ldc = Ho * wo8;
  for (let s = 0; s < N; s++) {
    f32.set(x.subarray(s * CHW, (s + 1) * CHW), px);
    pad(px * 4, pxp * 4, C, H, W, ph, pw);
    for (let d = 0; d < D; d++) f32.fill(b[d], pc + d * ldc, pc + (d + 1) * ldc);
    for (let p0 = 0; p0 < K; p0 += kcMax) {
      const kc = Math.min(kcMax, K - p0);
      conv(
        mPad,
        Ho,
        wo8,
        kc,
        (pa + p0 * mPad) * 4,
        (po + p0) * 4,
        pxp * 4,
        Wp * 4,
        pc * 4,
        ldc * 4,
      );
    }
    if (wo8 === Wo) y.set(f32.subarray(pc, pc + D * P), s * D * P);
    else {
      compact(pc * 4, py * 4, D * Ho, Wo, wo8);
      y.set(f32.subarray(py, py + D * P), s * D * P);
    }
  }
  return true;
}
