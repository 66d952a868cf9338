import { assertEquals, assertThrows } from "@std/assert";
import { maxPoolColumns, maxPoolTable } from "./max_pool.ts";
import { im2col, im2colTable } from "./im2col.ts";
import { randInt, randomArray, rngFor } from "../tests/_random.ts";

Deno.test("maxPoolColumns matches a column-by-column reference", () => {
  const rng = rngFor(4);
  for (let trial = 0; trial < 100; trial++) {
    const rows = randInt(rng, 1, 9), cols = randInt(rng, 1, 30);
    const x_col = randomArray(rng, rows * cols, Float32Array);
    const { max, argmax } = maxPoolColumns(x_col, { rows, cols });
    for (let p = 0; p < cols; p++) {
      let best = -Infinity, arg = -1;
      for (let r = 0; r < rows; r++) {
        if (x_col[r * cols + p] > best) [best, arg] = [x_col[r * cols + p], r];
      }
      assertEquals([max[p], argmax[p]], [best, arg]);
    }
    assertEquals(max instanceof Float32Array, true);
  }
});

Deno.test("maxPoolColumns: ties go to the first row, NaN propagates", () => {
  const { max, argmax } = maxPoolColumns(new Float64Array([2, 1, 2, NaN, 0, 5]), {
    rows: 3,
    cols: 2,
  });
  assertEquals(argmax[0], 0); // 2, 2, 0: first of the tie
  assertEquals(Number.isNaN(max[1]), true);
  assertEquals(argmax[1], 1);
});

Deno.test("maxPoolColumns rejects mismatched sizes", () => {
  assertThrows(
    () => maxPoolColumns(new Float64Array(5), { rows: 2, cols: 2 }),
    RangeError,
    "x_col has 5 elements",
  );
  assertThrows(
    () => maxPoolColumns(new Float64Array(4), { rows: 2, cols: 2, max: new Float64Array(3) }),
    RangeError,
    "max has 3",
  );
});

Deno.test("maxPoolTable equals maxPoolColumns(im2col(x)) per image (100 random geometries)", () => {
  const rng = rngFor(9);
  for (let trial = 0; trial < 100; trial++) {
    const S = randInt(rng, 1, 4), H = randInt(rng, 1, 9), W = randInt(rng, 1, 9);
    const table = im2colTable({
      channels: 1,
      height: H,
      width: W,
      kernel: [randInt(rng, 1, H), randInt(rng, 1, W)],
      stride: [randInt(rng, 1, 3), randInt(rng, 1, 3)],
    });
    const x = randomArray(rng, S * H * W, Float64Array);
    const P = table.cols, max = new Float64Array(S * P), route = new Int32Array(S * P);
    maxPoolTable(x, table, { max, route });
    for (let s = 0; s < S; s++) {
      const x_s = x.subarray(s * H * W, (s + 1) * H * W);
      const ref = maxPoolColumns(im2col(x_s, table), { rows: table.rows, cols: P });
      assertEquals(max.subarray(s * P, (s + 1) * P), ref.max);
      for (let p = 0; p < P; p++) {
        assertEquals(route[s * P + p], s * H * W + table.indices[ref.argmax[p] * P + p]);
      }
    }
  }
});

Deno.test("maxPoolTable rejects a padded table and wrong buffers", () => {
  const padded = im2colTable({ channels: 1, height: 2, width: 2, kernel: [2, 2], padding: [1, 1] });
  const n = padded.cols;
  assertThrows(
    () =>
      maxPoolTable(new Float64Array(4), padded, {
        max: new Float64Array(n),
        route: new Int32Array(n),
      }),
    RangeError,
    "padding",
  );
  const t = im2colTable({ channels: 1, height: 2, width: 2, kernel: [1, 1] });
  assertThrows(
    () =>
      maxPoolTable(new Float64Array(4), t, { max: new Float64Array(3), route: new Int32Array(4) }),
    RangeError,
    "need 4",
  );
});

Deno.test("maxPoolTable: NaN wins its window wherever it is, ties go first, ±Infinity exact", () => {
  const table = im2colTable({ channels: 1, height: 1, width: 4, kernel: [1, 4] });
  const max = new Float64Array(1), route = new Int32Array(1);
  for (
    const [x, m, r] of [
      [[1, NaN, 3, 2], NaN, 1],
      [[NaN, 5, 3, 2], NaN, 0],
      [[1, 5, 5, 2], 5, 1],
      [[-Infinity, -Infinity, -1e300, -Infinity], -1e300, 2],
      [[-Infinity, -Infinity, -Infinity, -Infinity], -Infinity, 0],
      [[1, Infinity, 3, Infinity], Infinity, 1],
    ] as [number[], number, number][]
  ) {
    maxPoolTable(new Float64Array(x), table, { max, route });
    assertEquals([max[0], route[0]], [m, r], JSON.stringify(x));
  }
});

Deno.test("maxPoolTable: every 2×2 window over 7 special values agrees with maxPoolColumns", () => {
  // 7⁴ = 2401 windows, all orderings, ties, NaNs and infinities in every position: the 4-cell
  // path (pairwise comparisons, NaN windows by the sequential rule) must pick the same cell as
  // the sequential definition.
  const vals = [NaN, -Infinity, -1, 0, 1, 1, Infinity]; // 1 twice: more ties
  const S = vals.length ** 4;
  const x = new Float64Array(S * 4);
  for (let s = 0; s < S; s++) {
    for (let r = 0, q = s; r < 4; r++, q = Math.floor(q / vals.length)) {
      x[s * 4 + r] = vals[q % vals.length];
    }
  }
  const table = im2colTable({ channels: 1, height: 2, width: 2, kernel: [2, 2] });
  const max = new Float64Array(S), route = new Int32Array(S);
  maxPoolTable(x, table, { max, route });
  for (let s = 0; s < S; s++) {
    const x_s = x.subarray(s * 4, s * 4 + 4);
    const ref = maxPoolColumns(im2col(x_s, table), { rows: 4, cols: 1 });
    const want = s * 4 + table.indices[ref.argmax[0]];
    assertEquals(route[s], want, `window ${Array.from(x_s)}`);
    assertEquals(max[s], ref.max[0]);
  }
});
