/**
 * Batch normalisation (Ioffe and Szegedy, 2015), forward and backward side by side: the
 * reference form, one line per formula, which docs/batch_norm.md derives and quotes. Each channel
 * c is normalised over its M values in the batch (M = N·H·W for x [N, C, H, W], M = N for
 * x [N, C]), then scaled and shifted:
 *
 *     training:    μ  = Σ x / M                    the batch mean           [C]
 *                  σ² = Σ (x − μ)² / M             biased variance, a second pass over x
 *     evaluation:  μ, σ² = the running statistics (constants)
 *                  x̂  = (x − μ) / √(σ² + ε)                                 (x's shape)
 *                  y  = γ·x̂ + β
 *     backward:    dβ = Σ dy,   dγ = Σ dy·x̂                                [C]
 *                  dx = γ/√(σ² + ε) · (dy − mean(dy) − x̂·mean(dy·x̂))     (training)
 *                  dx = γ/√(σ² + ε) · dy                                   (evaluation)
 *
 * with every sum and mean over a channel's M values. Training also updates the running averages
 * in place, as torch.nn.functional.batch_norm: running μ ← (1 − m)·running μ + m·μ and
 * running σ² ← (1 − m)·running σ² + m·σ²·M/(M − 1) (the unbiased variance), m the momentum.
 *
 * The variance is computed in two passes, mean first, then the mean of the squared deviations:
 * never as E[x²] − E[x]², which cancels catastrophically when the mean is large against the
 * spread (and can even come out negative). Statistics and sums are float64 whatever x's type; y
 * and the gradients are rounded to x's type once, at the end. This is the path
 * `setBackend("reference")` runs; the fast one (layers/fast/batch_norm.ts) fuses the passes.
 *
 * @module
 */

import type { FloatArray, Tensor } from "../tensor.ts";
import { zerosLike } from "../_validate.ts";
import { batchNormArgs, batchNormBackwardArgs } from "./_args.ts";
import type {
  BatchNormBackwardResult,
  BatchNormCache,
  BatchNormForwardOptions,
  BatchNormForwardResult,
  BatchNormGradients,
  BatchNormParamGradients,
  ParamBackwardOptions,
} from "./types.ts";

/**
 * The forward pass of batch normalisation, as torch.nn.functional.batch_norm:
 * y = γ·(x − μ)/√(σ² + ε) + β per channel, with the batch's mean and biased variance when
 * training (and the running averages updated in place), or the running statistics otherwise.
 *
 * @param x Input [N, C, H, W] or [N, C].
 * @param gamma The scale γ [C].
 * @param beta The shift β [C].
 * @param opts `training` (required), `runningMean` and `runningVar` [C] (required; updated in
 *   place when training), `eps` (default 1e-5), `momentum` (default 0.1); `workspace` is a hint
 *   for the fast backend, ignored here.
 * @returns y of x's shape and type, and the cache for {@link batchNormBackward}.
 * @throws {RangeError} If x is not 4-D or 2-D, gamma, beta or a running statistic is not [C],
 *   eps is not positive, momentum is not in [0, 1], training has fewer than 2 values per channel,
 *   or a running statistic shares memory with an input or the other (when training). Nothing is
 *   written then: the running statistics are untouched.
 * @throws {TypeError} If an argument is not a tensor, the types differ, `training` is missing,
 *   or an option is unknown or of the wrong type.
 *
 * @example Two channels over a batch of two, training: each comes out with mean 0
 * ```ts
 * import { batchNormForward } from "./batch_norm.ts";
 * import { assertAlmostEquals, assertEquals } from "@std/assert";
 * const x = { shape: [2, 2], data: new Float64Array([1, 10, 3, 30]) }; // channel 0: 1, 3
 * const gamma = { shape: [2], data: new Float64Array([1, 1]) };
 * const beta = { shape: [2], data: new Float64Array([0, 5]) };
 * const runningMean = { shape: [2], data: new Float64Array([0, 0]) };
 * const runningVar = { shape: [2], data: new Float64Array([1, 1]) };
 * const { y } = batchNormForward(x, gamma, beta, { training: true, runningMean, runningVar, eps: 1e-12 });
 * assertAlmostEquals(y.data[0], -1, 1e-9); // (1 − 2)/√1
 * assertAlmostEquals(y.data[1], 5 - 1, 1e-9); // (10 − 20)/√100 + 5
 * assertAlmostEquals(runningMean.data[0], 0.1 * 2); // (1 − 0.1)·0 + 0.1·μ
 * assertAlmostEquals(runningVar.data[0], 0.9 + 0.1 * 2); // unbiased: σ²·M/(M − 1) = 1·2
 * // evaluation: the running statistics, which stay as they are
 * const e = batchNormForward(x, gamma, beta, { training: false, runningMean, runningVar });
 * assertAlmostEquals(e.y.data[0], (1 - 0.2) / Math.sqrt(1.1 + 1e-5), 1e-12);
 * assertEquals(runningMean.data[0], 0.2 * 1);
 * ```
 */
export function batchNormForward<T extends FloatArray>(
  x: Tensor<T>,
  gamma: Tensor<T>,
  beta: Tensor<T>,
  opts: BatchNormForwardOptions<T>,
): BatchNormForwardResult<T> {
  const g = batchNormArgs("batchNormForward", x, gamma, beta, opts);
  // x [N,C,H,W] or [N,C], gamma [C], beta [C] -> y (x's shape)
  const { C, S, M, eps, momentum } = g;
  const X = x.data, ch = (i: number) => Math.floor(i / S) % C; // X[i] is in channel ch(i)
  const mean = new Float64Array(C), variance = new Float64Array(C); // μ [C], σ² [C]
  if (g.training) {
    for (let i = 0; i < X.length; i++) mean[ch(i)] += X[i]; // Σ x   [C]
    for (let c = 0; c < C; c++) mean[c] /= M; // μ = Σ x / M   [C]
    for (let i = 0; i < X.length; i++) variance[ch(i)] += (X[i] - mean[ch(i)]) ** 2; // Σ (x − μ)²
    for (let c = 0; c < C; c++) variance[c] /= M; // σ² = Σ (x − μ)² / M, biased   [C]
  } else {
    mean.set(g.runningMean.data); // μ = the running mean, a constant   [C]
    variance.set(g.runningVar.data); // σ² = the running variance, a constant   [C]
  }
  const xhat = new Float64Array(X.length); // x̂ (x's shape)
  for (let i = 0; i < X.length; i++) {
    xhat[i] = (X[i] - mean[ch(i)]) / Math.sqrt(variance[ch(i)] + eps); // x̂ = (x − μ)/√(σ² + ε)
  }
  const y = zerosLike(X, X.length); // y (x's shape and type)
  for (let i = 0; i < X.length; i++) y[i] = gamma.data[ch(i)] * xhat[i] + beta.data[ch(i)]; // y = γ·x̂ + β
  if (g.training) {
    const rm = g.runningMean.data, rv = g.runningVar.data; // updated in place   [C]
    for (let c = 0; c < C; c++) rm[c] = (1 - momentum) * rm[c] + momentum * mean[c]; // running μ
    for (let c = 0; c < C; c++) {
      rv[c] = (1 - momentum) * rv[c] + momentum * variance[c] * M / (M - 1); // running σ², unbiased
    }
  }
  const geometry = { N: g.N, C, S, M }; // the sizes, without the running statistics
  const cache = { kind: "batchNorm" as const, x, gamma, training: g.training, mean, variance, eps };
  return { y: { shape: [...x.shape], data: y }, cache: { ...cache, geometry } };
}

/**
 * The backward pass of {@link batchNormForward}: dβ = Σ dy, dγ = Σ dy·x̂ over each channel, and
 * dx = γ/√(σ² + ε)·(dy − mean(dy) − x̂·mean(dy·x̂)) when the forward pass trained (μ and σ²
 * depend on x), or dx = γ/√(σ² + ε)·dy in evaluation (they are constants).
 *
 * @param dy dL/dy, x's shape and type.
 * @param cache The cache from {@link batchNormForward}.
 * @param opts `inputGradient: false` to skip dx (dgamma and dbeta are the same bit for bit);
 *   `workspace`, a hint for the fast backend (ignored here).
 * @returns dx (x's shape, or null), dgamma [C] and dbeta [C].
 * @throws {RangeError} If dy's shape differs from x's.
 * @throws {TypeError} If dy's type differs from x's, the cache is not a batch-norm cache, or an
 *   option is unknown or of the wrong type.
 *
 * @example The gradient of the sum of outputs: dβ counts, dγ sums x̂ (to 0), dx vanishes
 * ```ts
 * import { batchNormBackward, batchNormForward } from "./batch_norm.ts";
 * import { assertAlmostEquals, assertEquals } from "@std/assert";
 * const x = { shape: [3, 1], data: new Float64Array([1, 2, 6]) };
 * const one = () => ({ shape: [1], data: new Float64Array([1]) });
 * const opts = { training: true, runningMean: one(), runningVar: one() };
 * const { cache } = batchNormForward(x, one(), { shape: [1], data: new Float64Array([0]) }, opts);
 * const { dx, dgamma, dbeta } = batchNormBackward({ shape: [3, 1], data: new Float64Array([1, 1, 1]) }, cache);
 * assertEquals(Array.from(dbeta.data), [3]);
 * assertAlmostEquals(dgamma.data[0], 0, 1e-15); // Σ x̂ = 0
 * for (const v of dx.data) assertAlmostEquals(v, 0, 1e-15); // a shift of y's sum moves nothing
 * ```
 */
export function batchNormBackward<T extends FloatArray, O extends ParamBackwardOptions = object>(
  dy: Tensor<T>,
  cache: BatchNormCache<T>,
  opts?: O,
): BatchNormBackwardResult<T, O> {
  const { C, S, M } = batchNormBackwardArgs("batchNormBackward", dy, cache, opts);
  // dy (x's shape) -> dx (x's shape), dgamma [C], dbeta [C]
  const { x, gamma, mean, variance, eps } = cache;
  const X = x.data, dY = dy.data, ch = (i: number) => Math.floor(i / S) % C; // X[i] is in channel ch(i)
  const xhat = new Float64Array(X.length); // x̂ again, from the cache (x's shape)
  for (let i = 0; i < X.length; i++) {
    xhat[i] = (X[i] - mean[ch(i)]) / Math.sqrt(variance[ch(i)] + eps); // x̂ = (x − μ)/√(σ² + ε)
  }
  const dbeta = new Float64Array(C), dgamma = new Float64Array(C); // dβ [C], dγ [C], in float64
  for (let i = 0; i < X.length; i++) dbeta[ch(i)] += dY[i]; // dβ = Σ dy
  for (let i = 0; i < X.length; i++) dgamma[ch(i)] += dY[i] * xhat[i]; // dγ = Σ dy·x̂
  const k = new Float64Array(C); // γ/√(σ² + ε) [C]: how much y moves per unit of x, μ and σ² fixed
  for (let c = 0; c < C; c++) k[c] = gamma.data[c] / Math.sqrt(variance[c] + eps);
  let dx: T | null = null; // dx (x's shape and type)
  if (opts?.inputGradient !== false) {
    dx = zerosLike(X, X.length);
    if (cache.training) {
      for (let i = 0; i < X.length; i++) {
        dx[i] = k[ch(i)] * (dY[i] - dbeta[ch(i)] / M - xhat[i] * dgamma[ch(i)] / M); // dx = γ/√(σ² + ε)·(dy − mean(dy) − x̂·mean(dy·x̂))
      }
    } else {
      for (let i = 0; i < X.length; i++) dx[i] = k[ch(i)] * dY[i]; // dx = γ/√(σ² + ε)·dy: μ, σ² are constants
    }
  }
  const result: BatchNormGradients<T> | BatchNormParamGradients<T> = {
    dx: dx === null ? null : { shape: [...x.shape], data: dx },
    dgamma: { shape: [C], data: copyAs(X, dgamma) },
    dbeta: { shape: [C], data: copyAs(X, dbeta) },
  };
  return result as BatchNormBackwardResult<T, O>;
}

/** `values` rounded once into a new array of `like`'s type. */
function copyAs<T extends FloatArray>(like: T, values: Float64Array): T {
  const out = zerosLike(like, values.length);
  out.set(values);
  return out;
}
