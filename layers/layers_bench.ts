// Every layer, forward and forward+backward, on the workloads of the performance issue
// (float32, batch 64 unless noted): W1 conv 1→20 5×5 on 28×28, W2 conv 20→50 5×5 on 12×12,
// W3 conv 64→64 3×3 pad 1 on 32×32 (batch 32), W4 max-pool 2×2/2 on [64,20,24,24],
// W5 fully connected 800→500, plus ReLU and softmax cross-entropy. The float64 rows show the
// cost of the reference precision.

import {
  convBackward,
  convForward,
  fcBackward,
  fcForward,
  maxPoolBackward,
  maxPoolForward,
  reluBackward,
  reluForward,
  softmaxCrossEntropy,
  type Tensor,
} from "../mod.ts";
import { randomArray, rngFor } from "../tests/_random.ts";

const rng = rngFor(4);
function rand(shape: number[], Type: Float32ArrayConstructor | Float64ArrayConstructor): Tensor {
  return { shape, data: randomArray(rng, shape.reduce((a, b) => a * b, 1), Type) };
}

const convs = [
  { name: "W1 conv 1→20 5x5 28x28", x: [64, 1, 28, 28], w: [20, 1, 5, 5], padding: 0 },
  { name: "W2 conv 20→50 5x5 12x12", x: [64, 20, 12, 12], w: [50, 20, 5, 5], padding: 0 },
  { name: "W3 conv 64→64 3x3 p1 32x32 (N=32)", x: [32, 64, 32, 32], w: [64, 64, 3, 3], padding: 1 },
];
for (const Type of [Float32Array, Float64Array]) {
  const t = Type === Float32Array ? "f32" : "f64";
  for (const c of convs) {
    if (t === "f64" && c.name.startsWith("W3")) continue; // keep the run short
    const x = rand(c.x, Type), w = rand(c.w, Type), b = rand([c.w[0]], Type);
    const { y, cache } = convForward(x, w, b, { padding: c.padding });
    const dy = rand([...y.shape], Type);
    Deno.bench(`${c.name} fwd ${t}`, { group: `${c.name} ${t}` }, () => {
      convForward(x, w, b, { padding: c.padding });
    });
    Deno.bench(`${c.name} fwd+bwd ${t}`, { group: `${c.name} ${t}` }, () => {
      convForward(x, w, b, { padding: c.padding });
      convBackward(dy, cache);
    });
  }
}

{
  const x = rand([64, 800], Float32Array), w = rand([500, 800], Float32Array);
  const b = rand([500], Float32Array), dy = rand([64, 500], Float32Array);
  const { cache } = fcForward(x, w, b);
  Deno.bench("W5 fc 800→500 fwd f32", { group: "W5 fc" }, () => {
    fcForward(x, w, b);
  });
  Deno.bench("W5 fc 800→500 fwd+bwd f32", { group: "W5 fc" }, () => {
    fcForward(x, w, b);
    fcBackward(dy, cache);
  });
}

{
  const x = rand([64, 20, 24, 24], Float32Array), dy = rand([64, 20, 12, 12], Float32Array);
  const { cache } = maxPoolForward(x, { size: 2 });
  Deno.bench("W4 maxpool 2x2/2 fwd f32", { group: "W4 maxpool" }, () => {
    maxPoolForward(x, { size: 2 });
  });
  Deno.bench("W4 maxpool 2x2/2 fwd+bwd f32", { group: "W4 maxpool" }, () => {
    maxPoolForward(x, { size: 2 });
    maxPoolBackward(dy, cache);
  });
}

{
  const x = rand([64, 20, 24, 24], Float32Array), dy = rand([64, 20, 24, 24], Float32Array);
  const { cache } = reluForward(x);
  Deno.bench("relu [64,20,24,24] fwd+bwd f32", { group: "relu" }, () => {
    reluForward(x);
    reluBackward(dy, cache);
  });
  const logits = rand([64, 10], Float32Array);
  const labels = Array.from({ length: 64 }, (_, i) => i % 10);
  Deno.bench("softmaxCrossEntropy [64,10] f32", { group: "softmax" }, () => {
    softmaxCrossEntropy(logits, labels);
  });
}
