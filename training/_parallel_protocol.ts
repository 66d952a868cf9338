/**
 * The messages between the data-parallel trainer (training/parallel.ts) and its workers
 * (training/parallel_worker.ts). Types only. In mode "shared" the bulk data (parameters,
 * gradients, input batches) lives in SharedArrayBuffers named once, and the messages carry
 * only where to look; in mode "transfer" it travels in the messages (parameters copied,
 * gradients and inputs moved as transferables).
 *
 * @module
 */

import type { FloatArray } from "../tensor.ts";
import type { BackendName } from "../backend.ts";
import type { LabelledImages } from "../data/idx.ts";
import type { Normalization } from "../data/batches.ts";
import type { LayerSpec } from "../network/models.ts";
import type { EvalBatchResult, FlatBuffers, ShardResult } from "./_parallel_shard.ts";

/** Main thread -> worker. */
export type ToWorker =
  | {
    kind: "init";
    spec: readonly LayerSpec[];
    dtype: "float32" | "float64";
    /** The main thread's parameter layout, which the replica must match. */
    params: readonly { name: string; length: number }[];
    /** Seed of the dropout masks (mixed with step and shard). */
    seed: number;
    /** Mode "shared": parameters [L] and gradient slots [shards, L]. */
    shared?: { params: SharedArrayBuffer; grads: SharedArrayBuffer };
  }
  | {
    kind: "inputs";
    /** Mode "shared": two input slots (the next batch is written while a step runs). */
    slots: { x: SharedArrayBuffer; labels: SharedArrayBuffer }[];
  }
  | {
    kind: "step";
    /** Steps taken so far by this trainer (the step's index). */
    step: number;
    /** Mode "shared": the input slot holding the batch. */
    slot: number;
    /** The whole batch's shape [B, C, H, W]. */
    shape: readonly number[];
    backend: BackendName;
    /** Mode "transfer": the parameters (a copy per worker). */
    params?: FloatArray;
    buffers: FlatBuffers;
    /** This worker's shards, in shard order; mode "transfer": with their images and labels. */
    shards: { shard: number; start: number; end: number; x?: Float32Array; labels?: Uint8Array }[];
  }
  | {
    kind: "evaluate";
    backend: BackendName;
    params?: FloatArray;
    buffers: FlatBuffers;
    /** This worker's share of the set: whole batches, in stored order. */
    set: LabelledImages;
    norm: Normalization;
    batchSize: number;
    classes: number;
  };

/** Worker -> main thread. */
export type ToMain =
  | { kind: "ready" }
  | {
    kind: "step";
    results: ShardResult[];
    /** Mode "transfer": one gradient per shard of `results` (moved). */
    grads?: FloatArray[];
    /** The buffers after shard 0's forward pass, from the worker that computed it. */
    buffers?: FlatBuffers;
  }
  | { kind: "evaluate"; batches: EvalBatchResult[]; confusion: Uint32Array }
  | { kind: "error"; name: string; message: string; stack: string };
