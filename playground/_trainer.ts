/**
 * What the training view's Worker (playground/train_worker.ts) does, without the message
 * protocol: a network, its optimiser and the data, trained a time slice at a time through the
 * library's Worker path (`DataParallel`: each batch cut into {@link SHARDS} shards whose
 * gradients the library's workers compute, summed in shard order, one optimiser step here),
 * evaluated by `DataParallel.evaluate`, inspected layer by layer, saved and restored as a
 * safetensors checkpoint. Plain library calls, the same the CLI's training makes (scripts/train.ts,
 * training/parallel.ts): makeBatch's normalisation, Adam or SGD with momentum. Every call that
 * waits for the workers is asynchronous, so the Worker answers messages meanwhile. Tested in Deno
 * (playground/_trainer_test.ts).
 *
 * @module
 */

import {
  Adam,
  buildNetwork,
  DataParallel,
  DataParallelError,
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
/** Test images per evaluation batch (the batches are shared among the workers). */
const EVAL_BATCH = 100;
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

/** Where the trainer's DataParallel gets its workers (DataParallelOptions' names). */
export interface ParallelOptions {
  /** Worker threads, at most {@link SHARDS}; default: the hardware threads, at most SHARDS. */
  workers?: number;
  /** The library's worker module (the site's parallel_worker.js in the page). */
  workerUrl?: URL | string;
}

/**
 * Shards per mini-batch: fixed, so the numbers the page shows never depend on the visitor's
 * cores (DataParallel gives the same parameters for any worker count at a fixed shard count).
 * Four: up to four cores are used; with 16 images a batch, 4 per shard.
 */
export const SHARDS = 4;

/** A network being trained on MNIST through the library's DataParallel, a time slice at a time. */
export class Trainer {
  readonly train: LabelledImages;
  readonly test: LabelledImages;
  /** The training subset's pixel statistics: a new network's normalisation. */
  readonly dataNorm: Normalization;
  readonly #parallel: ParallelOptions;
  #dp: DataParallel | null = null;
  /** Why training cannot go on (a worker failed, training diverged), until a rebuild. */
  #failure: string | null = null;
  #net!: Sequential;
  #spec!: LayerSpec[];
  #model = "small";
  #norm!: Normalization;
  #shapes: number[][] = [];
  #config: TrainConfig | undefined;
  /** A configuration to apply before the next step (never while a step runs). */
  #nextConfig: TrainConfig | undefined;
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

  private constructor(train: LabelledImages, test: LabelledImages, parallel: ParallelOptions) {
    this.train = train;
    this.test = test;
    this.dataNorm = pixelStats(train);
    this.#parallel = parallel;
  }

  /**
   * A trainer with the default network (the small net), its DataParallel's workers started.
   *
   * @throws {DataParallelError} If a worker does not start (its module does not load, say).
   */
  static async create(
    train: LabelledImages,
    test: LabelledImages,
    parallel: ParallelOptions = {},
  ): Promise<Trainer> {
    const t = new Trainer(train, test, parallel);
    await t.build(defaultSpec(), "small");
    return t;
  }

  /** The DataParallel that trains the network (null after a failed start). */
  get parallel(): DataParallel | null {
    return this.#dp;
  }

  /** Why training stopped (a worker's error, divergence), or null while it can go on. */
  get failure(): string | null {
    return this.#failure;
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
   * statistics, and a new DataParallel to train it (the previous one is closed first: its
   * workers hold the old layer list); the optimiser starts afresh.
   *
   * @throws {RangeError} If the layer list is not a digit classifier ({@link checkSpec}); the
   *   network in training stays.
   * @throws {DataParallelError} If a worker does not start.
   */
  async build(spec: unknown, model: string, config?: TrainConfig): Promise<BuildInfo> {
    const checked = checkSpec(spec);
    await this.#install(checked.net, checked.spec, model, this.dataNorm, checked.shapes);
    this.configure(config ?? defaultConfig(model));
    return this.info();
  }

  /**
   * Restores a checkpoint (the CLI's runs/*.safetensors or one this page saved): its layer list,
   * weights, buffers and normalisation, in a new DataParallel (its workers build the checkpoint's
   * layer list; the restored network is its canonical network).
   *
   * @throws {RangeError} As restoreCheckpoint, or if the network is not a digit classifier; the
   *   network in training stays.
   * @throws {DataParallelError} If a worker does not start.
   */
  async restore(bytes: Uint8Array, name: string, config?: TrainConfig): Promise<BuildInfo> {
    const r = restoreCheckpoint(bytes, name, { dtype: "float32" });
    const { shapes } = checkSpec(r.spec); // the shapes (and that it takes 28×28 digits)
    const model = r.metadata["convprop.model"] ?? "custom";
    await this.#install(r.net, r.spec, model, r.norm, shapes);
    this.configure(config ?? defaultConfig(model));
    return this.info();
  }

  async #install(
    net: Sequential,
    spec: LayerSpec[],
    model: string,
    norm: Normalization,
    shapes: number[][],
  ): Promise<void> {
    await this.close(); // no leaked workers: the old network's stop before the new ones start
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
    this.#config = this.#nextConfig = undefined;
    this.#failure = null;
    try {
      // the canonical network is this one (DataParallel trains it in place); seed 1 also seeds
      // the dropout masks, by step and shard
      this.#dp = await DataParallel.create(spec, {
        net,
        shards: SHARDS,
        seed: 1,
        ...(this.#parallel.workers === undefined ? {} : { workers: this.#parallel.workers }),
        ...(this.#parallel.workerUrl === undefined ? {} : { workerUrl: this.#parallel.workerUrl }),
      });
    } catch (e) {
      this.#failure = (e as Error).message;
      throw e;
    }
  }

  /** Stops the DataParallel's workers (the network stays, for inspection and saving). */
  async close(): Promise<void> {
    const dp = this.#dp;
    this.#dp = null;
    await dp?.close();
  }

  /** What the page shows about the network. */
  info(): BuildInfo {
    const params = this.#net.params().reduce((n, p) => n + p.value.data.length, 0);
    const dp = this.#dp;
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
      config: this.#nextConfig ?? this.#config!,
      parallel: dp === null ? null : { workers: dp.workers, shards: dp.shards, memory: dp.memory },
    };
  }

  /**
   * Sets the optimiser, learning rate and batch size, from the next step on (a step under way
   * keeps its optimiser). A change of optimiser starts its state afresh (Adam's moments, SGD's
   * velocity).
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
    this.#nextConfig = { optimizer, lr, batchSize };
  }

  #applyConfig(): void {
    const c = this.#nextConfig;
    if (c === undefined) return;
    this.#nextConfig = undefined;
    const old = this.#config;
    if (old === undefined || old.optimizer !== c.optimizer) {
      const params = this.#net.params();
      this.#optimizer = c.optimizer === "adam"
        ? new Adam(params, { lr: c.lr })
        : new SGD(params, { lr: c.lr, momentum: 0.9 });
    }
    this.#optimizer.lr = c.lr;
    this.#config = c;
  }

  /**
   * Trains for about `ms` milliseconds (at least one step, unless `stop` says so first), each
   * step `DataParallel.step` on the next mini-batch; `stop` is asked between steps (a pause or a
   * rebuild waits for one step at most).
   *
   * @returns The progress; `points` are the curve points since the last call.
   * @throws {Error} If a worker failed (DataParallelError) or training diverged: the trainer's
   *   workers are then stopped, {@link Trainer.failure} says why, and only a rebuild or a load
   *   trains again.
   */
  async trainFor(ms: number, stop: () => boolean = () => false): Promise<Progress> {
    const t0 = performance.now();
    do {
      if (stop()) break;
      await this.#trainStep();
    } while (performance.now() - t0 < ms);
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

  #dataParallel(): DataParallel {
    if (this.#failure !== null) {
      throw new Error(`${this.#failure} (rebuild the network or load a checkpoint)`);
    }
    if (this.#dp === null) throw new Error("the trainer's workers are stopped");
    return this.#dp;
  }

  async #trainStep(): Promise<void> {
    const dp = this.#dataParallel();
    this.#applyConfig();
    const B = this.#config!.batchSize;
    if (this.#cursor >= this.#order.length) {
      if (this.#order.length) this.#epoch++;
      this.#order = shuffledOrder(this.train.count, this.#rng);
      this.#cursor = 0;
    }
    const end = Math.min(this.#cursor + B, this.#order.length);
    const batch = makeBatch(this.train, this.#order.subarray(this.#cursor, end), {
      norm: this.#norm,
    });
    this.#cursor = end;
    let loss: number, hits: number;
    try {
      // the workers compute the shards' gradients; DataParallel sums them in shard order into
      // the network's param grads and takes the optimiser's step here
      ({ loss, correct: hits } = await dp.step(batch, this.#optimizer));
    } catch (e) {
      const message = e instanceof DataParallelError
        ? (e as Error).message
        : `training diverged at step ${this.#step + 1} (lr ${this.#config!.lr}): ` +
          `${(e as Error).message}; lower the learning rate and rebuild the network`;
      this.#failure = message;
      await this.close();
      throw new Error(message);
    }
    const labels = batch.labels;
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

  /**
   * Evaluates the test set: loss, accuracy and confusion matrix by `DataParallel.evaluate` (the
   * batches shared among the workers, so this thread waits and answers messages meanwhile;
   * equal to the library's `evaluate` bit for bit), then the first {@link SAMPLES} test images'
   * top-3 here, one small forward pass.
   *
   * @throws {Error} If the workers failed or are stopped, or the loss is not finite: the workers
   *   are then stopped, as after a failed step.
   */
  async evaluate(): Promise<EvalResult> {
    const dp = this.#dataParallel();
    const step = this.#step, epoch = this.#epochNow();
    let ev;
    try {
      ev = await dp.evaluate(this.test, { norm: this.#norm, batchSize: EVAL_BATCH });
    } catch (e) {
      // a worker failed, or the outputs are not finite (the weights diverged): either way only
      // a rebuild trains again
      this.#failure = (e as Error).message;
      await this.close();
      throw e;
    }
    const n = Math.min(SAMPLES, this.test.count);
    const indices = Array.from({ length: n }, (_, i) => i);
    const { x, labels } = makeBatch(this.test, indices, { norm: this.#norm });
    const net = this.#net.eval();
    const samples: EvalResult["samples"] = [];
    try {
      const p = softmax(net.forward(x)), K = 10;
      for (let i = 0; i < n; i++) {
        const row = p.data.subarray(i * K, (i + 1) * K);
        samples.push({
          index: i,
          label: labels[i],
          top: topK(row, 3).map((k) => [k, row[k]] as [number, number]),
        });
      }
    } finally {
      net.train();
    }
    return {
      step,
      epoch,
      count: ev.count,
      accuracy: ev.accuracy,
      loss: ev.loss,
      confusion: ev.confusion,
      samples,
    };
  }

  /**
   * The first layer with a convolution kernel: its weights and their gradient from the last
   * step (zeros before the first): the batch's gradient Σ (n_s/B)·g_s that DataParallel.step
   * forms from the shards' in the network's param grads for the optimiser, which leaves it there.
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
