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
  /** Whether the layer adds a bias; default true. Without one (as before a batch norm, which
   * would cancel it) there is no `b` parameter. */
  bias?: boolean;
  /** Element type of the parameters; default "float32". */
  dtype?: "float32" | "float64";
  /** Random source for the initial weights; default `mulberry32(0)`. */
  rng?: Rng;
}

/**
 * A convolution layer. Weights start He-normal (std √(2/K), K = (C/groups)·kh·kw, the inputs each
 * output sums), bias zero.
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
 * // depthwise, no bias: one 3×3 filter per channel, "same" size
 * const dw = new Conv2D({ inChannels: 4, outChannels: 4, size: 3, groups: 4, padding: "same", bias: false });
 * assertEquals(dw.w.value.shape, [4, 1, 3, 3]);
 * assertEquals(dw.params().length, 1);
 * assertEquals(dw.forward({ shape: [1, 4, 6, 6], data: new Float32Array(144) }).shape, [1, 4, 6, 6]);
 * ```
 */
export class Conv2D implements Layer {
  /** The layer kind. */
  readonly kind: string = "Conv2D";
  /** Filters [D, C/groups, kh, kw]. */
  readonly w: Param;
  /** Bias [D], or null when the layer has none. */
  readonly b: Param | null;
  /** Stride, padding, dilation and groups. */
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
   * @param opts Channels, kernel size, stride, padding, dilation, groups, bias, dtype and the
   *   random source.
   * @throws {RangeError} If a size is not a positive integer, or groups do not divide the
   *   channels.
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
    pairOption("Conv2D", "dilation", opts.dilation, 1, [1, 1]);
    if (opts.padding !== "same") pairOption("Conv2D", "padding", opts.padding, 0, [0, 0]);
    const G = opts.groups ?? 1;
    if (!Number.isInteger(G) || G < 1 || C % G !== 0 || D % G !== 0) {
      throw new RangeError(
        `Conv2D: groups must be a positive integer dividing inChannels ${C} and outChannels ${D}, ` +
          `got ${G}`,
      );
    }
    if (opts.bias !== undefined && typeof opts.bias !== "boolean") {
      throw new TypeError(`Conv2D: bias must be true or false, got ${JSON.stringify(opts.bias)}`);
    }
    const K = (C / G) * kh * kw, dtype = opts.dtype ?? "float32";
    const w = heNormal(D * K, { fanIn: K, dtype, rng: opts.rng ?? mulberry32(0) });
    this.w = param("w", [D, C / G, kh, kw], w);
    this.b = opts.bias === false ? null : param("b", [D], zerosLike(w, D));
    this.options = {
      stride: opts.stride,
      padding: opts.padding,
      dilation: opts.dilation,
      groups: opts.groups,
    };
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
    const { y, cache } = convForward(x, this.w.value, this.b?.value ?? null, opts);
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
    if (db !== null) this.b?.grad.data.set(db.data);
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
    if (db !== null) this.b?.grad.data.set(db.data);
  }

  /**
   * The trainable parameters, in a fixed order.
   *
   * @returns [w, b], or [w] without a bias.
   */
  params(): Param[] {
    return this.b === null ? [this.w] : [this.w, this.b];
  }
}
