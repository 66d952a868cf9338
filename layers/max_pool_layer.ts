/**
 * Max pooling as a layer object (no parameters): its options, forward cache and workspace, around
 * the public `maxPoolForward` / `maxPoolBackward`.
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";
import { checkObject } from "../_validate.ts";
import { checkPoolWindow } from "./_args.ts";
import { maxPoolBackward, maxPoolForward } from "../backend.ts";
import type { Layer, Param } from "./layer.ts";
import type { MaxPoolCache, MaxPoolOptions } from "./types.ts";
import { Workspace } from "./workspace.ts";

/**
 * A max-pooling layer.
 *
 * The tensors `forward` and `backward` return live in the layer's workspace and are reused from
 * call to call: they stay valid until the layer's next call; copy them to keep them.
 *
 * @example
 * ```ts
 * import { MaxPool2D } from "./max_pool_layer.ts";
 * import { assertEquals } from "@std/assert";
 * const pool = new MaxPool2D({ size: 2 });
 * const y = pool.forward({ shape: [1, 2, 4, 4], data: new Float32Array(32).map((_, i) => i) });
 * assertEquals(y.shape, [1, 2, 2, 2]);
 * assertEquals(Array.from(y.data), [5, 7, 13, 15, 21, 23, 29, 31]);
 * // ResNet's first pool: 3×3 windows, stride 2, padding 1 halve a map (rounding up)
 * const stem = new MaxPool2D({ size: 3, stride: 2, padding: 1 });
 * assertEquals(stem.forward({ shape: [1, 1, 7, 7], data: new Float32Array(49) }).shape, [1, 1, 4, 4]);
 * ```
 */
export class MaxPool2D implements Layer {
  /** The layer kind. */
  readonly kind: string = "MaxPool2D";
  /** Window size, stride and padding. */
  readonly options: MaxPoolOptions;
  /**
   * Training mode (the default): forward keeps each window's winner for the backward pass.
   * Evaluation mode (`Sequential.eval()` sets it false): forward computes y alone (about a third
   * faster for float32 2×2 windows); a backward pass after it still works, finding the winners
   * again from the input.
   */
  training = true;
  #ws = new Workspace();
  #cache: MaxPoolCache | undefined;

  /**
   * Creates the layer.
   *
   * @param opts Window `size`, `stride` (default `size`) and `padding` (default 0, read as −∞;
   *   at most half the window).
   * @throws {RangeError} If a size or stride is not a positive integer, or padding is negative
   *   or more than half the window.
   * @throws {TypeError} If `opts` is not an object or has no `size`.
   */
  constructor(opts: MaxPoolOptions) {
    checkObject("MaxPool2D", "opts", opts, "{ size: 2 }");
    if (opts.size === undefined) {
      throw new TypeError("MaxPool2D: opts.size (the window, as { size: 2 }) is required");
    }
    checkPoolWindow("MaxPool2D", opts);
    this.options = { size: opts.size, stride: opts.stride, padding: opts.padding };
  }

  /**
   * Runs the forward pass and keeps its cache for `backward`.
   *
   * @param x Input [N, C, H, W].
   * @returns y [N, C, Ho, Wo].
   * @throws {RangeError} As `maxPoolForward`.
   */
  forward(x: Tensor): Tensor {
    const opts = { ...this.options, training: this.training, workspace: this.#ws };
    const { y, cache } = maxPoolForward(x, opts);
    this.#cache = cache;
    return y;
  }

  /**
   * Runs the backward pass of the last `forward`.
   *
   * @param dy dL/dy [N, C, Ho, Wo].
   * @returns dL/dx [N, C, H, W].
   * @throws {Error} If called before `forward`; otherwise as `maxPoolBackward`.
   */
  backward(dy: Tensor): Tensor {
    if (this.#cache === undefined) throw new Error("MaxPool2D.backward: call forward first");
    return maxPoolBackward(dy, this.#cache, { workspace: this.#ws });
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
