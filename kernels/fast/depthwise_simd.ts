/**
 * The WebAssembly SIMD128 kernel of the float32 depthwise convolution, forward and backward (the
 * fast backend's "depthwise" kernel where dispatch.ts runs it): kernels/fast/depthwise_simd.wat,
 * whose header derives it, and this, its driver. It computes the formulas of
 * kernels/fast/depthwise.ts on the padded channel plane split into its stride's polyphase
 * components, so that every tap reads with stride 1 and one plane is one loop of 16 outputs per
 * step; the sums are float32, as the SIMD GEMM's.
 *
 * Memory, one growing linear memory, laid out per call as (floats, each region 64-byte aligned;
 * the slack is what a step may touch past a region)
 *
 *     forward:  [ geometry | w [D·K] | b [D] | off: int32 [K] | x_n [C·H·W] + 4 |
 *                 xph [sh·sw·Sph] + 16 | y' [lr] + 16 | y_n [D·P] + 4 ]
 *     backward: [ geometry | w [D·K] | off: int32 [K] | the gather's table | dw [D·K] | db [D] |
 *                 x_n [C·H·W] + 8 | dY_n [D·P] + 4 | xph [sh·sw·Sph] + 16 |
 *                 dY' [M, Lg] | dxph [sh·sw·Sph] + 16 | dx_n [C·H·W] + 8 ]
 *
 * with Sph = Hph·Wph + 4 a polyphase component's stride, lr the flattened outputs
 * (Ho − 1)·Wph + Wo rounded up to 16, and Lg a filter's dY' on the flattened grid, with the
 * zeros in front of it that the gather reads (the largest tap offset) and after it. w, b, the
 * offsets and the table are written once per call, each sample's x (and dY) copied in and its y
 * (or dx) copied out; dw and db are summed in the memory over the samples and copied out at the
 * end.
 *
 * @module
 */

import { DEPTHWISE_SIMD_WASM_BASE64 } from "./depthwise_simd_wasm.ts";
import { instantiate, type MemoryViews, reserveViews, roundUp } from "./wasm.ts";
import type {
  DepthwiseBackwardProblem,
  DepthwiseForwardProblem,
  DepthwiseGeometry,
} from "./depthwise.ts";

/** The instantiated kernel. */
interface Kernel extends MemoryViews {
  /** depthwise_simd.wat's `forward`: one sample, from the geometry block at byte 0. */
  forward: (g: number) => void;
  /** depthwise_simd.wat's `backward`: one sample's dw (added) and, when withDx is 1, dx. */
  backward: (g: number, withDx: number) => void;
}

let kern: Kernel | null | undefined; // undefined: not instantiated yet; null: unavailable

function load(): Kernel | null {
  if (kern !== undefined) return kern;
  // validating the module is the feature test: a runtime without SIMD128 rejects it
  const m = instantiate(DEPTHWISE_SIMD_WASM_BASE64);
  return kern = m === null ? null : {
    memory: m.memory,
    f32: new Float32Array(m.memory.buffer),
    i32: new Int32Array(m.memory.buffer),
    forward: m.exports.forward as Kernel["forward"],
    backward: m.exports.backward as Kernel["backward"],
  };
}

/**
 * Whether {@link depthwiseSimdForward} and {@link depthwiseSimdBackward} run here (WebAssembly
 * with SIMD128). The first call instantiates the module.
 *
 * @returns true when the SIMD kernel can run.
 *
 * @example
 * ```ts
 * import { depthwiseSimdAvailable } from "./depthwise_simd.ts";
 * console.assert(typeof depthwiseSimdAvailable() === "boolean");
 * ```
 */
export function depthwiseSimdAvailable(): boolean {
  return load() !== null;
}

/** The sizes both passes lay out: the polyphase components and the flattened output grid. */
interface Layout {
  /** Filters per channel. */
  readonly M: number;
  /** Taps kh·kw. */
  readonly K: number;
  /** Output positions Ho·Wo. */
  readonly P: number;
  /** Floats of one sample of x. */
  readonly CHW: number;
  /** Floats of all the polyphase components, with their slack. */
  readonly phases: number;
  /** The flattened outputs (Ho − 1)·Wph + Wo, rounded up to 16. */
  readonly lr: number;
  /** The geometry block's first 15 words (depthwise_simd.wat's header). */
  readonly words: readonly number[];
}

const GEOMETRY = 32; // floats of the geometry block (27 words used)

function layout(g: DepthwiseGeometry): Layout {
  const { C, H, W, D, kh, kw, Ho, Wo } = g, M = D / C, K = kh * kw;
  const [sh, sw] = g.stride, [ph, pw] = g.padding;
  const Hph = Math.ceil((H + 2 * ph) / sh), Wph = Math.ceil((W + 2 * pw) / sw);
  const Sph = Hph * Wph + 4, lr = roundUp((Ho - 1) * Wph + Wo, 16);
  return {
    M,
    K,
    P: Ho * Wo,
    CHW: C * H * W,
    phases: sh * sw * Sph + 16,
    lr,
    words: [C, H, W, M, sh, sw, ph, pw, Hph, Wph, Sph, K, Ho, Wo, lr],
  };
}

/** off[t], t = i·kw + j, in bytes: where tap (i, j) starts in the polyphase components. */
function writeOffsets(i32: Int32Array, at: number, g: DepthwiseGeometry, l: Layout): void {
  const [sh, sw] = g.stride, [dh, dw] = g.dilation, [, , , , , , , , , Wph, Sph] = l.words;
  for (let i = 0; i < g.kh; i++) {
    for (let j = 0; j < g.kw; j++) {
      const ri = (i * dh) % sh, qi = Math.floor((i * dh) / sh);
      const rj = (j * dw) % sw, qj = Math.floor((j * dw) / sw);
      i32[at + i * g.kw + j] = ((ri * sw + rj) * Sph + qi * Wph + qj) * 4;
    }
  }
}

/**
 * y = the depthwise convolution of x with w, plus b (float32), on the WebAssembly kernel.
 * Arguments are trusted (layers/fast/conv.ts has checked them).
 *
 * @param p The geometry, x, w, b (or null), and y to write.
 * @returns false when the kernel cannot run here or its memory cannot grow (nothing written),
 *   true when y is written.
 *
 * @example One channel, a 1×2 filter [1, 10], bias 0.5
 * ```ts
 * import { depthwiseSimdForward } from "./depthwise_simd.ts";
 * import { assertEquals } from "@std/assert";
 * const g = { N: 1, C: 1, H: 1, W: 3, D: 1, kh: 1, kw: 2, stride: [1, 1] as [number, number],
 *   padding: [0, 0] as [number, number], dilation: [1, 1] as [number, number], Ho: 1, Wo: 2 };
 * const x = new Float32Array([1, 2, 3]), w = new Float32Array([1, 10]), y = new Float32Array(2);
 * if (depthwiseSimdForward({ g, x, w, b: new Float32Array([0.5]), y })) {
 *   assertEquals(Array.from(y), [21.5, 32.5]);
 * }
 * ```
 */
export function depthwiseSimdForward(p: DepthwiseForwardProblem<Float32Array>): boolean {
  const k = load();
  if (k === null) return false;
  const { g, x, w, b, y } = p, l = layout(g), { D } = g, { K, P, CHW } = l;
  // regions (float offsets)
  const pw = GEOMETRY, pb = roundUp(pw + D * K, 16), po = roundUp(pb + D, 16);
  const px = roundUp(po + K, 16), pxph = roundUp(px + CHW + 4, 16);
  const pyp = roundUp(pxph + l.phases, 16), py = roundUp(pyp + l.lr + 16, 16);
  if (!reserveViews(k, py + D * P + 4)) return false;
  const { f32, i32 } = k;
  f32.set(w, pw);
  if (b === null) f32.fill(0, pb, pb + D);
  else f32.set(b, pb);
  writeOffsets(i32, po, g, l);
  i32.set(l.words, 0);
  i32.set([px, pxph, pw, pb, po, pyp, py].map((a) => a * 4), 15);
  for (let n = 0; n < g.N; n++) {
    f32.set(x.subarray(n * CHW, (n + 1) * CHW), px);
    k.forward(0);
    y.set(f32.subarray(py, py + D * P), n * D * P);
  }
  return true;
}

/**
 * dw, db and dx (each unless null; dw always) of the depthwise convolution (float32), on the
 * WebAssembly kernel. Arguments are trusted (layers/fast/conv.ts has checked them).
 *
 * @param p The geometry, dy, x, w, and dx (or null), dw and db (or null) to write.
 * @returns false when the kernel cannot run here or its memory cannot grow (nothing written),
 *   true when the gradients are written.
 *
 * @example One channel [1, 3], a 1×2 filter: dx spreads dy through the taps
 * ```ts
 * import { depthwiseSimdBackward } from "./depthwise_simd.ts";
 * import { assertEquals } from "@std/assert";
 * const g = { N: 1, C: 1, H: 1, W: 3, D: 1, kh: 1, kw: 2, stride: [1, 1] as [number, number],
 *   padding: [0, 0] as [number, number], dilation: [1, 1] as [number, number], Ho: 1, Wo: 2 };
 * const x = new Float32Array([1, 2, 3]), w = new Float32Array([10, 100]);
 * const dy = new Float32Array([1, -1]), dx = new Float32Array(3), dw = new Float32Array(2);
 * const db = new Float32Array(1);
 * if (depthwiseSimdBackward({ g, dy, x, w, dx, dw, db })) {
 *   assertEquals(Array.from(dw), [-1, -1]);
 *   assertEquals(Array.from(db), [0]);
 *   assertEquals(Array.from(dx), [10, 90, -100]);
 * }
 * ```
 */
export function depthwiseSimdBackward(p: DepthwiseBackwardProblem<Float32Array>): boolean {
  const k = load();
  if (k === null) return false;
  const { g, dy, x, w, dx, dw, db } = p, l = layout(g), { D } = g, { M, K, P, CHW } = l;
  const [Hph, Wph] = [l.words[8], l.words[9]], nph = g.stride[0] * g.stride[1];
  const F = roundUp(gatherFront(g, l), 16);
  const Lg = roundUp(F + roundUp(Hph * Wph, 16) + 32, 16); // one filter's dY', zeros in front
  // regions (float offsets)
  const pw = GEOMETRY, po = roundUp(pw + D * K, 16), ptab = roundUp(po + K, 16);
  const pdw = roundUp(ptab + nph + 1 + 2 * K, 16), pdb = roundUp(pdw + D * K, 16);
  const px = roundUp(pdb + D, 16), pdy = roundUp(px + CHW + 8, 16);
  const pxph = roundUp(pdy + D * P + 4, 16), pdyp = roundUp(pxph + l.phases, 16);
  const pdxph = roundUp(pdyp + M * Lg, 16), pdx = roundUp(pdxph + l.phases, 16);
  if (!reserveViews(k, pdx + CHW + 8)) return false;
  const { f32, i32 } = k;
  f32.set(w, pw);
  f32.fill(0, pdw, pdb + D);
  writeOffsets(i32, po, g, l);
  writeGatherTable(i32, ptab, g, l);
  i32.set(l.words, 0);
  // words 15–30; 18 (the bias), 20 (y') and 21 (y) are the forward pass's
  const regions = [px, pxph, pw, 0, po, 0, 0, pdy, pdyp + F, pdxph, pdx, pdw, ptab];
  i32.set(regions.map((a) => a * 4), 15);
  i32.set([Lg, F, db === null ? 0 : pdb * 4], 28);
  for (let n = 0; n < g.N; n++) {
    f32.set(x.subarray(n * CHW, (n + 1) * CHW), px);
    f32.set(dy.subarray(n * D * P, (n + 1) * D * P), pdy);
    k.backward(0, dx === null ? 0 : 1);
    dx?.set(f32.subarray(pdx, pdx + CHW), n * CHW);
  }
  dw.set(f32.subarray(pdw, pdw + D * K));
  db?.set(f32.subarray(pdb, pdb + D));
  return true;
}

/** o[t] = qi·Wph + qj, in floats: where tap t's cells start in its polyphase component. */
function phaseOffset(g: DepthwiseGeometry, l: Layout, i: number, j: number): number {
  const [sh, sw] = g.stride, [dh, dw] = g.dilation;
  return Math.floor((i * dh) / sh) * l.words[9] + Math.floor((j * dw) / sw);
}

/** The largest o[t]: the zeros each dY' needs in front of it for the gather. */
function gatherFront(g: DepthwiseGeometry, l: Layout): number {
  return phaseOffset(g, l, g.kh - 1, g.kw - 1);
}

/**
 * The gather's table (depthwise_simd.wat's `gather`), at int32 `at`: the taps grouped by the
 * polyphase component they read, start[sh·sw + 1] and then (4t, 4·o[t]) per tap.
 */
function writeGatherTable(i32: Int32Array, at: number, g: DepthwiseGeometry, l: Layout): void {
  const [sh, sw] = g.stride, [dh, dw] = g.dilation, nph = sh * sw;
  let e = 0;
  for (let ph = 0; ph < nph; ph++) {
    i32[at + ph] = e;
    for (let i = 0; i < g.kh; i++) {
      for (let j = 0; j < g.kw; j++) {
        if (((i * dh) % sh) * sw + ((j * dw) % sw) !== ph) continue;
        i32[at + nph + 1 + 2 * e] = (i * g.kw + j) * 4;
        i32[at + nph + 1 + 2 * e + 1] = phaseOffset(g, l, i, j) * 4;
        e++;
      }
    }
  }
  i32[at + nph] = e;
}
