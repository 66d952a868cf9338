import { assert, assertEquals, assertThrows } from "@std/assert";
import { col2im, im2col, type Im2colTable, im2colTable } from "./im2col.ts";
import { addAt } from "./add_at.ts";
import { dot, randInt, randomArray, rngFor } from "../tests/_random.ts";

// A direct reading of the definition, independent of the table construction.
function im2colDirect(
  x: Float64Array,
  C: number,
  H: number,
  W: number,
  k: [number, number],
  s: [number, number],
  p: [number, number],
): { x_col: Float64Array; Ho: number; Wo: number } {
  const Ho = Math.floor((H + 2 * p[0] - k[0]) / s[0]) + 1;
  const Wo = Math.floor((W + 2 * p[1] - k[1]) / s[1]) + 1;
  const x_col = new Float64Array(C * k[0] * k[1] * Ho * Wo);
  let t = 0;
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < k[0]; i++) {
      for (let j = 0; j < k[1]; j++) {
        for (let oh = 0; oh < Ho; oh++) {
          for (let ow = 0; ow < Wo; ow++) {
            const h = oh * s[0] - p[0] + i, w = ow * s[1] - p[1] + j;
            x_col[t++] = h >= 0 && h < H && w >= 0 && w < W ? x[(c * H + h) * W + w] : 0;
          }
        }
      }
    }
  }
  return { x_col, Ho, Wo };
}

function randomGeometry(rng: () => number) {
  const C = randInt(rng, 1, 3), H = randInt(rng, 1, 9), W = randInt(rng, 1, 9);
  const ph = randInt(rng, 0, 2), pw = randInt(rng, 0, 2);
  const kh = randInt(rng, 1, H + 2 * ph), kw = randInt(rng, 1, W + 2 * pw);
  const sh = randInt(rng, 1, 3), sw = randInt(rng, 1, 3);
  return {
    C,
    H,
    W,
    k: [kh, kw] as [number, number],
    s: [sh, sw] as [number, number],
    p: [ph, pw] as [number, number],
  };
}

Deno.test("im2col matches the definition over 300 random geometries", () => {
  const rng = rngFor(1);
  for (let trial = 0; trial < 300; trial++) {
    const g = randomGeometry(rng);
    const x = randomArray(rng, g.C * g.H * g.W, Float64Array);
    const table = im2colTable({
      channels: g.C,
      height: g.H,
      width: g.W,
      kernel: g.k,
      stride: g.s,
      padding: g.p,
    });
    const ref = im2colDirect(x, g.C, g.H, g.W, g.k, g.s, g.p);
    assertEquals([table.outHeight, table.outWidth], [ref.Ho, ref.Wo]);
    assertEquals(im2col(x, table), ref.x_col);
  }
});

// col2im is the adjoint of im2col: <im2col(x), c> = <x, col2im(c)> for every x and c. This is
// what makes dX = col2im(dX_col) the right gradient.
Deno.test("adjoint property <im2col(x), c> = <x, col2im(c)> over 300 random geometries", () => {
  const rng = rngFor(2);
  for (let trial = 0; trial < 300; trial++) {
    const g = randomGeometry(rng);
    const table = im2colTable({
      channels: g.C,
      height: g.H,
      width: g.W,
      kernel: g.k,
      stride: g.s,
      padding: g.p,
    });
    const x = randomArray(rng, table.inputSize, Float64Array);
    const c = randomArray(rng, table.rows * table.cols, Float64Array);
    const lhs = dot(im2col(x, table), c), rhs = dot(x, col2im(c, table));
    // both sides sum the same products in different orders: float64 rounding ~1e-15 per term
    assert(Math.abs(lhs - rhs) <= 1e-12 * Math.max(1, Math.abs(lhs)), `${lhs} vs ${rhs}`);
  }
});

Deno.test("im2col keeps the array type and reuses out", () => {
  const table = im2colTable({ channels: 1, height: 2, width: 2, kernel: [1, 1] });
  const x32 = new Float32Array([1, 2, 3, 4]);
  const out = new Float32Array(4);
  const got = im2col(x32, table, { out });
  assert(got === out);
  assertEquals(Array.from(got), [1, 2, 3, 4]);
  assert(col2im(got, table) instanceof Float32Array);
  assert(table.identity === false); // 4 columns: not the fully connected case
  assert(im2colTable({ channels: 2, height: 2, width: 3, kernel: [2, 3] }).identity);
});

Deno.test("tables are cached by geometry", () => {
  const a = im2colTable({ channels: 2, height: 5, width: 6, kernel: [3, 2], stride: [2, 1] });
  const b = im2colTable({
    channels: 2,
    height: 5,
    width: 6,
    kernel: [3, 2],
    stride: [2, 1],
    padding: [0, 0],
  });
  assert(a === b);
});

Deno.test("im2colTable rejects bad geometry with a clear message", () => {
  assertThrows(
    () => im2colTable({ channels: 1, height: 3, width: 3, kernel: [4, 1] }),
    RangeError,
    "larger than the padded input",
  );
  assertThrows(
    () => im2colTable({ channels: 1, height: 3, width: 3, kernel: [2, 2], stride: [0, 1] }),
    RangeError,
    "stride height",
  );
  assertThrows(
    () => im2colTable({ channels: 1, height: 3, width: 3, kernel: [2, 2], padding: [-1, 0] }),
    RangeError,
    "padding height",
  );
  assertThrows(
    () => im2colTable({ channels: 1.5, height: 3, width: 3, kernel: [2, 2] }),
    RangeError,
    "channels",
  );
  const table = im2colTable({ channels: 1, height: 3, width: 3, kernel: [2, 2] });
  assertThrows(() => im2col(new Float64Array(8), table), RangeError, "x has 8 elements");
  assertThrows(() => col2im(new Float64Array(3), table), RangeError, "x_col has 3 elements");
});

// Geometries for the runs: wider rows (long runs with stride 1), stride 1 or 2 (runs of 1), and
// the edge cases where the runs merge across rows or cover the whole table.
type Geometry = ReturnType<typeof randomGeometry>;

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

function tableOf(g: Geometry): Im2colTable {
  return im2colTable({
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

// The definition, one table entry at a time, as the module documents it.
function gatherDefinition<T extends Float32Array | Float64Array>(
  x: T,
  table: Im2colTable,
  x_col: T,
): void {
  const idx = table.indices;
  for (let t = 0; t < idx.length; t++) x_col[t] = idx[t] < 0 ? 0 : x[idx[t]];
}

function sameBits(a: Float32Array | Float64Array, b: Float32Array | Float64Array): boolean {
  if (a.constructor !== b.constructor || a.length !== b.length) return false;
  const u = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const v = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return u.every((byte, i) => byte === v[i]);
}

for (const Type of [Float32Array, Float64Array]) {
  Deno.test(`im2col and col2im are bit-identical to the gather and addAt through the table (${Type.name}, 522 geometries)`, () => {
    const rng = rngFor(4);
    for (const g of testGeometries(5, 250)) {
      const table = tableOf(g), n = table.rows * table.cols, label = JSON.stringify(g);
      const x = randomArray(rng, table.inputSize, Type);
      // im2col into a reused buffer full of garbage: every entry, padding included, is written
      const want = new Type(n);
      gatherDefinition(x, table, want);
      const got = im2col(x, table, { out: new Type(n).fill(NaN) });
      assert(sameBits(got, want), `im2col ${label}`);
      // col2im accumulates into a non-zero sample; windows overlap, so each cell sums several
      // terms, and float rounding would show any change in their order
      const x_col = randomArray(rng, n, Type);
      const start = randomArray(rng, table.inputSize, Type);
      const sum = start.slice();
      addAt(sum, table.indices, x_col);
      const out = start.slice();
      assert(col2im(x_col, table, { out }) === out);
      assert(sameBits(out, sum), `col2im ${label}`);
    }
  });
}

// Which walk is taken is invisible in the results, so the test tampers with a table for a moment:
// with its indices all −1, the per-entry gather would give zeros, the runs the true columns.
function withIndicesErased<R>(table: Im2colTable, f: () => R): R {
  const saved = table.indices.slice();
  table.indices.fill(-1);
  try {
    return f();
  } finally {
    table.indices.set(saved);
  }
}

Deno.test("long runs (stride 1) are walked as runs; runs of 1 (stride 2) through the indices", () => {
  const rng = rngFor(6);
  const cases: [Geometry, boolean][] = [
    [{ C: 2, H: 32, W: 32, k: [3, 3], s: [1, 1], p: [1, 1] }, true],
    [{ C: 1, H: 28, W: 28, k: [5, 5], s: [1, 1], p: [0, 0] }, true],
    [{ C: 2, H: 20, W: 20, k: [3, 3], s: [2, 2], p: [1, 1] }, false],
  ];
  for (const [g, byRuns] of cases) {
    const table = tableOf(g), label = JSON.stringify(g);
    assertEquals(table.meanRunLength >= 16, byRuns, label);
    const x = randomArray(rng, table.inputSize, Float64Array);
    const x_col = im2col(x, table);
    const dx = col2im(x_col, table);
    const [x_col2, dx2] = withIndicesErased(table, () => [im2col(x, table), col2im(x_col, table)]);
    const zeros = new Float64Array(x_col.length), zerosX = new Float64Array(x.length);
    assertEquals(x_col2, byRuns ? x_col : zeros, label);
    assertEquals(dx2, byRuns ? dx : zerosX, label);
  }
  // a copy of a table is not trusted with its runs: it goes through its indices, the definition
  const table = tableOf(cases[0][0]);
  const x = randomArray(rng, table.inputSize, Float64Array);
  const copy: Im2colTable = { ...table, indices: new Int32Array(table.indices.length).fill(-1) };
  assertEquals(im2col(x, copy), new Float64Array(table.rows * table.cols));
});
