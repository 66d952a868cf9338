// The max-pool kernel on W4's columns: one 2×2/2 pool over a 24×24 map has 4 rows × 144 windows;
// the batch [64,20,24,24] is 1280 such maps.

import { maxPoolColumns } from "./max_pool.ts";
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
