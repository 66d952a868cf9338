/**
 * Batch normalisation as layer objects, PyTorch's nn.BatchNorm2d and nn.BatchNorm1d: the scale
 * γ and shift β (parameters, named `weight` and `bias` in a network, as PyTorch names them), the
 * running statistics and the count of training batches (buffers: `running_mean`, `running_var`,
 * `num_batches_tracked`), around the public `batchNormForward` / `batchNormBackward`. In
 * training mode a forward pass normalises with the batch's statistics and updates the running
 * ones; in evaluation mode (`Sequential.eval()`) it normalises with the running statistics.
 *
 * @module
 */

import type { Int64Tensor, Tensor } from "../tensor.ts";
import { checkObject, checkTensor, fmtShape, zerosLike } from "../_validate.ts";
import { batchNormBackward, batchNormForward } from "../backend.ts";
import { type Layer, type LayerBuffer, type Param, param } from "./layer.ts";
import type { BatchNormCache } from "./types.ts";
import { Workspace } from "./workspace.ts";

/** Options of {@link BatchNorm2D} and {@link BatchNorm1D}. */
export interface BatchNormOptions {
  /** C: the channels (BatchNorm2D) or features (BatchNorm1D), PyTorch's `num_features`. */
  features: number;
  /** ε > 0, added to the variance; default 1e-5. */
  eps?: number;
  /** The running averages' weight of each new batch, in [0, 1]; default 0.1. */
  momentum?: number;
  /** Element type of the parameters and running statistics; default "float32". */
  dtype?: "float32" | "float64";
}

/** What both classes hold, made and checked once. */
interface BatchNormState {
  gamma: Param;
  beta: Param;
  runningMean: Tensor;
  runningVar: Tensor;
  numBatchesTracked: Int64Tensor;
  eps: number;
  momentum: number;
}

/** The state PyTorch starts a batch norm with: γ = 1, β = 0, mean 0, variance 1, no batches. */
function initialState(kind: string, opts: BatchNormOptions): BatchNormState {
  checkObject(kind, "opts", opts, "{ features: 16 }");
  const { features: C, eps = 1e-5, momentum = 0.1, dtype = "float32" } = opts;
  if (!Number.isInteger(C) || C < 1) {
    throw new RangeError(`${kind}: features must be a positive integer, got ${C}`);
  }
  if (typeof eps !== "number" || !(eps > 0) || !Number.isFinite(eps)) {
    throw new RangeError(`${kind}: eps must be a positive finite number, got ${eps}`);
  }
  if (typeof momentum !== "number" || !(momentum >= 0 && momentum <= 1)) {
    throw new RangeError(`${kind}: momentum must be in [0, 1], got ${momentum}`);
  }
  if (dtype !== "float32" && dtype !== "float64") {
    throw new RangeError(`${kind}: dtype must be "float32" or "float64", got ${dtype}`);
  }
  const like = dtype === "float32" ? new Float32Array(0) : new Float64Array(0);
  const ones = () => zerosLike(like, C).fill(1);
  return {
    gamma: param("gamma", [C], ones()),
    beta: param("beta", [C], zerosLike(like, C)),
    runningMean: { shape: [C], data: zerosLike(like, C) },
    runningVar: { shape: [C], data: ones() },
    numBatchesTracked: { shape: [], data: new BigInt64Array(1) },
    eps,
    momentum,
  };
}

/** Checks x's rank for the layer (the rest is batchNormForward's to check). */
function checkRank(kind: string, x: Tensor, rank: number): void {
  checkTensor(kind, "x", x);
  if (x.shape.length !== rank) {
    const want = rank === 4 ? "[N, C, H, W]" : "[N, C]";
    const other = rank === 4 ? "BatchNorm1D normalises [N, C]" : "BatchNorm2D [N, C, H, W]";
    throw new RangeError(`${kind}: x must be ${want}, got ${fmtShape(x.shape)}; ${other}`);
  }
}

/** One forward pass of a layer: the batch's statistics when training (and one more batch
 * counted, only once the call has succeeded), the running ones otherwise. */
function forwardPass(
  s: BatchNormState,
  training: boolean,
  x: Tensor,
  workspace: Workspace,
): { y: Tensor; cache: BatchNormCache } {
  const { runningMean, runningVar, eps, momentum } = s;
  const opts = { training, runningMean, runningVar, eps, momentum, workspace };
  const out = batchNormForward(x, s.gamma.value, s.beta.value, opts);
  if (training) s.numBatchesTracked.data[0] += 1n;
  return out;
}

/** The gradients of the last forward pass into γ's and β's `grad`; dx unless `params`. */
function backwardPass(
  kind: string,
  s: BatchNormState,
  cache: BatchNormCache | undefined,
  dy: Tensor,
  workspace: Workspace,
  inputGradient: boolean,
): Tensor | null {
  if (cache === undefined) throw new Error(`${kind}.backward: call forward first`);
  const { dx, dgamma, dbeta } = batchNormBackward(dy, cache, { inputGradient, workspace });
  s.gamma.grad.data.set(dgamma.data);
  s.beta.grad.data.set(dbeta.data);
  return dx;
}

/** The running statistics and the batch count, named as PyTorch's state dict names them. */
function buffersOf(s: BatchNormState): LayerBuffer[] {
  return [
    { name: "running_mean", value: s.runningMean },
    { name: "running_var", value: s.runningVar },
    { name: "num_batches_tracked", value: s.numBatchesTracked },
  ];
}

/**
 * What {@link BatchNorm2D} and {@link BatchNorm1D} share: the parameters γ and β, the buffers,
 * the forward pass that keeps its cache, and the backward passes. The two differ only in the
 * rank of their input (4 and 2).
 *
 * @example
 * ```ts
 * import { BatchNorm1D, BatchNormLayer } from "./batch_norm_layer.ts";
 * import { assert, assertEquals } from "@std/assert";
 * const bn = new BatchNorm1D({ features: 3 });
 * assert(bn instanceof BatchNormLayer);
 * assertEquals([bn.kind, bn.eps, bn.momentum], ["BatchNorm1D", 1e-5, 0.1]);
 * ```
 */
export class BatchNormLayer implements Layer {
  /** The layer kind: "BatchNorm2D" or "BatchNorm1D". */
  readonly kind: string;
  /** The scale γ [C] (PyTorch's `weight`). */
  readonly gamma: Param;
  /** The shift β [C] (PyTorch's `bias`). */
  readonly beta: Param;
  /** The running mean [C], updated by each training forward pass (`running_mean`). */
  readonly runningMean: Tensor;
  /** The running (unbiased) variance [C] (`running_var`). */
  readonly runningVar: Tensor;
  /** The number of training forward passes, an int64 scalar (`num_batches_tracked`). */
  readonly numBatchesTracked: Int64Tensor;
  /** ε. */
  readonly eps: number;
  /** The running averages' weight of each new batch. */
  readonly momentum: number;
  /** Training mode (the default): the batch's statistics, and the running ones updated.
   * Evaluation mode (`Sequential.eval()` sets it false): the running statistics, unchanged. */
  training = true;
  #rank: number;
  #state: BatchNormState;
  #ws = new Workspace();
  #cache: BatchNormCache | undefined;

  /**
   * Creates the layer with PyTorch's initial state.
   *
   * @param kind "BatchNorm2D" or "BatchNorm1D", which names it in messages.
   * @param rank The input's rank: 4 ([N, C, H, W]) or 2 ([N, C]).
   * @param opts `features` (C), `eps`, `momentum`, `dtype`.
   * @throws {RangeError} If features is not a positive integer, eps not positive, momentum
   *   outside [0, 1], or dtype neither "float32" nor "float64".
   * @throws {TypeError} If `opts` is not an object.
   */
  protected constructor(kind: string, rank: number, opts: BatchNormOptions) {
    const s = initialState(kind, opts);
    this.kind = kind;
    this.#rank = rank;
    this.#state = s;
    this.gamma = s.gamma;
    this.beta = s.beta;
    this.runningMean = s.runningMean;
    this.runningVar = s.runningVar;
    this.numBatchesTracked = s.numBatchesTracked;
    this.eps = s.eps;
    this.momentum = s.momentum;
  }

  /**
   * Runs the forward pass and keeps its cache for `backward`.
   *
   * @param x Input [N, C, H, W] (BatchNorm2D) or [N, C] (BatchNorm1D).
   * @returns y, x's shape.
   * @throws {RangeError} If x has the wrong rank; otherwise as `batchNormForward` (the running
   *   statistics and the count untouched).
   */
  forward(x: Tensor): Tensor {
    checkRank(this.kind, x, this.#rank);
    const { y, cache } = forwardPass(this.#state, this.training, x, this.#ws);
    this.#cache = cache;
    return y;
  }

  /**
   * Runs the backward pass of the last `forward`; γ's and β's gradients are overwritten.
   *
   * @param dy dL/dy, y's shape.
   * @returns dL/dx, x's shape.
   * @throws {Error} If called before `forward`; otherwise as `batchNormBackward`.
   */
  backward(dy: Tensor): Tensor {
    return backwardPass(this.kind, this.#state, this.#cache, dy, this.#ws, true)!;
  }

  /**
   * The backward pass for a first layer, whose input is the data: fills γ's and β's `grad` as
   * {@link BatchNormLayer.backward} does, bit for bit, without computing dL/dx.
   *
   * @param dy dL/dy, y's shape.
   * @returns Nothing.
   * @throws {Error} If called before `forward`; otherwise as `batchNormBackward`.
   */
  backwardParams(dy: Tensor): void {
    backwardPass(this.kind, this.#state, this.#cache, dy, this.#ws, false);
  }

  /**
   * The trainable parameters.
   *
   * @returns [γ, β], named "gamma" and "beta" ("weight" and "bias" in a Sequential).
   */
  params(): Param[] {
    return [this.gamma, this.beta];
  }

  /**
   * The buffers: state saved with the model, never trained.
   *
   * @returns running_mean, running_var and num_batches_tracked, in PyTorch's order.
   */
  buffers(): LayerBuffer[] {
    return buffersOf(this.#state);
  }
}

/**
 * Batch normalisation of images [N, C, H, W] (PyTorch's nn.BatchNorm2d): each channel over its
 * N·H·W values. γ starts at 1, β at 0, the running mean at 0 and the running variance at 1.
 *
 * The tensors `forward` and `backward` return live in the layer's workspace and are reused from
 * call to call: they stay valid until the layer's next call; copy them to keep them.
 *
 * @example Training mode normalises with the batch; evaluation with the running statistics
 * ```ts
 * import { BatchNorm2D } from "./batch_norm_layer.ts";
 * import { assertAlmostEquals, assertEquals } from "@std/assert";
 * const bn = new BatchNorm2D({ features: 2, dtype: "float64" });
 * const x = { shape: [2, 2, 1, 2], data: new Float64Array([1, 3, 10, 10, 5, 7, 20, 30]) };
 * const y = bn.forward(x); // channel 0: 1, 3, 5, 7 -> mean 0, variance 1 (up to ε)
 * assertAlmostEquals(y.data[0], -3 / Math.sqrt(5 + 1e-5), 1e-12);
 * assertEquals(bn.numBatchesTracked.data[0], 1n);
 * assertAlmostEquals(bn.runningMean.data[0], 0.1 * 4); // (1 − 0.1)·0 + 0.1·4
 * bn.training = false; // as Sequential.eval() sets it
 * assertAlmostEquals(bn.forward(x).data[0], (1 - 0.4) / Math.sqrt(bn.runningVar.data[0] + 1e-5), 1e-12);
 * assertEquals(bn.buffers().map((b) => b.name), ["running_mean", "running_var", "num_batches_tracked"]);
 * assertEquals(bn.params().map((p) => p.name), ["gamma", "beta"]); // "weight", "bias" in a network
 * ```
 */
export class BatchNorm2D extends BatchNormLayer {
  /**
   * Creates the layer with PyTorch's initial state.
   *
   * @param opts `features` (C), `eps`, `momentum`, `dtype`.
   * @throws {RangeError} If features is not a positive integer, eps not positive, momentum
   *   outside [0, 1], or dtype neither "float32" nor "float64".
   * @throws {TypeError} If `opts` is not an object.
   */
  constructor(opts: BatchNormOptions) {
    super("BatchNorm2D", 4, opts);
  }
}

/**
 * Batch normalisation of features [N, C] (PyTorch's nn.BatchNorm1d on 2-D input): each feature
 * over the N samples of the batch, as after a fully connected layer. Otherwise as
 * {@link BatchNorm2D}.
 *
 * @example
 * ```ts
 * import { BatchNorm1D } from "./batch_norm_layer.ts";
 * import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
 * const bn = new BatchNorm1D({ features: 3, momentum: 0.5 });
 * const x = { shape: [2, 3], data: new Float32Array([1, 2, 3, 3, 2, 1]) };
 * const y = bn.forward(x);
 * assertAlmostEquals(y.data[0], -1 / Math.sqrt(1 + 1e-5), 1e-6);
 * assertEquals(y.data[1], 0); // a constant feature becomes β
 * assertEquals(Array.from(bn.runningVar.data), [0.5 + 0.5 * 2, 0.5, 0.5 + 0.5 * 2]); // unbiased
 * const one = { shape: [1, 3], data: new Float32Array(3) };
 * assertThrows(() => bn.forward(one), RangeError, "more than 1 value per channel"); // training
 * assertEquals(bn.numBatchesTracked.data[0], 1n); // the failed call counted nothing
 * ```
 */
export class BatchNorm1D extends BatchNormLayer {
  /**
   * Creates the layer with PyTorch's initial state.
   *
   * @param opts `features` (C), `eps`, `momentum`, `dtype`.
   * @throws {RangeError} If features is not a positive integer, eps not positive, momentum
   *   outside [0, 1], or dtype neither "float32" nor "float64".
   * @throws {TypeError} If `opts` is not an object.
   */
  constructor(opts: BatchNormOptions) {
    super("BatchNorm1D", 2, opts);
  }
}
