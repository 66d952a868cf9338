/**
 * Dropout (Srivastava et al., 2014), "inverted" as in PyTorch: in training mode each element is
 * zeroed with probability p and the survivors are scaled by 1/(1 − p), so the expected output
 * equals the input and evaluation mode is simply the identity. The mask comes from a seeded
 * source, so a run is reproducible bit for bit.
 *
 * @module
 */

import type { FloatArray, Tensor } from "../tensor.ts";
import type { Layer, Param } from "./layer.ts";
import { mulberry32, type Rng } from "../random.ts";
import { Workspace } from "./workspace.ts";
import { checkObject, checkShapeEquals, checkTensor } from "../_validate.ts";

/** Options of {@link Dropout}. */
export interface DropoutOptions {
  /** Probability of zeroing an element, in [0, 1). */
  p: number;
  /** Random source for the masks; default `mulberry32(0)`. */
  rng?: Rng;
}

/**
 * A dropout layer: random zeroing in training mode, identity in evaluation mode.
 *
 * As the other layers, it keeps its mask and the tensors `forward` and `backward` return in its
 * own workspace, reused from call to call: each is valid until the next call of the same method.
 *
 * @example
 * ```ts
 * import { Dropout } from "./dropout.ts";
 * import { mulberry32 } from "../random.ts";
 * import { assertEquals } from "@std/assert";
 * const drop = new Dropout({ p: 0.5, rng: mulberry32(1) });
 * const x = { shape: [1, 1000], data: new Float32Array(1000).fill(1) };
 * const y = drop.forward(x);
 * const kept = y.data.filter((v) => v !== 0);
 * console.assert(kept.length > 430 && kept.length < 570); // about half (σ ≈ 16)
 * assertEquals(kept[0], 2); // survivors scaled by 1/(1 − p)
 * drop.training = false;
 * assertEquals(drop.forward(x).data, x.data); // evaluation: the identity
 * ```
 */
export class Dropout implements Layer {
  /** The layer kind. */
  readonly kind: string = "Dropout";
  /** Probability of zeroing an element. */
  readonly p: number;
  /** Training mode (random zeroing) or evaluation mode (identity); set by `Sequential.train()`. */
  training = true;
  #rng: Rng;
  #mask: FloatArray | undefined; // 0 or 1/(1 − p) per element; undefined after an eval forward
  #shape: readonly number[] | undefined; // the last forward's input shape
  #ws = new Workspace(); // the mask, y and dx, reused from call to call

  /**
   * Creates the layer.
   *
   * @param opts Drop probability and random source.
   * @throws {RangeError} If p is not in [0, 1).
   */
  constructor(opts: DropoutOptions) {
    checkObject("Dropout", "opts", opts, "{ p: 0.5 }");
    if (!(typeof opts.p === "number" && opts.p >= 0 && opts.p < 1)) {
      throw new RangeError(`Dropout: p must be a number in [0, 1), got ${opts.p}`);
    }
    this.p = opts.p;
    this.#rng = opts.rng ?? mulberry32(0);
  }

  /**
   * Replaces the source of the masks. The data-parallel trainer (training/parallel.ts) gives
   * each shard of each step its own seeded source, so a mask depends on the shard, never on the
   * worker that computes it.
   *
   * @param rng The new source.
   * @throws {TypeError} If `rng` is not a function.
   */
  setRng(rng: Rng): void {
    if (typeof rng !== "function") {
      throw new TypeError(`Dropout.setRng: rng must be a function returning [0, 1), got ${rng}`);
    }
    this.#rng = rng;
  }

  /**
   * Applies dropout (training) or nothing (evaluation).
   *
   * @param x Any tensor.
   * @returns x with elements zeroed and scaled (training), or x itself (evaluation).
   */
  forward(x: Tensor): Tensor {
    checkTensor("Dropout.forward", "x", x);
    this.#shape = [...x.shape];
    if (!this.training || this.p === 0) {
      this.#mask = undefined;
      return x;
    }
    const n = x.data.length, scale = 1 / (1 - this.p);
    const mask = this.#ws.floats("mask", x.data, n, [x.data]);
    const y = this.#ws.floats("y", x.data, n, [x.data, mask]);
    for (let i = 0; i < n; i++) {
      mask[i] = this.#rng() < this.p ? 0 : scale;
      y[i] = x.data[i] * mask[i];
    }
    this.#mask = mask;
    return { shape: [...x.shape], data: y };
  }

  /**
   * Routes the gradient through the kept elements (scaled as in the forward pass).
   *
   * @param dy dL/dy in x's shape.
   * @returns dL/dx.
   * @throws {RangeError} If dy's size differs from the last forward's input.
   */
  backward(dy: Tensor): Tensor {
    if (this.#shape === undefined) throw new Error("Dropout.backward: call forward first");
    checkTensor("Dropout.backward", "dy", dy);
    checkShapeEquals("Dropout.backward", "dy", dy, this.#shape, "x");
    const mask = this.#mask;
    if (mask === undefined) return dy;
    const dx = this.#ws.floats("dx", dy.data, mask.length, [dy.data, mask]);
    for (let i = 0; i < mask.length; i++) dx[i] = dy.data[i] * mask[i];
    return { shape: [...dy.shape], data: dx };
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
