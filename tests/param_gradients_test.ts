// The backward pass of a first layer, whose input is data: `inputGradient: false` in
// convBackward and fcBackward, Conv2D/FullyConnected.backwardParams and
// Sequential.backwardParams must fill
// exactly the parameter gradients the full backward pass fills (bit for bit: the same products
// in the same order), and only skip dL/dx.

import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  buildNetwork,
  Conv2D,
  convBackward,
  convForward,
  fcBackward,
  fcForward,
  FullyConnected,
  lenet5,
  MaxPool2D,
  smallNet,
  SoftmaxCrossEntropy,
  type Tensor,
} from "../mod.ts";
import { randInt, randomArray, rngFor } from "./_random.ts";

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;

const rng = rngFor(21);
function rand(ctor: Ctor, shape: number[]): Tensor {
  return { shape, data: randomArray(rng, shape.reduce((a, b) => a * b, 1), ctor) };
}

Deno.test("convBackward inputGradient: false gives the full pass's dw and db, bit for bit", () => {
  for (const ctor of [Float32Array, Float64Array]) {
    for (let trial = 0; trial < 40; trial++) {
      // the per-sample path (P > 1) and the batched one (a kernel covering the padded input)
      const N = randInt(rng, 1, 3), C = randInt(rng, 1, 4), H = randInt(rng, 3, 9);
      const W = randInt(rng, 3, 9), D = randInt(rng, 1, 5), p = randInt(rng, 0, 1);
      const whole = trial % 4 === 0;
      const kh = whole ? H + 2 * p : randInt(rng, 1, 3),
        kw = whole ? W + 2 * p : randInt(rng, 1, 3);
      const x = rand(ctor, [N, C, H, W]), w = rand(ctor, [D, C, kh, kw]), b = rand(ctor, [D]);
      const { y, cache } = convForward(x, w, b, { padding: p });
      const dy = rand(ctor, [...y.shape]);
      const full = convBackward(dy, cache);
      const params = convBackward(dy, cache, { inputGradient: false });
      assertEquals(params.dx, null);
      assertEquals(params.dw.data, full.dw.data, `trial ${trial}`);
      assertEquals(params.db.data, full.db.data);
      assertEquals(params.dw.shape, full.dw.shape);
    }
  }
});

Deno.test("fcBackward inputGradient: false gives the full pass's dw and db, bit for bit", () => {
  const x = rand(Float32Array, [5, 3, 2, 2]), w = rand(Float32Array, [7, 12]);
  const b = rand(Float32Array, [7]);
  const { cache } = fcForward(x, w, b);
  const dy = rand(Float32Array, [5, 7]);
  const full = fcBackward(dy, cache), params = fcBackward(dy, cache, { inputGradient: false });
  assertEquals(params.dx, null);
  assertEquals(params.dw.shape, [7, 12]);
  assertEquals(params.dw.data, full.dw.data);
  assertEquals(params.db.data, full.db.data);
});

Deno.test("Conv2D and FullyConnected backwardParams fill the same grads as backward", () => {
  const conv = new Conv2D({ inChannels: 2, outChannels: 3, size: 3, padding: 1 });
  const fc = new FullyConnected({ inFeatures: 8, outFeatures: 4 });
  for (
    const [layer, x] of [
      [conv, rand(Float32Array, [2, 2, 5, 5])],
      [fc, rand(Float32Array, [3, 2, 2, 2])],
    ] as const
  ) {
    const y = layer.forward(x);
    const dy = rand(Float32Array, [...y.shape]);
    layer.backward(dy);
    const want = layer.params().map((p) => Array.from(p.grad.data));
    for (const p of layer.params()) p.grad.data.fill(NaN);
    layer.backwardParams(dy);
    assertEquals(layer.params().map((p) => Array.from(p.grad.data)), want, layer.kind);
  }
  assertThrows(
    () =>
      new Conv2D({ inChannels: 1, outChannels: 1, size: 1 }).backwardParams(
        rand(Float32Array, [1, 1, 1, 1]),
      ),
    Error,
    "Conv2D.backwardParams: call forward first",
  );
});

Deno.test("Sequential.backwardParams: the same gradients as backward for the shipped models", () => {
  const mlp = buildNetwork([
    { type: "flatten" },
    { type: "fc", inFeatures: 16, outFeatures: 5 },
    { type: "relu" },
    { type: "fc", inFeatures: 5, outFeatures: 3 },
  ]);
  const cases: [string, ReturnType<typeof smallNet>, number[]][] = [
    ["small", smallNet({ seed: 3 }), [4, 1, 28, 28]],
    ["lenet5", lenet5({ seed: 4 }), [4, 1, 28, 28]],
    ["mlp (flatten first)", mlp, [4, 1, 4, 4]],
  ];
  for (const [name, net, shape] of cases) {
    const x = rand(Float32Array, shape), ce = new SoftmaxCrossEntropy();
    const labels = [0, 1, 2, 1];
    ce.forward(net.forward(x), labels);
    net.backward(ce.backward());
    const want = net.params().map((p) => Array.from(p.grad.data));
    for (const p of net.params()) p.grad.data.fill(NaN);
    net.backwardParams(ce.backward());
    const got = net.params().map((p) => Array.from(p.grad.data));
    assertEquals(got, want, name);
    assert(got.every((g) => g.every(Number.isFinite)), `${name}: every gradient written`);
  }
});

Deno.test("Conv2D in evaluation mode keeps no columns: the same y, and backward still right", () => {
  const conv = new Conv2D({ inChannels: 3, outChannels: 10, size: 3, padding: 1 });
  const x = rand(Float32Array, [4, 3, 12, 12]);
  const y = Array.from(conv.forward(x).data);
  const dy = rand(Float32Array, [4, 10, 12, 12]);
  const dx = Array.from(conv.backward(dy).data);
  const grads = conv.params().map((p) => Array.from(p.grad.data));
  conv.training = false;
  assertEquals(Array.from(conv.forward(x).data), y);
  assertEquals(Array.from(conv.backward(dy).data), dx); // x_col gathered again
  assertEquals(conv.params().map((p) => Array.from(p.grad.data)), grads);
  const net = smallNet({ seed: 1 });
  net.eval();
  assert(net.layers.every((l) => !(l instanceof Conv2D) || !l.training), "eval() reaches Conv2D");
});

Deno.test("MaxPool2D in evaluation mode keeps no routes: the same y, and backward still right", () => {
  const pool = new MaxPool2D({ size: 2 });
  const x = rand(Float32Array, [2, 3, 8, 8]);
  const y = Array.from(pool.forward(x).data);
  const dy = rand(Float32Array, [2, 3, 4, 4]);
  const dx = Array.from(pool.backward(dy).data);
  pool.training = false;
  assertEquals(Array.from(pool.forward(x).data), y);
  assertEquals(Array.from(pool.backward(dy).data), dx); // winners found again
  assertEquals(Array.from(pool.backward(dy).data), dx); // and kept for a second backward
  pool.training = true;
  assertEquals(Array.from(pool.forward(x).data), y);
  assertEquals(Array.from(pool.backward(dy).data), dx);
});
