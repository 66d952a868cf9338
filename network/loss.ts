/**
 * The loss at the end of a network, as an object a training loop holds: softmax cross-entropy
 * (layers/softmax_cross_entropy.ts) with its last gradient kept for the backward pass. Not a
 * Layer: its forward pass takes the labels too and returns a number.
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";
import { softmax, softmaxCrossEntropy } from "../layers/softmax_cross_entropy.ts";

/**
 * The loss as a layer-like object for training loops: `forward` returns the mean loss,
 * `backward` the gradient with respect to the logits of the last forward.
 *
 * @example
 * ```ts
 * import { SoftmaxCrossEntropy } from "./loss.ts";
 * import { assertAlmostEquals } from "@std/assert";
 * const ce = new SoftmaxCrossEntropy();
 * const loss = ce.forward({ shape: [1, 3], data: new Float32Array([0, 0, 0]) }, [2]);
 * assertAlmostEquals(loss, Math.log(3), 1e-6);
 * assertAlmostEquals(ce.backward().data[2], 1 / 3 - 1, 1e-6);
 * assertAlmostEquals(ce.probs().data[0], 1 / 3, 1e-6);
 * ```
 */
export class SoftmaxCrossEntropy {
  /** The layer kind. */
  readonly kind: string = "SoftmaxCrossEntropy";
  #logits: Tensor | undefined;
  #dlogits: Tensor | undefined;

  /**
   * Runs the forward pass and keeps its cache for `backward`.
   *
   * @param logits [N, K].
   * @param labels N class indices.
   * @returns The mean loss.
   * @throws {RangeError} As {@link softmaxCrossEntropy}.
   */
  forward(logits: Tensor, labels: ArrayLike<number>): number {
    const { loss, dlogits } = softmaxCrossEntropy(logits, labels);
    this.#logits = logits;
    this.#dlogits = dlogits;
    return loss;
  }

  /**
   * Runs the backward pass of the last `forward`; parameter gradients are overwritten.
   *
   * @returns dL/dlogits of the last forward, [N, K].
   * @throws {Error} If called before `forward`.
   */
  backward(): Tensor {
    if (this.#dlogits === undefined) {
      throw new Error("SoftmaxCrossEntropy.backward: call forward first");
    }
    return this.#dlogits;
  }

  /**
   * The class probabilities (softmax) of the last forward.
   *
   * @returns softmax of the last forward's logits, [N, K].
   * @throws {Error} If called before `forward`.
   */
  probs(): Tensor {
    if (this.#logits === undefined) {
      throw new Error("SoftmaxCrossEntropy.probs: call forward first");
    }
    return softmax(this.#logits);
  }
}
