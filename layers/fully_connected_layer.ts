/**
 * The fully connected layer as a layer object: its weights, bias, their gradients and its
 * workspace, around the public `fcForward` / `fcBackward`.
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";
import { checkObject, zerosLike } from "../_validate.ts";
import { heNormal, mulberry32, type Rng } from "../random.ts";
import { fcBackward, fcForward } from "../backend.ts";
import { type Layer, type Param, param } from "./layer.ts";
import type { FcCache } from "./types.ts";
import { Workspace } from "./workspace.ts";

/** Options of {@link FullyConnected}. */
export interface FullyConnectedOptions {
  /** K: features per sample (the product of the input's non-batch sizes). */
  inFeatures: number;
  /** D: outputs per sample. */
  outFeatures: number;
  /** Element type of the parameters; default "float32". */
  dtype?: "float32" | "float64";
  /** Random source for the initial weights; default `mulberry32(0)`. */
  rng?: Rng;
}

/**
 * A fully connected layer holding w [D, K], b [D], their gradients and the forward cache.
 * Weights start He-normal (std √(2/K)), bias zero.
 *
 * The tensors `forward` and `backward` return live in the layer's workspace and are reused from
 * call to call: they stay valid until the layer's next call; copy them to keep them.
 *
 * @example
 * ```ts
 * import { FullyConnected } from "./fully_connected_layer.ts";
 * import { assertEquals } from "@std/assert";
 * const fc = new FullyConnected({ inFeatures: 8, outFeatures: 3 });
 * const y = fc.forward({ shape: [5, 2, 2, 2], data: new Float32Array(40).fill(1) });
 * assertEquals(y.shape, [5, 3]);
 * const dx = fc.backward({ shape: [5, 3], data: new Float32Array(15).fill(1) });
 * assertEquals(dx.shape, [5, 2, 2, 2]);
 * assertEquals(fc.b.grad.data[0], 5); // db = Σ over the batch
 * ```
 */
export class FullyConnected implements Layer {
  /** The layer kind. */
  readonly kind: string = "FullyConnected";
  /** Weights [D, K]. */
  readonly w: Param;
  /** Bias [D]. */
  readonly b: Param;
  #ws = new Workspace();
  #cache: FcCache | undefined;

  /**
   * Creates the layer with freshly initialised parameters.
   *
   * @param opts Sizes, dtype and the random source.
   * @throws {RangeError} If a size is not a positive integer.
   * @throws {TypeError} If `opts` is not an object.
   */
  constructor(opts: FullyConnectedOptions) {
    checkObject("FullyConnected", "opts", opts, "{ inFeatures: 800, outFeatures: 10 }");
    const { inFeatures: K, outFeatures: D } = opts;
    for (const [name, v] of [["inFeatures", K], ["outFeatures", D]] as const) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(`FullyConnected: ${name} must be a positive integer, got ${v}`);
      }
    }
    const dtype = opts.dtype ?? "float32";
    const w = heNormal(D * K, { fanIn: K, dtype, rng: opts.rng ?? mulberry32(0) });
    this.w = param("w", [D, K], w);
    this.b = param("b", [D], zerosLike(w, D));
  }

  /**
   * Runs the forward pass and keeps its cache for `backward`.
   *
   * @param x Input [N, ...] with K features per sample.
   * @returns y [N, D].
   * @throws {RangeError} As `fcForward`.
   */
  forward(x: Tensor): Tensor {
    const { y, cache } = fcForward(x, this.w.value, this.b.value, { workspace: this.#ws });
    this.#cache = cache;
    return y;
  }

  /**
   * Runs the backward pass of the last `forward`; the parameters' gradients are overwritten.
   *
   * @param dy dL/dy [N, D].
   * @returns dL/dx in the input's shape; dL/dw and dL/db go to the params' `grad`.
   * @throws {Error} If called before `forward`; otherwise as `fcBackward`.
   */
  backward(dy: Tensor): Tensor {
    if (this.#cache === undefined) throw new Error("FullyConnected.backward: call forward first");
    const { dx, dw, db } = fcBackward(dy, this.#cache, { workspace: this.#ws });
    this.w.grad.data.set(dw.data);
    this.b.grad.data.set(db.data);
    return dx;
  }

  /**
   * The backward pass for a first layer, whose input is the data: fills the params' `grad` as
   * {@link FullyConnected.backward} does, bit for bit, without computing dL/dx.
   *
   * @param dy dL/dy [N, D].
   * @returns Nothing; dL/dw and dL/db go to the params' `grad`.
   * @throws {Error} If called before `forward`; otherwise as `fcBackward`.
   */
  backwardParams(dy: Tensor): void {
    if (this.#cache === undefined) {
      throw new Error("FullyConnected.backwardParams: call forward first");
    }
    const opts = { inputGradient: false, workspace: this.#ws } as const;
    const { dw, db } = fcBackward(dy, this.#cache, opts);
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
