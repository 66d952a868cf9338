/**
 * The fast backend's max pool: kernels/max_pool.ts's `maxPoolColumns` fused with the gather. For each of the S
 * one-channel images stacked in x, the maximum of every column of its im2col, read straight
 * through the table instead of copying x_col out first, and the flat index in x that won: exactly
 * `maxPoolColumns(im2col(x_s, table))` per image s, with route = s·H·W + table[argmax]. Float32
 * 2×2 windows at stride 2 run on kernels/fast/max_pool_simd.ts instead, where dispatch.ts chooses
 * it; both give these bits. A padded pool runs on {@link maxPoolPadded}, which clips each window
 * to the image instead (the padding is −∞ and never wins, so only the cells of x are read), with
 * the reference's winners too.
 *
 * Arguments are trusted: the layer built the table (one channel; no padding for the kernels that
 * read a table, so every window is a translate of the first) and checked the lengths.
 *
 * @module
 */

import type { FloatArray } from "../../tensor.ts";
import { type Im2colGeometry, outputSize } from "../im2col.ts";
import type { FastTable } from "./tables.ts";

/** One max-pooling pass over S images. */
export interface PoolProblem<T extends FloatArray = FloatArray> {
  /** The images [S, H, W], flat. */
  readonly x: T;
  /** The table of one image (channels 1, no padding). */
  readonly table: FastTable;
  /** {@link tapOffsets} of the table. */
  readonly offsets: Int32Array;
  /** S: the number of images. */
  readonly slices: number;
  /** Where the maxima go [S, Ho·Wo]. */
  readonly max: T;
  /** Where the winners' flat indices in x go [S, Ho·Wo]. */
  readonly route: Int32Array;
}

/**
 * A pooling table's windows are translates of the first: tap r of window p reads
 * indices[p] + off[r]. So the kernels read the table's first row only.
 *
 * @param table A pooling table (no padding).
 * @returns off[r] = indices[r·P] − indices[0], one per tap.
 *
 * @example 2×2 windows on a 4-wide image: taps at 0, 1, 4, 5
 * ```ts
 * import { tapOffsets } from "./max_pool.ts";
 * import { fastTable } from "./tables.ts";
 * import { assertEquals } from "@std/assert";
 * const t = fastTable({ channels: 1, height: 4, width: 4, kernel: [2, 2], stride: [2, 2] });
 * assertEquals(Array.from(tapOffsets(t)), [0, 1, 4, 5]);
 * ```
 */
export function tapOffsets(table: FastTable): Int32Array {
  const idx = table.indices, P = table.cols, off = new Int32Array(table.rows);
  for (let r = 0; r < table.rows; r++) off[r] = idx[r * P] - idx[0];
  return off;
}

/**
 * The image width W when the table's windows are exactly 2×2 with stride 2 over [H, W] images
 * (taps at offsets 0, 1, W, W + 1; window (oh, ow) at 2·oh·W + 2·ow; Ho = floor(H/2),
 * Wo = floor(W/2)), else 0: what the SIMD kernel computes. Read from the indices themselves, so
 * whatever geometry built the table, the kernel computes the windows the table describes.
 *
 * @param table A pooling table.
 * @param off Its {@link tapOffsets}.
 * @returns W, or 0.
 *
 * @example
 * ```ts
 * import { pool2x2Width, tapOffsets } from "./max_pool.ts";
 * import { fastTable } from "./tables.ts";
 * import { assertEquals } from "@std/assert";
 * const t = fastTable({ channels: 1, height: 4, width: 6, kernel: [2, 2], stride: [2, 2] });
 * assertEquals(pool2x2Width(t, tapOffsets(t)), 6);
 * const s1 = fastTable({ channels: 1, height: 4, width: 6, kernel: [2, 2], stride: [1, 1] });
 * assertEquals(pool2x2Width(s1, tapOffsets(s1)), 0);
 * ```
 */
export function pool2x2Width(table: FastTable, off: Int32Array): number {
  if (table.rows !== 4) return 0;
  const W = off[2], HW = table.inputSize, Ho = table.outHeight, Wo = table.outWidth;
  if (off[1] !== 1 || W < 2 || off[3] !== W + 1 || HW % W !== 0) return 0;
  if (Ho !== (HW / W) >> 1 || Wo !== W >> 1 || Ho * Wo !== table.cols) return 0;
  const idx = table.indices;
  for (let oh = 0, p = 0; oh < Ho; oh++) {
    for (let ow = 0; ow < Wo; ow++, p++) if (idx[p] !== 2 * oh * W + 2 * ow) return 0;
  }
  return W;
}

// Which cell of a window wins is unpredictable, and a mispredicted branch per cell costs more
// than the whole gather; so both loops pick the winner with 0/1 arithmetic instead of ifs.

/**
 * Windows of 4 cells (2×2, the usual pooling): the first maximum found by comparing every pair at
 * once, rather than a chain of 3 steps that each wait for the previous one. Also the fallback of
 * the SIMD kernel for float32 2×2/2, with the same bits.
 *
 * @param pool The images, their table and offsets, the outputs.
 * @returns Nothing; `max` and `route` are written.
 *
 * @example Two 2×2 images, one window each
 * ```ts
 * import { maxPool4, tapOffsets } from "./max_pool.ts";
 * import { fastTable } from "./tables.ts";
 * import { assertEquals } from "@std/assert";
 * const table = fastTable({ channels: 1, height: 2, width: 2, kernel: [2, 2], stride: [2, 2] });
 * const max = new Float64Array(2), route = new Int32Array(2);
 * const x = new Float64Array([1, 4, 2, 3, 9, 0, 0, 8]);
 * maxPool4({ x, table, offsets: tapOffsets(table), slices: 2, max, route });
 * assertEquals([Array.from(max), Array.from(route)], [[4, 9], [1, 4]]);
 * ```
 */
export function maxPool4<T extends FloatArray>(pool: PoolProblem<T>): void {
  const { x, table, slices: S, max, route } = pool, off = pool.offsets;
  const idx = table.indices, P = table.cols, HW = table.inputSize;
  const o1 = off[1], o2 = off[2], o3 = off[3];
  for (let s = 0; s < S; s++) {
    const base = s * HW, o = s * P;
    for (let p = 0; p < P; p++) {
      const i0 = base + idx[p];
      const v0 = x[i0], v1 = x[i0 + o1], v2 = x[i0 + o2], v3 = x[i0 + o3];
      // gab = 1 when cell b beats cell a (strictly: ties go to the first)
      const g01 = +(v1 > v0), g02 = +(v2 > v0), g03 = +(v3 > v0);
      const g12 = +(v2 > v1), g13 = +(v3 > v1), g23 = +(v3 > v2);
      // cell r wins when it beats every earlier cell and no later cell beats it
      const w1 = g01 & (1 - g12) & (1 - g13), w2 = g02 & g12 & (1 - g23), w3 = g03 & g13 & g23;
      let arg = i0 + w1 * o1 + w2 * o2 + w3 * o3;
      // A NaN makes every comparison false: such (rare, predictable) windows take the exact
      // sequential rule, where the first NaN wins as in PyTorch.
      if ((+(v1 !== v1) | +(v2 !== v2) | +(v3 !== v3)) !== 0) arg = firstMax(x, i0, off, 4);
      max[o + p] = x[arg];
      route[o + p] = arg;
    }
  }
}

/**
 * Any window size: row 0 starts, each later cell takes over when larger or NaN (unless the
 * maximum already is NaN), without a branch.
 *
 * @param pool The images, their table and offsets, the outputs.
 * @returns Nothing; `max` and `route` are written.
 *
 * @example A 3×3 window over a 3×3 image
 * ```ts
 * import { maxPoolAny, tapOffsets } from "./max_pool.ts";
 * import { fastTable } from "./tables.ts";
 * import { assertEquals } from "@std/assert";
 * const table = fastTable({ channels: 1, height: 3, width: 3, kernel: [3, 3], stride: [3, 3] });
 * const max = new Float64Array(1), route = new Int32Array(1);
 * const x = new Float64Array([1, 7, 2, 7, 0, 3, 5, 6, 4]);
 * maxPoolAny({ x, table, offsets: tapOffsets(table), slices: 1, max, route });
 * assertEquals([max[0], route[0]], [7, 1]); // ties go to the first
 * ```
 */
export function maxPoolAny<T extends FloatArray>(pool: PoolProblem<T>): void {
  const { x, table, slices: S, max, route } = pool, off = pool.offsets;
  const idx = table.indices, P = table.cols, R = table.rows, HW = table.inputSize;
  for (let s = 0; s < S; s++) {
    const base = s * HW, o = s * P;
    for (let p = 0; p < P; p++) {
      const arg = firstMax(x, base + idx[p], off, R);
      max[o + p] = x[arg];
      route[o + p] = arg;
    }
  }
}

/** The index of the first maximum of the window whose first cell is x[i0] (NaN wins). */
function firstMax(x: FloatArray, i0: number, off: Int32Array, R: number): number {
  let arg = i0, m = x[i0];
  for (let r = 1; r < R; r++) {
    const i = i0 + off[r], v = x[i];
    arg += (+!(v <= m) & +(m === m)) * (i - arg);
    m = x[arg];
  }
  return arg;
}

/** One max-pooling pass over S images with padding, described by its geometry. */
export interface PaddedPoolProblem<T extends FloatArray = FloatArray> {
  /** The images [S, H, W], flat. */
  readonly x: T;
  /** The geometry of one image (channels 1), padding included. */
  readonly geometry: Im2colGeometry;
  /** S: the number of images. */
  readonly slices: number;
  /** Where the maxima go [S, Ho·Wo]. */
  readonly max: T;
  /** Where the winners' flat indices in x go [S, Ho·Wo], or null for the maxima only. */
  readonly route: Int32Array | null;
}

/**
 * Any window, stride and padding: each window clipped to the image, so it reads its cells of x
 * only, in row-major order, with the rule of {@link maxPoolAny} (the first maximum; a NaN wins).
 * The padding is −∞ in the reference, which never beats a cell of x, and at a tie with an input of
 * −∞ the window's first cell of x wins there too: so these are the reference's winners, bit for
 * bit. (Every window holds a cell of x: the padding is at most half the window.) Also runs
 * unpadded geometries, with the same answers as the other kernels.
 *
 * @param pool The images, their geometry, the outputs.
 * @returns Nothing; `max` (and `route`) are written.
 *
 * @example 2×2 windows, stride 1, padding 1 over one 2×2 image of negative numbers
 * ```ts
 * import { maxPoolPadded } from "./max_pool.ts";
 * import { assertEquals } from "@std/assert";
 * const x = new Float64Array([-4, -3, -2, -1]), max = new Float64Array(9);
 * const route = new Int32Array(9);
 * const geometry = { channels: 1, height: 2, width: 2, kernel: [2, 2], padding: [1, 1] } as const;
 * maxPoolPadded({ x, geometry, slices: 1, max, route });
 * assertEquals(Array.from(max), [-4, -3, -3, -2, -1, -1, -2, -1, -1]);
 * assertEquals(Array.from(route), [0, 1, 1, 2, 3, 3, 2, 3, 3]);
 * ```
 */
export function maxPoolPadded<T extends FloatArray>(pool: PaddedPoolProblem<T>): void {
  const { x, slices: S, max, route } = pool, g = pool.geometry;
  const H = g.height, W = g.width, [kh, kw] = g.kernel;
  const [sh, sw] = g.stride ?? [1, 1], [ph, pw] = g.padding ?? [0, 0];
  const Ho = outputSize(H, kh, sh, ph), Wo = outputSize(W, kw, sw, pw), HW = H * W, P = Ho * Wo;
  // the columns of x each output column reads, [w0, w1): the same for every output row
  const w0 = new Int32Array(Wo), w1 = new Int32Array(Wo);
  for (let ow = 0; ow < Wo; ow++) {
    w0[ow] = Math.max(0, ow * sw - pw);
    w1[ow] = Math.min(W, ow * sw - pw + kw);
  }
  // Each row of a window is a run of the rule on its own (its first NaN, else its first
  // maximum), then the rows are merged in order by the same rule: row h + 1's run does not wait
  // for row h's, so the processor overlaps them (3×3 windows: a third faster than one chain
  // through all nine cells), and the winner is the same, since rows are consecutive in the
  // window's row-major order and an earlier run keeps its cell on a tie.
  for (let s = 0; s < S; s++) {
    const base = s * HW;
    for (let oh = 0; oh < Ho; oh++) {
      const h0 = Math.max(0, oh * sh - ph), h1 = Math.min(H, oh * sh - ph + kh);
      for (let ow = 0, o = s * P + oh * Wo; ow < Wo; ow++, o++) {
        const a = w0[ow], b = w1[ow];
        let win = base + h0 * W + a, top = x[win]; // the window's winner so far, and its value
        for (let h = h0; h < h1; h++) {
          const row = base + h * W;
          let arg = row + a, m = x[arg]; // the row's winner
          for (let i = arg + 1; i < row + b; i++) {
            const v = x[i];
            arg += (+!(v <= m) & +(m === m)) * (i - arg);
            m = x[arg];
          }
          win += (+!(m <= top) & +(top === top)) * (arg - win);
          top = x[win];
        }
        max[o] = top;
        if (route !== null) route[o] = win;
      }
    }
  }
}
