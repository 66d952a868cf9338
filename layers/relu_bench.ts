// ReLU on [64,20,24,24] (float32): fresh outputs against the ReLU class's reused buffers and the
// reference backend (a select per element, fresh outputs); and the forward loops alone: the
// reference's select, which V8 compiles to a branch that random signs mispredict, the fast
// path's exact branch-free arithmetic, and the cheaper v·[v > 0] an earlier version used (it gave
// −0 for a negative input, where PyTorch gives +0).

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

const X = x.data as Float32Array, Y = new Float32Array(X.length);
Deno.bench("relu fwd loop: select x < 0 ? 0 : x", { group: "relu loop", baseline: true }, () => {
  for (let i = 0; i < X.length; i++) Y[i] = X[i] < 0 ? 0 : X[i];
});
Deno.bench("relu fwd loop: m·v − (m − 1)·0 (exact, the fast path)", { group: "relu loop" }, () => {
  for (let i = 0; i < X.length; i++) {
    const v = X[i], m = +!(v < 0);
    const r = v * m - (m - 1) * 0;
    Y[i] = r === r || v !== v ? r : 0;
  }
});
Deno.bench("relu fwd loop: v·[v > 0] (−0 for negatives)", { group: "relu loop" }, () => {
  for (let i = 0; i < X.length; i++) {
    const v = X[i], r = v * +(v > 0);
    Y[i] = r === r || v !== v ? r : 0;
  }
});
