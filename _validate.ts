// Argument checks shared by kernels and layers. Every message names the function, the
// argument and the shapes involved, so a caller sees at once which call went wrong.
// Private: not part of the public API.

import type { FloatArray, Tensor } from "./tensor.ts";

/** `[2,3,8,8]`: how shapes appear in error messages. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

/** Whether `a` is one of the two float array types convprop computes in. */
export function isFloatArray(a: unknown): a is FloatArray {
  return a instanceof Float32Array || a instanceof Float64Array;
}

/**
 * Checks that `t` is a `{shape, data}` tensor whose data fits its shape, and (when given) that it
 * has `rank` axes. `rank` may be a number or a minimum, as `{ min: 2 }`.
 */
export function checkTensor(
  fn: string,
  name: string,
  t: unknown,
  rank?: number | { min: number },
): asserts t is Tensor {
  if (typeof t !== "object" || t === null) {
    throw new TypeError(
      `${fn}: ${name} must be a tensor {shape, data}, got ${t === null ? "null" : typeof t}`,
    );
  }
  const { shape, data } = t as { shape?: unknown; data?: unknown };
  if (!Array.isArray(shape)) {
    throw new TypeError(`${fn}: ${name}.shape must be an array of sizes`);
  }
  if (!isFloatArray(data)) {
    const got = data === undefined
      ? "undefined"
      : (data as object).constructor?.name ?? typeof data;
    throw new TypeError(
      `${fn}: ${name}.data must be a Float32Array or Float64Array, got ${got} (${name} ${
        fmtShape(shape)
      })`,
    );
  }
  let size = 1;
  for (const s of shape) {
    if (!Number.isInteger(s) || s <= 0) {
      throw new RangeError(
        `${fn}: ${name} has shape ${fmtShape(shape)}; every size must be a positive integer`,
      );
    }
    size *= s;
  }
  if (data.length !== size) {
    throw new RangeError(
      `${fn}: ${name}.data has ${data.length} elements but ${name} ${
        fmtShape(shape)
      } needs ${size}`,
    );
  }
  if (typeof rank === "number" && shape.length !== rank) {
    throw new RangeError(
      `${fn}: ${name} must have ${rank} dimensions, got ${shape.length} (${name} ${
        fmtShape(shape)
      })`,
    );
  }
  if (typeof rank === "object" && shape.length < rank.min) {
    throw new RangeError(
      `${fn}: ${name} must have at least ${rank.min} dimensions, got ${shape.length} (${name} ${
        fmtShape(shape)
      })`,
    );
  }
}

/** Checks that two tensors hold the same array type (no silent float32/float64 mixing). */
export function checkSameType(
  fn: string,
  aName: string,
  a: Tensor,
  bName: string,
  b: Tensor,
): void {
  if (a.data.constructor !== b.data.constructor) {
    throw new TypeError(
      `${fn}: ${bName} is a ${b.data.constructor.name} but ${aName} is a ${a.data.constructor.name}; ` +
        `convert one so both have the same type (${aName} ${fmtShape(a.shape)}, ${bName} ${
          fmtShape(b.shape)
        })`,
    );
  }
}

/** Checks that `dy` has exactly the shape the forward pass produced. */
export function checkShapeEquals(
  fn: string,
  name: string,
  t: Tensor,
  expected: readonly number[],
  what: string,
): void {
  const ok = t.shape.length === expected.length && t.shape.every((s, i) => s === expected[i]);
  if (!ok) {
    throw new RangeError(
      `${fn}: ${name} has shape ${fmtShape(t.shape)} but ${what} has shape ${fmtShape(expected)}`,
    );
  }
}

/**
 * Reads a per-axis option: a number or a `[rows, cols]` pair of integers, each at least `min`.
 * Returns `fallback` when the option is absent.
 */
export function pairOption(
  fn: string,
  name: string,
  value: unknown,
  min: number,
  fallback: [number, number],
  context = "",
): [number, number] {
  const ctx = context === "" ? "" : ` ${context}`;
  if (value === undefined) return fallback;
  const pair = typeof value === "number"
    ? [value, value]
    : Array.isArray(value) && value.length === 2
    ? value
    : null;
  if (pair === null) {
    throw new TypeError(
      `${fn}: ${name} must be a number or a [rows, cols] pair, got ${JSON.stringify(value)}${ctx}`,
    );
  }
  for (const v of pair) {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
      throw new RangeError(
        `${fn}: ${name} must be ${min === 0 ? "a non-negative" : "a positive"} integer, got ${
          JSON.stringify(value)
        }${ctx}`,
      );
    }
  }
  return [pair[0], pair[1]];
}

/** A new zero-filled array of the same type as `like`. */
export function zerosLike<T extends FloatArray>(like: T, length: number): T {
  return (like instanceof Float32Array ? new Float32Array(length) : new Float64Array(length)) as T;
}

/** Whether two typed arrays share any memory. */
export function overlaps(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (a.buffer !== b.buffer || a.byteLength === 0 || b.byteLength === 0) return false;
  const a0 = a.byteOffset, a1 = a0 + a.byteLength, b0 = b.byteOffset, b1 = b0 + b.byteLength;
  return a0 < b1 && b0 < a1;
}

/** How a bad argument is named in an error message: its class name, or its type. */
export function describe(x: unknown): string {
  if (x === null) return "null";
  if (typeof x !== "object") return typeof x;
  return (x as object).constructor?.name ?? "object";
}

/**
 * Checks a kernel's `out` array before anything is written: `like`'s type, `length` elements,
 * no memory shared with any of `inputs` (a kernel that wrote into its own input would read its
 * own results). Returns `out`, or a new zero array of `like`'s type when `out` is undefined.
 */
export function checkOut<T extends FloatArray>(
  fn: string,
  name: string,
  out: unknown,
  like: T,
  length: number,
  inputs: Readonly<Record<string, ArrayBufferView>> = {},
): T {
  if (out === undefined) return zerosLike(like, length);
  if (!isFloatArray(out) || out.constructor !== like.constructor) {
    throw new TypeError(
      `${fn}: ${name} must be a ${like.constructor.name} like the input, got ${describe(out)}`,
    );
  }
  if (out.length !== length) {
    throw new RangeError(
      `${fn}: ${name} has ${out.length} elements but the result needs ${length}`,
    );
  }
  for (const [inName, input] of Object.entries(inputs)) {
    if (overlaps(out, input)) {
      throw new RangeError(`${fn}: ${name} shares memory with ${inName}; pass a separate array`);
    }
  }
  return out as T;
}

/** Throws unless a constructor's options are an object (a forgotten argument gives a clear
 * message, not "cannot read properties of undefined"). */
export function checkObject(fn: string, name: string, value: unknown, example: string): void {
  if (typeof value !== "object" || value === null) {
    throw new TypeError(`${fn}: ${name} must be an object, as ${example}; got ${describe(value)}`);
  }
}
