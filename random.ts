/**
 * A small seeded pseudo-random generator, so that the same seed gives the same weights, the same
 * shuffles and therefore the same training run bit for bit, in Deno, Node and a browser alike.
 *
 * @module
 */

/** A source of uniform numbers in [0, 1). */
export type Rng = () => number;

/**
 * mulberry32: a 32-bit state generator, fast and good enough for initialisation and shuffling
 * (not for cryptography). The same seed gives the same sequence on every platform, because it
 * uses only 32-bit integer arithmetic (`Math.imul`, shifts).
 *
 * @param seed Any integer; it is reduced to 32 bits.
 * @returns A function returning uniform numbers in [0, 1).
 * @throws {TypeError} If `seed` is not a finite integer.
 *
 * @example
 * ```ts
 * import { mulberry32 } from "./random.ts";
 * import { assertEquals } from "@std/assert";
 * const a = mulberry32(42), b = mulberry32(42);
 * assertEquals([a(), a()], [b(), b()]);
 * ```
 */
export function mulberry32(seed: number): Rng {
  if (!Number.isInteger(seed)) {
    throw new TypeError(`mulberry32: seed must be an integer, got ${seed}`);
  }
  let s = seed | 0;
  return function next(): number {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A standard normal sample N(0, 1) by the Box–Muller transform.
 *
 * @param rng The uniform source.
 * @returns One normally distributed number.
 *
 * @example
 * ```ts
 * import { mulberry32, normal } from "./random.ts";
 * const rng = mulberry32(1);
 * let sum = 0;
 * for (let i = 0; i < 10000; i++) sum += normal(rng);
 * console.assert(Math.abs(sum / 10000) < 0.05); // mean ≈ 0 (σ/√n = 0.01)
 * ```
 */
export function normal(rng: Rng): number {
  // 1 - u lies in (0, 1], so the log is finite
  const u = 1 - rng(), v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * He (Kaiming) normal initialisation: samples from N(0, 2 / fanIn). Through a ReLU half of the
 * units are zeroed, so doubling the variance keeps the variance of activations roughly constant
 * from layer to layer (He et al., 2015); PyTorch's `kaiming_normal_(mode="fan_in")`.
 *
 * @param length How many weights.
 * @param opts `fanIn` (inputs per output unit: C·kh·kw for a conv, K for fully connected),
 *   `dtype` ("float32" by default) and the random source `rng`.
 * @returns The weights, of the requested type.
 * @throws {RangeError} If `length` or `fanIn` is not a positive integer.
 *
 * @example
 * ```ts
 * import { heNormal, mulberry32 } from "./random.ts";
 * const w = heNormal(20000, { fanIn: 50, rng: mulberry32(3) });
 * let s2 = 0;
 * for (const v of w) s2 += v * v;
 * console.assert(Math.abs(s2 / w.length - 2 / 50) < 0.004); // variance ≈ 2/fanIn (±10%)
 * console.assert(w instanceof Float32Array);
 * ```
 */
export function heNormal(
  length: number,
  opts: { fanIn: number; dtype?: "float32" | "float64"; rng: Rng },
): Float32Array | Float64Array {
  const { fanIn, rng } = opts;
  if (!Number.isInteger(length) || length < 1) {
    throw new RangeError(`heNormal: length must be a positive integer, got ${length}`);
  }
  if (!Number.isInteger(fanIn) || fanIn < 1) {
    throw new RangeError(`heNormal: fanIn must be a positive integer, got ${fanIn}`);
  }
  const a = opts.dtype === "float64" ? new Float64Array(length) : new Float32Array(length);
  const std = Math.sqrt(2 / fanIn);
  for (let i = 0; i < length; i++) a[i] = std * normal(rng);
  return a;
}
