/**
 * The training view's dedicated module Worker: the network lives and trains here, off the main
 * thread, so the page never stutters. It trains in slices of about 60 ms and returns to its event
 * loop between them, so a pause, a new learning rate or an inspection is answered within one
 * slice. The protocol is playground/_train_protocol.ts; the work is playground/_trainer.ts.
 *
 * @module
 */

import { type LabelledImages, type LayerSpec, parseLabelledImages } from "../mod.ts";
import { MODEL_SPECS, SAMPLES, Trainer } from "./_trainer.ts";
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
};

let trainer: Trainer | null = null;
let running = false;
let scheduled = false;
let lastEvalStep = 0;
let lastFilters = 0;
const queue: Request[] = [];

function post(m: Reply, transfer: Transferable[] = []): void {
  scope.postMessage(m, transfer);
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

function schedule(): void {
  if (!scheduled) {
    scheduled = true;
    setTimeout(tick, 0);
  }
}

function sendProgress(t: Trainer, force: boolean, points = t.progress()): void {
  const now = performance.now();
  const first = force || now - lastFilters >= FILTERS_EVERY_MS ? t.firstLayer() : null;
  if (first !== null) lastFilters = now;
  post({ type: "progress", progress: points, running, first });
}

/** One slice: training (when running), then one chunk of an evaluation under way. */
function tick(): void {
  scheduled = false;
  const t = trainer;
  if (t === null) return;
  if (running) {
    try {
      sendProgress(t, false, t.trainFor(SLICE_MS));
    } catch (e) {
      running = false;
      post({ type: "error", where: "train", message: (e as Error).message });
      sendProgress(t, true);
    }
    if (t.step - lastEvalStep >= EVAL_EVERY && !t.evaluating) {
      lastEvalStep = t.step;
      t.startEval();
    }
  }
  if (t.evaluating) {
    const result = t.evalChunk();
    if (result !== null) post({ type: "eval", result });
  }
  if (running || t.evaluating) schedule();
}

/** Rebuilt or loaded: the numbers start again, and the test set is evaluated once. */
function fresh(t: Trainer): void {
  lastEvalStep = 0;
  t.startEval();
  sendProgress(t, true);
  schedule();
}

function handle(m: Request): void {
  const t = trainer;
  if (m.type === "init" || t === null) return; // init is handled on arrival; nothing before it
  switch (m.type) {
    case "build":
      try {
        post({ type: "built", info: t.build(m.spec, m.model, m.config), source: "build" });
        fresh(t);
      } catch (e) {
        post({ type: "error", where: "build", message: (e as Error).message });
      }
      break;
    case "load":
      try {
        post({ type: "built", info: t.restore(m.bytes, m.name, m.config), source: "load" });
        fresh(t);
      } catch (e) {
        post({ type: "error", where: "load", message: (e as Error).message });
      }
      break;
    case "config":
      try {
        t.configure(m.config);
      } catch (e) {
        post({ type: "error", where: "config", message: (e as Error).message });
      }
      break;
    case "run":
      running = m.on;
      if (!running && !t.evaluating) {
        lastEvalStep = t.step;
        t.startEval(); // paused: the confusion matrix shows the network as it stands
      }
      sendProgress(t, true);
      schedule();
      break;
    case "inspect":
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

scope.onmessage = (e: MessageEvent<Request>) => {
  const m = e.data;
  if (m.type === "init") {
    loadData(m.urls).then((data) => {
      trainer = new Trainer(data.train, data.test);
      post({
        type: "ready",
        train: data.train.count,
        test: data.test.count,
        info: trainer.info(),
        models: structuredClone(MODEL_SPECS) as Record<string, LayerSpec[]>,
        samples: data.test.images.slice(0, SAMPLES * 784),
      });
      for (const q of queue.splice(0)) handle(q);
      fresh(trainer);
    }).catch((err) => {
      post({ type: "error", where: "init", message: (err as Error).message });
    });
    return;
  }
  if (trainer === null) queue.push(m);
  else handle(m);
};
