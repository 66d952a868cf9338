// Batch normalisation on the depthwise-separable model's shapes (float32, batch 64): the stem's
// [64,32,14,14] and the blocks' [64,64,7,7], and [64,256] features after a fully connected
// layer. Baseline: the fast backend's training forward pass with fresh outputs; against it a
// workspace, evaluation, forward+backward, the BatchNorm2D class, float64 and the reference
// backend; for [64,256] (S = 1) the planes' loops forced against the rows' the dispatcher picks.
// Then the statistics alone: the fast path's two passes (four accumulators each) against the
// same with one accumulator, and against the one-pass alternative it does not use (each plane's
// mean and deviations while the plane is in cache, combined exactly afterwards: Chan, Golub and
// LeVeque's pairwise update). Every statistics function is first called on a float64 array too,
// as the fast path's is by the float64 benches: V8 compiles an element access for the array
// types it has seen, and one that saw two is slower, which would otherwise favour the
// alternatives (docs/batch_norm.md has the numbers).

import {
  BatchNorm1D,
  BatchNorm2D,
  batchNormBackward,
  batchNormForward,
  type Tensor,
  Workspace,
} from "../mod.ts";
import { batchNormLoops, forceKernels } from "../kernels/fast/dispatch.ts";
import { onReference, rand } from "./_bench_util.ts";

const shapes = [[64, 32, 14, 14], [64, 64, 7, 7], [64, 256]];

for (const shape of shapes) {
  const C = shape[1], name = `batchnorm [${shape}]`;
  const x = rand(shape), dy = rand(shape);
  const gamma = rand([C]), beta = rand([C]);
  const stats = () => ({
    runningMean: { shape: [C], data: new Float32Array(C) },
    runningVar: { shape: [C], data: new Float32Array(C).fill(1) },
  });
  const s = stats(), train = { training: true, ...s }, evaluate = { training: false, ...s };
  const workspace = new Workspace();
  const g = `${name} fwd`, gb = `${name} fwd+bwd`;
  Deno.bench(`${name} fwd training (fresh outputs)`, { group: g, baseline: true }, () => {
    batchNormForward(x, gamma, beta, train);
  });
  Deno.bench(`${name} fwd training (workspace)`, { group: g }, () => {
    batchNormForward(x, gamma, beta, { ...train, workspace });
  });
  Deno.bench(`${name} fwd evaluation (workspace)`, { group: g }, () => {
    batchNormForward(x, gamma, beta, { ...evaluate, workspace });
  });
  Deno.bench(`${name} fwd training (reference backend)`, { group: g }, () => {
    onReference(() => batchNormForward(x, gamma, beta, train));
  });
  Deno.bench(`${name} fwd+bwd (fresh outputs)`, { group: gb, baseline: true }, () => {
    batchNormBackward(dy, batchNormForward(x, gamma, beta, train).cache);
  });
  const layer = shape.length === 4
    ? new BatchNorm2D({ features: C })
    : new BatchNorm1D({ features: C });
  Deno.bench(`${name} fwd+bwd (${layer.kind})`, { group: gb }, () => {
    layer.forward(x);
    layer.backward(dy);
  });
  const x64 = rand(shape, Float64Array), dy64: Tensor = { shape, data: Float64Array.from(dy.data) };
  const g64 = rand([C], Float64Array), b64 = rand([C], Float64Array);
  const s64 = {
    training: true,
    runningMean: { shape: [C], data: new Float64Array(C) },
    runningVar: { shape: [C], data: new Float64Array(C).fill(1) },
  };
  Deno.bench(`${name} fwd+bwd float64 (fresh outputs)`, { group: gb }, () => {
    batchNormBackward(dy64, batchNormForward(x64, g64, b64, s64).cache);
  });
  Deno.bench(`${name} fwd+bwd (reference backend)`, { group: gb }, () => {
    onReference(() => batchNormBackward(dy, batchNormForward(x, gamma, beta, train).cache));
  });
  if (shape.length === 2) {
    Deno.bench(`${name} fwd+bwd (the planes' loops, forced)`, { group: gb }, () => {
      forceKernels({ batchNorm: "planes" });
      batchNormBackward(dy, batchNormForward(x, gamma, beta, train).cache);
      forceKernels(null);
    });
  }

  // the statistics alone, three ways, each also seen once with float64 (see the top)
  const N = shape[0], S = shape.length === 4 ? shape[2] * shape[3] : 1, X = x.data;
  const mean = new Float64Array(C), variance = new Float64Array(C);
  const planes = new Float64Array(3 * N * C), gs = `${name} statistics`;
  const fastStats = batchNormLoops(S).stats;
  twoPassOneAccumulator(x64.data, N, C, S, mean, variance);
  onePassPlanes(x64.data, N, C, S, mean, variance, planes);
  Deno.bench(`${name} stats: two passes (fast path, ${S === 1 ? "rows" : "4 accumulators"})`, {
    group: gs,
    baseline: true,
  }, () => fastStats({ x: X, N, C, S }, { mean, variance }));
  Deno.bench(`${name} stats: two passes, 1 accumulator`, { group: gs }, () => {
    twoPassOneAccumulator(X, N, C, S, mean, variance);
  });
  Deno.bench(`${name} stats: one pass, planes combined (not used)`, { group: gs }, () => {
    onePassPlanes(X, N, C, S, mean, variance, planes);
  });
}

/** The two passes with a single `s += x[i]` chain each: bound by one addition's latency. */
function twoPassOneAccumulator(
  x: ArrayLike<number>,
  N: number,
  C: number,
  S: number,
  mean: Float64Array,
  variance: Float64Array,
): void {
  mean.fill(0);
  variance.fill(0);
  for (let n = 0, o = 0; n < N; n++) {
    for (let c = 0; c < C; c++, o += S) for (let i = o; i < o + S; i++) mean[c] += x[i];
  }
  for (let c = 0; c < C; c++) mean[c] /= N * S;
  for (let n = 0, o = 0; n < N; n++) {
    for (let c = 0; c < C; c++, o += S) {
      for (let i = o; i < o + S; i++) variance[c] += (x[i] - mean[c]) ** 2;
    }
  }
  for (let c = 0; c < C; c++) variance[c] /= N * S;
}

/** One pass over memory: each plane b's sum, mean m_b and deviations r_b = Σ (x − m_b),
 * q_b = Σ (x − m_b)² while it is in cache; then M·σ² = Σ_b q_b + (m_b − μ)(2r_b + S(m_b − μ)),
 * exact for the rounded m_b and μ. */
function onePassPlanes(
  x: ArrayLike<number>,
  N: number,
  C: number,
  S: number,
  mean: Float64Array,
  variance: Float64Array,
  planes: Float64Array,
): void {
  mean.fill(0);
  variance.fill(0);
  for (let n = 0, o = 0, b = 0; n < N; n++) {
    for (let c = 0; c < C; c++, o += S, b += 3) {
      const e = o + S;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, i = o;
      for (; i + 3 < e; i += 4) {
        s0 += x[i];
        s1 += x[i + 1];
        s2 += x[i + 2];
        s3 += x[i + 3];
      }
      for (; i < e; i++) s0 += x[i];
      const s = (s0 + s1) + (s2 + s3), m = s / S;
      let r0 = 0, r1 = 0, q0 = 0, q1 = 0;
      for (i = o; i + 1 < e; i += 2) {
        const a = x[i] - m, d = x[i + 1] - m;
        r0 += a;
        r1 += d;
        q0 += a * a;
        q1 += d * d;
      }
      if (i < e) {
        const a = x[i] - m;
        r0 += a;
        q0 += a * a;
      }
      mean[c] += s;
      planes[b] = m;
      planes[b + 1] = r0 + r1;
      planes[b + 2] = q0 + q1;
    }
  }
  for (let c = 0; c < C; c++) mean[c] /= N * S;
  for (let n = 0, b = 0; n < N; n++) {
    for (let c = 0; c < C; c++, b += 3) {
      const e = planes[b] - mean[c];
      variance[c] += planes[b + 2] + e * (2 * planes[b + 1] + S * e);
    }
  }
  for (let c = 0; c < C; c++) variance[c] /= N * S;
}
