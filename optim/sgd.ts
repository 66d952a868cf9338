/**
 * Stochastic gradient descent with momentum and weight decay, in PyTorch's form
 * (`torch.optim.SGD`), so the same hyper-parameters mean the same thing:
 *
 *     g = grad + λ·θ                 weight decay λ (L2 penalty λ/2·|θ|²)
 *     v = μ·v + g                    momentum μ (v starts at 0, so the first v is g)
 *     θ = θ − η·v                    or θ − η·(g + μ·v) with Nesterov momentum
 *
 * Derivation: docs/training.md ("Stochastic gradient descent", "Momentum").
 *
 * @module
 */

import type { FloatArray } from "../tensor.ts";
import type { Param } from "../layers/layer.ts";
import type { Optimizer } from "./optimizer.ts";
import { checkHyper, checkParams } from "./_check.ts";

/** Options of {@link SGD}. */
export interface SGDOptions {
  /** Learning rate η (≥ 0). */
  lr: number;
  /** Momentum μ in [0, 1); default 0 (plain SGD). */
  momentum?: number;
  /** Weight decay λ ≥ 0, added to the gradient as λ·θ; default 0. */
  weightDecay?: number;
  /** Nesterov momentum (needs momentum > 0); default false. */
  nesterov?: boolean;
}

/**
 * SGD with optional momentum, Nesterov momentum and weight decay.
 *
 * @example Two hand-worked steps with momentum and weight decay
 * ```ts
 * import { SGD } from "./sgd.ts";
 * import { assertAlmostEquals } from "@std/assert";
 * const w = { name: "w", value: { shape: [1], data: new Float64Array([1]) }, grad: { shape: [1], data: new Float64Array([0.5]) } };
 * const opt = new SGD([w], { lr: 0.1, momentum: 0.9, weightDecay: 0.1 });
 * opt.step(); // g = 0.5 + 0.1·1 = 0.6; v = 0.6; θ = 1 − 0.06 = 0.94
 * assertAlmostEquals(w.value.data[0], 0.94);
 * opt.step(); // g = 0.5 + 0.094 = 0.594; v = 0.9·0.6 + 0.594 = 1.134; θ = 0.94 − 0.1134
 * assertAlmostEquals(w.value.data[0], 0.8266);
 * ```
 */
export class SGD implements Optimizer {
  /** The learning rate of the next step. */
  lr: number;
  /** Momentum μ. */
  readonly momentum: number;
  /** Weight decay λ. */
  readonly weightDecay: number;
  /** Whether the step uses Nesterov momentum. */
  readonly nesterov: boolean;
  #params: readonly Param[];
  #velocity: FloatArray[];
  #steps = 0;

  /**
   * Creates the optimiser; velocities start at zero.
   *
   * @param params The parameters to update (their `grad` is read at each step).
   * @param opts Learning rate, momentum, weight decay, Nesterov.
   * @throws {RangeError} If a hyper-parameter is out of range, Nesterov is asked without
   *   momentum, or a parameter's value and grad differ in shape.
   * @throws {TypeError} If a parameter does not hold Float32Array or Float64Array tensors.
   */
  constructor(params: readonly Param[], opts: SGDOptions) {
    const fn = "SGD";
    checkParams(fn, params);
    const { lr, momentum = 0, weightDecay = 0, nesterov = false } = opts;
    checkHyper(fn, "lr", lr, 0, Infinity);
    checkHyper(fn, "momentum", momentum, 0, 1);
    checkHyper(fn, "weightDecay", weightDecay, 0, Infinity);
    if (nesterov && momentum === 0) {
      throw new RangeError(`${fn}: nesterov needs a momentum above 0`);
    }
    this.lr = lr;
    this.momentum = momentum;
    this.weightDecay = weightDecay;
    this.nesterov = nesterov;
    this.#params = [...params];
    this.#velocity = params.map((p) =>
      p.value.data instanceof Float32Array
        ? new Float32Array(p.value.data.length)
        : new Float64Array(p.value.data.length)
    );
  }

  /** How many steps have been taken. */
  get steps(): number {
    return this.#steps;
  }

  /**
   * Applies one update to every parameter from its current gradient.
   *
   * @throws {RangeError} If `lr` has been set to a negative or non-finite number.
   */
  step(): void {
    checkHyper("SGD.step", "lr", this.lr, 0, Infinity);
    const { lr, momentum: mu, weightDecay: wd, nesterov } = this;
    for (let k = 0; k < this.#params.length; k++) {
      const theta = this.#params[k].value.data, grad = this.#params[k].grad.data;
      const v = this.#velocity[k];
      for (let i = 0; i < theta.length; i++) {
        let g = grad[i] + wd * theta[i];
        if (mu !== 0) {
          v[i] = mu * v[i] + g;
          g = nesterov ? g + mu * v[i] : v[i];
        }
        theta[i] -= lr * g;
      }
    }
    this.#steps++;
  }
}
