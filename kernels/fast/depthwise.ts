/**
 * The depthwise convolution (groups = C: filter d reads channel floor(d / M) alone, M = D/C
 * filters per channel), forward and backward, as direct loops over the kernel's taps: the fast
 * backend's "depthwise" kernel in TypeScript (dispatch.ts runs it for float64, and for float32
 * where WebAssembly SIMD is missing; kernels/fast/depthwise_simd.ts is the float32 one).
 *
 * Per group the im2col path multiplies a [M, kh·kw] w_col by a [kh·kw, P] x_col: a tiny GEMM per
 * channel and sample whose gather, packing and calls cost more than its multiply-adds. Here the
 * same sums are read straight from the input: on a zero-padded copy of one channel,
 * xp [H + 2ph, W + 2pw], tap (i, j) of output (oh, ow) is
 *
 *     xp[(oh·sh + i·dh)·Wp + ow·sw + j·dw]
 *
 * (the table's entry, computed instead of looked up), so the loop over an output row has no
 * padding test: the padding cells are the zeros x_col would hold. The taps of a kernel row go
 * three at a time, so each output is loaded and stored once per three multiply-adds.
 *
 *     forward:   y[n, d, oh, ow]  = b[d] + Σ_{i,j} w[d, i, j] · xp_c[oh·sh + i·dh, ow·sw + j·dw]
 *     backward:  dw[d, i, j]     += Σ_{oh,ow} dY[n, d, oh, ow] · xp_c[oh·sh + i·dh, ow·sw + j·dw]
 *                dxp_c[oh·sh + i·dh, ow·sw + j·dw] += Σ_m w[c·M + m, i, j] · dY[n, c·M + m, oh, ow]
 *
 * with c = floor(d / M); dx_c is dxp_c without its padding (col2im through the same entries), and
 * db[d] = Σ dY[n, d].
 *
 * Rounding, against the bounds tests/differential_test.ts derives: each y is the bias plus kh·kw
 * products; each dw (and db) entry sums a sample's terms in float64 (a JS number) and adds the sum
 * once per sample; each dx cell adds one term per tap, a term being the sum over the M filters
 * of its channel first, as w_colᵀ · dY and col2im do: at most M + kh·kw rounded steps.
 *
 * @module
 */

import type { FloatArray } from "../../tensor.ts";

/** The sizes of a depthwise convolution: the fields of a checked conv geometry
 * (layers/types.ts's ConvGeometry) that it reads, so such a geometry is one. */
export interface DepthwiseGeometry {
  /** Batch N of x [N, C, H, W]. */
  readonly N: number;
  /** Channels C (= groups). */
  readonly C: number;
  /** Input height H. */
  readonly H: number;
  /** Input width W. */
  readonly W: number;
  /** Filters D = M·C of w [D, 1, kh, kw]. */
  readonly D: number;
  /** Kernel height. */
  readonly kh: number;
  /** Kernel width. */
  readonly kw: number;
  /** Stride [sh, sw]. */
  readonly stride: readonly [number, number];
  /** Zero padding [ph, pw] on each side. */
  readonly padding: readonly [number, number];
  /** Dilation [dh, dw]. */
  readonly dilation: readonly [number, number];
  /** Output height. */
  readonly Ho: number;
  /** Output width. */
  readonly Wo: number;
}

/** A forward pass: the inputs, flat, and where y goes. */
export interface DepthwiseForwardProblem<T extends FloatArray> {
  /** The geometry. */
  readonly g: DepthwiseGeometry;
  /** Input [N, C, H, W]. */
  readonly x: T;
  /** Filters [D, 1, kh, kw]. */
  readonly w: T;
  /** Bias [D], or null for none. */
  readonly b: T | null;
  /** Output [N, D, Ho, Wo], overwritten. */
  readonly y: T;
}

/** A backward pass: the inputs, flat, and where the gradients go. */
export interface DepthwiseBackwardProblem<T extends FloatArray> {
  /** The geometry. */
  readonly g: DepthwiseGeometry;
  /** dL/dy [N, D, Ho, Wo]. */
  readonly dy: T;
  /** The forward pass's input [N, C, H, W]. */
  readonly x: T;
  /** Its filters [D, 1, kh, kw]. */
  readonly w: T;
  /** dL/dx [N, C, H, W], overwritten; null to skip it. */
  readonly dx: T | null;
  /** dL/dw [D, 1, kh, kw], overwritten. */
  readonly dw: T;
  /** dL/db [D] = Σ dY, overwritten; null for none (a convolution without bias). */
  readonly db: T | null;
}

/** xp's interior = channel plane x[o .. o + H·W) (the padding cells are left as they are). */
function pad<T extends FloatArray>(
  x: T,
  o: number,
  H: number,
  W: number,
  xp: T,
  ph: number,
  pw: number,
): void {
  const Wp = W + 2 * pw;
  for (let r = 0; r < H; r++) {
    const s = o + r * W, t = (r + ph) * Wp + pw;
    for (let c = 0; c < W; c++) xp[t + c] = x[s + c];
  }
}

/** Channel plane dx[o .. o + H·W) = dxp's interior. */
function unpad<T extends FloatArray>(
  dxp: T,
  H: number,
  W: number,
  ph: number,
  pw: number,
  dx: T,
  o: number,
): void {
  const Wp = W + 2 * pw;
  for (let r = 0; r < H; r++) {
    const s = (r + ph) * Wp + pw, t = o + r * W;
    for (let c = 0; c < W; c++) dx[t + c] = dxp[s + c];
  }
}

/**
 * y = the depthwise convolution of x with w, plus b: every filter's output plane as
 * Σ over taps of w · (the padded input plane, shifted by the tap), three taps per pass. The
 * arguments are trusted (layers/fast/conv.ts has checked them).
 *
 * @param p The geometry, x, w, b (or null), and y to write.
 * @param scratch Gives an array of x's type of a length (the padded plane; a workspace's).
 * @returns Nothing; `p.y` holds y.
 *
 * @example Two channels, one 2×1 filter each, padding 1 on the rows
 * ```ts
 * import { depthwiseForward } from "./depthwise.ts";
 * import { assertEquals } from "@std/assert";
 * const g = { N: 1, C: 2, H: 2, W: 1, D: 2, kh: 2, kw: 1, stride: [1, 1] as [number, number],
 *   padding: [1, 0] as [number, number], dilation: [1, 1] as [number, number], Ho: 3, Wo: 1 };
 * const x = new Float64Array([1, 2, 10, 20]), w = new Float64Array([1, 1, 1, -1]);
 * const y = new Float64Array(6);
 * depthwiseForward({ g, x, w, b: null, y }, (n) => new Float64Array(n));
 * assertEquals(Array.from(y), [1, 3, 2, -10, -10, 20]); // [0+1, 1+2, 2+0], [0−10, 10−20, 20−0]
 * ```
 */
export function depthwiseForward<T extends FloatArray>(
  p: DepthwiseForwardProblem<T>,
  scratch: (length: number) => T,
): void {
  // x [N,C,H,W], w [D,1,kh,kw], b [D] or null -> y [N,D,Ho,Wo]
  const { g, x, w, b, y } = p;
  const { N, C, H, W, D, kh, kw, Ho, Wo } = g, M = D / C, K = kh * kw, P = Ho * Wo;
  const [sh, sw] = g.stride, [ph, pw] = g.padding, [dh, dw] = g.dilation;
  const Wp = W + 2 * pw, xp = scratch((H + 2 * ph) * Wp).fill(0); // xp [Hp, Wp]
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      pad(x, (n * C + c) * H * W, H, W, xp, ph, pw);
      for (let m = 0; m < M; m++) {
        const d = c * M + m, yo = (n * D + d) * P, bias = b === null ? 0 : b[d];
        for (let oh = 0; oh < Ho; oh++) {
          const yr = yo + oh * Wo;
          for (let ow = 0; ow < Wo; ow++) y[yr + ow] = bias;
          for (let i = 0; i < kh; i++) {
            const xr = (oh * sh + i * dh) * Wp, wr = d * K + i * kw;
            let j = 0;
            for (; j + 3 <= kw; j += 3) {
              const w0 = w[wr + j], w1 = w[wr + j + 1], w2 = w[wr + j + 2];
              for (let ow = 0, q = xr + j * dw; ow < Wo; ow++, q += sw) {
                y[yr + ow] += w0 * xp[q] + w1 * xp[q + dw] + w2 * xp[q + 2 * dw];
              }
            }
            for (; j < kw; j++) {
              const w0 = w[wr + j];
              for (let ow = 0, q = xr + j * dw; ow < Wo; ow++, q += sw) y[yr + ow] += w0 * xp[q];
            }
          }
        }
      }
    }
  }
}

/**
 * dw, db and dx (each unless null; dw always) of the depthwise convolution: each tap's dw entry
 * as the dot product of dY with the shifted padded input plane, db as Σ dY, and dx as the
 * scatter of Σ_m w · dY through the same shifts onto a padded plane (col2im), whose interior is
 * dx.
 *
 * @param p The geometry, dy, x, w, and dx (or null), dw and db (or null) to write.
 * @param scratch Gives an array of x's type of a length (two padded planes; a workspace's).
 * @returns Nothing; `p.dx` and `p.dw` hold the gradients.
 *
 * @example One channel [1, 3], a 1×2 filter: dx spreads dy through the taps
 * ```ts
 * import { depthwiseBackward } from "./depthwise.ts";
 * import { assertEquals } from "@std/assert";
 * const g = { N: 1, C: 1, H: 1, W: 3, D: 1, kh: 1, kw: 2, stride: [1, 1] as [number, number],
 *   padding: [0, 0] as [number, number], dilation: [1, 1] as [number, number], Ho: 1, Wo: 2 };
 * const x = new Float64Array([1, 2, 3]), w = new Float64Array([10, 100]);
 * const dy = new Float64Array([1, -1]), dx = new Float64Array(3), dw = new Float64Array(2);
 * depthwiseBackward({ g, dy, x, w, dx, dw, db: null }, (n) => new Float64Array(n));
 * assertEquals(Array.from(dw), [1 - 2, 2 - 3]);
 * assertEquals(Array.from(dx), [10, 100 - 10, -100]);
 * ```
 */
export function depthwiseBackward<T extends FloatArray>(
  p: DepthwiseBackwardProblem<T>,
  scratch: (length: number) => T,
): void {
  // dy [N,D,Ho,Wo], x [N,C,H,W], w [D,1,kh,kw] -> dx [N,C,H,W] or null, dw [D,1,kh,kw]
  const { g, dy, x, w, dx, dw, db } = p;
  const { N, C, H, W, D, kh, kw, Ho, Wo } = g, M = D / C, K = kh * kw, P = Ho * Wo;
  const [sh, sw] = g.stride, [ph, pw] = g.padding, [dh, dwl] = g.dilation;
  const Wp = W + 2 * pw, L = (H + 2 * ph) * Wp;
  // xp [Hp, Wp]: the padded input plane; dxp [Hp, Wp]: its gradient, padding included; sum
  // [Ho, Wo]: one tap's Σ over the channel's filters
  const planes = scratch(dx === null ? L : 2 * L + (M > 1 ? P : 0)).fill(0);
  const xp = planes.subarray(0, L) as T, dxp = planes.subarray(L, 2 * L) as T;
  const sum = planes.subarray(2 * L) as T;
  dw.fill(0);
  db?.fill(0);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      pad(x, (n * C + c) * H * W, H, W, xp, ph, pw);
      for (let m = 0; m < M; m++) {
        // dw[d, i, j] += Σ_{oh,ow} dY[n, d, oh, ow] · xp[oh·sh + i·dh, ow·sw + j·dw]
        const d = c * M + m, yo = (n * D + d) * P;
        if (db !== null) {
          // db[d] += Σ_{oh,ow} dY[n, d, oh, ow]
          let s = 0;
          for (let q = 0; q < P; q++) s += dy[yo + q];
          db[d] += s;
        }
        for (let i = 0; i < kh; i++) {
          const wr = d * K + i * kw;
          let j = 0;
          for (; j + 3 <= kw; j += 3) {
            let s0 = 0, s1 = 0, s2 = 0;
            for (let oh = 0; oh < Ho; oh++) {
              const yr = yo + oh * Wo;
              for (let ow = 0, q = (oh * sh + i * dh) * Wp + j * dwl; ow < Wo; ow++, q += sw) {
                const e = dy[yr + ow];
                s0 += e * xp[q];
                s1 += e * xp[q + dwl];
                s2 += e * xp[q + 2 * dwl];
              }
            }
            dw[wr + j] += s0;
            dw[wr + j + 1] += s1;
            dw[wr + j + 2] += s2;
          }
          for (; j < kw; j++) {
            let s = 0;
            for (let oh = 0; oh < Ho; oh++) {
              const yr = yo + oh * Wo;
              for (let ow = 0, q = (oh * sh + i * dh) * Wp + j * dwl; ow < Wo; ow++, q += sw) {
                s += dy[yr + ow] * xp[q];
              }
            }
            dw[wr + j] += s;
          }
        }
      }
      if (dx === null) continue;
      // dxp[oh·sh + i·dh, ow·sw + j·dw] += Σ_m w[c·M + m, i, j] · dY[n, c·M + m, oh, ow]
      dxp.fill(0);
      const yc = (n * D + c * M) * P, wc = c * M * K;
      for (let i = 0; i < kh; i++) {
        let j = 0;
        // one filter: three taps of the kernel row per pass over dY
        for (; M === 1 && j + 3 <= kw; j += 3) {
          const w0 = w[wc + i * kw + j], w1 = w[wc + i * kw + j + 1], w2 = w[wc + i * kw + j + 2];
          for (let oh = 0; oh < Ho; oh++) {
            const yr = yc + oh * Wo;
            for (let ow = 0, q = (oh * sh + i * dh) * Wp + j * dwl; ow < Wo; ow++, q += sw) {
              const e = dy[yr + ow];
              dxp[q] += w0 * e;
              dxp[q + dwl] += w1 * e;
              dxp[q + 2 * dwl] += w2 * e;
            }
          }
        }
        for (; j < kw; j++) {
          // e [Ho, Wo] = Σ_m w[c·M + m, i, j] · dY[n, c·M + m]: the tap's row of w_colᵀ · dY
          const t = i * kw + j;
          let e = dy, eo = yc, w0 = w[wc + t];
          if (M > 1) {
            [e, eo, w0] = [sum, 0, 1];
            for (let q = 0; q < P; q++) sum[q] = w[wc + t] * dy[yc + q];
            for (let m = 1; m < M; m++) {
              const wm = w[wc + m * K + t], ym = yc + m * P;
              for (let q = 0; q < P; q++) sum[q] += wm * dy[ym + q];
            }
          }
          for (let oh = 0; oh < Ho; oh++) {
            const er = eo + oh * Wo;
            for (let ow = 0, q = (oh * sh + i * dh) * Wp + j * dwl; ow < Wo; ow++, q += sw) {
              dxp[q] += w0 * e[er + ow];
            }
          }
        }
      }
      unpad(dxp, H, W, ph, pw, dx, (n * C + c) * H * W);
    }
  }
}
