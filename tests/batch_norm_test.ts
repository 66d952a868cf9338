// Batch normalisation's properties, on whichever backend runs (the suite runs on both):
// - training output: per channel, mean β and variance γ²·σ²/(σ² + ε) (mean 0 and σ²/(σ² + ε)
//   before γ and β), where σ² is the batch's biased variance;
// - evaluation with running statistics equal to the batch's (biased) statistics gives exactly
//   the training output;
// - a constant channel: σ² = 0 exactly (two passes), y = β, and the running variance decays;
// - bad input: a named RangeError/TypeError, and nothing written: running statistics, x, an
//   earlier cache, a layer's count and gradients all as they were;
// - the layers and networks: train()/eval() switch batch norm, buffers are named as PyTorch
//   names them and never reach an optimiser, the count counts training batches only.
// - a workspace: the fresh arrays' numbers, and an earlier result passed back in is not written.

import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import {
  BatchNorm1D,
  BatchNorm2D,
  batchNormBackward,
  batchNormForward,
  buildNetwork,
  Conv2D,
  convForward,
  Flatten,
  FullyConnected,
  ReLU,
  Sequential,
  SGD,
  type Tensor,
  Workspace,
} from "../mod.ts";
import { randInt, randTensor, rngFor } from "./_random.ts";

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;
const TYPES: Ctor[] = [Float64Array, Float32Array];

const vec = (T: Ctor, values: number[]): Tensor => ({
  shape: [values.length],
  data: T.from(values),
});

/** Per channel of x [N, C, ...]: the mean and the biased variance, two passes in float64. */
function channelStats(x: Tensor): { mean: number[]; variance: number[] } {
  const [N, C] = x.shape, S = x.data.length / (N * C), M = N * S;
  const mean = new Array(C).fill(0), variance = new Array(C).fill(0);
  for (let i = 0; i < x.data.length; i++) mean[Math.floor(i / S) % C] += x.data[i] / M;
  for (let i = 0; i < x.data.length; i++) {
    const c = Math.floor(i / S) % C;
    variance[c] += (x.data[i] - mean[c]) ** 2 / M;
  }
  return { mean, variance };
}

for (const T of TYPES) {
  Deno.test(`batch norm (${T.name}): training output has mean β and variance γ²σ²/(σ² + ε) per channel`, () => {
    const rng = rngFor(1);
    for (const shape of [[4, 3, 5, 5], [16, 6], [1, 2, 3, 4]]) {
      const C = shape[1];
      const x = randTensor(rng, shape, T);
      for (let i = 0; i < x.data.length; i++) x.data[i] = 3 * x.data[i] + 2; // σ² ≈ 3, μ ≈ 2
      const eps = 0.5; // large, so σ²/(σ² + ε) is visibly below 1
      const gamma = vec(T, Array.from({ length: C }, (_, c) => 0.5 + c));
      const beta = vec(T, Array.from({ length: C }, (_, c) => c - 1));
      const runningMean = vec(T, new Array(C).fill(0)), runningVar = vec(T, new Array(C).fill(1));
      const opts = { training: true, runningMean, runningVar, eps };
      const { y } = batchNormForward(x, gamma, beta, opts);
      const inStats = channelStats(x), outStats = channelStats(y);
      for (let c = 0; c < C; c++) {
        const v = inStats.variance[c], g = gamma.data[c];
        // float64: sums of ≤ 100 values of size ≤ 5 in float64, ≲ 1e-13; float32: y is rounded
        // to float32, |Δy| ≤ 2⁻²⁴·|y| ≲ 4e-7, which moves the mean by as much and the variance
        // by ≲ 2·|y|·4e-7 ≲ 4e-6
        const tol = T === Float64Array ? 1e-12 : 5e-6;
        assertAlmostEquals(outStats.mean[c], beta.data[c], tol, `mean of channel ${c}`);
        assertAlmostEquals(outStats.variance[c], (g * g * v) / (v + eps), tol, `variance ${c}`);
      }
    }
  });

  Deno.test(`batch norm (${T.name}): evaluation with the batch's statistics is the training output, bit for bit`, () => {
    const rng = rngFor(2);
    for (const shape of [[3, 4, 2, 5], [7, 3]]) {
      const C = shape[1];
      const x = randTensor(rng, shape, T);
      const gamma = randTensor(rng, [C], T), beta = randTensor(rng, [C], T);
      const zeros = () => vec(T, new Array(C).fill(0));
      const train = batchNormForward(x, gamma, beta, {
        training: true,
        runningMean: zeros(),
        runningVar: zeros(),
      });
      // running statistics that are the batch's own (biased) ones, as float64: exactly the
      // numbers the training pass normalised with
      const f64 = (a: Float64Array): Tensor => ({ shape: [C], data: a.slice() });
      const runningMean = f64(train.cache.mean), runningVar = f64(train.cache.variance);
      const eval64 = batchNormForward(
        { shape: x.shape, data: Float64Array.from(x.data) },
        { shape: [C], data: Float64Array.from(gamma.data) },
        { shape: [C], data: Float64Array.from(beta.data) },
        { training: false, runningMean, runningVar },
      );
      if (T === Float64Array) {
        assertEquals(eval64.y.data, train.y.data);
      } else {
        // in the statistics' own type: float32 running statistics round μ and σ², so compare
        // the float64 evaluation, rounded once, with the float32 training output
        assertEquals(Float32Array.from(eval64.y.data), train.y.data);
      }
    }
  });

  Deno.test(`batch norm (${T.name}): a constant channel has σ² = 0 exactly, y = β, and backward stays finite`, () => {
    // 0.375 and 10000.5 are exact in float32 and their sums of ≤ 2²⁹ copies exact in float64,
    // so μ is exact and every x − μ is 0: the two-pass variance is exactly 0 (E[x²] − E[x]² of
    // 10000.5 would be 0 only by luck, and can come out negative)
    for (const value of [0.375, 10000.5]) {
      const N = 4, C = 2, S = 6, x = { shape: [N, C, 2, 3], data: new T(N * C * S) };
      for (let i = 0; i < x.data.length; i++) {
        x.data[i] = Math.floor(i / S) % C === 0 ? value : Math.sin(i);
      }
      const gamma = vec(T, [2, 3]), beta = vec(T, [0.25, -1]);
      const runningMean = vec(T, [1, 1]), runningVar = vec(T, [0.5, 0.5]);
      const momentum = 0.25;
      const { y, cache } = batchNormForward(x, gamma, beta, {
        training: true,
        runningMean,
        runningVar,
        momentum,
      });
      assertEquals(cache.variance[0], 0);
      assertEquals(cache.mean[0], value);
      for (let i = 0; i < x.data.length; i++) {
        if (Math.floor(i / S) % C === 0) assertEquals(y.data[i], 0.25, `y[${i}] = β`);
      }
      assertEquals(runningVar.data[0], (1 - momentum) * 0.5); // + momentum·0, exactly
      assertEquals(runningMean.data[0], (1 - momentum) * 1 + momentum * value);
      // x̂ = 0 there, so dx = γ/√ε·(dy − mean(dy)): large (1/√ε ≈ 316) but finite
      const dy = { shape: x.shape, data: new T(x.data.length) };
      for (let i = 0; i < dy.data.length; i++) dy.data[i] = Math.cos(i);
      const { dx, dgamma } = batchNormBackward(dy, cache);
      let mean = 0;
      for (let n = 0; n < N; n++) {
        for (let s = 0; s < S; s++) mean += dy.data[n * C * S + s] / (N * S);
      }
      const k = 2 / Math.sqrt(1e-5);
      for (let n = 0; n < N; n++) {
        for (let s = 0; s < S; s++) {
          const i = n * C * S + s;
          // float32: dx ≈ 600 rounded to float32, within 2⁻²⁴·600 ≈ 4e-5
          assertAlmostEquals(
            dx.data[i],
            k * (dy.data[i] - mean),
            T === Float64Array ? 1e-10 : 1e-4,
          );
        }
      }
      assertEquals(dgamma.data[0], 0); // Σ dy·x̂ with x̂ = 0
    }
  });
}

Deno.test("batch norm: a two-pass variance stays right where E[x²] − E[x]² cancels", () => {
  // float32 inputs 1000 + 0.01·sin(k): σ² ≈ 5e-5 under E[x²] ≈ 1e6, so the naive formula
  // subtracts numbers 2·10¹⁰ times larger than its result and keeps ~6 of float64's 16 digits.
  // x − 1000 is exact (24-bit inputs near 1000), so the two-pass variance of the shifted values
  // is the truth to ~1e-15.
  const M = 200, x = { shape: [M, 1], data: new Float32Array(M) };
  for (let k = 0; k < M; k++) x.data[k] = 1000 + 0.01 * Math.sin(k);
  const f = (v: number) => ({ shape: [1], data: new Float32Array([v]) });
  const { cache } = batchNormForward(x, f(1), f(0), {
    training: true,
    runningMean: f(0),
    runningVar: f(1),
  });
  const shifted = Array.from(x.data, (v) => v - 1000);
  const m = shifted.reduce((a, b) => a + b, 0) / M;
  const exact = shifted.reduce((a, v) => a + (v - m) ** 2, 0) / M;
  assertAlmostEquals(cache.variance[0], exact, exact * 1e-12);
  let s = 0, s2 = 0;
  for (const v of x.data) [s, s2] = [s + v, s2 + v * v];
  const naive = s2 / M - (s / M) ** 2;
  assert(Math.abs(naive - exact) > exact * 1e-8, `the naive formula gives ${naive}, not ${exact}`);
});

// ---------------------------------------------------------------------------------------------
// Bad input: named errors, and nothing written

interface BadCase {
  what: string;
  call: () => unknown;
  cls: typeof RangeError | typeof TypeError;
  parts: string[];
}

const rng = rngFor(3);
const x = randTensor(rng, [2, 3, 4, 4]);
const gamma = randTensor(rng, [3]), beta = randTensor(rng, [3]);
const runningMean = randTensor(rng, [3]), runningVar = randTensor(rng, [3]);
runningVar.data.forEach((v, i) => runningVar.data[i] = 0.5 + Math.abs(v));
const good = { training: true, runningMean, runningVar };
const snapshot = () => [x, gamma, beta, runningMean, runningVar].map((t) => Array.from(t.data));
const fwd = (o: Record<string, unknown>, xx: unknown = x, g: unknown = gamma, b: unknown = beta) =>
  batchNormForward(xx as Tensor, g as Tensor, b as Tensor, o as never);

const FORWARD_CASES: BadCase[] = [
  {
    what: "x of rank 3",
    call: () => fwd(good, randTensor(rng, [2, 3, 4])),
    cls: RangeError,
    parts: ["batchNormForward", "x must be [N, C, H, W] or [N, C]", "[2,3,4]"],
  },
  {
    what: "gamma of the wrong length",
    call: () => fwd(good, x, randTensor(rng, [4])),
    cls: RangeError,
    parts: ["batchNormForward", "gamma must be [C] = [3]", "[4]", "x [2,3,4,4]"],
  },
  {
    what: "beta of rank 2",
    call: () => fwd(good, x, gamma, randTensor(rng, [3, 1])),
    cls: RangeError,
    parts: ["batchNormForward", "beta", "[3,1]", "x [2,3,4,4]"],
  },
  {
    what: "runningMean of the wrong length",
    call: () => fwd({ ...good, runningMean: randTensor(rng, [2]) }),
    cls: RangeError,
    parts: ["batchNormForward", "opts.runningMean", "[2]", "x [2,3,4,4]"],
  },
  {
    what: "runningVar of another type",
    call: () => fwd({ ...good, runningVar: randTensor(rng, [3], Float32Array) }),
    cls: TypeError,
    parts: ["batchNormForward", "opts.runningVar", "Float32Array", "Float64Array"],
  },
  {
    what: "gamma of another type",
    call: () => fwd(good, x, randTensor(rng, [3], Float32Array)),
    cls: TypeError,
    parts: ["batchNormForward", "gamma", "Float32Array"],
  },
  {
    what: "training missing",
    call: () => fwd({ runningMean, runningVar }),
    cls: TypeError,
    parts: ["batchNormForward", "opts.training is required"],
  },
  {
    what: "training not a boolean",
    call: () => fwd({ ...good, training: "yes" }),
    cls: TypeError,
    parts: ["batchNormForward", "opts.training must be true or false"],
  },
  {
    what: "no opts",
    call: () => fwd(undefined as never),
    cls: TypeError,
    parts: ["batchNormForward", "opts must be an object"],
  },
  {
    what: "runningVar missing",
    call: () => fwd({ training: false, runningMean }),
    cls: TypeError,
    parts: ["batchNormForward", "opts.runningVar must be a tensor"],
  },
  {
    what: "an unknown option",
    call: () => fwd({ ...good, affine: false }),
    cls: TypeError,
    parts: ["batchNormForward", 'unknown option "affine"', "runningMean"],
  },
  {
    what: "eps 0",
    call: () => fwd({ ...good, eps: 0 }),
    cls: RangeError,
    parts: ["batchNormForward", "opts.eps must be a positive", "0"],
  },
  {
    what: "eps NaN",
    call: () => fwd({ ...good, eps: NaN }),
    cls: RangeError,
    parts: ["batchNormForward", "opts.eps", "NaN"],
  },
  {
    what: "eps a string",
    call: () => fwd({ ...good, eps: "1e-5" }),
    cls: TypeError,
    parts: ["batchNormForward", "opts.eps must be a number", "string"],
  },
  {
    what: "momentum above 1",
    call: () => fwd({ ...good, momentum: 1.5 }),
    cls: RangeError,
    parts: ["batchNormForward", "opts.momentum must be in [0, 1]", "1.5"],
  },
  {
    what: "momentum below 0",
    call: () => fwd({ ...good, momentum: -0.1 }),
    cls: RangeError,
    parts: ["batchNormForward", "opts.momentum", "-0.1"],
  },
  {
    what: "training on one value per channel ([N, C])",
    call: () => fwd(good, randTensor(rng, [1, 3])),
    cls: RangeError,
    parts: ["batchNormForward", "more than 1 value per channel", "[1,3]", "has 1"],
  },
  {
    what: "training on one value per channel ([1, C, 1, 1])",
    call: () => fwd(good, randTensor(rng, [1, 3, 1, 1])),
    cls: RangeError,
    parts: ["batchNormForward", "more than 1 value per channel", "[1,3,1,1]"],
  },
  {
    what: "runningMean sharing memory with x",
    call: () => fwd({ ...good, runningMean: { shape: [3], data: x.data.subarray(5, 8) } }),
    cls: RangeError,
    parts: ["batchNormForward", "opts.runningMean shares memory with x"],
  },
  {
    what: "runningVar the same array as runningMean",
    call: () => fwd({ ...good, runningVar: runningMean }),
    cls: RangeError,
    parts: ["batchNormForward", "opts.runningMean shares memory with runningVar"],
  },
  {
    what: "runningVar sharing memory with gamma",
    call: () => fwd({ ...good, runningVar: gamma }),
    cls: RangeError,
    parts: ["batchNormForward", "opts.runningVar shares memory with gamma"],
  },
  {
    what: "x's data shorter than its shape",
    call: () => fwd(good, { shape: [2, 3, 4, 4], data: new Float64Array(95) }),
    cls: RangeError,
    parts: ["batchNormForward", "x.data has 95 elements", "[2,3,4,4]"],
  },
  {
    what: "x not a tensor",
    call: () => fwd(good, null),
    cls: TypeError,
    parts: ["batchNormForward", "x must be a tensor"],
  },
];

for (const c of FORWARD_CASES) {
  Deno.test(`batch norm bad input: ${c.what} -> ${c.cls.name}, nothing written`, () => {
    const before = snapshot();
    const e = assertThrows(c.call, c.cls);
    for (const part of c.parts) {
      assert((e as Error).message.includes(part), `"${(e as Error).message}" lacks "${part}"`);
    }
    assertEquals(snapshot(), before, "running statistics and inputs untouched");
  });
}

Deno.test("batch norm: evaluation may share the running statistics (they are only read), and may run on one value", () => {
  const before = snapshot();
  const one = randTensor(rng, [1, 3]);
  const { y } = fwd({ training: false, runningMean, runningVar: runningVar }, one);
  assertEquals(y.shape, [1, 3]);
  assertEquals(snapshot(), before);
});

Deno.test("batch norm bad input: backward refuses a wrong dy or cache, and a later call is as a fresh one", () => {
  const stats = () => ({ runningMean: { ...runningMean, data: runningMean.data.slice() } });
  const { y, cache } = fwd({
    ...good,
    ...stats(),
    runningVar: { ...runningVar, data: runningVar.data.slice() },
  });
  const dy = randTensor(rng, [...y.shape]);
  const fresh = batchNormBackward(dy, cache);
  const bad: BadCase[] = [
    {
      what: "dy of another shape",
      call: () => batchNormBackward(randTensor(rng, [2, 3, 4, 5]), cache),
      cls: RangeError,
      parts: ["batchNormBackward", "dy has shape [2,3,4,5]", "[2,3,4,4]"],
    },
    {
      what: "dy of another type",
      call: () => batchNormBackward(randTensor(rng, [2, 3, 4, 4], Float32Array), cache),
      cls: TypeError,
      parts: ["batchNormBackward", "dy", "Float32Array"],
    },
    {
      what: "a conv cache",
      call: () =>
        batchNormBackward(
          dy,
          convForward(x, randTensor(rng, [3, 3, 1, 1]), null).cache as never,
        ),
      cls: TypeError,
      parts: ["batchNormBackward", "cache must be the cache returned by batchNormForward"],
    },
    {
      what: "an unknown option",
      call: () => batchNormBackward(dy, cache, { dx: null } as never),
      cls: TypeError,
      parts: ["batchNormBackward", 'unknown option "dx"', "workspace"],
    },
  ];
  for (const c of bad) {
    const e = assertThrows(c.call, c.cls, undefined, c.what);
    for (const part of c.parts) assert((e as Error).message.includes(part), `${c.what}: ${part}`);
  }
  const again = batchNormBackward(dy, cache);
  assertEquals(again.dx.data, fresh.dx.data);
  assertEquals(again.dgamma.data, fresh.dgamma.data);
  assertEquals(again.dbeta.data, fresh.dbeta.data);
});

Deno.test("batch norm: a cache holds its own statistics, so later updates of the running ones change nothing", () => {
  for (const training of [true, false]) {
    const rm = { ...runningMean, data: runningMean.data.slice() };
    const rv = { ...runningVar, data: runningVar.data.slice() };
    const first = fwd({ training, runningMean: rm, runningVar: rv });
    const dy = randTensor(rng, [...first.y.shape]);
    const want = batchNormBackward(dy, first.cache);
    // another training step moves the running statistics; a caller might overwrite them too
    fwd({ training: true, runningMean: rm, runningVar: rv }, randTensor(rng, [5, 3, 2, 2]));
    rm.data.fill(100);
    const got = batchNormBackward(dy, first.cache);
    assertEquals(got.dx.data, want.dx.data, `training ${training}`);
    assertEquals(got.dgamma.data, want.dgamma.data);
  }
});

Deno.test("batch norm: inputGradient false gives the same dgamma and dbeta, bit for bit", () => {
  for (const training of [true, false]) {
    const rm = { ...runningMean, data: runningMean.data.slice() };
    const rv = { ...runningVar, data: runningVar.data.slice() };
    const { y, cache } = fwd({ training, runningMean: rm, runningVar: rv });
    const dy = randTensor(rng, [...y.shape]);
    const full = batchNormBackward(dy, cache);
    const only = batchNormBackward(dy, cache, { inputGradient: false });
    assertEquals(only.dx, null);
    assertEquals(only.dgamma.data, full.dgamma.data);
    assertEquals(only.dbeta.data, full.dbeta.data);
  }
});

// ---------------------------------------------------------------------------------------------
// Layers and networks

Deno.test("BatchNorm2D/1D: bad options and inputs are refused by name, and a failed forward counts nothing", () => {
  assertThrows(() => new BatchNorm2D({ features: 0 }), RangeError, "BatchNorm2D: features");
  assertThrows(() => new BatchNorm1D({ features: 2.5 }), RangeError, "BatchNorm1D: features");
  assertThrows(() => new BatchNorm2D({ features: 2, eps: 0 }), RangeError, "BatchNorm2D: eps");
  assertThrows(
    () => new BatchNorm2D({ features: 2, momentum: 2 }),
    RangeError,
    "BatchNorm2D: momentum",
  );
  assertThrows(
    () => new BatchNorm2D({ features: 2, dtype: "int8" as never }),
    RangeError,
    "BatchNorm2D: dtype",
  );
  assertThrows(() => new BatchNorm2D(undefined as never), TypeError, "BatchNorm2D: opts");
  const bn2 = new BatchNorm2D({ features: 3 }), bn1 = new BatchNorm1D({ features: 3 });
  assertThrows(
    () => bn2.forward({ shape: [4, 3], data: new Float32Array(12) }),
    RangeError,
    "BatchNorm2D: x must be [N, C, H, W], got [4,3]; BatchNorm1D normalises [N, C]",
  );
  assertThrows(
    () => bn1.forward({ shape: [4, 3, 2, 2], data: new Float32Array(48) }),
    RangeError,
    "BatchNorm1D: x must be [N, C], got [4,3,2,2]",
  );
  assertThrows(
    () => bn2.backward({ shape: [1], data: new Float32Array(1) }),
    Error,
    "forward first",
  );
  // 4 channels where the layer has 3: batchNormForward names gamma and both shapes
  assertThrows(
    () => bn2.forward({ shape: [2, 4, 2, 2], data: new Float32Array(32) }),
    RangeError,
    "gamma must be [C] = [4]",
  );
  assertThrows(
    () => bn2.forward({ shape: [2, 3, 2, 2], data: new Float64Array(24) }),
    TypeError,
    "Float64Array",
  );
  for (const bn of [bn1, bn2]) {
    assertEquals(bn.numBatchesTracked.data[0], 0n);
    assertEquals(Array.from(bn.runningMean.data), [0, 0, 0]);
    assertEquals(Array.from(bn.runningVar.data), [1, 1, 1]);
  }
});

Deno.test("BatchNorm2D: the count counts training batches only; evaluation leaves the running statistics", () => {
  const bn = new BatchNorm2D({ features: 2, dtype: "float64" });
  const r = rngFor(4);
  for (let k = 1; k <= 3; k++) {
    bn.forward(randTensor(r, [2, 2, 3, 3]));
    assertEquals(bn.numBatchesTracked.data[0], BigInt(k));
  }
  bn.training = false;
  const mean = Array.from(bn.runningMean.data), variance = Array.from(bn.runningVar.data);
  bn.forward(randTensor(r, [1, 2, 1, 1])); // one value per channel is fine in evaluation
  assertEquals(bn.numBatchesTracked.data[0], 3n);
  assertEquals([Array.from(bn.runningMean.data), Array.from(bn.runningVar.data)], [mean, variance]);
  // backwardParams fills the same gradients as backward, bit for bit
  bn.training = true;
  const xx = randTensor(r, [3, 2, 2, 2]), dy = randTensor(r, [3, 2, 2, 2]);
  bn.forward(xx);
  bn.backward(dy);
  const full = [Array.from(bn.gamma.grad.data), Array.from(bn.beta.grad.data)];
  bn.gamma.grad.data.fill(0);
  bn.backwardParams(dy);
  assertEquals([Array.from(bn.gamma.grad.data), Array.from(bn.beta.grad.data)], full);
});

Deno.test("Sequential: train() and eval() switch batch norm, nested too; predict evaluates and restores", () => {
  const bn2 = new BatchNorm2D({ features: 2 }), bn1 = new BatchNorm1D({ features: 3 });
  const net = new Sequential([
    new Conv2D({ inChannels: 1, outChannels: 2, size: 3, bias: false }),
    new Sequential([bn2, new ReLU()]),
    new Flatten(),
    new FullyConnected({ inFeatures: 2 * 2 * 2, outFeatures: 3 }),
    bn1,
  ]);
  assertEquals(net.buffers().map((b) => b.name), [
    "1.0.running_mean",
    "1.0.running_var",
    "1.0.num_batches_tracked",
    "4.running_mean",
    "4.running_var",
    "4.num_batches_tracked",
  ]);
  assertEquals(net.params().map((p) => p.name), [
    "0.weight",
    "1.0.weight",
    "1.0.bias",
    "3.weight",
    "3.bias",
    "4.weight",
    "4.bias",
  ]);
  const xx = {
    shape: [5, 1, 4, 4],
    data: Float32Array.from({ length: 80 }, (_, i) => Math.sin(i)),
  };
  net.forward(xx);
  assertEquals([bn2.numBatchesTracked.data[0], bn1.numBatchesTracked.data[0]], [1n, 1n]);
  net.eval();
  assert(!bn2.training && !bn1.training);
  const state = net.buffers().map((b) => Array.from(b.value.data as ArrayLike<unknown>));
  const y1 = Array.from(net.forward(xx).data);
  assertEquals(net.buffers().map((b) => Array.from(b.value.data as ArrayLike<unknown>)), state);
  // evaluation on one sample gives that sample's row of the batch's evaluation output
  const first = net.forward({ shape: [1, 1, 4, 4], data: xx.data.slice(0, 16) });
  for (let k = 0; k < 3; k++) assertAlmostEquals(first.data[k], y1[k], 1e-6);
  net.train();
  assert(bn2.training && bn1.training);
  net.predict(xx); // evaluates, then back to training
  assert(bn2.training && bn1.training);
  assertEquals(net.buffers().map((b) => Array.from(b.value.data as ArrayLike<unknown>)), state);
});

Deno.test("optimisers never see buffers: an SGD step with weight decay leaves the running statistics", () => {
  const net = buildNetwork([
    { type: "conv", inChannels: 1, outChannels: 3, size: 3, bias: false },
    { type: "batchnorm2d", features: 3, momentum: 0.2, eps: 1e-3 },
    { type: "relu" },
    { type: "flatten" },
    { type: "fc", inFeatures: 3 * 4 * 4, outFeatures: 2 },
    { type: "batchnorm1d", features: 2 },
  ], { seed: 1, dtype: "float64" });
  const bn = net.layers[1] as BatchNorm2D;
  assertEquals([bn.kind, bn.eps, bn.momentum], ["BatchNorm2D", 1e-3, 0.2]);
  assertEquals(net.layers[5].kind, "BatchNorm1D");
  const names = net.params().map((p) => p.name);
  assert(names.every((n) => !/running|num_batches/.test(n)), `params: ${names}`);
  const r = rngFor(5);
  const xx = randTensor(r, [4, 1, 6, 6]);
  const y = net.forward(xx);
  net.backward(randTensor(r, [...y.shape]));
  const state = net.buffers().map((b) => Array.from(b.value.data as ArrayLike<unknown>));
  const gammaBefore = Array.from(bn.gamma.value.data);
  new SGD(net.params(), { lr: 0.5, momentum: 0.9, weightDecay: 0.1 }).step();
  assertEquals(net.buffers().map((b) => Array.from(b.value.data as ArrayLike<unknown>)), state);
  assert(bn.gamma.value.data.some((v, i) => v !== gammaBefore[i]), "γ is a parameter: it moved");
});

Deno.test("buildNetwork refuses a bad batch norm spec by its layer's message", () => {
  assertThrows(
    () => buildNetwork([{ type: "batchnorm2d", features: -1 }]),
    RangeError,
    "BatchNorm2D: features must be a positive integer",
  );
  assertThrows(
    () => buildNetwork([{ type: "batchnorm1d", features: 4, momentum: 3 }]),
    RangeError,
    "BatchNorm1D: momentum",
  );
  assertThrows(() => buildNetwork([{ type: "batchnorm" } as never]), RangeError, "batchnorm2d");
  const r = rngFor(6), n = randInt(r, 2, 5);
  const y = buildNetwork([{ type: "batchnorm1d", features: 3 }]).forward(
    randTensor(r, [n, 3], Float32Array),
  );
  assertEquals(y.shape, [n, 3]);
});

Deno.test("batch norm with a workspace: the fresh arrays' numbers call after call, and an earlier y passed back in is not overwritten", () => {
  const r = rngFor(7), ws = new Workspace();
  for (const T of TYPES) {
    for (const shape of [[3, 4, 2, 3], [5, 4]]) {
      const g = randTensor(r, [4], T), b = randTensor(r, [4], T);
      const st = () => ({
        runningMean: { shape: [4], data: new T(4) },
        runningVar: { shape: [4], data: new T(4).fill(1) },
      });
      let input = randTensor(r, shape, T);
      for (let k = 0; k < 3; k++) {
        const fresh = batchNormForward(input, g, b, { training: true, ...st() });
        const kept = batchNormForward(input, g, b, { training: true, ...st(), workspace: ws });
        assertEquals(kept.y.data, fresh.y.data);
        const dy = randTensor(r, shape, T);
        const gf = batchNormBackward(dy, fresh.cache);
        const gk = batchNormBackward(dy, kept.cache, { workspace: ws });
        assertEquals(gk.dx.data, gf.dx.data);
        assertEquals(gk.dgamma.data, gf.dgamma.data);
        // the next call normalises this call's y, from the same workspace: read, not overwritten
        const before = Array.from(kept.y.data);
        const next = batchNormForward(kept.y, g, b, { training: true, ...st(), workspace: ws });
        assertEquals(Array.from(kept.y.data), before);
        assert(next.y.data !== kept.y.data);
        input = { shape, data: kept.y.data.slice() };
      }
    }
  }
});
