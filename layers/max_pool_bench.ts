// W4: max pool 2×2 stride 2 on [64,20,24,24] (float32). Baseline: the unfused formulation,
// im2col of each image followed by maxPoolColumns; against it maxPoolForward (one fused pass
// through the table, on the WebAssembly SIMD kernel for this float32 2×2/2 pool) and the
// MaxPool2D class (reused outputs), with and without the SIMD kernel.

import {
  im2col,
  im2colTable,
  MaxPool2D,
  maxPoolBackward,
  maxPoolColumns,
  maxPoolForward,
} from "../mod.ts";
import { rand } from "./_bench_util.ts";
import { useMaxPoolSimd } from "../kernels/_max_pool_simd.ts";

const x = rand([64, 20, 24, 24]), dy = rand([64, 20, 12, 12]);
const table = im2colTable({ channels: 1, height: 24, width: 24, kernel: [2, 2], stride: [2, 2] });
const x_col = new Float32Array(table.rows * table.cols);
const max = new Float32Array(table.cols), argmax = new Int32Array(table.cols);
const layer = new MaxPool2D({ size: 2 });

Deno.bench("W4 im2col + maxPoolColumns per image", { group: "W4 fwd", baseline: true }, () => {
  for (let s = 0; s < 64 * 20; s++) {
    im2col((x.data as Float32Array).subarray(s * 576, (s + 1) * 576), table, { out: x_col });
    maxPoolColumns(x_col, { rows: table.rows, cols: table.cols, max, argmax });
  }
});
Deno.bench("W4 maxPoolForward (fresh outputs)", { group: "W4 fwd" }, () => {
  maxPoolForward(x, { size: 2 });
});
Deno.bench("W4 MaxPool2D.forward", { group: "W4 fwd" }, () => {
  layer.forward(x);
});
Deno.bench("W4 MaxPool2D.forward, TypeScript kernel (no WebAssembly)", { group: "W4 fwd" }, () => {
  useMaxPoolSimd(false);
  try {
    layer.forward(x);
  } finally {
    useMaxPoolSimd(true);
  }
});
Deno.bench("W4 fwd+bwd (fresh outputs)", { group: "W4 fwd+bwd", baseline: true }, () => {
  maxPoolBackward(dy, maxPoolForward(x, { size: 2 }).cache);
});
Deno.bench("W4 fwd+bwd (MaxPool2D)", { group: "W4 fwd+bwd" }, () => {
  layer.forward(x);
  layer.backward(dy);
});
