/**
 * The fast batch normalisation's loops, on x stored [N, C, S] (S = H·W, or 1 for [N, C]): each
 * channel's values lie in N planes of S contiguous numbers, visited in memory order. Two
 * families with the same arguments, which kernels/fast/dispatch.ts chooses between: the
 * planes' loops (`batchNormStats`, ...: one inner loop per plane), and, for S = 1, where a plane
 * is one number, the rows' loops ({@link BATCH_NORM_ROWS}: the channels inner). Every sum
 * is a float64 (a JavaScript number) whatever x's type, as in the reference
 * (layers/batch_norm.ts), and results are rounded to x's type once, when stored; the sums run in
 * four (or two pairs of) independent accumulators, because a single `s += x[i]` chain is bound
 * by the latency of one addition per value (a plain float32 sum of 401,408 values: 381 µs, with
 * four accumulators 126 µs). The statistics keep the reference's two passes, μ first and then
 * Σ (x − μ)²: a one-pass alternative was slower on every shape measured (docs/batch_norm.md).
 *
 * What the reference computes in separate loops (x̂, then y; x̂ again, dβ, dγ, then dx) is fused
 * here: y = (x − μ)·a + β in one pass, and the backward pass in two (both sums, then dx). The
 * bounds that relate these to the reference are derived in tests/differential_test.ts.
 *
 * @module
 */

import type { FloatArray } from "../../tensor.ts";

/** x stored [N, C, S], and its sizes. */
export interface BatchNormPlanes<T extends FloatArray = FloatArray> {
  /** The input [N, C, S], flat. */
  readonly x: T;
  /** The batch size. */
  readonly N: number;
  /** The channels. */
  readonly C: number;
  /** The values of one channel in one sample (H·W, or 1). */
  readonly S: number;
}

/** Where the statistics go. */
export interface BatchNormStats {
  /** μ [C]. */
  readonly mean: Float64Array;
  /** σ² [C], biased. */
  readonly variance: Float64Array;
}

/**
 * μ and σ² (biased) of every channel, by two passes in memory order: the sums, then the squared
 * deviations from the means (never E[x²] − E[x]², which cancels).
 *
 * @param p x and its sizes.
 * @param out Where μ and σ² go.
 * @returns Nothing; `out.mean` and `out.variance` hold the statistics.
 *
 * @example A channel offset by 10⁸ keeps its variance; E[x²] − E[x]² loses it
 * ```ts
 * import { batchNormStats } from "./batch_norm.ts";
 * import { assertEquals, assertNotEquals } from "@std/assert";
 * const x = new Float64Array([1e8 + 1, 1e8 + 2, 1e8 + 3, 1e8 + 6]); // [N=2, C=1, S=2]
 * const mean = new Float64Array(1), variance = new Float64Array(1);
 * batchNormStats({ x, N: 2, C: 1, S: 2 }, { mean, variance });
 * assertEquals([mean[0], variance[0]], [1e8 + 3, 3.5]);
 * const naive = x.reduce((s, v) => s + v * v, 0) / 4 - mean[0] ** 2;
 * assertNotEquals(naive, 3.5); // E[x²] ≈ 1e16, where float64's spacing is 2
 * ```
 */
export function batchNormStats(p: BatchNormPlanes, out: BatchNormStats): void {
  const { x, N, C, S } = p, { mean, variance } = out, M = N * S;
  mean.fill(0);
  variance.fill(0);
  for (let n = 0, o = 0; n < N; n++) {
    for (let c = 0; c < C; c++, o += S) {
      const e = o + S;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, i = o;
      for (; i + 3 < e; i += 4) {
        s0 += x[i];
        s1 += x[i + 1];
        s2 += x[i + 2];
        s3 += x[i + 3];
      }
      for (; i < e; i++) s0 += x[i];
      mean[c] += (s0 + s1) + (s2 + s3);
    }
  }
  for (let c = 0; c < C; c++) mean[c] /= M;
  for (let n = 0, o = 0; n < N; n++) {
    for (let c = 0; c < C; c++, o += S) {
      const e = o + S, m = mean[c];
      let q0 = 0, q1 = 0, q2 = 0, q3 = 0, i = o;
      for (; i + 3 < e; i += 4) {
        const a = x[i] - m, b = x[i + 1] - m, d = x[i + 2] - m, f = x[i + 3] - m;
        q0 += a * a;
        q1 += b * b;
        q2 += d * d;
        q3 += f * f;
      }
      for (; i < e; i++) {
        const a = x[i] - m;
        q0 += a * a;
      }
      variance[c] += (q0 + q1) + (q2 + q3);
    }
  }
  for (let c = 0; c < C; c++) variance[c] /= M;
}

/** The per-channel constants of y = (x − μ)·a + β, and where y goes. */
export interface BatchNormApply<T extends FloatArray = FloatArray> {
  /** Where y goes (x's length; not x). */
  readonly y: T;
  /** μ [C]. */
  readonly mean: Float64Array;
  /** a = γ/√(σ² + ε) [C]. */
  readonly scale: Float64Array;
  /** β [C]. */
  readonly beta: FloatArray;
}

/**
 * y = (x − μ)·a + β per channel, with a = γ/√(σ² + ε): the reference's γ·x̂ + β in one pass,
 * x̂ never stored.
 *
 * @param p x and its sizes.
 * @param out y and the constants.
 * @returns Nothing; `out.y` holds the output.
 *
 * @example
 * ```ts
 * import { batchNormApply } from "./batch_norm.ts";
 * import { assertEquals } from "@std/assert";
 * const y = new Float64Array(4), x = new Float64Array([1, 3, 5, 7]);
 * const f = (v: number) => new Float64Array([v]);
 * batchNormApply({ x, N: 2, C: 1, S: 2 }, { y, mean: f(4), scale: f(0.5), beta: f(1) });
 * assertEquals(Array.from(y), [-0.5, 0.5, 1.5, 2.5]);
 * ```
 */
export function batchNormApply(p: BatchNormPlanes, out: BatchNormApply): void {
  const { x, N, C, S } = p, { y, mean, scale, beta } = out;
  for (let n = 0, o = 0; n < N; n++) {
    for (let c = 0; c < C; c++, o += S) {
      const m = mean[c], a = scale[c], b = beta[c], e = o + S;
      for (let i = o; i < e; i++) y[i] = (x[i] - m) * a + b;
    }
  }
}

/** The backward pass's sums: dy, μ, and where Σ dy and Σ dy·(x − μ) go. */
export interface BatchNormSums<T extends FloatArray = FloatArray> {
  /** dL/dy, x's length. */
  readonly dy: T;
  /** μ [C]. */
  readonly mean: Float64Array;
  /** Where Σ dy [C] goes. */
  readonly sumDy: Float64Array;
  /** Where Σ dy·(x − μ) [C] goes. */
  readonly sumDyX: Float64Array;
}

/**
 * The two sums of the backward pass in one pass over dy and x: Σ dy and Σ dy·(x − μ) per
 * channel (dγ is the second times 1/√(σ² + ε)).
 *
 * @param p x and its sizes.
 * @param out dy, μ and where the sums go.
 * @returns Nothing.
 *
 * @example
 * ```ts
 * import { batchNormSums } from "./batch_norm.ts";
 * import { assertEquals } from "@std/assert";
 * const sumDy = new Float64Array(1), sumDyX = new Float64Array(1);
 * const x = new Float64Array([1, 3, 4]), dy = new Float64Array([2, 5, 1]);
 * batchNormSums({ x, N: 3, C: 1, S: 1 }, { dy, mean: new Float64Array([2]), sumDy, sumDyX });
 * assertEquals([sumDy[0], sumDyX[0]], [8, 2 * -1 + 5 * 1 + 1 * 2]);
 * ```
 */
export function batchNormSums(p: BatchNormPlanes, out: BatchNormSums): void {
  const { x, N, C, S } = p, { dy, mean, sumDy, sumDyX } = out;
  sumDy.fill(0);
  sumDyX.fill(0);
  for (let n = 0, o = 0; n < N; n++) {
    for (let c = 0; c < C; c++, o += S) {
      const m = mean[c], e = o + S;
      let s0 = 0, s1 = 0, t0 = 0, t1 = 0, i = o;
      for (; i + 1 < e; i += 2) {
        const g = dy[i], h = dy[i + 1];
        s0 += g;
        s1 += h;
        t0 += g * (x[i] - m);
        t1 += h * (x[i + 1] - m);
      }
      if (i < e) {
        s0 += dy[i];
        t0 += dy[i] * (x[i] - m);
      }
      sumDy[c] += s0 + s1;
      sumDyX[c] += t0 + t1;
    }
  }
}

/** The per-channel constants of dx = k·(dy − m₁ − (x − μ)·t), and where dx goes. */
export interface BatchNormInputGradient<T extends FloatArray = FloatArray> {
  /** dL/dy, x's length. */
  readonly dy: T;
  /** Where dx goes (x's length; neither x nor dy). */
  readonly dx: T;
  /** μ [C]. */
  readonly mean: Float64Array;
  /** k = γ/√(σ² + ε) [C]. */
  readonly k: Float64Array;
  /** m₁ = mean(dy) [C]; null in evaluation. */
  readonly m1: Float64Array | null;
  /** t = mean(dy·x̂)/√(σ² + ε) [C]; null in evaluation. */
  readonly t: Float64Array | null;
}

/**
 * dx = k·(dy − m₁ − (x − μ)·t) per channel: the training gradient
 * γ/√(σ² + ε)·(dy − mean(dy) − x̂·mean(dy·x̂)), as x̂ = (x − μ)/√(σ² + ε); without m₁ and t
 * (evaluation) dx = k·dy, the reference's numbers bit for bit.
 *
 * @param p x and its sizes.
 * @param out dy, dx and the constants.
 * @returns Nothing; `out.dx` holds the gradient.
 *
 * @example
 * ```ts
 * import { batchNormInputGradient } from "./batch_norm.ts";
 * import { assertEquals } from "@std/assert";
 * const dx = new Float64Array(2), x = new Float64Array([1, 3]), dy = new Float64Array([2, 5]);
 * const k = new Float64Array([3]), mean = new Float64Array([2]);
 * batchNormInputGradient({ x, N: 2, C: 1, S: 1 }, { dy, dx, mean, k, m1: null, t: null });
 * assertEquals(Array.from(dx), [6, 15]); // evaluation: k·dy
 * const m1 = new Float64Array([3.5]), t = new Float64Array([1.5]);
 * batchNormInputGradient({ x, N: 2, C: 1, S: 1 }, { dy, dx, mean, k, m1, t });
 * assertEquals(Array.from(dx), [3 * (2 - 3.5 + 1.5), 3 * (5 - 3.5 - 1.5)]);
 * ```
 */
export function batchNormInputGradient(p: BatchNormPlanes, out: BatchNormInputGradient): void {
  const { x, N, C, S } = p, { dy, dx, mean, k, m1, t } = out;
  for (let n = 0, o = 0; n < N; n++) {
    for (let c = 0; c < C; c++, o += S) {
      const kc = k[c], e = o + S;
      if (m1 === null || t === null) {
        for (let i = o; i < e; i++) dx[i] = kc * dy[i];
      } else {
        const m = mean[c], a = m1[c], b = t[c];
        for (let i = o; i < e; i++) dx[i] = kc * (dy[i] - a - (x[i] - m) * b);
      }
    }
  }
}

/** The four loops of a batch normalisation, one family of them. */
export interface BatchNormLoops {
  /** μ and σ² (biased) of every channel, two passes. */
  readonly stats: (p: BatchNormPlanes, out: BatchNormStats) => void;
  /** y = (x − μ)·a + β. */
  readonly apply: (p: BatchNormPlanes, out: BatchNormApply) => void;
  /** Σ dy and Σ dy·(x − μ). */
  readonly sums: (p: BatchNormPlanes, out: BatchNormSums) => void;
  /** dx = k·(dy − m₁ − (x − μ)·t), or k·dy. */
  readonly inputGradient: (p: BatchNormPlanes, out: BatchNormInputGradient) => void;
}

/** The planes' loops: one inner loop over each plane's S contiguous values. */
export const BATCH_NORM_PLANES: BatchNormLoops = {
  stats: batchNormStats,
  apply: batchNormApply,
  sums: batchNormSums,
  inputGradient: batchNormInputGradient,
};

/**
 * The rows' loops, for S = 1 (x [N, C], or [N, C, 1, 1]): each sample is a row of C values, one
 * per channel, so the inner loop runs across the channels with their per-channel sums, instead
 * of a loop of one iteration per value. The same sums in the same order as the planes' loops
 * with one accumulator; the same formulas.
 *
 * @example The same statistics as the planes' loops
 * ```ts
 * import { BATCH_NORM_PLANES, BATCH_NORM_ROWS } from "./batch_norm.ts";
 * import { assertEquals } from "@std/assert";
 * const x = new Float64Array([1, 10, 3, 30, 8, 20]); // [N=3, C=2]
 * const run = (loops: typeof BATCH_NORM_ROWS) => {
 *   const mean = new Float64Array(2), variance = new Float64Array(2);
 *   loops.stats({ x, N: 3, C: 2, S: 1 }, { mean, variance });
 *   return [...mean, ...variance];
 * };
 * assertEquals(run(BATCH_NORM_ROWS), [4, 20, 26 / 3, 200 / 3]);
 * assertEquals(run(BATCH_NORM_ROWS), run(BATCH_NORM_PLANES));
 * ```
 */
export const BATCH_NORM_ROWS: BatchNormLoops = {
  stats(p, out) {
    const { x, N, C } = p, { mean, variance } = out;
    mean.fill(0);
    variance.fill(0);
    for (let n = 0, o = 0; n < N; n++, o += C) for (let c = 0; c < C; c++) mean[c] += x[o + c];
    for (let c = 0; c < C; c++) mean[c] /= N;
    for (let n = 0, o = 0; n < N; n++, o += C) {
      for (let c = 0; c < C; c++) {
        const d = x[o + c] - mean[c];
        variance[c] += d * d;
      }
    }
    for (let c = 0; c < C; c++) variance[c] /= N;
  },
  apply(p, out) {
    const { x, N, C } = p, { y, mean, scale, beta } = out;
    for (let n = 0, o = 0; n < N; n++, o += C) {
      for (let c = 0; c < C; c++) y[o + c] = (x[o + c] - mean[c]) * scale[c] + beta[c];
    }
  },
  sums(p, out) {
    const { x, N, C } = p, { dy, mean, sumDy, sumDyX } = out;
    sumDy.fill(0);
    sumDyX.fill(0);
    for (let n = 0, o = 0; n < N; n++, o += C) {
      for (let c = 0; c < C; c++) {
        const g = dy[o + c];
        sumDy[c] += g;
        sumDyX[c] += g * (x[o + c] - mean[c]);
      }
    }
  },
  inputGradient(p, out) {
    const { x, N, C } = p, { dy, dx, mean, k, m1, t } = out;
    for (let n = 0, o = 0; n < N; n++, o += C) {
      if (m1 === null || t === null) {
        for (let c = 0; c < C; c++) dx[o + c] = k[c] * dy[o + c];
      } else {
        for (let c = 0; c < C; c++) {
          dx[o + c] = k[c] * (dy[o + c] - m1[c] - (x[o + c] - mean[c]) * t[c]);
        }
      }
    }
  },
};
