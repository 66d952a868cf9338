// The argument checks of gemm, shared by the reference triple loop (kernels/gemm.ts) and the fast
// kernels (kernels/fast/gemm.ts), so both refuse the same input with the same message before
// anything is written. Private: not part of the public API.

import type { FloatArray } from "../tensor.ts";
import { checkOut, describe } from "../_validate.ts";
import type { GemmOptions, Matrix } from "./gemm.ts";

/**
 * A checked product C [m, n] = alpha·op(A)·op(B) + beta·C, with op(A)[i, p] = a[i·rsA + p·csA]
 * and op(B)[p, j] = b[p·rsB + j·csB]: a transpose only swaps a matrix's two strides.
 */
export interface GemmProblem<T extends FloatArray = FloatArray> {
  readonly a: T;
  readonly rsA: number;
  readonly csA: number;
  readonly b: T;
  readonly rsB: number;
  readonly csB: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly alpha: number;
  readonly beta: number;
  /** C [m, n], row-major: the caller's `out`, or a new zero array. */
  readonly c: T;
}

/** Throws unless `x` is a Matrix whose data is a float array of exactly rows·cols elements. */
function checkMatrix(fn: string, name: string, x: Matrix): void {
  if (!(x?.data instanceof Float32Array || x?.data instanceof Float64Array)) {
    throw new TypeError(
      `${fn}: ${name}.data must be a Float32Array or Float64Array, got ${describe(x?.data)}`,
    );
  }
  if (!Number.isInteger(x.rows) || !Number.isInteger(x.cols) || x.rows < 0 || x.cols < 0) {
    throw new RangeError(
      `${fn}: ${name} is ${x.rows}x${x.cols}; rows and cols must be non-negative integers`,
    );
  }
  if (x.data.length !== x.rows * x.cols) {
    throw new RangeError(
      `${fn}: ${name}.data has ${x.data.length} elements, expected ${x.rows}x${x.cols}`,
    );
  }
}

/**
 * Checks gemm's arguments and returns the problem they describe, `out` included (or a new zero
 * C). Throws, having written nothing, on any mismatch.
 */
export function gemmArgs<T extends FloatArray>(
  fn: string,
  a: Matrix<T>,
  b: Matrix<T>,
  opts: GemmOptions<T>,
): GemmProblem<T> {
  if (typeof opts !== "object" || opts === null) {
    throw new TypeError(`${fn}: opts must be an object, got ${describe(opts)}`);
  }
  for (const key of Object.keys(opts)) {
    if (!["transA", "transB", "alpha", "beta", "out"].includes(key)) {
      throw new TypeError(
        `${fn}: unknown option "${key}" (its options are transA, transB, alpha, beta, out)` +
          (key === "backend" ? '; the backend is chosen by setBackend("reference" | "fast")' : ""),
      );
    }
  }
  checkMatrix(fn, "a", a);
  checkMatrix(fn, "b", b);
  const transA = opts.transA ?? false, transB = opts.transB ?? false;
  const alpha = opts.alpha ?? 1, beta = opts.beta ?? 0;
  const m = transA ? a.cols : a.rows, k = transA ? a.rows : a.cols;
  const kb = transB ? b.cols : b.rows, n = transB ? b.rows : b.cols;
  if (k !== kb) {
    throw new RangeError(
      `${fn}: op(a) is ${m}x${k} but op(b) is ${kb}x${n}; inner dimensions must match`,
    );
  }
  if (a.data.constructor !== b.data.constructor) {
    throw new TypeError(
      `${fn}: a is ${a.data.constructor.name} but b is ${b.data.constructor.name}`,
    );
  }
  if (typeof alpha !== "number" || typeof beta !== "number") {
    throw new TypeError(
      `${fn}: alpha and beta must be numbers, got ${describe(alpha)} and ${describe(beta)}`,
    );
  }
  const c = checkOut(fn, "opts.out", opts.out, a.data, m * n, {
    "a.data": a.data,
    "b.data": b.data,
  });
  return gemmProblem(a, b, { transA, transB, alpha, beta }, c);
}

/** The problem C = alpha·op(A)·op(B) + beta·C of matrices whose sizes are known to agree. */
export function gemmProblem<T extends FloatArray>(
  a: Matrix<T>,
  b: Matrix<T>,
  opts: { transA?: boolean; transB?: boolean; alpha?: number; beta?: number },
  c: T,
): GemmProblem<T> {
  const transA = opts.transA ?? false, transB = opts.transB ?? false;
  return {
    a: a.data,
    rsA: transA ? 1 : a.cols,
    csA: transA ? a.cols : 1,
    b: b.data,
    rsB: transB ? 1 : b.cols,
    csB: transB ? b.cols : 1,
    m: transA ? a.cols : a.rows,
    n: transB ? b.rows : b.cols,
    k: transA ? a.rows : a.cols,
    alpha: opts.alpha ?? 1,
    beta: opts.beta ?? 0,
    c,
  };
}
