/**
 * What the training view's Worker (playground/train_worker.ts) does, without the Worker: a
 * network, its optimiser and the data, trained a time slice at a time, evaluated a chunk at a
 * time (so the Worker can answer messages between slices), inspected layer by layer, saved and
 * restored as a safetensors checkpoint. Plain library calls, the same the CLI's training makes
 * (scripts/train.ts, training/loop.ts): makeBatch's normalisation, softmax cross-entropy,
 * backwardParams, Adam or SGD with momentum. Tested in Deno (playground/_trainer_test.ts).
 *
 * @module
 */

import {
  Adam,
  buildNetwork,
  encodeCheckpoint,
  type LabelledImages,
  type LayerSpec,
  LENET5,
  makeBatch,
  MOBILE_NET,
  mulberry32,
  type Normalization,
  type Optimizer,
  pixelStats,
  restoreCheckpoint,
  type Sequential,
  SGD,
  shuffledOrder,
  SMALL_NET,
  softmax,
  SoftmaxCrossEntropy,
  specShapes,
  type Tensor,
} from "../mod.ts";
import type {
  BuildInfo,
  EvalResult,
  FirstLayer,
  Inspection,
  Progress,
  TrainConfig,
} from "./_train_protocol.ts";

/** The named models of the page (the CLI's --model names). */
export const MODEL_SPECS: Readonly<Record<string, readonly LayerSpec[]>> = {
  small: SMALL_NET,
  lenet5: LENET5,
  mobile: MOBILE_NET,
};

/** The default network: the CLI's default, SMALL_NET. */
export function defaultSpec(): LayerSpec[] {
  return structuredClone(SMALL_NET) as LayerSpec[];
}

/** The CLI's defaults (scripts/train.ts): Adam 0.002, 0.01 for the batch-norm model; batch 16. */
export function defaultConfig(model: string): TrainConfig {
  return { optimizer: "adam", lr: model === "mobile" ? 0.01 : 0.002, batchSize: 16 };
}

/** How many test images are shown with their top-3 predictions. */
export const SAMPLES = 15;
/** Test images evaluated per chunk. */
const EVAL_CHUNK = 100;
/** Steps in the running loss. */
const WINDOW = 50;
/** One loss point for the curves per this many steps. */
const POINT_EVERY = 10;

/** The indices of the k largest values, largest first. */
export function topK(p: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: p.length }, (_, i) => i).sort((a, b) => p[b] - p[a]).slice(0, k);
}

/** A readable one-line description of a layer spec. */
export function describeLayer(s: LayerSpec): string {
  const opt = (name: string, v: unknown, dflt: unknown) =>
    v === undefined || v === dflt ? "" : ` ${name} ${v}`;
  switch (s.type) {
    case "conv":
      return `conv ${s.size}×${s.size} ${s.inChannels}→${s.outChannels}` +
        opt("stride", s.stride, 1) + opt("pad", s.padding, 0) + opt("dilation", s.dilation, 1) +
        opt("groups", s.groups, 1) + (s.bias === false ? " no bias" : "");
    case "convTranspose":
      return `conv-transpose ${s.size}×${s.size} ${s.inChannels}→${s.outChannels}` +
        opt("stride", s.stride, 1) + opt("pad", s.padding, 0);
    case "maxpool":
    case "avgpool":
      return `${s.type} ${s.size}` + opt("stride", s.stride, s.size) + opt("pad", s.padding, 0);
    case "fc":
      return `fc ${s.inFeatures}→${s.outFeatures}`;
    case "dropout":
      return `dropout p ${s.p}`;
    case "batchnorm2d":
    case "batchnorm1d":
      return `${s.type} ${s.features}`;
    default:
      return s.type;
  }
}

/**
 * Checks a layer list for 1×28×28 digits and 10 classes: specShapes (the parameters), then
 * buildNetwork, then one forward pass of a blank image, whose output must be [1, 10].
 *
 * @returns The network and the output shape of every layer.
 * @throws {RangeError} Naming the layer at fault.
 */
export function checkSpec(
  spec: unknown,
): { net: Sequential; spec: LayerSpec[]; shapes: number[][] } {
  if (!Array.isArray(spec) || spec.length === 0) {
    throw new RangeError("the layer list must be a non-empty JSON array of layers");
  }
  for (const [i, s] of spec.entries()) {
    if (typeof s !== "object" || s === null || typeof s.type !== "string") {
      throw new RangeError(`layer ${i} must be an object with a "type"`);
    }
  }
  const list = spec as LayerSpec[];
  if (specShapes(list) === null) {
    // find the first layer whose sizes are wrong
    const bad = list.findIndex((_, i) => specShapes(list.slice(0, i + 1)) === null);
    throw new RangeError(
      `layer ${bad} (${list[bad].type}): its sizes must be positive integers (and channels ` +
        `divisible by groups): ${JSON.stringify(list[bad])}`,
    );
  }
  let net: Sequential;
  try {
    net = buildNetwork(list, { seed: 1 });
  } catch (e) {
    throw new RangeError((e as Error).message);
  }
  const shapes: number[][] = [];
  let h: Tensor = { shape: [1, 1, 28, 28], data: new Float32Array(784) };
  net.eval();
  for (const [i, layer] of net.layers.entries()) {
    try {
      h = layer.forward(h);
    } catch (e) {
      throw new RangeError(
        `layer ${i} (${describeLayer(list[i])}) cannot take its input [${h.shape.join(",")}]: ` +
          (e as Error).message,
      );
    }
    shapes.push([...h.shape]);
  }
  const out = shapes.at(-1)!;
  if (out.length !== 2 || out[1] !== 10) {
    throw new RangeError(
      `the last layer outputs [${out.join(",")}]; a digit classifier needs [N, 10] logits ` +
        `(end with flatten and fc … → 10)`,
    );
  }
  net.train();
  return { net, spec: list, shapes };
}

interface EvalState {
  next: number;
  confusion: Uint32Array;
  correct: number;
  lossSum: number;
  samples: { index: number; label: number; top: [number, number][] }[];
}

/** A network being trained on MNIST, one time slice at a time. */
export class Trainer {
  readonly train: LabelledImages;
  readonly test: LabelledImages;
  /** The training subset's pixel statistics: a new network's normalisation. */
  readonly dataNorm: Normalization;
  #net!: Sequential;
  #spec!: LayerSpec[];
  #model = "small";
  #norm!: Normalization;
  #shapes: number[][] = [];
  #config: TrainConfig | undefined;
  #optimizer!: Optimizer;
  #rng = mulberry32(1);
  #order: Uint32Array = new Uint32Array(0);
  #cursor = 0;
  #epoch = 0;
  #step = 0;
  #losses: number[] = [];
  #hits: boolean[] = [];
  #pointSum = 0;
  #pointCount = 0;
  #points: [number, number, number][] = [];
  #eval: EvalState | null = null;
  #ce = new SoftmaxCrossEntropy();

  constructor(train: LabelledImages, test: LabelledImages) {
    this.train = train;
    this.test = test;
    this.dataNorm = pixelStats(train);
    this.build(defaultSpec(), "small");
  }

  /** The network (for tests). */
  get net(): Sequential {
    return this.#net;
  }

  /** Steps taken since the network was built or loaded. */
  get step(): number {
    return this.#step;
  }

  /**
   * Builds a fresh network from a layer list (seed 1, He-normal), normalised with the data's
   * statistics; the optimiser starts afresh.
   *
   * @throws {RangeError} If the layer list is not a digit classifier ({@link checkSpec}).
   */
  build(spec: unknown, model: string, config?: TrainConfig): BuildInfo {
    const checked = checkSpec(spec);
    this.#install(checked.net, checked.spec, model, this.dataNorm, checked.shapes);
    this.configure(config ?? defaultConfig(model));
    return this.info();
  }

  /**
   * Restores a checkpoint (the CLI's runs/*.safetensors or one this page saved): its layer list,
   * weights, buffers and normalisation.
   *
   * @throws {RangeError} As restoreCheckpoint, or if the network is not a digit classifier.
   */
  restore(bytes: Uint8Array, name: string, config?: TrainConfig): BuildInfo {
    const r = restoreCheckpoint(bytes, name, { dtype: "float32" });
    const { shapes } = checkSpec(r.spec); // the shapes (and that it takes 28×28 digits)
    const model = r.metadata["convprop.model"] ?? "custom";
    this.#install(r.net, r.spec, model, r.norm, shapes);
    this.configure(config ?? defaultConfig(model));
    return this.info();
  }

  #install(
    net: Sequential,
    spec: LayerSpec[],
    model: string,
    norm: Normalization,
    shapes: number[][],
  ): void {
    this.#net = net.train();
    this.#spec = spec;
    this.#model = model;
    this.#norm = norm;
    this.#shapes = shapes;
    this.#step = 0;
    this.#epoch = 0;
    this.#order = new Uint32Array(0); // a new epoch starts at the next step
    this.#cursor = 0;
    this.#losses = [];
    this.#hits = [];
    this.#points = [];
    this.#pointSum = this.#pointCount = 0;
    this.#eval = null;
    this.#config = undefined;
  }

  /** What the page shows about the network. */
  info(): BuildInfo {
    const params = this.#net.params().reduce((n, p) => n + p.value.data.length, 0);
    return {
      model: this.#model,
      spec: this.#spec,
      layers: this.#spec.map((s, i) => ({
        index: i,
        type: s.type,
        label: describeLayer(s),
        shape: this.#shapes[i],
      })),
      params,
      norm: this.#norm,
      config: this.#config!,
    };
  }

  /**
   * Sets the optimiser, learning rate and batch size. A change of optimiser starts its state
   * afresh (Adam's moments, SGD's velocity); the learning rate and batch size apply from the
   * next step.
   *
   * @throws {RangeError} If a value is out of range.
   */
  configure(config: TrainConfig): void {
    const { optimizer, lr, batchSize } = config;
    if (optimizer !== "adam" && optimizer !== "sgd") {
      throw new RangeError(`optimizer must be adam or sgd, got ${optimizer}`);
    }
    if (!(lr > 0 && lr <= 1)) {
      throw new RangeError(`the learning rate must be in (0, 1], got ${lr}`);
    }
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 512) {
      throw new RangeError(`the batch size must be an integer in 1..512, got ${batchSize}`);
    }
    const old = this.#config;
    if (old === undefined || old.optimizer !== optimizer) {
      const params = this.#net.params();
      this.#optimizer = optimizer === "adam"
        ? new Adam(params, { lr })
        : new SGD(params, { lr, momentum: 0.9 });
    }
    this.#optimizer.lr = lr;
    this.#config = { optimizer, lr, batchSize };
  }

  /**
   * Trains for about `ms` milliseconds (at least one step).
   *
   * @returns The progress; `points` are the curve points since the last call.
   * @throws {Error} If training diverged (a non-finite loss or weight): the weights are then
   *   spoilt, and the page asks for a rebuild.
   */
  trainFor(ms: number): Progress {
    const t0 = performance.now();
    do this.#trainStep(); while (performance.now() - t0 < ms);
    const points = this.#points;
    this.#points = [];
    return { ...this.progress(), points };
  }

  /** The running numbers, without training. */
  progress(): Progress {
    const n = this.#losses.length;
    return {
      step: this.#step,
      epoch: this.#epochNow(),
      loss: n ? this.#losses.reduce((a, b) => a + b, 0) / n : NaN,
      accuracy: this.#hits.length ? this.#hits.filter((h) => h).length / this.#hits.length : NaN,
      points: [],
    };
  }

  #epochNow(): number {
    return this.#epoch + (this.#order.length ? this.#cursor / this.#order.length : 0);
  }

  #trainStep(): void {
    const B = this.#config!.batchSize;
    if (this.#cursor >= this.#order.length) {
      if (this.#order.length) this.#epoch++;
      this.#order = shuffledOrder(this.train.count, this.#rng);
      this.#cursor = 0;
    }
    const end = Math.min(this.#cursor + B, this.#order.length);
    const { x, labels } = makeBatch(this.train, this.#order.subarray(this.#cursor, end), {
      norm: this.#norm,
    });
    this.#cursor = end;
    const net = this.#net.train();
    const logits = net.forward(x);
    const K = logits.shape[1];
    let hits = 0;
    for (let n = 0; n < labels.length; n++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (logits.data[n * K + k] > logits.data[n * K + best]) best = k;
      if (best === labels[n]) hits++;
    }
    const loss = this.#ce.forward(logits, labels);
    if (!Number.isFinite(loss)) {
      throw new Error(
        `training diverged at step ${this.#step + 1}: the loss is ${loss} (lr ` +
          `${this.#config!.lr}); lower the learning rate and rebuild the network`,
      );
    }
    net.backwardParams(this.#ce.backward());
    this.#optimizer.step();
    for (const p of net.params()) {
      if (!p.value.data.every(Number.isFinite)) {
        throw new Error(
          `training diverged at step ${this.#step + 1}: "${p.name}" holds a non-finite ` +
            `value (lr ${this.#config!.lr}); lower the learning rate and rebuild the network`,
        );
      }
    }
    this.#step++;
    this.#losses.push(loss);
    // the running accuracy: the share of right answers among the window's images
    for (let i = 0; i < labels.length; i++) this.#hits.push(i < hits);
    while (this.#losses.length > WINDOW) this.#losses.shift();
    while (this.#hits.length > WINDOW * B) this.#hits.shift();
    this.#pointSum += loss;
    this.#pointCount++;
    if (this.#pointCount === POINT_EVERY) {
      this.#points.push([this.#step, this.#epochNow(), this.#pointSum / POINT_EVERY]);
      this.#pointSum = this.#pointCount = 0;
    }
  }

  /** Starts an evaluation of the test set (restarting one under way). */
  startEval(): void {
    this.#eval = { next: 0, confusion: new Uint32Array(100), correct: 0, lossSum: 0, samples: [] };
  }

  /** Whether an evaluation is under way. */
  get evaluating(): boolean {
    return this.#eval !== null;
  }

  /**
   * Evaluates the next chunk of test images, in evaluation mode.
   *
   * @returns The result when the last chunk is done, else null.
   */
  evalChunk(): EvalResult | null {
    const e = this.#eval;
    if (e === null) return null;
    const end = Math.min(e.next + EVAL_CHUNK, this.test.count);
    const indices = Array.from({ length: end - e.next }, (_, i) => e.next + i);
    const { x, labels } = makeBatch(this.test, indices, { norm: this.#norm });
    const net = this.#net.eval();
    try {
      const logits = net.forward(x);
      e.lossSum += this.#ce.forward(logits, labels) * labels.length;
      const p = softmax(logits), K = 10;
      for (let n = 0; n < labels.length; n++) {
        const row = p.data.subarray(n * K, (n + 1) * K);
        const top = topK(row, 3);
        e.confusion[labels[n] * K + top[0]]++;
        if (top[0] === labels[n]) e.correct++;
        if (indices[n] < SAMPLES) {
          e.samples.push({
            index: indices[n],
            label: labels[n],
            top: top.map((k) => [k, row[k]] as [number, number]),
          });
        }
      }
    } finally {
      net.train();
    }
    e.next = end;
    if (end < this.test.count) return null;
    this.#eval = null;
    return {
      step: this.#step,
      epoch: this.#epochNow(),
      count: this.test.count,
      accuracy: e.correct / this.test.count,
      loss: e.lossSum / this.test.count,
      confusion: e.confusion,
      samples: e.samples,
    };
  }

  /**
   * The first layer with a convolution kernel: its weights and their gradient from the last
   * step (zeros before the first).
   */
  firstLayer(): FirstLayer | null {
    const p = this.#net.params().find((q) => q.value.shape.length === 4);
    if (p === undefined) return null;
    return {
      name: p.name,
      shape: [...p.value.shape],
      w: Float32Array.from(p.value.data),
      dw: Float32Array.from(p.grad.data),
    };
  }

  /**
   * Runs one 28×28 image (uint8 pixels, as MNIST stores them) through the network in evaluation
   * mode, normalised by makeBatch exactly as in training, keeping every layer's output.
   */
  inspect(pixels: Uint8Array): Inspection {
    const set = { images: pixels, labels: new Uint8Array(1), count: 1, height: 28, width: 28 };
    const { x } = makeBatch(set, [0], { norm: this.#norm });
    const net = this.#net.eval();
    const layers: Inspection["layers"] = [];
    try {
      let h: Tensor = x;
      for (const [i, layer] of net.layers.entries()) {
        h = layer.forward(h);
        layers.push({
          index: i,
          label: describeLayer(this.#spec[i]),
          shape: [...h.shape],
          data: Float32Array.from(h.data),
        });
      }
      const probs = Float32Array.from(softmax(h).data);
      return { input: Float32Array.from(x.data), layers, probs, top: topK(probs, 3) };
    } finally {
      net.train();
    }
  }

  /** The test image `i`'s pixels. */
  testImage(i: number): Uint8Array {
    if (!Number.isInteger(i) || i < 0 || i >= this.test.count) {
      throw new RangeError(`test image ${i} does not exist (0..${this.test.count - 1})`);
    }
    return this.test.images.slice(i * 784, (i + 1) * 784);
  }

  /** The network as a safetensors checkpoint, named as PyTorch's nn.Sequential. */
  checkpoint(): Uint8Array {
    return encodeCheckpoint(this.#net, {
      spec: this.#spec,
      norm: this.#norm,
      model: this.#model,
      metadata: {
        "convprop.playground.steps": String(this.#step),
        "convprop.playground.optimizer": JSON.stringify(this.#config),
      },
    });
  }
}
