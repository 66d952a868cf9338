// Softmax cross-entropy on [64,10] logits (float32), and softmax alone.

import { softmax, softmaxCrossEntropy } from "../mod.ts";
import { rand } from "./_bench_util.ts";

const logits = rand([64, 10]);
const labels = Array.from({ length: 64 }, (_, i) => i % 10);

Deno.bench("softmaxCrossEntropy [64,10]", { group: "softmax", baseline: true }, () => {
  softmaxCrossEntropy(logits, labels);
});
Deno.bench("softmax [64,10]", { group: "softmax" }, () => {
  softmax(logits);
});
