// The data-parallel trainer: the numbers do not depend on the number of workers (bitwise), one
// shard is the one-thread loop (bitwise), the parallel evaluation is the one-thread evaluation
// (bitwise), both memory modes agree, and a worker's failure rejects the call with its index and
// stops every worker (Deno's test sanitizers fail a test that leaves a worker or its ops behind).
// No tolerances: the same operations in the same order give the same bits (training/parallel.ts).

import { assert, assertEquals, assertInstanceOf, assertMatch, assertRejects } from "@std/assert";
import { DataParallel, DataParallelError } from "./parallel.ts";
import { evaluate, trainEpoch } from "./loop.ts";
import { buildNetwork, type LayerSpec } from "../network/models.ts";
import { Adam } from "../optim/adam.ts";
import { mulberry32 } from "../random.ts";
import { makeBatch, shuffledOrder } from "../data/batches.ts";
import type { LabelledImages } from "../data/idx.ts";
import type { Sequential } from "../network/sequential.ts";
import { shardBounds } from "./_parallel_shard.ts";

// conv → batch norm → relu → pool → dropout → fc: every kind of state a shard can touch
const SPEC: LayerSpec[] = [
  { type: "conv", inChannels: 1, outChannels: 3, size: 3 },
  { type: "batchnorm2d", features: 3 },
  { type: "relu" },
  { type: "maxpool", size: 2 },
  { type: "flatten" },
  { type: "dropout", p: 0.25 },
  { type: "fc", inFeatures: 12, outFeatures: 3 },
];
const NO_DROPOUT = SPEC.filter((s) => s.type !== "dropout");

/** 46 random 6×6 images, labels 0..2: batches of 10 leave a last batch of 6 (3 shards of 2, or
 * with 4 shards one of 1 and so on), and with 8 shards a batch of 6 has 2 empty shards. */
function dataset(count = 46): LabelledImages {
  const rng = mulberry32(11);
  return {
    images: Uint8Array.from({ length: count * 36 }, () => Math.floor(rng() * 256)),
    labels: Uint8Array.from({ length: count }, () => Math.floor(rng() * 3)),
    count,
    height: 6,
    width: 6,
  };
}
const NORM = { mean: 0.5, std: 0.29 };

/** Every parameter and buffer, as bits, by name. */
function state(net: Sequential): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of net.params()) out[p.name] = Array.from(p.value.data).join(",");
  for (const b of net.buffers()) out[b.name] = Array.from(b.value.data, String).join(",");
  return out;
}

async function trainParallel(
  spec: LayerSpec[],
  opts: { workers: number; shards: number; memory?: "shared" | "transfer"; epochs?: number },
): Promise<{ state: Record<string, string>; losses: number[] }> {
  const dp = await DataParallel.create(spec, { ...opts, seed: 3 });
  try {
    const optimizer = new Adam(dp.net.params(), { lr: 0.01 });
    const rng = mulberry32(5), losses: number[] = [];
    for (let e = 0; e < (opts.epochs ?? 2); e++) {
      await dp.trainEpoch(dataset(), {
        batchSize: 10,
        norm: NORM,
        rng,
        shift: 1,
        optimizer,
        onBatch: (p) => losses.push(p.loss),
      });
    }
    assertEquals(dp.steps, 5 * (opts.epochs ?? 2)); // ⌈46 / 10⌉ steps per epoch
    return { state: state(dp.net), losses };
  } finally {
    await dp.close();
  }
}

Deno.test("shardBounds: contiguous, sizes differ by at most one, empty shards only at the end", () => {
  for (const [B, S] of [[10, 3], [6, 4], [2, 3], [16, 2], [1, 1]]) {
    let end = 0;
    const sizes = [];
    for (let s = 0; s < S; s++) {
      const [a, b] = shardBounds(B, S, s);
      assertEquals(a, end);
      end = b;
      sizes.push(b - a);
    }
    assertEquals(end, B);
    assert(Math.max(...sizes) - Math.min(...sizes) <= 1);
    assertEquals(sizes, [...sizes].sort((x, y) => y - x));
  }
});

Deno.test("DataParallel: 1, 2 and 3 workers end with bit-identical parameters and buffers", async () => {
  // 6 shards: with 2 and 3 workers each worker computes several shards per step
  const one = await trainParallel(SPEC, { workers: 1, shards: 6 });
  for (const workers of [2, 3]) {
    const many = await trainParallel(SPEC, { workers, shards: 6 });
    assertEquals(many.state, one.state, `${workers} workers`);
    assertEquals(many.losses, one.losses, `${workers} workers`);
  }
  // the run moved: the parameters are not the initial ones, the running mean is not 0
  const initial = state(buildNetwork(SPEC, { seed: 3 }));
  assert(one.state["0.weight"] !== initial["0.weight"]);
  assert(one.state["1.running_mean"] !== initial["1.running_mean"]);
  assertEquals(one.state["1.num_batches_tracked"], "10"); // one per step (shard 0's), not per shard
});

Deno.test("DataParallel: shared memory and transferred buffers give the same bits", async () => {
  const shared = await trainParallel(SPEC, { workers: 2, shards: 4, memory: "shared", epochs: 1 });
  const transfer = await trainParallel(SPEC, {
    workers: 2,
    shards: 4,
    memory: "transfer",
    epochs: 1,
  });
  assertEquals(transfer.state, shared.state);
  assertEquals(transfer.losses, shared.losses);
});

Deno.test("DataParallel: more shards than images in a batch (empty trailing shards)", async () => {
  // batches of 10 and a last one of 6, in 8 shards: shards 6 and 7 of the last batch are empty
  const a = await trainParallel(NO_DROPOUT, { workers: 1, shards: 8, epochs: 1 });
  const b = await trainParallel(NO_DROPOUT, { workers: 3, shards: 8, epochs: 1 });
  assertEquals(b.state, a.state);
});

Deno.test("DataParallel: the shard count changes the numbers (it, not the workers, fixes them)", async () => {
  const two = await trainParallel(SPEC, { workers: 1, shards: 2, epochs: 1 });
  const three = await trainParallel(SPEC, { workers: 1, shards: 3, epochs: 1 });
  assert(two.state["0.weight"] !== three.state["0.weight"]);
});

Deno.test("DataParallel: one shard is trainEpoch, bit for bit (batch norm included)", async () => {
  const net = buildNetwork(NO_DROPOUT, { seed: 3 });
  const optimizer = new Adam(net.params(), { lr: 0.01 });
  const rng = mulberry32(5), losses: number[] = [];
  for (let e = 0; e < 2; e++) {
    trainEpoch(net, dataset(), {
      batchSize: 10,
      norm: NORM,
      rng,
      shift: 1,
      optimizer,
      onBatch: (p) => losses.push(p.loss),
    });
  }
  const parallel = await trainParallel(NO_DROPOUT, { workers: 1, shards: 1 });
  assertEquals(parallel.state, state(net));
  assertEquals(parallel.losses, losses);
});

Deno.test("DataParallel.evaluate equals evaluate bit for bit, for 1 to 3 workers", async () => {
  const test = dataset(1234);
  const net = buildNetwork(SPEC, { seed: 8 });
  const want = evaluate(net, test, { norm: NORM, batchSize: 100, classes: 3 });
  for (const workers of [1, 2, 3]) {
    const dp = await DataParallel.create(SPEC, { workers, shards: 3, net });
    try {
      const got = await dp.evaluate(test, { norm: NORM, batchSize: 100, classes: 3 });
      assertEquals(got, want, `${workers} workers`);
    } finally {
      await dp.close();
    }
  }
});

Deno.test("DataParallel: a worker's error rejects the call with its index and stops every worker", async () => {
  const set = dataset();
  // the first batch's shard 1 (worker 1 of 2) holds the image at order[1] (batch 2, 2 shards):
  // give it a label the 3-class network cannot have
  const order = shuffledOrder(set.count, mulberry32(5));
  set.labels[order[1]] = 7;
  const dp = await DataParallel.create(NO_DROPOUT, { workers: 2, shards: 2, seed: 3 });
  const before = state(dp.net);
  const optimizer = new Adam(dp.net.params(), { lr: 0.01 });
  const e = await assertRejects(
    () => dp.trainEpoch(set, { batchSize: 2, norm: NORM, rng: mulberry32(5), optimizer }),
    DataParallelError,
  );
  assertEquals(e.worker, 1);
  assertMatch(e.message, /^DataParallel: worker 1 failed: .*labels\[\d\] = 7/);
  assertInstanceOf(e.cause, Error);
  assertEquals((e.cause as Error).name, "RangeError");
  assertEquals(state(dp.net), before); // no step was taken: nothing half-done reached the network
  assertEquals(optimizer.steps, 0);
  await assertRejects(
    () => dp.evaluate(set, { norm: NORM, classes: 3 }),
    Error,
    "closed by an earlier failure",
  );
  await dp.close(); // idempotent; the workers were already stopped
});

Deno.test("DataParallel: a non-finite loss in the workers rejects the call", async () => {
  const dp = await DataParallel.create(NO_DROPOUT, { workers: 2, shards: 2, seed: 3 });
  dp.net.params()[0].value.data[0] = NaN;
  const optimizer = new Adam(dp.net.params(), { lr: 0.01 });
  const e = await assertRejects(
    () => dp.trainEpoch(dataset(), { batchSize: 4, norm: NORM, rng: mulberry32(5), optimizer }),
    DataParallelError,
  );
  assert(e.worker === 0 || e.worker === 1);
  assertMatch(e.message, /the loss is NaN in shard \d of step 1: training diverged/);
  await dp.close();
});

Deno.test("DataParallel: a worker module that does not load rejects create", async () => {
  await assertRejects(
    () =>
      DataParallel.create(NO_DROPOUT, {
        workers: 2,
        shards: 2,
        workerUrl: new URL("./no_such_worker.js", import.meta.url),
      }),
    DataParallelError,
  );
});

Deno.test("DataParallel: close() during a step rejects it; the network keeps the last step", async () => {
  const dp = await DataParallel.create(NO_DROPOUT, { workers: 2, shards: 2, seed: 3 });
  const optimizer = new Adam(dp.net.params(), { lr: 0.01 });
  let snapshot: Record<string, string> | undefined;
  const run = dp.trainEpoch(dataset(), {
    batchSize: 4,
    norm: NORM,
    rng: mulberry32(5),
    optimizer,
    onBatch(p) {
      if (p.batch === 2) {
        snapshot = state(dp.net);
        void dp.close();
      }
    },
  });
  await assertRejects(() => run, Error, "closed while a call was running");
  assertEquals(state(dp.net), snapshot);
  assertEquals(optimizer.steps, 2);
});

Deno.test("DataParallel.create refuses bad options before starting anything", async () => {
  await assertRejects(() => DataParallel.create(SPEC, { shards: 0 }), RangeError, "shards");
  await assertRejects(
    () => DataParallel.create(SPEC, { workers: 3, shards: 2 }),
    RangeError,
    "1 would idle",
  );
  await assertRejects(() => DataParallel.create(SPEC, { workers: 1.5 }), RangeError, "workers");
  await assertRejects(
    () => DataParallel.create(SPEC, { net: buildNetwork(NO_DROPOUT.slice(0, 1)) }),
    RangeError,
    "spec describes",
  );
});

Deno.test("DataParallel.step: a batch of one's own, the same bits for 1 and 3 workers", async () => {
  const set = dataset();
  const run = async (workers: number) => {
    const dp = await DataParallel.create(SPEC, { workers, shards: 3, seed: 3 });
    try {
      const optimizer = new Adam(dp.net.params(), { lr: 0.01 });
      const losses = [];
      for (let start = 0; start + 10 <= set.count; start += 10) {
        const indices = Array.from({ length: 10 }, (_, i) => start + i);
        const { x, labels } = makeBatch(set, indices, { norm: NORM });
        const r = await dp.step({ x, labels }, optimizer);
        assert(r.correct >= 0 && r.correct <= 10);
        losses.push(r.loss);
      }
      await assertRejects(
        () =>
          dp.step(
            { x: { shape: [2, 36], data: new Float32Array(72) }, labels: new Uint8Array(2) },
            optimizer,
          ),
        RangeError,
        "[B, C, H, W]",
      );
      return { state: state(dp.net), losses };
    } finally {
      await dp.close();
    }
  };
  const one = await run(1), three = await run(3);
  assertEquals(three, one);
  assertEquals(one.losses.length, 4);
  assert(one.losses.every(Number.isFinite));
});
