/**
 * The training view's controller Worker: the network, the data and the optimiser live here, and
 * the training itself runs through the library's Worker path, a `DataParallel` whose own workers
 * (training/parallel_worker.ts, shipped as the site's parallel_worker.js) are nested in this one.
 * It trains in slices of about 60 ms; every step awaits the workers, so a pause, a new learning
 * rate or an inspection is answered between two steps, and a rebuild or a load waits for one
 * step at most. The protocol is playground/_train_protocol.ts; the work is playground/_trainer.ts.
 *
 * Why a controller Worker rather than DataParallel straight from the page's main thread (which
 * it allows: all its work runs in its workers): what is left on the calling thread still grows
 * with the network, the reduction of the shards' gradients, the optimiser's step, the forward
 * passes of the inspections and of the drawing, a checkpoint's encoding and decoding, a few to
 * tens of milliseconds each on a phone; here none of it can delay the page's input or painting,
 * and the page only draws. The cost is one thread that mostly waits, and nested workers, which
 * every current browser and Deno have.
 *
 * @module
 */

import { type LabelledImages, type LayerSpec, parseLabelledImages } from "../mod.ts";
import { MODEL_SPECS, SAMPLES, SHARDS, Trainer } from "./_trainer.ts";
import type { DataUrls, Reply, Request } from "./_train_protocol.ts";

/** Milliseconds of training per slice. */
const SLICE_MS = 60;
/** A test-set evaluation every this many steps while training. */
const EVAL_EVERY = 250;
/** The first layer's filters and gradients are sent at most this often (ms). */
const FILTERS_EVERY_MS = 400;

// deno-lint-ignore no-explicit-any
const scope = self as any as {
  postMessage(m: Reply, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<Request>) => void) | null;
  navigator: { hardwareConcurrency?: number };
};

let trainer: Trainer | null = null;
let running = false;
let evalWanted = false;
let lastEvalStep = 0;
let lastFilters = 0;
/** Requests that arrived before the data: handled once the trainer exists. */
const early: Request[] = [];
/** Rebuilds and loads, done by the loop between steps (never during one). */
const jobs: Request[] = [];
let wake: (() => void) | null = null;
/** Whether the loop is in a training slice (its end reports the progress). */
let inSlice = false;

function post(m: Reply, transfer: Transferable[] = []): void {
  scope.postMessage(m, transfer);
}

function poke(): void {
  const w = wake;
  wake = null;
  w?.();
}

async function gunzip(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok || response.body === null) {
    throw new Error(`${url}: HTTP ${response.status}`);
  }
  const stream = response.body.pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function loadData(urls: DataUrls): Promise<{ train: LabelledImages; test: LabelledImages }> {
  const [ti, tl, si, sl] = await Promise.all(
    [urls.trainImages, urls.trainLabels, urls.testImages, urls.testLabels].map(gunzip),
  );
  return {
    train: parseLabelledImages(ti, tl, { names: [urls.trainImages, urls.trainLabels] }),
    test: parseLabelledImages(si, sl, { names: [urls.testImages, urls.testLabels] }),
  };
}

function sendProgress(t: Trainer, force: boolean, points = t.progress()): void {
  const now = performance.now();
  const first = force || now - lastFilters >= FILTERS_EVERY_MS ? t.firstLayer() : null;
  if (first !== null) lastFilters = now;
  post({ type: "progress", progress: points, running, first });
}

/** Rebuilt or loaded: the numbers start again, and the test set is evaluated once. */
function fresh(t: Trainer): void {
  lastEvalStep = 0;
  evalWanted = true;
  sendProgress(t, true);
}

/** A failure of training (a worker's error, divergence): shown, and training stops. */
function stopped(t: Trainer, e: unknown): void {
  running = false;
  post({ type: "error", where: "train", message: (e as Error).message });
  sendProgress(t, true);
}

/** A rebuild or a load, between steps: the old DataParallel is closed, a new one started. */
async function job(t: Trainer, m: Request): Promise<void> {
  if (m.type !== "build" && m.type !== "load") return;
  try {
    const info = m.type === "build"
      ? await t.build(m.spec, m.model, m.config)
      : await t.restore(m.bytes, m.name, m.config);
    post({ type: "built", info, source: m.type });
    fresh(t);
  } catch (e) {
    // the new workers did not start (nothing trains), or the layer list or file is wrong (the
    // network in training stays)
    if (t.failure === (e as Error).message) stopped(t, e);
    else post({ type: "error", where: m.type, message: (e as Error).message });
  }
}

/** The one loop that calls DataParallel: jobs, then a training slice, then an evaluation. */
async function loop(t: Trainer): Promise<never> {
  for (;;) {
    const next = jobs.shift();
    if (next !== undefined) {
      await job(t, next);
      continue;
    }
    if (running && t.failure === null) {
      inSlice = true;
      try {
        const p = await t.trainFor(SLICE_MS, () => !running || jobs.length > 0);
        sendProgress(t, !running, p); // paused during the slice: the final count, the filters
      } catch (e) {
        stopped(t, e);
      } finally {
        inSlice = false;
      }
      if (t.step - lastEvalStep >= EVAL_EVERY) {
        lastEvalStep = t.step;
        evalWanted = true;
      }
    }
    if (evalWanted && jobs.length === 0 && t.failure === null) {
      evalWanted = false;
      try {
        post({ type: "eval", result: await t.evaluate() });
      } catch (e) {
        stopped(t, e); // a worker failed, or the outputs are not finite (training diverged)
      }
      continue;
    }
    if (!running || t.failure !== null) {
      if (jobs.length === 0) await new Promise<void>((res) => wake = res);
    } else await new Promise<void>((res) => setTimeout(res, 0)); // let messages in
  }
}

function handle(t: Trainer, m: Request): void {
  switch (m.type) {
    case "build":
    case "load":
      jobs.push(m);
      poke();
      break;
    case "config":
      try {
        t.configure(m.config);
      } catch (e) {
        post({ type: "error", where: "config", message: (e as Error).message });
      }
      break;
    case "run":
      if (m.on && t.failure !== null) {
        stopped(t, new Error(t.failure)); // nothing can train until a rebuild: say so again
        break;
      }
      running = m.on;
      if (!running) {
        lastEvalStep = t.step;
        evalWanted = true; // paused: the confusion matrix shows the network as it stands
      }
      // a pause during a slice is reported when its last step is done (the slice's end)
      if (!inSlice) sendProgress(t, true);
      poke();
      break;
    case "inspect":
      // the network is read here between steps (DataParallel changes it only in its optimiser
      // step, which runs on this thread), so an inspection never waits for the workers
      try {
        const pixels = m.pixels ?? t.testImage(m.test ?? 0);
        post({ type: "inspection", id: m.id, pixels, result: t.inspect(pixels) });
      } catch (e) {
        post({ type: "error", where: "inspect", message: (e as Error).message });
      }
      break;
    case "save": {
      const bytes = t.checkpoint();
      post({ type: "checkpoint", bytes, name: `convprop-${t.info().model}-step${t.step}` }, [
        bytes.buffer as ArrayBuffer,
      ]);
      break;
    }
  }
}

/** Worker threads: the hardware's, at most one per shard (more would idle). */
function workerCount(): number {
  const n = scope.navigator?.hardwareConcurrency;
  return Math.max(1, Math.min(SHARDS, typeof n === "number" && n >= 1 ? Math.floor(n) : 1));
}

scope.onmessage = (e: MessageEvent<Request>) => {
  const m = e.data;
  if (m.type === "init") {
    loadData(m.urls).then(async (data) => {
      let t: Trainer;
      try {
        t = await Trainer.create(data.train, data.test, {
          workers: workerCount(),
          // the site's bundle of training/parallel_worker.ts (entry playground/parallel_worker.ts)
          // next to this one; the .ts itself when Deno runs the sources (the tests)
          workerUrl: new URL(
            `./parallel_worker.${import.meta.url.endsWith(".ts") ? "ts" : "js"}`,
            import.meta.url,
          ),
        });
      } catch (err) {
        post({
          type: "error",
          where: "init",
          message: `the training workers did not start: ${(err as Error).message}`,
        });
        return;
      }
      trainer = t;
      post({
        type: "ready",
        train: data.train.count,
        test: data.test.count,
        info: t.info(),
        models: structuredClone(MODEL_SPECS) as Record<string, LayerSpec[]>,
        samples: data.test.images.slice(0, SAMPLES * 784),
      });
      for (const q of early.splice(0)) handle(t, q);
      fresh(t);
      void loop(t);
    }).catch((err) => {
      post({ type: "error", where: "init", message: (err as Error).message });
    });
    return;
  }
  if (trainer === null) early.push(m);
  else handle(trainer, m);
};
