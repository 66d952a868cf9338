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
