/**
 * Checkpoints: a network's parameters and buffers as a safetensors file, named as PyTorch names
 * the same `nn.Sequential`'s state dict ("0.weight", "0.bias", a batch norm's "1.running_mean",
 * "1.running_var" and "1.num_batches_tracked", ...) and in its order, with the layer list and
 * the input normalisation in the metadata, so the file alone rebuilds the model (here, or in
 * PyTorch with `load_state_dict(strict=True)`). `num_batches_tracked` is stored as PyTorch
 * stores it, an int64 scalar (safetensors I64, shape []).
 *
 * Loading is all-or-nothing: every name, shape, type and value is checked before the first
 * tensor is written, so a file that does not fit leaves the network untouched. A checkpoint of
 * a network without buffers (every checkpoint before batch normalisation) holds none and needs
 * none.
 *
 * @module
 */

import type { Normalization } from "../data/batches.ts";
import type { Int64Tensor, Tensor } from "../tensor.ts";
import { buildNetwork, type LayerSpec, specShapes } from "../network/models.ts";
import type { Sequential } from "../network/sequential.ts";
import {
  CRC32_KEY,
  decodeSafetensors,
  encodeSafetensors,
  type SafetensorsFile,
} from "./safetensors.ts";

/**
 * Metadata keys convprop writes (besides the safetensors `crc32` and PyTorch's `format`).
 *
 * @example
 * ```ts
 * import { CHECKPOINT_KEYS } from "./checkpoint.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(CHECKPOINT_KEYS.model, "convprop.model"); // read back by `deno task evaluate`
 * ```
 */
export const CHECKPOINT_KEYS: {
  readonly layers: string;
  readonly normalization: string;
  readonly model: string;
} = {
  layers: "convprop.layers",
  normalization: "convprop.normalization",
  model: "convprop.model",
};

/** What a checkpoint records besides the weights. */
export interface CheckpointInfo {
  /** The layer list the network was built from. */
  readonly spec: readonly LayerSpec[];
  /** The input normalisation the network was trained with. */
  readonly norm: Normalization;
  /** A model name, as "small" or "lenet5"; default "custom". */
  readonly model?: string;
  /** Further metadata strings (seed, epochs, accuracy, ...). */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Options of {@link restoreCheckpoint}. */
export interface RestoreOptions {
  /** The element type of the rebuilt network; default the file's: float64 if it holds any F64
   * tensor, else float32. A float64 value beyond float32's range refuses "float32". */
  dtype?: "float32" | "float64";
}

/** A network rebuilt from a checkpoint. */
export interface RestoredCheckpoint {
  /** The network, with the checkpoint's weights, in evaluation mode. */
  readonly net: Sequential;
  /** Its layer list. */
  readonly spec: LayerSpec[];
  /** The normalisation its inputs need. */
  readonly norm: Normalization;
  /** All metadata strings of the file. */
  readonly metadata: Record<string, string>;
}

/**
 * Encodes a network's parameters, buffers and description as a safetensors file.
 *
 * @param net The network.
 * @param info Its layer list, input normalisation, name and any extra metadata.
 * @returns The file's bytes.
 * @throws {RangeError} If `norm` is not finite with a positive std, an extra metadata key
 *   collides with one convprop writes, or a weight or running statistic is NaN or infinite.
 *
 * @example Save, change the weights, load: exactly the saved values come back
 * ```ts
 * import { encodeCheckpoint, loadCheckpoint } from "./checkpoint.ts";
 * import { buildNetwork } from "../network/models.ts";
 * import { assertEquals } from "@std/assert";
 * const spec = [{ type: "flatten" as const }, { type: "fc" as const, inFeatures: 4, outFeatures: 2 }];
 * const net = buildNetwork(spec, { seed: 3 });
 * const bytes = encodeCheckpoint(net, { spec, norm: { mean: 0.1307, std: 0.3081 } });
 * const saved = Float32Array.from(net.params()[0].value.data);
 * net.params()[0].value.data.fill(0);
 * loadCheckpoint(net, bytes);
 * assertEquals(net.params()[0].value.data, saved);
 * ```
 */
export function encodeCheckpoint(net: Sequential, info: CheckpointInfo): Uint8Array {
  const { mean, std } = info.norm;
  if (!Number.isFinite(mean) || !(std > 0 && Number.isFinite(std))) {
    throw new RangeError(
      `encodeCheckpoint: norm must have a finite mean and positive std, got ${
        JSON.stringify(info.norm)
      }`,
    );
  }
  const metadata: Record<string, string> = { format: "pt" };
  for (const [k, v] of Object.entries(info.metadata ?? {})) {
    if (k === "format" || Object.values(CHECKPOINT_KEYS).includes(k)) {
      throw new RangeError(`encodeCheckpoint: metadata key "${k}" is reserved`);
    }
    metadata[k] = v;
  }
  metadata[CHECKPOINT_KEYS.model] = info.model ?? "custom";
  metadata[CHECKPOINT_KEYS.layers] = JSON.stringify(info.spec);
  metadata[CHECKPOINT_KEYS.normalization] = JSON.stringify({ mean, std });
  const state = stateOf(net);
  for (const p of state) {
    if (isInt64(p.value)) continue;
    const i = p.value.data.findIndex((v) => !Number.isFinite(v));
    if (i >= 0) {
      throw new RangeError(
        `encodeCheckpoint: "${p.name}" holds ${p.value.data[i]} at index ${i}: non-finite ` +
          `weights (a diverged run?) would make a checkpoint that no one can load`,
      );
    }
  }
  const tensors = new Map(state.map((p) => [p.name, p.value]));
  return encodeSafetensors(tensors, { metadata });
}

/** A named tensor of a network's state: a parameter or a buffer. */
interface StateEntry {
  readonly name: string;
  readonly value: Tensor | Int64Tensor;
}

function isInt64(t: Tensor | Int64Tensor): t is Int64Tensor {
  return t.data instanceof BigInt64Array;
}

/** The network's parameters and buffers in PyTorch's state-dict order: layer by layer (by the
 * indices in their names, "3.weight", "1.0.bias"), a layer's parameters before its buffers. */
function stateOf(net: Sequential): StateEntry[] {
  const path = (name: string) => name.split(".").slice(0, -1).map(Number);
  const order = (a: StateEntry, b: StateEntry) => {
    const p = path(a.name), q = path(b.name);
    for (let k = 0; k < Math.min(p.length, q.length); k++) if (p[k] !== q[k]) return p[k] - q[k];
    return p.length - q.length;
  };
  // sort is stable: within a layer, the parameters keep their place before the buffers
  return [...net.params(), ...net.buffers()].map(({ name, value }) => ({ name, value }))
    .sort(order);
}

/**
 * Loads a checkpoint's weights (and buffers, as batch norm's running statistics) into a network
 * of the same architecture. Everything is checked first (the file's structure and checksum,
 * that its tensors are exactly the network's parameters and buffers with the same shapes and
 * kinds, that every value is finite and every count non-negative); only then are the values
 * copied, so on any error the network is left as it was.
 *
 * @param net The network to load into.
 * @param bytes The checkpoint file.
 * @param name What to call the file in error messages.
 * @returns The file's metadata.
 * @throws {RangeError} If the file is truncated or corrupted (see {@link decodeSafetensors}; a
 *   file with convprop metadata must carry its checksum), a parameter or buffer is missing or
 *   extra, a shape differs, an int64 tensor stands where a float one belongs or the other way
 *   round, a value is NaN or infinite, a count is negative, or a float64 value does not fit a
 *   float32 model.
 *
 * @example A checkpoint of another architecture is refused, and nothing changes
 * ```ts
 * import { encodeCheckpoint, loadCheckpoint } from "./checkpoint.ts";
 * import { buildNetwork } from "../network/models.ts";
 * import { assertEquals, assertThrows } from "@std/assert";
 * const norm = { mean: 0, std: 1 };
 * const a = [{ type: "fc" as const, inFeatures: 4, outFeatures: 2 }];
 * const b = [{ type: "fc" as const, inFeatures: 4, outFeatures: 3 }];
 * const bytes = encodeCheckpoint(buildNetwork(a), { spec: a, norm });
 * const net = buildNetwork(b, { seed: 1 });
 * const before = Float32Array.from(net.params()[0].value.data);
 * assertThrows(() => loadCheckpoint(net, bytes), RangeError, '"0.weight" is [2,4] in the file');
 * assertEquals(net.params()[0].value.data, before);
 * ```
 */
export function loadCheckpoint(
  net: Sequential,
  bytes: Uint8Array,
  name = "the checkpoint",
): Record<string, string> {
  const file = decodeCheckpoint(bytes, name);
  loadTensors("loadCheckpoint", net, file, name);
  return file.metadata;
}

/** Decodes a checkpoint; one that convprop wrote must still carry its checksum. */
function decodeCheckpoint(bytes: Uint8Array, name: string): SafetensorsFile {
  const file = decodeSafetensors(bytes, { name });
  const ours = Object.keys(file.metadata).some((k) => k.startsWith("convprop."));
  if (ours && file.metadata[CRC32_KEY] === undefined) {
    throw new RangeError(
      `loadCheckpoint: ${name} has convprop metadata but no "${CRC32_KEY}" checksum: corrupted`,
    );
  }
  return file;
}

/** Checks every tensor against the network's parameters and buffers, then copies them all. */
function loadTensors(fn: string, net: Sequential, file: SafetensorsFile, name: string): void {
  const state = stateOf(net);
  const inFile = (key: string) => file.tensors.get(key) ?? file.int64.get(key);
  const wanted = new Set(state.map((p) => p.name));
  const missing = state.filter((p) => inFile(p.name) === undefined).map((p) => p.name);
  const extra = [...file.tensors.keys(), ...file.int64.keys()].filter((k) => !wanted.has(k));
  if (missing.length || extra.length) {
    throw new RangeError(
      `${fn}: ${name} does not fit the model: ` +
        [
          missing.length ? `missing ${missing.map((s) => `"${s}"`).join(", ")}` : "",
          extra.length ? `unexpected ${extra.map((s) => `"${s}"`).join(", ")}` : "",
        ].filter(Boolean).join("; "),
    );
  }
  for (const p of state) {
    const t = inFile(p.name)!;
    const same = t.shape.length === p.value.shape.length &&
      t.shape.every((s, i) => s === p.value.shape[i]);
    if (!same) {
      throw new RangeError(
        `${fn}: ${name} does not fit the model: "${p.name}" is [${
          t.shape.join(",")
        }] in the file but [${p.value.shape.join(",")}] in the model`,
      );
    }
    if (isInt64(p.value) !== isInt64(t)) {
      throw new RangeError(
        `${fn}: ${name} does not fit the model: "${p.name}" is ${
          isInt64(t) ? "an int64 (I64)" : "a float"
        } tensor in the file but ${isInt64(p.value) ? "an int64 count" : "a float tensor"} ` +
          `in the model`,
      );
    }
    if (isInt64(t)) {
      const bad = t.data.findIndex((v) => v < 0n);
      if (bad >= 0) {
        throw new RangeError(
          `${fn}: ${name}: "${p.name}" holds ${t.data[bad]} at index ${bad}: a count cannot be ` +
            `negative: corrupted`,
        );
      }
      continue;
    }
    const bad = t.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new RangeError(
        `${fn}: ${name}: "${p.name}" holds ${t.data[bad]} at index ${bad}: corrupted weights`,
      );
    }
    if (p.value.data instanceof Float32Array && t.data instanceof Float64Array) {
      // a float64 value beyond float32's range would become ±Infinity in a float32 model
      const over = t.data.findIndex((v) => !Number.isFinite(Math.fround(v)));
      if (over >= 0) {
        throw new RangeError(
          `${fn}: ${name}: "${p.name}" holds ${t.data[over]} at index ${over}, beyond float32's ` +
            `range: load it into a float64 model`,
        );
      }
    }
  }
  for (const p of state) {
    if (isInt64(p.value)) p.value.data.set(file.int64.get(p.name)!.data);
    else p.value.data.set(file.tensors.get(p.name)!.data);
  }
}

/**
 * Rebuilds a network from a checkpoint alone: the layer list and normalisation from its
 * metadata, then the weights (checked as {@link loadCheckpoint} checks them). The file's tensors
 * must be exactly the parameters and buffers its layer list asks for, shape for shape, which is
 * checked before the network is built; the network is float64 when the file holds float64 weights.
 *
 * @param bytes The checkpoint file.
 * @param name What to call the file in error messages.
 * @param opts `dtype`: the network's element type (default the file's).
 * @returns The network (in evaluation mode), its layer list, normalisation and metadata.
 * @throws {RangeError} If the metadata lacks or garbles the layer list or normalisation, the
 *   layer list is invalid or asks for other tensors than the file has, or as
 *   {@link loadCheckpoint}.
 *
 * @example
 * ```ts
 * import { encodeCheckpoint, restoreCheckpoint } from "./checkpoint.ts";
 * import { smallNet, SMALL_NET } from "../network/models.ts";
 * import { assertEquals } from "@std/assert";
 * const net = smallNet({ seed: 5 });
 * const bytes = encodeCheckpoint(net, { spec: SMALL_NET, norm: { mean: 0.13, std: 0.31 }, model: "small" });
 * const restored = restoreCheckpoint(bytes);
 * assertEquals(restored.metadata["convprop.model"], "small");
 * assertEquals(restored.norm, { mean: 0.13, std: 0.31 });
 * const x = { shape: [1, 1, 28, 28], data: new Float32Array(784).fill(0.5) };
 * assertEquals(restored.net.predict(x).data, net.predict(x).data);
 * ```
 */
export function restoreCheckpoint(
  bytes: Uint8Array,
  name = "the checkpoint",
  opts: RestoreOptions = {},
): RestoredCheckpoint {
  const fn = "restoreCheckpoint";
  if (opts.dtype !== undefined && opts.dtype !== "float32" && opts.dtype !== "float64") {
    throw new RangeError(`${fn}: opts.dtype must be "float32" or "float64", got ${opts.dtype}`);
  }
  const file = decodeCheckpoint(bytes, name);
  const { metadata } = file;
  function parse(key: string): unknown {
    const text = metadata[key];
    if (text === undefined) {
      throw new RangeError(
        `${fn}: ${name} has no "${key}" metadata: not a convprop checkpoint, so the model cannot ` +
          `be rebuilt from it`,
      );
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new RangeError(`${fn}: ${name}: the "${key}" metadata is not valid JSON: corrupted`);
    }
  }
  const spec = parse(CHECKPOINT_KEYS.layers);
  const norm = parse(CHECKPOINT_KEYS.normalization) as Partial<Normalization>;
  if (!Array.isArray(spec)) {
    throw new RangeError(`${fn}: ${name}: the layer list is not an array`);
  }
  if (
    typeof norm?.mean !== "number" || !Number.isFinite(norm.mean) ||
    typeof norm.std !== "number" || !(norm.std > 0 && Number.isFinite(norm.std))
  ) {
    throw new RangeError(`${fn}: ${name}: the normalisation ${JSON.stringify(norm)} is invalid`);
  }
  // the parameters the layer list asks for must be the file's tensors, shape for shape, before
  // anything is built: a small file must not make a huge network
  const shapes = specShapes(spec as LayerSpec[]);
  if (shapes !== null) {
    const names = shapes.map((p) => p.name);
    const inFile = [...file.tensors.keys(), ...file.int64.keys()];
    for (const p of shapes) {
      const t = file.tensors.get(p.name) ?? file.int64.get(p.name);
      if (t === undefined || t.shape.join() !== p.shape.join()) {
        throw new RangeError(
          `${fn}: ${name}: its layer list asks for "${p.name}" [${p.shape.join(",")}] but the ` +
            `file ${t === undefined ? "has no such tensor" : `has [${t.shape.join(",")}]`}`,
        );
      }
    }
    const extra = inFile.filter((k) => !names.includes(k));
    if (extra.length > 0) {
      throw new RangeError(`${fn}: ${name}: tensors its layer list has no place for: ${extra}`);
    }
  }
  // float64 when the file holds float64 weights (or when asked), so nothing is narrowed
  const f64 = [...file.tensors.values()].some((t) => t.data instanceof Float64Array);
  const dtype = opts.dtype ?? (f64 ? "float64" : "float32");
  let net: Sequential;
  try {
    net = buildNetwork(spec as LayerSpec[], { dtype });
  } catch (e) {
    throw new RangeError(`${fn}: ${name}: its layer list does not build: ${(e as Error).message}`);
  }
  loadTensors(fn, net, file, name);
  net.eval();
  return {
    net,
    spec: spec as LayerSpec[],
    norm: { mean: norm.mean, std: norm.std },
    metadata,
  };
}
