/**
 * The fast average pool: the means of layers/avg_pool.ts summed straight from the image (no x_col
 * is built), on the kernel kernels/fast/dispatch.ts picks: one contiguous sum per image for
 * global average pooling, each window clipped to the image otherwise. The forward pass keeps
 * nothing but the input's reference and the geometry: the gradient of a mean does not depend on
 * the values averaged.
 *
 * @module
 */

import { avgPoolArgs, avgPoolBackwardArgs, poolTableGeometry } from "../_args.ts";
import { Workspace } from "../workspace.ts";
import type * as reference from "../avg_pool.ts";
import { runAvgPool, runAvgPoolBackward } from "../../kernels/fast/dispatch.ts";

/**
 * Average pooling on the fast kernels; the reference's contract (layers/avg_pool.ts).
 *
 * `workspace` reuses y's array; `training` changes nothing (nothing is kept either way).
 *
 * @example Global average pooling of a [1, 2, 2, 2] input
 * ```ts
 * import { avgPoolForward } from "./avg_pool.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 2, 2, 2], data: new Float32Array([1, 2, 3, 4, 10, 20, 30, 40]) };
 * const { y } = avgPoolForward(x, { size: [2, 2] });
 * assertEquals([y.shape, Array.from(y.data)], [[1, 2, 1, 1], [2.5, 25]]);
 * ```
 */
export const avgPoolForward: typeof reference.avgPoolForward = (x, opts) => {
  const g = avgPoolArgs("avgPoolForward", x, opts), { N, C, Ho, Wo } = g;
  const ws = opts.workspace ?? new Workspace();
  const y = ws.floats("y", x.data, N * C * Ho * Wo, [x.data]);
  // per image s and window p: y = Σ of the window's cells of x / |window p|
  const geometry = poolTableGeometry(g), countIncludePad = g.countIncludePad;
  runAvgPool({ geometry, countIncludePad, slices: N * C, input: x.data, output: y });
  return {
    y: { shape: [N, C, Ho, Wo], data: y },
    cache: { kind: "avgPool", x, geometry: g },
  };
};

/**
 * The backward pass of {@link avgPoolForward}: each dy / |window| to every cell of x in its
 * window, summed where windows overlap.
 *
 * It takes either backend's cache.
 *
 * @example
 * ```ts
 * import { avgPoolBackward, avgPoolForward } from "./avg_pool.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 2, 2], data: new Float64Array([1, 4, 2, 3]) };
 * const { cache } = avgPoolForward(x, { size: 2, padding: 1, countIncludePad: false });
 * const dx = avgPoolBackward({ shape: [1, 1, 2, 2], data: new Float64Array([1, 2, 3, 4]) }, cache);
 * assertEquals(Array.from(dx.data), [1, 2, 3, 4]); // each window holds one cell of x
 * ```
 */
export const avgPoolBackward: typeof reference.avgPoolBackward = (dy, cache, opts = {}) => {
  const g = avgPoolBackwardArgs("avgPoolBackward", dy, cache, opts), { N, C, H, W } = g;
  const ws = opts.workspace ?? new Workspace(), x = cache.x.data;
  const dx = ws.floats("dx", x, N * C * H * W, [x, dy.data]);
  const geometry = poolTableGeometry(g), countIncludePad = g.countIncludePad;
  runAvgPoolBackward({ geometry, countIncludePad, slices: N * C, input: dy.data, output: dx });
  return { shape: [...cache.x.shape], data: dx };
};
