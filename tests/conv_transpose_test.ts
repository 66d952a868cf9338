// Properties of the transposed convolution, on whichever backend runs the suite (deno task test:
// fast; test:reference: reference). Each is an identity docs/conv_transpose.md derives, checked
// on random geometries (per-axis stride, padding, dilation, output padding below the stride or
// the dilation, groups, batch 1 and more):
// - the forward pass is the convolution's input gradient: convTransposeForward(x, w) equals
//   convBackward's dx for the convolution from y's geometry to x's, with x as its dy;
// - it is the adjoint of that convolution: <convTranspose(x), y> = <x, conv(y)> (no bias);
// - its backward pass is that convolution: dx = conv(dy), dw = the convolution's dW with x and
//   dy in each other's places, db = Σ dy;
// - groups are G independent transposed convolutions side by side;
// - uneven overlap (kernel 3, stride 2) stamps a checkerboard, even overlap (kernel 4) does not;
// - bad input: a named RangeError or TypeError with the shapes, nothing written.
// Float64, tolerance 1e-12 relative to the sums' scale: the two sides add the same products,
// possibly in different orders (at most a few hundred terms of size ≲ 10: a worst-case rounding
// difference ≲ 1e-13), while a wrong index or a missed stamp changes a result by O(0.1).

import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  buildNetwork,
  convBackward,
  convForward,
  ConvTranspose2D,
  convTransposeBackward,
  convTransposeForward,
  encodeCheckpoint,
  type LayerSpec,
  restoreCheckpoint,
  specShapes,
  type Tensor,
} from "../mod.ts";
import { dot, randInt, randTensor, rngFor } from "./_random.ts";

const TOL = 1e-12;

function close(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assertEquals(got.length, want.length, `${what}: length`);
  let scale = 1;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) {
    assert(
      Math.abs(got[i] - want[i]) <= TOL * scale,
      `${what}: [${i}] ${got[i]} vs ${want[i]}`,
    );
  }
}

interface Geo {
  x: number[];
  w: number[];
  opts: {
    stride: [number, number];
    padding: [number, number];
    dilation: [number, number];
    outputPadding: [number, number];
    groups: number;
  };
}

/** A random transposed convolution; every third has an output padding of at least the stride
 * (allowed below the dilation), so the convolution y -> x has more output rows than x. */
function geometry(rng: () => number, t: number): Geo {
  const G = randInt(rng, 1, 3), C = G * randInt(rng, 1, 2), Dg = randInt(rng, 1, 2);
  const kh = randInt(rng, 1, 3), kw = randInt(rng, 1, 3);
  const stride: [number, number] = [randInt(rng, 1, 3), randInt(rng, 1, 3)];
  const dilation: [number, number] = [randInt(rng, 1, 3), randInt(rng, 1, 3)];
  const op = (a: 0 | 1) => randInt(rng, 0, Math.max(stride[a], dilation[a]) - 1);
  const outputPadding: [number, number] = [op(0), op(1)];
  if (t % 3 === 0) {
    // outputPadding ≥ stride: stride 1, dilation ≥ 2, outputPadding 1
    stride[0] = 1;
    dilation[0] = Math.max(2, dilation[0]);
    outputPadding[0] = 1;
  }
  const H = randInt(rng, 1, 5), W = randInt(rng, 1, 5);
  const full = (n: number, a: 0 | 1, k: number) =>
    (n - 1) * stride[a] + dilation[a] * (k - 1) + 1 + outputPadding[a];
  const padding: [number, number] = [
    randInt(rng, 0, Math.floor((full(H, 0, kh) - 1) / 2)),
    randInt(rng, 0, Math.floor((full(W, 1, kw) - 1) / 2)),
  ];
  return {
    x: [randInt(rng, 1, 3), C, H, W],
    w: [C, Dg, kh, kw],
    opts: { stride, padding, dilation, outputPadding, groups: G },
  };
}

/** The convolution's options: the transposed one's, less the output padding. */
function convOpts(g: Geo) {
  const { stride, padding, dilation, groups } = g.opts;
  return { stride, padding, dilation, groups };
}

/** t's [H, W] planes in the top-left corner of [H2, W2] planes (cropped or zero-extended). */
function resized(t: Tensor, H2: number, W2: number): Tensor {
  const [N, C, H, W] = t.shape, out = new Float64Array(N * C * H2 * W2);
  for (let s = 0; s < N * C; s++) {
    for (let h = 0; h < Math.min(H, H2); h++) {
      for (let v = 0; v < Math.min(W, W2); v++) {
        out[(s * H2 + h) * W2 + v] = t.data[(s * H + h) * W + v];
      }
    }
  }
  return { shape: [N, C, H2, W2], data: out };
}

Deno.test("convTransposeForward(x, w) is convBackward's dx for the same geometry", () => {
  const rng = rngFor(401);
  let extended = 0;
  for (let t = 0; t < 150; t++) {
    const g = geometry(rng, t), label = JSON.stringify(g);
    const x = randTensor(rng, g.x), w = randTensor(rng, g.w);
    const { y } = convTransposeForward(x, w, null, g.opts);
    // the convolution y -> x, run forward on anything of y's shape; its output is x's shape,
    // or larger by an output padding of at least the stride
    const conv = convForward(randTensor(rng, [...y.shape]), w, null, convOpts(g));
    const [, , Hc, Wc] = conv.y.shape;
    assert(Hc >= g.x[2] && Wc >= g.x[3] && Hc - g.x[2] <= 2 && Wc - g.x[3] <= 2, label);
    if (Hc !== g.x[2] || Wc !== g.x[3]) extended++;
    const { dx } = convBackward(resized(x, Hc, Wc), conv.cache); // x in the place of dy
    assertEquals(dx.shape, y.shape, label);
    close(y.data, dx.data, label);
  }
  assert(extended >= 40, `${extended} geometries with outputPadding ≥ stride`);
});

Deno.test("adjoint: <convTranspose(x), y> = <x, conv(y)>", () => {
  const rng = rngFor(402);
  for (let t = 0; t < 150; t++) {
    const g = geometry(rng, t), label = JSON.stringify(g);
    const x = randTensor(rng, g.x), w = randTensor(rng, g.w);
    const up = convTransposeForward(x, w, null, g.opts).y;
    const y = randTensor(rng, [...up.shape]);
    const down = convForward(y, w, null, convOpts(g)).y; // [N, C, H', W'], H' ≥ H
    const left = dot(up.data, y.data),
      right = dot(resized(x, down.shape[2], down.shape[3]).data, down.data);
    assert(
      Math.abs(left - right) <= 10 * TOL * Math.max(1, Math.abs(left)),
      `${label}: ${left} vs ${right}`,
    );
  }
});

Deno.test("the backward pass is the convolution: dx = conv(dy), dW = its dW with x and dy swapped, db = Σ dy", () => {
  const rng = rngFor(403);
  for (let t = 0; t < 100; t++) {
    const g = geometry(rng, t), label = JSON.stringify(g);
    const x = randTensor(rng, g.x), w = randTensor(rng, g.w);
    const D = g.w[1] * g.opts.groups, b = randTensor(rng, [D]);
    const { y, cache } = convTransposeForward(x, w, b, g.opts);
    const dy = randTensor(rng, [...y.shape]);
    const { dx, dw, db } = convTransposeBackward(dy, cache);
    const conv = convForward(dy, w, null, convOpts(g));
    const [, , Hc, Wc] = conv.y.shape;
    close(dx.data, resized(conv.y, g.x[2], g.x[3]).data, `${label} dx`);
    // the convolution's backward pass with x (zero-extended) as its dy: dW = Σ_n x_n · im2col(dy_n)ᵀ
    close(dw.data, convBackward(resized(x, Hc, Wc), conv.cache).dw.data, `${label} dw`);
    const sums = new Float64Array(D), P = y.shape[2] * y.shape[3];
    for (let i = 0; i < dy.data.length; i++) sums[Math.floor(i / P) % D] += dy.data[i];
    close(db.data, sums, `${label} db`);
    // without dx: dw and db the same bit for bit
    const params = convTransposeBackward(dy, cache, { inputGradient: false });
    assertEquals(params.dx, null);
    assertEquals([params.dw.data, params.db.data], [dw.data, db.data]);
  }
});

Deno.test("groups: G independent transposed convolutions side by side", () => {
  const rng = rngFor(404);
  const N = 2, G = 3, Cg = 2, Dg = 2, H = 3, W = 4;
  const x = randTensor(rng, [N, G * Cg, H, W]), w = randTensor(rng, [G * Cg, Dg, 3, 3]);
  const b = randTensor(rng, [G * Dg]);
  const opts = { stride: 2, padding: 1, outputPadding: 1 };
  const all = convTransposeForward(x, w, b, { ...opts, groups: G }).y;
  const [, , Ho, Wo] = all.shape;
  for (let gi = 0; gi < G; gi++) {
    const x_g = { shape: [N, Cg, H, W], data: new Float64Array(N * Cg * H * W) };
    for (let n = 0; n < N; n++) {
      const from = (n * G + gi) * Cg * H * W;
      x_g.data.set(x.data.subarray(from, from + Cg * H * W), n * Cg * H * W);
    }
    const w_g = {
      shape: [Cg, Dg, 3, 3],
      data: w.data.slice(gi * Cg * Dg * 9, (gi + 1) * Cg * Dg * 9),
    };
    const b_g = { shape: [Dg], data: b.data.slice(gi * Dg, (gi + 1) * Dg) };
    const y_g = convTransposeForward(x_g, w_g, b_g, opts).y;
    for (let n = 0; n < N; n++) {
      const at = (n * G + gi) * Dg * Ho * Wo;
      close(
        y_g.data.subarray(n * Dg * Ho * Wo, (n + 1) * Dg * Ho * Wo),
        all.data.subarray(at, at + Dg * Ho * Wo),
        `group ${gi}, sample ${n}`,
      );
    }
  }
});

Deno.test("the checkerboard: kernel 3 at stride 2 overlaps unevenly, kernel 4 evenly", () => {
  // all-ones x and w: each output counts the stamps that cover it
  const ones = (shape: number[]) => ({
    shape,
    data: new Float64Array(shape.reduce((a, b) => a * b)).fill(1),
  });
  const x = ones([1, 1, 4, 4]);
  const y3 =
    convTransposeForward(x, ones([1, 1, 3, 3]), null, { stride: 2, padding: 1, outputPadding: 1 })
      .y;
  assertEquals(y3.shape, [1, 1, 8, 8]);
  // rows alternate 1-stamp and 2-stamp rows, columns likewise: 1, 2 and 4 in a checkerboard
  const row = (r: number) => Array.from(y3.data.subarray(r * 8, r * 8 + 8));
  assertEquals(row(0), [1, 2, 1, 2, 1, 2, 1, 1]);
  assertEquals(row(1), [2, 4, 2, 4, 2, 4, 2, 2]);
  assertEquals(row(2), row(0));
  const y4 = convTransposeForward(x, ones([1, 1, 4, 4]), null, { stride: 2, padding: 1 }).y;
  assertEquals(y4.shape, [1, 1, 8, 8]);
  // away from the border every output is covered by exactly 2·2 stamps
  for (let r = 1; r < 7; r++) {
    assertEquals(Array.from(y4.data.subarray(r * 8 + 1, r * 8 + 7)), [4, 4, 4, 4, 4, 4]);
  }
});

Deno.test("ConvTranspose2D: PyTorch's layout and fan-in, backwardParams = backward's grads, specShapes = the params", () => {
  const layer = new ConvTranspose2D({
    inChannels: 8,
    outChannels: 6,
    size: 4,
    groups: 2,
    stride: 2,
    dtype: "float64",
  });
  assertEquals(layer.w.value.shape, [8, 3, 4, 4]);
  // He-normal with fan_in = (D/G)·kh·kw = 48: variance 2/48 within sampling error (384 draws:
  // the sample variance's relative standard error is √(2/384) ≈ 7%, so ±25% is > 3σ)
  let s2 = 0;
  for (const v of layer.w.value.data) s2 += v * v;
  const variance = s2 / layer.w.value.data.length;
  assert(Math.abs(variance / (2 / 48) - 1) < 0.25, `variance ${variance} vs ${2 / 48}`);
  const rng = rngFor(405);
  const x = randTensor(rng, [2, 8, 3, 3]);
  const y = layer.forward(x), dy = randTensor(rng, [...y.shape]);
  layer.backward(dy);
  const [dw, db] = [layer.w.grad.data.slice(), layer.b!.grad.data.slice()];
  layer.w.grad.data.fill(0);
  layer.backwardParams(dy);
  assertEquals([layer.w.grad.data, layer.b!.grad.data], [dw, db]);

  const up = {
    type: "convTranspose" as const,
    inChannels: 4,
    outChannels: 6,
    size: 3,
    groups: 2,
    stride: 2,
  };
  const spec: LayerSpec[] = [
    up,
    { type: "relu" },
    {
      type: "convTranspose" as const,
      inChannels: 6,
      outChannels: 1,
      size: 2,
      dilation: 2,
      outputPadding: 1,
      bias: false,
    },
  ];
  const net = buildNetwork(spec, { seed: 1 });
  assertEquals(
    specShapes(spec),
    net.params().map((p) => ({ name: p.name, shape: [...p.value.shape] })),
  );
  assertEquals(specShapes(spec)!.map((p) => p.name), ["0.weight", "0.bias", "2.weight"]);
  // 3x3 -> (3 − 1)·2 + 2 + 1 = 7 -> (7 − 1)·1 + 2·1 + 1 + 1 = 10
  const y2 = net.forward({ shape: [1, 4, 3, 3], data: new Float32Array(36) });
  assertEquals(y2.shape, [1, 1, 10, 10]);
  assertEquals(specShapes([{ ...up, groups: 4 }]), null); // 6 outputs in 4 groups
  // a checkpoint of it restores to the same network, PyTorch's names and all
  const bytes = encodeCheckpoint(net, { spec, norm: { mean: 0, std: 1 } });
  const restored = restoreCheckpoint(bytes, "decoder.safetensors").net;
  const z = randTensor(rng, [2, 4, 3, 3], Float32Array);
  assertEquals(restored.forward(z).data, net.forward(z).data);
});

Deno.test("bad input: a named RangeError or TypeError, with the shapes, before anything is written", () => {
  const rng = rngFor(406);
  const x = randTensor(rng, [1, 4, 3, 3]),
    w = randTensor(rng, [4, 3, 3, 3]),
    b = randTensor(rng, [6]);
  const before = [x.data.slice(), w.data.slice(), b.data.slice()];
  const fwd = "convTransposeForward", shapes = "(x [1,4,3,3], w [4,3,3,3])";
  const cases: [Record<string, unknown>, typeof RangeError | typeof TypeError, string][] = [
    [{ groups: 3 }, RangeError, `${fwd}: groups 3 must divide the 4 input channels ${shapes}`],
    [{ groups: 0 }, RangeError, `${fwd}: groups must be a positive integer, got 0`],
    [{}, RangeError, `${fwd}: b has 6 entries but the output has 3 channels (groups 1`],
    [
      { groups: 2, outputPadding: 1 },
      RangeError,
      `${fwd}: outputPadding [1,1] must be smaller than the stride [1,1] or the dilation [1,1]`,
    ],
    [
      { groups: 2, stride: 2, outputPadding: [1, 2] },
      RangeError,
      `${fwd}: outputPadding [1,2] must be smaller than the stride [2,2] or the dilation [1,1]`,
    ],
    [
      { groups: 2, outputPadding: -1 },
      RangeError,
      `${fwd}: outputPadding must be a non-negative integer`,
    ],
    [
      { groups: 2, padding: "same" },
      TypeError,
      `${fwd}: padding must be a number or a [rows, cols] pair`,
    ],
    [{ groups: 2, stride: 0 }, RangeError, `${fwd}: stride must be a positive integer`],
    [
      { groups: 2, padding: 3 },
      RangeError,
      `${fwd}: the output would be [1,6,-1,-1]: padding [3,3] crops more than the full output [5,5] has`,
    ],
    [{ groups: 2, size: 3 }, TypeError, `${fwd}: unknown option "size"`],
    [{ groups: 2, training: 1 }, TypeError, `${fwd}: opts.training must be true or false`],
  ];
  for (const [opts, cls, message] of cases) {
    assertThrows(
      () => convTransposeForward(x, w, b, opts as never),
      cls,
      message,
      JSON.stringify(opts),
    );
  }
  assertThrows(
    () => convTransposeForward(x, randTensor(rng, [3, 3, 3, 3]), null),
    RangeError,
    `${fwd}: x has 4 channels but w has 3 rows; a transposed convolution's w is [C, D/groups, kh, kw]`,
  );
  assertThrows(() => convTransposeForward(x, randTensor(rng, [4, 3, 3]), null), RangeError, "w");
  const w32 = { shape: w.shape, data: Float32Array.from(w.data) };
  assertThrows(() => convTransposeForward(x, w32, null), TypeError, fwd);
  const big = { shape: [1, 1, 2 ** 15, 2 ** 15], data: new Float64Array(0) };
  assertThrows(
    () => convTransposeForward(big, randTensor(rng, [1, 1, 1, 1]), null),
    RangeError,
    "x",
  );
  // the size bound: stride 32 spreads 1024² cells over a y of 32737² > 2^29 elements
  const wide = randTensor(rng, [1, 1, 1024, 1024]), one = randTensor(rng, [1, 1, 1, 1]);
  assertThrows(
    () => convTransposeForward(wide, one, null, { stride: 32 }),
    RangeError,
    `${fwd}: y [1,1,32737,32737] would have 1.072e+9 elements, more than the 536870912 (2^29)`,
  );
  assertEquals([x.data, w.data, b.data], before);

  // the backward pass: dy of the wrong shape or type, a foreign cache, an unknown option
  const { y, cache } = convTransposeForward(x, w, b, { groups: 2 });
  const bwd = "convTransposeBackward";
  assertThrows(
    () => convTransposeBackward(randTensor(rng, [1, 6, 5, 4]), cache),
    RangeError,
    `${bwd}: dy has shape [1,6,5,4] but y has shape [1,6,5,5]`,
  );
  const dy32 = { shape: y.shape, data: new Float32Array(y.data.length) };
  assertThrows(() => convTransposeBackward(dy32, cache), TypeError, bwd);
  const conv = convForward(x, randTensor(rng, [2, 4, 3, 3]), null).cache;
  assertThrows(
    () => convTransposeBackward(randTensor(rng, [1, 2, 1, 1]), conv as never),
    TypeError,
    `${bwd}: cache must be the cache returned by convTransposeForward`,
  );
  assertThrows(
    () => convTransposeBackward(randTensor(rng, [...y.shape]), cache, { out: 1 } as never),
    TypeError,
    `${bwd}: unknown option "out"`,
  );

  // the layer: a bad backward leaves its gradients as they were
  const layer = new ConvTranspose2D({
    inChannels: 4,
    outChannels: 6,
    size: 3,
    groups: 2,
    dtype: "float64",
  });
  const out = layer.forward(x);
  layer.backward(randTensor(rng, [...out.shape]));
  const grads = layer.params().map((p) => p.grad.data.slice());
  assertThrows(() => layer.backward(randTensor(rng, [1, 6, 4, 4])), RangeError, bwd);
  assertEquals(layer.params().map((p) => p.grad.data), grads);
  assertThrows(
    () =>
      new ConvTranspose2D({ inChannels: 4, outChannels: 6, size: 3, stride: 2, outputPadding: 2 }),
    RangeError,
    "ConvTranspose2D: outputPadding [2,2] must be smaller than the stride [2,2] or the dilation [1,1]",
  );
  assertThrows(
    () => new ConvTranspose2D({ inChannels: 4, outChannels: 6, size: 3, groups: 4 }),
    RangeError,
    "ConvTranspose2D: groups must be a positive integer dividing inChannels 4 and outChannels 6",
  );
});
