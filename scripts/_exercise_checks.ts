// The grader's comparisons (deno task exercise): is what a learner's function returned a
// tensor of the right shape and type, which entries are wrong and by how much, and what did it
// throw. Each check returns the problems it found as sentences, never throws: a learner's bug is
// a report, not a crash of the grader. Private to scripts/; the exercises are scripts/_exercises.ts.

import type { Tensor } from "../tensor.ts";

/**
 * The float64 tolerance: |got − expected| ≤ TOLERANCE · (1 + |expected|), per entry. The
 * learner's loops and the reference path (im2col + GEMM, the table's add.at) add the same terms
 * in other orders, so they differ by rounding alone: a sum of n terms of size ≤ 1 in two orders
 * differs by at most about n² · 2⁻⁵³, and the grader's largest sums (dw over N·Ho·Wo ≤ 3·9·9 =
 * 243 positions; y over C·kh·kw ≤ 48 taps) give below 1e-11. 1e-9 leaves two orders of magnitude
 * above that, while a real mistake (a missing or extra term, a wrong index) moves an entry by
 * the size of one term of random numbers in [−1, 1), almost always far above 1e-6.
 */
export const TOLERANCE = 1e-9;

/** The row-major index tuple of flat index `k` in `shape`: [n, c, i, j] for a 4-D tensor. */
export function unravel(k: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let a = shape.length - 1; a >= 0; a--) {
    out[a] = k % shape[a];
    k = Math.floor(k / shape[a]);
  }
  return out;
}

/** A shape as the docs write it: [2,3,5,5]. */
export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

/** A number with enough digits to see a difference of 1e-9, and no more. */
export function num(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e-4 && a < 1e6 ? String(Number(v.toPrecision(12))) : v.toExponential(6);
}

/** What a value is, for a message about a wrong return value. */
export function kind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `an Array of length ${v.length}`;
  if (ArrayBuffer.isView(v)) {
    return `a ${v.constructor.name} of length ${(v as Float64Array).length}`;
  }
  if (typeof v === "object") return `an object with keys {${Object.keys(v as object).join(", ")}}`;
  return `${typeof v} ${String(v)}`;
}

/**
 * Checks that `got` is a tensor named `name` with shape `expected.shape`, Float64Array data of the
 * right length, no NaN, and every entry within {@link TOLERANCE} of `expected`. Returns the
 * problems (empty when it is right), the first one the most useful.
 */
export function compareTensor(name: string, got: unknown, expected: Tensor): string[] {
  if (typeof got !== "object" || got === null) {
    return [`${name} should be a tensor { shape, data }, got ${kind(got)}`];
  }
  const t = got as { shape?: unknown; data?: unknown };
  if (!Array.isArray(t.shape) && !ArrayBuffer.isView(t.shape)) {
    return [`${name} has no shape array (got ${kind(got)}); return { shape: [...], data }`];
  }
  const shape = Array.from(t.shape as ArrayLike<number>);
  if (
    shape.length !== expected.shape.length || shape.some((s, a) => s !== expected.shape[a])
  ) {
    return [
      `${name} has shape ${shapeText(shape)}, expected ${shapeText(expected.shape)}`,
    ];
  }
  if (!(t.data instanceof Float64Array)) {
    const what = t.data instanceof Float32Array
      ? "Float32Array: the inputs are float64, so must the result be"
      : kind(t.data);
    return [`${name}.data should be a Float64Array, got ${what}`];
  }
  const data = t.data;
  if (data.length !== expected.data.length) {
    return [
      `${name}.data has ${data.length} entries, but shape ${shapeText(shape)} needs ` +
      `${expected.data.length}`,
    ];
  }
  let wrong = 0, nans = 0, first = -1, worst = -1, worstDiff = -1;
  for (let k = 0; k < data.length; k++) {
    const e = expected.data[k], g = data[k];
    const diff = Math.abs(g - e);
    if (Number.isNaN(g)) nans++;
    if (!(diff <= TOLERANCE * (1 + Math.abs(e)))) {
      wrong++;
      if (first < 0) first = k;
      const d = Number.isNaN(diff) ? Infinity : diff;
      if (d > worstDiff) [worst, worstDiff] = [k, d];
    }
  }
  if (wrong === 0) return [];
  const at = (k: number): string =>
    `[${unravel(k, shape).join(",")}]: expected ${num(expected.data[k])}, got ${num(data[k])} ` +
    `(difference ${num(data[k] - expected.data[k])})`;
  const lines = [
    `${name}: ${wrong} of ${data.length} entries wrong${nans > 0 ? ` (${nans} NaN)` : ""}; ` +
    `the first at ${at(first)}`,
  ];
  if (worst !== first) lines.push(`${name}: the largest difference at ${at(worst)}`);
  return lines;
}

/** The first entry of `after` that differs from `before` (NaN-aware), or −1. */
export function firstChange(before: ArrayLike<number>, after: ArrayLike<number>): number {
  for (let k = 0; k < before.length; k++) {
    if (!Object.is(before[k], after[k])) return k;
  }
  return -1;
}

/**
 * Checks that the call left its inputs as they were: a forward or backward pass reads its
 * arguments, it does not write to them. `inputs` holds each input and the copy taken before.
 */
export function unchanged(inputs: [name: string, t: Tensor, copy: Float64Array][]): string[] {
  for (const [name, t, copy] of inputs) {
    const k = firstChange(copy, t.data);
    if (k >= 0) {
      return [
        `your function changed its input ${name} at [${unravel(k, t.shape).join(",")}] ` +
        `(${num(copy[k])} became ${num(t.data[k])}); compute into new arrays instead`,
      ];
    }
  }
  return [];
}

/** Whether `e` is an exercise stub's marker (exercises/not_implemented.ts), by its name. */
export function isNotImplemented(e: unknown): boolean {
  return e instanceof Error && e.name === "NotImplemented";
}

/**
 * What a learner's function threw, as one line: the error, and where in their file (the first
 * line of the stack that is in `url`), named as `file`, so that the report points at the line
 * to fix.
 */
export function thrown(e: unknown, url: URL, file: string): string {
  const message = e instanceof Error ? `${e.name}: ${e.message}` : `the value ${kind(e)}`;
  const stack = e instanceof Error ? e.stack ?? "" : "";
  const frame = stack.split("\n").find((l) => l.includes(url.href));
  const where = frame?.slice(frame.indexOf(url.href) + url.href.length).match(/^:(\d+):(\d+)/);
  return `your function threw ${message}${where ? ` (at ${file}:${where[1]}:${where[2]})` : ""}`;
}
