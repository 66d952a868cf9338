// Transposed convolution forward and forward+backward on an MNIST decoder's shapes (float32,
// batch 32): T1 the latent 32×1×1 -> 64×7×7 (kernel 7: the stamp is the whole output, one GEMM
// for the batch), T2 64×7×7 -> 32×14×14 (kernel 4, stride 2, padding 1), T3 32×14×14 -> 1×28×28
// (the same), T4 as T2 with kernel 3, padding 1, outputPadding 1 (the uneven overlap). Baseline:
// the functional call on the fast backend with fresh output arrays; against it the same call
// with a workspace, the ConvTranspose2D class, and the reference backend (the readable loops).

import { ConvTranspose2D, convTransposeBackward, convTransposeForward } from "../mod.ts";
import { onReference, rand } from "./_bench_util.ts";

const cases = [
  { name: "T1 convT 32→64 7x7 1x1→7x7", x: [32, 32, 1, 1], w: [32, 64, 7, 7], opts: {} },
  {
    name: "T2 convT 64→32 4x4 s2 p1 7x7→14x14",
    x: [32, 64, 7, 7],
    w: [64, 32, 4, 4],
    opts: { stride: 2, padding: 1 },
  },
  {
    name: "T3 convT 32→1 4x4 s2 p1 14x14→28x28",
    x: [32, 32, 14, 14],
    w: [32, 1, 4, 4],
    opts: { stride: 2, padding: 1 },
  },
  {
    name: "T4 convT 64→32 3x3 s2 p1 op1 7x7→14x14",
    x: [32, 64, 7, 7],
    w: [64, 32, 3, 3],
    opts: { stride: 2, padding: 1, outputPadding: 1 },
  },
];

for (const c of cases) {
  const x = rand(c.x), w = rand(c.w), b = rand([c.w[1]]);
  const { y } = convTransposeForward(x, w, b, c.opts);
  const dy = rand([...y.shape]);
  const layer = new ConvTranspose2D({
    inChannels: c.w[0],
    outChannels: c.w[1],
    size: [c.w[2], c.w[3]],
    ...c.opts,
  });
  const f = `${c.name} fwd`, g = `${c.name} fwd+bwd`;
  Deno.bench(`${c.name} fwd (fresh outputs)`, { group: f, baseline: true }, () => {
    convTransposeForward(x, w, b, c.opts);
  });
  Deno.bench(`${c.name} fwd (ConvTranspose2D)`, { group: f }, () => {
    layer.forward(x);
  });
  Deno.bench(`${c.name} fwd (reference backend)`, { group: f, n: 5, warmup: 1 }, () => {
    onReference(() => convTransposeForward(x, w, b, c.opts));
  });
  Deno.bench(`${c.name} fwd+bwd (fresh outputs)`, { group: g, baseline: true }, () => {
    convTransposeBackward(dy, convTransposeForward(x, w, b, c.opts).cache);
  });
  Deno.bench(`${c.name} fwd+bwd (ConvTranspose2D)`, { group: g }, () => {
    layer.forward(x);
    layer.backward(dy);
  });
  Deno.bench(`${c.name} fwd+bwd (reference backend)`, { group: g, n: 3, warmup: 1 }, () => {
    onReference(() => convTransposeBackward(dy, convTransposeForward(x, w, b, c.opts).cache));
  });
}
