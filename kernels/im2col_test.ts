import { assert, assertEquals, assertThrows } from "@std/assert";
import { col2im, im2col, im2colTable } from "./im2col.ts";
import { dot, randomArray, randomGeometry, rngFor } from "../tests/_random.ts";

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
});

Deno.test("im2colTable builds a new table on every call: the caller's to keep, or to change", () => {
  const g = { channels: 2, height: 5, width: 6, kernel: [3, 2], stride: [2, 1] } as const;
  const a = im2colTable(g), b = im2colTable({ ...g, padding: [0, 0] });
  assert(a !== b && a.indices !== b.indices);
  assertEquals(a, b);
  a.indices.fill(-1); // a caller's change reaches nobody else's table
  assertEquals(im2colTable(g), b);
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
});

Deno.test("im2col and col2im refuse bad arguments before writing anything", () => {
  const table = im2colTable({ channels: 1, height: 3, width: 3, kernel: [2, 2] });
  const x = new Float64Array(9).fill(1);
  assertThrows(() => im2col(new Float64Array(8), table), RangeError, "x has 8 elements");
  assertThrows(() => col2im(new Float64Array(3), table), RangeError, "x_col has 3 elements");
  assertThrows(() => im2col([1, 2] as unknown as Float64Array, table), TypeError, "im2col: x");
  // out: the wrong type, the wrong length, or x itself (im2col would read what it wrote)
  const out16 = new Float64Array(16).fill(7);
  assertThrows(() => im2col(x, table, { out: new Float32Array(16) as never }), TypeError, "out");
  assertThrows(() => im2col(x, table, { out: new Float64Array(15) }), RangeError, "out");
  const shared = new Float64Array(25);
  assertThrows(
    () => im2col(shared.subarray(0, 9), table, { out: shared.subarray(5, 21) }),
    RangeError,
    "shares memory with x",
  );
  const dx = new Float64Array(9).fill(3);
  assertThrows(
    () => col2im(out16, table, { out: out16.subarray(0, 9) }),
    RangeError,
    "shares memory with x_col",
  );
  // a table whose index points outside the sample: refused, nothing written
  const bad = { ...table, indices: table.indices.slice() };
  bad.indices[5] = 9;
  assertThrows(() => im2col(x, bad, { out: out16 }), RangeError, "table.indices[5] = 9");
  assertThrows(() => col2im(out16, bad, { out: dx }), RangeError, "table.indices[5] = 9");
  assertEquals(Array.from(out16), new Array(16).fill(7));
  assertEquals(Array.from(dx), new Array(9).fill(3));
  assertThrows(() => im2col(x, {} as never), TypeError, "im2col: table");
});
