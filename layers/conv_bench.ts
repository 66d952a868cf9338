// Convolution forward and forward+backward on the performance issue's workloads (float32):
// W1 conv 1→20 5×5 on 28×28, W2 conv 20→50 5×5 on 12×12 (batch 64), W3 conv 64→64 3×3 pad 1
// on 32×32 (batch 32). Baseline: the functional call on the fast backend with fresh output
// arrays; against it the same call with a workspace, the Conv2D class (which also keeps x_col
// for backward), float64, and the reference backend (W1 and W2: the readable loops are slow).

import { Conv2D, convBackward, convForward, type Tensor, Workspace } from "../mod.ts";
import { onReference, rand } from "./_bench_util.ts";

const convs = [
  { name: "W1 conv 1→20 5x5 28x28", x: [64, 1, 28, 28], w: [20, 1, 5, 5], padding: 0 },
  { name: "W2 conv 20→50 5x5 12x12", x: [64, 20, 12, 12], w: [50, 20, 5, 5], padding: 0 },
  { name: "W3 conv 64→64 3x3 p1 32x32 N=32", x: [32, 64, 32, 32], w: [64, 64, 3, 3], padding: 1 },
];

for (const c of convs) {
  const x = rand(c.x), w = rand(c.w), b = rand([c.w[0]]);
  const { y, cache } = convForward(x, w, b, { padding: c.padding });
  const dy = rand([...y.shape]);
  const layer = new Conv2D({
    inChannels: c.w[1],
    outChannels: c.w[0],
    size: [c.w[2], c.w[3]],
    padding: c.padding,
  });
  const g = `${c.name} fwd+bwd`;
  Deno.bench(`${c.name} fwd (fresh outputs)`, { group: `${c.name} fwd`, baseline: true }, () => {
    convForward(x, w, b, { padding: c.padding });
  });
  const workspace = new Workspace();
  Deno.bench(`${c.name} fwd (workspace, training: false)`, { group: `${c.name} fwd` }, () => {
    convForward(x, w, b, { padding: c.padding, workspace, training: false });
  });
  Deno.bench(`${c.name} fwd (Conv2D)`, { group: `${c.name} fwd` }, () => {
    layer.forward(x);
  });
  Deno.bench(`${c.name} fwd+bwd (fresh outputs)`, { group: g, baseline: true }, () => {
    convBackward(dy, convForward(x, w, b, { padding: c.padding }).cache);
  });
  Deno.bench(`${c.name} fwd+bwd (Conv2D)`, { group: g }, () => {
    layer.forward(x);
    layer.backward(dy);
  });
  if (!c.name.startsWith("W3")) {
    Deno.bench(`${c.name} fwd+bwd (reference backend)`, { group: g, n: 3, warmup: 1 }, () => {
      onReference(() => convBackward(dy, convForward(x, w, b, { padding: c.padding }).cache));
    });
    const x64 = rand(c.x, Float64Array), w64 = rand(c.w, Float64Array);
    const b64 = rand([c.w[0]], Float64Array);
    const dy64: Tensor = { shape: dy.shape, data: Float64Array.from(dy.data) };
    Deno.bench(`${c.name} fwd+bwd float64 (fresh outputs)`, { group: g }, () => {
      convBackward(dy64, convForward(x64, w64, b64, { padding: c.padding }).cache);
    });
  }
  void cache;
}
