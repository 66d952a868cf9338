/**
 * What every optimiser shares: it owns references to the parameters it updates, reads their
 * `grad` (which the layers' `backward` has just written) and updates `value` in place.
 *
 * @module
 */

/**
 * An optimiser: `step()` applies one update to every parameter from its current gradient.
 *
 * @example A learning-rate schedule sets `lr` before each step
 * ```ts
 * import type { Optimizer } from "./optimizer.ts";
 * import { SGD } from "./sgd.ts";
 * import { cosineSchedule } from "./schedule.ts";
 * import { assertAlmostEquals } from "@std/assert";
 * const p = { name: "w", value: { shape: [1], data: new Float64Array([1]) }, grad: { shape: [1], data: new Float64Array([1]) } };
 * const opt: Optimizer = new SGD([p], { lr: 0.1 });
 * const schedule = cosineSchedule({ lr: 0.1, totalSteps: 2 });
 * for (let t = 0; t < 2; t++) {
 *   opt.lr = schedule(t);
 *   opt.step();
 * }
 * assertAlmostEquals(p.value.data[0], 1 - 0.1 - 0.05); // lr 0.1, then 0.05 halfway down the cosine
 * ```
 */
export interface Optimizer {
  /** The learning rate of the next step; a schedule may change it between steps. */
  lr: number;
  /** How many steps have been taken. */
  readonly steps: number;
  /** Updates every parameter in place from its gradient. */
  step(): void;
}
