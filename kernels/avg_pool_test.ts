import { assertEquals, assertThrows } from "@std/assert";
import { avgPoolColumns } from "./avg_pool.ts";
import { randInt, randomArray, rngFor } from "../tests/_random.ts";

Deno.test("avgPoolColumns matches a column-by-column mean", () => {
  const rng = rngFor(41);
  for (let trial = 0; trial < 100; trial++) {
    const rows = randInt(rng, 1, 9), cols = randInt(rng, 1, 30);
    const T = trial % 2 === 0 ? Float64Array : Float32Array;
    const x_col = randomArray(rng, rows * cols, T);
    const counts = Array.from({ length: cols }, () => randInt(rng, 1, rows));
    const mean = avgPoolColumns(x_col, { rows, cols, counts });
    assertEquals(mean instanceof T, true);
    for (let p = 0; p < cols; p++) {
      let sum = 0;
      for (let r = 0; r < rows; r++) sum += x_col[r * cols + p]; // in float64, rows in order
      assertEquals(mean[p], T === Float64Array ? sum / counts[p] : Math.fround(sum / counts[p]));
    }
  }
});

Deno.test("avgPoolColumns refuses bad sizes and counts", () => {
  const x_col = new Float64Array(6);
  assertThrows(() => avgPoolColumns(x_col, { rows: 2, cols: 2, counts: [1, 1] }), RangeError);
  assertThrows(() => avgPoolColumns(x_col, { rows: 0, cols: 6, counts: [] }), RangeError);
  assertThrows(() => avgPoolColumns(x_col, { rows: 2, cols: 3, counts: [1, 1] }), RangeError);
  assertThrows(() => avgPoolColumns(x_col, { rows: 2, cols: 3, counts: [1, 0, 1] }), RangeError);
  assertThrows(
    () => avgPoolColumns([1, 2] as unknown as Float64Array, { rows: 1, cols: 2, counts: [1, 1] }),
    TypeError,
  );
});
