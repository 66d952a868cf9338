/**
 * What a data-parallel worker computes, and the arithmetic every worker count shares: where a
 * shard of a mini-batch begins and ends, the seed of a shard's dropout masks, a network's
 * parameters and buffers as flat arrays (the form they travel in between threads), the gradient
 * of one shard, and the per-batch sums of an evaluation. Pure functions and one class, no
 * threads: training/parallel_worker.ts runs them in a worker, training/parallel.ts reduces their
 * results, and the tests can call them on one thread. Design: the header of training/parallel.ts.
 *
 * @module
 */

import type { FloatArray, Tensor } from "../tensor.ts";
import type { LabelledImages } from "../data/idx.ts";
import { makeBatch, type Normalization } from "../data/batches.ts";
import type { Layer, Param } from "../layers/layer.ts";
import { Dropout } from "../layers/dropout.ts";
import { Sequential } from "../network/sequential.ts";
import { SoftmaxCrossEntropy } from "../network/loss.ts";
import { buildNetwork, type LayerSpec } from "../network/models.ts";
import { mulberry32 } from "../random.ts";
import { type BackendName, getBackend, setBackend } from "../backend.ts";
import { argmaxRows, type EvalTally, evaluateBatch } from "./loop.ts";

/** The start and end (exclusive) of shard `s` of a batch of `B` split into `S` shards: the
 * first B mod S shards hold one image more, so only trailing shards can be empty (B < S). */
export function shardBounds(B: number, S: number, s: number): [number, number] {
  const base = Math.floor(B / S), rem = B % S;
  const start = s * base + Math.min(s, rem);
  return [start, start + base + (s < rem ? 1 : 0)];
}

/** The seed of the dropout masks of shard `shard` of step `step` (a 32-bit hash of the three). */
export function shardSeed(seed: number, step: number, shard: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ step, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ Math.imul(shard + 1, 0x27d4eb2f), 0x165667b1);
  return (h ^ (h >>> 15)) | 0;
}

/** A network's float state as one array per kind: what crosses between threads. */
export interface FlatLayout {
  /** Parameter names and lengths, in `net.params()` order. */
  readonly params: readonly { name: string; length: number }[];
  /** Total parameter entries. */
  readonly paramLength: number;
  /** Float buffers (running statistics): names and lengths, in `net.buffers()` order. */
  readonly floatBuffers: readonly { name: string; length: number }[];
  /** Int64 buffers (batch counts): names and lengths. */
  readonly intBuffers: readonly { name: string; length: number }[];
  /** The parameters' element type. */
  readonly dtype: "float32" | "float64";
}

/** The layout of `net`'s parameters and buffers. */
export function flatLayout(net: Sequential, fn: string): FlatLayout {
  const params = net.params();
  const f64 = params.some((p) => p.value.data instanceof Float64Array);
  const f32 = params.some((p) => p.value.data instanceof Float32Array);
  if (f64 && f32) {
    throw new TypeError(`${fn}: the network mixes float32 and float64 parameters`);
  }
  const floatBuffers = [], intBuffers = [];
  for (const b of net.buffers()) {
    const entry = { name: b.name, length: b.value.data.length };
    if (b.value.data instanceof BigInt64Array) intBuffers.push(entry);
    else floatBuffers.push(entry);
  }
  return {
    params: params.map((p) => ({ name: p.name, length: p.value.data.length })),
    paramLength: params.reduce((n, p) => n + p.value.data.length, 0),
    floatBuffers,
    intBuffers,
    dtype: f64 ? "float64" : "float32",
  };
}

/** A new array of the layout's element type. */
export function floatsOf(layout: FlatLayout, n: number, buffer?: ArrayBufferLike): FloatArray {
  if (buffer !== undefined) {
    return layout.dtype === "float64"
      ? new Float64Array(buffer, 0, n)
      : new Float32Array(buffer, 0, n);
  }
  return layout.dtype === "float64" ? new Float64Array(n) : new Float32Array(n);
}

/** Copies each parameter's values (or gradients) into `flat`, in order. */
export function gatherParams(
  params: readonly Param[],
  flat: FloatArray,
  what: "value" | "grad",
): void {
  let o = 0;
  for (const p of params) {
    const d = p[what].data;
    flat.set(d, o);
    o += d.length;
  }
}

/** Copies `flat` into each parameter's values, in order. */
export function scatterParams(params: readonly Param[], flat: FloatArray): void {
  let o = 0;
  for (const p of params) {
    const d = p.value.data;
    d.set(flat.subarray(o, o + d.length));
    o += d.length;
  }
}

/**
 * g = Σ_s (n_s/B)·g_s, left to right in shard order, into the parameters' gradients: the
 * gradient of the batch's mean loss from the shards' (docs/training.md, "The sharded gradient").
 */
export function reduceShards(
  params: readonly Param[],
  grads: readonly FloatArray[],
  sizes: readonly number[],
  B: number,
): void {
  let o = 0;
  for (const p of params) {
    const g = p.grad.data, n = g.length;
    const w0 = sizes[0] / B, g0 = grads[0];
    for (let i = 0; i < n; i++) g[i] = w0 * g0[o + i];
    for (let s = 1; s < sizes.length; s++) {
      const w = sizes[s] / B, gs = grads[s];
      for (let i = 0; i < n; i++) g[i] = g[i] + w * gs[o + i];
    }
    o += n;
  }
}

/** A network's buffers as two flat arrays (float buffers in float64: float32 converts exactly). */
export interface FlatBuffers {
  /** The float buffers, concatenated. */
  readonly floats: Float64Array;
  /** The int64 buffers, concatenated. */
  readonly ints: BigInt64Array;
}

/** The buffers of `net`, copied. */
export function gatherBuffers(net: Sequential): FlatBuffers {
  const bs = net.buffers();
  let floatLen = 0, intLen = 0;
  for (const b of bs) {
    if (b.value.data instanceof BigInt64Array) intLen += b.value.data.length;
    else floatLen += b.value.data.length;
  }
  const floats = new Float64Array(floatLen), ints = new BigInt64Array(intLen);
  let f = 0, i = 0;
  for (const b of bs) {
    const d = b.value.data;
    if (d instanceof BigInt64Array) {
      for (let k = 0; k < d.length; k++) ints[i++] = d[k];
    } else {
      floats.set(d, f);
      f += d.length;
    }
  }
  return { floats, ints };
}

/** Copies flat buffers into `net`'s buffers. */
export function scatterBuffers(net: Sequential, flat: FlatBuffers): void {
  let f = 0, i = 0;
  for (const b of net.buffers()) {
    const d = b.value.data;
    if (d instanceof BigInt64Array) {
      for (let k = 0; k < d.length; k++) d[k] = flat.ints[i++];
    } else {
      d.set(flat.floats.subarray(f, f + d.length));
      f += d.length;
    }
  }
}

/** Every Dropout layer of `net`, nested Sequentials included, in forward order. */
function dropoutLayers(layers: readonly Layer[], out: Dropout[] = []): Dropout[] {
  for (const l of layers) {
    if (l instanceof Dropout) out.push(l);
    else if (l instanceof Sequential) dropoutLayers(l.layers, out);
  }
  return out;
}

/** One shard's results. */
export interface ShardResult {
  /** The shard's index in the batch. */
  readonly shard: number;
  /** The shard's mean loss. */
  readonly loss: number;
  /** Images of the shard classified correctly (before the step). */
  readonly correct: number;
}

/** One evaluation batch's sums, as `evaluate` accumulates them. */
export interface EvalBatchResult {
  /** The batch's mean loss times its size (what `evaluate` adds to its sum). */
  readonly lossTimesSize: number;
  /** Correct predictions. */
  readonly correct: number;
}

/**
 * A replica of the network, as a worker holds it: loads the canonical parameters and buffers,
 * computes a shard's gradient, evaluates batches.
 */
export class Replica {
  /** The network. */
  readonly net: Sequential;
  /** Its layout (checked against the main thread's). */
  readonly layout: FlatLayout;
  readonly #params: Param[];
  readonly #dropouts: Dropout[];
  readonly #ce = new SoftmaxCrossEntropy();
  #predicted = new Uint8Array(0);

  /** Builds the replica of a network made from `spec` (the weights come with each step). */
  constructor(spec: readonly LayerSpec[], dtype: "float32" | "float64") {
    this.net = buildNetwork(spec, { dtype, seed: 0 });
    this.#params = this.net.params();
    this.#dropouts = dropoutLayers(this.net.layers);
    this.layout = flatLayout(this.net, "Replica");
  }

  /** A copy of the replica's buffers (the running statistics after a shard's forward pass). */
  buffers(): FlatBuffers {
    return gatherBuffers(this.net);
  }

  /** Loads parameters (flat) and buffers; switches to `backend` if another one is current. */
  load(params: FloatArray, buffers: FlatBuffers, backend: BackendName): void {
    if (getBackend() !== backend) setBackend(backend);
    scatterParams(this.#params, params);
    scatterBuffers(this.net, buffers);
  }

  /**
   * Forward, loss and backward of one shard in training mode; the gradient of the shard's mean
   * loss goes to `grad` (flat). Buffers are reset to `buffers` first, so each shard starts from
   * the step's running statistics whichever shards the worker computed before.
   *
   * @throws {Error} If the loss is not finite (naming step and shard), or as the layers throw.
   */
  shard(
    x: Tensor,
    labels: Uint8Array,
    where: { step: number; shard: number; seed: number; buffers: FlatBuffers },
    grad: FloatArray,
  ): ShardResult {
    const { step, shard, seed, buffers } = where;
    if (this.#dropouts.length > 0) {
      const rng = mulberry32(shardSeed(seed, step, shard));
      for (const d of this.#dropouts) d.setRng(rng);
    }
    if (buffers.floats.length + buffers.ints.length > 0) scatterBuffers(this.net, buffers);
    this.net.train();
    const B = labels.length;
    const logits = this.net.forward(x);
    if (this.#predicted.length < B) this.#predicted = new Uint8Array(B);
    argmaxRows(logits, this.#predicted);
    let correct = 0;
    for (let n = 0; n < B; n++) if (this.#predicted[n] === labels[n]) correct++;
    const loss = this.#ce.forward(logits, labels);
    if (!Number.isFinite(loss)) {
      throw new Error(
        `the loss is ${loss} in shard ${shard} of step ${step + 1}: training diverged; try a ` +
          `smaller learning rate`,
      );
    }
    this.net.backwardParams(this.#ce.backward());
    gatherParams(this.#params, grad, "grad");
    return { shard, loss, correct };
  }

  /**
   * Evaluates batches `first..last−1` of `set` (batches of `batchSize` in stored order) in
   * evaluation mode: per batch the sum `evaluate` adds, and the confusion counts (added to
   * `confusion`, [K, K]).
   *
   * @throws {RangeError} If the network does not output [N, classes].
   */
  evaluate(
    set: LabelledImages,
    opts: { norm: Normalization; batchSize: number; classes: number },
    confusion: Uint32Array,
  ): EvalBatchResult[] {
    const { norm, batchSize, classes: K } = opts;
    const out: EvalBatchResult[] = [];
    this.net.eval();
    try {
      for (let start = 0; start < set.count; start += batchSize) {
        const end = Math.min(start + batchSize, set.count);
        const indices = Array.from({ length: end - start }, (_, i) => start + i);
        const { x, labels } = makeBatch(set, indices, { norm });
        // one tally per batch (sharing the confusion counts), so the main thread can add the
        // batches' losses in batch order, as the one-thread evaluate does
        const t: EvalTally = {
          ce: this.#ce,
          classes: K,
          lossSum: 0,
          correct: 0,
          count: 0,
          confusion,
        };
        evaluateBatch(this.net, { x, labels }, t);
        out.push({ lossTimesSize: t.lossSum, correct: t.correct });
      }
    } finally {
      this.net.train();
    }
    return out;
  }
}
