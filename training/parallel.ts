/**
 * Data-parallel training and evaluation on Workers: the same numbers for any number of workers.
 *
 * Design. The main thread holds the canonical network (`DataParallel.net`) and the optimiser;
 * each worker (training/parallel_worker.ts) holds a replica built from the same layer list. A
 * step cuts the mini-batch of B images into S shards (S, `shards`, is an option of its own,
 * never derived from the number of workers W): shard s holds images [start_s, end_s), the first
 * B mod S shards one image more (training/_parallel_shard.ts, `shardBounds`). Shard s goes to
 * worker s mod W, which loads the step's parameters and buffers, runs forward, the loss (the
 * shard's mean) and backward, and returns the gradient g_s of the shard's mean loss. The main
 * thread forms the batch's gradient in shard order,
 *
 *     g = (n_0/B)·g_0 + (n_1/B)·g_1 + … + (n_{S−1}/B)·g_{S−1}      (left to right, in the
 *                                                                  parameters' element type)
 *
 * which is the gradient of the batch's mean loss, and takes one optimiser step. Which worker
 * computed which shard does not enter any of it: each g_s comes from the same code on the same
 * inputs, and the sum's order is fixed by S. So 1, 2, 3 or 4 workers end with bit-identical
 * parameters; with S = 1 the step is bit-identical to {@link trainEpoch}'s (the weight is 1).
 *
 * - Batch normalisation normalises each shard with the shard's own statistics, as PyTorch's
 *   DistributedDataParallel does without SyncBatchNorm: S, not W, fixes the numbers. The running
 *   statistics (and `num_batches_tracked`) are those shard 0's forward pass leaves, as DDP's
 *   default `broadcast_buffers=True` takes rank 0's; every shard starts from the step's buffers.
 * - Dropout: the masks of shard s of step t come from `mulberry32(shardSeed(seed, t, s))`, so
 *   they depend on the shard, never on the worker.
 * - The reported loss of a step is Σ (n_s/B)·loss_s in shard order (float64), its accuracy the
 *   shards' correct counts summed.
 * - Evaluation: batches of `batchSize` in stored order, whole batches split among the workers;
 *   the main thread adds the batches' sums in batch order, exactly as {@link evaluate} does, so
 *   the result equals the one-thread evaluation bit for bit.
 *
 * Memory. Mode "shared" (where SharedArrayBuffer exists and, in a browser, the page is
 * cross-origin isolated): parameters, one gradient slot per shard and two input slots (the next
 * batch is written while a step runs) live in SharedArrayBuffers; messages carry only where to
 * look, and are the barrier (a postMessage orders the writes before it). Mode "transfer" (a
 * plain static page, no COOP/COEP headers): parameters travel as a copy per worker, images and
 * gradients as transferred ArrayBuffers. Both give the same numbers. Batch-norm buffers (a few
 * hundred numbers) travel in the messages in both modes.
 *
 * Failure. An error in a worker (bad input, a non-finite loss, out of memory, a module that
 * does not load) rejects the running call with a {@link DataParallelError} naming the worker
 * (and the original error as `cause`), and every worker is terminated; the trainer is then
 * closed. The parameters change only in the optimiser step after every shard has answered, so
 * a failed or interrupted step leaves the network as the last complete step left it.
 *
 * @module
 */

import type { FloatArray, Tensor } from "../tensor.ts";
import type { Optimizer } from "../optim/optimizer.ts";
import type { LabelledImages } from "../data/idx.ts";
import { type Batch, miniBatches, type Normalization } from "../data/batches.ts";
import type { Param } from "../layers/layer.ts";
import type { Sequential } from "../network/sequential.ts";
import { buildNetwork, type LayerSpec } from "../network/models.ts";
import { getBackend } from "../backend.ts";
import type { EpochStats, Evaluation, TrainEpochOptions } from "./loop.ts";
import { evaluationOf, firstNonFinite, newTally } from "./loop.ts";
import {
  type EvalBatchResult,
  type FlatBuffers,
  type FlatLayout,
  flatLayout,
  floatsOf,
  gatherBuffers,
  gatherParams,
  reduceShards,
  scatterBuffers,
  shardBounds,
  type ShardResult,
} from "./_parallel_shard.ts";
import type { ToMain, ToWorker } from "./_parallel_protocol.ts";
import { hardwareThreads, spawnThread, type ThreadHandle } from "./_threads.ts";

/** Options of {@link DataParallel.create}. */
export interface DataParallelOptions {
  /** Worker threads: a positive integer, or "auto" (the runtime's hardware threads, at most
   * `shards`); default "auto". */
  workers?: number | "auto";
  /** Shards per mini-batch, S ≥ 1: fixes the arithmetic (see the module's header); default 2. */
  shards?: number;
  /** The canonical network, trained in place (it must be `buildNetwork(spec)`'s layout); default
   * `buildNetwork(spec, { seed, dtype })`. */
  net?: Sequential;
  /** Seed of the initial weights (without `net`) and of the dropout masks; default 0. */
  seed?: number;
  /** Element type of a network built here; default "float32". */
  dtype?: "float32" | "float64";
  /** "shared" (SharedArrayBuffer), "transfer" (copied and transferred buffers), or "auto" (shared
   * where available: Deno, Node, a cross-origin isolated page); default "auto". */
  memory?: "auto" | "shared" | "transfer";
  /** The worker module; default training/parallel_worker.js next to this module (what a bundler
   * that moves files must be told). */
  workerUrl?: URL | string;
}

/**
 * An error in one worker: the running call rejects with it and every worker is stopped.
 *
 * @example The worker's index and its original error
 * ```ts
 * import { DataParallelError } from "./parallel.ts";
 * import { assertEquals } from "@std/assert";
 * const e = new DataParallelError(1, new RangeError("makeBatch: label 12 is not below 10"));
 * assertEquals([e.name, e.worker], ["DataParallelError", 1]);
 * assertEquals(e.message, "DataParallel: worker 1 failed: makeBatch: label 12 is not below 10");
 * assertEquals((e.cause as Error).name, "RangeError");
 * ```
 */
export class DataParallelError extends Error {
  /** Index of the worker that failed, from 0. */
  readonly worker: number;

  /**
   * Wraps a worker's error.
   *
   * @param worker The worker's index.
   * @param cause The worker's error.
   */
  constructor(worker: number, cause: Error) {
    super(`DataParallel: worker ${worker} failed: ${cause.message}`, { cause });
    this.name = "DataParallelError";
    this.worker = worker;
  }
}

const DEFAULT_SHARDS = 2;

// In the CommonJS build the npm build defines import.meta.url as undefined; CommonJS has this.
declare const __filename: string | undefined;

/** The worker module next to this one: ".ts" in the sources, ".js" in the npm package. */
function defaultWorkerUrl(): URL {
  let here: string | undefined = import.meta.url;
  if (here === undefined && typeof __filename === "string") {
    const p = __filename.replace(/\\/g, "/");
    here = (p.startsWith("/") ? "file://" : "file:///") +
      encodeURI(p).replace(/[?#]/g, encodeURIComponent);
  }
  if (here === undefined) {
    throw new Error("DataParallel: cannot locate the worker module; pass workerUrl");
  }
  return new URL(`./parallel_worker${here.endsWith(".ts") ? ".ts" : ".js"}`, here);
}

/** Whether SharedArrayBuffer may be used here (in a browser: only cross-origin isolated). */
function sharedMemoryAvailable(): boolean {
  const g = globalThis as { crossOriginIsolated?: boolean };
  return typeof SharedArrayBuffer === "function" && g.crossOriginIsolated !== false;
}

/** A shard as a step message names it (with its data in mode "transfer"). */
interface ShardOrder {
  shard: number;
  start: number;
  end: number;
  x?: Float32Array;
  labels?: Uint8Array;
}

interface Pending {
  resolve(m: ToMain): void;
  reject(e: Error): void;
}

/**
 * Data-parallel training and evaluation over Workers (Web Workers in Deno and browsers,
 * `worker_threads` on Node), with the same numbers for any number of workers: the shard count,
 * not the worker count, fixes the arithmetic (see the module's header). All the work runs in
 * the workers, so a page that calls it from its main thread stays responsive; every method is
 * asynchronous. Call {@link DataParallel.close} when done (or let an error close it).
 *
 * @example Two workers train a small network; a second run with one worker ends bit-identical
 * ```ts
 * import { DataParallel } from "./parallel.ts";
 * import { SGD } from "../optim/sgd.ts";
 * import { mulberry32 } from "../random.ts";
 * import { assert, assertEquals } from "@std/assert";
 * const labels = Uint8Array.from({ length: 64 }, (_, i) => i % 2);
 * const images = Uint8Array.from({ length: 64 * 4 }, (_, i) => labels[i >> 2] ? 200 : 40);
 * const set = { images, labels, count: 64, height: 2, width: 2 };
 * const spec = [{ type: "flatten" as const }, { type: "fc" as const, inFeatures: 4, outFeatures: 2 }];
 * async function run(workers: number): Promise<Float32Array> {
 *   const dp = await DataParallel.create(spec, { workers, shards: 2, seed: 1 });
 *   try {
 *     const optimizer = new SGD(dp.net.params(), { lr: 0.1 });
 *     const opts = { batchSize: 8, norm: { mean: 0.5, std: 0.3 }, rng: mulberry32(2), optimizer };
 *     await dp.trainEpoch(set, opts);
 *     const ev = await dp.evaluate(set, { norm: opts.norm, classes: 2 });
 *     assert(ev.accuracy === 1);
 *     return dp.net.params()[0].value.data as Float32Array;
 *   } finally {
 *     await dp.close();
 *   }
 * }
 * assertEquals(await run(2), await run(1));
 * ```
 */
export class DataParallel {
  /** The canonical network: the optimiser updates its parameters; checkpoints save it. */
  readonly net: Sequential;
  /** Worker threads. */
  readonly workers: number;
  /** Shards per mini-batch. */
  readonly shards: number;
  /** How bulk data reaches the workers: shared memory, or copied and transferred buffers. */
  readonly memory: "shared" | "transfer";
  readonly #spec: readonly LayerSpec[];
  readonly #layout: FlatLayout;
  readonly #params: Param[];
  readonly #seed: number;
  #threads: ThreadHandle[] = [];
  #pending = new Map<number, Pending>();
  #closed = false;
  #busy = false;
  #failure: Error | undefined;
  #steps = 0;
  // mode "shared"
  #sharedParams: FloatArray | undefined;
  #sharedGrads: FloatArray[] = [];
  #inputs: { x: Float32Array; labels: Uint8Array }[] = [];

  private constructor(
    spec: readonly LayerSpec[],
    net: Sequential,
    opts: { workers: number; shards: number; memory: "shared" | "transfer"; seed: number },
  ) {
    this.#spec = spec;
    this.net = net;
    this.workers = opts.workers;
    this.shards = opts.shards;
    this.memory = opts.memory;
    this.#seed = opts.seed;
    this.#params = net.params();
    this.#layout = flatLayout(net, "DataParallel.create");
  }

  /**
   * Starts the workers, each with a replica of the network made from `spec`.
   *
   * @param spec The layer list (what {@link buildNetwork} takes): workers rebuild the network
   *   from it, so the network must be one it describes.
   * @param opts Workers, shards, the network, seed, element type, memory mode, worker module.
   * @returns The trainer, its workers ready.
   * @throws {RangeError} If `workers` or `shards` is not a positive integer, `workers` exceeds
   *   `shards` (a worker would idle), "shared" memory is asked where SharedArrayBuffer is not
   *   available, or `net` does not have `spec`'s parameters.
   * @throws {DataParallelError} If a worker fails to start (its module does not load, say).
   */
  static async create(
    spec: readonly LayerSpec[],
    opts: DataParallelOptions = {},
  ): Promise<DataParallel> {
    const fn = "DataParallel.create";
    const { shards = DEFAULT_SHARDS, seed = 0, dtype = "float32", memory = "auto" } = opts;
    if (!Number.isInteger(shards) || shards < 1) {
      throw new RangeError(`${fn}: shards must be a positive integer, got ${shards}`);
    }
    const asked = opts.workers ?? "auto";
    let workers: number;
    if (asked === "auto") workers = Math.min(await hardwareThreads(), shards);
    else if (!Number.isInteger(asked) || asked < 1) {
      throw new RangeError(`${fn}: workers must be a positive integer or "auto", got ${asked}`);
    } else if (asked > shards) {
      throw new RangeError(
        `${fn}: ${asked} workers for ${shards} shards: ${asked - shards} would idle; use at ` +
          `most ${shards} workers or more shards`,
      );
    } else workers = asked;
    if (!["auto", "shared", "transfer"].includes(memory)) {
      throw new RangeError(`${fn}: memory must be "auto", "shared" or "transfer", got ${memory}`);
    }
    if (memory === "shared" && !sharedMemoryAvailable()) {
      throw new RangeError(
        `${fn}: memory "shared" needs SharedArrayBuffer (in a browser: a cross-origin isolated ` +
          `page, COOP/COEP headers); use "transfer" or "auto"`,
      );
    }
    const mode = memory === "auto" ? (sharedMemoryAvailable() ? "shared" : "transfer") : memory;
    const net = opts.net ?? buildNetwork(spec, { seed, dtype });
    const dp = new DataParallel(spec, net, { workers, shards, memory: mode, seed });
    const want = flatLayout(buildNetwork(spec, { dtype: dp.#layout.dtype }), fn);
    const key = (l: FlatLayout) => l.params.map((p) => `${p.name}:${p.length}`).join(",");
    if (key(want) !== key(dp.#layout)) {
      throw new RangeError(
        `${fn}: net has parameters ${key(dp.#layout)}, but spec describes ${key(want)}`,
      );
    }
    await dp.#start(opts.workerUrl === undefined ? defaultWorkerUrl() : new URL(opts.workerUrl));
    return dp;
  }

  async #start(url: URL): Promise<void> {
    const L = this.#layout.paramLength, bytes = this.#layout.dtype === "float64" ? 8 : 4;
    let shared: { params: SharedArrayBuffer; grads: SharedArrayBuffer } | undefined;
    if (this.memory === "shared") {
      shared = {
        params: new SharedArrayBuffer(L * bytes),
        grads: new SharedArrayBuffer(this.shards * L * bytes),
      };
      this.#sharedParams = floatsOf(this.#layout, L, shared.params);
      for (let s = 0; s < this.shards; s++) {
        this.#sharedGrads.push(
          this.#layout.dtype === "float64"
            ? new Float64Array(shared.grads, s * L * 8, L)
            : new Float32Array(shared.grads, s * L * 4, L),
        );
      }
    }
    try {
      for (let i = 0; i < this.workers; i++) {
        this.#threads.push(
          await spawnThread(url, {
            message: (data) => this.#onMessage(i, data as ToMain),
            failure: (e) => this.#fail(i, e),
          }),
        );
      }
    } catch (e) {
      await this.#stopAll();
      throw e;
    }
    const init: ToWorker = {
      kind: "init",
      spec: this.#spec,
      dtype: this.#layout.dtype,
      params: this.#layout.params,
      seed: this.#seed,
      shared,
    };
    await this.#exchange(this.#threads.map(() => ({ message: init })));
  }

  #onMessage(i: number, m: ToMain): void {
    if (m.kind === "error") {
      const e = new Error(m.message);
      e.name = m.name;
      e.stack = m.stack;
      this.#fail(i, e);
      return;
    }
    const p = this.#pending.get(i);
    this.#pending.delete(i);
    p?.resolve(m);
  }

  /** Worker i failed: reject what runs, stop every worker, close. */
  #fail(i: number, cause: Error): void {
    if (this.#failure !== undefined || this.#closed) return;
    const error = new DataParallelError(i, cause);
    this.#failure = error;
    this.#closed = true;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    void this.#stopAll();
    for (const p of pending) p.reject(error);
  }

  async #stopAll(): Promise<void> {
    const threads = this.#threads;
    this.#threads = [];
    await Promise.all(threads.map((t) => t.terminate()));
  }

  /** Posts one message per worker (or none, for a null entry) and waits for every answer. */
  #exchange(
    messages: readonly ({ message: ToWorker; transfer?: Transferable[] } | null)[],
  ): Promise<ToMain[]> {
    if (this.#closed) {
      return Promise.reject(
        this.#failure ??
          new Error(
            "DataParallel: closed while a call was running; the network holds the parameters " +
              "of the last complete step",
          ),
      );
    }
    const waits: Promise<ToMain>[] = [];
    messages.forEach((m, i) => {
      if (m === null) return;
      waits.push(
        new Promise<ToMain>((resolve, reject) => this.#pending.set(i, { resolve, reject })),
      );
      this.#threads[i].post(m.message, m.transfer);
    });
    return Promise.all(waits);
  }

  #enter(fn: string): void {
    if (this.#failure !== undefined) {
      throw new Error(
        `${fn}: the trainer was closed by an earlier failure: ${this.#failure.message}`,
      );
    }
    if (this.#closed) throw new Error(`${fn}: the trainer is closed`);
    if (this.#busy) throw new Error(`${fn}: another call is running; await it first`);
    this.#busy = true;
  }

  /** Mode "shared": input slots for batches of up to `n` images of `p` pixels. */
  #ensureInputs(n: number, p: number): void {
    if (this.memory !== "shared") return;
    if (this.#inputs.length === 2 && this.#inputs[0].x.length >= n * p) return;
    const slots = [0, 1].map(() => ({
      x: new SharedArrayBuffer(n * p * 4),
      labels: new SharedArrayBuffer(n),
    }));
    this.#inputs = slots.map((s) => ({
      x: new Float32Array(s.x),
      labels: new Uint8Array(s.labels),
    }));
    for (const t of this.#threads) t.post({ kind: "inputs", slots } satisfies ToWorker);
  }

  /** The parameters for a message: into shared memory (undefined), or a copy to post. */
  #paramsForMessage(): FloatArray | undefined {
    if (this.#sharedParams !== undefined) {
      gatherParams(this.#params, this.#sharedParams, "value");
      return undefined;
    }
    const flat = floatsOf(this.#layout, this.#layout.paramLength);
    gatherParams(this.#params, flat, "value");
    return flat;
  }

  /**
   * Trains for one epoch, as {@link trainEpoch} does (the same options, progress and result),
   * with each mini-batch's gradient computed by the workers, shard by shard, and one optimiser
   * step per batch on the main thread. The optimiser must update `this.net`'s parameters.
   *
   * @param set The training images.
   * @param opts Batch size, normalisation, shuffling source, shifts, optimiser, schedule,
   *   callback.
   * @returns Mean loss and accuracy over the epoch.
   * @throws {DataParallelError} If a worker fails (the loss of a shard is not finite, a layer
   *   throws, ...): every worker is stopped and the trainer closed; the network holds the
   *   parameters of the last complete step.
   * @throws {Error} If a parameter is not finite after a step (training diverged), the trainer
   *   is closed or busy, or as the optimiser and batching throw.
   */
  async trainEpoch(set: LabelledImages, opts: TrainEpochOptions): Promise<EpochStats> {
    const fn = "DataParallel.trainEpoch";
    this.#enter(fn);
    try {
      return await this.#trainEpoch(set, opts);
    } finally {
      this.#busy = false;
    }
  }

  async #trainEpoch(set: LabelledImages, opts: TrainEpochOptions): Promise<EpochStats> {
    const { batchSize, norm, rng, shift = 0, optimizer, schedule, onBatch } = opts;
    const batches = Math.ceil(set.count / batchSize);
    let batch = 0, samples = 0, lossSum = 0, correct = 0;
    const source = miniBatches(set, { batchSize, norm, rng, shift });
    this.#ensureInputs(batchSize, set.height * set.width);
    let next = source.next();
    let slot = 0;
    if (!next.done && this.memory === "shared") this.#copyInput(next.value, slot);
    while (!next.done) {
      const { x, labels } = next.value;
      batch++;
      const B = labels.length;
      if (schedule !== undefined) optimizer.lr = schedule(optimizer.steps);
      const step = await this.#runStep(x, labels, optimizer, slot, () => {
        // while the workers compute: the next batch (into the other input slot)
        next = source.next();
        if (!next.done && this.memory === "shared") this.#copyInput(next.value, 1 - slot);
      }, `step ${batch} of ${batches}`);
      correct += step.correct;
      samples += B;
      lossSum += step.loss * B;
      slot = 1 - slot;
      onBatch?.({
        batch,
        batches,
        samples,
        loss: step.loss,
        meanLoss: lossSum / samples,
        accuracy: correct / samples,
        lr: optimizer.lr,
      });
    }
    return { loss: lossSum / samples, accuracy: correct / samples, samples };
  }

  /**
   * One training step on a batch the caller made (a data pipeline of one's own): the workers'
   * shard gradients, summed in shard order, then `optimizer.step()` on the main thread, exactly
   * as each step of {@link DataParallel.trainEpoch}.
   *
   * @param batch The images x [B, C, H, W] (Float32Array) and their B labels, as `makeBatch`
   *   gives them.
   * @param optimizer Updates `this.net`'s parameters.
   * @returns The batch's mean loss and how many images were classified correctly (before the
   *   step).
   * @throws {RangeError} If x is not a float32 [B, C, H, W] batch or labels does not have B
   *   entries.
   * @throws {DataParallelError} If a worker fails; as {@link DataParallel.trainEpoch}.
   * @throws {Error} If a parameter is not finite after the step, or the trainer is closed or busy.
   */
  async step(batch: Batch, optimizer: Optimizer): Promise<{ loss: number; correct: number }> {
    const fn = "DataParallel.step";
    this.#enter(fn);
    try {
      const { x, labels } = batch ?? {};
      if (!(x?.data instanceof Float32Array) || x.shape?.length !== 4) {
        throw new RangeError(`${fn}: x must be a float32 batch [B, C, H, W]`);
      }
      const [B, C, H, W] = x.shape;
      if (!(labels instanceof Uint8Array) || labels.length !== B || B < 1) {
        throw new RangeError(
          `${fn}: labels must be a Uint8Array of B = ${B} entries, got ${labels?.length}`,
        );
      }
      if (x.data.length !== B * C * H * W) {
        throw new RangeError(`${fn}: x holds ${x.data.length} numbers for shape [${x.shape}]`);
      }
      this.#ensureInputs(B, C * H * W);
      if (this.memory === "shared") this.#copyInput({ x, labels }, 0);
      return await this.#runStep(x, labels, optimizer, 0, () => {}, `step ${this.#steps + 1}`);
    } finally {
      this.#busy = false;
    }
  }

  /** A step of the batch in input slot `slot` (mode "shared") or in x and labels. */
  async #runStep(
    x: Tensor<Float32Array>,
    labels: Uint8Array,
    optimizer: Optimizer,
    slot: number,
    whileWaiting: () => void,
    where: string,
  ): Promise<{ loss: number; correct: number }> {
    const S = this.shards, W = this.workers, B = labels.length;
    const P = x.data.length / B;
    const params = this.#paramsForMessage();
    const buffers = gatherBuffers(this.net);
    const shardLists: ShardOrder[][] = Array.from({ length: W }, () => []);
    const transfers: Transferable[][] = Array.from({ length: W }, () => []);
    const sizes: number[] = [];
    for (let s = 0; s < S; s++) {
      const [start, end] = shardBounds(B, S, s);
      if (end === start) break; // only trailing shards are empty
      sizes.push(end - start);
      const entry: ShardOrder = { shard: s, start, end };
      if (this.memory === "transfer") {
        entry.x = x.data.slice(start * P, end * P);
        entry.labels = labels.slice(start, end);
        transfers[s % W].push(entry.x.buffer as ArrayBuffer, entry.labels.buffer as ArrayBuffer);
      }
      shardLists[s % W].push(entry);
    }
    const answers = this.#exchange(shardLists.map((shards, w) =>
      shards.length === 0 ? null : {
        message: {
          kind: "step",
          step: this.#steps,
          slot,
          shape: x.shape,
          backend: getBackend(),
          params,
          buffers,
          shards,
        },
        transfer: transfers[w],
      }
    ));
    try {
      whileWaiting();
    } catch (e) {
      await answers.catch(() => {}); // let the workers finish this step before reporting
      throw e;
    }
    const replies = await answers;
    // shard order: worker w answered for shards w, w + W, ...
    const results: ShardResult[] = new Array(sizes.length);
    const grads: FloatArray[] = new Array(sizes.length);
    let after0: FlatBuffers | undefined;
    let r = 0;
    for (let w = 0; w < W; w++) {
      if (shardLists[w].length === 0) continue;
      const m = replies[r++];
      if (m.kind !== "step") throw new Error(`DataParallel: unexpected answer ${m.kind}`);
      m.results.forEach((res, k) => {
        results[res.shard] = res;
        grads[res.shard] = m.grads?.[k] ?? this.#sharedGrads[res.shard];
      });
      if (m.buffers !== undefined) after0 = m.buffers;
    }
    reduceShards(this.#params, grads, sizes, B);
    let loss = 0, correct = 0;
    for (let s = 0; s < sizes.length; s++) {
      loss += (sizes[s] / B) * results[s].loss;
      correct += results[s].correct;
    }
    optimizer.step();
    if (after0 !== undefined) scatterBuffers(this.net, after0);
    this.#steps++;
    const bad = firstNonFinite(this.#params);
    if (bad !== null) {
      throw new Error(
        `DataParallel: after ${where} (lr ${optimizer.lr}) parameter "${bad.name}" holds ` +
          `${bad.value} at index ${bad.index}: training diverged; try a smaller learning rate`,
      );
    }
    return { loss, correct };
  }

  #copyInput(b: { x: { data: Float32Array }; labels: Uint8Array }, slot: number): void {
    this.#inputs[slot].x.set(b.x.data);
    this.#inputs[slot].labels.set(b.labels);
  }

  /**
   * Evaluates the network on a labelled set, as {@link evaluate} does and with its result bit
   * for bit: batches of `batchSize` in stored order, whole batches shared among the workers,
   * their sums added in batch order.
   *
   * @param set The images (usually the test set).
   * @param opts Pixel normalisation, batch size (default 500), number of classes (default 10).
   * @returns Loss, accuracy, error count and confusion matrix.
   * @throws {DataParallelError} If a worker fails (the network does not output [N, classes],
   *   say): every worker is stopped and the trainer closed.
   * @throws {Error} If the loss is not finite, or the trainer is closed or busy.
   */
  async evaluate(
    set: LabelledImages,
    opts: { norm: Normalization; batchSize?: number; classes?: number },
  ): Promise<Evaluation> {
    const fn = "DataParallel.evaluate";
    this.#enter(fn);
    try {
      const { norm, batchSize = 500, classes: K = 10 } = opts;
      if (!Number.isInteger(batchSize) || batchSize < 1) {
        throw new RangeError(`${fn}: batchSize must be a positive integer, got ${batchSize}`);
      }
      const nb = Math.ceil(set.count / batchSize), W = this.workers, P = set.height * set.width;
      const params = this.#paramsForMessage();
      const buffers = gatherBuffers(this.net);
      const messages = Array.from({ length: W }, (_, w) => {
        const first = Math.floor((w * nb) / W), last = Math.floor(((w + 1) * nb) / W);
        if (last === first) return null;
        const a = first * batchSize, b = Math.min(last * batchSize, set.count);
        const images = set.images.slice(a * P, b * P), labels = set.labels.slice(a, b);
        const message: ToWorker = {
          kind: "evaluate",
          backend: getBackend(),
          params,
          buffers,
          set: { images, labels, count: b - a, height: set.height, width: set.width },
          norm,
          batchSize,
          classes: K,
        };
        return { message, transfer: [images.buffer, labels.buffer] as Transferable[] };
      });
      const replies = await this.#exchange(messages);
      const tally = newTally(K);
      for (const m of replies) {
        if (m.kind !== "evaluate") throw new Error(`${fn}: unexpected answer ${m.kind}`);
        for (const b of m.batches as EvalBatchResult[]) {
          tally.lossSum += b.lossTimesSize;
          tally.correct += b.correct;
        }
        for (let i = 0; i < tally.confusion.length; i++) tally.confusion[i] += m.confusion[i];
      }
      tally.count = set.count;
      return evaluationOf(tally);
    } finally {
      this.#busy = false;
    }
  }

  /**
   * Stops every worker; a call still running rejects. Safe to call more than once. The network
   * keeps the parameters of the last complete step.
   *
   * @returns When every worker has stopped.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      const pending = [...this.#pending.values()];
      this.#pending.clear();
      const e = new Error(
        "DataParallel: closed while a call was running; the network holds the parameters of " +
          "the last complete step",
      );
      for (const p of pending) p.reject(e);
    }
    await this.#stopAll();
  }

  /** Steps taken by this trainer (the index of the next step's dropout masks). */
  get steps(): number {
    return this.#steps;
  }
}
