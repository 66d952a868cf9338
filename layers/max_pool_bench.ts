// W4: max pool 2×2 stride 2 on [64,20,24,24] (float32). Baseline: the unfused formulation,
// im2col of each image followed by maxPoolColumns (the reference backend's maxPoolForward);
// against it the fast maxPoolForward (one fused pass through the table, on the WebAssembly SIMD
// kernel for this float32 2×2/2 pool) and the MaxPool2D class (reused outputs), with and without
// the SIMD kernel.

import { MaxPool2D, maxPoolBackward, maxPoolForward } from "../mod.ts";
import { onReference, rand } from "./_bench_util.ts";
import { forceKernels } from "../kernels/fast/dispatch.ts";

const x = rand([64, 20, 24, 24]), dy = rand([64, 20, 12, 12]);
const layer = new MaxPool2D({ size: 2 });

Deno.bench("W4 reference: im2col + maxPoolColumns per image", {
  group: "W4 fwd",
  baseline: true,
}, () => {
  onReference(() => maxPoolForward(x, { size: 2 }));
});
Deno.bench("W4 maxPoolForward (fresh outputs)", { group: "W4 fwd" }, () => {
  maxPoolForward(x, { size: 2 });
});
Deno.bench("W4 MaxPool2D.forward", { group: "W4 fwd" }, () => {
  layer.forward(x);
});
Deno.bench("W4 MaxPool2D.forward, TypeScript kernel (no WebAssembly)", { group: "W4 fwd" }, () => {
  forceKernels({ maxPool: "four" });
  try {
    layer.forward(x);
  } finally {
    forceKernels(null);
  }
});
Deno.bench("W4 fwd+bwd (reference backend)", { group: "W4 fwd+bwd" }, () => {
  onReference(() => maxPoolBackward(dy, maxPoolForward(x, { size: 2 }).cache));
});
Deno.bench("W4 fwd+bwd (fresh outputs)", { group: "W4 fwd+bwd", baseline: true }, () => {
  maxPoolBackward(dy, maxPoolForward(x, { size: 2 }).cache);
});
Deno.bench("W4 fwd+bwd (MaxPool2D)", { group: "W4 fwd+bwd" }, () => {
  layer.forward(x);
  layer.backward(dy);
});

// Max pooling with padding: ResNet's stem pool, 3×3 windows at stride 2 with padding 1, on a
// [64,20,24,24] float32 batch (-> [64,20,12,12]). The reference (im2col with −∞ in the padding,
// then maxPoolColumns) against the fast clipped-window kernel, and the unpadded 3×3/2 pool
// (-> [64,20,11,11]) on the table kernel for comparison.
const stem = { size: 3, stride: 2, padding: 1 };
const dyStem = rand([64, 20, 12, 12]);
const stemLayer = new MaxPool2D(stem);

Deno.bench("padded 3×3/2 pad 1, reference backend", { group: "padded fwd", baseline: true }, () => {
  onReference(() => maxPoolForward(x, stem));
});
Deno.bench("padded 3×3/2 pad 1, fast (clipped windows)", { group: "padded fwd" }, () => {
  maxPoolForward(x, stem);
});
Deno.bench("padded 3×3/2 pad 1, MaxPool2D.forward", { group: "padded fwd" }, () => {
  stemLayer.forward(x);
});
Deno.bench("unpadded 3×3/2, fast (table kernel), for comparison", { group: "padded fwd" }, () => {
  maxPoolForward(x, { size: 3, stride: 2 });
});
Deno.bench("padded 3×3/2 pad 1 fwd+bwd, reference backend", {
  group: "padded fwd+bwd",
  baseline: true,
}, () => {
  onReference(() => maxPoolBackward(dyStem, maxPoolForward(x, stem).cache));
});
Deno.bench("padded 3×3/2 pad 1 fwd+bwd (MaxPool2D)", { group: "padded fwd+bwd" }, () => {
  stemLayer.forward(x);
  stemLayer.backward(dyStem);
});
