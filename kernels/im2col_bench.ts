// im2col and col2im for the convolutions of LeNet (W1: 1×28×28, 5×5; W2: 20×12×12, 5×5) and a
// padded 3×3 (W3: 64×32×32), one sample each. Baseline: the reference im2col / col2im
// (kernels/im2col.ts: the table read one entry at a time, after checking it). Against it: the
// definition's nested loops, which recompute every index, and the fast backend's two walks of
// its cached table (kernels/fast/im2col.ts): entry by entry, and run by run (on average 24
// entries long for W1, 8 for W2, 24 for W3, where the centre taps give runs of ~1000).

import { col2im, im2col } from "./im2col.ts";
import { fastTable } from "./fast/tables.ts";
import { col2imIndices, col2imRuns, im2colIndices, im2colRuns } from "./fast/im2col.ts";
import { RUN_MEMCPY_MIN } from "./fast/dispatch.ts";
import { randomArray, rngFor } from "../tests/_random.ts";

const cases = [
  { name: "W1 1x28x28 k5", C: 1, H: 28, W: 28, k: 5, p: 0 },
  { name: "W2 20x12x12 k5", C: 20, H: 12, W: 12, k: 5, p: 0 },
  { name: "W3 64x32x32 k3 p1", C: 64, H: 32, W: 32, k: 3, p: 1 },
];

function im2colLoops(
  x: Float32Array,
  out: Float32Array,
  C: number,
  H: number,
  W: number,
  k: number,
  p: number,
): void {
  const Ho = H + 2 * p - k + 1, Wo = W + 2 * p - k + 1;
  let t = 0;
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        for (let oh = 0; oh < Ho; oh++) {
          for (let ow = 0; ow < Wo; ow++) {
            const h = oh - p + i, w = ow - p + j;
            out[t++] = h >= 0 && h < H && w >= 0 && w < W ? x[(c * H + h) * W + w] : 0;
          }
        }
      }
    }
  }
}

const rng = rngFor(1);
for (const c of cases) {
  const table = fastTable({
    channels: c.C,
    height: c.H,
    width: c.W,
    kernel: [c.k, c.k],
    padding: [c.p, c.p],
  });
  const x = randomArray(rng, c.C * c.H * c.W, Float32Array);
  const x_col = new Float32Array(table.rows * table.cols);
  const dx = new Float32Array(x.length);
  Deno.bench(`im2col reference ${c.name}`, { group: `im2col ${c.name}`, baseline: true }, () => {
    im2col(x, table, { out: x_col });
  });
  Deno.bench(`im2col loops ${c.name}`, { group: `im2col ${c.name}` }, () => {
    im2colLoops(x, x_col, c.C, c.H, c.W, c.k, c.p);
  });
  Deno.bench(`im2col fast, indices ${c.name}`, { group: `im2col ${c.name}` }, () => {
    im2colIndices(x, table, x_col);
  });
  Deno.bench(`im2col fast, runs ${c.name}`, { group: `im2col ${c.name}` }, () => {
    im2colRuns(x, table, x_col, RUN_MEMCPY_MIN);
  });
  Deno.bench(`col2im reference ${c.name}`, { group: `col2im ${c.name}`, baseline: true }, () => {
    dx.fill(0);
    col2im(x_col, table, { out: dx });
  });
  Deno.bench(`col2im fast, indices ${c.name}`, { group: `col2im ${c.name}` }, () => {
    dx.fill(0);
    col2imIndices(x_col, table, dx);
  });
  Deno.bench(`col2im fast, runs ${c.name}`, { group: `col2im ${c.name}` }, () => {
    dx.fill(0);
    col2imRuns(x_col, table, dx);
  });
}
