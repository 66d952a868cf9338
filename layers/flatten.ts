/**
 * Flatten: [N, C, H, W] (or any [N, ...]) to [N, C·H·W], in C order, with no copy; backward
 * reshapes the gradient back. It has no arithmetic: it exists so a network lists the same layers,
 * at the same indices, as its PyTorch twin (`nn.Flatten()` before `nn.Linear`), and so a
 * checkpoint's parameter names ("7.weight") match.
 *
 * @module
 */

import { sizeOf, type Tensor } from "../tensor.ts";
import { checkShapeEquals, checkTensor } from "../_validate.ts";
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
   * @throws {RangeError} If x has no dimensions, or its data does not fit its shape.
   * @throws {TypeError} If x is not a tensor.
   */
  forward(x: Tensor): Tensor {
    checkTensor("Flatten.forward", "x", x, { min: 1 });
    this.#shape = [...x.shape];
    const N = x.shape[0];
    return { shape: [N, x.data.length / N], data: x.data };
  }

  /**
   * Reshapes the gradient back to the input's shape.
   *
   * @param dy dL/dy [N, K].
   * @returns dL/dx in x's shape (the same data).
   * @throws {Error} If called before `forward`.
   * @throws {RangeError} If dy is not the shape the forward pass returned.
   */
  backward(dy: Tensor): Tensor {
    if (this.#shape === undefined) throw new Error("Flatten.backward: call forward first");
    checkTensor("Flatten.backward", "dy", dy);
    const N = this.#shape[0];
    checkShapeEquals("Flatten.backward", "dy", dy, [N, sizeOf(this.#shape) / N], "y");
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
