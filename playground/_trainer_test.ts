// The training view's engine in Deno: the Trainer (playground/_trainer.ts) on a slice of the
// real MNIST, and the Worker (playground/train_worker.ts) end to end over its message protocol,
// reading the same gzipped subset files the site serves (scripts/playground/mnist_subset.ts).

import { assert, assertEquals, assertThrows } from "@std/assert";
import { firstImages, type LayerSpec, makeBatch, restoreCheckpoint, SMALL_NET } from "../mod.ts";
import { loadMnist } from "../scripts/_mnist.ts";
import {
  MNIST_SUBSET,
  MNIST_SUBSET_FILES,
  mnistSubsetFiles,
} from "../scripts/playground/mnist_subset.ts";
import { checkSpec, MODEL_SPECS, SAMPLES, Trainer } from "./_trainer.ts";
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

Deno.test("Trainer: the loss falls within 150 steps, and the test set is evaluated", () => {
  const t = new Trainer(train, test);
  t.build(NARROW, "custom", { optimizer: "adam", lr: 0.01, batchSize: 16 });
  let first = NaN;
  while (t.step < 150) {
    const p = t.trainFor(20);
    if (Number.isNaN(first) && p.step >= 10) first = p.loss;
  }
  const last = t.progress().loss;
  // ln 10 = 2.30 at the start; 150 steps of Adam on MNIST reach well under 1 (typically ~0.4)
  assert(last < first && last < 1, `running loss ${first} -> ${last}`);
  // the running accuracy is a share of the last 50 steps' images
  const acc = t.progress().accuracy;
  assert(acc > 0.5 && acc <= 1, `running accuracy ${acc}`);
  t.startEval();
  let r = t.evalChunk();
  while (r === null) r = t.evalChunk();
  assertEquals(r.count, 200);
  assertEquals(r.confusion.reduce((a, b) => a + b, 0), 200);
  assert(r.accuracy > 0.6, `test accuracy ${r.accuracy}`);
  assertEquals(r.samples.length, SAMPLES);
  assert(r.samples.every((s) => s.top.length === 3 && s.top[0][1] >= s.top[1][1]));
});

Deno.test("Trainer: a saved checkpoint restores to the same predictions; inspect equals predict", () => {
  const t = new Trainer(train, test);
  t.trainFor(200);
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
  const again = new Trainer(train, test);
  const info = again.restore(bytes, "page.safetensors");
  assertEquals(info.model, "small");
  assertEquals(again.inspect(pixels).probs, seen.probs);
});

Deno.test("Trainer: LeNet-5 and the batch-norm mobile net train with their CLI defaults", () => {
  const t = new Trainer(train, test);
  for (const model of ["lenet5", "mobile"]) {
    const info = t.build(MODEL_SPECS[model], model);
    assertEquals(info.config.lr, model === "mobile" ? 0.01 : 0.002);
    assertEquals(info.params, model === "mobile" ? 21226 : 61706);
    t.trainFor(1); // at least one step
    const first = t.firstLayer()!;
    assertEquals(first.name, "0.weight");
    assert(first.dw.some((g) => g !== 0), "the first layer got a gradient");
    assertEquals(t.inspect(t.testImage(0)).layers.length, MODEL_SPECS[model].length);
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
