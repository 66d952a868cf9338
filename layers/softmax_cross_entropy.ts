/**
 * Softmax and the cross-entropy loss on top of it, fused because their joint gradient is simple:
 * for p = softmax(z) and the mean loss L = −(1/N) Σ_n log p[n, label_n],
 * dL/dz = (p − onehot(label)) / N. One form for both backends: the loop is already what it
 * computes. (The loss object a training loop holds is network/loss.ts.)
 *
 * @module
 */

import type { FloatArray, Tensor } from "../tensor.ts";
import { checkTensor, fmtShape, zerosLike } from "../_validate.ts";

/** The result of {@link softmaxCrossEntropy}. */
export interface SoftmaxCrossEntropyResult<T extends FloatArray = FloatArray> {
  /** The mean cross-entropy over the batch. */
  readonly loss: number;
  /** dL/dlogits = (softmax(logits) − onehot(labels)) / N, logits' shape and type. */
  readonly dlogits: Tensor<T>;
}

/**
 * softmax(z)[n, k] = exp(z[n,k] − m_n) / Σ_j exp(z[n,j] − m_n) with m_n = max_j z[n, j]: the
 * shift by the row maximum (log-sum-exp trick) changes nothing mathematically but keeps every
 * exp ≤ 1, so logits of ±1000 do not overflow. Sums are in float64 for both input types.
 *
 * @param logits [N, K].
 * @returns Probabilities [N, K] of logits' type; each row sums to 1.
 * @throws {RangeError} If logits is not 2-D.
 * @throws {TypeError} If logits is not a tensor of Float32Array or Float64Array.
 *
 * @example Large logits do not overflow
 * ```ts
 * import { softmax } from "./softmax_cross_entropy.ts";
 * import { assertAlmostEquals } from "@std/assert";
 * const p = softmax({ shape: [1, 3], data: new Float64Array([1000, 1000, -1000]) });
 * assertAlmostEquals(p.data[0], 0.5);
 * assertAlmostEquals(p.data[2], 0);
 * ```
 */
export function softmax<T extends FloatArray>(logits: Tensor<T>): Tensor<T> {
  checkTensor("softmax", "logits", logits, 2);
  const [N, K] = logits.shape;
  const z = logits.data;
  const p = zerosLike(z, N * K);
  for (let n = 0; n < N; n++) {
    const o = n * K;
    let m = -Infinity;
    for (let k = 0; k < K; k++) if (z[o + k] > m) m = z[o + k];
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.exp(z[o + k] - m);
    for (let k = 0; k < K; k++) p[o + k] = Math.exp(z[o + k] - m) / s;
  }
  return { shape: [N, K], data: p };
}

function checkLabels(
  fn: string,
  labels: ArrayLike<number>,
  N: number,
  K: number,
  shape: readonly number[],
): void {
  if (labels === null || typeof labels !== "object" || typeof labels.length !== "number") {
    throw new TypeError(`${fn}: labels must be an array of class indices, got ${typeof labels}`);
  }
  if (labels.length !== N) {
    throw new RangeError(
      `${fn}: labels has ${labels.length} entries but logits ${fmtShape(shape)} has ${N} rows`,
    );
  }
  for (let n = 0; n < N; n++) {
    const t = labels[n];
    if (!Number.isInteger(t) || t < 0 || t >= K) {
      throw new RangeError(
        `${fn}: labels[${n}] = ${t} is not a class index in [0, ${K}) (logits ${fmtShape(shape)})`,
      );
    }
  }
}

/**
 * Mean softmax cross-entropy and its gradient. Per row, with m the row maximum,
 * loss_n = log Σ_j exp(z_j − m) − (z_label − m): computed from the shifted logits, so it is
 * finite and exact even where softmax underflows to 0.
 *
 * @param logits Unnormalised scores [N, K].
 * @param labels N class indices, integers in [0, K).
 * @returns The mean loss and dlogits = (softmax − onehot) / N.
 * @throws {RangeError} If logits is not 2-D, labels has the wrong length, or a label is not an
 *   integer in [0, K).
 * @throws {TypeError} If logits is not a tensor or labels is not array-like.
 *
 * @example Two samples; equal logits give log K
 * ```ts
 * import { softmaxCrossEntropy } from "./softmax_cross_entropy.ts";
 * import { assertAlmostEquals } from "@std/assert";
 * const logits = { shape: [2, 2], data: new Float64Array([0, 0, 0, 0]) };
 * const { loss, dlogits } = softmaxCrossEntropy(logits, [0, 1]);
 * assertAlmostEquals(loss, Math.log(2));
 * assertAlmostEquals(dlogits.data[0], (0.5 - 1) / 2); // (p − 1) / N for the true class
 * assertAlmostEquals(dlogits.data[1], 0.5 / 2);
 * ```
 */
export function softmaxCrossEntropy<T extends FloatArray>(
  logits: Tensor<T>,
  labels: ArrayLike<number>,
): SoftmaxCrossEntropyResult<T> {
  const fn = "softmaxCrossEntropy";
  checkTensor(fn, "logits", logits, 2);
  const [N, K] = logits.shape;
  checkLabels(fn, labels, N, K, logits.shape);
  // logits [N,K], labels [N] -> loss (scalar), dlogits [N,K]
  const z = logits.data;
  const dz = zerosLike(z, N * K);
  let total = 0;
  for (let n = 0; n < N; n++) {
    const o = n * K, t = labels[n];
    let m = -Infinity;
    for (let k = 0; k < K; k++) if (z[o + k] > m) m = z[o + k];
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.exp(z[o + k] - m);
    total += Math.log(s) - (z[o + t] - m);
    for (let k = 0; k < K; k++) dz[o + k] = (Math.exp(z[o + k] - m) / s - (k === t ? 1 : 0)) / N;
  }
  return { loss: total / N, dlogits: { shape: [N, K], data: dz } };
}
