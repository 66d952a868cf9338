import { assert, assertEquals, assertThrows } from "@std/assert";
import { encodeCheckpoint, loadCheckpoint, restoreCheckpoint } from "./checkpoint.ts";
import { encodeSafetensors } from "./safetensors.ts";
import { buildNetwork, LENET5, lenet5, SMALL_NET, smallNet } from "../network/models.ts";
import type { Sequential } from "../network/sequential.ts";
import { mulberry32 } from "../random.ts";

const norm = { mean: 0.1307, std: 0.3081 };

function snapshot(net: Sequential): Float32Array[] {
  return net.params().map((p) => Float32Array.from(p.value.data));
}

function assertUntouched(net: Sequential, before: Float32Array[]): void {
  net.params().forEach((p, k) => assertEquals(p.value.data, before[k], `${p.name} changed`));
}

Deno.test("checkpoint round trip is exact: same weights, bit for bit, and same predictions", () => {
  for (const [spec, build] of [[SMALL_NET, smallNet], [LENET5, lenet5]] as const) {
    const net = build({ seed: 21 });
    const bytes = encodeCheckpoint(net, { spec, norm, model: "m", metadata: { seed: "21" } });
    const { net: back, metadata, norm: n2 } = restoreCheckpoint(bytes);
    back.params().forEach((p, k) => {
      const a = new Uint32Array(p.value.data.buffer);
      const b = new Uint32Array(net.params()[k].value.data.buffer);
      assertEquals(a, b);
    });
    assertEquals(n2, norm);
    assertEquals(metadata.seed, "21");
    const rng = mulberry32(1);
    const x = { shape: [4, 1, 28, 28], data: Float32Array.from({ length: 4 * 784 }, rng) };
    assertEquals(back.predict(x).data, net.predict(x).data);
    // the same weights give the same file
    assertEquals(
      encodeCheckpoint(back, { spec, norm, model: "m", metadata: { seed: "21" } }),
      bytes,
    );
  }
});

Deno.test("truncated and corrupted checkpoints are refused and leave the model untouched", () => {
  const bytes = encodeCheckpoint(smallNet({ seed: 1 }), { spec: SMALL_NET, norm });
  const net = smallNet({ seed: 2 });
  const before = snapshot(net);
  // truncations: all of the header region, then every 97th length through the data
  for (let n = 0; n < bytes.length; n += n < 2000 ? 1 : 97) {
    assertThrows(() => loadCheckpoint(net, bytes.subarray(0, n), "ck"), RangeError, "truncated");
  }
  // a flipped byte anywhere in the data: CRC-32
  for (let i = bytes.length - 1; i > bytes.length - 70000; i -= 4099) {
    const c = bytes.slice();
    c[i] ^= 0x10;
    assertThrows(() => loadCheckpoint(net, c), RangeError, "CRC-32");
  }
  // a flipped byte in the JSON header: refused one way or another (JSON, offsets, names, CRC)
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  for (
    const key of ['"dtype"', '"shape":[24', '"data_offsets":[', '"0.weight"', '"convprop.crc32":"']
  ) {
    const at = 8 + new TextEncoder().encode(header.slice(0, header.indexOf(key))).length;
    for (let i = at; i < at + key.length + 2; i++) {
      const c = bytes.slice();
      c[i] ^= 0x01;
      assertThrows(() => loadCheckpoint(net, c), RangeError);
    }
  }
  assertUntouched(net, before);
});

Deno.test("a checkpoint of another shape, or with missing or extra tensors, is refused", () => {
  const net = smallNet({ seed: 3 });
  const before = snapshot(net);
  const lenetBytes = encodeCheckpoint(lenet5(), { spec: LENET5, norm });
  assertThrows(
    () => loadCheckpoint(net, lenetBytes, "lenet.safetensors"),
    RangeError,
    'lenet.safetensors does not fit the model: unexpected "9.weight", "9.bias", "11.weight", "11.bias"',
  );
  // same names, one shape differs: the error names both shapes
  const wider = buildNetwork(
    SMALL_NET.map((s) => s.type === "fc" ? { ...s, outFeatures: 11 } : s),
  );
  assertThrows(
    () => loadCheckpoint(net, encodeCheckpoint(wider, { spec: SMALL_NET, norm })),
    RangeError,
    '"7.weight" is [11,1600] in the file but [10,1600] in the model',
  );
  const params = smallNet().params();
  const missing = encodeSafetensors(new Map(params.slice(1).map((p) => [p.name, p.value])));
  assertThrows(() => loadCheckpoint(net, missing), RangeError, 'missing "0.weight"');
  assertUntouched(net, before);
});

Deno.test("non-finite weights are refused even in a well-formed file", () => {
  const bad = smallNet({ seed: 4 });
  bad.params()[2].value.data[7] = NaN;
  // convprop does not write such a file (a diverged run's weights) ...
  assertThrows(
    () => encodeCheckpoint(bad, { spec: SMALL_NET, norm }),
    RangeError,
    'encodeCheckpoint: "3.weight" holds NaN at index 7',
  );
  // ... and refuses one that another writer made
  const bytes = encodeSafetensors(new Map(bad.params().map((p) => [p.name, p.value])));
  const net = smallNet({ seed: 5 });
  const before = snapshot(net);
  assertThrows(() => loadCheckpoint(net, bytes), RangeError, '"3.weight" holds NaN at index 7');
  assertUntouched(net, before);
});

Deno.test("restoreCheckpoint needs convprop's metadata, and checks it", () => {
  const plain = encodeSafetensors({ "0.weight": smallNet().params()[0].value });
  assertThrows(
    () => restoreCheckpoint(plain, "x.st"),
    RangeError,
    'x.st has no "convprop.layers" metadata',
  );
  const net = smallNet();
  const withBadNorm = encodeSafetensors(new Map(net.params().map((p) => [p.name, p.value])), {
    metadata: {
      "convprop.layers": JSON.stringify(SMALL_NET),
      "convprop.normalization": '{"mean":0,"std":0}',
    },
  });
  assertThrows(() => restoreCheckpoint(withBadNorm), RangeError, "normalisation");
  const withBadLayers = encodeSafetensors({}, {
    metadata: {
      "convprop.layers": '[{"type":"lstm"}]',
      "convprop.normalization": '{"mean":0,"std":1}',
    },
  });
  assertThrows(() => restoreCheckpoint(withBadLayers), RangeError, "does not build");
  assertThrows(
    () => encodeCheckpoint(net, { spec: SMALL_NET, norm: { mean: 0, std: -1 } }),
    RangeError,
  );
  assertThrows(
    () => encodeCheckpoint(net, { spec: SMALL_NET, norm, metadata: { format: "x" } }),
    RangeError,
    "reserved",
  );
  assert(
    restoreCheckpoint(encodeCheckpoint(net, { spec: SMALL_NET, norm })).net.training === false,
  );
});
