// Shared by the layer benches: seeded random tensors of a given type, and a way to time the
// reference backend beside the fast one.

import type { Tensor } from "../tensor.ts";
import { setBackend } from "../backend.ts";
import { randomArray, rngFor } from "../tests/_random.ts";

const rng = rngFor(4);

/** A tensor of uniform [-1, 1) numbers. */
export function rand(
  shape: number[],
  Type: Float32ArrayConstructor | Float64ArrayConstructor = Float32Array,
): Tensor {
  return { shape, data: randomArray(rng, shape.reduce((a, b) => a * b, 1), Type) };
}

/** Runs `f` on the reference backend, then switches back to the fast one. */
export function onReference<R>(f: () => R): R {
  setBackend("reference");
  try {
    return f();
  } finally {
    setBackend("fast");
  }
}
