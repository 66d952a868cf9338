/**
 * The fast batch normalisation: layers/batch_norm.ts's formulas with its passes fused
 * (kernels/fast/batch_norm.ts): the statistics in two passes with four accumulators each, y in
 * one more, no x̂ array, and the backward pass in two passes instead of four, on the loops
 * kernels/fast/dispatch.ts picks for the layout; results in a workspace's arrays when one is
 * given. Sums are float64, as in the reference, so the two agree
 * within the bound tests/differential_test.ts derives (bit for bit in evaluation's backward).
 *
 * @module
 */

import { batchNormArgs, batchNormBackwardArgs } from "../_args.ts";
import { Workspace } from "../workspace.ts";
import { batchNormLoops } from "../../kernels/fast/dispatch.ts";
import type * as reference from "../batch_norm.ts";
import type { BatchNormGradients, BatchNormParamGradients } from "../types.ts";

/**
 * layers/batch_norm.ts's batchNormForward, its passes fused: y = (x − μ)·γ/√(σ² + ε) + β.
 *
 * @example The same numbers as the reference's example
 * ```ts
 * import { batchNormForward } from "./batch_norm.ts";
 * import { assertAlmostEquals } from "@std/assert";
 * const x = { shape: [2, 2], data: new Float64Array([1, 10, 3, 30]) };
 * const f = (a: number, b: number) => ({ shape: [2], data: new Float64Array([a, b]) });
 * const runningMean = f(0, 0), runningVar = f(1, 1);
 * const { y } = batchNormForward(x, f(1, 1), f(0, 5), { training: true, runningMean, runningVar });
 * assertAlmostEquals(y.data[1], 5 - 10 / Math.sqrt(100 + 1e-5), 1e-12);
 * assertAlmostEquals(runningVar.data[1], 0.9 + 0.1 * 200); // unbiased: 100·2/1
 * ```
 */
export const batchNormForward: typeof reference.batchNormForward = (x, gamma, beta, opts) => {
  const g = batchNormArgs("batchNormForward", x, gamma, beta, opts);
  const { N, C, S, M, eps, momentum, runningMean, runningVar } = g;
  const X = x.data, p = { x: X, N, C, S }, loops = batchNormLoops(S);
  const mean = new Float64Array(C), variance = new Float64Array(C); // μ, σ² [C]
  if (g.training) loops.stats(p, { mean, variance });
  else {
    mean.set(runningMean.data);
    variance.set(runningVar.data);
  }
  const scale = new Float64Array(C); // a = γ/√(σ² + ε) [C]
  for (let c = 0; c < C; c++) scale[c] = gamma.data[c] / Math.sqrt(variance[c] + eps);
  const avoid = [X, gamma.data, beta.data, runningMean.data, runningVar.data];
  const y = (opts.workspace ?? new Workspace()).floats("y", X, X.length, avoid);
  loops.apply(p, { y, mean, scale, beta: beta.data });
  if (g.training) {
    // the reference's lines, so the same statistics give the same running averages
    const rm = runningMean.data, rv = runningVar.data;
    for (let c = 0; c < C; c++) rm[c] = (1 - momentum) * rm[c] + momentum * mean[c];
    for (let c = 0; c < C; c++) {
      rv[c] = (1 - momentum) * rv[c] + momentum * variance[c] * M / (M - 1);
    }
  }
  const cache = {
    kind: "batchNorm" as const,
    x,
    gamma,
    training: g.training,
    mean,
    variance,
    eps,
    geometry: { N, C, S, M },
  };
  return { y: { shape: [...x.shape], data: y }, cache };
};

/**
 * layers/batch_norm.ts's batchNormBackward in two passes: Σ dy and Σ dy·(x − μ), then dx.
 *
 * @example
 * ```ts
 * import { batchNormBackward, batchNormForward } from "./batch_norm.ts";
 * import { assertAlmostEquals, assertEquals } from "@std/assert";
 * const x = { shape: [3, 1], data: new Float64Array([1, 2, 6]) };
 * const one = () => ({ shape: [1], data: new Float64Array([1]) });
 * const opts = { training: false, runningMean: one(), runningVar: one() };
 * const { cache } = batchNormForward(x, one(), one(), opts);
 * const dy = { shape: [3, 1], data: new Float64Array([1, 2, 3]) };
 * const { dx, dgamma, dbeta } = batchNormBackward(dy, cache);
 * assertEquals(Array.from(dbeta.data), [6]);
 * assertAlmostEquals(dgamma.data[0], (0 * 1 + 1 * 2 + 5 * 3) / Math.sqrt(1 + 1e-5), 1e-12);
 * assertAlmostEquals(dx.data[2], 3 / Math.sqrt(1 + 1e-5), 1e-15); // evaluation: γ/√(σ² + ε)·dy
 * ```
 */
export const batchNormBackward: typeof reference.batchNormBackward = (dy, cache, opts) => {
  const { N, C, S, M } = batchNormBackwardArgs("batchNormBackward", dy, cache, opts);
  const { x, gamma, mean, variance, eps } = cache;
  const X = x.data, p = { x: X, N, C, S }, ws = opts?.workspace ?? new Workspace();
  const loops = batchNormLoops(S);
  const sumDy = new Float64Array(C), sumDyX = new Float64Array(C); // Σ dy, Σ dy·(x − μ) [C]
  loops.sums(p, { dy: dy.data, mean, sumDy, sumDyX });
  const avoid = [X, dy.data, gamma.data];
  const dgamma = ws.floats("dgamma", X, C, avoid), dbeta = ws.floats("dbeta", X, C, avoid);
  const inv = new Float64Array(C), k = new Float64Array(C); // 1/√(σ² + ε), γ/√(σ² + ε) [C]
  for (let c = 0; c < C; c++) {
    inv[c] = 1 / Math.sqrt(variance[c] + eps);
    k[c] = gamma.data[c] / Math.sqrt(variance[c] + eps); // as the reference: bit for bit
    dgamma[c] = sumDyX[c] * inv[c]; // dγ = Σ dy·x̂
    dbeta[c] = sumDy[c]; // dβ = Σ dy
  }
  let dx = null;
  if (opts?.inputGradient !== false) {
    let m1 = null, t = null; // mean(dy), mean(dy·x̂)/√(σ² + ε) [C]; none in evaluation
    if (cache.training) {
      m1 = new Float64Array(C);
      t = new Float64Array(C);
      for (let c = 0; c < C; c++) {
        m1[c] = sumDy[c] / M;
        t[c] = sumDyX[c] * inv[c] / M * inv[c];
      }
    }
    const data = ws.floats("dx", X, X.length, avoid);
    loops.inputGradient(p, { dy: dy.data, dx: data, mean, k, m1, t });
    dx = { shape: [...x.shape], data };
  }
  const result: BatchNormGradients | BatchNormParamGradients = {
    dx,
    dgamma: { shape: [C], data: dgamma },
    dbeta: { shape: [C], data: dbeta },
  };
  return result as never; // the reference's conditional type, which dx null or not decides
};
