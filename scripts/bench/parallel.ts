// Images per second of the data-parallel trainer against the one-thread loop, on the real MNIST
// digits, in one process so the runs share the machine's state: trainEpoch (one thread), then
// DataParallel with each worker count (same shards, so every run computes the same numbers), and
// the parallel evaluation of the 10,000 test images. A measurement, never an assertion.
//
//   deno run --allow-read scripts/bench/parallel.ts [--model small] [--images 4000]
//     [--batch-size 16] [--shards 2] [--workers 1,2] [--memory auto] [--json]

import { MODELS } from "../../network/models.ts";
import { buildNetwork } from "../../network/models.ts";
import { firstImages, pixelStats } from "../../data/batches.ts";
import { Adam } from "../../optim/adam.ts";
import { mulberry32 } from "../../random.ts";
import { evaluate, trainEpoch } from "../../training/loop.ts";
import { DataParallel } from "../../training/parallel.ts";
import { loadMnist } from "../_mnist.ts";
import { choiceFlag, integerFlag, parseFlags } from "../_cli.ts";

const values = parseFlags(Deno.args, {
  model: { type: "string" },
  images: { type: "string" },
  "batch-size": { type: "string" },
  shards: { type: "string" },
  workers: { type: "string" },
  memory: { type: "string" },
  json: { type: "boolean" },
});
const model = choiceFlag("model", values.model, "small", Object.keys(MODELS));
const images = integerFlag("images", values.images, 4000, { min: 1 });
const batchSize = integerFlag("batch-size", values["batch-size"], 16, { min: 1 });
const shards = integerFlag("shards", values.shards, 2, { min: 1 });
const memory = choiceFlag("memory", values.memory, "auto", ["auto", "shared", "transfer"]);
const workerCounts = String(values.workers ?? "1,2").split(",").map(Number);

const mnist = await loadMnist();
const train = firstImages(mnist.train, images);
const norm = pixelStats(mnist.train);
const spec = MODELS[model];
const rows: { run: string; imagesPerSecond: number; evalImagesPerSecond: number }[] = [];

{
  const net = buildNetwork(spec, { seed: 1 });
  const optimizer = new Adam(net.params(), { lr: 0.002 });
  const t0 = performance.now();
  trainEpoch(net, train, { batchSize, norm, rng: mulberry32(2), optimizer });
  const t1 = performance.now();
  evaluate(net, mnist.test, { norm });
  const t2 = performance.now();
  rows.push({
    run: "trainEpoch (main thread)",
    imagesPerSecond: train.count / ((t1 - t0) / 1000),
    evalImagesPerSecond: mnist.test.count / ((t2 - t1) / 1000),
  });
}
let mode = "";
for (const workers of workerCounts) {
  const dp = await DataParallel.create(spec, { workers, shards, seed: 1, memory });
  mode = dp.memory;
  try {
    const optimizer = new Adam(dp.net.params(), { lr: 0.002 });
    const t0 = performance.now();
    await dp.trainEpoch(train, { batchSize, norm, rng: mulberry32(2), optimizer });
    const t1 = performance.now();
    await dp.evaluate(mnist.test, { norm });
    const t2 = performance.now();
    rows.push({
      run: `DataParallel ${workers} worker${workers === 1 ? "" : "s"}`,
      imagesPerSecond: train.count / ((t1 - t0) / 1000),
      evalImagesPerSecond: mnist.test.count / ((t2 - t1) / 1000),
    });
  } finally {
    await dp.close();
  }
}
if (values.json) {
  console.log(JSON.stringify({ model, images, batchSize, shards, memory: mode, rows }));
} else {
  console.log(
    `${model}, ${images} images, batch ${batchSize}, ${shards} shards, memory ${mode}, ` +
      `${navigator.hardwareConcurrency} hardware threads`,
  );
  const base = rows[0].imagesPerSecond;
  for (const r of rows) {
    console.log(
      `${r.run.padEnd(28)} train ${r.imagesPerSecond.toFixed(0).padStart(6)} img/s ` +
        `(${(r.imagesPerSecond / base).toFixed(2)}×)   test ${
          r.evalImagesPerSecond.toFixed(0).padStart(6)
        } img/s`,
    );
  }
}
