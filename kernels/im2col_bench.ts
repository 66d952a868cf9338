// im2col and col2im for the convolutions of LeNet (W1: 1×28×28, 5×5; W2: 20×12×12, 5×5) and a
// padded 3×3 (W3: 64×32×32), one sample each. Baseline: the table read one entry at a time (the
// definition: a gather for im2col, addAt for col2im). Against it: the definition's nested loops,
// which recompute every index, and im2col / col2im themselves, which walk the table's runs (on
// average 24 entries long for W1, 8 for W2, 24 for W3, where the centre taps give runs of ~1000).
//
// The per-entry gather is im2col itself on a copy of the table: im2col trusts only the tables
// im2colTable built with their runs, so a copy is read entry by entry, by the code stride-2 tables
// take. (The same loop written out here measured 2–4× slower on W2 and W3 than inside im2col,
// a quirk of the JIT that would flatter the runs.)

import { col2im, im2col, im2colTable } from "./im2col.ts";
import { addAt } from "./add_at.ts";
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
  const table = im2colTable({
    channels: c.C,
    height: c.H,
    width: c.W,
    kernel: [c.k, c.k],
    padding: [c.p, c.p],
  });
  const x = randomArray(rng, c.C * c.H * c.W, Float32Array);
  const x_col = new Float32Array(table.rows * table.cols);
  const dx = new Float32Array(x.length);
  const entryByEntry = { ...table };
  Deno.bench(`im2col gather ${c.name}`, { group: `im2col ${c.name}`, baseline: true }, () => {
    im2col(x, entryByEntry, { out: x_col });
  });
  Deno.bench(`im2col loops ${c.name}`, { group: `im2col ${c.name}` }, () => {
    im2colLoops(x, x_col, c.C, c.H, c.W, c.k, c.p);
  });
  Deno.bench(`im2col runs ${c.name}`, { group: `im2col ${c.name}` }, () => {
    im2col(x, table, { out: x_col });
  });
  Deno.bench(`col2im addAt ${c.name}`, { group: `col2im ${c.name}`, baseline: true }, () => {
    dx.fill(0);
    addAt(dx, table.indices, x_col);
  });
  Deno.bench(`col2im runs ${c.name}`, { group: `col2im ${c.name}` }, () => {
    dx.fill(0);
    col2im(x_col, table, { out: dx });
  });
}
