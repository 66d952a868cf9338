/**
 * From stored images to what a network trains on: pixels scaled to [0, 1] and normalised to mean
 * 0, standard deviation 1 (with statistics of the training set), in shuffled mini-batches whose
 * order depends only on the seed; optionally each image shifted by a few random pixels (data
 * augmentation: the classic regulariser for digits, which mean the same a pixel to the left).
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";
import type { Rng } from "../random.ts";
import type { LabelledImages } from "./idx.ts";

/** The pixel statistics used to normalise, on the [0, 1] scale: x = (p/255 − mean) / std. */
export interface Normalization {
  /** Mean pixel value. */
  readonly mean: number;
  /** Standard deviation of the pixel values (positive). */
  readonly std: number;
}

/** One mini-batch: normalised images and their labels. */
export interface Batch {
  /** Images [B, 1, height, width], normalised. */
  readonly x: Tensor<Float32Array>;
  /** Labels [B]. */
  readonly labels: Uint8Array;
}

/** Options of {@link makeBatch}. */
export interface BatchOptions {
  /** How to scale pixels; usually {@link pixelStats} of the training set. */
  norm: Normalization;
  /**
   * Shift each image by a random whole number of pixels in [−shift, shift], independently along
   * each axis, filling the uncovered border with background (pixel value 0). Default 0 (none).
   */
  shift?: number;
  /** The source of the shifts; required when `shift` > 0. */
  rng?: Rng;
}

/** Options of {@link miniBatches}. */
export interface MiniBatchOptions {
  /** Images per batch; the last batch holds the remainder. */
  batchSize: number;
  /** How to scale pixels; usually {@link pixelStats} of the training set. */
  norm: Normalization;
  /** Shuffle with this source (a new order per call); in stored order without one. */
  rng?: Rng;
  /** Random shifts of up to this many pixels (see {@link BatchOptions.shift}), drawn from `rng`. */
  shift?: number;
}

/**
 * The mean and standard deviation of all pixels, scaled to [0, 1], computed in float64. For the
 * MNIST training set these are the well-known 0.1307 and 0.3081.
 *
 * @param set The images (usually the training set; the test set is normalised with the same
 *   numbers).
 * @returns The mean and the (population) standard deviation.
 * @throws {RangeError} If the set is empty or every pixel has the same value (std 0).
 *
 * @example
 * ```ts
 * import { pixelStats } from "./batches.ts";
 * import { assertAlmostEquals } from "@std/assert";
 * const set = { images: new Uint8Array([0, 255, 0, 255]), labels: new Uint8Array([0]), count: 1, height: 2, width: 2 };
 * const { mean, std } = pixelStats(set);
 * assertAlmostEquals(mean, 0.5);
 * assertAlmostEquals(std, 0.5);
 * ```
 */
export function pixelStats(set: LabelledImages): Normalization {
  const p = set.images;
  if (p.length === 0) throw new RangeError("pixelStats: the set has no pixels");
  // a histogram makes this exact and fast: 256 possible values
  const hist = new Float64Array(256);
  for (let i = 0; i < p.length; i++) hist[p[i]]++;
  let s = 0;
  for (let v = 0; v < 256; v++) s += hist[v] * (v / 255);
  const mean = s / p.length;
  let s2 = 0;
  for (let v = 0; v < 256; v++) s2 += hist[v] * (v / 255 - mean) ** 2;
  const std = Math.sqrt(s2 / p.length);
  if (!(std > 0)) {
    throw new RangeError(`pixelStats: every pixel is ${p[0]}, so the standard deviation is 0`);
  }
  return { mean, std };
}

/**
 * A uniformly random permutation of 0..n−1 (Fisher–Yates), drawn from `rng`: the same source
 * state gives the same order.
 *
 * @param n How many indices.
 * @param rng The uniform source.
 * @returns The permutation.
 * @throws {RangeError} If `n` is not a non-negative integer.
 *
 * @example
 * ```ts
 * import { shuffledOrder } from "./batches.ts";
 * import { mulberry32 } from "../random.ts";
 * import { assertEquals } from "@std/assert";
 * const order = shuffledOrder(5, mulberry32(1));
 * assertEquals(Array.from(order).sort(), [0, 1, 2, 3, 4]);
 * assertEquals(order, shuffledOrder(5, mulberry32(1)));
 * ```
 */
export function shuffledOrder(n: number, rng: Rng): Uint32Array {
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`shuffledOrder: n must be a non-negative integer, got ${n}`);
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/**
 * Gathers the images at `indices` into one normalised batch, optionally shifting each by a few
 * random pixels.
 *
 * @param set The images and labels.
 * @param indices Which images, in batch order.
 * @param opts The pixel statistics (x = (p/255 − mean) / std), and the random shift.
 * @returns x [B, 1, height, width] (Float32Array) and the labels [B].
 * @throws {RangeError} If an index is not an image of the set, `indices` is empty, `norm.std`
 *   is not positive, or `shift` is not a non-negative integer (or is positive without `rng`).
 *
 * @example Normalising, and shifting by one pixel
 * ```ts
 * import { makeBatch } from "./batches.ts";
 * import { mulberry32 } from "../random.ts";
 * import { assertEquals } from "@std/assert";
 * const set = { images: new Uint8Array([0, 255, 51, 102]), labels: new Uint8Array([4, 2]), count: 2, height: 1, width: 2 };
 * const { x, labels } = makeBatch(set, [1], { norm: { mean: 0.2, std: 0.1 } });
 * assertEquals(x.shape, [1, 1, 1, 2]);
 * assertEquals(Array.from(x.data, (v) => Math.round(v * 1e6) / 1e6), [0, 2]); // (0.2−0.2)/0.1, (0.4−0.2)/0.1
 * assertEquals(Array.from(labels), [2]);
 * // one ink pixel in the middle of a 1×3 image, shifted by −1, 0 or +1 column per copy
 * const dot = { images: new Uint8Array([0, 255, 0]), labels: new Uint8Array([1]), count: 1, height: 1, width: 3 };
 * const moved = makeBatch(dot, [0, 0, 0, 0, 0, 0], { norm: { mean: 0, std: 1 }, shift: 1, rng: mulberry32(1) });
 * const where = [0, 1, 2, 3, 4, 5].map((b) => Array.from(moved.x.data.subarray(3 * b, 3 * b + 3)).indexOf(1));
 * // the ink's column in each copy (dx = −1, +1, ..., 0); −1: a vertical move took it off the 1-row image
 * assertEquals(where, [0, 2, -1, 2, 2, 1]);
 * ```
 */
export function makeBatch(
  set: LabelledImages,
  indices: ArrayLike<number>,
  opts: BatchOptions,
): Batch {
  const { norm, shift = 0, rng } = opts;
  const B = indices.length, H = set.height, W = set.width, P = H * W;
  if (B === 0) throw new RangeError("makeBatch: indices is empty");
  if (!(norm?.std > 0)) {
    throw new RangeError(`makeBatch: norm.std must be positive, got ${norm?.std}`);
  }
  if (!Number.isInteger(shift) || shift < 0) {
    throw new RangeError(`makeBatch: shift must be a non-negative integer, got ${shift}`);
  }
  if (shift > 0 && rng === undefined) {
    throw new RangeError("makeBatch: shift needs rng, the source of the random shifts");
  }
  // pixel value v in 0..255 -> (v/255 − mean)/std, looked up rather than recomputed
  const table = new Float32Array(256);
  for (let v = 0; v < 256; v++) table[v] = (v / 255 - norm.mean) / norm.std;
  const x = new Float32Array(B * P);
  const labels = new Uint8Array(B);
  for (let b = 0; b < B; b++) {
    const i = indices[b];
    if (!Number.isInteger(i) || i < 0 || i >= set.count) {
      throw new RangeError(
        `makeBatch: indices[${b}] = ${i} is not an image of the set (0..${set.count - 1})`,
      );
    }
    const src = set.images.subarray(i * P, (i + 1) * P);
    const dst = x.subarray(b * P, (b + 1) * P);
    labels[b] = set.labels[i];
    if (shift === 0) {
      for (let p = 0; p < P; p++) dst[p] = table[src[p]];
      continue;
    }
    // output (r, c) reads input (r − dy, c − dx); outside the image is background
    const dy = Math.floor(rng!() * (2 * shift + 1)) - shift;
    const dx = Math.floor(rng!() * (2 * shift + 1)) - shift;
    dst.fill(table[0]);
    for (let r = Math.max(0, dy); r < Math.min(H, H + dy); r++) {
      for (let c = Math.max(0, dx); c < Math.min(W, W + dx); c++) {
        dst[r * W + c] = table[src[(r - dy) * W + (c - dx)]];
      }
    }
  }
  return { x: { shape: [B, 1, H, W], data: x }, labels };
}

/**
 * The set in mini-batches: one pass (an epoch), shuffled when `opts.rng` is given. Call once per
 * epoch with the same `rng` to get a new order each epoch, reproducibly.
 *
 * @param set The images and labels.
 * @param opts Batch size, normalisation, and (to shuffle, and for random shifts) the random
 *   source.
 * @returns A generator of ⌈count / batchSize⌉ batches; the last may be smaller.
 * @throws {RangeError} If `batchSize` is not a positive integer, or as {@link makeBatch} (thrown
 *   by the first `next()`).
 *
 * @example Five images in batches of two
 * ```ts
 * import { miniBatches } from "./batches.ts";
 * import { mulberry32 } from "../random.ts";
 * import { assertEquals } from "@std/assert";
 * const set = { images: new Uint8Array(5), labels: new Uint8Array([0, 1, 2, 3, 4]), count: 5, height: 1, width: 1 };
 * const norm = { mean: 0, std: 1 };
 * const inOrder = [...miniBatches(set, { batchSize: 2, norm })].map((b) => Array.from(b.labels));
 * assertEquals(inOrder, [[0, 1], [2, 3], [4]]);
 * const shuffled = [...miniBatches(set, { batchSize: 2, norm, rng: mulberry32(3) })];
 * assertEquals(shuffled.flatMap((b) => Array.from(b.labels)).sort(), [0, 1, 2, 3, 4]);
 * ```
 */
export function* miniBatches(set: LabelledImages, opts: MiniBatchOptions): Generator<Batch> {
  const { batchSize, norm, rng, shift = 0 } = opts;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`miniBatches: batchSize must be a positive integer, got ${batchSize}`);
  }
  if (shift !== 0 && rng === undefined) {
    throw new RangeError("miniBatches: shift needs rng, the source of the random shifts");
  }
  const order = rng === undefined ? undefined : shuffledOrder(set.count, rng);
  for (let start = 0; start < set.count; start += batchSize) {
    const end = Math.min(start + batchSize, set.count);
    const indices = order === undefined
      ? Array.from({ length: end - start }, (_, i) => start + i)
      : order.subarray(start, end);
    yield makeBatch(set, indices, { norm, shift, rng });
  }
}

/**
 * The first `count` images of a set (for a quick run on a subset), as views: nothing is copied.
 *
 * @param set The images and labels.
 * @param count How many to keep; at most `set.count`.
 * @returns A set of `min(count, set.count)` images.
 * @throws {RangeError} If `count` is not a positive integer.
 *
 * @example
 * ```ts
 * import { firstImages } from "./batches.ts";
 * import { assertEquals } from "@std/assert";
 * const set = { images: new Uint8Array([1, 2, 3]), labels: new Uint8Array([0, 1, 2]), count: 3, height: 1, width: 1 };
 * assertEquals(Array.from(firstImages(set, 2).labels), [0, 1]);
 * assertEquals(firstImages(set, 10).count, 3);
 * ```
 */
export function firstImages(set: LabelledImages, count: number): LabelledImages {
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`firstImages: count must be a positive integer, got ${count}`);
  }
  const n = Math.min(count, set.count), P = set.height * set.width;
  return {
    images: set.images.subarray(0, n * P),
    labels: set.labels.subarray(0, n),
    count: n,
    height: set.height,
    width: set.width,
  };
}
