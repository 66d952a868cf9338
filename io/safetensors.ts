/**
 * The safetensors format (Hugging Face), which PyTorch, JAX and others load: an 8-byte
 * little-endian unsigned length N, N bytes of UTF-8 JSON describing each tensor
 * (`{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...}`, plus an
 * optional `"__metadata__"` map of strings), then the raw little-endian elements, back to back.
 * Encoded and decoded from bytes, so it runs anywhere; writing the file is the caller's business.
 * The element types are F32, F64 and I64 (int64, as PyTorch stores a count such as batch
 * normalisation's `num_batches_tracked`: a scalar, shape []), each little-endian.
 *
 * Decoding checks everything the format allows to check (the reference implementation's rules:
 * the offsets tile the data exactly, each tensor's byte length matches its shape and dtype) and,
 * when the file carries the `convprop.crc32` that {@link encodeSafetensors} writes into the
 * metadata, a CRC-32 of the header and the data, so a flipped bit anywhere (a weight, a shape, a
 * metadata string) is refused too. Other readers ignore the extra metadata entry.
 *
 * @module
 */

import type { FloatArray, Int64Tensor, Tensor } from "../tensor.ts";

/** The element types convprop reads and writes: float32 ("F32"), float64 ("F64"), and int64
 * ("I64", PyTorch's `torch.int64`, which a count such as `num_batches_tracked` is). */
export type SafetensorsDtype = "F32" | "F64" | "I64";

/** A decoded safetensors file. */
export interface SafetensorsFile {
  /** The float tensors (F32, F64) by name, in the order of their data in the file. */
  readonly tensors: Map<string, Tensor>;
  /** The int64 tensors (I64, BigInt64Array data, every value exact) by name, in the order of
   * their data in the file; empty for a file of floats only. A name is in one map or the other. */
  readonly int64: Map<string, Int64Tensor>;
  /** The `__metadata__` strings (empty when absent). */
  readonly metadata: Record<string, string>;
}

/** Options of {@link encodeSafetensors}. */
export interface EncodeSafetensorsOptions {
  /** Strings stored in `__metadata__` (a `convprop.crc32` checksum entry is added). */
  metadata?: Record<string, string>;
}

/**
 * The metadata key of the checksum {@link encodeSafetensors} adds: 8 lowercase hex digits, the
 * CRC-32 of the header JSON written without this entry, followed by the data.
 *
 * @example
 * ```ts
 * import { CRC32_KEY, decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
 * import { assertMatch } from "@std/assert";
 * const bytes = encodeSafetensors({ w: { shape: [2], data: new Float32Array([1, 2]) } });
 * assertMatch(decodeSafetensors(bytes).metadata[CRC32_KEY], /^[0-9a-f]{8}$/);
 * ```
 */
export const CRC32_KEY = "convprop.crc32";

/** Options of {@link decodeSafetensors}. */
export interface DecodeSafetensorsOptions {
  /** What to call the file in error messages (default "safetensors data"). */
  name?: string;
  /** Refuse a file without the `convprop.crc32` checksum (default false: accept other writers'). */
  requireChecksum?: boolean;
}

// The reference implementation refuses headers above 100 MB; so do we.
const MAX_HEADER = 100_000_000;

let crcTable: Uint32Array | undefined;

/**
 * CRC-32 (IEEE 802.3, the checksum of zip, gzip and PNG) of some bytes.
 *
 * @param bytes The data.
 * @param previous The CRC-32 of the bytes before these, to checksum a sequence piece by piece
 *   (default: none, this is the start).
 * @returns The checksum as an unsigned 32-bit integer.
 *
 * @example The standard check value
 * ```ts
 * import { crc32 } from "./safetensors.ts";
 * import { assertEquals } from "@std/assert";
 * const bytes = new TextEncoder().encode("123456789");
 * assertEquals(crc32(bytes), 0xcbf43926);
 * assertEquals(crc32(bytes.subarray(4), crc32(bytes.subarray(0, 4))), 0xcbf43926); // in pieces
 * ```
 */
export function crc32(bytes: Uint8Array, previous = 0): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

/**
 * Encodes tensors as a safetensors file. Float32Array data is written as F32, Float64Array as
 * F64 and BigInt64Array as I64 (exactly: every int64 value is a bigint, so none is rounded),
 * little-endian on every platform; the header is padded with spaces to a multiple of 8 bytes
 * (as the reference implementation does) so the data starts aligned.
 *
 * @param tensors The tensors by name, written in this order (a Map, or a plain object).
 * @param opts Metadata strings; the `convprop.crc32` checksum is added to them.
 * @returns The file's bytes.
 * @throws {TypeError} If a tensor's data is not a Float32Array or Float64Array, or a metadata
 *   value is not a string.
 * @throws {RangeError} If a name is empty or `__metadata__`, a tensor's data does not fit its
 *   shape, or the metadata already has a `convprop.crc32` entry.
 *
 * @example A round trip is exact
 * ```ts
 * import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
 * import { assertEquals } from "@std/assert";
 * const w = { shape: [2, 2], data: new Float32Array([1, -2.5, Math.PI, 1e-30]) };
 * const bytes = encodeSafetensors({ w }, { metadata: { format: "pt" } });
 * const header = Number(new DataView(bytes.buffer).getBigUint64(0, true));
 * assertEquals(bytes.length, 8 + header + 16); // 8-byte length, JSON, 4 float32
 * const file = decodeSafetensors(bytes);
 * assertEquals(file.tensors.get("w"), w);
 * assertEquals(file.metadata.format, "pt");
 * ```
 *
 * @example An int64 scalar, as PyTorch's num_batches_tracked: exact, the full range
 * ```ts
 * import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
 * import { assertEquals } from "@std/assert";
 * const count = { shape: [], data: new BigInt64Array([2n ** 63n - 1n]) };
 * const file = decodeSafetensors(encodeSafetensors({ "1.num_batches_tracked": count }));
 * assertEquals(file.int64.get("1.num_batches_tracked"), count);
 * assertEquals(file.tensors.size, 0); // the float tensors are elsewhere
 * ```
 */
export function encodeSafetensors(
  tensors: Map<string, Tensor | Int64Tensor> | Record<string, Tensor | Int64Tensor>,
  opts: EncodeSafetensorsOptions = {},
): Uint8Array {
  const fn = "encodeSafetensors";
  if (typeof tensors !== "object" || tensors === null) {
    throw new TypeError(`${fn}: tensors must be a Map or an object of tensors, got ${tensors}`);
  }
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === "" || name === "__metadata__") {
      throw new RangeError(`${fn}: "${name}" cannot name a tensor`);
    }
    let dtype: SafetensorsDtype;
    if (t.data instanceof Float32Array) dtype = "F32";
    else if (t.data instanceof Float64Array) dtype = "F64";
    else if (t.data instanceof BigInt64Array) dtype = "I64";
    else {
      throw new TypeError(
        `${fn}: tensor "${name}" must hold a Float32Array or Float64Array (F32, F64), or a ` +
          `BigInt64Array (I64)`,
      );
    }
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (t.shape.some((s) => !Number.isInteger(s) || s < 0) || size !== t.data.length) {
      throw new RangeError(
        `${fn}: tensor "${name}" has ${t.data.length} elements but shape [${t.shape.join(",")}]`,
      );
    }
    const bytes = t.data.byteLength;
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const data = new Uint8Array(offset);
  const view = new DataView(data.buffer);
  let o = 0;
  for (const [, t] of entries) {
    if (t.data instanceof Float32Array) {
      for (let i = 0; i < t.data.length; i++, o += 4) view.setFloat32(o, t.data[i], true);
    } else if (t.data instanceof BigInt64Array) {
      for (let i = 0; i < t.data.length; i++, o += 8) view.setBigInt64(o, t.data[i], true);
    } else {
      for (let i = 0; i < t.data.length; i++, o += 8) view.setFloat64(o, t.data[i], true);
    }
  }
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.metadata ?? {})) {
    if (typeof v !== "string") {
      throw new TypeError(`${fn}: metadata "${k}" must be a string, got ${typeof v}`);
    }
    metadata[k] = v;
  }
  if (CRC32_KEY in metadata) {
    throw new RangeError(`${fn}: metadata "${CRC32_KEY}" is written by encodeSafetensors itself`);
  }
  // the checksum covers the header as written without it, then the data
  const unsigned = new TextEncoder().encode(JSON.stringify({ __metadata__: metadata, ...header }));
  metadata[CRC32_KEY] = hex8(crc32(data, crc32(unsigned)));
  const json = new TextEncoder().encode(JSON.stringify({ __metadata__: metadata, ...header }));
  const n = Math.ceil((8 + json.length) / 8) * 8 - 8;
  const out = new Uint8Array(8 + n + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.fill(0x20, 8, 8 + n); // space padding after the JSON
  out.set(json, 8);
  out.set(data, 8 + n);
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The first key that appears twice in one object of a valid JSON text, or null. */
function duplicateKey(text: string): string | null {
  const objects: (Set<string> | null)[] = []; // one entry per open object (a set) or array (null)
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const keys = objects[objects.length - 1];
      if (expectKey && keys) {
        const key = JSON.parse(text.slice(i, j + 1)) as string; // "a" and "\u0061" are one key
        if (keys.has(key)) return key;
        keys.add(key);
      }
      expectKey = false;
      i = j;
    } else if (c === "{") {
      objects.push(new Set());
      expectKey = true;
    } else if (c === "[") {
      objects.push(null);
    } else if (c === "}" || c === "]") {
      objects.pop();
    } else if (c === ",") {
      expectKey = objects[objects.length - 1] instanceof Set;
    }
  }
  return null;
}

/**
 * Decodes a safetensors file holding F32, F64 and I64 tensors, checking its structure and (when the
 * metadata has one, or always with `requireChecksum`) the CRC-32 of its header and data. The
 * tensors are copies: the bytes may be reused.
 *
 * @param bytes The whole file.
 * @param opts The file's name for error messages; whether the checksum is required.
 * @returns The float tensors by name (Float32Array for F32, Float64Array for F64), the int64
 *   ones (BigInt64Array for I64, every value exact) and the metadata.
 * @throws {TypeError} If `bytes` is not a Uint8Array.
 * @throws {RangeError} If the file is truncated (shorter than its header length, its header, or
 *   its data), its header is not UTF-8 JSON of the safetensors form, a dtype is not F32, F64 or I64, a
 *   tensor's byte range does not match its shape, the ranges do not tile the data exactly, bytes
 *   follow the data, a key appears twice in one object, or the CRC-32 differs from the one
 *   recorded (or is missing but required).
 *
 * @example A truncated file and a flipped bit are refused
 * ```ts
 * import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
 * import { assertThrows } from "@std/assert";
 * const bytes = encodeSafetensors({ b: { shape: [3], data: new Float32Array([1, 2, 3]) } });
 * assertThrows(() => decodeSafetensors(bytes.subarray(0, bytes.length - 1)), RangeError, "truncated");
 * const flipped = bytes.slice();
 * flipped[flipped.length - 1] ^= 1;
 * assertThrows(() => decodeSafetensors(flipped), RangeError, "CRC-32");
 * ```
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  opts: DecodeSafetensorsOptions = {},
): SafetensorsFile {
  const fn = "decodeSafetensors";
  const name = opts.name ?? "safetensors data";
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`${fn}: bytes must be a Uint8Array, got ${typeof bytes}`);
  }
  const where = `${fn}: ${name}`;
  if (bytes.length < 8) {
    throw new RangeError(
      `${where} is truncated: ${bytes.length} bytes, shorter than the 8-byte header length`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER)) {
    throw new RangeError(
      `${where}: the header length is ${n64} bytes (above the 100 MB limit): not a safetensors file`,
    );
  }
  const n = Number(n64);
  if (8 + n > bytes.length) {
    throw new RangeError(
      `${where} is truncated: its header length says ${n} bytes but only ${
        bytes.length - 8
      } follow`,
    );
  }
  let header: unknown, text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n));
    if (!text.startsWith("{")) throw new Error("it does not start with '{'");
    header = JSON.parse(text);
  } catch (e) {
    throw new RangeError(
      `${where}: the header is not valid UTF-8 JSON (${(e as Error).message}): corrupted, or not ` +
        `a safetensors file`,
    );
  }
  // JSON.parse keeps the last of two equal keys, and the checksum covers the header as parsed:
  // a duplicate would pass unseen
  const dup = duplicateKey(text);
  if (dup !== null) {
    throw new RangeError(
      `${where}: the header has the key ${JSON.stringify(dup)} twice: corrupted`,
    );
  }
  if (!isObject(header)) throw new RangeError(`${where}: the header is not a JSON object`);
  const metadata: Record<string, string> = {};
  const rawMeta = header.__metadata__;
  if (rawMeta !== undefined) {
    if (!isObject(rawMeta)) throw new RangeError(`${where}: __metadata__ is not an object`);
    for (const [k, v] of Object.entries(rawMeta)) {
      if (typeof v !== "string") {
        throw new RangeError(`${where}: __metadata__ "${k}" is not a string`);
      }
      metadata[k] = v;
    }
  }
  const dataLength = bytes.length - 8 - n;
  const specs: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number }[] = [];
  const ranges: [number, number, string][] = [];
  for (const [tname, entry] of Object.entries(header)) {
    if (tname === "__metadata__") continue;
    const what = `${where}: tensor "${tname}"`;
    if (!isObject(entry)) throw new RangeError(`${what} is not described by an object`);
    const { dtype, shape, data_offsets: offs } = entry;
    if (dtype !== "F32" && dtype !== "F64" && dtype !== "I64") {
      throw new RangeError(
        `${what} has dtype ${JSON.stringify(dtype)}; convprop reads F32, F64 and I64`,
      );
    }
    if (
      !Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0)
    ) {
      throw new RangeError(`${what} has shape ${JSON.stringify(shape)}, not a list of sizes`);
    }
    if (
      !Array.isArray(offs) || offs.length !== 2 ||
      !offs.every((s) => Number.isSafeInteger(s) && s >= 0) || offs[0] > offs[1]
    ) {
      throw new RangeError(`${what} has data_offsets ${JSON.stringify(offs)}, not [begin, end]`);
    }
    const width = dtype === "F32" ? 4 : 8;
    const count = shape.reduce((a: number, b: number) => a * b, 1);
    if (offs[1] - offs[0] !== count * width) {
      throw new RangeError(
        `${what}: shape [${shape.join(",")}] ${dtype} needs ${count * width} bytes but ` +
          `data_offsets [${offs.join(",")}] hold ${offs[1] - offs[0]}`,
      );
    }
    specs.push({ name: tname, dtype, shape, begin: offs[0] });
    ranges.push([offs[0], offs[1], tname]);
  }
  // The ranges must tile [0, dataLength) exactly: no gaps, no overlaps, nothing after.
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let end = 0;
  for (const [b, e, tname] of ranges) {
    if (b !== end) {
      throw new RangeError(
        `${where}: tensor "${tname}" starts at byte ${b} of the data, expected ${end} ` +
          `(the tensors must tile the data without gaps or overlaps)`,
      );
    }
    end = e;
  }
  if (dataLength < end) {
    throw new RangeError(
      `${where} is truncated: its tensors need ${end} bytes of data but only ${dataLength} follow ` +
        `the header`,
    );
  }
  if (dataLength > end) {
    throw new RangeError(
      `${where}: ${dataLength - end} bytes follow the last tensor's data: corrupted`,
    );
  }
  const data = bytes.subarray(8 + n);
  const recorded = metadata[CRC32_KEY];
  if (recorded === undefined && opts.requireChecksum) {
    throw new RangeError(`${where} has no "${CRC32_KEY}" checksum in its metadata: corrupted`);
  }
  if (recorded !== undefined) {
    // the header as encodeSafetensors wrote it before adding the checksum
    const unsignedMeta = { ...(header.__metadata__ as Record<string, string>) };
    delete unsignedMeta[CRC32_KEY];
    const unsigned = new TextEncoder().encode(
      JSON.stringify({ ...header, __metadata__: unsignedMeta }),
    );
    const actual = hex8(crc32(data, crc32(unsigned)));
    if (recorded !== actual) {
      throw new RangeError(
        `${where}: its CRC-32 is ${actual} but the file records ${recorded}: corrupted`,
      );
    }
  }
  const dataView = new DataView(data.buffer, data.byteOffset, data.byteLength);
  specs.sort((a, b) => a.begin - b.begin);
  const tensors = new Map<string, Tensor>(), int64 = new Map<string, Int64Tensor>();
  for (const s of specs) {
    const count = s.shape.reduce((a, b) => a * b, 1);
    if (s.dtype === "I64") {
      const ints = new BigInt64Array(count);
      for (let i = 0; i < count; i++) ints[i] = dataView.getBigInt64(s.begin + 8 * i, true);
      int64.set(s.name, { shape: s.shape, data: ints });
      continue;
    }
    let arr: FloatArray;
    if (s.dtype === "F32") {
      arr = new Float32Array(count);
      for (let i = 0; i < count; i++) arr[i] = dataView.getFloat32(s.begin + 4 * i, true);
    } else {
      arr = new Float64Array(count);
      for (let i = 0; i < count; i++) arr[i] = dataView.getFloat64(s.begin + 8 * i, true);
    }
    tensors.set(s.name, { shape: s.shape, data: arr });
  }
  return { tensors, int64, metadata };
}
