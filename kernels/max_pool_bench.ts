// The max-pool kernels on W4: one 2×2/2 pool over a 24×24 map has 4 rows × 144 windows; the batch
// [64,20,24,24] is 1280 such maps. maxPoolColumns on im2col'd columns, and maxPoolTable (what the
// layer runs) on the whole batch: float32 on the WebAssembly SIMD kernel (x copied in, max and
// route copied out, all included), its maxima-only variant (inference: no route), against its
// TypeScript path, and float64 (TypeScript).

import { maxPoolColumns, maxPoolTable } from "./max_pool.ts";
import { im2colTable } from "./im2col.ts";
import { useMaxPoolSimd } from "./_max_pool_simd.ts";
import { randomArray, rngFor } from "../tests/_random.ts";

const rows = 4, cols = 144, maps = 1280;
const x_col = randomArray(rngFor(2), rows * cols * maps, Float32Array);
const max = new Float32Array(cols), argmax = new Int32Array(cols);

Deno.bench("maxPoolColumns 4x144, x1280 maps (W4)", { group: "maxPoolColumns" }, () => {
  for (let m = 0; m < maps; m++) {
    maxPoolColumns(x_col.subarray(m * rows * cols, (m + 1) * rows * cols), {
      rows,
      cols,
      max,
      argmax,
    });
  }
});

const table = im2colTable({ channels: 1, height: 24, width: 24, kernel: [2, 2], stride: [2, 2] });
const x32 = randomArray(rngFor(3), maps * 576, Float32Array), x64 = Float64Array.from(x32);
const max32 = new Float32Array(maps * cols), max64 = new Float64Array(maps * cols);
const route = new Int32Array(maps * cols);

Deno.bench("maxPoolTable [1280,24,24] 2x2/2 float32, WebAssembly SIMD (W4)", {
  group: "maxPoolTable W4",
  baseline: true,
}, () => {
  maxPoolTable(x32, table, { max: max32, route });
});
Deno.bench("maxPoolTable [1280,24,24] 2x2/2 float32, SIMD, maxima only (no route)", {
  group: "maxPoolTable W4",
}, () => {
  maxPoolTable(x32, table, { max: max32 });
});
Deno.bench("maxPoolTable [1280,24,24] 2x2/2 float32, TypeScript path", {
  group: "maxPoolTable W4",
}, () => {
  useMaxPoolSimd(false);
  try {
    maxPoolTable(x32, table, { max: max32, route });
  } finally {
    useMaxPoolSimd(true);
  }
});
Deno.bench("maxPoolTable [1280,24,24] 2x2/2 float64 (TypeScript)", {
  group: "maxPoolTable W4",
}, () => {
  maxPoolTable(x64, table, { max: max64, route });
});
