// The fast backend's gather and scatter (kernels/fast/im2col.ts) on its cached tables
// (kernels/fast/tables.ts): the runs are the indices run-length encoded, exactly; walking them
// gives the definition's bits; and the dispatcher walks long runs as runs, runs of 1 entry by
// entry.

import { assert, assertEquals } from "@std/assert";
import { addAt } from "../add_at.ts";
import { im2col, type Im2colTable } from "../im2col.ts";
import { type FastTable, fastTable } from "./tables.ts";
import { col2imIndices, col2imRuns, im2colIndices, im2colRuns } from "./im2col.ts";
import { forceKernels, gatherKernel, RUN_MEMCPY_MIN, runCol2im, runIm2col } from "./dispatch.ts";
import {
  randInt,
  randomArray,
  randomGeometry,
  rngFor,
  type SmallGeometry,
} from "../../tests/_random.ts";

type Geometry = SmallGeometry;

// Geometries for the runs: wider rows (long runs with stride 1), stride 1 or 2 (runs of 1), and
// the edge cases where the runs merge across rows or cover the whole table.

function wideGeometry(rng: () => number): Geometry {
  const C = randInt(rng, 1, 3), H = randInt(rng, 1, 12), W = randInt(rng, 1, 40);
  const ph = randInt(rng, 0, 2), pw = randInt(rng, 0, 2);
  const kh = randInt(rng, 1, Math.min(5, H + 2 * ph)),
    kw = randInt(rng, 1, Math.min(5, W + 2 * pw));
  const s = randInt(rng, 1, 2);
  return { C, H, W, k: [kh, kw], s: [s, s], p: [ph, pw] };
}

const edgeGeometries: Geometry[] = [
  // 1×1 kernels: the whole table is one run without padding, rows of runs with it
  { C: 3, H: 5, W: 7, k: [1, 1], s: [1, 1], p: [0, 0] },
  { C: 2, H: 4, W: 6, k: [1, 1], s: [1, 1], p: [1, 2] },
  { C: 2, H: 6, W: 6, k: [1, 1], s: [2, 2], p: [0, 0] },
  // the kernel is the whole input (a fully connected layer: the identity) or the padded input
  { C: 2, H: 3, W: 4, k: [3, 4], s: [1, 1], p: [0, 0] },
  { C: 2, H: 3, W: 4, k: [5, 6], s: [1, 1], p: [1, 1] },
  // a single row or column, LeNet's two convolutions, a padded 3×3
  { C: 1, H: 1, W: 30, k: [1, 3], s: [1, 1], p: [0, 0] },
  { C: 1, H: 30, W: 1, k: [3, 1], s: [1, 1], p: [0, 0] },
  { C: 1, H: 28, W: 28, k: [5, 5], s: [1, 1], p: [0, 0] },
  { C: 4, H: 12, W: 12, k: [5, 5], s: [1, 1], p: [0, 0] },
  { C: 3, H: 16, W: 16, k: [3, 3], s: [1, 1], p: [1, 1] },
  { C: 3, H: 16, W: 16, k: [3, 3], s: [2, 2], p: [1, 1] },
];

function tableOf(g: Geometry): FastTable {
  return fastTable({
    channels: g.C,
    height: g.H,
    width: g.W,
    kernel: g.k,
    stride: g.s,
    padding: g.p,
  });
}

function testGeometries(seed: number, n: number): Geometry[] {
  const rng = rngFor(seed);
  const gs: Geometry[] = [...edgeGeometries];
  for (let i = 0; i < n; i++) gs.push(randomGeometry(rng), wideGeometry(rng));
  return gs;
}

Deno.test("runs expand back to the table exactly, and are maximal (522 geometries)", () => {
  let long = 0, unit = 0;
  for (const g of testGeometries(3, 250)) {
    const { indices, runs, meanRunLength, rows, cols } = tableOf(g);
    const n = rows * cols, label = JSON.stringify(g);
    assertEquals(runs.length % 3, 0, label);
    const expanded = new Int32Array(n).fill(-2); // −2: not covered by any run
    let t = 0;
    for (let r = 0; r < runs.length; r += 3) {
      const start = runs[r], s = runs[r + 1], len = runs[r + 2];
      assertEquals(start, t, `${label}: run ${r / 3} starts at ${start}, expected ${t}`);
      assert(len >= 1 && s >= -1, `${label}: run ${r / 3} = (${start}, ${s}, ${len})`);
      for (let q = 0; q < len; q++) expanded[start + q] = s < 0 ? -1 : s + q;
      t += len;
      // maximal: the next run could not have continued this one
      if (r + 3 < runs.length) {
        const last = expanded[t - 1], next = indices[t];
        assert(last < 0 ? next >= 0 : next !== last + 1, `${label}: runs ${r / 3} and next merge`);
      }
    }
    assertEquals(t, n, label);
    assertEquals(expanded, indices, label);
    assertEquals(meanRunLength, n / (runs.length / 3), label);
    if (meanRunLength >= 16) long++;
    if (meanRunLength < 2) unit++;
  }
  // both kinds of table were seen (the counts only guard the generators' coverage)
  assert(long >= 20 && unit >= 20, `long ${long}, unit ${unit}`);
});

function sameBits(a: Float32Array | Float64Array, b: Float32Array | Float64Array): boolean {
  if (a.constructor !== b.constructor || a.length !== b.length) return false;
  const u = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const v = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return u.every((byte, i) => byte === v[i]);
}

for (const Type of [Float32Array, Float64Array]) {
  Deno.test(`runs and indices give the reference im2col's and addAt's bits (${Type.name}, 522 geometries)`, () => {
    const rng = rngFor(4);
    for (const g of testGeometries(5, 250)) {
      const table = tableOf(g), n = table.rows * table.cols, label = JSON.stringify(g);
      const x = randomArray(rng, table.inputSize, Type);
      // into buffers full of garbage: every entry, padding included, is written
      const want = im2col(x, table as Im2colTable);
      for (const memcpyMin of [1, 4, RUN_MEMCPY_MIN]) {
        const runs = new Type(n).fill(NaN);
        im2colRuns(x, table, runs, memcpyMin);
        assert(sameBits(runs, want), `im2colRuns (memcpy from ${memcpyMin}) ${label}`);
      }
      const byIndex = new Type(n).fill(NaN);
      im2colIndices(x, table, byIndex);
      assert(sameBits(byIndex, want), `im2colIndices ${label}`);
      // col2im accumulates into a non-zero sample; windows overlap, so each cell sums several
      // terms, and float rounding would show any change in their order
      const x_col = randomArray(rng, n, Type);
      const start = randomArray(rng, table.inputSize, Type);
      const sum = start.slice();
      addAt(sum, table.indices, x_col);
      const a = start.slice(), b = start.slice();
      col2imRuns(x_col, table, a);
      col2imIndices(x_col, table, b);
      assert(sameBits(a, sum) && sameBits(b, sum), `col2im ${label}`);
      // and the dispatcher's choice, whichever it is
      assert(sameBits(runIm2col(x, table, new Type(n)), want), `runIm2col ${label}`);
      const c = start.slice();
      assert(sameBits(runCol2im(x_col, table, c), sum), `runCol2im ${label}`);
    }
  });
}

Deno.test("the dispatcher walks long runs (stride 1) as runs, runs of 1 (stride 2) by indices", () => {
  const cases: [Geometry, "runs" | "indices"][] = [
    [{ C: 2, H: 32, W: 32, k: [3, 3], s: [1, 1], p: [1, 1] }, "runs"],
    [{ C: 1, H: 28, W: 28, k: [5, 5], s: [1, 1], p: [0, 0] }, "runs"],
    [{ C: 2, H: 20, W: 20, k: [3, 3], s: [2, 2], p: [1, 1] }, "indices"],
  ];
  for (const [g, walk] of cases) assertEquals(gatherKernel(tableOf(g)), walk, JSON.stringify(g));
  forceKernels({ gather: "indices" });
  try {
    assertEquals(gatherKernel(tableOf(cases[0][0])), "indices");
  } finally {
    forceKernels(null);
  }
});

Deno.test("fastTable caches by geometry; the identity table is recognised", () => {
  const g = { channels: 2, height: 5, width: 6, kernel: [3, 2] as [number, number] };
  assert(fastTable(g) === fastTable({ ...g, stride: [1, 1], padding: [0, 0] }));
  assert(!fastTable(g).identity);
  assert(fastTable({ channels: 2, height: 2, width: 3, kernel: [2, 3] }).identity);
  assert(
    !fastTable({ channels: 1, height: 3, width: 3, kernel: [3, 3], padding: [1, 1] }).identity,
  );
});
