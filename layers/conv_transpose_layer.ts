/**
 * The transposed convolution as a layer object (PyTorch's `nn.ConvTranspose2d`): its filters,
 * bias, their gradients and its workspace, around the public `convTransposeForward` /
 * `convTransposeBackward` (so it runs whichever backend `setBackend` chose).
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";
import { checkObject, pairOption, zerosLike } from "../_validate.ts";
import { heNormal, mulberry32, type Rng } from "../random.ts";
import { convTransposeBackward, convTransposeForward } from "../backend.ts";
import { type Layer, type Param, param } from "./layer.ts";
import type { ConvTransposeCache, ConvTransposeOptions } from "./types.ts";
import { Workspace } from "./workspace.ts";

/** Options of {@link ConvTranspose2D}. */
export interface ConvTranspose2DOptions extends ConvTransposeOptions {
  /** Input channels C. */
  inChannels: number;
  /** Output channels D. */
  outChannels: number;
  /** The kernel's size, one number or [kh, kw]. */
  size: number | [number, number];
  /** Whether the layer adds a bias; default true. Without one there is no `b` parameter. */
  bias?: boolean;
  /** Element type of the parameters; default "float32". */
  dtype?: "float32" | "float64";
  /** Random source for the initial weights; default `mulberry32(0)`. */
  rng?: Rng;
}

/**
 * A transposed convolution layer: upsampling by stamping a learned kernel per input cell, as in
 * a decoder. Its weights w [C, D/groups, kh, kw] are PyTorch's layout for `nn.ConvTranspose2d`
 * (input channels first), so a checkpoint names them `<i>.weight` and `<i>.bias` and PyTorch
 * loads them as they are.
 *
 * Initialisation: He-normal, N(0, 2/fan_in), with fan_in as PyTorch computes it for this layer:
 * from the weight's shape, as for a convolution, w.shape[1]·kh·kw = (D/groups)·kh·kw. For a
 * transposed convolution that counts the outputs one input cell feeds (its stamp), not the terms
 * each output sums: those are about (C/groups)·kh·kw/(sh·sw), and vary from output to output
 * where the stamps overlap unevenly (docs/conv_transpose.md). The convention is kept so that the
 * layer starts at the scale PyTorch's fan-in gives. The bias starts at zero.
 *
 * The tensors `forward` and `backward` return live in the layer's workspace and are reused from
 * call to call: they stay valid until the layer's next call; copy them to keep them.
 *
 * @example A 4×4 map upsampled to 8×8, and its gradients
 * ```ts
 * import { ConvTranspose2D } from "./conv_transpose_layer.ts";
 * import { assertEquals } from "@std/assert";
 * const up = new ConvTranspose2D({ inChannels: 3, outChannels: 2, size: 4, stride: 2, padding: 1 });
 * assertEquals(up.w.value.shape, [3, 2, 4, 4]); // [C_in, C_out, kh, kw], as PyTorch
 * const y = up.forward({ shape: [5, 3, 4, 4], data: new Float32Array(240).fill(1) });
 * assertEquals(y.shape, [5, 2, 8, 8]);
 * const dx = up.backward({ shape: y.shape, data: new Float32Array(640).fill(1) });
 * assertEquals(dx.shape, [5, 3, 4, 4]);
 * assertEquals(up.params()[1].grad.data[0], 5 * 64); // db = Σ dy over batch and positions
 * ```
 */
export class ConvTranspose2D implements Layer {
  /** The layer kind. */
  readonly kind: string = "ConvTranspose2D";
  /** Filters [C, D/groups, kh, kw]. */
  readonly w: Param;
  /** Bias [D], or null when the layer has none. */
  readonly b: Param | null;
  /** Stride, padding, output padding, dilation and groups. */
  readonly options: ConvTransposeOptions;
  #ws = new Workspace();
  #cache: ConvTransposeCache | undefined;

  /**
   * Creates the layer with freshly initialised parameters.
   *
   * @param opts Channels, kernel size, stride, padding, output padding, dilation, groups, bias,
   *   dtype and the random source.
   * @throws {RangeError} If a size is not a positive integer (padding, outputPadding:
   *   non-negative), an output padding is not below the stride or the dilation, or groups do not
   *   divide the channels.
   * @throws {TypeError} If `opts` is not an object or `size` is missing.
   */
  constructor(opts: ConvTranspose2DOptions) {
    checkObject("ConvTranspose2D", "opts", opts, "{ inChannels: 8, outChannels: 4, size: 4 }");
    const { inChannels: C, outChannels: D } = opts;
    if (opts.size === undefined) {
      throw new TypeError(
        "ConvTranspose2D: opts.size (the kernel's size, as { size: 4 }) is required",
      );
    }
    const [kh, kw] = pairOption("ConvTranspose2D", "size", opts.size, 1, [0, 0]);
    for (const [name, v] of [["inChannels", C], ["outChannels", D]] as const) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(`ConvTranspose2D: ${name} must be a positive integer, got ${v}`);
      }
    }
    const stride = pairOption("ConvTranspose2D", "stride", opts.stride, 1, [1, 1]);
    const dilation = pairOption("ConvTranspose2D", "dilation", opts.dilation, 1, [1, 1]);
    pairOption("ConvTranspose2D", "padding", opts.padding, 0, [0, 0]);
    const op = pairOption("ConvTranspose2D", "outputPadding", opts.outputPadding, 0, [0, 0]);
    if (op.some((v, a) => v >= stride[a] && v >= dilation[a])) {
      throw new RangeError(
        `ConvTranspose2D: outputPadding [${op}] must be smaller than the stride [${stride}] or ` +
          `the dilation [${dilation}] on each axis, as in PyTorch`,
      );
    }
    const G = opts.groups ?? 1;
    if (!Number.isInteger(G) || G < 1 || C % G !== 0 || D % G !== 0) {
      throw new RangeError(
        `ConvTranspose2D: groups must be a positive integer dividing inChannels ${C} and ` +
          `outChannels ${D}, got ${G}`,
      );
    }
    if (opts.bias !== undefined && typeof opts.bias !== "boolean") {
      throw new TypeError(
        `ConvTranspose2D: bias must be true or false, got ${JSON.stringify(opts.bias)}`,
      );
    }
    const fanIn = (D / G) * kh * kw, dtype = opts.dtype ?? "float32"; // PyTorch's: w.shape[1]·kh·kw
    const w = heNormal(C * fanIn, { fanIn, dtype, rng: opts.rng ?? mulberry32(0) });
    this.w = param("w", [C, D / G, kh, kw], w);
    this.b = opts.bias === false ? null : param("b", [D], zerosLike(w, D));
    this.options = {
      stride: opts.stride,
      padding: opts.padding,
      outputPadding: opts.outputPadding,
      dilation: opts.dilation,
      groups: opts.groups,
    };
  }

  /**
   * Runs the forward pass and keeps its cache for `backward`.
   *
   * @param x Input [N, C, H, W].
   * @returns y [N, D, Ho, Wo].
   * @throws {RangeError} As `convTransposeForward`.
   */
  forward(x: Tensor): Tensor {
    const opts = { ...this.options, workspace: this.#ws };
    const { y, cache } = convTransposeForward(x, this.w.value, this.b?.value ?? null, opts);
    this.#cache = cache;
    return y;
  }

  /**
   * Runs the backward pass of the last `forward`; the parameters' gradients are overwritten.
   *
   * @param dy dL/dy [N, D, Ho, Wo].
   * @returns dL/dx [N, C, H, W]; dL/dw and dL/db go to the params' `grad`.
   * @throws {Error} If called before `forward`; otherwise as `convTransposeBackward`.
   */
  backward(dy: Tensor): Tensor {
    if (this.#cache === undefined) throw new Error("ConvTranspose2D.backward: call forward first");
    const { dx, dw, db } = convTransposeBackward(dy, this.#cache, { workspace: this.#ws });
    this.w.grad.data.set(dw.data);
    if (db !== null) this.b?.grad.data.set(db.data);
    return dx;
  }

  /**
   * The backward pass for a first layer, whose input is the data: fills the params' `grad` as
   * {@link ConvTranspose2D.backward} does, bit for bit, without computing dL/dx.
   *
   * @param dy dL/dy [N, D, Ho, Wo].
   * @returns Nothing; dL/dw and dL/db go to the params' `grad`.
   * @throws {Error} If called before `forward`; otherwise as `convTransposeBackward`.
   */
  backwardParams(dy: Tensor): void {
    if (this.#cache === undefined) {
      throw new Error("ConvTranspose2D.backwardParams: call forward first");
    }
    const opts = { inputGradient: false, workspace: this.#ws } as const;
    const { dw, db } = convTransposeBackward(dy, this.#cache, opts);
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
