import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import type { Param } from "../layers/layer.ts";
import { SGD } from "./sgd.ts";
import { Adam } from "./adam.ts";
import { cosineSchedule, stepSchedule } from "./schedule.ts";

function param(values: number[], grads: number[], dtype = "float64"): Param {
  const from = (a: number[]) => dtype === "float32" ? Float32Array.from(a) : Float64Array.from(a);
  return {
    name: "p",
    value: { shape: [values.length], data: from(values) },
    grad: { shape: [grads.length], data: from(grads) },
  };
}

Deno.test("SGD: plain steps are θ − η·g, element by element", () => {
  const p = param([1, -2, 0], [0.5, -1, 4]);
  const opt = new SGD([p], { lr: 0.1 });
  opt.step();
  assertEquals(Array.from(p.value.data), [1 - 0.05, -2 + 0.1, 0 - 0.4]);
  assertEquals(opt.steps, 1);
});

Deno.test("SGD: three hand-worked steps with momentum 0.5 and weight decay 0.1", () => {
  // θ0 = 2, gradients 1, −1, 0.5 (given, not from a loss)
  // t1: g = 1 + 0.2 = 1.2;          v = 1.2;                     θ = 2 − 0.12 = 1.88
  // t2: g = −1 + 0.188 = −0.812;    v = 0.6 − 0.812 = −0.212;    θ = 1.88 + 0.0212 = 1.9012
  // t3: g = 0.5 + 0.19012 = 0.69012; v = −0.106 + 0.69012 = 0.58412; θ = 1.9012 − 0.058412
  const p = param([2], [1]);
  const opt = new SGD([p], { lr: 0.1, momentum: 0.5, weightDecay: 0.1 });
  const expected = [1.88, 1.9012, 1.842788];
  for (const [t, g] of [1, -1, 0.5].entries()) {
    p.grad.data[0] = g;
    opt.step();
    assertAlmostEquals(p.value.data[0], expected[t], 1e-12);
  }
});

Deno.test("SGD: Nesterov steps along g + μ·v", () => {
  // t1: v = 1, step g + 0.9·v = 1.9; t2: v = 0.9 + 1 = 1.9, step 1 + 1.71 = 2.71
  const p = param([0], [1]);
  const opt = new SGD([p], { lr: 1, momentum: 0.9, nesterov: true });
  opt.step();
  assertAlmostEquals(p.value.data[0], -1.9, 1e-12);
  opt.step();
  assertAlmostEquals(p.value.data[0], -1.9 - 2.71, 1e-12);
});

Deno.test("Adam: three hand-worked steps with weight decay, in float32", () => {
  // β1 = 0.9, β2 = 0.999, ε = 1e-8, λ = 0.01, η = 0.01, θ0 = 1, gradients 1, −2, 0.5; g = grad + λθ
  // t  g            m             v              m̂ = m/(1−β1^t)  v̂ = v/(1−β2^t)  θ −= η·m̂/(√v̂+ε)
  // 1  1.01         0.101         0.0010201      1.01             1.0201           0.9900000001
  // 2  −1.9901      −0.10811      0.0049795779   −0.569           2.49103447       0.9936051423
  // 3  0.50993605   −0.04630539   0.0052346331   −0.17086862      1.74662374       0.9948980354
  const p = param([1], [0], "float32");
  const opt = new Adam([p], { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 });
  const expected = [0.9900000001, 0.9936051423, 0.9948980354];
  for (const [t, grad] of [1, -2, 0.5].entries()) {
    p.grad.data[0] = grad;
    opt.step();
    // float32 parameters and state: a few ulps of 1 (6e-8 each) per step
    assertAlmostEquals(p.value.data[0], expected[t], 5e-7);
  }
  assertEquals(opt.steps, 3);
});

Deno.test("Adam: the first step moves every coordinate by lr, whatever its gradient's scale", () => {
  const p = param([0, 0, 0], [1e-4, -3, 1e4]);
  new Adam([p], { lr: 0.5, eps: 1e-12 }).step();
  for (const [i, s] of [-1, 1, -1].entries()) assertAlmostEquals(p.value.data[i], 0.5 * s, 1e-6);
});

Deno.test("optimisers: bad hyper-parameters and parameters are refused", () => {
  const p = param([1], [1]);
  assertThrows(() => new SGD([p], { lr: -1 }), RangeError, "SGD: lr must be a finite number ≥ 0");
  assertThrows(() => new SGD([p], { lr: 0.1, momentum: 1 }), RangeError, "momentum");
  assertThrows(() => new SGD([p], { lr: 0.1, nesterov: true }), RangeError, "nesterov");
  assertThrows(() => new Adam([p], { beta2: 1 }), RangeError, "beta2");
  assertThrows(() => new Adam([p], { eps: 0 }), RangeError, "eps");
  assertThrows(() => new Adam([p], { lr: NaN }), RangeError, "lr");
  const mismatch = { ...p, grad: { shape: [2], data: new Float64Array(2) } };
  assertThrows(
    () => new SGD([mismatch], { lr: 1 }),
    RangeError,
    "value [1] Float64Array but grad [2]",
  );
  const opt = new Adam([p]);
  opt.lr = -0.1;
  assertThrows(() => opt.step(), RangeError, "Adam.step: lr");
  assertEquals(p.value.data[0], 1); // nothing was written
});

Deno.test("cosineSchedule: warm-up, peak, monotone decay to minLr, then flat", () => {
  const lr = cosineSchedule({ lr: 1, totalSteps: 100, warmupSteps: 4, minLr: 0.1 });
  assertEquals([0, 1, 2, 3].map(lr), [0.25, 0.5, 0.75, 1]);
  for (let t = 4; t < 100; t++) {
    if (!(lr(t + 1) <= lr(t))) throw new Error(`not decreasing at ${t}`);
  }
  assertAlmostEquals(lr(52), 0.55, 1e-12); // halfway: the mean of 1 and 0.1
  assertAlmostEquals(lr(100), 0.1);
  assertAlmostEquals(lr(500), 0.1);
  assertThrows(() => cosineSchedule({ lr: 1, totalSteps: 10, warmupSteps: 10 }), RangeError);
  assertThrows(() => cosineSchedule({ lr: 1, totalSteps: 0 }), RangeError, "totalSteps");
});

Deno.test("stepSchedule: ×gamma every stepSize steps", () => {
  const lr = stepSchedule({ lr: 1, stepSize: 3 });
  assertEquals([0, 2, 3, 5, 6].map((t) => Number(lr(t).toPrecision(12))), [1, 1, 0.1, 0.1, 0.01]);
  assertThrows(() => stepSchedule({ lr: 1, stepSize: 1.5 }), RangeError, "stepSize");
  assertThrows(() => stepSchedule({ lr: 1, stepSize: 1, gamma: 2 }), RangeError, "gamma");
});
