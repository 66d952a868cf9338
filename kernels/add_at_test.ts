import { assertEquals, assertThrows } from "@std/assert";
import { addAt } from "./add_at.ts";
import { randInt, rngFor } from "../tests/_random.ts";

Deno.test("addAt accumulates repeats, skips negatives, matches a reference", () => {
  const rng = rngFor(3);
  for (let trial = 0; trial < 100; trial++) {
    const size = randInt(rng, 1, 20), n = randInt(rng, 0, 60);
    const indices = Array.from({ length: n }, () => randInt(rng, -2, size - 1));
    const values = Array.from({ length: n }, () => randInt(rng, -5, 5)); // integers: sums exact
    const target = new Float64Array(size).fill(1);
    const ref = new Float64Array(size).fill(1);
    for (let t = 0; t < n; t++) if (indices[t] >= 0) ref[indices[t]] += values[t];
    addAt(target, Int32Array.from(indices), values);
    assertEquals(target, ref);
  }
});

Deno.test("addAt on Float32Array keeps float32", () => {
  const t = new Float32Array(2);
  addAt(t, [1, 1, 1], [0.1, 0.1, 0.1]);
  assertEquals(
    t[1],
    Math.fround(Math.fround(Math.fround(0.1) + Math.fround(0.1)) + Math.fround(0.1)),
  );
});

Deno.test("addAt rejects bad input before writing anything", () => {
  const target = new Float64Array([1, 2, 3]);
  assertThrows(
    () => addAt(target, [0, 1, 3], [1, 1, 1]),
    RangeError,
    "indices[2] = 3 is out of range",
  );
  assertThrows(() => addAt(target, [0, 1.5], [1, 1]), RangeError, "not an integer");
  assertThrows(
    () => addAt(target, [0, 1], [1]),
    RangeError,
    "indices has 2 entries but values has 1",
  );
  assertThrows(() => addAt([0, 0] as unknown as Float64Array, [0], [1]), TypeError, "target");
  assertEquals(Array.from(target), [1, 2, 3]); // untouched by the failed calls
});
