// Test helpers: seeded random tensors, so every test run sees the same numbers.

import { mulberry32, type Rng } from "../random.ts";

/** A seeded uniform source for tests. */
export function rngFor(seed: number): Rng {
  return mulberry32(seed);
}

/** Uniform numbers in [-1, 1) of the requested type. */
export function randomArray<T extends Float32Array | Float64Array>(
  rng: Rng,
  n: number,
  Type: { new (n: number): T } | Float32ArrayConstructor | Float64ArrayConstructor,
): T {
  const a = new Type(n) as T;
  for (let i = 0; i < n; i++) a[i] = 2 * rng() - 1;
  return a;
}

/** A random integer in [lo, hi]. */
export function randInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** Σ a_i b_i in float64. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** max_i |a_i − b_i|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** max_i |a_i|, at least 1: the scale errors are measured against. */
export function scaleOf(a: ArrayLike<number>): number {
  let m = 1;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** A tensor of the given shape, uniform in [-1, 1), of the requested type. */
export function randTensor(
  rng: Rng,
  shape: readonly number[],
  Type: Float32ArrayConstructor | Float64ArrayConstructor = Float64Array,
): { shape: number[]; data: Float32Array | Float64Array } {
  return { shape: [...shape], data: randomArray(rng, shape.reduce((a, b) => a * b, 1), Type) };
}

/** A random im2col geometry with small sizes: C ≤ 3, H and W ≤ 9, padding ≤ 2, stride ≤ 3, any
 * kernel that fits the padded input. */
export interface SmallGeometry {
  C: number;
  H: number;
  W: number;
  k: [number, number];
  s: [number, number];
  p: [number, number];
}

/** Draws a {@link SmallGeometry}. */
export function randomGeometry(rng: Rng): SmallGeometry {
  const C = randInt(rng, 1, 3), H = randInt(rng, 1, 9), W = randInt(rng, 1, 9);
  const ph = randInt(rng, 0, 2), pw = randInt(rng, 0, 2);
  const kh = randInt(rng, 1, H + 2 * ph), kw = randInt(rng, 1, W + 2 * pw);
  const sh = randInt(rng, 1, 3), sw = randInt(rng, 1, 3);
  return { C, H, W, k: [kh, kw], s: [sh, sw], p: [ph, pw] };
}
