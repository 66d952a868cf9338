// Where a data-parallel step's time goes (docs/performance.md, "Training on several cores"): the
// workers' part (one shard's forward and backward), the main thread's serial part (the reduction
// in shard order, the Adam step, copying the parameters for the next step), the messages (a step
// of a network with almost nothing to compute), and whole steps with 1 and 2 workers. The small
// net (55,098 parameters), batch 16 in 2 shards of 8: the default run. Timing only, no asserts.
//
//   deno bench --allow-read training/parallel_bench.ts

import { DataParallel } from "./parallel.ts";
import { gatherParams, reduceShards, Replica } from "./_parallel_shard.ts";
import { buildNetwork, SMALL_NET } from "../network/models.ts";
import { Adam } from "../optim/adam.ts";
import { mulberry32 } from "../random.ts";

const rng = mulberry32(3);
const batch = (n: number) => ({
  x: { shape: [n, 1, 28, 28], data: Float32Array.from({ length: n * 784 }, () => rng() - 0.3) },
  labels: Uint8Array.from({ length: n }, () => Math.floor(rng() * 10)),
});
const b16 = batch(16), b8 = batch(8);

const replica = new Replica(SMALL_NET, "float32");
const L = replica.layout.paramLength;
const grads = [new Float32Array(L), new Float32Array(L)];
const noBuffers = { floats: new Float64Array(0), ints: new BigInt64Array(0) };
const where = { step: 0, shard: 0, seed: 0, buffers: noBuffers };
Deno.bench("worker: forward + backward of a shard of 8", { group: "parts" }, () => {
  replica.shard(b8.x, b8.labels, where, grads[0]);
});
Deno.bench("one thread: forward + backward of the batch of 16", { group: "parts" }, () => {
  replica.shard(b16.x, b16.labels, where, grads[0]);
});
const net = buildNetwork(SMALL_NET, { seed: 1 });
const params = net.params();
Deno.bench("main: reduce 2 shards (55,098 parameters)", { group: "parts" }, () => {
  reduceShards(params, grads, [8, 8], 16);
});
const adam = new Adam(params, { lr: 1e-9 });
Deno.bench("main: Adam step (55,098 parameters)", { group: "parts" }, () => {
  adam.step();
});
const flat = new Float32Array(L);
Deno.bench("main: copy the parameters out (55,098)", { group: "parts" }, () => {
  gatherParams(params, flat, "value");
});

const trainers: DataParallel[] = [];
// the benches run after this module's top level: stop the workers when the process unloads
globalThis.addEventListener("unload", () => trainers.forEach((dp) => void dp.close()));
for (const workers of [1, 2]) {
  const dp = await DataParallel.create(SMALL_NET, { workers, shards: 2, seed: 1 });
  trainers.push(dp);
  const opt = new Adam(dp.net.params(), { lr: 1e-9 });
  Deno.bench(`DataParallel.step, ${workers} worker(s), batch 16 in 2 shards`, {
    group: "step",
    baseline: workers === 1,
  }, async () => {
    await dp.step(b16, opt);
  });
}
// messages and bookkeeping alone: a network with 2×4 + 2 parameters and 4 pixels per image
const tiny = [{ type: "flatten" as const }, { type: "fc" as const, inFeatures: 4, outFeatures: 2 }];
const tx = { shape: [16, 1, 2, 2], data: new Float32Array(64) };
for (const workers of [1, 2]) {
  const dp = await DataParallel.create(tiny, { workers, shards: 2 });
  trainers.push(dp);
  const opt = new Adam(dp.net.params(), { lr: 1e-9 });
  Deno.bench(`DataParallel.step of a 10-parameter net, ${workers} worker(s): messages`, {
    group: "messages",
  }, async () => {
    await dp.step({ x: tx, labels: b16.labels.map((l) => l % 2) }, opt);
  });
}
