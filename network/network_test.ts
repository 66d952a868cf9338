import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertThrows,
} from "@std/assert";
import { Sequential } from "./sequential.ts";
import { Flatten } from "../layers/flatten.ts";
import { Dropout } from "../layers/dropout.ts";
import { buildNetwork, type LayerSpec, lenet5, smallNet } from "./models.ts";
import { SoftmaxCrossEntropy } from "./loss.ts";
import type { ReLU } from "../layers/relu_layer.ts";
import { Conv2D } from "../layers/conv_layer.ts";
import { mulberry32 } from "../random.ts";
import type { Tensor } from "../tensor.ts";

const SPEC: LayerSpec[] = [
  { type: "conv", inChannels: 2, outChannels: 3, size: 3, padding: 1 },
  { type: "relu" },
  { type: "maxpool", size: 2 },
  { type: "flatten" },
  { type: "fc", inFeatures: 3 * 3 * 3, outFeatures: 5 },
  { type: "relu" },
  { type: "fc", inFeatures: 5, outFeatures: 4 },
];

function input(seed: number): Tensor<Float64Array> {
  const rng = mulberry32(seed);
  return { shape: [3, 2, 6, 6], data: Float64Array.from({ length: 216 }, () => 2 * rng() - 1) };
}

Deno.test("Sequential backward matches finite differences of the loss (float64)", () => {
  const net = buildNetwork(SPEC, { seed: 3, dtype: "float64" });
  const x = input(5), labels = [0, 3, 1];
  const ce = new SoftmaxCrossEntropy();
  const loss = () => ce.forward(net.forward(x), labels);
  loss();
  const dx = net.backward(ce.backward());
  const grads = net.params().map((p) => Float64Array.from(p.grad.data));
  const h = 1e-6;
  // central differences: error O(h²) ≈ 1e-12 plus rounding ≈ 1e-16/h = 1e-10 on O(1) losses;
  // ReLU and max-pool kinks are not crossed for these seeds (checked: the tolerance holds)
  const check = (data: Float64Array, i: number, analytic: number, what: string) => {
    const old = data[i];
    data[i] = old + h;
    const up = loss();
    data[i] = old - h;
    const down = loss();
    data[i] = old;
    assertAlmostEquals(analytic, (up - down) / (2 * h), 1e-7, what);
  };
  for (const [k, p] of net.params().entries()) {
    for (let i = 0; i < p.value.data.length; i += 3) {
      check(p.value.data as Float64Array, i, grads[k][i], `${p.name}[${i}]`);
    }
  }
  for (let i = 0; i < x.data.length; i += 7) check(x.data, i, dx.data[i], `x[${i}]`);
});

Deno.test("Sequential names parameters as PyTorch's nn.Sequential does and shares their memory", () => {
  const net = buildNetwork(SPEC, { seed: 1 });
  assertEquals(net.params().map((p) => `${p.name} ${p.value.shape.join("x")}`), [
    "0.weight 3x2x3x3",
    "0.bias 3",
    "4.weight 5x27",
    "4.bias 5",
    "6.weight 4x5",
    "6.bias 4",
  ]);
  const w = net.params()[0];
  w.value.data[0] = 42;
  assertEquals(net.params()[0].value.data[0], 42);
});

Deno.test("the same seed builds the same network bit for bit; another seed does not", () => {
  const a = smallNet({ seed: 11 }).params(), b = smallNet({ seed: 11 }).params();
  const c = smallNet({ seed: 12 }).params();
  for (let k = 0; k < a.length; k++) assertEquals(a[k].value.data, b[k].value.data);
  assertNotEquals(a[0].value.data, c[0].value.data);
});

Deno.test("He initialisation: weight variance 2/fan_in in every layer, biases zero", () => {
  for (const net of [smallNet({ seed: 2 }), lenet5({ seed: 2 })]) {
    for (const p of net.params()) {
      const v = p.value.data;
      if (p.name.endsWith("bias")) {
        assert(v.every((b) => b === 0), p.name);
        continue;
      }
      const fanIn = p.value.shape.slice(1).reduce((a, b) => a * b, 1);
      let s2 = 0;
      for (const w of v) s2 += w * w;
      // the sample variance of n normals has relative std √(2/n); allow 5 of them
      const rel = Math.abs(s2 / v.length / (2 / fanIn) - 1);
      assert(rel < 5 * Math.sqrt(2 / v.length), `${p.name}: variance off by ${rel}`);
    }
  }
});

Deno.test("train() and eval() switch dropout, also inside nested networks; predict uses eval", () => {
  const drop = new Dropout({ p: 0.5, rng: mulberry32(1) });
  const inner = new Sequential([drop]);
  const net = new Sequential([new Flatten(), inner]);
  const x = { shape: [1, 100], data: new Float32Array(100).fill(1) };
  assert(net.training && drop.training);
  assert(net.forward(x).data.some((v) => v === 0)); // training: some dropped
  net.eval();
  assert(!drop.training && !inner.training);
  assertEquals(net.forward(x).data, x.data);
  net.train();
  const probs = net.predict({ shape: [1, 3], data: new Float32Array([0, 0, Math.log(2)]) });
  assertAlmostEquals(probs.data[2], 0.5, 1e-6); // softmax of the undropped input
  assert(net.training, "predict restores the training mode");
});

Deno.test("Dropout: masks from the seed, gradient through the same mask, mean preserved", () => {
  const x = { shape: [4, 500], data: new Float64Array(2000).fill(1) };
  const a = new Dropout({ p: 0.3, rng: mulberry32(5) }),
    b = new Dropout({ p: 0.3, rng: mulberry32(5) });
  const ya = a.forward(x);
  assertEquals(ya.data, b.forward(x).data);
  let mean = 0;
  for (const v of ya.data) mean += v / 2000;
  assertAlmostEquals(mean, 1, 0.05); // E[y] = x; std of the mean ≈ √(0.3/0.7/2000) = 0.015
  const dx = a.backward({ shape: x.shape, data: new Float64Array(2000).fill(2) });
  for (let i = 0; i < 2000; i++) assertEquals(dx.data[i], 2 * ya.data[i]);
  assertThrows(() => new Dropout({ p: 1 }), RangeError, "p must be a number in [0, 1)");
  // The next forward reuses the output buffer with a fresh mask; another size gets a new buffer.
  const before = Array.from(ya.data);
  const ya2 = a.forward(x);
  assert(ya2.data === ya.data, "output buffer reused");
  assert(before.some((v, i) => v !== ya2.data[i]), "a new mask each forward");
  const small = a.forward({ shape: [1, 10], data: new Float64Array(10).fill(1) });
  assertEquals(small.data.length, 10);
});

Deno.test("errors name the problem: bad specs, empty networks, backward before forward", () => {
  assertThrows(() => buildNetwork([]), RangeError, "non-empty");
  assertThrows(
    () => buildNetwork([{ type: "softmax" } as unknown as LayerSpec]),
    RangeError,
    'spec[0] has unknown type "softmax"',
  );
  assertThrows(
    () => buildNetwork([{ type: "conv", inChannels: 0, outChannels: 1, size: 3 }]),
    RangeError,
    "inChannels",
  );
  // a spec of convprop 0.1 (kernelSize) still builds the same network; a Conv2D without a size
  // says what it needs
  const legacy = { type: "conv", inChannels: 1, outChannels: 2, kernelSize: 3 };
  const now = buildNetwork([{ type: "conv", inChannels: 1, outChannels: 2, size: 3 }], { seed: 4 });
  assertEquals(
    buildNetwork([legacy as unknown as LayerSpec], { seed: 4 }).params()[0].value,
    now.params()[0].value,
  );
  assertThrows(
    () => new Conv2D({ inChannels: 1, outChannels: 2, kernelSize: 3 } as never),
    TypeError,
    "Conv2D: opts.size (the kernel's size, as { size: 3 }) is required; convprop 0.1 called it kernelSize",
  );
  assertThrows(() => new Sequential([]), RangeError, "non-empty");
  assertThrows(() => new Sequential([{} as ReLU]), TypeError, "layers[0] is not a Layer");
  assertThrows(
    () => new Flatten().backward({ shape: [1], data: new Float32Array(1) }),
    Error,
    "call forward first",
  );
  const net = smallNet();
  assertThrows(
    () => net.forward({ shape: [1, 1, 28, 27], data: new Float32Array(28 * 27) }),
    RangeError,
  );
});
