/**
 * The fast backend's average pool: the means of kernels/avg_pool.ts's `avgPoolColumns` without
 * building x_col. Each window is clipped to the image and summed straight from it, which skips the
 * padding's zeros (so the sum is the reference's, term for term, in the same order, and so is the
 * mean); its divisor is kh·kw with `countIncludePad`, else the clipped window's area, the cells
 * of x it holds, which is what the reference counts in the table. The backward pass shares each
 * dy among the same cells. A window that covers the whole image (global average pooling, the end
 * of most modern CNNs) is one contiguous sum per image, on {@link avgPoolGlobal}.
 *
 * Arguments are trusted: the layer checked them (every window holds a cell of x, as padding is at
 * most half the window) and sized the outputs. dispatch.ts chooses between the kernels.
 *
 * @module
 */

import type { FloatArray } from "../../tensor.ts";
import { type Im2colGeometry, outputSize } from "../im2col.ts";

/** One average-pooling pass over S images, forward (x -> y) or backward (dy -> dx). */
export interface AvgPoolProblem<T extends FloatArray = FloatArray> {
  /** The geometry of one image (channels 1), padding included. */
  readonly geometry: Im2colGeometry;
  /** Whether a window's divisor is kh·kw (true) or its cells of x (false). */
  readonly countIncludePad: boolean;
  /** S: the number of images. */
  readonly slices: number;
  /** Forward: the images [S, H, W]; backward: dy [S, Ho·Wo]. */
  readonly input: T;
  /** Forward: y [S, Ho·Wo]; backward: dx [S, H, W]. Every element is written. */
  readonly output: T;
}

/** The windows of a geometry: output sizes and, per output row and column, the clipped range of
 * input rows and columns [start, end) it reads. */
interface Windows {
  H: number;
  W: number;
  Ho: number;
  Wo: number;
  kh: number;
  kw: number;
  h0: Int32Array;
  h1: Int32Array;
  w0: Int32Array;
  w1: Int32Array;
}

function windows(g: Im2colGeometry): Windows {
  const H = g.height, W = g.width, [kh, kw] = g.kernel;
  const [sh, sw] = g.stride ?? [1, 1], [ph, pw] = g.padding ?? [0, 0];
  const Ho = outputSize(H, kh, sh, ph), Wo = outputSize(W, kw, sw, pw);
  const h0 = new Int32Array(Ho), h1 = new Int32Array(Ho);
  const w0 = new Int32Array(Wo), w1 = new Int32Array(Wo);
  for (let o = 0; o < Ho; o++) {
    h0[o] = Math.max(0, o * sh - ph);
    h1[o] = Math.min(H, o * sh - ph + kh);
  }
  for (let o = 0; o < Wo; o++) {
    w0[o] = Math.max(0, o * sw - pw);
    w1[o] = Math.min(W, o * sw - pw + kw);
  }
  return { H, W, Ho, Wo, kh, kw, h0, h1, w0, w1 };
}

/**
 * Any window, stride and padding, forward: y = the sum of each window's cells of x, row by row,
 * divided by its size. The reference's means bit for bit.
 *
 * @param p The images (`input`), their geometry, `countIncludePad`, and y (`output`).
 * @returns Nothing; `output` is written.
 *
 * @example 3×3 windows, stride 2, padding 1 over one 2×4 image
 * ```ts
 * import { avgPoolDirect } from "./avg_pool.ts";
 * import { assertEquals } from "@std/assert";
 * const geometry = { channels: 1, height: 2, width: 4, kernel: [3, 3], stride: [2, 2], padding: [1, 1] } as const;
 * const input = new Float64Array([1, 2, 3, 4, 5, 6, 7, 8]), output = new Float64Array(2);
 * avgPoolDirect({ geometry, countIncludePad: false, slices: 1, input, output });
 * assertEquals(Array.from(output), [3.5, 5]);
 * ```
 */
export function avgPoolDirect<T extends FloatArray>(p: AvgPoolProblem<T>): void {
  const { input: x, output: y, slices: S, countIncludePad } = p;
  const { H, W, Ho, Wo, kh, kw, h0, h1, w0, w1 } = windows(p.geometry);
  // Two windows of an output row at a time, each summed in its own order (row by row, left to
  // right, as the reference): their two chains of additions do not wait for each other, so the
  // processor overlaps them (2×2/2 and 3×3/2: twice as fast as one window at a time).
  for (let s = 0; s < S; s++) {
    const base = s * H * W;
    for (let oh = 0; oh < Ho; oh++) {
      const top = base + h0[oh] * W, end = base + h1[oh] * W, rows = h1[oh] - h0[oh];
      for (let ow = 0; ow < Wo; ow += 2) {
        const o = (s * Ho + oh) * Wo + ow, pair = ow + 1 < Wo; // an odd last one: summed twice
        const a = w0[ow], n = w1[ow] - a, b = pair ? w0[ow + 1] : a, m = pair ? w1[ow + 1] - b : n;
        let sa = 0, sb = 0;
        for (let r = top; r < end; r += W) {
          for (let q = 0; q < n; q++) sa += x[r + a + q];
          for (let q = 0; q < m; q++) sb += x[r + b + q];
        }
        y[o] = sa / (countIncludePad ? kh * kw : rows * n);
        if (pair) y[o + 1] = sb / (countIncludePad ? kh * kw : rows * m);
      }
    }
  }
}

/**
 * The backward pass of {@link avgPoolDirect}: dx = 0, then each dy / |window| (rounded to dx's
 * type, as the reference's dX_col) added to every cell of x in its window, window by window.
 * Where windows do not overlap, every cell gets one share: the reference's dx bit for bit; where
 * they do, the shares are added in another order (within the rounding the tests bound).
 *
 * @param p dy (`input`), the geometry, `countIncludePad`, and dx (`output`).
 * @returns Nothing; `output` is written.
 *
 * @example Overlapping 2×2 windows at stride 1 over a 3×3 image
 * ```ts
 * import { avgPoolDirectBackward } from "./avg_pool.ts";
 * import { assertEquals } from "@std/assert";
 * const geometry = { channels: 1, height: 3, width: 3, kernel: [2, 2] } as const;
 * const output = new Float64Array(9).fill(NaN); // overwritten, not added to
 * avgPoolDirectBackward({ geometry, countIncludePad: true, slices: 1, input: new Float64Array([4, 8, 12, 16]), output });
 * assertEquals(Array.from(output), [1, 3, 2, 4, 10, 6, 3, 7, 4]);
 * ```
 */
export function avgPoolDirectBackward<T extends FloatArray>(p: AvgPoolProblem<T>): void {
  const { input: dy, output: dx, slices: S, countIncludePad } = p;
  const { H, W, Ho, Wo, kh, kw, h0, h1, w0, w1 } = windows(p.geometry);
  const f32 = dx instanceof Float32Array;
  dx.fill(0);
  for (let s = 0, o = 0; s < S; s++) {
    const base = s * H * W;
    for (let oh = 0; oh < Ho; oh++) {
      for (let ow = 0; ow < Wo; ow++, o++) {
        const count = countIncludePad ? kh * kw : (h1[oh] - h0[oh]) * (w1[ow] - w0[ow]);
        const share = f32 ? Math.fround(dy[o] / count) : dy[o] / count; // dy / |window|
        for (let h = h0[oh]; h < h1[oh]; h++) {
          const row = base + h * W;
          for (let i = row + w0[ow]; i < row + w1[ow]; i++) dx[i] += share;
        }
      }
    }
  }
}

/**
 * Global average pooling, forward: one window covering each whole image (no padding), so
 * y[s] = (Σ of image s) / (H·W), the sum of contiguous memory taken four ways at once (four
 * running sums instead of one chain of dependent additions), then added. Not the reference's
 * order of additions: within the rounding the tests bound.
 *
 * @param p The images (`input`), their geometry (its kernel the whole image), and y (`output`,
 *   one per image).
 * @returns Nothing; `output` is written.
 *
 * @example Two 2×3 images
 * ```ts
 * import { avgPoolGlobal } from "./avg_pool.ts";
 * import { assertEquals } from "@std/assert";
 * const geometry = { channels: 1, height: 2, width: 3, kernel: [2, 3] } as const;
 * const input = new Float64Array([1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 12]), output = new Float64Array(2);
 * avgPoolGlobal({ geometry, countIncludePad: true, slices: 2, input, output });
 * assertEquals(Array.from(output), [3.5, 2]);
 * ```
 */
export function avgPoolGlobal<T extends FloatArray>(p: AvgPoolProblem<T>): void {
  const { input: x, output: y, slices: S } = p, n = p.geometry.height * p.geometry.width;
  for (let s = 0; s < S; s++) {
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0, i = s * n;
    const end = i + n;
    for (; i + 3 < end; i += 4) {
      a0 += x[i];
      a1 += x[i + 1];
      a2 += x[i + 2];
      a3 += x[i + 3];
    }
    for (; i < end; i++) a0 += x[i];
    y[s] = ((a0 + a1) + (a2 + a3)) / n;
  }
}

/**
 * The backward pass of {@link avgPoolGlobal}: every cell of image s gets dy[s] / (H·W) (rounded
 * to dx's type), the reference's dx bit for bit.
 *
 * @param p dy (`input`, one per image), the geometry, and dx (`output`).
 * @returns Nothing; `output` is written.
 *
 * @example
 * ```ts
 * import { avgPoolGlobalBackward } from "./avg_pool.ts";
 * import { assertEquals } from "@std/assert";
 * const geometry = { channels: 1, height: 1, width: 4, kernel: [1, 4] } as const;
 * const output = new Float64Array(8);
 * avgPoolGlobalBackward({ geometry, countIncludePad: true, slices: 2, input: new Float64Array([4, -8]), output });
 * assertEquals(Array.from(output), [1, 1, 1, 1, -2, -2, -2, -2]);
 * ```
 */
export function avgPoolGlobalBackward<T extends FloatArray>(p: AvgPoolProblem<T>): void {
  const { input: dy, output: dx, slices: S } = p, n = p.geometry.height * p.geometry.width;
  for (let s = 0; s < S; s++) dx.fill(dy[s] / n, s * n, (s + 1) * n);
}
