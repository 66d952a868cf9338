// The training view's engine in Deno: the Trainer (playground/_trainer.ts) on a slice of the
// real MNIST, training through DataParallel's workers, and the Worker
// (playground/train_worker.ts) end to end over its message protocol, with DataParallel's workers
// nested in it, reading the same gzipped subset files the site serves
// (scripts/playground/mnist_subset.ts).

import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import {
  Adam,
  buildNetwork,
  DataParallel,
  firstImages,
  type LayerSpec,
  makeBatch,
  mulberry32,
  pixelStats,
  restoreCheckpoint,
  shuffledOrder,
  SMALL_NET,
} from "../mod.ts";
import { loadMnist } from "../scripts/_mnist.ts";
import {
  MNIST_SUBSET,
  MNIST_SUBSET_FILES,
  mnistSubsetFiles,
} from "../scripts/playground/mnist_subset.ts";
import { checkSpec, MODEL_SPECS, SAMPLES, SHARDS, Trainer } from "./_trainer.ts";
import type { Reply } from "./_train_protocol.ts";

const mnist = await loadMnist();
const train = firstImages(mnist.train, 2000), test = firstImages(mnist.test, 200);

// a narrow net, so the test is quick on the reference backend too (the small net's 150 steps take
// two minutes there); the Trainer's loop is the same for every layer list
const NARROW: LayerSpec[] = [
  { type: "conv", inChannels: 1, outChannels: 4, size: 5, padding: 2 },
  { type: "relu" },
  { type: "maxpool", size: 4 },
  { type: "flatten" },
  { type: "fc", inFeatures: 4 * 7 * 7, outFeatures: 10 },
];

// the library's worker module, as the page's build ships it (playground/parallel_worker.ts)
const workerUrl = new URL("./parallel_worker.ts", import.meta.url);

Deno.test("Trainer: the loss falls within 150 steps, and the test set is evaluated", async () => {
  const t = await Trainer.create(train, test, { workers: 2, workerUrl });
  try {
    await trainsAndEvaluates(t);
  } finally {
    await t.close();
  }
});

async function trainsAndEvaluates(t: Trainer): Promise<void> {
  const info = await t.build(NARROW, "custom", { optimizer: "adam", lr: 0.01, batchSize: 16 });
  assertEquals(info.parallel, { workers: 2, shards: SHARDS, memory: "shared" }); // Deno: shared
  let first = NaN;
  while (t.step < 150) {
    const p = await t.trainFor(20);
    if (Number.isNaN(first) && p.step >= 10) first = p.loss;
  }
  const last = t.progress().loss;
  // ln 10 = 2.30 at the start; 150 steps of Adam on MNIST reach well under 1 (typically ~0.4)
  assert(last < first && last < 1, `running loss ${first} -> ${last}`);
  // the running accuracy is a share of the last 50 steps' images
  const acc = t.progress().accuracy;
  assert(acc > 0.5 && acc <= 1, `running accuracy ${acc}`);
  const r = await t.evaluate();
  assertEquals(r.count, 200);
  assertEquals(r.step, t.step);
  assertEquals(r.confusion.reduce((a, b) => a + b, 0), 200);
  assert(r.accuracy > 0.6, `test accuracy ${r.accuracy}`);
  assertEquals(r.samples.length, SAMPLES);
  assert(r.samples.every((s) => s.top.length === 3 && s.top[0][1] >= s.top[1][1]));
  // the diagonal of the confusion matrix is the accuracy's count
  let right = 0;
  for (let k = 0; k < 10; k++) right += r.confusion[k * 11];
  assertEquals(right, Math.round(r.accuracy * 200));
}

Deno.test("Trainer: K steps equal DataParallel.step's on the same batches, for 1 or 2 workers", async () => {
  // what the page does, written out with the library alone: the network of seed 1, Adam, the
  // batches of shuffledOrder(mulberry32(1)) in order, normalised by the data's statistics
  const K = 12, B = 8;
  const config = { optimizer: "adam" as const, lr: 0.01, batchSize: B };
  const norm = pixelStats(train);
  const net = buildNetwork(NARROW, { seed: 1 });
  const dp = await DataParallel.create(NARROW, { net, shards: SHARDS, workers: 1, seed: 1 });
  try {
    const optimizer = new Adam(net.params(), { lr: config.lr });
    const order = shuffledOrder(train.count, mulberry32(1));
    for (let k = 0; k < K; k++) {
      await dp.step(makeBatch(train, order.subarray(k * B, (k + 1) * B), { norm }), optimizer);
    }
  } finally {
    await dp.close();
  }
  for (const workers of [1, 2]) {
    const t = await Trainer.create(train, test, { workers, workerUrl });
    try {
      await t.build(NARROW, "custom", config);
      while (t.step < K) await t.trainFor(1, () => t.step >= K);
      assertEquals(t.parallel?.workers, workers);
      const got = t.net.params(), want = net.params();
      // the same float32 operations in the same order: bit for bit
      for (let i = 0; i < want.length; i++) assertEquals(got[i].value.data, want[i].value.data);
      // the first layer's gradient is the last step's batch gradient, which the optimiser used
      assertEquals(t.firstLayer()!.dw, Float32Array.from(want[0].grad.data));
    } finally {
      await t.close();
    }
  }
});

Deno.test("Trainer: a worker that fails stops training with its message, and a rebuild recovers", async () => {
  // a worker module that answers init, then throws at its first step
  const dir = await Deno.makeTempDir();
  const bad = `${dir}/bad_worker.js`;
  await Deno.writeTextFile(
    bad,
    `import ${JSON.stringify(workerUrl.href)};
let n = 0;
self.addEventListener("message", () => { if (++n > 1) throw new Error("injected failure"); });
`,
  );
  try {
    const t = await Trainer.create(train, test, {
      workers: 2,
      workerUrl: new URL(`file://${bad}`),
    });
    try {
      await t.build(NARROW, "custom", { optimizer: "adam", lr: 0.01, batchSize: 16 });
      const err = await t.trainFor(50).then(() => new Error("no failure"), (e: Error) => e);
      assert(err.message.includes("injected failure"), err.message);
      assert(err.message.includes("DataParallel: worker"), err.message);
      assertEquals(t.failure, err.message);
      assertEquals(t.parallel, null); // its workers are stopped
      await assertRejects(() => t.trainFor(10), Error, "rebuild the network");
      await assertRejects(() => t.evaluate(), Error, "injected failure");
      // the network stays readable: inspection and saving still work
      assertEquals(t.inspect(t.testImage(0)).probs.length, 10);
      assert(restoreCheckpoint(t.checkpoint()).net.params().length > 0);
      // a rebuild starts new workers (the same module: it fails again at its first step)
      await t.build(NARROW, "custom");
      assertEquals(t.failure, null);
      assertEquals(t.parallel?.workers, 2);
    } finally {
      await t.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Trainer: a saved checkpoint restores to the same predictions; inspect equals predict", async () => {
  const t = await Trainer.create(train, test, { workers: 2, workerUrl });
  await t.trainFor(200).finally(() => t.close());
  const bytes = t.checkpoint();
  const r = restoreCheckpoint(bytes);
  assertEquals(r.norm, t.dataNorm);
  const pixels = t.testImage(3);
  const seen = t.inspect(pixels);
  const set = { images: pixels, labels: new Uint8Array(1), count: 1, height: 28, width: 28 };
  const want = r.net.predict(makeBatch(set, [0], { norm: r.norm }).x);
  // the same float32 operations in the same order on the same weights: bit for bit
  assertEquals(seen.probs, want.data);
  assertEquals(seen.layers.length, SMALL_NET.length);
  assertEquals(seen.layers[0].shape, [1, 24, 28, 28]);
  const again = await Trainer.create(train, test, { workers: 1, workerUrl });
  try {
    const info = await again.restore(bytes, "page.safetensors");
    assertEquals(info.model, "small");
    assertEquals(info.parallel?.workers, 1);
    assertEquals(again.inspect(pixels).probs, seen.probs);
    // the restored weights are what DataParallel trains on: one more step changes them
    const before = Float32Array.from(again.net.params()[0].value.data);
    await again.trainFor(0);
    assertEquals(again.step, 1);
    assert(again.net.params()[0].value.data.some((v, i) => v !== before[i]));
  } finally {
    await again.close();
  }
});

Deno.test("Trainer: LeNet-5 and the batch-norm mobile net train with their CLI defaults", async () => {
  const t = await Trainer.create(train, test, { workers: 2, workerUrl });
  try {
    for (const model of ["lenet5", "mobile"]) {
      const info = await t.build(MODEL_SPECS[model], model);
      assertEquals(info.config.lr, model === "mobile" ? 0.01 : 0.002);
      assertEquals(info.params, model === "mobile" ? 21226 : 61706);
      await t.trainFor(1); // at least one step
      const first = t.firstLayer()!;
      assertEquals(first.name, "0.weight");
      assert(first.dw.some((g) => g !== 0), "the first layer got a gradient");
      assertEquals(t.inspect(t.testImage(0)).layers.length, MODEL_SPECS[model].length);
      // batch norm's running statistics come back from the workers (shard 0's)
      if (model === "mobile") {
        const mean = t.net.buffers().find((b) => b.name.endsWith("running_mean"))!;
        assert(mean.value.data.some((v) => v !== 0), "running_mean moved");
      }
    }
  } finally {
    await t.close();
  }
});

Deno.test("checkSpec names what is wrong with a layer list", () => {
  assertThrows(() => checkSpec({}), RangeError, "non-empty JSON array");
  assertThrows(
    () => checkSpec([{ kind: "conv" }]),
    RangeError,
    'layer 0 must be an object with a "type"',
  );
  assertThrows(
    () => checkSpec([{ type: "conv", inChannels: 1, outChannels: 0, size: 3 }]),
    RangeError,
    "layer 0 (conv): its sizes must be positive integers",
  );
  // 28 -> conv 5 -> 24 -> flatten 24·24·4 = 2304, not 100
  assertThrows(
    () =>
      checkSpec([
        { type: "conv", inChannels: 1, outChannels: 4, size: 5 },
        { type: "flatten" },
        { type: "fc", inFeatures: 100, outFeatures: 10 },
      ]),
    RangeError,
    "layer 2 (fc 100→10) cannot take its input [1,2304]",
  );
  assertThrows(
    () => checkSpec([{ type: "flatten" }, { type: "fc", inFeatures: 784, outFeatures: 5 }]),
    RangeError,
    "outputs [1,5]",
  );
  for (const spec of Object.values(MODEL_SPECS)) {
    assertEquals(checkSpec(spec).shapes.at(-1), [1, 10]);
  }
});

Deno.test("the Worker trains, pauses, evaluates and saves over its protocol", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const [path, bytes] of await mnistSubsetFiles()) {
      await Deno.mkdir(`${dir}/${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
      await Deno.writeFile(`${dir}/${path}`, bytes);
    }
    const url = (p: string) => new URL(`file://${dir}/${p}`).href;
    const worker = new Worker(new URL("./train_worker.ts", import.meta.url), { type: "module" });
    const replies: Reply[] = [];
    let wake = () => {};
    worker.onmessage = (e: MessageEvent<Reply>) => {
      replies.push(e.data);
      wake();
    };
    const until = async (pred: (r: Reply) => boolean): Promise<Reply> => {
      for (;;) {
        const r = replies.find(pred);
        if (r !== undefined) return r;
        await new Promise<void>((res) => wake = res);
      }
    };
    const f = MNIST_SUBSET_FILES;
    worker.postMessage({
      type: "init",
      urls: {
        trainImages: url(f.trainImages),
        trainLabels: url(f.trainLabels),
        testImages: url(f.testImages),
        testLabels: url(f.testLabels),
      },
    });
    const ready = await until((r) => r.type === "ready");
    assertEquals(ready.type === "ready" && [ready.train, ready.test], [
      MNIST_SUBSET.train,
      MNIST_SUBSET.test,
    ]);
    // the controller trains through DataParallel, its workers nested in the controller's
    if (ready.type !== "ready") throw new Error("unreachable");
    const cores = navigator.hardwareConcurrency;
    assertEquals(ready.info.parallel?.workers, Math.min(SHARDS, cores));
    assertEquals(ready.info.parallel?.shards, SHARDS);
    worker.postMessage({ type: "run", on: true });
    await until((r) => r.type === "progress" && r.progress.step >= 60);
    worker.postMessage({ type: "run", on: false });
    const paused = await until((r) => r.type === "progress" && !r.running && r.progress.step >= 60);
    const evaluated = await until((r) => r.type === "eval" && r.result.step > 0);
    assert(evaluated.type === "eval" && evaluated.result.count === MNIST_SUBSET.test);
    worker.postMessage({ type: "save" });
    const saved = await until((r) => r.type === "checkpoint");
    if (saved.type !== "checkpoint" || paused.type !== "progress") throw new Error("unreachable");
    const restored = restoreCheckpoint(saved.bytes);
    assertEquals(restored.metadata["convprop.playground.steps"], String(paused.progress.step));
    worker.postMessage({
      type: "build",
      spec: [{ type: "relu" }],
      model: "custom",
      config: { optimizer: "adam", lr: 0.002, batchSize: 16 },
    });
    const err = await until((r) => r.type === "error");
    assert(
      err.type === "error" && err.where === "build" && err.message.includes("outputs [1,1,28,28]"),
    );
    worker.terminate();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train.ts fetches exactly the files mnist_subset.ts writes into the site", () => {
  const page = Deno.readTextFileSync(new URL("./train.ts", import.meta.url));
  for (const path of Object.values(MNIST_SUBSET_FILES)) {
    assert(page.includes(`"${path}"`), `train.ts does not fetch ${path}`);
  }
});
