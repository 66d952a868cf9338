/// <reference lib="dom" />
/**
 * The training view (train.html): the main thread only draws. The network, the data and every
 * library call live in the controller Worker (train_worker.ts; messages in _train_protocol.ts),
 * which trains through the library's DataParallel and its own workers, so a training step never
 * blocks the page. Test hooks: `?autostart=1` starts training the default model on load;
 * `data-testid="step"` and `data-testid="loss"` show the step count and the running training
 * loss as plain numbers; `data-testid="workers"` shows "N workers (shared|transfer)".
 *
 * @module
 */

import { byId, el, fmt, markReady } from "./_ui.ts";
import { toMnist } from "./_digit.ts";
import { learningCurveSvg } from "../plot/svg.ts";
import type {
  BuildInfo,
  EvalResult,
  FirstLayer,
  Inspection,
  Reply,
  Request,
  TrainConfig,
} from "./_train_protocol.ts";

/** The subset's files, site-relative (scripts/playground/mnist_subset.ts writes them). */
const DATA = {
  trainImages: "mnist/train-10000-images-idx3-ubyte.gz",
  trainLabels: "mnist/train-10000-labels-idx1-ubyte.gz",
  testImages: "mnist/test-1000-images-idx3-ubyte.gz",
  testLabels: "mnist/test-1000-labels-idx1-ubyte.gz",
};
/** At most this many channels of a layer are drawn. */
const MAX_MAPS = 64;
/** Paint activations for at most this long per task (ms). */
const PAINT_SLICE_MS = 12;
/** Redraw the learning curve at most this often (ms). */
const CURVE_EVERY_MS = 500;

const worker = new Worker(new URL("./train_worker.js", import.meta.url), { type: "module" });
const send = (m: Request, transfer: Transferable[] = []) => worker.postMessage(m, transfer);
const abs = (p: string) => new URL(p, location.href).href;

const ui = {
  model: byId<HTMLSelectElement>("model"),
  optimizer: byId<HTMLSelectElement>("optimizer"),
  lr: byId<HTMLInputElement>("lr"),
  batch: byId<HTMLInputElement>("batch"),
  run: byId<HTMLButtonElement>("run"),
  reset: byId<HTMLButtonElement>("reset"),
  save: byId<HTMLButtonElement>("save"),
  load: byId<HTMLInputElement>("load"),
  apply: byId<HTMLButtonElement>("apply"),
  spec: byId<HTMLTextAreaElement>("spec"),
  specError: byId("spec-error"),
  error: byId("error"),
  step: byId("step"),
  epoch: byId("epoch"),
  loss: byId("loss"),
  trainAcc: byId("train-acc"),
  testAcc: byId("test-acc"),
  state: byId("state"),
  workers: byId("workers"),
  shards: byId("shards"),
  memoryNote: byId("memory-note"),
  archSummary: byId("arch-summary"),
  layers: byId("layers").querySelector("tbody")!,
  curve: byId("curve"),
  filters: byId("filters"),
  confusion: byId("confusion"),
  samples: byId("samples"),
  draw: byId<HTMLCanvasElement>("draw"),
  digit: byId<HTMLCanvasElement>("digit28"),
  prediction: byId("prediction"),
  predictionTop: byId("prediction-top"),
  clear: byId<HTMLButtonElement>("clear"),
  actOf: byId("act-of"),
  activations: byId("activations"),
  arch: byId<HTMLDetailsElement>("arch"),
};

let models: Record<string, unknown[]> = {};
let info: BuildInfo | null = null;
let running = false;
let samplePixels: Uint8Array = new Uint8Array(0);
let lossPoints: { epoch: number; loss: number }[] = [];
let accPoints: { epoch: number; accuracy: number }[] = [];
let curveDirty = false;
let lastCurve = 0;
/** What the activations panel shows: a test image or the drawing. */
let chosen: { test: number } | { pixels: Uint8Array } = { test: 0 };
let inspectId = 0;
let drawnId = -1;

// ---- numbers and colours --------------------------------------------------------------------

function pct(v: number): string {
  return Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : "–";
}

/** A grey-level image (uint8) into a canvas of its size. */
function paintGrey(canvas: HTMLCanvasElement, pixels: ArrayLike<number>, w: number, h: number) {
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d")!;
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < w * h; i++) {
    img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = pixels[i];
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** Values around 0 as colours: 0 black, positive up to white-yellow, negative blue. */
function paintSigned(
  canvas: HTMLCanvasElement,
  data: ArrayLike<number>,
  w: number,
  h: number,
  scale: number,
) {
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext("2d")!;
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < w * h; i++) {
    if (Number.isNaN(data[i])) continue; // a gap between maps: transparent
    const v = scale > 0 ? Math.max(-1, Math.min(1, data[i] / scale)) : 0;
    const a = Math.round(255 * Math.abs(v));
    if (v >= 0) {
      img.data[4 * i] = a;
      img.data[4 * i + 1] = Math.round(a * 0.92);
      img.data[4 * i + 2] = Math.round(a * 0.6);
    } else {
      img.data[4 * i] = Math.round(a * 0.25);
      img.data[4 * i + 1] = Math.round(a * 0.55);
      img.data[4 * i + 2] = a;
    }
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

// ---- the controls ---------------------------------------------------------------------------

function config(): TrainConfig {
  return {
    optimizer: ui.optimizer.value as "adam" | "sgd",
    lr: Number(ui.lr.value),
    batchSize: Number(ui.batch.value),
  };
}

/** The config as the inputs show it, or a message saying what is wrong. */
function checkedConfig(): TrainConfig | string {
  const c = config();
  if (!(c.lr > 0 && c.lr <= 1)) return `The learning rate must be in (0, 1], not "${ui.lr.value}".`;
  if (!Number.isInteger(c.batchSize) || c.batchSize < 1 || c.batchSize > 512) {
    return `The batch size must be a whole number from 1 to 512, not "${ui.batch.value}".`;
  }
  return c;
}

function showConfig(c: TrainConfig): void {
  ui.optimizer.value = c.optimizer;
  ui.lr.value = String(c.lr);
  ui.batch.value = String(c.batchSize);
}

function specText(spec: unknown[]): string {
  return "[\n" + spec.map((s) => "  " + JSON.stringify(s)).join(",\n") + "\n]";
}

function setRunning(on: boolean): void {
  running = on;
  ui.run.textContent = on ? "Pause" : "Train";
  ui.run.setAttribute("aria-pressed", String(on));
  ui.state.textContent = on ? `(training on ${ui.workers.textContent})` : "(paused)";
}

function resetCurves(): void {
  lossPoints = [];
  accPoints = [];
  curveDirty = true;
  ui.curve.replaceChildren(el("p", { class: "muted" }, "No steps yet: press Train."));
  ui.curve.setAttribute("aria-label", "Learning curve: no steps yet");
}

function build(spec: unknown, model: string, keepConfig: boolean): void {
  ui.specError.textContent = "";
  ui.error.textContent = "";
  const c = checkedConfig();
  if (keepConfig && typeof c === "string") {
    ui.error.textContent = c;
    return;
  }
  send({ type: "build", spec, model, config: keepConfig ? c as TrainConfig : undefined });
}

ui.model.addEventListener("change", () => {
  const name = ui.model.value;
  if (name === "custom") {
    ui.arch.open = true;
    ui.spec.focus();
    return;
  }
  ui.spec.value = specText(models[name]);
  build(models[name], name, false);
});

ui.apply.addEventListener("click", () => {
  let spec: unknown;
  try {
    spec = JSON.parse(ui.spec.value);
  } catch (e) {
    ui.specError.textContent = `Not valid JSON: ${(e as Error).message}`;
    ui.spec.focus();
    return;
  }
  const same = Object.entries(models).find(([, s]) => JSON.stringify(s) === JSON.stringify(spec));
  const name = same?.[0] ?? "custom";
  ui.model.value = name;
  build(spec, name, true);
});

ui.reset.addEventListener("click", () => {
  if (info !== null) build(info.spec, info.model, true);
});

ui.run.addEventListener("click", () => {
  if (!running) {
    const c = checkedConfig();
    if (typeof c === "string") {
      ui.error.textContent = c;
      return;
    }
    ui.error.textContent = "";
    send({ type: "config", config: c });
  }
  setRunning(!running);
  send({ type: "run", on: running });
});

for (const input of [ui.optimizer, ui.lr, ui.batch]) {
  input.addEventListener("change", () => {
    const c = checkedConfig();
    if (typeof c === "string") {
      ui.error.textContent = c;
      return;
    }
    ui.error.textContent = "";
    send({ type: "config", config: c });
  });
}

ui.save.addEventListener("click", () => send({ type: "save" }));

ui.load.addEventListener("change", async () => {
  const file = ui.load.files?.[0];
  if (file === undefined) return;
  ui.error.textContent = "";
  const bytes = new Uint8Array(await file.arrayBuffer());
  // the loaded model's own defaults (the CLI's), as when choosing a model; change them after
  send({ type: "load", bytes, name: file.name }, [bytes.buffer]);
  ui.load.value = "";
});

// ---- drawing --------------------------------------------------------------------------------

const pen = ui.draw.getContext("2d", { willReadFrequently: true })!;
let drawing = false;
let last: [number, number] | null = null;

function clearDrawing(): void {
  pen.fillStyle = "#000";
  pen.fillRect(0, 0, ui.draw.width, ui.draw.height);
}

function canvasPoint(e: PointerEvent): [number, number] {
  const r = ui.draw.getBoundingClientRect();
  return [
    (e.clientX - r.left) * ui.draw.width / r.width,
    (e.clientY - r.top) * ui.draw.height / r.height,
  ];
}

function strokeTo(p: [number, number]): void {
  pen.strokeStyle = "#fff";
  pen.fillStyle = "#fff";
  pen.lineWidth = 18;
  pen.lineCap = "round";
  pen.lineJoin = "round";
  pen.beginPath();
  if (last === null) {
    pen.arc(p[0], p[1], pen.lineWidth / 2, 0, 2 * Math.PI);
    pen.fill();
  } else {
    pen.moveTo(last[0], last[1]);
    pen.lineTo(p[0], p[1]);
    pen.stroke();
  }
  last = p;
}

/** The drawing as MNIST pixels, shown and sent to the network. */
function readDrawing(): void {
  const { width: w, height: h } = ui.draw;
  const rgba = pen.getImageData(0, 0, w, h).data;
  const ink = new Float64Array(w * h);
  for (let i = 0; i < w * h; i++) ink[i] = rgba[4 * i] / 255;
  const pixels = toMnist(ink, w, h);
  paintGrey(ui.digit, pixels, 28, 28);
  ui.digit.dataset.pixels = pixels.join(",");
  chosen = { pixels };
  drawnId = ++inspectId;
  send({ type: "inspect", id: drawnId, pixels });
}

ui.draw.addEventListener("pointerdown", (e) => {
  drawing = true;
  last = null;
  ui.draw.setPointerCapture(e.pointerId);
  strokeTo(canvasPoint(e));
  e.preventDefault();
});
ui.draw.addEventListener("pointermove", (e) => {
  if (drawing) strokeTo(canvasPoint(e));
});
const endStroke = () => {
  if (!drawing) return;
  drawing = false;
  last = null;
  readDrawing();
};
ui.draw.addEventListener("pointerup", endStroke);
ui.draw.addEventListener("pointercancel", endStroke);
ui.clear.addEventListener("click", () => {
  clearDrawing();
  paintGrey(ui.digit, new Uint8Array(784), 28, 28);
  delete ui.digit.dataset.pixels;
  ui.prediction.textContent = "–";
  delete ui.prediction.dataset.pixels;
  ui.predictionTop.textContent = "";
});

// ---- what the worker sends ------------------------------------------------------------------

function showInfo(b: BuildInfo): void {
  info = b;
  ui.specError.textContent = "";
  ui.error.textContent = "";
  ui.archSummary.textContent = `${b.model}, ${b.layers.length} layers, ` +
    `${b.params.toLocaleString("en")} parameters`;
  ui.layers.replaceChildren(
    el(
      "tr",
      {},
      el("td", {}, "in"),
      el("td", { class: "left" }, "image"),
      el("td", {}, "[1,1,28,28]"),
    ),
    ...b.layers.map((l) =>
      el(
        "tr",
        {},
        el("td", {}, String(l.index)),
        el("td", { class: "left" }, l.label),
        el("td", {}, `[${l.shape.join(",")}]`),
      )
    ),
  );
  ui.spec.value = specText(b.spec);
  ui.model.value = b.model in models ? b.model : "custom";
  showConfig(b.config);
  showParallel(b.parallel);
  resetCurves();
  ui.step.textContent = "0";
  ui.loss.textContent = "";
  ui.epoch.textContent = "0";
  ui.trainAcc.textContent = "–";
  ui.testAcc.textContent = "–";
  requestInspection();
}

/** How DataParallel trains: "2 workers (transfer)", and what the mode means. */
function showParallel(p: BuildInfo["parallel"]): void {
  if (p === null) {
    ui.workers.textContent = "no workers (they did not start)";
    ui.workers.dataset.workers = "0";
    return;
  }
  ui.workers.textContent = `${p.workers} worker${p.workers === 1 ? "" : "s"} (${p.memory})`;
  delete ui.workers.dataset.stopped;
  ui.workers.dataset.workers = String(p.workers);
  ui.workers.dataset.memory = p.memory;
  ui.workers.dataset.shards = String(p.shards);
  ui.shards.textContent = String(p.shards);
  ui.memoryNote.textContent = p.memory === "transfer"
    ? "Transfer: without cross-origin isolation headers the workers get copies of the weights " +
      "each step instead of shared memory; the same numbers."
    : "Shared: the workers read the weights and images from shared memory.";
}

function showProgress(
  p: { step: number; epoch: number; loss: number; accuracy: number; points: number[][] },
) {
  ui.step.textContent = String(p.step);
  ui.epoch.textContent = p.epoch.toFixed(2);
  ui.loss.textContent = Number.isFinite(p.loss) ? p.loss.toFixed(4) : "";
  ui.trainAcc.textContent = pct(p.accuracy);
  for (const [, epoch, loss] of p.points) lossPoints.push({ epoch, loss });
  if (lossPoints.length > 2000) {
    // keep the curve light: average neighbouring pairs
    const half: typeof lossPoints = [];
    for (let i = 0; i + 1 < lossPoints.length; i += 2) {
      half.push({
        epoch: lossPoints[i + 1].epoch,
        loss: (lossPoints[i].loss + lossPoints[i + 1].loss) / 2,
      });
    }
    lossPoints = half;
  }
  if (p.points.length > 0) curveDirty = true;
}

/** The curve's width in SVG units: the panel's, within [360, 640], so text stays readable. */
function curveWidth(): number {
  return Math.round(Math.max(360, Math.min(640, ui.curve.clientWidth || 640)));
}

function drawCurve(): void {
  if (!curveDirty || lossPoints.length === 0) return;
  const now = performance.now();
  if (now - lastCurve < CURVE_EVERY_MS) return;
  lastCurve = now;
  curveDirty = false;
  const title = `${info?.model ?? ""}: training loss and test accuracy`;
  ui.curve.innerHTML = learningCurveSvg(
    { trainLoss: lossPoints, testAccuracy: accPoints, title },
    { width: curveWidth(), height: 340 },
  );
  const lastLoss = lossPoints.at(-1)!, lastAcc = accPoints.at(-1);
  ui.curve.setAttribute(
    "aria-label",
    `Learning curve: training loss ${fmt(lastLoss.loss, 3)} at epoch ${lastLoss.epoch.toFixed(2)}` +
      (lastAcc ? `, test accuracy ${pct(lastAcc.accuracy)}` : ""),
  );
}

/**
 * Kernels [D, C, kh, kw] as tiles, the convention of the library's filterGridSvg: one row per
 * filter when it has several input channels, else filters side by side in rows of 8; each filter
 * scaled by its own largest |value|, mid-grey 0, white positive, black negative. One canvas,
 * repainted in place (cheap enough to follow training live; 600 SVG rectangles were not).
 */
function paintFilters(canvas: HTMLCanvasElement, data: Float32Array, shape: number[]): void {
  const [D, C, kh, kw] = shape;
  const cols = C === 1 ? Math.min(D, 8) : C, rows = C === 1 ? Math.ceil(D / cols) : D;
  const w = cols * (kw + 1) + 1, h = rows * (kh + 1) + 1;
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext("2d")!;
  const img = ctx.createImageData(w, h);
  img.data.fill(221); // the gaps: light grey, as filterGridSvg's background
  const K = C * kh * kw;
  for (let d = 0; d < D; d++) {
    let m = 0;
    for (let i = 0; i < K; i++) m = Math.max(m, Math.abs(data[d * K + i]));
    for (let c = 0; c < C; c++) {
      const tile = C === 1 ? d : d * C + c;
      const tx = 1 + (tile % cols) * (kw + 1), ty = 1 + Math.floor(tile / cols) * (kh + 1);
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const v = data[((d * C + c) * kh + i) * kw + j];
          const g = Math.round(127.5 + 127.5 * (m === 0 ? 0 : v / m));
          const o = 4 * ((ty + i) * w + tx + j);
          img.data[o] = img.data[o + 1] = img.data[o + 2] = g;
        }
      }
    }
  }
  ctx.putImageData(img, 0, 0);
  const zoom = Math.max(3, Math.min(10, Math.floor(60 / kh)));
  canvas.style.width = `${w * zoom}px`;
}

let filterKey = "";
const filterCanvases = {
  w: el("canvas", { class: "kernels" }),
  dw: el("canvas", { class: "kernels" }),
};

function showFilters(f: FirstLayer): void {
  const [D, C, kh, kw] = f.shape;
  const keepD = Math.min(D, 32), keepC = Math.min(C, 16);
  const shape = [keepD, keepC, kh, kw];
  // the first keepD filters' first keepC channels
  const pick = (data: Float32Array) => {
    const out = new Float32Array(keepD * keepC * kh * kw);
    for (let d = 0; d < keepD; d++) {
      for (let c = 0; c < keepC; c++) {
        const from = ((d * C + c) * kh) * kw, to = ((d * keepC + c) * kh) * kw;
        out.set(data.subarray(from, from + kh * kw), to);
      }
    }
    return out;
  };
  const key = `${f.name} ${f.shape}`;
  if (key !== filterKey) {
    filterKey = key;
    const cut = keepD < D || keepC < C ? ` (first ${keepD}×${keepC})` : "";
    filterCanvases.w.setAttribute("aria-label", `The weights of ${f.name}`);
    filterCanvases.dw.setAttribute("aria-label", `The gradient of ${f.name}`);
    ui.filters.replaceChildren(
      el("figure", {}, filterCanvases.w, el("figcaption", {}, `${f.name} [${f.shape}]${cut}`)),
      el("figure", {}, filterCanvases.dw, el("figcaption", {}, "its gradient dL/dw, last step")),
    );
  }
  paintFilters(filterCanvases.w, pick(f.w), shape);
  paintFilters(filterCanvases.dw, pick(f.dw), shape);
}

function showEval(r: EvalResult): void {
  ui.testAcc.textContent = `${pct(r.accuracy)} (step ${r.step})`;
  if (r.step > 0 || accPoints.length === 0) {
    accPoints = accPoints.filter((p) => p.epoch < r.epoch);
    accPoints.push({ epoch: r.epoch, accuracy: r.accuracy });
    curveDirty = true;
  }
  // the confusion matrix: rows the true class, columns the prediction
  const K = 10;
  const head = el(
    "tr",
    {},
    el("th", { scope: "col", class: "corner" }, "true ↓", el("br"), "predicted →"),
    ...Array.from({ length: K }, (_, k) => el("th", { scope: "col" }, String(k))),
  );
  const rows = Array.from({ length: K }, (_, t) => {
    const total = r.confusion.slice(t * K, (t + 1) * K).reduce((a, b) => a + b, 0) || 1;
    return el(
      "tr",
      {},
      el("th", { scope: "row" }, String(t)),
      ...Array.from({ length: K }, (_, p) => {
        const n = r.confusion[t * K + p], share = n / total;
        const cls = n === 0 ? "" : t === p ? "diag" : "miss";
        const td = el("td", { class: cls, title: `true ${t}, predicted ${p}: ${n}` }, String(n));
        if (n > 0) td.style.setProperty("--share", share.toFixed(3));
        return td;
      }),
    );
  });
  ui.confusion.replaceChildren(
    el(
      "table",
      { class: "grid confusion" },
      el(
        "caption",
        {},
        `${r.count.toLocaleString("en")} test images at step ${r.step}: ` +
          `${pct(r.accuracy)} right, loss ${fmt(r.loss, 3)}`,
      ),
      el("thead", {}, head),
      el("tbody", {}, ...rows),
    ),
  );
  // the test images and their top-3
  ui.samples.replaceChildren(...r.samples.map((s) => {
    const canvas = el("canvas", { class: "thumb", "aria-hidden": "true" });
    paintGrey(canvas, samplePixels.subarray(s.index * 784, (s.index + 1) * 784), 28, 28);
    const right = s.top[0][0] === s.label;
    const isChosen = "test" in chosen && chosen.test === s.index;
    const top = s.top.map(([k, p]) => `${k} ${(100 * p).toFixed(p > 0.995 ? 0 : 1)}%`);
    return el(
      "button",
      {
        type: "button",
        class: `sample ${right ? "right" : "wrong"}`,
        "aria-pressed": String(isChosen),
        "aria-label": `Test image ${s.index}, a ${s.label}; predicted ${top.join(", ")}` +
          (right ? "" : " (wrong)"),
        onclick: (ev: Event) => {
          chosen = { test: s.index };
          for (const b of ui.samples.querySelectorAll("button")) {
            b.setAttribute("aria-pressed", String(b === ev.currentTarget));
          }
          requestInspection();
        },
      },
      canvas,
      el("span", { class: "label" }, `true ${s.label}${right ? "" : " ✗"}`),
      el("span", { class: "top mono" }, ...top.flatMap((t, i) => i ? [el("br"), t] : [t])),
    );
  }));
  requestInspection();
}

function requestInspection(): void {
  const id = ++inspectId;
  if ("test" in chosen) send({ type: "inspect", id, test: chosen.test });
  else {
    drawnId = id;
    send({ type: "inspect", id, pixels: chosen.pixels });
  }
}

function showInspection(id: number, pixels: Uint8Array, r: Inspection): void {
  if (id !== inspectId) return; // a newer request is under way
  const of = "test" in chosen ? `test image ${chosen.test}` : "your drawing";
  ui.actOf.textContent = `The outputs of every layer for ${of}, predicted ${r.top[0]} ` +
    `(${pct(r.probs[r.top[0]])}). Each layer's maps share one scale: black 0, yellow positive, ` +
    `blue negative.`;
  if (id === drawnId) {
    ui.prediction.textContent = String(r.top[0]);
    ui.prediction.dataset.pixels = pixels.join(",");
    ui.prediction.dataset.probs = Array.from(r.probs).join(",");
    ui.predictionTop.replaceChildren(
      ...r.top.flatMap((k, i) => [...(i ? [el("br")] : []), `${k}: ${pct(r.probs[k])}`]),
    );
  }
  const input = { index: -1, label: "input (normalised)", shape: [1, 1, 28, 28], data: r.input };
  const layers = [input, ...r.layers];
  const key = layers.map((l) => `${l.index}:${l.label}:${l.shape}`).join("|");
  if (key !== actKey) {
    // a new network: one block per layer, each with one canvas holding all its maps
    actKey = key;
    actBlocks = layers.map((l) => {
      const canvas = el("canvas", { class: "maps", "aria-hidden": "true" });
      const max = el("span", { class: "muted" });
      const shown = l.shape.length === 4 && l.shape[1] > MAX_MAPS ? ` (first ${MAX_MAPS})` : "";
      const title = `${l.index < 0 ? "" : `${l.index} · `}${l.label} → [${l.shape.join(",")}]`;
      const block = el("div", { class: "layer" }, el("h3", {}, title + shown, max), canvas);
      return { block, canvas, max };
    });
    const bars = Array.from({ length: r.probs.length }, () => el("span", { class: "bar" }));
    actProbs = el(
      "div",
      { class: "probs", role: "img" },
      ...bars.map((bar, k) =>
        el("div", { class: "prob" }, bar, el("span", { class: "mono" }, `${k}`))
      ),
    );
    ui.activations.replaceChildren(
      ...actBlocks.map((b) => b.block),
      el("div", { class: "layer" }, el("h3", {}, "softmax: the probabilities"), actProbs),
    );
  }
  // painted a few layers per task, so a large network never blocks the page for long
  const job = ++paintJob;
  let i = 0;
  const paintSome = () => {
    if (job !== paintJob) return; // a newer inspection replaced this one
    const t0 = performance.now();
    for (; i < layers.length && performance.now() - t0 < PAINT_SLICE_MS; i++) {
      const l = layers[i];
      let scale = 0;
      for (let j = 0; j < l.data.length; j++) scale = Math.max(scale, Math.abs(l.data[j]));
      actBlocks[i].max.textContent = `  max |value| ${fmt(scale, 3)}`;
      paintMaps(actBlocks[i].canvas, l.data, l.shape, scale);
    }
    if (i < layers.length) setTimeout(paintSome, 0);
  };
  paintSome();
  const bars = actProbs!.querySelectorAll<HTMLElement>(".bar");
  r.probs.forEach((p, k) => bars[k].style.setProperty("--p", p.toFixed(4)));
  actProbs!.setAttribute(
    "aria-label",
    `Probabilities: ${r.top.map((k) => `${k} ${pct(r.probs[k])}`).join(", ")}`,
  );
}

let actKey = "";
let paintJob = 0;
let actBlocks: { block: HTMLElement; canvas: HTMLCanvasElement; max: HTMLElement }[] = [];
let actProbs: HTMLElement | null = null;

/**
 * A layer's output in one canvas: maps [1, C, H, W] side by side with 1-pixel gaps (at most
 * MAX_MAPS of them), or a vector as cells in rows. Colours as paintSigned.
 */
function paintMaps(
  canvas: HTMLCanvasElement,
  data: Float32Array,
  shape: number[],
  scale: number,
): void {
  const isMaps = shape.length === 4 && shape[2] * shape[3] > 1;
  const C = isMaps ? Math.min(shape[1], MAX_MAPS) : 1;
  // a long vector (flatten's 1,600 features) in rows of 64 small cells, a short one larger
  const W = isMaps ? shape[3] : Math.min(data.length, data.length > 256 ? 64 : 32);
  const H = isMaps ? shape[2] : Math.ceil(data.length / W);
  const zoom = isMaps ? (W >= 20 ? 2 : W >= 10 ? 3 : 6) : data.length > 256 ? 5 : 12;
  const cols = isMaps ? Math.max(1, Math.min(C, Math.floor(600 / ((W + 1) * zoom)))) : 1;
  const rows = Math.ceil(C / cols);
  const w = cols * (W + 1) - 1, h = rows * (H + 1) - 1;
  const tile = new Float32Array(w * h).fill(NaN); // NaN: a gap
  for (let c = 0; c < C; c++) {
    const ox = (c % cols) * (W + 1), oy = Math.floor(c / cols) * (H + 1);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = c * H * W + y * W + x;
        tile[(oy + y) * w + ox + x] = i < data.length ? data[i] : NaN;
      }
    }
  }
  paintSigned(canvas, tile, w, h, scale);
  canvas.style.width = `${w * zoom}px`;
}

worker.onmessage = (e: MessageEvent<Reply>) => handleReply(e.data);
function handleReply(m: Reply): void {
  switch (m.type) {
    case "ready":
      models = m.models;
      samplePixels = m.samples;
      showInfo(m.info);
      for (const b of [ui.run, ui.reset, ui.save, ui.apply]) b.disabled = false;
      ui.load.disabled = false;
      setRunning(false);
      ui.state.textContent = `(ready: ${m.train.toLocaleString("en")} training and ` +
        `${m.test.toLocaleString("en")} test images)`;
      if (new URLSearchParams(location.search).get("autostart") === "1") {
        setRunning(true);
        send({ type: "run", on: true });
      }
      markReady();
      break;
    case "built":
      showInfo(m.info);
      if (m.source === "load") {
        ui.state.textContent = `(loaded: ${m.info.model}, ${m.info.params} parameters)`;
        document.documentElement.dataset.loaded = String(Number(ui.load.dataset.loads ?? 0) + 1);
        ui.load.dataset.loads = document.documentElement.dataset.loaded;
      }
      break;
    case "progress":
      showProgress(m.progress);
      if (m.first !== null) showFilters(m.first);
      break;
    case "eval":
      showEval(m.result);
      break;
    case "inspection":
      showInspection(m.id, m.pixels, m.result);
      break;
    case "checkpoint": {
      const url = URL.createObjectURL(new Blob([m.bytes as Uint8Array<ArrayBuffer>]));
      const a = el("a", { href: url, download: `${m.name}.safetensors` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      break;
    }
    case "error": {
      const target = m.where === "build" ? ui.specError : ui.error;
      const what = {
        init: "Starting failed",
        build: "This layer list does not make a digit classifier",
        load: "This checkpoint cannot be loaded",
        config: "Setting rejected",
        train: "Training stopped",
        inspect: "Inspection failed",
      }[m.where];
      target.textContent = `${what}: ${m.message}`;
      if (m.where === "build") ui.arch.open = true;
      if (m.where === "train") {
        // the controller has stopped DataParallel's workers: only a rebuild or a load trains
        const stop = /[.!?]$/.test(m.message) ? " " : ". ";
        target.textContent += `${stop}Press New weights or load a checkpoint to train again.`;
        if (ui.workers.dataset.workers !== "0") {
          ui.workers.textContent += ", stopped";
          ui.workers.dataset.stopped = "1";
        }
        setRunning(false);
      }
      break;
    }
  }
}
worker.onerror = (e) => {
  ui.error.textContent = `The training worker failed: ${e.message}`;
};

// the curve is redrawn on animation frames, at most every CURVE_EVERY_MS
const frame = () => {
  drawCurve();
  requestAnimationFrame(frame);
};
requestAnimationFrame(frame);

clearDrawing();
paintGrey(ui.digit, new Uint8Array(784), 28, 28);
resetCurves();
send({
  type: "init",
  urls: {
    trainImages: abs(DATA.trainImages),
    trainLabels: abs(DATA.trainLabels),
    testImages: abs(DATA.testImages),
    testLabels: abs(DATA.testLabels),
  },
});
