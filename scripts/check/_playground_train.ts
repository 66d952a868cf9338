// The training view's checks (train.html), one entry of scripts/check/playground.ts's VIEWS:
//
// 1. `?autostart=1` trains the default model: data-testid="step" counts up and the running loss
//    in data-testid="loss" falls (read over about ten seconds of training);
// 2. the main thread has no task over 100 ms while it trains: a `longtask` PerformanceObserver,
//    installed by page.addInitScript before the page's own scripts run, collects every task
//    over 50 ms; those that start once training is under way (step 30 on, for ten seconds and
//    more) must each be ≤ 100 ms;
// 3. "Save checkpoint" downloads a safetensors file that restoreCheckpoint reads in Deno;
// 4. a layer list that does not fit is refused with a message naming the layer; choosing the
//    mobile model rebuilds the network with its learning rate, and it trains;
// 5. a checkpoint trained here in Deno (150 steps of the small net) is loaded through the upload
//    input, a 7 is drawn on the canvas with synthetic mouse strokes, and the page's prediction
//    must be the library's prediction in Deno on the same 28×28 input (read back from the page's
//    data-testid="digit-input", and equal to toMnist of the canvas's pixels computed here); the
//    probabilities must be equal bit for bit, for the reason scripts/check/browser.ts gives (the
//    same JavaScript and WebAssembly operations in the same order in the same engine, V8, on the
//    same machine).

/// <reference lib="dom" />
import type { Page } from "playwright-core";
import {
  encodeCheckpoint,
  firstImages,
  makeBatch,
  pixelStats,
  restoreCheckpoint,
  SGD,
  SMALL_NET,
  smallNet,
  trainEpoch,
} from "../../mod.ts";
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

const argmax = (p: ArrayLike<number>) =>
  Array.prototype.indexOf.call(p, Math.max(...Array.from(p)));

/** Before train.html?autostart=1 loads: the long-task observer, ahead of the page's scripts. */
export async function initTrain(page: Page): Promise<void> {
  await page.addInitScript(LONGTASK_OBSERVER);
}

/** The whole check of train.html, opened as train.html?autostart=1 after {@link initTrain}. */
export async function checkTrain({ page }: ViewContext): Promise<void> {
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
  console.log(`  model "mobile": rebuilt (lr 0.01), ${await numberAt(page, "step")} steps trained`);

  // 5. load a checkpoint trained here, draw a 7, compare with the library in Deno
  const { train } = await loadMnist();
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
