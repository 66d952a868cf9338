// Every layer against PyTorch: tests/fixtures/*.json hold inputs and float64 autograd results
// from torch (scripts/build/fixtures.py; regenerate with `deno task fixtures`). Each case runs
// twice, in float64 and in float32 (inputs rounded to Float32Array), and every output and every
// gradient is compared with torch's float64 numbers, relative to their scale:
//
//   err = max_i |ours_i − torch_i| / max(1, max_i |torch_i|)
//
// float64: err ≤ 1e-9. Double precision has unit roundoff u = 2⁻⁵³ ≈ 1.1e-16; a sum of n terms
//   in a different order than torch's differs by at most ~n·u·Σ|terms|. The longest reduction
//   here is conv dw's N·Ho·Wo = 2·6·5 = 60 products and conv forward's C·kh·kw = 75, with
//   Σ|terms| a few times the scale, so the expected error is ≲ 1e-13 (measured: ~1e-15). 1e-9
//   leaves four orders of margin for summation order and still catches any real bug: a wrong
//   index, a missed padding cell or a dropped term moves a result by O(1e-2..1).
// float32: err ≤ 1e-4. Single precision has u = 2⁻²⁴ ≈ 6e-8. Rounding the inputs to float32
//   costs ~u relative per input, and a float32 reduction of length n costs up to ~n·u·Σ|terms|;
//   with n ≲ 75 (x_col rows) to a few hundred and Σ|terms| ≲ 5× the scale, the worst case is
//   ~300 · 6e-8 · 5 ≈ 1e-4 and the typical (random-walk) error ~√n·u ≈ 1e-6. Larger errors mean
//   the float32 path computes something else, not rounding.
//
// Batch norm: the same tolerances hold. Its statistics are sums over a channel's M ≤ 150 values,
// in float64 on both dtypes (so float32 adds only the rounding of the inputs and of each result,
// ~u·|x|·|γ|/σ ≲ 1e-6 at these scales); the variance is computed in two passes. The fixture
// "offset_1000" (x = 1000 + 0.01·N(0,1), exact in float32) is there for that: E[x²] − E[x]²
// subtracts two numbers near 10⁶ to get 10⁻⁴ and loses ~10 of float64's 16 digits (measured on
// this fixture: σ² off by 1.2e-5 relative, y by 6e-6, 6000 times the tolerance; in float32
// arithmetic, every digit). The two-pass statistics give y within ~2e-12 there, the rounding of
// μ (u·1000) amplified by 1/σ = 100: that fixture's condition, as torch's own.
//
// Max pooling: random fixtures have distinct values (no ties), so the argmax is unique and both
// libraries must route each gradient to the same cell. The one tied fixture ("ties": true) is
// checked only for properties that hold whichever tied cell a library picks. The padded cases
// (padding read as −∞) include one whose inputs are all negative, where a zero padding would win.
//
// Average pooling (tests/fixtures/avgpool.json): the sums are of at most kh·kw ≤ 16 terms, so
// the bounds above hold with room to spare; the "global" cases also run GlobalAvgPool2D.
//
// The last test prints the largest error seen per layer and dtype.

import { assert, assertEquals } from "@std/assert";
import {
  AvgPool2D,
  avgPoolBackward,
  avgPoolForward,
  BatchNorm1D,
  BatchNorm2D,
  batchNormBackward,
  batchNormForward,
  Conv2D,
  convBackward,
  convForward,
  ConvTranspose2D,
  convTransposeBackward,
  convTransposeForward,
  fcBackward,
  fcForward,
  FullyConnected,
  GlobalAvgPool2D,
  MaxPool2D,
  maxPoolBackward,
  maxPoolForward,
  ReLU,
  reluBackward,
  reluForward,
  Sequential,
  softmax,
  SoftmaxCrossEntropy,
  softmaxCrossEntropy,
  type Tensor,
} from "../mod.ts";
import convFixture from "./fixtures/conv.json" with { type: "json" };
import fcFixture from "./fixtures/fc.json" with { type: "json" };
import maxpoolFixture from "./fixtures/maxpool.json" with { type: "json" };
import avgpoolFixture from "./fixtures/avgpool.json" with { type: "json" };
import reluFixture from "./fixtures/relu.json" with { type: "json" };
import softmaxFixture from "./fixtures/softmax_ce.json" with { type: "json" };
import convTransposeFixture from "./fixtures/conv_transpose.json" with { type: "json" };
import batchNormFixture from "./fixtures/batchnorm.json" with { type: "json" };

/** A tensor as the fixtures store it. */
interface JsonTensor {
  shape: number[];
  data: number[];
}
type Pair = number | [number, number];
interface ConvCase {
  name: string;
  opts: { stride?: Pair; padding?: Pair | "same"; dilation?: Pair; groups?: number };
  x: JsonTensor;
  w: JsonTensor;
  /** null: no bias (then db is null too). */
  b: JsonTensor | null;
  dy: JsonTensor;
  y: JsonTensor;
  dx: JsonTensor;
  dw: JsonTensor;
  db: JsonTensor | null;
}
type FcCase = Omit<ConvCase, "opts" | "b" | "db"> & { b: JsonTensor; db: JsonTensor };
interface PoolCase {
  name: string;
  opts: { size: Pair; stride?: Pair; padding?: Pair };
  ties?: boolean;
  x: JsonTensor;
  dy: JsonTensor;
  y: JsonTensor;
  dx: JsonTensor;
}
interface AvgPoolCase {
  name: string;
  opts: { size: Pair; stride?: Pair; padding?: Pair; countIncludePad?: boolean };
  /** The window is the whole input: global average pooling. */
  global?: boolean;
  x: JsonTensor;
  dy: JsonTensor;
  y: JsonTensor;
  dx: JsonTensor;
}
interface ReluCase {
  name: string;
  x: JsonTensor;
  dy: JsonTensor;
  y: JsonTensor;
  dx: JsonTensor;
}
interface SoftmaxCase {
  name: string;
  logits: JsonTensor;
  labels: number[];
  loss: number;
  dlogits: JsonTensor;
  p: JsonTensor;
}
interface BatchNormCase {
  name: string;
  training: boolean;
  /** eps and momentum where they are not the defaults (1e-5, 0.1). */
  opts: { eps?: number; momentum?: number };
  x: JsonTensor;
  gamma: JsonTensor;
  beta: JsonTensor;
  running_mean: JsonTensor;
  running_var: JsonTensor;
  dy: JsonTensor;
  y: JsonTensor;
  running_mean_after: JsonTensor;
  running_var_after: JsonTensor;
  dx: JsonTensor;
  dgamma: JsonTensor;
  dbeta: JsonTensor;
}
interface Fixture<C> {
  layer: string;
  cases: C[];
}

const convCases = (convFixture as unknown as Fixture<ConvCase>).cases;
const fcCases = (fcFixture as unknown as Fixture<FcCase>).cases;
const poolCases = (maxpoolFixture as unknown as Fixture<PoolCase>).cases;
const avgPoolCases = (avgpoolFixture as unknown as Fixture<AvgPoolCase>).cases;
const reluCases = (reluFixture as unknown as Fixture<ReluCase>).cases;
const softmaxCases = (softmaxFixture as unknown as Fixture<SoftmaxCase>).cases;
/** A transposed convolution's case: w is [C, D/groups, kh, kw], PyTorch's ConvTranspose2d layout. */
type ConvTransposeCase = Omit<ConvCase, "opts"> & {
  opts: {
    stride?: Pair;
    padding?: Pair;
    dilation?: Pair;
    outputPadding?: Pair;
    groups?: number;
  };
};
const convTransposeCases = (convTransposeFixture as unknown as Fixture<ConvTransposeCase>).cases;
const batchNormCases = (batchNormFixture as unknown as Fixture<BatchNormCase>).cases;

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;
const DTYPES: { name: "float64" | "float32"; ctor: Ctor; tol: number }[] = [
  { name: "float64", ctor: Float64Array, tol: 1e-9 },
  { name: "float32", ctor: Float32Array, tol: 1e-4 },
];

function load(t: JsonTensor, ctor: Ctor): Tensor {
  return { shape: [...t.shape], data: ctor.from(t.data) };
}

/** The largest error seen, per "layer dtype", for the summary. */
const worst = new Map<string, { err: number; where: string }>();

/**
 * Compares one output with torch's: same shape, same array type as the input, and the error
 * relative to scale within `tol`. Records the error for the summary.
 */
function expectClose(
  layer: string,
  dtype: { name: string; ctor: Ctor; tol: number },
  where: string,
  got: Tensor,
  want: JsonTensor,
): void {
  assertEquals([...got.shape], want.shape, `${where}: shape`);
  assert(
    got.data instanceof dtype.ctor,
    `${where}: expected ${dtype.ctor.name}, got ${got.data.constructor.name}`,
  );
  const err = scaledError(got.data, want.data);
  record(layer, dtype.name, err, where);
  assert(err <= dtype.tol, `${where}: error ${err.toExponential(2)} > ${dtype.tol}`);
}

function scaledError(got: ArrayLike<number>, want: readonly number[]): number {
  assertEquals(got.length, want.length);
  let scale = 1, diff = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    const d = Math.abs(got[i] - want[i]);
    // NaN must fail, and NaN > x is false: count it as an infinite error.
    diff = Math.max(diff, Number.isNaN(d) ? Infinity : d);
  }
  return diff / scale;
}

function record(layer: string, dtype: string, err: number, where: string): void {
  const key = `${layer} ${dtype}`;
  const old = worst.get(key);
  if (old === undefined || err > old.err) worst.set(key, { err, where });
}

for (const dtype of DTYPES) {
  for (const c of convCases) {
    Deno.test(`pytorch: conv ${c.name} (${dtype.name})`, () => {
      const x = load(c.x, dtype.ctor), w = load(c.w, dtype.ctor);
      const b = c.b === null ? null : load(c.b, dtype.ctor);
      const { y, cache } = convForward(x, w, b, c.opts);
      expectClose("conv", dtype, `${c.name} y`, y, c.y);
      const { dx, dw, db } = convBackward(load(c.dy, dtype.ctor), cache);
      expectClose("conv", dtype, `${c.name} dx`, dx, c.dx);
      expectClose("conv", dtype, `${c.name} dw`, dw, c.dw);
      if (c.db === null) assertEquals(db, null, `${c.name}: no bias, no db`);
      else expectClose("conv", dtype, `${c.name} db`, db!, c.db);

      // The layer class computes the same thing with its parameters set to the fixture's.
      const [, Cg, kh, kw] = c.w.shape;
      const layer = new Conv2D({
        inChannels: Cg * (c.opts.groups ?? 1),
        outChannels: c.w.shape[0],
        size: [kh, kw],
        ...c.opts,
        bias: b !== null,
        dtype: dtype.name,
      });
      layer.w.value.data.set(w.data);
      if (b !== null) layer.b!.value.data.set(b.data);
      expectClose("conv", dtype, `${c.name} Conv2D y`, layer.forward(x), c.y);
      expectClose(
        "conv",
        dtype,
        `${c.name} Conv2D dx`,
        layer.backward(load(c.dy, dtype.ctor)),
        c.dx,
      );
      expectClose("conv", dtype, `${c.name} Conv2D dw`, layer.w.grad, c.dw);
      if (c.db !== null) expectClose("conv", dtype, `${c.name} Conv2D db`, layer.b!.grad, c.db);
      else assertEquals(layer.b, null);
    });
  }

  for (const c of fcCases) {
    Deno.test(`pytorch: fc ${c.name} (${dtype.name})`, () => {
      const x = load(c.x, dtype.ctor), w = load(c.w, dtype.ctor), b = load(c.b, dtype.ctor);
      const { y, cache } = fcForward(x, w, b);
      expectClose("fc", dtype, `${c.name} y`, y, c.y);
      const { dx, dw, db } = fcBackward(load(c.dy, dtype.ctor), cache);
      expectClose("fc", dtype, `${c.name} dx`, dx, c.dx); // dx keeps x's shape
      expectClose("fc", dtype, `${c.name} dw`, dw, c.dw);
      expectClose("fc", dtype, `${c.name} db`, db, c.db);

      const layer = new FullyConnected({
        inFeatures: c.w.shape[1],
        outFeatures: c.w.shape[0],
        dtype: dtype.name,
      });
      layer.w.value.data.set(w.data);
      layer.b!.value.data.set(b.data);
      expectClose("fc", dtype, `${c.name} FullyConnected y`, layer.forward(x), c.y);
      const dxLayer = layer.backward(load(c.dy, dtype.ctor));
      expectClose("fc", dtype, `${c.name} FullyConnected dx`, dxLayer, c.dx);
      expectClose("fc", dtype, `${c.name} FullyConnected dw`, layer.w.grad, c.dw);
      expectClose("fc", dtype, `${c.name} FullyConnected db`, layer.b!.grad, c.db);
    });
  }

  for (const c of poolCases) {
    Deno.test(`pytorch: maxpool ${c.name} (${dtype.name})`, () => {
      const x = load(c.x, dtype.ctor);
      const { y, cache } = maxPoolForward(x, c.opts);
      expectClose("maxpool", dtype, `${c.name} y`, y, c.y); // the max itself is tie-independent
      const dy = load(c.dy, dtype.ctor);
      const dx = maxPoolBackward(dy, cache);
      if (c.ties) {
        checkTiedPool(c, x, dy, dx, dtype.ctor);
      } else {
        expectClose("maxpool", dtype, `${c.name} dx`, dx, c.dx);
        const layer = new MaxPool2D(c.opts);
        expectClose("maxpool", dtype, `${c.name} MaxPool2D y`, layer.forward(x), c.y);
        expectClose("maxpool", dtype, `${c.name} MaxPool2D dx`, layer.backward(dy), c.dx);
      }
    });
  }

  for (const c of avgPoolCases) {
    Deno.test(`pytorch: avgpool ${c.name} (${dtype.name})`, () => {
      const x = load(c.x, dtype.ctor), dy = load(c.dy, dtype.ctor);
      const { y, cache } = avgPoolForward(x, c.opts);
      expectClose("avgpool", dtype, `${c.name} y`, y, c.y);
      expectClose("avgpool", dtype, `${c.name} dx`, avgPoolBackward(dy, cache), c.dx);
      const layer = new AvgPool2D(c.opts);
      expectClose("avgpool", dtype, `${c.name} AvgPool2D y`, layer.forward(x), c.y);
      expectClose("avgpool", dtype, `${c.name} AvgPool2D dx`, layer.backward(dy), c.dx);
      if (c.global) {
        const gap = new GlobalAvgPool2D();
        expectClose("avgpool", dtype, `${c.name} GlobalAvgPool2D y`, gap.forward(x), c.y);
        expectClose("avgpool", dtype, `${c.name} GlobalAvgPool2D dx`, gap.backward(dy), c.dx);
      }
    });
  }

  for (const c of reluCases) {
    Deno.test(`pytorch: relu ${c.name} (${dtype.name})`, () => {
      const x = load(c.x, dtype.ctor);
      const { y, cache } = reluForward(x);
      expectClose("relu", dtype, `${c.name} y`, y, c.y);
      const dy = load(c.dy, dtype.ctor);
      expectClose("relu", dtype, `${c.name} dx`, reluBackward(dy, cache), c.dx);
      const layer = new ReLU();
      expectClose("relu", dtype, `${c.name} ReLU y`, layer.forward(x), c.y);
      expectClose("relu", dtype, `${c.name} ReLU dx`, layer.backward(dy), c.dx);
    });
  }

  for (const c of softmaxCases) {
    Deno.test(`pytorch: softmax_ce ${c.name} (${dtype.name})`, () => {
      const logits = load(c.logits, dtype.ctor);
      const { loss, dlogits } = softmaxCrossEntropy(logits, c.labels);
      assertEquals(typeof loss, "number");
      const lossErr = Math.abs(loss - c.loss) / Math.max(1, Math.abs(c.loss));
      record(
        "softmax_ce",
        dtype.name,
        Number.isNaN(lossErr) ? Infinity : lossErr,
        `${c.name} loss`,
      );
      assert(lossErr <= dtype.tol, `${c.name} loss: ${loss} vs torch ${c.loss}`);
      expectClose("softmax_ce", dtype, `${c.name} dlogits`, dlogits, c.dlogits);
      expectClose("softmax_ce", dtype, `${c.name} softmax`, softmax(logits), c.p);

      const layer = new SoftmaxCrossEntropy();
      const layerLoss = layer.forward(logits, c.labels);
      assert(Math.abs(layerLoss - c.loss) <= dtype.tol * Math.max(1, Math.abs(c.loss)));
      expectClose("softmax_ce", dtype, `${c.name} layer dlogits`, layer.backward(), c.dlogits);
      expectClose("softmax_ce", dtype, `${c.name} layer probs`, layer.probs(), c.p);
    });
  }
}

for (const dtype of DTYPES) {
  for (const c of convTransposeCases) {
    Deno.test(`pytorch: conv_transpose ${c.name} (${dtype.name})`, () => {
      const x = load(c.x, dtype.ctor), w = load(c.w, dtype.ctor);
      const b = c.b === null ? null : load(c.b, dtype.ctor);
      const { y, cache } = convTransposeForward(x, w, b, c.opts);
      expectClose("conv_transpose", dtype, `${c.name} y`, y, c.y);
      const { dx, dw, db } = convTransposeBackward(load(c.dy, dtype.ctor), cache);
      expectClose("conv_transpose", dtype, `${c.name} dx`, dx, c.dx);
      expectClose("conv_transpose", dtype, `${c.name} dw`, dw, c.dw);
      if (c.db === null) assertEquals(db, null, `${c.name}: no bias, no db`);
      else expectClose("conv_transpose", dtype, `${c.name} db`, db!, c.db);

      // The layer class computes the same thing with its parameters set to the fixture's.
      const [C, Dg, kh, kw] = c.w.shape;
      const layer = new ConvTranspose2D({
        inChannels: C,
        outChannels: Dg * (c.opts.groups ?? 1),
        size: [kh, kw],
        ...c.opts,
        bias: b !== null,
        dtype: dtype.name,
      });
      layer.w.value.data.set(w.data);
      if (b !== null) layer.b!.value.data.set(b.data);
      const where = `${c.name} ConvTranspose2D`;
      expectClose("conv_transpose", dtype, `${where} y`, layer.forward(x), c.y);
      const dxLayer = layer.backward(load(c.dy, dtype.ctor));
      expectClose("conv_transpose", dtype, `${where} dx`, dxLayer, c.dx);
      expectClose("conv_transpose", dtype, `${where} dw`, layer.w.grad, c.dw);
      if (c.db !== null) expectClose("conv_transpose", dtype, `${where} db`, layer.b!.grad, c.db);
      else assertEquals(layer.b, null);
    });
  }

  for (const c of batchNormCases) {
    Deno.test(`pytorch: batchnorm ${c.name} (${dtype.name})`, () => {
      const x = load(c.x, dtype.ctor), gamma = load(c.gamma, dtype.ctor);
      const beta = load(c.beta, dtype.ctor), dy = load(c.dy, dtype.ctor);
      const runningMean = load(c.running_mean, dtype.ctor);
      const runningVar = load(c.running_var, dtype.ctor);
      const opts = { training: c.training, runningMean, runningVar, ...c.opts };
      const { y, cache } = batchNormForward(x, gamma, beta, opts);
      expectClose("batchnorm", dtype, `${c.name} y`, y, c.y);
      // updated in place when training, untouched in evaluation (then *_after = the initial)
      expectClose("batchnorm", dtype, `${c.name} running mean`, runningMean, c.running_mean_after);
      expectClose("batchnorm", dtype, `${c.name} running var`, runningVar, c.running_var_after);
      if (!c.training) {
        assertEquals(
          Array.from(runningMean.data),
          Array.from(load(c.running_mean, dtype.ctor).data),
        );
      }
      const { dx, dgamma, dbeta } = batchNormBackward(dy, cache);
      expectClose("batchnorm", dtype, `${c.name} dx`, dx, c.dx);
      expectClose("batchnorm", dtype, `${c.name} dgamma`, dgamma, c.dgamma);
      expectClose("batchnorm", dtype, `${c.name} dbeta`, dbeta, c.dbeta);

      // The layer class, with the fixture's parameters and running statistics, alone and in a
      // Sequential whose train() / eval() sets its mode.
      for (const inNetwork of [false, true]) {
        const where = `${c.name} ${inNetwork ? "Sequential" : "layer"}`;
        const lopts = { features: c.gamma.shape[0], dtype: dtype.name, ...c.opts };
        const layer = c.x.shape.length === 4 ? new BatchNorm2D(lopts) : new BatchNorm1D(lopts);
        layer.gamma.value.data.set(gamma.data);
        layer.beta.value.data.set(beta.data);
        layer.runningMean.data.set(load(c.running_mean, dtype.ctor).data);
        layer.runningVar.data.set(load(c.running_var, dtype.ctor).data);
        let run = layer as BatchNorm2D | Sequential;
        if (inNetwork) {
          const net = new Sequential([layer]);
          if (c.training) net.eval().train(); // back to training from evaluation
          else net.eval();
          assertEquals(layer.training, c.training, `${where}: the network set the layer's mode`);
          run = net;
        } else layer.training = c.training;
        expectClose("batchnorm", dtype, `${where} y`, run.forward(x), c.y);
        expectClose(
          "batchnorm",
          dtype,
          `${where} running mean`,
          layer.runningMean,
          c.running_mean_after,
        );
        expectClose(
          "batchnorm",
          dtype,
          `${where} running var`,
          layer.runningVar,
          c.running_var_after,
        );
        assertEquals(layer.numBatchesTracked.data[0], c.training ? 1n : 0n, `${where}: count`);
        expectClose("batchnorm", dtype, `${where} dx`, run.backward(dy), c.dx);
        expectClose("batchnorm", dtype, `${where} dgamma`, layer.gamma.grad, c.dgamma);
        expectClose("batchnorm", dtype, `${where} dbeta`, layer.beta.grad, c.dbeta);
      }
    });
  }
}

/**
 * The tied fixture has non-overlapping windows (stride = size) over values in {0, 1, 2}. Where
 * several cells share a window's max, PyTorch and convprop may pick different cells, so dx is
 * not compared with torch's. What must hold for any tie rule: each window's gradient goes,
 * whole and exactly, to one cell of that window that holds the window's max, and every other
 * cell (including those no window reads) gets 0. This pins dx down up to the choice of cell.
 */
function checkTiedPool(c: PoolCase, x: Tensor, dy: Tensor, dx: Tensor, ctor: Ctor): void {
  assert(dx.data instanceof ctor);
  assertEquals([...dx.shape], c.x.shape);
  const [N, C, H, W] = c.x.shape;
  const [kh, kw] = typeof c.opts.size === "number" ? [c.opts.size, c.opts.size] : c.opts.size;
  assert(c.opts.stride === undefined, "the tied fixture must use stride = size");
  const Ho = Math.floor((H - kh) / kh) + 1, Wo = Math.floor((W - kw) / kw) + 1;
  const claimed = new Uint8Array(dx.data.length);
  let tiedWindows = 0;
  for (let s = 0; s < N * C; s++) {
    for (let oh = 0; oh < Ho; oh++) {
      for (let ow = 0; ow < Wo; ow++) {
        const g = dy.data[(s * Ho + oh) * Wo + ow];
        assert(g !== 0, "the fixture's dy has no zeros, so the receiving cell is visible");
        let max = -Infinity, holders = 0;
        const cells: number[] = [];
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const at = (s * H + oh * kh + i) * W + ow * kw + j;
            cells.push(at);
            max = Math.max(max, x.data[at]);
          }
        }
        const receivers = cells.filter((at) => dx.data[at] !== 0);
        for (const at of cells) if (x.data[at] === max) holders++;
        if (holders > 1) tiedWindows++;
        assertEquals(receivers.length, 1, `window (${s},${oh},${ow}): one cell gets dy`);
        assertEquals(dx.data[receivers[0]], g, `window (${s},${oh},${ow}): it gets all of dy`);
        assertEquals(x.data[receivers[0]], max, `window (${s},${oh},${ow}): it holds the max`);
        for (const at of cells) claimed[at] = 1;
      }
    }
  }
  for (let i = 0; i < dx.data.length; i++) {
    if (!claimed[i]) assertEquals(dx.data[i], 0, `cell ${i} is in no window`);
  }
  assert(tiedWindows >= 10, `the fixture exercises ties (${tiedWindows} tied windows)`);
  // Gradient mass is conserved whatever the tie rule: Σ dx = Σ dy = Σ torch's dx.
  let sumDx = 0, sumTorch = 0;
  for (const v of dx.data) sumDx += v;
  for (const v of c.dx.data) sumTorch += v;
  assert(Math.abs(sumDx - sumTorch) <= 1e-4 * Math.max(1, Math.abs(sumTorch)));
}

Deno.test("pytorch: summary of the largest errors (relative to scale)", () => {
  const layers = [
    "conv",
    "fc",
    "maxpool",
    "relu",
    "softmax_ce",
    "conv_transpose",
    "avgpool",
    "batchnorm",
  ];
  const rows: string[] = [];
  for (const layer of layers) {
    for (const { name, tol } of DTYPES) {
      const w = worst.get(`${layer} ${name}`);
      if (w === undefined) continue; // a --filter run skipped this layer
      rows.push(
        `${layer.padEnd(14)} ${name.padEnd(8)} ${w.err.toExponential(2).padStart(9)}  ` +
          `(tolerance ${tol.toExponential(0)}, at ${w.where})`,
      );
      assert(w.err <= tol);
    }
  }
  const cases = convCases.length + fcCases.length + poolCases.length + reluCases.length +
    softmaxCases.length + convTransposeCases.length + avgPoolCases.length + batchNormCases.length;
  console.log(
    `\nconvprop vs PyTorch ${(convFixture as { torch: string }).torch}: ${cases} fixtures ` +
      `× {float64, float32}, largest error relative to scale\n` +
      `layer          dtype          error\n${rows.join("\n")}`,
  );
});
