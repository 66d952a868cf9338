/**
 * The fast max pool: the windows of layers/max_pool.ts read straight through the table (no x_col
 * is copied out), or clipped to the image where there is padding, on the kernel
 * kernels/fast/dispatch.ts picks (WebAssembly SIMD for float32 2×2/2), with the same winners. The forward pass keeps every window's winner (`route`, its flat
 * index in x) for the backward pass, unless `training: false`; a backward pass that finds no
 * current route finds the winners again from the input.
 *
 * @module
 */

import { poolArgs, poolBackwardArgs, poolTableGeometry } from "../_args.ts";
import { Workspace } from "../workspace.ts";
import type * as reference from "../max_pool.ts";
import { fastTable } from "../../kernels/fast/tables.ts";
import { runMaxPool } from "../../kernels/fast/dispatch.ts";

/**
 * Max pooling on the fast kernels; the reference's contract (layers/max_pool.ts).
 *
 * `training: false` keeps no winners; `workspace` reuses arrays.
 *
 * @example
 * ```ts
 * import { maxPoolForward } from "./max_pool.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 2, 4], data: new Float32Array([1, 4, 5, 5, 2, 3, 5, 0]) };
 * assertEquals(Array.from(maxPoolForward(x, { size: 2 }).y.data), [4, 5]);
 * ```
 */
export const maxPoolForward: typeof reference.maxPoolForward = (x, opts) => {
  const g = poolArgs("maxPoolForward", x, opts), { N, C, Ho, Wo } = g;
  const geometry = poolTableGeometry(g), table = fastTable(geometry);
  const ws = opts.workspace ?? new Workspace(), n = N * C * Ho * Wo;
  const y = ws.floats("y", x.data, n, [x.data]);
  const route = opts.training === false ? null : ws.ints("route", n, [x.data, y]);
  // per image s and window p: y = max of column p of im2col(x_s), route = where in x it was
  const pool = { x: x.data, table, geometry, slices: N * C, max: y, route };
  runMaxPool(pool, (m) => ws.ints("winners", m));
  const kept = route === null ? {} : { route: ws.keep("route", route) };
  return {
    y: { shape: [N, C, Ho, Wo], data: y },
    cache: { kind: "maxPool", x, geometry: g, ...kept },
  };
};

/**
 * The backward pass of {@link maxPoolForward}: each dy to its window's winner, summed where a
 * cell wins several windows, in the order of the outputs (as the reference's addAt).
 *
 * It takes either backend's cache.
 *
 * @example A forward pass that kept no winners: they are found again
 * ```ts
 * import { maxPoolBackward, maxPoolForward } from "./max_pool.ts";
 * import { assertEquals } from "@std/assert";
 * const x = { shape: [1, 1, 2, 2], data: new Float64Array([1, 4, 2, 3]) };
 * const { cache } = maxPoolForward(x, { size: 2, training: false });
 * const dx = maxPoolBackward({ shape: [1, 1, 1, 1], data: new Float64Array([5]) }, cache);
 * assertEquals(Array.from(dx.data), [0, 5, 0, 0]);
 * ```
 */
export const maxPoolBackward: typeof reference.maxPoolBackward = (dy, cache, opts = {}) => {
  const g = poolBackwardArgs("maxPoolBackward", dy, cache, opts);
  const { N, C, H, W } = g, ws = opts.workspace ?? new Workspace(), x = cache.x.data;
  const kept = cache.route;
  let route = kept !== undefined && kept.owner.isCurrent(kept) ? kept.data : undefined;
  if (route === undefined) {
    // not kept, or overwritten since: the same kernel finds the same winners again
    const geometry = poolTableGeometry(g), table = fastTable(geometry), n = dy.data.length;
    route = ws.ints("route again", n);
    const max = ws.floats("y again", x, n, [x]);
    runMaxPool({ x, table, geometry, slices: N * C, max, route }, (m) => ws.ints("winners", m));
  }
  const dx = ws.floats("dx", x, N * C * H * W, [x, dy.data]), dY = dy.data;
  dx.fill(0);
  for (let o = 0; o < route.length; o++) dx[route[o]] += dY[o]; // dx[route[o]] += dy[o]
  return { shape: [...cache.x.shape], data: dx };
};
