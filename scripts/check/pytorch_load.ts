// Does a checkpoint written by convprop load in PyTorch, and predict the same? Loads the file in
// convprop and (through scripts/check/pytorch_load.py, with Debian's /usr/bin/python3 and its
// python3-torch) in a torch.nn.Sequential, runs both on the first 100 MNIST test images, and
// compares: every predicted class must agree, and the probabilities within 1e-4 (both compute in
// float32, summing in different orders; a wrong weight layout would change them by far more).
//
//   deno run --allow-read --allow-run scripts/check/pytorch_load.ts [--load runs/small.safetensors]
//
// Not part of CI (it needs torch); run once and recorded in the README.

import { parseArgs } from "node:util";
import { restoreCheckpoint } from "../../io/checkpoint.ts";
import { makeBatch } from "../../data/batches.ts";
import { loadMnist, MNIST_DIR } from "../_mnist.ts";

const COUNT = 100;
const TOLERANCE = 1e-4;

const { values } = parseArgs({
  args: Deno.args,
  options: { load: { type: "string", default: "runs/small.safetensors" } },
  strict: true,
});
const path = values.load!;
const { net, norm, metadata } = restoreCheckpoint(await Deno.readFile(path), path);
const { test } = await loadMnist();
const batch = makeBatch(test, Array.from({ length: COUNT }, (_, i) => i), { norm });
const ours = net.predict(batch.x);

const out = await new Deno.Command("/usr/bin/python3", {
  args: [
    new URL("pytorch_load.py", import.meta.url).pathname,
    path,
    MNIST_DIR + "t10k-images-idx3-ubyte",
    String(COUNT),
  ],
  stdout: "piped",
  stderr: "inherit",
}).output();
if (!out.success) {
  console.error("check pytorch_load: the PyTorch side failed (see above)");
  Deno.exit(1);
}
const theirs = JSON.parse(new TextDecoder().decode(out.stdout)) as {
  probs: number[][];
  torch: string;
};

const K = ours.shape[1];
let agree = 0, correct = 0, maxDiff = 0;
for (let n = 0; n < COUNT; n++) {
  const row = Array.from(ours.data.subarray(n * K, (n + 1) * K));
  const a = row.indexOf(Math.max(...row));
  const b = theirs.probs[n].indexOf(Math.max(...theirs.probs[n]));
  if (a === b) agree++;
  if (a === batch.labels[n]) correct++;
  for (let k = 0; k < K; k++) maxDiff = Math.max(maxDiff, Math.abs(row[k] - theirs.probs[n][k]));
}
console.log(
  `${path} ("${metadata["convprop.model"]}") in PyTorch ${theirs.torch}: ` +
    `${agree}/${COUNT} predictions agree with convprop (${correct}/${COUNT} correct), ` +
    `largest probability difference ${maxDiff.toExponential(2)}`,
);
if (agree !== COUNT || !(maxDiff <= TOLERANCE)) {
  console.error(
    `check pytorch_load: FAILED (need ${COUNT}/${COUNT} and a difference ≤ ${TOLERANCE})`,
  );
  Deno.exit(1);
}
console.log("check pytorch_load: OK");
