// The training view's checks (train.html), one entry of scripts/check/playground.ts's VIEWS:
//
// 1. `?autostart=1` trains the default model: data-testid="step" counts up and the running loss
//    in data-testid="loss" falls (read over about ten seconds of training); it trains through
//    the library's DataParallel: data-testid="workers" says "N workers (transfer)" (a plain
//    static host: no cross-origin isolation, so no SharedArrayBuffer), N = the page's
//    navigator.hardwareConcurrency capped at the shard count, and the page runs 1 + N workers
//    (its controller and DataParallel's, nested);
// 2. the main thread has no task over 100 ms while it trains: a `longtask` PerformanceObserver,
//    installed by page.addInitScript before the page's own scripts run, collects every task
//    over 50 ms; those that start once training is under way (step 30 on, for ten seconds and
//    more) must each be ≤ 100 ms;
// 3. "Save checkpoint" downloads a safetensors file that restoreCheckpoint reads in Deno, and
//    its weights after the N steps it records are, bit for bit, those of the same N steps of
//    DataParallel.step here in Deno (the network of seed 1, Adam 0.002, batches of 16 in the
//    order of shuffledOrder(mulberry32(1)), the page's shard count): the page really trains
//    through the library's Worker path, and its numbers do not depend on the worker count;
// 4. a layer list that does not fit is refused with a message naming the layer; choosing the
//    mobile model rebuilds the network with its learning rate, and it trains, on a new
//    DataParallel whose predecessor's workers are gone (still 1 + N workers);
// 5. a checkpoint trained here in Deno (150 steps of the small net) is loaded through the upload
//    input, a 7 is drawn on the canvas with synthetic mouse strokes, and the page's prediction
//    must be the library's prediction in Deno on the same 28×28 input (read back from the page's
//    data-testid="digit-input", and equal to toMnist of the canvas's pixels computed here); the
//    probabilities must be equal bit for bit, for the reason scripts/check/browser.ts gives (the
//    same JavaScript and WebAssembly operations in the same order in the same engine, V8, on the
//    same machine).
//
// The view "train-failure" (checkTrainFailure) serves a parallel_worker.js that throws at its
// 40th message: the page must show the worker's error, stop (the step count stays), keep no
// DataParallel worker running, and train again after "New weights".

/// <reference lib="dom" />
import type { Page } from "playwright-core";
import {
  Adam,
  buildNetwork,
  DataParallel,
  encodeCheckpoint,
  firstImages,
  type LabelledImages,
  makeBatch,
  pixelStats,
  restoreCheckpoint,
  type Sequential,
  SGD,
  shuffledOrder,
  SMALL_NET,
  smallNet,
  trainEpoch,
} from "../../mod.ts";
import { MNIST_SUBSET } from "../playground/mnist_subset.ts";
import { mulberry32 } from "../../random.ts";
import { loadMnist } from "../_mnist.ts";
import { toMnist } from "../../playground/_digit.ts";
import { fail } from "../build/_npm_common.ts";
import type { ViewContext } from "./playground.ts";

/** Collects long tasks into window.__longTasks, from before the page's first script. */
const LONGTASK_OBSERVER = `
  window.__longTasks = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      window.__longTasks.push({ start: e.startTime, duration: e.duration });
    }
  }).observe({ type: "longtask", buffered: true });
`;

async function text(page: Page, testid: string): Promise<string> {
  return (await page.textContent(`[data-testid="${testid}"]`))?.trim() ?? "";
}

async function numberAt(page: Page, testid: string): Promise<number> {
  const t = await text(page, testid);
  if (!/^-?\d+(\.\d+)?$/.test(t)) fail(`train.html: data-testid="${testid}" shows "${t}"`);
  return Number(t);
}

async function waitStep(page: Page, atLeast: number, timeout = 120_000): Promise<void> {
  await page.waitForFunction(
    (n) => Number(document.querySelector('[data-testid="step"]')?.textContent) >= n,
    atLeast,
    { timeout },
  );
}

/** A checkpoint the page can load: the small net after 150 steps of SGD on 2,400 digits. */
function trainedCheckpoint(train: Parameters<typeof pixelStats>[0]): Uint8Array {
  const set = firstImages(train, 2400);
  const norm = pixelStats(set);
  const net = smallNet({ seed: 3 });
  const optimizer = new SGD(net.params(), { lr: 0.02, momentum: 0.9 });
  trainEpoch(net, set, { batchSize: 16, norm, rng: mulberry32(4), optimizer });
  return encodeCheckpoint(net, { spec: SMALL_NET, norm, model: "small" });
}

/** What the library predicts in Deno for 784 pixels with a checkpoint. */
function predictInDeno(bytes: Uint8Array, pixels: Uint8Array): Float32Array {
  const { net, norm } = restoreCheckpoint(bytes);
  const set = { images: pixels, labels: new Uint8Array(1), count: 1, height: 28, width: 28 };
  return net.predict(makeBatch(set, [0], { norm }).x).data as Float32Array;
}

/**
 * The page's first `steps` steps, here with the library alone: the small net of seed 1, Adam
 * `lr`, batches of `batchSize` in the order of shuffledOrder(mulberry32(1)) over the subset
 * (reshuffled each epoch), normalised by its pixel statistics, each one DataParallel.step with
 * `shards` shards on 2 workers (the worker count does not enter the numbers).
 */
async function replayInDeno(
  train: LabelledImages,
  config: { steps: number; shards: number; lr: number; batchSize: number },
): Promise<Sequential> {
  const set = firstImages(train, MNIST_SUBSET.train);
  const norm = pixelStats(set);
  const net = buildNetwork(SMALL_NET, { seed: 1 });
  const dp = await DataParallel.create(SMALL_NET, {
    net,
    shards: config.shards,
    workers: Math.min(2, config.shards),
    seed: 1,
  });
  try {
    const optimizer = new Adam(net.params(), { lr: config.lr });
    const rng = mulberry32(1);
    let order: Uint32Array = new Uint32Array(0), cursor = 0;
    for (let k = 0; k < config.steps; k++) {
      if (cursor >= order.length) {
        order = shuffledOrder(set.count, rng);
        cursor = 0;
      }
      const end = Math.min(cursor + config.batchSize, order.length);
      await dp.step(makeBatch(set, order.subarray(cursor, end), { norm }), optimizer);
      cursor = end;
    }
  } finally {
    await dp.close();
  }
  return net;
}

/** Waits until the page runs `n` workers (page.workers() lists the nested ones too). */
async function waitWorkers(page: Page, n: number, what: string): Promise<void> {
  const until = Date.now() + 15_000;
  while (page.workers().length !== n) {
    if (Date.now() > until) {
      fail(
        `train.html: ${what}: ${page.workers().length} workers run ` +
          `(${page.workers().map((w) => w.url().split("/").pop()).join(", ")}), want ${n}`,
      );
    }
    await page.waitForTimeout(100);
  }
}

/** The page's DataParallel as data-testid="workers" shows it. */
async function parallelShown(page: Page): Promise<{ workers: number; shards: number }> {
  const shown = await text(page, "workers");
  const m = /^(\d+) workers? \((shared|transfer)\)$/.exec(shown);
  if (m === null) fail(`train.html: data-testid="workers" shows "${shown}"`);
  if (m[2] !== "transfer") {
    fail(`train.html: "${shown}": a page without COOP/COEP headers cannot share memory`);
  }
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  const shards = Number(
    await page.getAttribute('[data-testid="workers"]', "data-shards"),
  );
  if (!(shards >= 1) || Number(m[1]) !== Math.min(cores, shards)) {
    fail(`train.html: "${shown}" with ${cores} cores and ${shards} shards`);
  }
  return { workers: Number(m[1]), shards };
}

const argmax = (p: ArrayLike<number>) =>
  Array.prototype.indexOf.call(p, Math.max(...Array.from(p)));

/** Before train.html?autostart=1 loads: the long-task observer, ahead of the page's scripts. */
export async function initTrain(page: Page): Promise<void> {
  await page.addInitScript(LONGTASK_OBSERVER);
}

/** The whole check of train.html, opened as train.html?autostart=1 after {@link initTrain}. */
export async function checkTrain({ page, origin }: ViewContext): Promise<void> {
  // 1. training makes progress
  await waitStep(page, 30);
  const t0 = await page.evaluate(() => performance.now());
  const step1 = await numberAt(page, "step"), loss1 = await numberAt(page, "loss");
  await page.waitForTimeout(10_000);
  await waitStep(page, step1 + 100);
  const step2 = await numberAt(page, "step"), loss2 = await numberAt(page, "loss");
  if (!(loss2 < loss1)) {
    fail(
      `train.html: the running loss did not fall: ${loss1} at step ${step1}, ${loss2} at ${step2}`,
    );
  }
  console.log(`  autostart: running loss ${loss1} at step ${step1} -> ${loss2} at step ${step2}`);
  const parallel = await parallelShown(page);
  await waitWorkers(page, 1 + parallel.workers, "while training");
  const elsewhere = page.workers().filter((w) => !w.url().startsWith(`${origin}/`));
  if (elsewhere.length > 0) fail(`train.html: a worker from ${elsewhere[0].url()}`);
  console.log(
    `  DataParallel: "${await text(page, "workers")}", ${parallel.shards} shards per batch; ` +
      `the page runs ${page.workers().length} workers (its controller and DataParallel's)`,
  );

  // 2. no long task on the main thread while training
  const tasks = await page.evaluate(() =>
    (globalThis as unknown as { __longTasks: { start: number; duration: number }[] }).__longTasks
  );
  const during = tasks.filter((t) => t.start >= t0);
  const worst = Math.max(0, ...during.map((t) => t.duration));
  if (worst > 100) {
    fail(
      `train.html: the main thread had ${during.filter((t) => t.duration > 100).length} task(s) ` +
        `over 100 ms while training (longest ${worst.toFixed(0)} ms)`,
    );
  }
  console.log(
    `  main thread while training: ${during.length} task(s) over 50 ms, longest ` +
      `${worst.toFixed(0)} ms (limit 100 ms)`,
  );

  // pause
  await page.click("#run");
  await page.waitForFunction(() => document.querySelector("#run")?.textContent === "Train");

  // 3. save: the download is a checkpoint the library restores
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#save")]);
  const saved = await Deno.readFile(await download.path());
  const restored = restoreCheckpoint(saved, download.suggestedFilename());
  if (restored.metadata["convprop.model"] !== "small") {
    fail(`train.html: the saved checkpoint says model ${restored.metadata["convprop.model"]}`);
  }
  console.log(
    `  save: ${download.suggestedFilename()} (${saved.length} bytes) restores in Deno, ` +
      `${restored.metadata["convprop.playground.steps"]} steps`,
  );
  // ... and holds the weights of the same steps of DataParallel.step in Deno, bit for bit
  const { train } = await loadMnist();
  const steps = Number(restored.metadata["convprop.playground.steps"]);
  const config = JSON.parse(restored.metadata["convprop.playground.optimizer"]);
  if (config.optimizer !== "adam" || !(steps >= step2)) {
    fail(`train.html: the checkpoint says ${steps} steps of ${JSON.stringify(config)}`);
  }
  const replayed = await replayInDeno(train, { steps, shards: parallel.shards, ...config });
  const pageParams = restored.net.params(), denoParams = replayed.params();
  for (let i = 0; i < denoParams.length; i++) {
    const a = pageParams[i].value.data, b = denoParams[i].value.data;
    const k = a.findIndex((v, j) => !Object.is(v, b[j]));
    if (a.length !== b.length || k >= 0) {
      fail(
        `train.html: after ${steps} steps "${denoParams[i].name}"[${k}] is ${a[k]} in the page, ` +
          `${b[k]} from DataParallel.step in Deno (they must be equal bit for bit)`,
      );
    }
  }
  console.log(
    `  the page's weights after ${steps} steps = ${steps} steps of DataParallel.step in Deno ` +
      `(${parallel.shards} shards), all ${denoParams.length} tensors bit for bit`,
  );

  // 4. a layer list that does not fit is refused, naming the layer
  await page.click("#arch summary");
  await page.fill(
    "#spec",
    JSON.stringify([{ type: "conv", inChannels: 1, outChannels: 4, size: 5 }, { type: "flatten" }, {
      type: "fc",
      inFeatures: 100,
      outFeatures: 10,
    }]),
  );
  await page.click("#apply");
  await page.waitForFunction(() =>
    (document.querySelector("#spec-error")?.textContent ?? "") !== ""
  );
  const specError = (await page.textContent("#spec-error")) ?? "";
  if (!specError.includes("layer 2 (fc 100→10) cannot take its input [1,2304]")) {
    fail(`train.html: a bad layer list gave the message "${specError}"`);
  }
  console.log(`  bad layer list: "${specError.slice(0, 90)}…"`);

  // another model: the batch-norm mobile net, with its own default learning rate, trains too
  await page.selectOption("#model", "mobile");
  await page.waitForFunction(() =>
    (document.querySelector("#layers")?.textContent ?? "").includes("globalavgpool") &&
    document.querySelector<HTMLInputElement>("#lr")?.value === "0.01" &&
    document.querySelector('[data-testid="step"]')?.textContent === "0"
  );
  await page.click("#run");
  await waitStep(page, 20);
  await page.click("#run");
  await page.waitForFunction(() => document.querySelector("#run")?.textContent === "Train");
  await waitWorkers(page, 1 + parallel.workers, "after a rebuild (the old workers must stop)");
  console.log(
    `  model "mobile": rebuilt (lr 0.01), ${await numberAt(page, "step")} steps trained; ` +
      `${page.workers().length} workers (the previous DataParallel's are gone)`,
  );

  // 5. load a checkpoint trained here, draw a 7, compare with the library in Deno
  const bytes = trainedCheckpoint(train);
  const file = await Deno.makeTempFile({ suffix: ".safetensors" });
  try {
    await Deno.writeFile(file, bytes);
    await page.setInputFiles('[data-testid="load-checkpoint"]', file);
    await page.waitForFunction("document.documentElement.dataset.loaded === '1'");
  } finally {
    await Deno.remove(file);
  }
  const box = (await page.locator('[data-testid="draw-canvas"]').boundingBox())!;
  const at = (x: number, y: number): [number, number] => [
    box.x + box.width * x / 280,
    box.y + box.height * y / 280,
  ];
  await page.locator('[data-testid="draw-canvas"]').scrollIntoViewIfNeeded();
  const box2 = (await page.locator('[data-testid="draw-canvas"]').boundingBox())!;
  Object.assign(box, box2);
  // a 7: the bar, then the stem, in small moves as a hand would
  await page.mouse.move(...at(70, 60));
  await page.mouse.down();
  await page.mouse.move(...at(210, 60), { steps: 12 });
  await page.mouse.move(...at(130, 230), { steps: 16 });
  await page.mouse.up();
  await page.waitForFunction(() => {
    const input = document.querySelector<HTMLElement>('[data-testid="digit-input"]');
    const pred = document.querySelector<HTMLElement>('[data-testid="digit-prediction"]');
    return input?.dataset.pixels !== undefined && pred?.dataset.pixels === input.dataset.pixels;
  });
  const seen = await page.evaluate(() => {
    const input = document.querySelector<HTMLElement>('[data-testid="digit-input"]')!;
    const pred = document.querySelector<HTMLElement>('[data-testid="digit-prediction"]')!;
    return {
      pixels: input.dataset.pixels!,
      prediction: pred.textContent ?? "",
      probs: pred.dataset.probs!,
    };
  });
  const pixels = Uint8Array.from(seen.pixels.split(",").map(Number));
  // the 28×28 input is toMnist (playground/_digit.ts, tested in Deno) of the canvas's ink
  const ink = await page.evaluate(() => {
    const c = document.querySelector<HTMLCanvasElement>('[data-testid="draw-canvas"]')!;
    const rgba = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    return { red: Array.from(rgba.filter((_, i) => i % 4 === 0)), w: c.width, h: c.height };
  });
  const mnist = toMnist(ink.red.map((v) => v / 255), ink.w, ink.h);
  if (mnist.join(",") !== seen.pixels) {
    fail("train.html: the drawn digit's 28×28 input is not toMnist of the canvas's pixels");
  }
  if (pixels.length !== 784 || pixels.every((v) => v === 0)) {
    fail(`train.html: the drawn digit's 28×28 input is ${pixels.length} pixels, all zero?`);
  }
  // centred as MNIST is: the centre of mass within a pixel of (13.5, 13.5)
  let m = 0, mr = 0, mc = 0;
  pixels.forEach((v, i) => {
    m += v;
    mr += v * Math.floor(i / 28);
    mc += v * (i % 28);
  });
  if (Math.abs(mr / m - 13.5) > 1 || Math.abs(mc / m - 13.5) > 1) {
    fail(`train.html: the drawn digit's centre of mass is (${mr / m}, ${mc / m}), not centred`);
  }
  const want = predictInDeno(bytes, pixels);
  const pagePrediction = Number(seen.prediction);
  if (pagePrediction !== argmax(want)) {
    fail(`train.html: the page predicts ${seen.prediction}, the library in Deno ${argmax(want)}`);
  }
  const pageProbs = seen.probs.split(",").map(Number);
  const differ = pageProbs.findIndex((p, k) => p !== want[k]);
  if (pageProbs.length !== 10 || differ >= 0) {
    fail(
      `train.html: probability ${differ} is ${pageProbs[differ]} in the page, ${
        want[differ]
      } in Deno (they must be equal bit for bit)`,
    );
  }
  console.log(
    `  drawn 7: the page and the library in Deno both predict ${pagePrediction} ` +
      `(p = ${want[pagePrediction].toFixed(4)}), all 10 probabilities bit for bit equal`,
  );

  // leave the page training a few seconds for the screenshots, then pause
  await page.click("#run");
  await page.waitForTimeout(4000);
  await page.click("#run");
  await page.waitForFunction(() => document.querySelector("#test-acc")?.textContent !== "–");
  await page.waitForTimeout(1000);
}

/** The failure message the injected worker throws. */
const INJECTED = "injected failure (scripts/check/_playground_train.ts)";

/**
 * The site's parallel_worker.js replaced by one that runs the real module and throws at its
 * 40th message (init is the first, then one per step), as a worker that runs out of memory
 * would fail mid-training.
 */
export function serveTrainFailure(files: Map<string, Uint8Array>): Map<string, Uint8Array> {
  const real = files.get("parallel_worker.js");
  if (real === undefined) fail("the site has no parallel_worker.js");
  const wrapper = `import "./parallel_worker_real.js";
let n = 0;
self.addEventListener("message", () => {
  if (++n === 40) throw new Error(${JSON.stringify(INJECTED)});
});
`;
  return new Map([
    ["parallel_worker.js", new TextEncoder().encode(wrapper)],
    ["parallel_worker_real.js", real],
  ]);
}

/** train.html?autostart=1 with a worker that fails: the error shows, training stops cleanly. */
export async function checkTrainFailure({ page }: ViewContext): Promise<void> {
  const stoppedWithError = async () => {
    await page.waitForFunction(
      () => (document.querySelector("#error")?.textContent ?? "").includes("Training stopped"),
      undefined,
      { timeout: 120_000 },
    );
    const message = (await page.textContent("#error")) ?? "";
    if (!message.includes("DataParallel: worker") || !message.includes(INJECTED)) {
      fail(`train.html: a worker's failure shows as "${message}"`);
    }
    if ((await page.textContent("#run")) !== "Train") {
      fail("train.html: after a worker's failure the button does not offer to train again");
    }
    return message;
  };
  const message = await stoppedWithError();
  const at = await numberAt(page, "step");
  await page.waitForTimeout(1500);
  if (await numberAt(page, "step") !== at) fail("train.html: training went on after a failure");
  await waitWorkers(page, 1, "after a worker's failure (DataParallel must stop them all)");
  if (!(await text(page, "workers")).endsWith(", stopped")) {
    fail(`train.html: after a failure data-testid="workers" says "${await text(page, "workers")}"`);
  }
  console.log(`  a worker failed at step ${at}: "${message.slice(0, 110)}…"`);
  console.log("  training stopped; every DataParallel worker stopped, only the controller runs");
  // Train without a rebuild: refused with the same message, the button back to Train
  await page.evaluate(() => document.querySelector("#error")!.textContent = "");
  await page.click("#run");
  await stoppedWithError();
  if (await numberAt(page, "step") !== at) fail("train.html: Train after a failure trained");
  // New weights: a new DataParallel, the error cleared; it trains (until the fault again)
  await page.click("#reset");
  await page.waitForFunction(() =>
    document.querySelector("#error")?.textContent === "" &&
    document.querySelector('[data-testid="step"]')?.textContent === "0"
  );
  const { workers } = await parallelShown(page);
  await waitWorkers(page, 1 + workers, "after New weights");
  await page.click("#run");
  await waitStep(page, 5);
  console.log(`  New weights: ${workers} new workers, training again`);
  await stoppedWithError(); // the same module fails again: the screenshots show the message
}
