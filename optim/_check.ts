// Argument checks shared by the optimisers and schedules. Private: not part of the public API.

import type { Param } from "../layers/layer.ts";

/** Checks the parameters an optimiser is given: value and grad of the same shape and type. */
export function checkParams(fn: string, params: readonly Param[]): void {
  if (!Array.isArray(params)) throw new TypeError(`${fn}: params must be an array of Param`);
  for (const [i, p] of params.entries()) {
    const v = p?.value?.data, g = p?.grad?.data;
    const ok = (a: unknown) => a instanceof Float32Array || a instanceof Float64Array;
    if (!ok(v) || !ok(g)) {
      throw new TypeError(
        `${fn}: params[${i}] ("${p?.name}") needs value and grad tensors of Float32Array or ` +
          `Float64Array`,
      );
    }
    if (v.length !== g.length || v.constructor !== g.constructor) {
      throw new RangeError(
        `${fn}: params[${i}] ("${p.name}") has value [${
          p.value.shape.join(",")
        }] ${v.constructor.name} but grad [${p.grad.shape.join(",")}] ${g.constructor.name}`,
      );
    }
  }
}

/** Checks a hyper-parameter: finite and within [lo, hi) (or [lo, hi] when `closed`). */
export function checkHyper(
  fn: string,
  name: string,
  v: number,
  lo: number,
  hi: number,
  closed = false,
): void {
  const inRange = typeof v === "number" && Number.isFinite(v) && v >= lo &&
    (closed ? v <= hi : v < hi);
  if (!inRange) {
    const range = hi === Infinity ? `≥ ${lo}` : `in [${lo}, ${hi}${closed ? "]" : ")"}`;
    throw new RangeError(`${fn}: ${name} must be a finite number ${range}, got ${v}`);
  }
}
