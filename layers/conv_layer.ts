/**
 * The convolution as a layer object: its filters, bias, their gradients and its workspace, around
 * the public `convForward` / `convBackward` (so it runs whichever backend `setBackend` chose).
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";
import { checkObject, pairOption, zerosLike } from "../_validate.ts";
import { heNormal, mulberry32, type Rng } from "../random.ts";
import { convBackward, convForward } from "../backend.ts";
import { type Layer, type Param, param } from "./layer.ts";
import type { ConvCache, ConvOptions } from "./types.ts";
import { Workspace } from "./workspace.ts";

/** Options of {@link Conv2D}. */
export interface Conv2DOptions extends ConvOptions {
  /** Input channels C. */
  inChannels: number;
  /** Output channels (filters) D. */
  outChannels: number;
  /** The kernel's size, one number or [kh, kw]. */
  size: number | [number, number];
  /** Element type of the parameters; default "float32". */
  dtype?: "float32" | "float64";
  /** Random source for the initial weights; default `mulberry32(0)`. */
  rng?: Rng;
}

/**
 * A convolution layer. Weights start He-normal (std √(2/K), K = C·kh·kw), bias zero.
 *
 * Like llm.c's preallocated activations, the tensors `forward` and `backward` return live in the
 * layer's workspace and are reused from call to call (a fresh large typed array costs page
 * faults on first touch): they stay valid until the layer's next call; copy them to keep them.
 *
 * @example
 * ```ts
 * import { Conv2D } from "./conv_layer.ts";
 * import { assertEquals } from "@std/assert";
 * const conv = new Conv2D({ inChannels: 1, outChannels: 4, size: 3, padding: 1 });
 * const y = conv.forward({ shape: [2, 1, 5, 5], data: new Float32Array(50).fill(1) });
 * assertEquals(y.shape, [2, 4, 5, 5]);
 * const dx = conv.backward({ shape: y.shape, data: new Float32Array(200).fill(1) });
 * assertEquals(dx.shape, [2, 1, 5, 5]);
 * assertEquals(conv.params()[1].grad.data[0], 2 * 25); // db = Σ dy over batch and positions
 * ```
 */
export class Conv2D implements Layer {
  /** The layer kind. */
  readonly kind: string = "Conv2D";
  /** Filters [D, C, kh, kw]. */
  readonly w: Param;
  /** Bias [D]. */
  readonly b: Param;
  /** Stride and padding. */
  readonly options: ConvOptions;
  /**
   * Training mode (the default): a backward pass follows each forward pass, so the fast backend
   * keeps every sample's x_col for it. Evaluation mode (`Sequential.eval()` sets it false):
   * nothing is kept, so a float32 stride-1 layer may run on the kernel that never builds x_col;
   * a backward pass still works, gathering x_col again. The numbers are the same.
   */
  training = true;
  #ws = new Workspace();
  #cache: ConvCache | undefined;

  /**
   * Creates the layer with freshly initialised parameters.
   *
   * @param opts Channels, kernel size, stride, padding, dtype and the random source.
   * @throws {RangeError} If a size is not a positive integer.
   * @throws {TypeError} If `opts` is not an object or `size` is missing.
   */
  constructor(opts: Conv2DOptions) {
    checkObject("Conv2D", "opts", opts, "{ inChannels: 1, outChannels: 8, size: 3 }");
    const { inChannels: C, outChannels: D } = opts;
    if (opts.size === undefined) {
      throw new TypeError(
        "Conv2D: opts.size (the kernel's size, as { size: 3 }) is required" +
          ("kernelSize" in opts ? "; convprop 0.1 called it kernelSize" : ""),
      );
    }
    const [kh, kw] = pairOption("Conv2D", "size", opts.size, 1, [0, 0]);
    for (const [name, v] of [["inChannels", C], ["outChannels", D]] as const) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(`Conv2D: ${name} must be a positive integer, got ${v}`);
      }
    }
    pairOption("Conv2D", "stride", opts.stride, 1, [1, 1]);
    pairOption("Conv2D", "padding", opts.padding, 0, [0, 0]);
    const K = C * kh * kw, dtype = opts.dtype ?? "float32";
    const w = heNormal(D * K, { fanIn: K, dtype, rng: opts.rng ?? mulberry32(0) });
    this.w = param("w", [D, C, kh, kw], w);
    this.b = param("b", [D], zerosLike(w, D));
    this.options = { stride: opts.stride, padding: opts.padding };
  }

  /**
   * Runs the forward pass and keeps its cache for `backward`.
   *
   * @param x Input [N, C, H, W].
   * @returns y [N, D, Ho, Wo].
   * @throws {RangeError} As `convForward`.
   */
  forward(x: Tensor): Tensor {
    const opts = { ...this.options, training: this.training, workspace: this.#ws };
    const { y, cache } = convForward(x, this.w.value, this.b.value, opts);
    this.#cache = cache;
    return y;
  }

  /**
   * Runs the backward pass of the last `forward`; the parameters' gradients are overwritten.
   *
   * @param dy dL/dy [N, D, Ho, Wo].
   * @returns dL/dx [N, C, H, W]; dL/dw and dL/db go to the params' `grad`.
   * @throws {Error} If called before `forward`; otherwise as `convBackward`.
   */
  backward(dy: Tensor): Tensor {
    if (this.#cache === undefined) throw new Error("Conv2D.backward: call forward first");
    const { dx, dw, db } = convBackward(dy, this.#cache, { workspace: this.#ws });
    this.w.grad.data.set(dw.data);
    this.b.grad.data.set(db.data);
    return dx;
  }

  /**
   * The backward pass for a first layer, whose input is the data: fills the params' `grad` as
   * {@link Conv2D.backward} does, bit for bit, without computing dL/dx.
   *
   * @param dy dL/dy [N, D, Ho, Wo].
   * @returns Nothing; dL/dw and dL/db go to the params' `grad`.
   * @throws {Error} If called before `forward`; otherwise as `convBackward`.
   */
  backwardParams(dy: Tensor): void {
    if (this.#cache === undefined) throw new Error("Conv2D.backwardParams: call forward first");
    const opts = { inputGradient: false, workspace: this.#ws } as const;
    const { dw, db } = convBackward(dy, this.#cache, opts);
    this.w.grad.data.set(dw.data);
    this.b.grad.data.set(db.data);
  }

  /**
   * The trainable parameters, in a fixed order.
   *
   * @returns [w, b].
   */
  params(): Param[] {
    return [this.w, this.b];
  }
}
