/**
 * The training loop and the evaluation pass: one epoch of mini-batch steps (forward, loss,
 * backward, optimiser step), and the loss, accuracy and confusion matrix on a held-out set.
 * Timing and printing are left to the caller, through a callback after each batch, so the same
 * loop serves the command line, tests and a browser page.
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";
import type { Rng } from "../random.ts";
import { SoftmaxCrossEntropy } from "../network/loss.ts";
import type { Sequential } from "../network/sequential.ts";
import type { Param } from "../layers/layer.ts";
import type { Optimizer } from "../optim/optimizer.ts";
import type { LrSchedule } from "../optim/schedule.ts";
import type { LabelledImages } from "../data/idx.ts";
import { miniBatches, type Normalization } from "../data/batches.ts";

/** What {@link trainEpoch} reports after each batch. */
export interface BatchProgress {
  /** This batch's number, from 1. */
  readonly batch: number;
  /** Batches in the epoch. */
  readonly batches: number;
  /** Images trained on so far in this epoch. */
  readonly samples: number;
  /** This batch's mean loss. */
  readonly loss: number;
  /** Mean loss over the epoch so far (per image). */
  readonly meanLoss: number;
  /** Fraction of the epoch's images so far classified correctly (before their step). */
  readonly accuracy: number;
  /** The learning rate of this batch's step. */
  readonly lr: number;
}

/** Options of {@link trainEpoch}. */
export interface TrainEpochOptions {
  /** Images per step. */
  batchSize: number;
  /** Pixel normalisation (the training set's statistics). */
  norm: Normalization;
  /** Shuffles the images; the epoch's order depends only on its state. */
  rng: Rng;
  /** Updates the parameters after each batch. */
  optimizer: Optimizer;
  /** Random shifts of up to this many pixels (data augmentation; see `makeBatch`); default 0. */
  shift?: number;
  /** Sets `optimizer.lr` from `optimizer.steps` before each step; without one lr stays as is. */
  schedule?: LrSchedule;
  /** Called after each step (for progress lines, curves). */
  onBatch?: (progress: BatchProgress) => void;
}

/** The result of {@link trainEpoch}. */
export interface EpochStats {
  /** Mean training loss over the epoch (per image). */
  readonly loss: number;
  /** Training accuracy over the epoch (each batch measured before its step). */
  readonly accuracy: number;
  /** Images trained on. */
  readonly samples: number;
}

/** The result of {@link evaluate}. */
export interface Evaluation {
  /** Mean cross-entropy loss per image. */
  readonly loss: number;
  /** Fraction classified correctly. */
  readonly accuracy: number;
  /** Images classified wrongly. */
  readonly errors: number;
  /** Images evaluated. */
  readonly count: number;
  /** Number of classes K. */
  readonly classes: number;
  /** Counts [K, K], row-major: `confusion[t * K + p]` images of class t predicted as p. */
  readonly confusion: Uint32Array;
}

/**
 * The first parameter entry that is NaN or ±Infinity, or null (shared with the data-parallel
 * trainer, training/parallel.ts, which checks the same after each step).
 *
 * @param params The parameters.
 * @returns Where the first bad entry is, or null.
 */
export function firstNonFinite(
  params: readonly Param[],
): { name: string; index: number; value: number } | null {
  for (const p of params) {
    const d = p.value.data;
    for (let i = 0; i < d.length; i++) {
      // x − x is 0 for every finite x and NaN for NaN and ±Infinity: one test, no branch per kind
      if (d[i] - d[i] !== 0) return { name: p.name, index: i, value: d[i] };
    }
  }
  return null;
}

/**
 * The argmax of each row of logits [N, K]; ties go to the lower class (shared with the
 * data-parallel worker, training/_parallel_shard.ts).
 *
 * @param logits [N, K].
 * @param out N entries, overwritten.
 */
export function argmaxRows(logits: Tensor, out: Uint8Array | Int32Array): void {
  const [N, K] = logits.shape;
  const z = logits.data;
  for (let n = 0; n < N; n++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (z[n * K + k] > z[n * K + best]) best = k;
    out[n] = best;
  }
}

/**
 * Trains for one epoch: for each shuffled mini-batch, forward, softmax cross-entropy, backward,
 * one optimiser step. The network is put in training mode.
 *
 * @param net The network; its output must be logits [N, K].
 * @param set The training images.
 * @param opts Batch size, normalisation, shuffling (and shifting) source, random shifts,
 *   optimiser, schedule, callback.
 * @returns Mean loss and accuracy over the epoch.
 * @throws {Error} If the loss, or after a step any parameter, becomes NaN or infinite (training
 *   diverged; the message gives the step, the learning rate and the parameter), or as the layers
 *   and optimiser throw.
 *
 * @example A linear classifier learns to tell dark images from bright ones
 * ```ts
 * import { trainEpoch } from "./loop.ts";
 * import { buildNetwork } from "../network/models.ts";
 * import { SGD } from "../optim/sgd.ts";
 * import { mulberry32 } from "../random.ts";
 * import { assert } from "@std/assert";
 * const rng = mulberry32(2);
 * const labels = Uint8Array.from({ length: 64 }, (_, i) => i % 2);
 * const images = Uint8Array.from({ length: 64 * 4 }, (_, i) => labels[i >> 2] ? 200 : 40);
 * const set = { images, labels, count: 64, height: 2, width: 2 };
 * const net = buildNetwork([{ type: "flatten" }, { type: "fc", inFeatures: 4, outFeatures: 2 }], { seed: 1 });
 * const optimizer = new SGD(net.params(), { lr: 0.1 });
 * const opts = { batchSize: 8, norm: { mean: 0.5, std: 0.3 }, rng, optimizer };
 * const first = trainEpoch(net, set, opts);
 * const later = trainEpoch(net, set, opts);
 * assert(later.loss < first.loss);
 * assert(later.accuracy === 1);
 * ```
 */
export function trainEpoch(
  net: Sequential,
  set: LabelledImages,
  opts: TrainEpochOptions,
): EpochStats {
  const { batchSize, norm, rng, shift = 0, optimizer, schedule, onBatch } = opts;
  const ce = new SoftmaxCrossEntropy();
  const batches = Math.ceil(set.count / batchSize);
  let batch = 0, samples = 0, lossSum = 0, correct = 0;
  let predicted = new Uint8Array(batchSize);
  const params = net.params();
  net.train();
  for (const { x, labels } of miniBatches(set, { batchSize, norm, rng, shift })) {
    batch++;
    const B = labels.length;
    if (schedule !== undefined) optimizer.lr = schedule(optimizer.steps);
    const logits = net.forward(x);
    if (predicted.length < B) predicted = new Uint8Array(B);
    argmaxRows(logits, predicted);
    for (let n = 0; n < B; n++) if (predicted[n] === labels[n]) correct++;
    const loss = ce.forward(logits, labels);
    if (!Number.isFinite(loss)) {
      throw new Error(
        `trainEpoch: the loss is ${loss} at batch ${batch} of ${batches} (lr ${optimizer.lr}): ` +
          `training diverged; try a smaller learning rate`,
      );
    }
    net.backwardParams(ce.backward()); // the input is data: no dL/dx for the first layer
    optimizer.step();
    // a step can overflow the weights even from a finite loss (the last step of a run would
    // otherwise go unchecked): every parameter is checked after every step
    const bad = firstNonFinite(params);
    if (bad !== null) {
      throw new Error(
        `trainEpoch: after step ${batch} of ${batches} (lr ${optimizer.lr}) parameter ` +
          `"${bad.name}" holds ${bad.value} at index ${bad.index}: training diverged; try a ` +
          `smaller learning rate`,
      );
    }
    samples += B;
    lossSum += loss * B;
    onBatch?.({
      batch,
      batches,
      samples,
      loss,
      meanLoss: lossSum / samples,
      accuracy: correct / samples,
      lr: optimizer.lr,
    });
  }
  return { loss: lossSum / samples, accuracy: correct / samples, samples };
}

/**
 * Evaluates a classifier on a labelled set, in evaluation mode (the previous mode is restored):
 * mean loss, accuracy and the confusion matrix.
 *
 * @param net The network; its output must be logits [N, K].
 * @param set The images (usually the test set).
 * @param opts Pixel normalisation (the training set's), batch size (default 500: it only
 *   bounds memory), number of classes (default 10).
 * @returns Loss, accuracy, error count and confusion matrix.
 * @throws {RangeError} If the output has a number of classes other than `classes`, or as the
 *   layers throw.
 * @throws {Error} If the loss is not finite (the network's outputs overflow).
 *
 * @example
 * ```ts
 * import { evaluate } from "./loop.ts";
 * import { Sequential } from "../network/sequential.ts";
 * import { Flatten } from "../layers/flatten.ts";
 * import { assertEquals } from "@std/assert";
 * // a "network" whose logits are the two pixels: it predicts the brighter one's index
 * const net = new Sequential([new Flatten()]);
 * const set = { images: new Uint8Array([9, 1, 1, 9, 9, 1]), labels: new Uint8Array([0, 1, 1]), count: 3, height: 1, width: 2 };
 * const r = evaluate(net, set, { norm: { mean: 0, std: 1 }, classes: 2 });
 * assertEquals([r.errors, r.count], [1, 3]);
 * assertEquals(Array.from(r.confusion), [1, 0, 1, 1]); // row: true class, column: predicted
 * ```
 */
export function evaluate(
  net: Sequential,
  set: LabelledImages,
  opts: { norm: Normalization; batchSize?: number; classes?: number },
): Evaluation {
  const { norm, batchSize = 500, classes: K = 10 } = opts;
  const tally = newTally(K);
  const was = net.training;
  net.eval();
  try {
    for (const batch of miniBatches(set, { batchSize, norm })) evaluateBatch(net, batch, tally);
  } finally {
    if (was) net.train();
  }
  return evaluationOf(tally);
}

/** An evaluation's running sums: the loss summed over images, the correct count, the images, and
 * the confusion counts [K, K] (row: the true class). */
export interface EvalTally {
  ce: SoftmaxCrossEntropy;
  classes: number;
  lossSum: number;
  correct: number;
  count: number;
  confusion: Uint32Array;
}

/**
 * Empty sums for an evaluation over `classes` classes.
 *
 * @param classes K, the number of classes.
 * @returns A tally with zero sums and a [K, K] confusion matrix of zeros.
 *
 * @example
 * ```ts
 * import { evaluateBatch, evaluationOf, newTally } from "./loop.ts";
 * import { Flatten } from "../layers/flatten.ts";
 * import { Sequential } from "../network/sequential.ts";
 * import { assertEquals } from "@std/assert";
 * // a "network" whose two logits are the two pixels: it predicts the larger one's index
 * const net = new Sequential([new Flatten()]);
 * const tally = newTally(2);
 * const x = { shape: [3, 1, 1, 2], data: new Float64Array([9, 1, 1, 9, 9, 1]) };
 * evaluateBatch(net, { x, labels: new Uint8Array([0, 1, 1]) }, tally);
 * const r = evaluationOf(tally);
 * assertEquals([r.count, r.errors, Array.from(r.confusion)], [3, 1, [1, 0, 1, 1]]);
 * ```
 */
export function newTally(classes: number): EvalTally {
  const confusion = new Uint32Array(classes * classes);
  return { ce: new SoftmaxCrossEntropy(), classes, lossSum: 0, correct: 0, count: 0, confusion };
}

/**
 * One batch of an evaluation, added to `tally`: the loss summed over the batch (its mean times B),
 * the correct count, B, and each image's (true, predicted) cell of the confusion matrix.
 * {@link evaluate} and the data-parallel evaluation both add their batches with this, in the same
 * order, so their sums are the same numbers.
 *
 * @param net The network, in evaluation mode (the caller switches it).
 * @param batch The inputs [B, ...] and their B labels.
 * @param tally The sums, added to in place.
 * @returns Nothing: `tally` holds the result.
 * @throws {RangeError} If the network does not output [B, K] logits.
 *
 * @example
 * ```ts
 * import { evaluateBatch, evaluationOf, newTally } from "./loop.ts";
 * import { Flatten } from "../layers/flatten.ts";
 * import { Sequential } from "../network/sequential.ts";
 * import { assertEquals } from "@std/assert";
 * // a "network" whose two logits are the two pixels: it predicts the larger one's index
 * const net = new Sequential([new Flatten()]);
 * const tally = newTally(2);
 * const x = { shape: [3, 1, 1, 2], data: new Float64Array([9, 1, 1, 9, 9, 1]) };
 * evaluateBatch(net, { x, labels: new Uint8Array([0, 1, 1]) }, tally);
 * const r = evaluationOf(tally);
 * assertEquals([r.count, r.errors, Array.from(r.confusion)], [3, 1, [1, 0, 1, 1]]);
 * ```
 */
export function evaluateBatch(
  net: Sequential,
  batch: { x: Tensor; labels: Uint8Array },
  tally: EvalTally,
): void {
  const { x, labels } = batch, { classes: K, confusion } = tally;
  const logits = net.forward(x);
  if (logits.shape.length !== 2 || logits.shape[1] !== K) {
    throw new RangeError(
      `evaluate: the network outputs [${logits.shape.join(",")}], expected [N, ${K}] logits`,
    );
  }
  const B = labels.length;
  const predicted = new Uint8Array(B);
  argmaxRows(logits, predicted);
  for (let n = 0; n < B; n++) {
    confusion[labels[n] * K + predicted[n]]++;
    if (predicted[n] === labels[n]) tally.correct++;
  }
  tally.lossSum += tally.ce.forward(logits, labels) * B;
  tally.count += B;
}

/**
 * An evaluation's result from its sums, refusing a non-finite loss (an evaluation of a network
 * whose outputs overflow means nothing).
 *
 * @param tally The sums of every batch.
 * @returns The mean loss, the accuracy, the errors and the counts.
 * @throws {Error} If the loss is not finite.
 *
 * @example
 * ```ts
 * import { evaluateBatch, evaluationOf, newTally } from "./loop.ts";
 * import { Flatten } from "../layers/flatten.ts";
 * import { Sequential } from "../network/sequential.ts";
 * import { assertEquals } from "@std/assert";
 * // a "network" whose two logits are the two pixels: it predicts the larger one's index
 * const net = new Sequential([new Flatten()]);
 * const tally = newTally(2);
 * const x = { shape: [3, 1, 1, 2], data: new Float64Array([9, 1, 1, 9, 9, 1]) };
 * evaluateBatch(net, { x, labels: new Uint8Array([0, 1, 1]) }, tally);
 * const r = evaluationOf(tally);
 * assertEquals([r.count, r.errors, Array.from(r.confusion)], [3, 1, [1, 0, 1, 1]]);
 * ```
 */
export function evaluationOf(tally: EvalTally): Evaluation {
  const { lossSum, correct, count, classes, confusion } = tally;
  if (!Number.isFinite(lossSum)) {
    throw new Error(
      `evaluate: the loss is ${lossSum / count} over ${count} images: the network's outputs are ` +
        `not finite numbers (weights that overflow?), so the evaluation means nothing`,
    );
  }
  return {
    loss: lossSum / count,
    accuracy: correct / count,
    errors: count - correct,
    count,
    classes,
    confusion,
  };
}
