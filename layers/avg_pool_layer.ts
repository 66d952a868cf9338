/**
 * Average pooling as layer objects (no parameters), around the public `avgPoolForward` /
 * `avgPoolBackward`: {@link AvgPool2D}, with a window of its own, and {@link GlobalAvgPool2D},
 * whose window is whatever the input's H×W is.
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";
import { checkObject, checkTensor } from "../_validate.ts";
import { avgPoolBackward, avgPoolForward } from "../backend.ts";
import type { Layer, Param } from "./layer.ts";
import { checkPoolWindow } from "./_args.ts";
import type { AvgPoolCache, AvgPoolOptions } from "./types.ts";
import { Workspace } from "./workspace.ts";

/**
 * An average-pooling layer: each window's mean (PyTorch's `nn.AvgPool2d`, ceil_mode false).
 *
 * The tensors `forward` and `backward` return live in the layer's workspace and are reused from
 * call to call: they stay valid until the layer's next call; copy them to keep them.
 *
 * @example 2×2 windows; 3×3 windows at stride 1 with padding 1, the padding not counted
 * ```ts
 * import { AvgPool2D } from "./avg_pool_layer.ts";
 * import { assertEquals } from "@std/assert";
 * const pool = new AvgPool2D({ size: 2 });
 * const y = pool.forward({ shape: [1, 1, 2, 4], data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]) });
 * assertEquals([y.shape, Array.from(y.data)], [[1, 1, 1, 2], [3.5, 5.5]]);
 * const blur = new AvgPool2D({ size: 3, stride: 1, padding: 1, countIncludePad: false });
 * const flat = blur.forward({ shape: [1, 1, 3, 3], data: new Float32Array(9).fill(2) });
 * assertEquals(Array.from(flat.data), new Array(9).fill(2)); // a constant stays constant
 * ```
 */
export class AvgPool2D implements Layer {
  /** The layer kind. */
  readonly kind: string = "AvgPool2D";
  /** Window size, stride, padding and whether the padding counts in a window's size. */
  readonly options: AvgPoolOptions;
  #ws = new Workspace();
  #cache: AvgPoolCache | undefined;

  /**
   * Creates the layer.
   *
   * @param opts Window `size`, `stride` (default `size`), `padding` (default 0, read as 0; at
   *   most half the window) and `countIncludePad` (default true: every window divides by kh·kw).
   * @throws {RangeError} If a size or stride is not a positive integer, or padding is negative
   *   or more than half the window.
   * @throws {TypeError} If `opts` is not an object, has no `size`, or `countIncludePad` is not a
   *   boolean.
   */
  constructor(opts: AvgPoolOptions) {
    checkObject("AvgPool2D", "opts", opts, "{ size: 2 }");
    if (opts.size === undefined) {
      throw new TypeError("AvgPool2D: opts.size (the window, as { size: 2 }) is required");
    }
    checkPoolWindow("AvgPool2D", opts);
    this.options = {
      size: opts.size,
      stride: opts.stride,
      padding: opts.padding,
      countIncludePad: opts.countIncludePad,
    };
  }

  /**
   * Runs the forward pass and keeps its cache for `backward`.
   *
   * @param x Input [N, C, H, W].
   * @returns y [N, C, Ho, Wo].
   * @throws {RangeError} As `avgPoolForward`.
   */
  forward(x: Tensor): Tensor {
    const { y, cache } = avgPoolForward(x, { ...this.options, workspace: this.#ws });
    this.#cache = cache;
    return y;
  }

  /**
   * Runs the backward pass of the last `forward`.
   *
   * @param dy dL/dy [N, C, Ho, Wo].
   * @returns dL/dx [N, C, H, W].
   * @throws {Error} If called before `forward`; otherwise as `avgPoolBackward`.
   */
  backward(dy: Tensor): Tensor {
    if (this.#cache === undefined) throw new Error("AvgPool2D.backward: call forward first");
    return avgPoolBackward(dy, this.#cache, { workspace: this.#ws });
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

/**
 * Global average pooling: each channel's mean over the whole H×W of whatever input it is given,
 * [N, C, H, W] -> [N, C, 1, 1] (PyTorch's `nn.AdaptiveAvgPool2d(1)`; `avgPoolForward` with
 * `size: [H, W]`). The head of most modern CNNs: a map of any size becomes C numbers, one per
 * feature, and a `FullyConnected` C -> classes follows (with a `Flatten` between them, as in
 * PyTorch, where `nn.Linear` reads only the last axis).
 *
 * Its own class rather than an option of {@link AvgPool2D}: its window is not a number the
 * layer is built with but the size of each input, so one network takes any input size (a
 * checkpoint trained on 28×28 runs on 32×32 unchanged), and it has no window, stride or padding
 * to get wrong. It keeps the 1×1 spatial axes, as PyTorch does, so it stays a pooling layer
 * (4-D in, 4-D out) and a layer list maps one to one onto an `nn.Sequential`.
 *
 * @example
 * ```ts
 * import { GlobalAvgPool2D } from "./avg_pool_layer.ts";
 * import { assertEquals } from "@std/assert";
 * const gap = new GlobalAvgPool2D();
 * const x = { shape: [1, 2, 2, 3], data: new Float64Array([1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 12]) };
 * const y = gap.forward(x);
 * assertEquals([y.shape, Array.from(y.data)], [[1, 2, 1, 1], [3.5, 2]]);
 * // any size: a 5×5 map next
 * assertEquals(gap.forward({ shape: [3, 2, 5, 5], data: new Float64Array(150) }).shape, [3, 2, 1, 1]);
 * const dx = gap.backward({ shape: [3, 2, 1, 1], data: new Float64Array(6).fill(25) });
 * assertEquals(dx.data[0], 1); // dy / (H·W) to every cell
 * ```
 */
export class GlobalAvgPool2D implements Layer {
  /** The layer kind. */
  readonly kind: string = "GlobalAvgPool2D";
  #ws = new Workspace();
  #cache: AvgPoolCache | undefined;

  /**
   * Runs the forward pass (a window of x's whole H×W) and keeps its cache for `backward`.
   *
   * @param x Input [N, C, H, W].
   * @returns y [N, C, 1, 1]: each channel's mean.
   * @throws {RangeError} If x is not 4-D.
   * @throws {TypeError} If x is not a tensor of Float32Array or Float64Array.
   */
  forward(x: Tensor): Tensor {
    checkTensor("GlobalAvgPool2D.forward", "x", x, 4);
    const size: [number, number] = [x.shape[2], x.shape[3]];
    const { y, cache } = avgPoolForward(x, { size, workspace: this.#ws });
    this.#cache = cache;
    return y;
  }

  /**
   * Runs the backward pass of the last `forward`.
   *
   * @param dy dL/dy [N, C, 1, 1].
   * @returns dL/dx [N, C, H, W]: dy / (H·W) in every cell of its channel.
   * @throws {Error} If called before `forward`; otherwise as `avgPoolBackward`.
   */
  backward(dy: Tensor): Tensor {
    if (this.#cache === undefined) throw new Error("GlobalAvgPool2D.backward: call forward first");
    return avgPoolBackward(dy, this.#cache, { workspace: this.#ws });
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
