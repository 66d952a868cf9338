// The max-pool kernels on W4: one 2×2/2 pool over a 24×24 map has 4 rows × 144 windows; the batch
// [64,20,24,24] is 1280 such maps. The reference maxPoolColumns on im2col'd columns, and the fast
// backend's fused pool through the table (what its layer runs) on the whole batch: float32 on the
// WebAssembly SIMD kernel (x copied in, max and route copied out, all included), its maxima-only
// variant (inference: no route), the 4-tap TypeScript kernel, and float64 (TypeScript).

import { maxPoolColumns } from "./max_pool.ts";
import { fastTable } from "./fast/tables.ts";
import { forceKernels, runMaxPool } from "./fast/dispatch.ts";
import { randomArray, rngFor } from "../tests/_random.ts";

const rows = 4, cols = 144, maps = 1280;
const x_col = randomArray(rngFor(2), rows * cols * maps, Float32Array);

Deno.bench("maxPoolColumns 4x144, x1280 maps (W4)", { group: "maxPoolColumns" }, () => {
  for (let m = 0; m < maps; m++) {
    maxPoolColumns(x_col.subarray(m * rows * cols, (m + 1) * rows * cols), { rows, cols });
  }
});

const table = fastTable({ channels: 1, height: 24, width: 24, kernel: [2, 2], stride: [2, 2] });
const scratch = (n: number) => new Int32Array(n);
function maxPoolTable<T extends Float32Array | Float64Array>(
  x: T,
  out: { max: T; route?: Int32Array },
): void {
  runMaxPool({ x, table, slices: maps, max: out.max, route: out.route ?? null }, scratch);
}
const x32 = randomArray(rngFor(3), maps * 576, Float32Array), x64 = Float64Array.from(x32);
const max32 = new Float32Array(maps * cols), max64 = new Float64Array(maps * cols);
const route = new Int32Array(maps * cols);

Deno.bench("fast max pool [1280,24,24] 2x2/2 float32, WebAssembly SIMD (W4)", {
  group: "fast max pool W4",
  baseline: true,
}, () => {
  maxPoolTable(x32, { max: max32, route });
});
Deno.bench("fast max pool [1280,24,24] 2x2/2 float32, SIMD, maxima only (no route)", {
  group: "fast max pool W4",
}, () => {
  maxPoolTable(x32, { max: max32 });
});
Deno.bench("fast max pool [1280,24,24] 2x2/2 float32, 4-tap TypeScript kernel", {
  group: "fast max pool W4",
}, () => {
  forceKernels({ maxPool: "four" });
  try {
    maxPoolTable(x32, { max: max32, route });
  } finally {
    forceKernels(null);
  }
});
Deno.bench("fast max pool [1280,24,24] 2x2/2 float64 (TypeScript)", {
  group: "fast max pool W4",
}, () => {
  maxPoolTable(x64, { max: max64, route });
});
