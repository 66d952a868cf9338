// Average pooling, float32, reference backend (im2col of each image, then the column means;
// backward addAt of dy/|window| through the table) against the fast one (sums straight from the
// image, no x_col), forward and forward + backward:
// - 2×2/2 on W4's [64,20,24,24] (the max-pool workload, for comparison with max pooling);
// - 3×3 at stride 1 with padding 1, not counting the padding, on [64,20,24,24] (a blur that keeps
//   the size: overlapping windows);
// - global average pooling of [64,64,7,7] (the head of a small modern CNN), and of the larger
//   [64,128,14,14].

import { AvgPool2D, avgPoolBackward, avgPoolForward, GlobalAvgPool2D } from "../mod.ts";
import { onReference, rand } from "./_bench_util.ts";

const x = rand([64, 20, 24, 24]);
const dy2 = rand([64, 20, 12, 12]), dy3 = rand([64, 20, 24, 24]);
const two = { size: 2 }, blur = { size: 3, stride: 1, padding: 1, countIncludePad: false };
const twoLayer = new AvgPool2D(two), blurLayer = new AvgPool2D(blur);

Deno.bench(
  "2×2/2 [64,20,24,24], reference backend",
  { group: "avg 2x2 fwd", baseline: true },
  () => {
    onReference(() => avgPoolForward(x, two));
  },
);
Deno.bench("2×2/2 [64,20,24,24], fast (direct)", { group: "avg 2x2 fwd" }, () => {
  avgPoolForward(x, two);
});
Deno.bench("2×2/2 [64,20,24,24], AvgPool2D.forward", { group: "avg 2x2 fwd" }, () => {
  twoLayer.forward(x);
});
Deno.bench("2×2/2 fwd+bwd, reference backend", { group: "avg 2x2 fwd+bwd", baseline: true }, () => {
  onReference(() => avgPoolBackward(dy2, avgPoolForward(x, two).cache));
});
Deno.bench("2×2/2 fwd+bwd (AvgPool2D)", { group: "avg 2x2 fwd+bwd" }, () => {
  twoLayer.forward(x);
  twoLayer.backward(dy2);
});

Deno.bench("3×3/1 pad 1 [64,20,24,24], reference backend", {
  group: "avg 3x3 fwd",
  baseline: true,
}, () => {
  onReference(() => avgPoolForward(x, blur));
});
Deno.bench("3×3/1 pad 1 [64,20,24,24], AvgPool2D.forward", { group: "avg 3x3 fwd" }, () => {
  blurLayer.forward(x);
});
Deno.bench("3×3/1 pad 1 fwd+bwd, reference backend", {
  group: "avg 3x3 fwd+bwd",
  baseline: true,
}, () => {
  onReference(() => avgPoolBackward(dy3, avgPoolForward(x, blur).cache));
});
Deno.bench("3×3/1 pad 1 fwd+bwd (AvgPool2D)", { group: "avg 3x3 fwd+bwd" }, () => {
  blurLayer.forward(x);
  blurLayer.backward(dy3);
});

for (const shape of [[64, 64, 7, 7], [64, 128, 14, 14]]) {
  const xg = rand(shape), dyg = rand([shape[0], shape[1], 1, 1]), gap = new GlobalAvgPool2D();
  const size: [number, number] = [shape[2], shape[3]], name = `[${shape}]`;
  Deno.bench(`global ${name}, reference backend`, { group: `gap ${name}`, baseline: true }, () => {
    onReference(() => avgPoolForward(xg, { size }));
  });
  Deno.bench(`global ${name}, GlobalAvgPool2D.forward (fast)`, { group: `gap ${name}` }, () => {
    gap.forward(xg);
  });
  Deno.bench(`global ${name} fwd+bwd, reference backend`, {
    group: `gap ${name} fwd+bwd`,
    baseline: true,
  }, () => {
    onReference(() => avgPoolBackward(dyg, avgPoolForward(xg, { size }).cache));
  });
  Deno.bench(`global ${name} fwd+bwd (GlobalAvgPool2D)`, { group: `gap ${name} fwd+bwd` }, () => {
    gap.forward(xg);
    gap.backward(dyg);
  });
}
