/**
 * Adam (Kingma & Ba, 2015), in PyTorch's form (`torch.optim.Adam`, weight decay added to the
 * gradient as an L2 penalty):
 *
 *     g = grad + λ·θ
 *     m = β1·m + (1 − β1)·g          v = β2·v + (1 − β2)·g²
 *     m̂ = m / (1 − β1^t)             v̂ = v / (1 − β2^t)        t = 1, 2, ...
 *     θ = θ − η·m̂ / (√v̂ + ε)
 *
 * Derivation, and why the bias correction: docs/training.md ("Adam").
 *
 * @module
 */

import type { FloatArray } from "../tensor.ts";
import type { Param } from "../layers/layer.ts";
import type { Optimizer } from "./optimizer.ts";
import { checkHyper, checkParams } from "./_check.ts";

/** Options of {@link Adam}. */
export interface AdamOptions {
  /** Learning rate η (≥ 0); default 0.001. */
  lr?: number;
  /** Decay of the gradient average β1 in [0, 1); default 0.9. */
  beta1?: number;
  /** Decay of the squared-gradient average β2 in [0, 1); default 0.999. */
  beta2?: number;
  /** ε > 0 added to √v̂; default 1e-8. */
  eps?: number;
  /** Weight decay λ ≥ 0, added to the gradient as λ·θ; default 0. */
  weightDecay?: number;
}

/**
 * The Adam optimiser.
 *
 * @example Two hand-worked steps
 * ```ts
 * import { Adam } from "./adam.ts";
 * import { assertAlmostEquals } from "@std/assert";
 * const w = { name: "w", value: { shape: [1], data: new Float64Array([1]) }, grad: { shape: [1], data: new Float64Array([0.5]) } };
 * const opt = new Adam([w], { lr: 0.1 });
 * opt.step(); // m̂ = g, v̂ = g²: the first step is lr·g/(|g| + ε) ≈ lr·sign(g), whatever |g|
 * assertAlmostEquals(w.value.data[0], 0.9 + 0.1 * 1e-8 / 0.5, 1e-12);
 * w.grad.data[0] = -1;
 * opt.step();
 * // m = 0.9·0.05 − 0.1 = −0.055, v = 0.999·0.00025 + 0.001 = 0.00124975
 * // m̂ = −0.055/0.19 = −0.289474, v̂ = 0.00124975/0.001999 = 0.625188, step = 0.1·m̂/√v̂
 * assertAlmostEquals(w.value.data[0], 0.9 + 0.1 * 0.289474 / Math.sqrt(0.625188), 1e-6);
 * ```
 */
export class Adam implements Optimizer {
  /** The learning rate of the next step. */
  lr: number;
  /** β1. */
  readonly beta1: number;
  /** β2. */
  readonly beta2: number;
  /** ε. */
  readonly eps: number;
  /** Weight decay λ. */
  readonly weightDecay: number;
  #params: readonly Param[];
  #m: FloatArray[];
  #v: FloatArray[];
  #steps = 0;

  /**
   * Creates the optimiser; both averages start at zero.
   *
   * @param params The parameters to update (their `grad` is read at each step).
   * @param opts Learning rate, β1, β2, ε, weight decay.
   * @throws {RangeError} If a hyper-parameter is out of range or a parameter's value and grad
   *   differ in shape.
   * @throws {TypeError} If a parameter does not hold Float32Array or Float64Array tensors.
   */
  constructor(params: readonly Param[], opts: AdamOptions = {}) {
    const fn = "Adam";
    checkParams(fn, params);
    const { lr = 0.001, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0 } = opts;
    checkHyper(fn, "lr", lr, 0, Infinity);
    checkHyper(fn, "beta1", beta1, 0, 1);
    checkHyper(fn, "beta2", beta2, 0, 1);
    checkHyper(fn, "weightDecay", weightDecay, 0, Infinity);
    if (!(eps > 0 && Number.isFinite(eps))) {
      throw new RangeError(`${fn}: eps must be a finite number > 0, got ${eps}`);
    }
    this.lr = lr;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.#params = [...params];
    const zeros = (p: Param): FloatArray =>
      p.value.data instanceof Float32Array
        ? new Float32Array(p.value.data.length)
        : new Float64Array(p.value.data.length);
    this.#m = params.map(zeros);
    this.#v = params.map(zeros);
  }

  /** How many steps have been taken (t of the bias correction). */
  get steps(): number {
    return this.#steps;
  }

  /**
   * Applies one update to every parameter from its current gradient.
   *
   * @throws {RangeError} If `lr` has been set to a negative or non-finite number.
   */
  step(): void {
    checkHyper("Adam.step", "lr", this.lr, 0, Infinity);
    const t = this.#steps + 1;
    const { lr, beta1: b1, beta2: b2, eps, weightDecay: wd } = this;
    const c1 = 1 - b1 ** t, c2 = 1 - b2 ** t;
    for (let k = 0; k < this.#params.length; k++) {
      const theta = this.#params[k].value.data, grad = this.#params[k].grad.data;
      const m = this.#m[k], v = this.#v[k];
      for (let i = 0; i < theta.length; i++) {
        const g = grad[i] + wd * theta[i];
        m[i] = b1 * m[i] + (1 - b1) * g;
        v[i] = b2 * v[i] + (1 - b2) * g * g;
        theta[i] -= lr * (m[i] / c1) / (Math.sqrt(v[i] / c2) + eps);
      }
    }
    this.#steps = t;
  }
}
