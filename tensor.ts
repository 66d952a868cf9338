/**
 * The one data type convprop passes around: a flat, row-major (C-order) array of floats with a
 * shape. Any plain object of this form is accepted; no class is required.
 *
 * @module
 */

/** The two element types every kernel and layer accepts; outputs keep the input's type. */
export type FloatArray = Float32Array | Float64Array;

/**
 * A row-major tensor: `data[((n*C + c)*H + h)*W + w]` holds element `[n, c, h, w]` of a
 * `[N, C, H, W]` tensor.
 *
 * @example A 2×3 matrix
 * ```ts
 * import type { Tensor } from "./tensor.ts";
 * const t: Tensor = { shape: [2, 3], data: new Float64Array([1, 2, 3, 4, 5, 6]) };
 * // element [1, 2] sits at 1*3 + 2
 * console.assert(t.data[1 * 3 + 2] === 6);
 * ```
 */
export interface Tensor<T extends FloatArray = FloatArray> {
  /** Sizes of each axis, outermost first. */
  readonly shape: readonly number[];
  /** The elements in row-major order; `data.length` is the product of `shape`. */
  readonly data: T;
}

/**
 * Builds a tensor, checking that the data fits the shape.
 *
 * @param shape Sizes of each axis (non-negative integers).
 * @param data The elements, row-major. A plain array becomes a Float64Array.
 * @returns A tensor holding `data` (not copied when it is already a Float32Array or Float64Array).
 * @throws {RangeError} If `data.length` is not the product of `shape` or a size is not a
 *   non-negative integer.
 * @throws {TypeError} If `shape` is not an array or `data` not array-like.
 *
 * @example
 * ```ts
 * import { tensor } from "./tensor.ts";
 * import { assertEquals } from "@std/assert";
 * const x = tensor([1, 1, 2, 2], [1, 2, 3, 4]);
 * assertEquals(x.shape, [1, 1, 2, 2]);
 * assertEquals(x.data instanceof Float64Array, true);
 * ```
 */
export function tensor<T extends FloatArray = Float64Array>(
  shape: readonly number[],
  data: T | ArrayLike<number>,
): Tensor<T> {
  if (!Array.isArray(shape)) {
    throw new TypeError(`tensor: shape must be an array of sizes, got ${JSON.stringify(shape)}`);
  }
  if (typeof data !== "object" || data === null || typeof data.length !== "number") {
    throw new TypeError(`tensor: data must be an array of numbers, got ${typeof data}`);
  }
  let size = 1;
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0) {
      throw new RangeError(
        `tensor: shape [${shape.join(",")}] has a size that is not a non-negative integer`,
      );
    }
    size *= s;
  }
  if (data.length !== size) {
    throw new RangeError(
      `tensor: data has ${data.length} elements but shape [${shape.join(",")}] needs ${size}`,
    );
  }
  const arr = (data instanceof Float32Array || data instanceof Float64Array)
    ? data as T
    : Float64Array.from(data) as unknown as T;
  return { shape: [...shape], data: arr };
}

/**
 * The number of elements a shape holds: the product of its sizes (1 for a scalar `[]`).
 *
 * @param shape Sizes of each axis.
 * @returns The product of the sizes.
 *
 * @example
 * ```ts
 * import { sizeOf } from "./tensor.ts";
 * console.assert(sizeOf([2, 3, 4]) === 24);
 * ```
 */
export function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (const s of shape) size *= s;
  return size;
}

/**
 * A tensor of 64-bit signed integers, as PyTorch's `torch.int64` (a `long`): what a checkpoint
 * stores for a count, such as batch normalisation's `num_batches_tracked` (shape `[]`, one
 * value). The values are `bigint`s, so every int64 is held exactly. No layer computes with it.
 *
 * @example A scalar count
 * ```ts
 * import type { Int64Tensor } from "./tensor.ts";
 * const count: Int64Tensor = { shape: [], data: new BigInt64Array([3n]) };
 * count.data[0] += 1n;
 * console.assert(count.data[0] === 4n);
 * ```
 */
export interface Int64Tensor {
  /** Sizes of each axis, outermost first (`[]` for a scalar). */
  readonly shape: readonly number[];
  /** The elements in row-major order; `data.length` is the product of `shape`. */
  readonly data: BigInt64Array;
}
