import { assert, assertEquals, assertThrows } from "@std/assert";
import { encodeCheckpoint, loadCheckpoint, restoreCheckpoint } from "./checkpoint.ts";
import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
import {
  buildNetwork,
  type LayerSpec,
  LENET5,
  lenet5,
  SMALL_NET,
  smallNet,
} from "../network/models.ts";
import type { Sequential } from "../network/sequential.ts";
import type { BatchNorm2D } from "../layers/batch_norm_layer.ts";
import type { Int64Tensor, Tensor } from "../tensor.ts";
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

// A network with batch norm, its running statistics moved by three training batches.
const BN_SPEC: LayerSpec[] = [
  { type: "conv", inChannels: 1, outChannels: 4, size: 3, padding: 1, bias: false },
  { type: "batchnorm2d", features: 4, momentum: 0.3 },
  { type: "relu" },
  { type: "maxpool", size: 2 },
  { type: "flatten" },
  { type: "fc", inFeatures: 4 * 3 * 3, outFeatures: 5 },
  { type: "batchnorm1d", features: 5, eps: 1e-3 },
];

function floats(dtype: "float32" | "float64", n: number, f: (i: number) => number) {
  const a = dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = f(i);
  return a;
}

function trainedBnNet(dtype: "float32" | "float64"): Sequential {
  const net = buildNetwork(BN_SPEC, { seed: 8, dtype });
  const rng = mulberry32(9);
  for (let k = 0; k < 3; k++) {
    net.forward({ shape: [6, 1, 6, 6], data: floats(dtype, 216, () => 3 * rng() - 1) });
  }
  return net;
}

function stateBits(net: Sequential): string[] {
  return [...net.params(), ...net.buffers()].map((p) =>
    `${p.name} ${p.value.shape} ${Array.from(new Uint8Array(p.value.data.buffer))}`
  );
}

Deno.test("checkpoint with buffers: running statistics and the int64 count round trip bit for bit (float32, float64)", () => {
  for (const dtype of ["float32", "float64"] as const) {
    const net = trainedBnNet(dtype);
    assertEquals((net.layers[1] as BatchNorm2D).numBatchesTracked.data[0], 3n);
    const bytes = encodeCheckpoint(net, { spec: BN_SPEC, norm });
    const file = decodeSafetensors(bytes);
    // PyTorch's state-dict names and order, the count an int64 scalar
    assertEquals([...file.tensors.keys(), ...file.int64.keys()], [
      "0.weight",
      "1.weight",
      "1.bias",
      "1.running_mean",
      "1.running_var",
      "5.weight",
      "5.bias",
      "6.weight",
      "6.bias",
      "6.running_mean",
      "6.running_var",
      "1.num_batches_tracked",
      "6.num_batches_tracked",
    ]);
    assertEquals(file.int64.get("6.num_batches_tracked"), {
      shape: [],
      data: new BigInt64Array([3n]),
    });
    const restored = restoreCheckpoint(bytes);
    assertEquals(stateBits(restored.net), stateBits(net));
    assertEquals(
      restored.net.params()[0].value.data.constructor,
      dtype === "float32" ? Float32Array : Float64Array,
    );
    const x = { shape: [2, 1, 6, 6], data: floats(dtype, 72, Math.sin) };
    assertEquals(restored.net.predict(x).data, net.predict(x).data); // evaluation: the running statistics
    assertEquals(encodeCheckpoint(restored.net, { spec: BN_SPEC, norm }), bytes);
    // loadCheckpoint into a fresh network of the same spec: everything, the count included
    const fresh = buildNetwork(BN_SPEC, { seed: 1, dtype });
    loadCheckpoint(fresh, bytes);
    assertEquals(stateBits(fresh), stateBits(net));
  }
});

Deno.test("checkpoint with buffers: missing buffers, swapped kinds and negative counts are refused, nothing written", () => {
  const net = trainedBnNet("float32");
  const bytes = encodeCheckpoint(net, { spec: BN_SPEC, norm });
  const target = buildNetwork(BN_SPEC, { seed: 2 });
  const before = stateBits(target);
  // a file of parameters only (a writer that knows no buffers)
  const paramsOnly = encodeSafetensors(new Map(net.params().map((p) => [p.name, p.value])));
  assertThrows(
    () => loadCheckpoint(target, paramsOnly),
    RangeError,
    'missing "1.running_mean", "1.running_var", "1.num_batches_tracked", "6.running_mean"',
  );
  const withState = (change: (m: Map<string, Tensor | Int64Tensor>) => void) => {
    const m = new Map<string, Tensor | Int64Tensor>(
      [...net.params(), ...net.buffers()].map((p) => [p.name, p.value]),
    );
    change(m);
    return encodeSafetensors(m);
  };
  assertThrows(
    () =>
      loadCheckpoint(
        target,
        withState((m) =>
          m.set("1.num_batches_tracked", { shape: [], data: new Float32Array([3]) })
        ),
      ),
    RangeError,
    '"1.num_batches_tracked" is a float tensor in the file but an int64 count in the model',
  );
  assertThrows(
    () =>
      loadCheckpoint(
        target,
        withState((m) => m.set("1.running_mean", { shape: [4], data: new BigInt64Array(4) })),
      ),
    RangeError,
    '"1.running_mean" is an int64 (I64) tensor in the file but a float tensor in the model',
  );
  assertThrows(
    () =>
      loadCheckpoint(
        target,
        withState((m) =>
          m.set("6.num_batches_tracked", { shape: [], data: new BigInt64Array([-1n]) })
        ),
      ),
    RangeError,
    '"6.num_batches_tracked" holds -1 at index 0: a count cannot be negative',
  );
  assertThrows(
    () =>
      loadCheckpoint(
        target,
        withState((m) =>
          m.set("1.running_var", { shape: [4], data: new Float32Array([1, NaN, 1, 1]) })
        ),
      ),
    RangeError,
    '"1.running_var" holds NaN at index 1',
  );
  assertThrows(
    () =>
      loadCheckpoint(
        target,
        withState((m) =>
          m.set("1.num_batches_tracked", { shape: [1], data: new BigInt64Array(1) })
        ),
      ),
    RangeError,
    '"1.num_batches_tracked" is [1] in the file but [] in the model',
  );
  assertEquals(stateBits(target), before);
  loadCheckpoint(target, bytes); // and the good file loads
  assertEquals(stateBits(target), stateBits(net));
});

Deno.test("restoreCheckpoint checks buffers against the layer list before building (specShapes)", () => {
  const net = trainedBnNet("float32");
  const entries = () =>
    new Map<string, Tensor | Int64Tensor>(
      [...net.params(), ...net.buffers()].map((p) => [p.name, p.value]),
    );
  const metadata = {
    "convprop.layers": JSON.stringify(BN_SPEC),
    "convprop.normalization": JSON.stringify(norm),
  };
  const wrong = entries();
  wrong.set("1.running_var", { shape: [5], data: new Float32Array(5) });
  assertThrows(
    () => restoreCheckpoint(encodeSafetensors(wrong, { metadata })),
    RangeError,
    'its layer list asks for "1.running_var" [4] but the file has [5]',
  );
  const missing = entries();
  missing.delete("6.num_batches_tracked");
  assertThrows(
    () => restoreCheckpoint(encodeSafetensors(missing, { metadata })),
    RangeError,
    'asks for "6.num_batches_tracked" [] but the file has no such tensor',
  );
  const extra = entries();
  extra.set("2.num_batches_tracked", { shape: [], data: new BigInt64Array(1) });
  assertThrows(
    () => restoreCheckpoint(encodeSafetensors(extra, { metadata })),
    RangeError,
    "tensors its layer list has no place for: 2.num_batches_tracked",
  );
  // a checkpoint of a network without buffers needs none, as before
  const plain = restoreCheckpoint(
    encodeCheckpoint(smallNet({ seed: 3 }), { spec: SMALL_NET, norm }),
  );
  assertEquals(plain.net.buffers(), []);
});
