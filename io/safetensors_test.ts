import { assert, assertEquals, assertThrows } from "@std/assert";
import { crc32, decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
import type { Int64Tensor, Tensor } from "../tensor.ts";

function bitsEqual(a: Tensor, b: Tensor): boolean {
  if (a.data.constructor !== b.data.constructor || a.shape.join() !== b.shape.join()) return false;
  const x = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const y = new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** A file assembled by hand from the format's definition, as another writer might produce it. */
function handMade(header: unknown, data: number[]): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

Deno.test("safetensors round trip is bit-exact for F32 and F64, special values included", () => {
  const f32 = new Float32Array([
    0,
    -0,
    1.5,
    -3.25e-38,
    1e-45,
    3.4028234e38,
    Infinity,
    -Infinity,
    NaN,
  ]);
  const f64 = new Float64Array([Math.PI, -0, 5e-324, Number.MAX_VALUE, NaN, -1 / 3]);
  const tensors = new Map<string, Tensor>([
    ["conv.weight", { shape: [3, 1, 3], data: f32 }],
    ["z", { shape: [2, 3], data: f64 }],
    ["empty", { shape: [0, 4], data: new Float32Array(0) }],
    ["scalar", { shape: [], data: new Float64Array([42]) }],
  ]);
  const bytes = encodeSafetensors(tensors, { metadata: { note: "ünïcode ✓" } });
  const file = decodeSafetensors(bytes);
  assertEquals([...file.tensors.keys()], [...tensors.keys()]);
  for (const [name, t] of tensors) assert(bitsEqual(file.tensors.get(name)!, t), name);
  assertEquals(file.metadata.note, "ünïcode ✓");
  // the header is padded so the data starts at a multiple of 8
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assertEquals((8 + n) % 8, 0);
  // encoding twice gives the same bytes
  assertEquals(encodeSafetensors(tensors, { metadata: { note: "ünïcode ✓" } }), bytes);
});

Deno.test("the layout is the format's: u64 LE header length, JSON, little-endian data", () => {
  const bytes = encodeSafetensors({ a: { shape: [2], data: new Float32Array([1, -2]) } });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  assertEquals(header.a, { dtype: "F32", shape: [2], data_offsets: [0, 8] });
  // 1.0f = 0x3f800000 and -2.0f = 0xc0000000, least significant byte first
  assertEquals(Array.from(bytes.subarray(8 + n)), [0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
  // the checksum: the header as it would be without it, then the data
  const meta = { ...header.__metadata__ };
  delete meta["convprop.crc32"];
  const unsigned = new TextEncoder().encode(JSON.stringify({ ...header, __metadata__: meta }));
  const expected = crc32(bytes.subarray(8 + n), crc32(unsigned));
  assertEquals(header.__metadata__["convprop.crc32"], expected.toString(16).padStart(8, "0"));
});

Deno.test("decodes a foreign file: no metadata, no padding, unaligned data, any key order", () => {
  const bytes = handMade(
    {
      b: { dtype: "F64", shape: [1], data_offsets: [4, 12] },
      a: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
    },
    [0, 0, 0x80, 0x3f, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f],
  );
  const file = decodeSafetensors(bytes);
  assertEquals([...file.tensors.keys()], ["a", "b"]); // in data order
  assertEquals(Array.from(file.tensors.get("a")!.data), [1]);
  assertEquals(Array.from(file.tensors.get("b")!.data), [1.5]);
  assert(file.tensors.get("b")!.data instanceof Float64Array);
  assertEquals(file.metadata, {});
});

Deno.test("every truncation of a file is refused as truncated", () => {
  const bytes = encodeSafetensors({
    w: { shape: [4, 3], data: new Float32Array(12).map((_, i) => i) },
    b: { shape: [4], data: new Float32Array(4) },
  });
  for (let n = 0; n < bytes.length; n++) {
    assertThrows(
      () => decodeSafetensors(bytes.subarray(0, n), { name: "m.st" }),
      RangeError,
      "m.st is truncated",
    );
  }
});

Deno.test("every single-bit flip after the length is refused (CRC-32, or the header breaks)", () => {
  const bytes = encodeSafetensors(
    { w: { shape: [8], data: new Float32Array(8).map((_, i) => i / 7) } },
    { metadata: { note: "x" } },
  );
  for (let i = 8; i < bytes.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const c = bytes.slice();
      c[i] ^= 1 << bit;
      // the one flip that escapes the checksum is its own key's: then it is not found, which
      // requireChecksum refuses (loadCheckpoint requires it for convprop's files)
      assertThrows(() => decodeSafetensors(c, { requireChecksum: true }), RangeError);
    }
  }
  const c = bytes.slice();
  c[bytes.length - 1] ^= 4;
  assertThrows(() => decodeSafetensors(c), RangeError, "CRC-32");
});

Deno.test("corrupted headers are refused with a clear reason", () => {
  const cases: [Uint8Array, string][] = [
    [handMade({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, [0, 0, 0]), "truncated"],
    [
      handMade({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, [0, 0, 0, 0, 9]),
      "1 bytes follow the last tensor",
    ],
    [
      handMade({ a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, new Array(8).fill(0)),
      "needs 12 bytes",
    ],
    [handMade({ a: { dtype: "BF16", shape: [1], data_offsets: [0, 2] } }, [0, 0]), 'dtype "BF16"'],
    [
      handMade({ a: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, [0, 0, 0, 0]),
      "not a list of sizes",
    ],
    [
      handMade({ a: { dtype: "F32", shape: [1], data_offsets: [4] } }, [0, 0, 0, 0]),
      "not [begin, end]",
    ],
    [
      handMade({ a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, new Array(8).fill(0)),
      "starts at byte 4",
    ],
    [
      handMade({
        a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
        b: { dtype: "F32", shape: [1], data_offsets: [4, 8] },
      }, new Array(8).fill(0)),
      "without gaps or overlaps",
    ],
    [
      handMade(
        { __metadata__: { n: 3 }, a: { dtype: "F32", shape: [0], data_offsets: [0, 0] } },
        [],
      ),
      '"n" is not a string',
    ],
    [handMade([1, 2], []), "does not start with"],
    [handMade({ a: 5 }, []), "not described by an object"],
    [
      handMade({
        __metadata__: { "convprop.crc32": "00000000" },
        a: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
      }, [1, 2, 3, 4]),
      "CRC-32",
    ],
  ];
  for (const [bytes, message] of cases) {
    assertThrows(() => decodeSafetensors(bytes), RangeError, message);
  }
  // not JSON at all, and not UTF-8
  const garbage = handMade({}, []);
  garbage.set(new TextEncoder().encode("{x"), 8);
  assertThrows(() => decodeSafetensors(garbage), RangeError, "not valid UTF-8 JSON");
  const latin1 = handMade({ ab: 1 }, []);
  latin1[10] = 0xff;
  assertThrows(() => decodeSafetensors(latin1), RangeError, "not valid UTF-8 JSON");
  // a header length beyond any sane size (a random or foreign file)
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 2n ** 63n, true);
  assertThrows(() => decodeSafetensors(huge), RangeError, "100 MB limit");
  assertThrows(() => decodeSafetensors("abc" as unknown as Uint8Array), TypeError, "Uint8Array");
  assertThrows(
    () => decodeSafetensors(handMade({}, []), { requireChecksum: true }),
    RangeError,
    'no "convprop.crc32" checksum',
  );
});

Deno.test("encodeSafetensors refuses what it cannot write", () => {
  assertThrows(
    () => encodeSafetensors({ a: { shape: [3], data: new Float32Array(2) } }),
    RangeError,
    "has 2 elements but shape [3]",
  );
  assertThrows(
    () => encodeSafetensors({ __metadata__: { shape: [1], data: new Float32Array(1) } }),
    RangeError,
    "cannot name a tensor",
  );
  assertThrows(
    () =>
      encodeSafetensors({ a: { shape: [1], data: new Int32Array(1) as unknown as Float32Array } }),
    TypeError,
    "Float32Array or Float64Array",
  );
  assertThrows(
    () => encodeSafetensors({}, { metadata: { n: 1 as unknown as string } }),
    TypeError,
    'metadata "n" must be a string',
  );
});

Deno.test("I64: int64 tensors round trip exactly, the full range, beside floats, in data order", () => {
  const big = new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n, 2n ** 53n + 1n, 7n]);
  const tensors = new Map<string, Tensor | Int64Tensor>([
    ["w", { shape: [2], data: new Float32Array([1.5, -2]) }],
    ["0.num_batches_tracked", { shape: [], data: new BigInt64Array([12345n]) }],
    ["ints", { shape: [2, 3], data: big }],
    ["v", { shape: [1], data: new Float64Array([Math.E]) }],
  ]);
  const bytes = encodeSafetensors(tensors);
  const file = decodeSafetensors(bytes, { requireChecksum: true });
  assertEquals([...file.tensors.keys()], ["w", "v"]);
  assertEquals([...file.int64.keys()], ["0.num_batches_tracked", "ints"]);
  assertEquals(file.int64.get("ints"), { shape: [2, 3], data: big });
  assertEquals(file.int64.get("0.num_batches_tracked")!.shape, []);
  assertEquals(file.int64.get("0.num_batches_tracked")!.data[0], 12345n);
  assert(bitsEqual(file.tensors.get("v")!, tensors.get("v") as Tensor));
  // the layout: dtype "I64", 8 bytes per value, little-endian two's complement
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  assertEquals(header["0.num_batches_tracked"], { dtype: "I64", shape: [], data_offsets: [8, 16] });
  assertEquals(Array.from(bytes.subarray(8 + n + 8, 8 + n + 16)), [0x39, 0x30, 0, 0, 0, 0, 0, 0]);
  assertEquals(Array.from(bytes.subarray(8 + n + 16, 8 + n + 24)), [0, 0, 0, 0, 0, 0, 0, 0x80]);
  assertEquals(encodeSafetensors(tensors), bytes); // deterministic
});

Deno.test("I64: a foreign file decodes; a wrong byte length, another integer type or array is refused", () => {
  // as PyTorch's safetensors writer stores a BatchNorm2d's count: no metadata, no padding
  const foreign = handMade({ n: { dtype: "I64", shape: [], data_offsets: [0, 8] } }, [
    3,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
  assertEquals(decodeSafetensors(foreign).int64.get("n")!.data[0], 3n);
  assertThrows(
    () =>
      decodeSafetensors(
        handMade({ n: { dtype: "I64", shape: [], data_offsets: [0, 4] } }, [3, 0, 0, 0]),
      ),
    RangeError,
    "shape [] I64 needs 8 bytes",
  );
  assertThrows(
    () =>
      decodeSafetensors(
        handMade({ n: { dtype: "I32", shape: [], data_offsets: [0, 4] } }, [3, 0, 0, 0]),
      ),
    RangeError,
    "convprop reads F32, F64 and I64",
  );
  assertThrows(
    () => encodeSafetensors({ n: { shape: [2], data: new BigInt64Array(1) } }),
    RangeError,
    "has 1 elements but shape [2]",
  );
  assertThrows(
    () => encodeSafetensors({ n: { shape: [], data: new BigUint64Array(1) as never } }),
    TypeError,
    "BigInt64Array (I64)",
  );
});
