/**
 * The contract of every layer function, shared by the reference backend (layers/*.ts) and the
 * fast one (layers/fast/*.ts): the options each takes, what it returns, and the cache a forward
 * pass hands to its backward pass. Both backends have exactly these signatures.
 *
 * One vocabulary for everything optional:
 * - geometry: `stride`, `padding` (one number or [rows, cols]); `size` for a pooling window;
 * - `training: false` on a forward pass: no backward pass follows, so it keeps nothing for one
 *   (a backward pass after all still works: it recomputes what it needs from the input);
 * - `inputGradient: false` on a backward pass: dx is not wanted (the input is data), so it is
 *   not computed and the result's dx is null;
 * - `workspace`: where the fast backend may keep and reuse its arrays from call to call
 *   (layers/workspace.ts); results then live there until the next call with that workspace.
 *
 * Ownership: a cache refers to the forward pass's inputs (x, and w for the layers with weights);
 * it does not copy them, as PyTorch saves tensors for backward rather than copies. From the
 * forward pass until its backward pass those arrays belong to the cache: change x or w in
 * between and the backward pass differentiates the changed numbers, so dw (and dx) silently
 * change. PyTorch counts versions of a saved tensor and refuses; convprop does not check, so
 * copy an input you mean to change (an optimiser steps w after backward, which is in order).
 *
 * @module
 */

import type { FloatArray, Tensor } from "../tensor.ts";
import type { Kept, Workspace } from "./workspace.ts";

/** What every forward pass accepts besides its geometry. */
export interface ForwardOptions {
  /** false: no backward pass follows (evaluation), so nothing is kept for one. Default true. */
  training?: boolean;
  /** Where the fast backend keeps its arrays between calls; the reference backend ignores it. */
  workspace?: Workspace;
}

/** What every backward pass accepts. */
export interface BackwardOptions {
  /** Where the fast backend keeps its arrays between calls; the reference backend ignores it. */
  workspace?: Workspace;
}

/** What the backward pass of a layer with parameters accepts. */
export interface ParamBackwardOptions extends BackwardOptions {
  /** false: do not compute dx (the layer's input is data, so nothing upstream needs it); the
   * result's dx is then null, and dw and db are the same bit for bit. Default true. */
  inputGradient?: boolean;
}

/** A forward pass's output and what its backward pass needs. */
export interface ForwardResult<T extends FloatArray, C> {
  /** The output. */
  readonly y: Tensor<T>;
  /** For the backward pass; treat it as opaque. It refers to the inputs, which must not change
   * until the backward pass (see the module's ownership rule). */
  readonly cache: C;
}

/** The gradients of a layer with parameters: with respect to its input, weights and bias (DB is
 * null for a convolution without bias). */
export interface Gradients<T extends FloatArray = FloatArray, DB = Tensor<T>> {
  /** dL/dx, x's shape. */
  readonly dx: Tensor<T>;
  /** dL/dw, w's shape. */
  readonly dw: Tensor<T>;
  /** dL/db, b's shape; null when the layer has no bias. */
  readonly db: DB;
}

/** The gradients with `inputGradient: false`: the parameters' only. */
export interface ParamGradients<T extends FloatArray = FloatArray, DB = Tensor<T>> {
  /** Not computed. */
  readonly dx: null;
  /** dL/dw, w's shape. */
  readonly dw: Tensor<T>;
  /** dL/db, b's shape; null when the layer has no bias. */
  readonly db: DB;
}

/** What a backward pass with options O returns: dx null when O has `inputGradient: false`, and
 * either when O's `inputGradient` is a boolean that may be false. */
export type BackwardResult<T extends FloatArray, O, DB = Tensor<T>> = O extends
  { inputGradient: false } ? ParamGradients<T, DB>
  : false extends ("inputGradient" extends keyof O ? O["inputGradient" & keyof O] : undefined)
    ? Gradients<T, DB> | ParamGradients<T, DB>
  : Gradients<T, DB>;

/** The bias gradient of a convolution whose forward pass had a bias (B true), none (false), or
 * either (boolean). */
export type BiasGradient<T extends FloatArray, B extends boolean> = [B] extends [true] ? Tensor<T>
  : [B] extends [false] ? null
  : Tensor<T> | null;

/** Whether a bias argument (a tensor or null) is a bias, as a type. */
export type HasBias<B> = [B] extends [null] ? false : null extends B ? boolean : true;

/** The sizes of a convolution, checked: x [N,C,H,W], w [D,C/G,kh,kw] -> y [N,D,Ho,Wo], in G
 * groups of C/G input channels and D/G filters each. */
export interface ConvGeometry {
  /** Batch. */
  readonly N: number;
  /** Input channels. */
  readonly C: number;
  /** Input height. */
  readonly H: number;
  /** Input width. */
  readonly W: number;
  /** Filters (output channels). */
  readonly D: number;
  /** Kernel height. */
  readonly kh: number;
  /** Kernel width. */
  readonly kw: number;
  /** Stride [sh, sw]. */
  readonly stride: readonly [number, number];
  /** Zero padding [ph, pw] on each side. */
  readonly padding: readonly [number, number];
  /** Dilation [dh, dw]: the spacing of the kernel's taps. */
  readonly dilation: readonly [number, number];
  /** Groups G: filter d sees the C/G channels of group floor(d / (D/G)) only. */
  readonly groups: number;
  /** Output height. */
  readonly Ho: number;
  /** Output width. */
  readonly Wo: number;
  /** (C/G)·kh·kw: rows of one group's x_col, columns of w_col. */
  readonly K: number;
  /** Ho·Wo: columns of x_col, output positions per sample. */
  readonly P: number;
}

/** Stride, zero padding, dilation and groups of a convolution; each size one number for both
 * axes or [rows, cols]. */
export interface ConvOptions {
  /** Step between windows; default 1. */
  stride?: number | [number, number];
  /** Zeros added on each side; default 0. "same": the output keeps the input's size, which is
   * symmetric (and allowed) only with stride 1 and an odd dilated kernel, dilation·(k − 1) even:
   * padding dilation·(k − 1)/2 on each side. */
  padding?: number | [number, number] | "same";
  /** The spacing of the kernel's taps in the input; default 1 (adjacent). */
  dilation?: number | [number, number];
  /** Split channels and filters into this many independent groups; default 1. C and D must be
   * divisible by it; w is then [D, C/groups, kh, kw]. groups = C is a depthwise convolution. */
  groups?: number;
}

/** Options of `convForward`. */
export interface ConvForwardOptions extends ConvOptions, ForwardOptions {}

/** What `convBackward` needs from the forward pass. Treat it as opaque. B: whether it had a bias. */
export interface ConvCache<T extends FloatArray = FloatArray, B extends boolean = boolean> {
  /** What made it. */
  readonly kind: "conv";
  /** The input [N,C,H,W]. */
  readonly x: Tensor<T>;
  /** The filters [D,C/G,kh,kw]. */
  readonly w: Tensor<T>;
  /** Whether the forward pass added a bias (then backward returns db, else db is null). */
  readonly bias: B;
  /** The sizes. */
  readonly geometry: ConvGeometry;
  /** (fast backend) every sample's x_col [N, K, P], when the forward pass kept them. */
  readonly columns?: Kept<T>;
}

/** The result of `convForward`: y [N, D, Ho, Wo] and the cache. */
export type ConvForwardResult<T extends FloatArray = FloatArray, B extends boolean = boolean> =
  ForwardResult<T, ConvCache<T, B>>;

/** What `fcBackward` needs from the forward pass. Treat it as opaque. */
export interface FcCache<T extends FloatArray = FloatArray> {
  /** What made it. */
  readonly kind: "fc";
  /** The input's own shape [N, ...], which dx gets. */
  readonly xShape: readonly number[];
  /** The weights [D, K]. */
  readonly w: Tensor<T>;
  /** The cache of the convolution it is. */
  readonly conv: ConvCache<T, true>;
}

/** The result of `fcForward`: y [N, D] and the cache. */
export type FcForwardResult<T extends FloatArray = FloatArray> = ForwardResult<T, FcCache<T>>;

/** The sizes of a pooling layer (max or average), checked: x [N,C,H,W] -> y [N,C,Ho,Wo]. */
export interface PoolGeometry {
  /** Batch. */
  readonly N: number;
  /** Channels. */
  readonly C: number;
  /** Input height. */
  readonly H: number;
  /** Input width. */
  readonly W: number;
  /** Window height. */
  readonly kh: number;
  /** Window width. */
  readonly kw: number;
  /** Stride [sh, sw]. */
  readonly stride: readonly [number, number];
  /** Padding [ph, pw] on each side, at most half the window: −∞ for a max pool, cells that are
   * not there for an average (counted in the window's size or not, as `countIncludePad`). */
  readonly padding: readonly [number, number];
  /** Output height, floor((H + 2·ph − kh) / sh) + 1. */
  readonly Ho: number;
  /** Output width. */
  readonly Wo: number;
}

/** Window, stride and padding of a max pool, one number for both axes or [rows, cols]. */
export interface MaxPoolOptions {
  /** The window [kh, kw]. */
  size: number | [number, number];
  /** The step between windows; default `size` (non-overlapping windows). */
  stride?: number | [number, number];
  /** Padding on each side, read as −∞ (so no window's maximum is ever the padding); default 0,
   * at most half the window per axis (2·ph ≤ kh), as PyTorch. */
  padding?: number | [number, number];
}

/** Options of `maxPoolForward`. */
export interface MaxPoolForwardOptions extends MaxPoolOptions, ForwardOptions {}

/** What `maxPoolBackward` needs from the forward pass. Treat it as opaque. */
export interface MaxPoolCache<T extends FloatArray = FloatArray> {
  /** What made it. */
  readonly kind: "maxPool";
  /** The input [N,C,H,W]. */
  readonly x: Tensor<T>;
  /** The sizes. */
  readonly geometry: PoolGeometry;
  /** (fast backend) for each output, the flat index in x of its window's winner, when the
   * forward pass kept them. */
  readonly route?: Kept<Int32Array>;
}

/** The result of `maxPoolForward`: y [N, C, Ho, Wo] and the cache. */
export type MaxPoolForwardResult<T extends FloatArray = FloatArray> = ForwardResult<
  T,
  MaxPoolCache<T>
>;

/** What `reluBackward` needs: the input, whose sign decides where the gradient passes. */
export interface ReluCache<T extends FloatArray = FloatArray> {
  /** What made it. */
  readonly kind: "relu";
  /** The input. */
  readonly x: Tensor<T>;
}

/** The result of `reluForward`: y (x's shape) and the cache. */
export type ReluForwardResult<T extends FloatArray = FloatArray> = ForwardResult<T, ReluCache<T>>;

/** The sizes of a transposed convolution, checked: x [N,C,H,W], w [C,D/G,kh,kw] ->
 * y [N,D,Ho,Wo], Ho = (H − 1)·sh − 2·ph + dh·(kh − 1) + oph + 1, in G groups of C/G input
 * channels and D/G outputs each; and the convolution it is the input gradient of. */
export interface ConvTransposeGeometry {
  /** Batch. */
  readonly N: number;
  /** Input channels C (w's rows, PyTorch's in_channels). */
  readonly C: number;
  /** Input height. */
  readonly H: number;
  /** Input width. */
  readonly W: number;
  /** Output channels D = G · w.shape[1] (PyTorch's out_channels). */
  readonly D: number;
  /** Kernel height. */
  readonly kh: number;
  /** Kernel width. */
  readonly kw: number;
  /** Stride [sh, sw]: the step between the kernel stamps of neighbouring input cells in y. */
  readonly stride: readonly [number, number];
  /** Padding [ph, pw]: rows and columns cropped from each side of the full output. */
  readonly padding: readonly [number, number];
  /** Dilation [dh, dw]: the spacing of the kernel's taps. */
  readonly dilation: readonly [number, number];
  /** Output padding [oph, opw]: rows and columns added back at the bottom and right. */
  readonly outputPadding: readonly [number, number];
  /** Groups G: input channel c feeds only the D/G outputs of group floor(c / (C/G)). */
  readonly groups: number;
  /** Output height Ho. */
  readonly Ho: number;
  /** Output width Wo. */
  readonly Wo: number;
  /**
   * The convolution y → x whose input gradient this is: input [N, D, Ho, Wo], filters w
   * [C, D/G, kh, kw] as stored, the same stride, padding, dilation and groups. Its output
   * [N, C, conv.Ho, conv.Wo] is x's [N, C, H, W], except where an output padding of at least the
   * stride (allowed below the dilation) gives it floor(op/s) more rows or columns, which x has as
   * zeros. conv.K = (D/G)·kh·kw, conv.P = conv.Ho·conv.Wo.
   */
  readonly conv: ConvGeometry;
}

/** Stride, padding, dilation, output padding and groups of a transposed convolution; each size
 * one number for both axes or [rows, cols]. */
export interface ConvTransposeOptions {
  /** Step between the stamps of neighbouring input cells; default 1. */
  stride?: number | [number, number];
  /** Rows and columns cropped from each side of the full output; default 0. */
  padding?: number | [number, number];
  /** The spacing of the kernel's taps; default 1. */
  dilation?: number | [number, number];
  /** Rows and columns added at the bottom and right (the output sizes a stride-s convolution
   * maps to one size); default 0. Each must be smaller than the stride or the dilation of its
   * axis, as in PyTorch. */
  outputPadding?: number | [number, number];
  /** Split channels into this many independent groups; default 1. C must be divisible by it;
   * w is then [C, D/groups, kh, kw]. */
  groups?: number;
}

/** Options of `convTransposeForward`. */
export interface ConvTransposeForwardOptions extends ConvTransposeOptions, ForwardOptions {}

/** What `convTransposeBackward` needs from the forward pass. Treat it as opaque. B: whether it
 * had a bias. */
export interface ConvTransposeCache<
  T extends FloatArray = FloatArray,
  B extends boolean = boolean,
> {
  /** What made it. */
  readonly kind: "convTranspose";
  /** The input [N,C,H,W]. */
  readonly x: Tensor<T>;
  /** The filters [C,D/G,kh,kw]. */
  readonly w: Tensor<T>;
  /** Whether the forward pass added a bias (then backward returns db, else db is null). */
  readonly bias: B;
  /** The sizes. */
  readonly geometry: ConvTransposeGeometry;
}

/** The result of `convTransposeForward`: y [N, D, Ho, Wo] and the cache. */
export type ConvTransposeForwardResult<
  T extends FloatArray = FloatArray,
  B extends boolean = boolean,
> = ForwardResult<T, ConvTransposeCache<T, B>>;
/** The sizes of an average pool, checked: a pool's, and what a window's size counts. */
export interface AvgPoolGeometry extends PoolGeometry {
  /** true: every window divides by kh·kw, padding included; false: by its cells of x only. */
  readonly countIncludePad: boolean;
}

/** Window, stride, padding and divisor of an average pool, each size one number for both axes or
 * [rows, cols]. A window as large as the input (`size: [H, W]`) is global average pooling. */
export interface AvgPoolOptions {
  /** The window [kh, kw]. */
  size: number | [number, number];
  /** The step between windows; default `size` (non-overlapping windows). */
  stride?: number | [number, number];
  /** Padding on each side, read as 0; default 0, at most half the window per axis (2·ph ≤ kh),
   * as PyTorch. */
  padding?: number | [number, number];
  /** Whether a window's mean divides by kh·kw, the padding counted as cells of zeros (true, the
   * default, as PyTorch), or by the number of its cells that are in x (false). */
  countIncludePad?: boolean;
}

/** Options of `avgPoolForward`. */
export interface AvgPoolForwardOptions extends AvgPoolOptions, ForwardOptions {}

/** What `avgPoolBackward` needs from the forward pass: the geometry (and x, for its shape and
 * type; the gradient of a mean does not depend on the values). Treat it as opaque. */
export interface AvgPoolCache<T extends FloatArray = FloatArray> {
  /** What made it. */
  readonly kind: "avgPool";
  /** The input [N,C,H,W]. */
  readonly x: Tensor<T>;
  /** The sizes. */
  readonly geometry: AvgPoolGeometry;
}

/** The result of `avgPoolForward`: y [N, C, Ho, Wo] and the cache. */
export type AvgPoolForwardResult<T extends FloatArray = FloatArray> = ForwardResult<
  T,
  AvgPoolCache<T>
>;

/** The sizes of a batch normalisation, checked: x [N, C, H, W], or [N, C] (then S = 1). */
export interface BatchNormGeometry {
  /** Batch. */
  readonly N: number;
  /** Channels (features). */
  readonly C: number;
  /** Values of one channel in one sample: H·W, or 1 for x [N, C]. */
  readonly S: number;
  /** Values of one channel in the batch, M = N·S: the statistics are taken over them. */
  readonly M: number;
}

/** Options of `batchNormForward`. `training`, `runningMean` and `runningVar` are required. */
export interface BatchNormForwardOptions<T extends FloatArray = FloatArray> extends ForwardOptions {
  /** true: normalise with the batch's mean and (biased) variance and update the running
   * statistics; false (evaluation): normalise with the running statistics, which are left as
   * they are. (A backward pass may follow either.) */
  training: boolean;
  /** The running mean [C], x's array type; updated in place when training. */
  runningMean: Tensor<T>;
  /** The running variance [C] (unbiased, as PyTorch keeps it), x's array type; updated in place
   * when training. */
  runningVar: Tensor<T>;
  /** ε > 0, added to the variance before the square root; default 1e-5. */
  eps?: number;
  /** The running averages' weight of the new batch, in [0, 1]; default 0.1 (PyTorch's). */
  momentum?: number;
}

/** What `batchNormBackward` needs from the forward pass. Treat it as opaque. */
export interface BatchNormCache<T extends FloatArray = FloatArray> {
  /** What made it. */
  readonly kind: "batchNorm";
  /** The input [N, C, H, W] or [N, C]. */
  readonly x: Tensor<T>;
  /** The scale γ [C]. */
  readonly gamma: Tensor<T>;
  /** Whether the forward pass normalised with the batch's statistics (then they depend on x,
   * and so does the backward pass) or with the running ones (constants). */
  readonly training: boolean;
  /** μ [C], float64: the batch's mean (training) or a copy of the running mean. */
  readonly mean: Float64Array;
  /** σ² [C], float64: the batch's biased variance (training) or a copy of the running one. */
  readonly variance: Float64Array;
  /** ε. */
  readonly eps: number;
  /** The sizes. */
  readonly geometry: BatchNormGeometry;
}

/** The result of `batchNormForward`: y (x's shape) and the cache. */
export type BatchNormForwardResult<T extends FloatArray = FloatArray> = ForwardResult<
  T,
  BatchNormCache<T>
>;

/** The gradients of a batch normalisation: with respect to its input, γ and β. */
export interface BatchNormGradients<T extends FloatArray = FloatArray> {
  /** dL/dx, x's shape. */
  readonly dx: Tensor<T>;
  /** dL/dγ [C]. */
  readonly dgamma: Tensor<T>;
  /** dL/dβ [C]. */
  readonly dbeta: Tensor<T>;
}

/** The gradients of a batch normalisation with `inputGradient: false`: γ's and β's only. */
export interface BatchNormParamGradients<T extends FloatArray = FloatArray> {
  /** Not computed. */
  readonly dx: null;
  /** dL/dγ [C]. */
  readonly dgamma: Tensor<T>;
  /** dL/dβ [C]. */
  readonly dbeta: Tensor<T>;
}

/** What `batchNormBackward` returns with options O: dx null when O has `inputGradient: false`,
 * and either when O's `inputGradient` is a boolean that may be false. */
export type BatchNormBackwardResult<T extends FloatArray, O> = O extends { inputGradient: false }
  ? BatchNormParamGradients<T>
  : false extends ("inputGradient" extends keyof O ? O["inputGradient" & keyof O] : undefined)
    ? BatchNormGradients<T> | BatchNormParamGradients<T>
  : BatchNormGradients<T>;
