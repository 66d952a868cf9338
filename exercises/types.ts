/**
 * The types the exercises share: the geometry of a convolution or a pooling window, the three
 * gradients of a convolution, and what a gradient checker answers. Every tensor is the library's
 * {@link Tensor}: `{ shape, data }`, row-major, so element [n, c, h, v] of an [N, C, H, W] tensor is
 * `data[((n * C + c) * H + h) * W + v]`. The grader passes Float64Array data and expects
 * Float64Array results.
 *
 * Your own exercise file may import these (`import type { ConvParams } from
 * "<path to>/exercises/types.ts"`) or declare the same shapes itself: the grader only looks at
 * what your function returns.
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";

export type { Tensor };

/** A convolution's geometry: always [rows, cols] pairs, so a stride may differ per axis. */
export interface ConvParams {
  /** [sh, sw]: the step between two windows, down and across. */
  readonly stride: readonly [number, number];
  /** [ph, pw]: the rows and columns of zeros added on each side of x. */
  readonly padding: readonly [number, number];
}

/** A pooling window's geometry: always [rows, cols] pairs. */
export interface PoolParams {
  /** [kh, kw]: the window. */
  readonly size: readonly [number, number];
  /** [sh, sw]: the step between two windows (smaller than the window: they overlap). */
  readonly stride: readonly [number, number];
  /** [ph, pw]: padding on each side, at most half the window (2·ph ≤ kh, 2·pw ≤ kw). */
  readonly padding: readonly [number, number];
}

/** Average pooling's geometry, and what a window's mean divides by. */
export interface AvgPoolParams extends PoolParams {
  /** true: every window divides by kh·kw, the padding counted as cells of zeros (PyTorch's
   * default); false: by the number of its cells that are in x. */
  readonly countIncludePad: boolean;
}

/** The gradients of a convolution's loss with respect to its three inputs. */
export interface ConvGradients {
  /** dL/dx [N, C, H, W]. */
  readonly dx: Tensor;
  /** dL/dw [D, C, kh, kw]. */
  readonly dw: Tensor;
  /** dL/db [D]. */
  readonly db: Tensor;
}

/** What a finite-difference gradient check answers. */
export interface GradCheckResult {
  /** true when every entry's error is at most the tolerance. */
  readonly ok: boolean;
  /** The central differences, one per entry of x: x's shape, Float64Array. */
  readonly numeric: Tensor;
  /** The largest error, max_i |grad_i − numeric_i| / max(1, |grad_i|, |numeric_i|). */
  readonly maxError: number;
  /** The flat index (into x.data) of the entry with that largest error. */
  readonly worst: number;
}

/** The checker's settings. */
export interface GradCheckOptions {
  /** The step of the central difference; default 1e-5. */
  readonly h?: number;
  /** The largest error that is still "ok"; default 1e-6. */
  readonly tolerance?: number;
}
