/**
 * The small steps the reference layers take between the kernels: a flat array read as a matrix,
 * one sample of a batch, a bias added to every column, row sums, and accumulating. Each is a loop
 * of one line, so that the layers (layers/conv.ts, ...) read as their formulas.
 *
 * @module
 */

import type { FloatArray } from "../tensor.ts";
import type { Matrix } from "./gemm.ts";

/**
 * A flat row-major array read as a [rows, cols] matrix (no copy).
 *
 * @param data The elements, rows·cols of them.
 * @param rows The number of rows.
 * @param cols The number of columns.
 * @returns The matrix.
 *
 * @example w [D, C, kh, kw] as w_col [D, C·kh·kw]: the same memory
 * ```ts
 * import { matrix } from "./matrix.ts";
 * const w = new Float64Array(2 * 3 * 2 * 2);
 * const w_col = matrix(w, 2, 12);
 * console.assert(w_col.data === w && w_col.rows === 2 && w_col.cols === 12);
 * ```
 */
export function matrix<T extends FloatArray>(data: T, rows: number, cols: number): Matrix<T> {
  return { data, rows, cols };
}

/**
 * Sample n of a batch stored [N, ...], as a view (no copy).
 *
 * @param data The batch, flat.
 * @param n Which sample.
 * @param size The number of elements of one sample.
 * @returns data[n·size .. (n+1)·size).
 *
 * @example
 * ```ts
 * import { sample } from "./matrix.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(Array.from(sample(new Float64Array([1, 2, 3, 4, 5, 6]), 1, 3)), [4, 5, 6]);
 * ```
 */
export function sample<T extends FloatArray>(data: T, n: number, size: number): T {
  return data.subarray(n * size, (n + 1) * size) as T;
}

/**
 * Channels [from, from + count) of every sample of a batch [N, C, ...], copied into a new batch
 * [N, count, ...] (they are not contiguous across samples, so no view can hold them).
 *
 * @param data The batch [N, C, size], flat.
 * @param N The batch size.
 * @param C The channels per sample.
 * @param size The elements of one channel (H·W).
 * @param from The first channel taken.
 * @param count How many.
 * @returns [N, count, size], of data's type.
 *
 * @example Two samples of three one-cell channels: channels 1 and 2 of each
 * ```ts
 * import { channels } from "./matrix.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(Array.from(channels(new Float64Array([1, 2, 3, 4, 5, 6]), 2, 3, 1, 1, 2)), [2, 3, 5, 6]);
 * ```
 */
export function channels<T extends FloatArray>(
  data: T,
  N: number,
  C: number,
  size: number,
  from: number,
  count: number,
): T {
  const out =
    (data instanceof Float32Array
      ? new Float32Array(N * count * size)
      : new Float64Array(N * count * size)) as T;
  for (let n = 0; n < N; n++) {
    out.set(data.subarray((n * C + from) * size, (n * C + from + count) * size), n * count * size);
  }
  return out;
}

/**
 * The inverse of {@link channels}: writes a batch [N, count, size] into channels
 * [from, from + count) of a batch [N, C, size], in place.
 *
 * @param target The batch [N, C, size], flat.
 * @param source [N, count, size], flat.
 * @param N The batch size.
 * @param C The channels per sample of `target`.
 * @param size The elements of one channel.
 * @param from The first channel written.
 * @param count How many.
 * @returns `target`.
 *
 * @example
 * ```ts
 * import { putChannels } from "./matrix.ts";
 * import { assertEquals } from "@std/assert";
 * const t = new Float64Array(6);
 * assertEquals(Array.from(putChannels(t, new Float64Array([2, 3, 5, 6]), 2, 3, 1, 1, 2)), [0, 2, 3, 0, 5, 6]);
 * ```
 */
export function putChannels<T extends FloatArray>(
  target: T,
  source: FloatArray,
  N: number,
  C: number,
  size: number,
  from: number,
  count: number,
): T {
  for (let n = 0; n < N; n++) {
    target.set(source.subarray(n * count * size, (n + 1) * count * size), (n * C + from) * size);
  }
  return target;
}

/**
 * Each of `count` [H, W] planes in the top-left corner of an [H2, W2] plane: cropped where
 * H2 < H (or W2 < W), zeros where it is larger. A transposed convolution's x and the output of
 * the convolution it is the input gradient of differ so when an output padding is at least the
 * stride (layers/conv_transpose.ts).
 *
 * @param data The planes [count, H, W], flat.
 * @param count How many planes (N·C).
 * @param from Their size [H, W].
 * @param to The new size [H2, W2].
 * @returns [count, H2, W2], a new array of data's type.
 *
 * @example A 2×2 plane zero-extended to 3×3, and cropped to 1×2
 * ```ts
 * import { resizePlanes } from "./matrix.ts";
 * import { assertEquals } from "@std/assert";
 * const x = new Float64Array([1, 2, 3, 4]);
 * assertEquals(Array.from(resizePlanes(x, 1, [2, 2], [3, 3])), [1, 2, 0, 3, 4, 0, 0, 0, 0]);
 * assertEquals(Array.from(resizePlanes(x, 1, [2, 2], [1, 2])), [1, 2]);
 * ```
 */
export function resizePlanes<T extends FloatArray>(
  data: T,
  count: number,
  from: readonly [number, number],
  to: readonly [number, number],
): T {
  const [H, W] = from, [H2, W2] = to, rows = Math.min(H, H2), cols = Math.min(W, W2);
  const out =
    (data instanceof Float32Array
      ? new Float32Array(count * H2 * W2)
      : new Float64Array(count * H2 * W2)) as T;
  for (let s = 0; s < count; s++) {
    for (let h = 0; h < rows; h++) {
      out.set(data.subarray((s * H + h) * W, (s * H + h) * W + cols), (s * H2 + h) * W2);
    }
  }
  return out;
}

/**
 * y [D, P] with b[d] added to every entry of row d: `y + b·1ᵀ`, in place.
 *
 * @param y A [D, P] matrix, flat.
 * @param b The D biases.
 * @returns `y`.
 *
 * @example
 * ```ts
 * import { addBias } from "./matrix.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(Array.from(addBias(new Float64Array([1, 2, 3, 4]), new Float64Array([10, 20]))), [11, 12, 23, 24]);
 * ```
 */
export function addBias<T extends FloatArray>(y: T, b: FloatArray): T {
  const P = y.length / b.length;
  for (let i = 0; i < y.length; i++) y[i] += b[Math.floor(i / P)]; // y[d, p] += b[d]
  return y;
}

/**
 * The sum of each row of a [rows, cols] matrix: Σ_p m[r, p], summed in float64.
 *
 * @param m The matrix.
 * @returns The row sums, of m's type.
 *
 * @example
 * ```ts
 * import { rowSums } from "./matrix.ts";
 * import { assertEquals } from "@std/assert";
 * const m = { data: new Float64Array([1, 2, 3, 4, 5, 6]), rows: 2, cols: 3 };
 * assertEquals(Array.from(rowSums(m)), [6, 15]);
 * ```
 */
export function rowSums<T extends FloatArray>(m: Matrix<T>): T {
  const s = m.data.slice(0, m.rows) as T;
  for (let r = 0; r < m.rows; r++) {
    let sum = 0; // in float64, rounded once when stored
    for (let p = 0; p < m.cols; p++) sum += m.data[r * m.cols + p];
    s[r] = sum;
  }
  return s;
}

/**
 * acc += v, element by element, in place.
 *
 * @param acc The accumulator.
 * @param v What to add (acc's length).
 * @returns `acc`.
 *
 * @example
 * ```ts
 * import { addTo } from "./matrix.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(Array.from(addTo(new Float64Array([1, 2]), new Float64Array([10, 20]))), [11, 22]);
 * ```
 */
export function addTo<T extends FloatArray>(acc: T, v: FloatArray): T {
  for (let i = 0; i < acc.length; i++) acc[i] += v[i];
  return acc;
}
