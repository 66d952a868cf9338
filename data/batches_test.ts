import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertThrows,
} from "@std/assert";
import { firstImages, makeBatch, miniBatches, pixelStats, shuffledOrder } from "./batches.ts";
import { mulberry32 } from "../random.ts";
import { mnist } from "../tests/_mnist.ts";

Deno.test("pixelStats of the MNIST training set are the well-known 0.1307 and 0.3081", async () => {
  const { mean, std } = pixelStats(await mnist("train"));
  assertAlmostEquals(mean, 0.1307, 5e-5);
  assertAlmostEquals(std, 0.3081, 5e-5);
});

Deno.test("normalised MNIST batches have mean 0 and std 1 over the set", async () => {
  const train = firstImages(await mnist("train"), 5000);
  const norm = pixelStats(train);
  let s = 0, s2 = 0, n = 0;
  for (const { x } of miniBatches(train, { batchSize: 1000, norm })) {
    for (const v of x.data) {
      s += v;
      s2 += v * v;
      n++;
    }
  }
  assertEquals(n, 5000 * 784);
  assertAlmostEquals(s / n, 0, 1e-6); // float32 rounding of each value only
  assertAlmostEquals(s2 / n, 1, 1e-5);
});

Deno.test("shuffledOrder is a permutation, reproducible from the seed, new each epoch", () => {
  const rng = mulberry32(9);
  const a = shuffledOrder(1000, rng), b = shuffledOrder(1000, rng);
  assertEquals(Array.from(a).sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  assertNotEquals(a, b); // the second epoch gets another order
  const again = mulberry32(9);
  assertEquals(shuffledOrder(1000, again), a);
  assertEquals(shuffledOrder(1000, again), b);
  // every position is equally likely for an element: element 0 lands in each half about equally
  const r = mulberry32(1);
  let front = 0;
  for (let t = 0; t < 2000; t++) if (shuffledOrder(10, r).indexOf(0) < 5) front++;
  assert(Math.abs(front - 1000) < 120, `element 0 in the front half ${front} of 2000 times`); // 5.4σ
  assertEquals(shuffledOrder(0, r).length, 0);
  assertThrows(() => shuffledOrder(-1, r), RangeError, "non-negative integer");
});

Deno.test("miniBatches visits every image exactly once per epoch, with the right labels", () => {
  const count = 103;
  const set = {
    images: Uint8Array.from({ length: count * 4 }, (_, i) => (i >> 2) % 256),
    labels: Uint8Array.from({ length: count }, (_, i) => i % 10),
    count,
    height: 2,
    width: 2,
  };
  const norm = { mean: 0, std: 1 };
  const rng = mulberry32(4);
  for (let epoch = 0; epoch < 2; epoch++) {
    const seen = new Array(count).fill(0);
    const sizes: number[] = [];
    for (const { x, labels } of miniBatches(set, { batchSize: 10, norm, rng })) {
      sizes.push(labels.length);
      for (let b = 0; b < labels.length; b++) {
        const i = Math.round(x.data[b * 4] * 255); // pixel value = image index
        seen[i]++;
        assertEquals(labels[b], i % 10);
      }
    }
    assertEquals(sizes, [10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 3]);
    assert(seen.every((c) => c === 1));
  }
  assertThrows(() => miniBatches(set, { batchSize: 0, norm }).next(), RangeError, "batchSize");
});

Deno.test("makeBatch and firstImages check their arguments", () => {
  const set = {
    images: new Uint8Array(8),
    labels: new Uint8Array(2),
    count: 2,
    height: 2,
    width: 2,
  };
  const norm = { mean: 0, std: 1 };
  assertThrows(() => makeBatch(set, [2], { norm }), RangeError, "indices[0] = 2 is not an image");
  assertThrows(() => makeBatch(set, [], { norm }), RangeError, "indices is empty");
  assertThrows(() => makeBatch(set, [0], { norm: { mean: 0, std: 0 } }), RangeError, "norm.std");
  assertThrows(() => firstImages(set, 0), RangeError, "positive integer");
  assertThrows(
    () => pixelStats({ ...set, images: new Uint8Array(8).fill(3) }),
    RangeError,
    "standard deviation is 0",
  );
});
