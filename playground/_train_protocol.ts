/**
 * The messages between the training view (playground/train.ts, the main thread) and its Worker
 * (playground/train_worker.ts). Kept small on purpose: seven requests, seven replies, all plain
 * structured-cloneable data. The Worker trains through the library's Worker path (DataParallel,
 * its own workers nested in it); the page learns only how many there are and how they share
 * memory (`BuildInfo.parallel`).
 *
 * @module
 */

import type { LayerSpec, Normalization } from "../mod.ts";

/** The optimiser settings of the page. */
export interface TrainConfig {
  optimizer: "adam" | "sgd";
  lr: number;
  batchSize: number;
}

/** A network, as the page lists it. */
export interface BuildInfo {
  model: string;
  spec: LayerSpec[];
  /** Every layer with its output shape for one 1×28×28 image. */
  layers: { index: number; type: string; label: string; shape: number[] }[];
  /** Trainable parameters. */
  params: number;
  norm: Normalization;
  config: TrainConfig;
  /** The DataParallel training it: worker threads, shards per batch, memory mode (null if its
   * workers did not start). */
  parallel: { workers: number; shards: number; memory: "shared" | "transfer" } | null;
}

/** The running numbers of training. */
export interface Progress {
  step: number;
  /** Epochs over the training subset, fractional. */
  epoch: number;
  /** Mean loss of the last 50 steps. */
  loss: number;
  /** Share of right answers among the last 50 steps' images. */
  accuracy: number;
  /** Curve points since the last progress: [step, epoch, mean loss of those 10 steps]. */
  points: [number, number, number][];
}

/** The first convolution's kernel and its last gradient. */
export interface FirstLayer {
  name: string;
  shape: number[];
  w: Float32Array;
  dw: Float32Array;
}

/** One evaluation of the test subset. */
export interface EvalResult {
  step: number;
  epoch: number;
  count: number;
  accuracy: number;
  loss: number;
  /** [true class · 10 + predicted class]. */
  confusion: Uint32Array;
  /** The first test images with their top-3 predictions [class, probability]. */
  samples: { index: number; label: number; top: [number, number][] }[];
}

/** One image through the network: every layer's output. */
export interface Inspection {
  /** The normalised input [1, 1, 28, 28]. */
  input: Float32Array;
  layers: { index: number; label: string; shape: number[]; data: Float32Array }[];
  probs: Float32Array;
  top: number[];
}

/** The data files, as URLs. */
export interface DataUrls {
  trainImages: string;
  trainLabels: string;
  testImages: string;
  testLabels: string;
}

/** Main thread → Worker. */
export type Request =
  | { type: "init"; urls: DataUrls }
  /** A fresh network; without `config`, the model's defaults (the CLI's). */
  | { type: "build"; spec: unknown; model: string; config?: TrainConfig }
  | { type: "load"; bytes: Uint8Array; name: string; config?: TrainConfig }
  | { type: "config"; config: TrainConfig }
  | { type: "run"; on: boolean }
  | { type: "inspect"; id: number; pixels?: Uint8Array; test?: number }
  | { type: "save" };

/** Worker → main thread. */
export type Reply =
  | {
    type: "ready";
    train: number;
    test: number;
    info: BuildInfo;
    /** The named models' layer lists (the CLI's --model names). */
    models: Record<string, LayerSpec[]>;
    /** The pixels of the first SAMPLES test images, [SAMPLES · 784]. */
    samples: Uint8Array;
  }
  | { type: "built"; info: BuildInfo; source: "build" | "load" }
  | { type: "progress"; progress: Progress; running: boolean; first: FirstLayer | null }
  | { type: "eval"; result: EvalResult }
  | { type: "inspection"; id: number; pixels: Uint8Array; result: Inspection }
  | { type: "checkpoint"; bytes: Uint8Array; name: string }
  | {
    type: "error";
    where: "init" | "build" | "load" | "config" | "train" | "inspect";
    message: string;
  };
