// Every backward pass against central finite differences of its own forward pass, in float64.
//
// For a layer with output y we check the scalar L = <y, r> = Σ y_i r_i with a fixed random r
// (so dL/dy = r is what backward receives); for softmax cross-entropy L is the mean loss
// itself. For each entry θ of x and of every parameter:
//
//   numeric = (L(θ + h) − L(θ − h)) / (2h),   h = 1e-5,
//   |numeric − analytic| ≤ 1e-6 · max(1, |analytic|).
//
// Why that tolerance: the central difference has truncation error h²/6 · L'''. Conv and fc are
// linear in any one entry of x, w or b, and relu and max pooling are piecewise linear with every
// input at least 1e-3 from a kink (relu inputs away from 0, pool windows with a unique max by a
// gap ≥ 1e-3), so a step of 1e-5 never crosses one and L''' = 0 exactly; for softmax
// cross-entropy |L'''| ≤ 1, so truncation ≤ 2e-11. Rounding: L is a sum of ≲ 500 float64 terms
// of size ≲ 10, so it carries an error ≲ 500 · 1.1e-16 · 10 ≈ 6e-13, divided by 2h = 2e-5 gives
// ≲ 3e-8 in the worst case (typically ~1e-11). So 1e-6 is ≥ 30× the worst-case error, while any
// real mistake in a gradient (a missing 1/N, a transposed index, a dropped padding term, a
// gradient sent to the wrong cell) is off by ≥ 1e-3 and fails by three orders of magnitude.
// Each array has ≤ 500 entries here and every entry is checked (arrays larger than 500 would
// be checked on a random sample of 500).
//
// Batch norm is the one layer here that is smooth but not piecewise linear in x when training
// (μ and σ² depend on x): its third derivatives are O(|γ|·Σ|r|/σ³), ≲ 10³ with the channels'
// standard deviations ≥ 0.3 that the test asserts, so the truncation h²/6·|L'''| ≲ 2e-8, still
// 50 times below the tolerance. In evaluation (and in γ and β always) it is linear.

import { assert } from "@std/assert";
import {
  avgPoolBackward,
  avgPoolForward,
  batchNormBackward,
  batchNormForward,
  convBackward,
  convForward,
  convTransposeBackward,
  convTransposeForward,
  fcBackward,
  fcForward,
  maxPoolBackward,
  maxPoolForward,
  mulberry32,
  normal,
  reluBackward,
  reluForward,
  type Rng,
  softmaxCrossEntropy,
  type Tensor,
} from "../mod.ts";

const H_STEP = 1e-5;
const TOL = 1e-6;
const MAX_CHECKED = 500;

type F64Tensor = Tensor<Float64Array>;

function randn(shape: number[], rng: Rng, scale = 1): F64Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = normal(rng) * scale;
  return { shape, data };
}

/** |v| in [0.01, 3] with a random sign: relu inputs that are never within h of the kink. */
function awayFromZero(shape: number[], rng: Rng): F64Tensor {
  const t = randn(shape, rng);
  for (let i = 0; i < t.data.length; i++) {
    const mag = 0.01 + 2.99 * rng();
    t.data[i] = rng() < 0.5 ? -mag : mag;
  }
  return t;
}

/** Pairwise distinct values, gaps ≥ 0.005: every pooling window has a unique max. */
function distinct(shape: number[], rng: Rng): F64Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const data = Float64Array.from(perm, (p) => (p - n / 2) * 0.01 + 0.005 * rng());
  return { shape, data };
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** The largest |numeric − analytic| / max(1, |analytic|) seen, per test, for the summary. */
const worst: [string, number][] = [];

/**
 * Compares `analytic` (dL/d`param`) with central differences of `loss`, perturbing `param.data`
 * in place (and restoring it). Returns the largest scaled error.
 */
function gradcheck(
  what: string,
  loss: () => number,
  param: F64Tensor,
  analytic: Tensor,
  rng: Rng,
): number {
  const p = param.data, g = analytic.data;
  assert(g instanceof Float64Array, `${what}: gradient must stay Float64Array`);
  assert(
    g.length === p.length && analytic.shape.join() === param.shape.join(),
    `${what}: gradient shape [${analytic.shape}] must equal [${param.shape}]`,
  );
  let indices = Array.from({ length: p.length }, (_, i) => i);
  if (indices.length > MAX_CHECKED) {
    for (let i = indices.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [indices[i], indices[j]] = [indices[j], indices[i]];
    }
    indices = indices.slice(0, MAX_CHECKED);
  }
  let maxErr = 0, maxAbs = 0;
  for (const i of indices) {
    const v = p[i];
    p[i] = v + H_STEP;
    const lp = loss();
    p[i] = v - H_STEP;
    const lm = loss();
    p[i] = v;
    const numeric = (lp - lm) / (2 * H_STEP);
    const err = Math.abs(numeric - g[i]) / Math.max(1, Math.abs(g[i]));
    assert(
      err <= TOL,
      `${what}[${i}]: analytic ${g[i]} vs numeric ${numeric} (error ${err.toExponential(2)})`,
    );
    maxErr = Math.max(maxErr, err);
    maxAbs = Math.max(maxAbs, Math.abs(g[i]));
  }
  // A gradient that is zero everywhere would pass against a loss that ignores the parameter:
  // every array checked here does influence the loss.
  assert(maxAbs > 1e-3, `${what}: the gradient is (nearly) zero everywhere`);
  return maxErr;
}

interface ConvGeometry {
  name: string;
  x: number[];
  w: number[];
  opts: {
    stride?: number | [number, number];
    padding?: number | [number, number] | "same";
    dilation?: number | [number, number];
    groups?: number;
  };
  /** false: no bias (b = null). */
  bias?: boolean;
}

const CONV_GEOMETRIES: ConvGeometry[] = [
  { name: "3x2 kernel, stride 1", x: [2, 3, 5, 6], w: [4, 3, 3, 2], opts: {} },
  {
    name: "stride [2,1], padding [1,2], floored rows",
    x: [2, 2, 8, 6],
    w: [3, 2, 3, 2],
    opts: { stride: [2, 1], padding: [1, 2] },
  },
  {
    name: "kernel = padded input",
    x: [3, 2, 4, 3],
    w: [2, 2, 6, 5],
    opts: { padding: 1 },
  },
  { name: "kernel = input (fully connected)", x: [2, 3, 3, 4], w: [2, 3, 3, 4], opts: {} },
  { name: "padding 2 > kernel 2", x: [1, 1, 3, 3], w: [2, 1, 2, 2], opts: { padding: 2 } },
  { name: "stride 3 > kernel 2", x: [1, 2, 8, 8], w: [2, 2, 2, 2], opts: { stride: 3 } },
  {
    name: "stride [1,2], padding [2,1], C=1",
    x: [2, 1, 5, 6],
    w: [3, 1, 4, 3],
    opts: { stride: [1, 2], padding: [2, 1] },
  },
  { name: "dilation 2", x: [2, 2, 7, 7], w: [3, 2, 3, 3], opts: { dilation: 2 } },
  {
    name: "dilation [2,3], stride 2, padding [2,1]",
    x: [1, 2, 9, 8],
    w: [2, 2, 2, 3],
    opts: { dilation: [2, 3], stride: 2, padding: [2, 1] },
  },
  { name: "groups 2", x: [2, 4, 5, 5], w: [6, 2, 3, 3], opts: { groups: 2, padding: 1 } },
  {
    name: "depthwise, dilation 2, same, no bias",
    x: [2, 3, 6, 6],
    w: [3, 1, 3, 3],
    opts: { groups: 3, dilation: 2, padding: "same" },
    bias: false,
  },
  { name: "no bias", x: [2, 2, 4, 4], w: [3, 2, 2, 2], opts: {}, bias: false },
];

CONV_GEOMETRIES.forEach((geo, k) => {
  Deno.test(`gradcheck: conv ${geo.name}`, () => {
    const rng = mulberry32(100 + k);
    const x = randn(geo.x, rng);
    const w = randn(geo.w, rng, 0.5);
    const b = geo.bias === false ? null : randn([geo.w[0]], rng);
    const { y, cache } = convForward(x, w, b, geo.opts);
    const r = randn([...y.shape], rng);
    const { dx, dw, db } = convBackward(r, cache);
    const loss = () => dot(convForward(x, w, b, geo.opts).y.data, r.data);
    let e = gradcheck("dx", loss, x, dx, rng);
    e = Math.max(e, gradcheck("dw", loss, w, dw, rng));
    if (b === null) assert(db === null, "no bias, no db");
    else e = Math.max(e, gradcheck("db", loss, b, db!, rng));
    worst.push([`conv ${geo.name}`, e]);
  });
});

/** A transposed convolution: x [N,C,H,W], w [C, D/groups, kh, kw]. */
interface ConvTransposeGeometry {
  name: string;
  x: number[];
  w: number[];
  opts: {
    stride?: number | [number, number];
    padding?: number | [number, number];
    dilation?: number | [number, number];
    outputPadding?: number | [number, number];
    groups?: number;
  };
  /** false: no bias (b = null). */
  bias?: boolean;
}

const CONV_TRANSPOSE_GEOMETRIES: ConvTransposeGeometry[] = [
  { name: "stride 1, 3x2 kernel", x: [2, 3, 3, 4], w: [3, 2, 3, 2], opts: {} },
  {
    name: "stride 2, kernel 3 (uneven overlap)",
    x: [2, 2, 3, 3],
    w: [2, 3, 3, 3],
    opts: { stride: 2 },
  },
  {
    name: "stride 2, padding 1, outputPadding 1",
    x: [1, 3, 3, 3],
    w: [3, 2, 3, 3],
    opts: { stride: 2, padding: 1, outputPadding: 1 },
  },
  {
    name: "stride [2,3], padding [1,0], outputPadding [1,2]",
    x: [2, 2, 3, 2],
    w: [2, 2, 3, 4],
    opts: { stride: [2, 3], padding: [1, 0], outputPadding: [1, 2] },
  },
  {
    name: "dilation 2, outputPadding 1 >= stride 1",
    x: [2, 2, 3, 3],
    w: [2, 2, 2, 3],
    opts: { dilation: 2, outputPadding: 1 },
  },
  {
    name: "groups 2, stride 2",
    x: [2, 4, 2, 3],
    w: [4, 3, 3, 3],
    opts: { groups: 2, stride: 2 },
  },
  {
    name: "depthwise, no bias",
    x: [2, 3, 3, 3],
    w: [3, 1, 3, 3],
    opts: { groups: 3, stride: 2, padding: 1 },
    bias: false,
  },
  { name: "1x1 latent, kernel 4", x: [3, 4, 1, 1], w: [4, 2, 4, 4], opts: {} },
];

CONV_TRANSPOSE_GEOMETRIES.forEach((geo, k) => {
  Deno.test(`gradcheck: convTranspose ${geo.name}`, () => {
    const rng = mulberry32(700 + k);
    const x = randn(geo.x, rng);
    const w = randn(geo.w, rng, 0.5);
    const D = geo.w[1] * (geo.opts.groups ?? 1);
    const b = geo.bias === false ? null : randn([D], rng);
    const { y, cache } = convTransposeForward(x, w, b, geo.opts);
    const r = randn([...y.shape], rng);
    const { dx, dw, db } = convTransposeBackward(r, cache);
    const loss = () => dot(convTransposeForward(x, w, b, geo.opts).y.data, r.data);
    let e = gradcheck("dx", loss, x, dx, rng);
    e = Math.max(e, gradcheck("dw", loss, w, dw, rng));
    if (b === null) assert(db === null, "no bias, no db");
    else e = Math.max(e, gradcheck("db", loss, b, db!, rng));
    worst.push([`convTranspose ${geo.name}`, e]);
  });
});

const FC_SHAPES: { x: number[]; D: number }[] = [
  { x: [3, 7], D: 4 },
  { x: [2, 2, 3, 2], D: 3 },
  { x: [4, 3, 2], D: 2 },
];

FC_SHAPES.forEach((s, k) => {
  Deno.test(`gradcheck: fc x [${s.x}] -> [${s.x[0]},${s.D}]`, () => {
    const rng = mulberry32(200 + k);
    const K = s.x.slice(1).reduce((a, b) => a * b, 1);
    const x = randn(s.x, rng);
    const w = randn([s.D, K], rng, 0.5);
    const b = randn([s.D], rng);
    const { y, cache } = fcForward(x, w, b);
    const r = randn([...y.shape], rng);
    const { dx, dw, db } = fcBackward(r, cache);
    const loss = () => dot(fcForward(x, w, b).y.data, r.data);
    let e = gradcheck("dx", loss, x, dx, rng);
    e = Math.max(e, gradcheck("dw", loss, w, dw, rng));
    e = Math.max(e, gradcheck("db", loss, b, db, rng));
    worst.push([`fc x [${s.x}]`, e]);
  });
});

const POOLS: {
  x: number[];
  opts: { size: number | [number, number]; stride?: number | [number, number] };
}[] = [
  { x: [2, 2, 6, 6], opts: { size: 2 } },
  { x: [1, 2, 7, 7], opts: { size: 3, stride: 2 } },
  { x: [2, 1, 5, 6], opts: { size: [2, 3], stride: [1, 2] } },
  { x: [1, 1, 7, 8], opts: { size: 2, stride: 3 } },
];

POOLS.forEach((s, k) => {
  Deno.test(`gradcheck: maxpool x [${s.x}] ${JSON.stringify(s.opts)}`, () => {
    const rng = mulberry32(300 + k);
    const x = distinct(s.x, rng);
    const { y, cache } = maxPoolForward(x, s.opts);
    const r = randn([...y.shape], rng);
    const dx = maxPoolBackward(r, cache);
    const loss = () => dot(maxPoolForward(x, s.opts).y.data, r.data);
    worst.push([`maxpool ${JSON.stringify(s.opts)}`, gradcheck("dx", loss, x, dx, rng)]);
  });
});

const BATCH_NORMS: { name: string; x: number[]; training: boolean; eps?: number }[] = [
  { name: "4-D training", x: [3, 2, 3, 4], training: true },
  { name: "4-D evaluation, eps 1e-3", x: [2, 3, 2, 3], training: false, eps: 1e-3 },
  { name: "2-D training", x: [6, 4], training: true },
  // two values normalise to ±1/√(1 + ε/σ²) whatever they are, so dx is only as large as ε
  // makes it: a large ε, for a gradient the check can see
  { name: "2-D training, M = 2, eps 0.5", x: [2, 3], training: true, eps: 0.5 },
  { name: "2-D evaluation", x: [4, 3], training: false },
];

BATCH_NORMS.forEach((s, k) => {
  Deno.test(`gradcheck: batchnorm ${s.name} x [${s.x}]`, () => {
    const rng = mulberry32(700 + k);
    const C = s.x[1];
    // drawn until every channel's σ ≥ 0.3, which the truncation bound above needs
    let x = randn(s.x, rng, 1.5), tries = 0;
    const sigmas = (t: F64Tensor) => {
      const v = (fill: number) => ({ shape: [C], data: new Float64Array(C).fill(fill) });
      const opts = { training: true, runningMean: v(0), runningVar: v(1) };
      return Array.from(batchNormForward(t, v(1), v(0), opts).cache.variance, Math.sqrt);
    };
    for (; s.training && Math.min(...sigmas(x)) < 0.3 && tries < 20; tries++) {
      x = randn(s.x, rng, 1.5);
    }
    assert(tries < 20, "no draw had every σ ≥ 0.3");
    const gamma = randn([C], rng, 0.5), beta = randn([C], rng);
    for (let c = 0; c < C; c++) gamma.data[c] += 1;
    const runningMean = randn([C], rng, 0.5);
    const runningVar = { shape: [C], data: Float64Array.from({ length: C }, () => 0.5 + rng()) };
    // fresh running statistics for every call: training updates them (y does not depend on them)
    const opts = () => ({
      training: s.training,
      runningMean: { shape: [C], data: runningMean.data.slice() },
      runningVar: { shape: [C], data: runningVar.data.slice() },
      eps: s.eps,
    });
    const { y, cache } = batchNormForward(x, gamma, beta, opts());
    const r = randn([...y.shape], rng);
    const { dx, dgamma, dbeta } = batchNormBackward(r, cache);
    const loss = () => dot(batchNormForward(x, gamma, beta, opts()).y.data, r.data);
    let e = gradcheck("dx", loss, x, dx, rng);
    e = Math.max(e, gradcheck("dgamma", loss, gamma, dgamma, rng));
    e = Math.max(e, gradcheck("dbeta", loss, beta, dbeta, rng));
    worst.push([`batchnorm ${s.name}`, e]);
  });
});

Deno.test("gradcheck: relu", () => {
  const rng = mulberry32(400);
  const x = awayFromZero([2, 3, 4, 4], rng);
  const { y, cache } = reluForward(x);
  const r = randn([...y.shape], rng);
  const dx = reluBackward(r, cache);
  const loss = () => dot(reluForward(x).y.data, r.data);
  worst.push(["relu", gradcheck("dx", loss, x, dx, rng)]);
});

Deno.test("gradcheck: softmax cross-entropy", () => {
  const rng = mulberry32(500);
  for (const [name, offset, scale] of [["normal", 0, 2], ["logits near 1000", 1000, 1]] as const) {
    const z = randn([4, 5], rng, scale);
    for (let i = 0; i < z.data.length; i++) z.data[i] += offset;
    const labels = [0, 3, 4, 3];
    const { dlogits } = softmaxCrossEntropy(z, labels);
    const loss = () => softmaxCrossEntropy(z, labels).loss;
    worst.push([`softmax_ce ${name}`, gradcheck("dlogits", loss, z, dlogits, rng)]);
  }
});

// conv → relu → maxpool → fc → softmax cross-entropy, checked with respect to the input and
// every weight. A step in one weight moves the conv outputs by ≤ h·max|x|·… ≲ 1e-4, so the
// inputs are drawn until every conv output is ≥ 1e-3 from relu's kink and every pooling window
// whose max is positive has it ≥ 1e-3 above the runner-up: then no step crosses a kink.
Deno.test("gradcheck: conv → relu → maxpool → fc → softmax cross-entropy", () => {
  const rng = mulberry32(600);
  const convOpts = { stride: 1, padding: 1 };
  const poolOpts = { size: 2 };
  const labels = [2, 0];
  let x!: F64Tensor, w1!: F64Tensor, b1!: F64Tensor, w2!: F64Tensor, b2!: F64Tensor;
  let tries = 0;
  for (; tries < 50; tries++) {
    x = randn([2, 2, 6, 6], rng);
    w1 = randn([3, 2, 3, 3], rng, 0.4);
    b1 = randn([3], rng, 0.1);
    w2 = randn([4, 27], rng, 0.3);
    b2 = randn([4], rng, 0.1);
    if (stackMargin(x, w1, b1, convOpts) >= 1e-3) break;
  }
  assert(tries < 50, "no draw kept the stack away from relu and max-pool kinks");

  function forward() {
    const conv = convForward(x, w1, b1, convOpts);
    const relu = reluForward(conv.y);
    const pool = maxPoolForward(relu.y, poolOpts);
    const fc = fcForward(pool.y, w2, b2);
    const ce = softmaxCrossEntropy(fc.y, labels);
    return { conv, relu, pool, fc, ce };
  }
  const f = forward();
  // the chain rule, layer by layer, back to the input
  const g2 = fcBackward(f.ce.dlogits, f.fc.cache);
  const dPool = maxPoolBackward(g2.dx, f.pool.cache);
  const dRelu = reluBackward(dPool, f.relu.cache);
  const g1 = convBackward(dRelu, f.conv.cache);
  const loss = () => forward().ce.loss;
  let e = gradcheck("dx", loss, x, g1.dx, rng);
  e = Math.max(e, gradcheck("conv dw", loss, w1, g1.dw, rng));
  e = Math.max(e, gradcheck("conv db", loss, b1, g1.db, rng));
  e = Math.max(e, gradcheck("fc dw", loss, w2, g2.dw, rng));
  e = Math.max(e, gradcheck("fc db", loss, b2, g2.db, rng));
  worst.push(["stack conv→relu→pool→fc→CE", e]);
});

/**
 * The distance of the stack from a kink: the smallest |conv output| and the smallest gap
 * between a positive window max and the window's runner-up after relu.
 */
function stackMargin(
  x: F64Tensor,
  w: F64Tensor,
  b: F64Tensor,
  opts: { stride: number; padding: number },
): number {
  const z = convForward(x, w, b, opts).y;
  let margin = Infinity;
  for (const v of z.data) margin = Math.min(margin, Math.abs(v));
  const [N, D, H, W] = z.shape;
  for (let s = 0; s < N * D; s++) {
    for (let i = 0; i + 1 < H; i += 2) {
      for (let j = 0; j + 1 < W; j += 2) {
        const v = [0, 1, 2, 3].map((t) =>
          Math.max(0, z.data[(s * H + i + (t >> 1)) * W + j + (t & 1)])
        ).sort((a, b) => b - a);
        if (v[0] > 0) margin = Math.min(margin, v[0] - v[1]);
      }
    }
  }
  return margin;
}

// Pooling with padding, and average pooling (contract v2). A padded max pool is piecewise linear
// as the unpadded one, with every input at least 1e-3 from a kink (distinct values; the padding,
// −∞, never wins, so no step makes it win); the inputs are shifted below 0, where a zero padding
// would win every border window. Average pooling is linear in x: L''' = 0, and the central
// difference is exact up to rounding.
type Pair = number | [number, number];
const PADDED_POOLS: { x: number[]; opts: { size: Pair; stride?: Pair; padding: Pair } }[] = [
  { x: [2, 2, 7, 7], opts: { size: 3, stride: 2, padding: 1 } },
  { x: [1, 2, 4, 5], opts: { size: 2, stride: 1, padding: 1 } },
  { x: [2, 1, 5, 7], opts: { size: [2, 3], stride: [1, 2], padding: [1, 0] } },
  { x: [1, 1, 2, 2], opts: { size: 4, padding: 2 } },
];

PADDED_POOLS.forEach((s, k) => {
  Deno.test(`gradcheck: maxpool with padding x [${s.x}] ${JSON.stringify(s.opts)}`, () => {
    const rng = mulberry32(700 + k);
    const x = distinct(s.x, rng);
    for (let i = 0; i < x.data.length; i++) x.data[i] -= 10;
    const { y, cache } = maxPoolForward(x, s.opts);
    const r = randn([...y.shape], rng);
    const dx = maxPoolBackward(r, cache);
    const loss = () => dot(maxPoolForward(x, s.opts).y.data, r.data);
    worst.push([`maxpool ${JSON.stringify(s.opts)}`, gradcheck("dx", loss, x, dx, rng)]);
  });
});

const AVG_POOLS: {
  x: number[];
  opts: { size: Pair; stride?: Pair; padding?: Pair; countIncludePad?: boolean };
}[] = [
  { x: [2, 2, 6, 6], opts: { size: 2 } },
  { x: [1, 2, 6, 5], opts: { size: 3, stride: 1 } },
  { x: [2, 2, 7, 7], opts: { size: 3, stride: 2, padding: 1 } },
  { x: [2, 2, 7, 7], opts: { size: 3, stride: 2, padding: 1, countIncludePad: false } },
  { x: [1, 2, 5, 4], opts: { size: [3, 2], stride: 1, padding: [1, 1], countIncludePad: false } },
  { x: [2, 3, 5, 6], opts: { size: [5, 6] } },
];

AVG_POOLS.forEach((s, k) => {
  Deno.test(`gradcheck: avgpool x [${s.x}] ${JSON.stringify(s.opts)}`, () => {
    const rng = mulberry32(800 + k);
    const x = randn(s.x, rng);
    const { y, cache } = avgPoolForward(x, s.opts);
    const r = randn([...y.shape], rng);
    const dx = avgPoolBackward(r, cache);
    const loss = () => dot(avgPoolForward(x, s.opts).y.data, r.data);
    worst.push([`avgpool ${JSON.stringify(s.opts)}`, gradcheck("dx", loss, x, dx, rng)]);
  });
});

// The head of a modern small CNN: conv → relu → global average pooling → fc → softmax
// cross-entropy, with respect to the input and every weight; inputs redrawn until every conv
// output is ≥ 1e-3 from relu's kink (global average pooling itself has none).
Deno.test("gradcheck: conv → relu → global average pooling → fc → softmax cross-entropy", () => {
  const rng = mulberry32(900);
  const convOpts = { padding: 1 };
  const labels = [1, 3];
  let x!: F64Tensor, w1!: F64Tensor, b1!: F64Tensor, w2!: F64Tensor, b2!: F64Tensor;
  let tries = 0;
  for (; tries < 50; tries++) {
    x = randn([2, 2, 5, 5], rng);
    w1 = randn([4, 2, 3, 3], rng, 0.4);
    b1 = randn([4], rng, 0.1);
    w2 = randn([5, 4], rng, 0.5);
    b2 = randn([5], rng, 0.1);
    if (convForward(x, w1, b1, convOpts).y.data.every((v) => Math.abs(v) >= 1e-3)) break;
  }
  assert(tries < 50, "no draw kept the conv outputs away from relu's kink");
  function forward() {
    const conv = convForward(x, w1, b1, convOpts);
    const relu = reluForward(conv.y);
    const pool = avgPoolForward(relu.y, { size: [5, 5] }); // [2, 4, 1, 1]
    const fc = fcForward(pool.y, w2, b2);
    const ce = softmaxCrossEntropy(fc.y, labels);
    return { conv, relu, pool, fc, ce };
  }
  const f = forward();
  const g2 = fcBackward(f.ce.dlogits, f.fc.cache);
  const dPool = avgPoolBackward(g2.dx, f.pool.cache);
  const g1 = convBackward(reluBackward(dPool, f.relu.cache), f.conv.cache);
  const loss = () => forward().ce.loss;
  let e = gradcheck("dx", loss, x, g1.dx, rng);
  e = Math.max(e, gradcheck("conv dw", loss, w1, g1.dw, rng));
  e = Math.max(e, gradcheck("conv db", loss, b1, g1.db, rng));
  e = Math.max(e, gradcheck("fc dw", loss, w2, g2.dw, rng));
  e = Math.max(e, gradcheck("fc db", loss, b2, g2.db, rng));
  worst.push(["stack conv→relu→gap→fc→CE", e]);
});

Deno.test("gradcheck: summary of the largest errors", () => {
  const lines = worst.map(([name, e]) => `${name.padEnd(48)} ${e.toExponential(2)}`);
  console.log(
    `\ncentral differences, h = ${H_STEP}, tolerance ${TOL} · max(1, |g|): largest error\n` +
      lines.join("\n"),
  );
  for (const [, e] of worst) assert(e <= TOL);
});
