import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { BOX, FIELD, resampleArea, toMnist } from "./_digit.ts";

function centreOfMass(img: Uint8Array): [number, number] {
  let m = 0, mr = 0, mc = 0;
  for (let i = 0; i < img.length; i++) {
    m += img[i];
    mr += img[i] * Math.floor(i / FIELD);
    mc += img[i] * (i % FIELD);
  }
  return [mr / m, mc / m];
}

function inkBox(img: Uint8Array): { rows: number; cols: number } {
  const rows = new Set<number>(), cols = new Set<number>();
  img.forEach((v, i) => {
    if (v > 0) {
      rows.add(Math.floor(i / FIELD));
      cols.add(i % FIELD);
    }
  });
  return { rows: rows.size, cols: cols.size };
}

Deno.test("resampleArea keeps the mean and averages 2×2 blocks when halving", () => {
  const src = Float64Array.from({ length: 16 }, (_, i) => i);
  const out = resampleArea(src, 4, 4, 2, 2);
  // block means: (0+1+4+5)/4, (2+3+6+7)/4, ...
  assertEquals(Array.from(out), [2.5, 4.5, 10.5, 12.5]);
  // a non-integer ratio: 3 -> 2 pixels, each output covers 1.5 inputs
  const row = resampleArea(Float64Array.from([3, 6, 9]), 3, 1, 2, 1);
  assertAlmostEquals(row[0], (3 + 6 * 0.5) / 1.5, 1e-12);
  assertAlmostEquals(row[1], (6 * 0.5 + 9) / 1.5, 1e-12);
});

Deno.test("toMnist: a tall bar off to one side becomes 20 pixels tall and is centred", () => {
  const W = 280, H = 280;
  const ink = new Float64Array(W * H);
  // a solid bar 40 wide, 200 tall, in the top-left part of the drawing
  for (let r = 10; r < 210; r++) for (let c = 20; c < 60; c++) ink[r * W + c] = 1;
  const img = toMnist(ink, W, H);
  assertEquals(img.length, FIELD * FIELD);
  const box = inkBox(img);
  assertEquals(box.rows, BOX); // the longer side: 200 -> 20
  assertEquals(box.cols, 4); // aspect ratio kept: 40 -> 4
  const [r, c] = centreOfMass(img);
  // translated by whole pixels: the centre of mass is within half a pixel of the field's centre
  assertAlmostEquals(r, 13.5, 0.5);
  assertAlmostEquals(c, 13.5, 0.5);
  assertEquals(Math.max(...img), 255); // full ink stays full
});

Deno.test("toMnist: grey edges from area averaging; empty drawing gives zeros", () => {
  const W = 30, H = 30;
  const ink = new Float64Array(W * H);
  // 30 tall, 15 wide: scaled by 2/3 (rows 30 -> 20, columns 15 -> 10), so each output column
  // covers 1.5 input columns; full ink in column 0, grey 0.2 in the others
  for (let r = 0; r < 30; r++) for (let c = 0; c < 15; c++) ink[r * W + c] = c < 1 ? 1 : 0.2;
  const img = toMnist(ink, W, H);
  const values = new Set(img);
  // output column 0 covers input 0 and half of input 1: (1 + 0.5·0.2)/1.5 = 0.7333 -> 187
  assertEquals(values.has(187), true);
  assertEquals(values.has(51), true); // the rest: 0.2 -> 51
  assertEquals(values.size, 3); // with the background's 0
  assertEquals(Array.from(toMnist(new Float64Array(16), 4, 4)).every((v) => v === 0), true);
  assertThrows(() => toMnist(new Float64Array(3), 2, 2), RangeError, "toMnist: ink holds 3");
});
