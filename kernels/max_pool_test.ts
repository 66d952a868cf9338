import { assertEquals, assertThrows } from "@std/assert";
import { maxPoolColumns } from "./max_pool.ts";
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
  assertThrows(() => maxPoolColumns(new Float64Array(4), { rows: 0, cols: 4 }), RangeError, "rows");
  assertThrows(
    () => maxPoolColumns([1, 2] as unknown as Float64Array, { rows: 1, cols: 2 }),
    TypeError,
    "x_col",
  );
});
