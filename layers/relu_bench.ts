// ReLU on [64,20,24,24] (float32): fresh outputs against the ReLU class's reused buffers, and the
// reference backend's plain select (one branch per element) against the fast branch-free loop.

import { ReLU, reluBackward, reluForward } from "../mod.ts";
import { onReference, rand } from "./_bench_util.ts";

const x = rand([64, 20, 24, 24]), dy = rand([64, 20, 24, 24]);
const layer = new ReLU();

Deno.bench("relu fwd+bwd (fresh outputs)", { group: "relu", baseline: true }, () => {
  reluBackward(dy, reluForward(x).cache);
});
Deno.bench("relu fwd+bwd (ReLU)", { group: "relu" }, () => {
  layer.forward(x);
  layer.backward(dy);
});
Deno.bench("relu fwd+bwd (reference backend)", { group: "relu" }, () => {
  onReference(() => reluBackward(dy, reluForward(x).cache));
});
