/**
 * The IDX format, in which MNIST ships: a 4-byte magic number (two zero bytes, a type code, the
 * number of dimensions), one big-endian uint32 per dimension, then the elements in row-major order
 * (big-endian when wider than a byte). Parsed from bytes, so it runs anywhere; reading the file is
 * the caller's business.
 *
 * @module
 */

/** The element types IDX defines, by the name of the JavaScript array that holds them. */
export type IdxType = "uint8" | "int8" | "int16" | "int32" | "float32" | "float64";

/** A parsed IDX file: its element type, its dimensions and its elements, row-major. */
export interface IdxArray {
  /** The element type, from the third byte of the magic number. */
  readonly type: IdxType;
  /** The dimensions, outermost first (MNIST images: [count, 28, 28]; labels: [count]). */
  readonly shape: readonly number[];
  /** The elements, row-major, converted from big-endian to the platform's order. */
  readonly data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

/** A set of grey-scale images with one class label each, as MNIST is. */
export interface LabelledImages {
  /** Pixels [count, height, width], 0 (background) to 255 (ink), row-major. */
  readonly images: Uint8Array;
  /** Class labels [count]. */
  readonly labels: Uint8Array;
  /** Number of images. */
  readonly count: number;
  /** Image height in pixels. */
  readonly height: number;
  /** Image width in pixels. */
  readonly width: number;
}

// type code -> [name, bytes per element]
const TYPES: ReadonlyMap<number, [IdxType, number]> = new Map([
  [0x08, ["uint8", 1]],
  [0x09, ["int8", 1]],
  [0x0b, ["int16", 2]],
  [0x0c, ["int32", 4]],
  [0x0d, ["float32", 4]],
  [0x0e, ["float64", 8]],
]);

function hex(b: number): string {
  return `0x${b.toString(16).padStart(2, "0")}`;
}

/**
 * Parses an IDX file.
 *
 * @param bytes The whole file.
 * @param name What to call the file in error messages (default "IDX data").
 * @returns The element type, shape and elements. uint8 data is a view of `bytes` (no copy);
 *   wider types are converted from big-endian into a new array.
 * @throws {TypeError} If `bytes` is not a Uint8Array.
 * @throws {RangeError} If the magic number is wrong (first two bytes not zero, an unknown type
 *   code, no dimensions), a dimension is zero, the file is shorter than its header says
 *   (truncated), or longer (trailing bytes).
 *
 * @example A 2×3 uint8 array, and a truncated copy of it
 * ```ts
 * import { parseIdx } from "./idx.ts";
 * import { assertEquals, assertThrows } from "@std/assert";
 * const bytes = new Uint8Array([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]);
 * const a = parseIdx(bytes);
 * assertEquals(a.type, "uint8");
 * assertEquals(a.shape, [2, 3]);
 * assertEquals(Array.from(a.data), [1, 2, 3, 4, 5, 6]);
 * assertThrows(() => parseIdx(bytes.subarray(0, 17), "x.idx"), RangeError, "x.idx is truncated");
 * ```
 */
export function parseIdx(bytes: Uint8Array, name = "IDX data"): IdxArray {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`parseIdx: bytes must be a Uint8Array, got ${typeof bytes}`);
  }
  if (bytes.length < 4) {
    throw new RangeError(
      `parseIdx: ${name} is truncated: ${bytes.length} bytes, shorter than the 4-byte magic number`,
    );
  }
  const magic = Array.from(bytes.subarray(0, 4), hex).join(" ");
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new RangeError(
      `parseIdx: ${name} has a wrong magic number ${magic}: an IDX file starts with two zero bytes`,
    );
  }
  const type = TYPES.get(bytes[2]);
  if (type === undefined) {
    throw new RangeError(
      `parseIdx: ${name} has a wrong magic number ${magic}: unknown type code ${hex(bytes[2])} ` +
        `(IDX knows 0x08 uint8, 0x09 int8, 0x0b int16, 0x0c int32, 0x0d float32, 0x0e float64)`,
    );
  }
  const rank = bytes[3];
  if (rank === 0) {
    throw new RangeError(`parseIdx: ${name} has a wrong magic number ${magic}: zero dimensions`);
  }
  const headerLength = 4 + 4 * rank;
  if (bytes.length < headerLength) {
    throw new RangeError(
      `parseIdx: ${name} is truncated: ${bytes.length} bytes, but its ${rank} dimensions need a ` +
        `${headerLength}-byte header`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let count = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    if (d === 0) {
      throw new RangeError(`parseIdx: ${name} has a zero size in dimension ${i}`);
    }
    shape.push(d);
    count *= d;
  }
  const [typeName, width] = type;
  const expected = headerLength + count * width;
  const dims = `[${shape.join(",")}] ${typeName}`;
  if (bytes.length < expected) {
    throw new RangeError(
      `parseIdx: ${name} is truncated: ${bytes.length} bytes, but its header (${dims}) says ` +
        `${expected}`,
    );
  }
  if (bytes.length > expected) {
    throw new RangeError(
      `parseIdx: ${name} has ${
        bytes.length - expected
      } bytes after the data: its header (${dims}) ` +
        `says ${expected} bytes in all`,
    );
  }
  const o = headerLength;
  let data: IdxArray["data"];
  switch (typeName) {
    case "uint8":
      data = bytes.subarray(o, expected);
      break;
    case "int8":
      data = new Int8Array(bytes.buffer, bytes.byteOffset + o, count).slice();
      break;
    case "int16":
      data = new Int16Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt16(o + 2 * i, false);
      break;
    case "int32":
      data = new Int32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt32(o + 4 * i, false);
      break;
    case "float32":
      data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(o + 4 * i, false);
      break;
    case "float64":
      data = new Float64Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat64(o + 8 * i, false);
      break;
  }
  return { type: typeName, shape, data };
}

/**
 * Parses a pair of IDX files, images and labels, as MNIST ships them
 * (`train-images-idx3-ubyte` with `train-labels-idx1-ubyte`, and the `t10k-` pair).
 *
 * @param imageBytes The images file: uint8, [count, height, width].
 * @param labelBytes The labels file: uint8, [count], each label below `opts.classes`.
 * @param opts `classes` (default 10): labels must lie in [0, classes); `names` for the two files
 *   in error messages.
 * @returns The images and labels (views of the input bytes, not copies).
 * @throws {RangeError} As {@link parseIdx}; or if the images are not a uint8 [count, height,
 *   width] array, the labels not a uint8 [count] array, their counts differ, or a label is out
 *   of range.
 *
 * @example Two 2×2 images and their labels
 * ```ts
 * import { parseLabelledImages } from "./idx.ts";
 * import { assertEquals, assertThrows } from "@std/assert";
 * const images = new Uint8Array([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 9, 9, 0, 255, 0, 0, 255]);
 * const labels = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 7, 3]);
 * const set = parseLabelledImages(images, labels);
 * assertEquals([set.count, set.height, set.width], [2, 2, 2]);
 * assertEquals(Array.from(set.labels), [7, 3]);
 * const oneLabel = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 1, 7]);
 * assertThrows(() => parseLabelledImages(images, oneLabel), RangeError, "has 2 images but the labels file has 1 labels");
 * ```
 */
export function parseLabelledImages(
  imageBytes: Uint8Array,
  labelBytes: Uint8Array,
  opts: { classes?: number; names?: [string, string] } = {},
): LabelledImages {
  const fn = "parseLabelledImages";
  const [imageName, labelName] = opts.names ?? ["the images file", "the labels file"];
  const classes = opts.classes ?? 10;
  const images = parseIdx(imageBytes, imageName);
  const labels = parseIdx(labelBytes, labelName);
  if (images.type !== "uint8" || images.shape.length !== 3) {
    throw new RangeError(
      `${fn}: ${imageName} holds ${images.type} [${images.shape.join(",")}], expected uint8 ` +
        `[count, height, width] images`,
    );
  }
  if (labels.type !== "uint8" || labels.shape.length !== 1) {
    throw new RangeError(
      `${fn}: ${labelName} holds ${labels.type} [${labels.shape.join(",")}], expected uint8 ` +
        `[count] labels`,
    );
  }
  const [count, height, width] = images.shape;
  if (labels.shape[0] !== count) {
    throw new RangeError(
      `${fn}: ${imageName} has ${count} images but ${labelName} has ${labels.shape[0]} labels`,
    );
  }
  const l = labels.data as Uint8Array;
  for (let i = 0; i < count; i++) {
    if (l[i] >= classes) {
      throw new RangeError(
        `${fn}: ${labelName}: label ${i} is ${l[i]}, not a class in [0, ${classes})`,
      );
    }
  }
  return { images: images.data as Uint8Array, labels: l, count, height, width };
}
