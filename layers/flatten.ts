/**
 * Flatten: [N, C, H, W] (or any [N, ...]) to [N, C·H·W], in C order, with no copy; backward
 * reshapes the gradient back. It has no arithmetic: it exists so a network lists the same layers,
 * at the same indices, as its PyTorch twin (`nn.Flatten()` before `nn.Linear`), and so a
 * checkpoint's parameter names ("7.weight") match.
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";
import type { Layer, Param } from "./layer.ts";

/**
 * A layer that reshapes [N, ...] to [N, K] (K the product of the non-batch sizes).
 *
 * @example
 * ```ts
 * import { Flatten } from "./flatten.ts";
 * import { assertEquals } from "@std/assert";
 * const flat = new Flatten();
 * const x = { shape: [2, 3, 2, 2], data: new Float32Array(24) };
 * const y = flat.forward(x);
 * assertEquals(y.shape, [2, 12]);
 * assertEquals(y.data, x.data); // the same memory
 * assertEquals(flat.backward({ shape: [2, 12], data: new Float32Array(24) }).shape, [2, 3, 2, 2]);
 * ```
 */
export class Flatten implements Layer {
  /** The layer kind. */
  readonly kind: string = "Flatten";
  #shape: readonly number[] | undefined;

  /**
   * Reshapes x to [N, K].
   *
   * @param x Input [N, ...], at least 1-D.
   * @returns The same data as [N, K].
   * @throws {RangeError} If x has no dimensions.
   */
  forward(x: Tensor): Tensor {
    if (!Array.isArray(x?.shape) || x.shape.length < 1) {
      throw new RangeError("Flatten.forward: x must have at least one dimension (the batch)");
    }
    this.#shape = [...x.shape];
    const N = x.shape[0];
    return { shape: [N, N === 0 ? 0 : x.data.length / N], data: x.data };
  }

  /**
   * Reshapes the gradient back to the input's shape.
   *
   * @param dy dL/dy [N, K].
   * @returns dL/dx in x's shape (the same data).
   * @throws {Error} If called before `forward`.
   * @throws {RangeError} If dy does not have x's number of elements.
   */
  backward(dy: Tensor): Tensor {
    if (this.#shape === undefined) throw new Error("Flatten.backward: call forward first");
    const size = this.#shape.reduce((a, b) => a * b, 1);
    if (dy.data.length !== size) {
      throw new RangeError(
        `Flatten.backward: dy has ${dy.data.length} elements but x [${this.#shape.join(",")}] ` +
          `has ${size}`,
      );
    }
    return { shape: [...this.#shape], data: dy.data };
  }

  /**
   * No parameters.
   *
   * @returns [].
   */
  params(): Param[] {
    return [];
  }
}
