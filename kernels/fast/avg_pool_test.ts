// The fast average pool (kernels/fast/avg_pool.ts, as dispatch.ts runs it) against the
// reference's im2col + avgPoolColumns and addAt: the direct kernel's y bit for bit (the same
// terms of x in the same order, the padding's zeros skipped), its backward pass bit for bit where
// windows do not overlap; the global kernel within the rounding of a sum taken in another order.

import { assert, assertEquals } from "@std/assert";
import { avgPoolColumns } from "../avg_pool.ts";
import { addAt } from "../add_at.ts";
import { im2col, type Im2colGeometry, im2colTable } from "../im2col.ts";
import { avgPoolKernel, forceKernels, runAvgPool, runAvgPoolBackward } from "./dispatch.ts";
import { randInt, randomArray, rngFor } from "../../tests/_random.ts";

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;

/** y and dx of S images by the reference's route: im2col, column means, addAt of dy/|window|. */
function reference<T extends Float32Array | Float64Array>(
  x: T,
  dy: T,
  g: Im2colGeometry,
  S: number,
  countIncludePad: boolean,
): { y: T; dx: T } {
  const table = im2colTable(g), R = table.rows, P = table.cols, HW = table.inputSize;
  const counts = Float64Array.from({ length: P }, (_, p) => {
    let c = 0;
    for (let r = 0; r < R; r++) c += +(countIncludePad || table.indices[r * P + p] >= 0);
    return c;
  });
  const Type = x.constructor as Ctor;
  const y = new Type(S * P) as T, dx = new Type(S * HW) as T;
  for (let s = 0; s < S; s++) {
    const x_col = im2col(x.subarray(s * HW, (s + 1) * HW), table);
    y.set(avgPoolColumns(x_col, { rows: R, cols: P, counts }), s * P);
    const dX_col = new Type(R * P).map((_, t) => dy[s * P + (t % P)] / counts[t % P]);
    addAt(dx.subarray(s * HW, (s + 1) * HW), table.indices, dX_col);
  }
  return { y, dx };
}

function randomGeometry(rng: () => number): Im2colGeometry | null {
  const H = randInt(rng, 1, 9), W = randInt(rng, 1, 9);
  const kh = randInt(rng, 1, 6), kw = randInt(rng, 1, 6);
  const padding: [number, number] = [randInt(rng, 0, kh >> 1), randInt(rng, 0, kw >> 1)];
  if (kh > H + 2 * padding[0] || kw > W + 2 * padding[1]) return null;
  const stride: [number, number] = [randInt(rng, 1, 3), randInt(rng, 1, 3)];
  return { channels: 1, height: H, width: W, kernel: [kh, kw], stride, padding };
}

Deno.test("avgPoolDirect: the reference's y bit for bit, and its dx where windows do not overlap", () => {
  const rng = rngFor(51);
  let checked = 0;
  for (let trial = 0; trial < 400; trial++) {
    const g = randomGeometry(rng);
    if (g === null) continue;
    const T: Ctor = trial % 2 === 0 ? Float64Array : Float32Array;
    const S = randInt(rng, 1, 3), countIncludePad = trial % 3 !== 0;
    const table = im2colTable(g), P = table.cols, HW = table.inputSize;
    const x = randomArray(rng, S * HW, T), dy = randomArray(rng, S * P, T);
    const ref = reference(x, dy, g, S, countIncludePad);
    const y = new T(S * P), dx = new T(S * HW).fill(NaN); // every element is written
    forceKernels({ avgPool: "direct" });
    try {
      runAvgPool({ geometry: g, countIncludePad, slices: S, input: x, output: y });
      runAvgPoolBackward({ geometry: g, countIncludePad, slices: S, input: dy, output: dx });
    } finally {
      forceKernels(null);
    }
    assertEquals(y, ref.y, `trial ${trial} y`);
    const [sh, sw] = g.stride!, [kh, kw] = g.kernel;
    if (sh >= kh && sw >= kw) assertEquals(dx, ref.dx, `trial ${trial} dx`);
    else {
      // shares added in another order: each cell sums m ≤ ceil(kh/sh)·ceil(kw/sw) of them
      const m = Math.ceil(kh / sh) * Math.ceil(kw / sw),
        u = T === Float64Array ? 2 ** -53 : 2 ** -24;
      const absRef = reference(x, dy.map(Math.abs) as typeof dy, g, S, countIncludePad).dx;
      for (let i = 0; i < dx.length; i++) {
        const tol = 2 * ((m + 1) * u / (1 - (m + 1) * u)) * absRef[i];
        assert(
          Math.abs(dx[i] - ref.dx[i]) <= tol,
          `trial ${trial} dx[${i}] ${dx[i]} vs ${ref.dx[i]}`,
        );
      }
    }
    checked++;
  }
  assert(checked > 200, `${checked} geometries`);
});

Deno.test("avgPoolGlobal: within the rounding of the reference's sum; its dx bit for bit", () => {
  const rng = rngFor(52);
  for (let trial = 0; trial < 100; trial++) {
    const H = randInt(rng, 1, 30), W = randInt(rng, 1, 30), S = randInt(rng, 1, 4);
    const T: Ctor = trial % 2 === 0 ? Float64Array : Float32Array;
    const g: Im2colGeometry = { channels: 1, height: H, width: W, kernel: [H, W] };
    assertEquals(avgPoolKernel(g), "global");
    const x = randomArray(rng, S * H * W, T), dy = randomArray(rng, S, T);
    const ref = reference(x, dy, g, S, true);
    const y = new T(S), dx = new T(S * H * W);
    runAvgPool({ geometry: g, countIncludePad: true, slices: S, input: x, output: y });
    runAvgPoolBackward({ geometry: g, countIncludePad: true, slices: S, input: dy, output: dx });
    // both sums are within γ_n·Σ|x| of the exact one (n = H·W float64 additions), then each
    // quotient is rounded to T: |Δ| ≤ 2·γ_{n+2}·Σ|x|/n with u of T
    const n = H * W,
      u = T === Float64Array ? 2 ** -53 : 2 ** -24,
      gamma = (n + 2) * u / (1 - (n + 2) * u);
    for (let s = 0; s < S; s++) {
      let abs = 0;
      for (let i = 0; i < n; i++) abs += Math.abs(x[s * n + i]);
      assert(Math.abs(y[s] - ref.y[s]) <= 2 * gamma * abs / n, `[${S},${H},${W}] y[${s}]`);
    }
    assertEquals(dx, ref.dx, `[${S},${H},${W}] dx`);
  }
});
