/**
 * Learning-rate schedules: functions from the step number (0, 1, 2, ...) to the learning rate of
 * that step. Set `optimizer.lr = schedule(optimizer.steps)` before each `step()`.
 *
 * @module
 */

import { checkHyper } from "./_check.ts";

/** A learning rate for each step t = 0, 1, 2, .... */
export type LrSchedule = (step: number) => number;

/** Checks a schedule's argument: the optimizer's step count, a non-negative integer. */
function checkStep(fn: string, step: number): void {
  if (!Number.isInteger(step) || step < 0) {
    throw new RangeError(`${fn}: step must be a non-negative integer (steps taken), got ${step}`);
  }
}

/** Options of {@link cosineSchedule}. */
export interface CosineScheduleOptions {
  /** The peak learning rate. */
  lr: number;
  /** Steps of the whole run; from then on the rate stays at `minLr`. */
  totalSteps: number;
  /** Steps of linear warm-up from lr/warmupSteps to lr; default 0. */
  warmupSteps?: number;
  /** The final learning rate; default 0. */
  minLr?: number;
}

/**
 * Cosine annealing (Loshchilov & Hutter, 2017) with an optional linear warm-up: the rate climbs
 * linearly to `lr` over `warmupSteps`, then falls along half a cosine to `minLr` at
 * `totalSteps`: lr_t = minLr + (lr − minLr)·(1 + cos(π·s/S))/2 with s = t − warmup,
 * S = totalSteps − warmup. Large steps early, small steps to settle at the end, with no
 * step-size constants to tune.
 *
 * @param opts Peak rate, total steps, warm-up steps, final rate.
 * @returns The schedule.
 * @throws {RangeError} If a rate is negative or not finite, `totalSteps` is not a positive
 *   integer, or `warmupSteps` is not an integer in [0, totalSteps).
 *
 * @example
 * ```ts
 * import { cosineSchedule } from "./schedule.ts";
 * import { assertAlmostEquals } from "@std/assert";
 * const lr = cosineSchedule({ lr: 0.1, totalSteps: 110, warmupSteps: 10 });
 * assertAlmostEquals(lr(0), 0.01); // warm-up: 1/10 of the peak
 * assertAlmostEquals(lr(10), 0.1); // the peak
 * assertAlmostEquals(lr(60), 0.05); // halfway down the cosine
 * assertAlmostEquals(lr(110), 0);
 * ```
 */
export function cosineSchedule(opts: CosineScheduleOptions): LrSchedule {
  const fn = "cosineSchedule";
  const { lr, totalSteps, warmupSteps = 0, minLr = 0 } = opts;
  checkHyper(fn, "lr", lr, 0, Infinity);
  checkHyper(fn, "minLr", minLr, 0, Infinity);
  if (!Number.isInteger(totalSteps) || totalSteps < 1) {
    throw new RangeError(`${fn}: totalSteps must be a positive integer, got ${totalSteps}`);
  }
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0 || warmupSteps >= totalSteps) {
    throw new RangeError(
      `${fn}: warmupSteps must be an integer in [0, totalSteps = ${totalSteps}), got ${warmupSteps}`,
    );
  }
  return function cosine(step: number): number {
    checkStep(fn, step);
    if (step < warmupSteps) return lr * (step + 1) / warmupSteps;
    const s = Math.min(step - warmupSteps, totalSteps - warmupSteps);
    return minLr + (lr - minLr) * (1 + Math.cos(Math.PI * s / (totalSteps - warmupSteps))) / 2;
  };
}

/** Options of {@link stepSchedule}. */
export interface StepScheduleOptions {
  /** The initial learning rate. */
  lr: number;
  /** Multiply the rate by `gamma` every `stepSize` steps. */
  stepSize: number;
  /** The factor; default 0.1. */
  gamma?: number;
}

/**
 * Step decay (PyTorch's `StepLR`): lr_t = lr · gamma^⌊t / stepSize⌋.
 *
 * @param opts Initial rate, interval, factor.
 * @returns The schedule.
 * @throws {RangeError} If `lr` is negative or not finite, `stepSize` is not a positive integer,
 *   or `gamma` is not in [0, 1].
 *
 * @example
 * ```ts
 * import { stepSchedule } from "./schedule.ts";
 * import { assertAlmostEquals } from "@std/assert";
 * const lr = stepSchedule({ lr: 0.1, stepSize: 100, gamma: 0.5 });
 * assertAlmostEquals(lr(99), 0.1);
 * assertAlmostEquals(lr(100), 0.05);
 * assertAlmostEquals(lr(250), 0.025);
 * ```
 */
export function stepSchedule(opts: StepScheduleOptions): LrSchedule {
  const fn = "stepSchedule";
  const { lr, stepSize, gamma = 0.1 } = opts;
  checkHyper(fn, "lr", lr, 0, Infinity);
  checkHyper(fn, "gamma", gamma, 0, 1, true);
  if (!Number.isInteger(stepSize) || stepSize < 1) {
    throw new RangeError(`${fn}: stepSize must be a positive integer, got ${stepSize}`);
  }
  return function stepDecay(step: number): number {
    checkStep(fn, step);
    return lr * gamma ** Math.floor(step / stepSize);
  };
}
