/**
 * ReLU as a layer object (no parameters): its forward cache and workspace, around the public
 * `reluForward` / `reluBackward`.
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";
import { reluBackward, reluForward } from "../backend.ts";
import type { Layer, Param } from "./layer.ts";
import type { ReluCache } from "./types.ts";
import { Workspace } from "./workspace.ts";

/**
 * A ReLU layer.
 *
 * The tensors `forward` and `backward` return live in the layer's workspace and are reused from
 * call to call: they stay valid until the layer's next call; copy them to keep them.
 *
 * @example
 * ```ts
 * import { ReLU } from "./relu_layer.ts";
 * import { assertEquals } from "@std/assert";
 * const relu = new ReLU();
 * relu.forward({ shape: [2], data: new Float32Array([-1, 1]) });
 * const dx = relu.backward({ shape: [2], data: new Float32Array([3, 3]) });
 * assertEquals(Array.from(dx.data), [0, 3]);
 * ```
 */
export class ReLU implements Layer {
  /** The layer kind. */
  readonly kind: string = "ReLU";
  #ws = new Workspace();
  #cache: ReluCache | undefined;

  /**
   * Runs the forward pass and keeps its cache for `backward`.
   *
   * @param x Any tensor.
   * @returns max(0, x).
   * @throws {TypeError} As `reluForward`.
   */
  forward(x: Tensor): Tensor {
    const { y, cache } = reluForward(x, { workspace: this.#ws });
    this.#cache = cache;
    return y;
  }

  /**
   * Runs the backward pass of the last `forward`.
   *
   * @param dy dL/dy.
   * @returns dL/dx.
   * @throws {Error} If called before `forward`; otherwise as `reluBackward`.
   */
  backward(dy: Tensor): Tensor {
    if (this.#cache === undefined) throw new Error("ReLU.backward: call forward first");
    return reluBackward(dy, this.#cache, { workspace: this.#ws });
  }

  /**
   * The trainable parameters.
   *
   * @returns [] (no parameters).
   */
  params(): Param[] {
    return [];
  }
}
