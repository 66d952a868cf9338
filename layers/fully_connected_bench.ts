// W5: fully connected 800→500 on a batch of 64 (float32), forward and forward+backward.
// Baseline: the functional call on the fast backend with fresh outputs; against it the
// FullyConnected class, and the reference backend.

import { fcBackward, fcForward, FullyConnected } from "../mod.ts";
import { onReference, rand } from "./_bench_util.ts";

const x = rand([64, 800]), w = rand([500, 800]), b = rand([500]), dy = rand([64, 500]);
const layer = new FullyConnected({ inFeatures: 800, outFeatures: 500 });

Deno.bench("W5 fc fwd (fresh outputs)", { group: "W5 fc fwd", baseline: true }, () => {
  fcForward(x, w, b);
});
Deno.bench("W5 fc fwd (FullyConnected)", { group: "W5 fc fwd" }, () => {
  layer.forward(x);
});
Deno.bench("W5 fc fwd+bwd (fresh outputs)", { group: "W5 fc fwd+bwd", baseline: true }, () => {
  fcBackward(dy, fcForward(x, w, b).cache);
});
Deno.bench("W5 fc fwd+bwd (FullyConnected)", { group: "W5 fc fwd+bwd" }, () => {
  layer.forward(x);
  layer.backward(dy);
});
Deno.bench("W5 fc fwd+bwd (reference backend)", { group: "W5 fc fwd+bwd", n: 5 }, () => {
  onReference(() => fcBackward(dy, fcForward(x, w, b).cache));
});
