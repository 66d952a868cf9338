// Does a checkpoint written by convprop load in PyTorch, and predict the same? Loads the file in
// convprop and (through scripts/check/pytorch_load.py, with Debian's /usr/bin/python3 and its
// python3-torch) in a torch.nn.Sequential, runs both on the first 100 MNIST test images, and
// compares: every predicted class must agree, and the probabilities within 1e-4 (both compute in
// float32, summing in different orders; a wrong weight layout would change them by far more).
//
//   deno run --allow-read --allow-run scripts/check/pytorch_load.ts [--load runs/small.safetensors]
//   deno run --allow-read --allow-run --allow-write scripts/check/pytorch_load.ts --batchnorm
//
// --batchnorm checks batch normalisation end to end instead: it trains a conv-BN-ReLU network
// (BN_CHECK below: BatchNorm2D after each convolution, BatchNorm1D after the hidden fully
// connected layer) for 100 steps on the first 6,400 training images, so the running statistics
// and num_batches_tracked have moved, writes its checkpoint to a temporary file, and compares as
// above: PyTorch must load running_mean, running_var and the int64 count with strict=True, and
// evaluation mode on both sides uses them.
//
// CI runs both forms (on a --model mobile checkpoint) where /usr/bin/python3 has torch.

import { parseArgs } from "node:util";
import { encodeCheckpoint, restoreCheckpoint } from "../../io/checkpoint.ts";
import { firstImages, makeBatch, pixelStats } from "../../data/batches.ts";
import { buildNetwork, type LayerSpec } from "../../network/models.ts";
import { SGD } from "../../optim/sgd.ts";
import { mulberry32 } from "../../random.ts";
import { trainEpoch } from "../../training/loop.ts";
import { loadMnist, MNIST_DIR } from "../_mnist.ts";

const COUNT = 100;
const TOLERANCE = 1e-4;

/** The --batchnorm network: 28 → 14 → 7 with a batch norm after each convolution and the hidden
 * fully connected layer (convolutions without bias, which a batch norm would cancel). */
const BN_CHECK: LayerSpec[] = [
  { type: "conv", inChannels: 1, outChannels: 8, size: 3, padding: 1, bias: false },
  { type: "batchnorm2d", features: 8 },
  { type: "relu" },
  { type: "maxpool", size: 2 },
  { type: "conv", inChannels: 8, outChannels: 16, size: 3, padding: 1, bias: false },
  { type: "batchnorm2d", features: 16 },
  { type: "relu" },
  { type: "maxpool", size: 2 },
  { type: "flatten" },
  { type: "fc", inFeatures: 16 * 7 * 7, outFeatures: 32 },
  { type: "batchnorm1d", features: 32 },
  { type: "relu" },
  { type: "fc", inFeatures: 32, outFeatures: 10 },
];

const { values } = parseArgs({
  args: Deno.args,
  options: {
    load: { type: "string", default: "runs/small.safetensors" },
    batchnorm: { type: "boolean", default: false },
  },
  strict: true,
});
const { train, test } = await loadMnist();
let path = values.load!;
if (values.batchnorm) {
  const set = firstImages(train, 6400), norm = pixelStats(train);
  const bnNet = buildNetwork(BN_CHECK, { seed: 1 });
  const optimizer = new SGD(bnNet.params(), { lr: 0.05, momentum: 0.9 });
  const stats = trainEpoch(bnNet, set, { batchSize: 64, norm, rng: mulberry32(2), optimizer });
  console.log(
    `trained BN_CHECK for 100 steps: loss ${stats.loss.toFixed(4)}, accuracy ` +
      `${(100 * stats.accuracy).toFixed(1)}%`,
  );
  path = await Deno.makeTempFile({ prefix: "convprop-bn-", suffix: ".safetensors" });
  await Deno.writeFile(path, encodeCheckpoint(bnNet, { spec: BN_CHECK, norm, model: "bn-check" }));
}
const { net, norm, metadata } = restoreCheckpoint(await Deno.readFile(path), path);
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
if (values.batchnorm) await Deno.remove(path); // the temporary checkpoint, read by both sides
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
