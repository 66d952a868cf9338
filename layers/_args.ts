// The argument checks of every layer function, shared by the reference backend (layers/*.ts) and
// the fast one (layers/fast/*.ts): both refuse the same input with the same message, naming the
// function, the argument and the shapes, before anything is written; and both get the same
// checked sizes. Private: not part of the public API.

import type { FloatArray, Tensor } from "../tensor.ts";
import {
  checkSameType,
  checkShapeEquals,
  checkTensor,
  describe,
  fmtShape,
  overlaps,
  pairOption,
} from "../_validate.ts";
import { type Im2colGeometry, outputSize } from "../kernels/im2col.ts";
import { Workspace } from "./workspace.ts";
import type {
  AvgPoolCache,
  AvgPoolForwardOptions,
  AvgPoolGeometry,
  BatchNormCache,
  BatchNormForwardOptions,
  BatchNormGeometry,
  ConvCache,
  ConvForwardOptions,
  ConvGeometry,
  ConvTransposeCache,
  ConvTransposeForwardOptions,
  ConvTransposeGeometry,
  FcCache,
  MaxPoolCache,
  MaxPoolForwardOptions,
  ParamBackwardOptions,
  PoolGeometry,
  ReluCache,
} from "./types.ts";

/** The options of each layer function, so a misspelt or outdated one is refused, not ignored. */
const OPTIONS: Readonly<Record<string, readonly string[]>> = {
  convForward: ["stride", "padding", "dilation", "groups", "training", "workspace"],
  convBackward: ["inputGradient", "workspace"],
  fcForward: ["training", "workspace"],
  fcBackward: ["inputGradient", "workspace"],
  maxPoolForward: ["size", "stride", "padding", "training", "workspace"],
  maxPoolBackward: ["workspace"],
  avgPoolForward: ["size", "stride", "padding", "countIncludePad", "training", "workspace"],
  avgPoolBackward: ["workspace"],
  reluForward: ["training", "workspace"],
  reluBackward: ["workspace"],
  convTransposeForward: [
    "stride",
    "padding",
    "dilation",
    "outputPadding",
    "groups",
    "training",
    "workspace",
  ],
  convTransposeBackward: ["inputGradient", "workspace"],
  batchNormForward: ["training", "runningMean", "runningVar", "eps", "momentum", "workspace"],
  batchNormBackward: ["inputGradient", "workspace"],
};

/** The buffer options of convprop 0.1, which a workspace replaced. */
const BUFFERS = ["out", "dx", "dw", "db", "columns", "route"];

/** The largest array a layer call allocates, in elements: 2²⁹, 2 GiB of float32. A geometry
 * that needs a larger output or im2col table is refused before anything is allocated. */
export const MAX_ELEMENTS = 2 ** 29;

/** Throws unless `count` elements (of `what`) fit the bound. */
export function checkSize(fn: string, what: string, count: number, shapes: string): void {
  if (count > MAX_ELEMENTS) {
    throw new RangeError(
      `${fn}: ${what} would have ${
        count.toExponential(3)
      } elements, more than the ${MAX_ELEMENTS} ` +
        `(2^29) a call allocates ${shapes}`,
    );
  }
}

/** Checks the options every call shares: an object (or nothing) of the function's own options
 * only, `training` and `inputGradient` booleans, `workspace` a Workspace. Returns it. */
export function checkOptions<O extends object>(fn: string, opts: O | undefined): O {
  if (opts === undefined) return {} as O;
  if (typeof opts !== "object" || opts === null) {
    throw new TypeError(`${fn}: opts must be an object, got ${describe(opts)}`);
  }
  const known = OPTIONS[fn] ?? [];
  for (const key of Object.keys(opts)) {
    if (known.includes(key)) continue;
    const hint = BUFFERS.includes(key)
      ? "; convprop 0.1's buffers are now a workspace: pass { workspace: new Workspace() }"
      : "";
    throw new TypeError(
      `${fn}: unknown option "${key}" (its options are ${known.join(", ")})${hint}`,
    );
  }
  const o = opts as { training?: unknown; inputGradient?: unknown; workspace?: unknown };
  for (const key of ["training", "inputGradient"] as const) {
    if (o[key] !== undefined && typeof o[key] !== "boolean") {
      throw new TypeError(`${fn}: opts.${key} must be true or false, got ${describe(o[key])}`);
    }
  }
  if (o.workspace !== undefined && !(o.workspace instanceof Workspace)) {
    throw new TypeError(`${fn}: opts.workspace must be a Workspace, got ${describe(o.workspace)}`);
  }
  return opts;
}

/** Checks `groups`: a positive integer dividing both C and D. */
function groupsOption(fn: string, value: unknown, C: number, D: number, shapes: string): number {
  if (value === undefined) return 1;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`${fn}: groups must be a positive integer, got ${JSON.stringify(value)}`);
  }
  if (C % value !== 0 || D % value !== 0) {
    throw new RangeError(
      `${fn}: groups ${value} must divide both the ${C} input channels and the ${D} filters ` +
        shapes,
    );
  }
  return value;
}

/** The padding of "same": d·(k − 1)/2 on each side, where that is symmetric (stride 1, an even
 * d·(k − 1)); anything else is refused rather than padded unevenly. */
function samePadding(
  fn: string,
  stride: readonly [number, number],
  dilation: readonly [number, number],
  kh: number,
  kw: number,
  shapes: string,
): [number, number] {
  const spanH = dilation[0] * (kh - 1), spanW = dilation[1] * (kw - 1);
  if (stride[0] !== 1 || stride[1] !== 1 || spanH % 2 !== 0 || spanW % 2 !== 0) {
    throw new RangeError(
      `${fn}: padding "same" needs stride 1 and an odd dilated kernel (dilation·(k − 1) even) ` +
        `to pad both sides alike; got stride [${stride}], kernel [${kh},${kw}], dilation ` +
        `[${dilation}] ${shapes}`,
    );
  }
  return [spanH / 2, spanW / 2];
}

/** x and w 4-D, b (unless null) 1-D, all of x's element type: a convolution's and a transposed
 * convolution's tensors, before their shapes are compared. */
function checkConvTensors(fn: string, x: Tensor, w: Tensor, b: Tensor | null): void {
  checkTensor(fn, "x", x, 4);
  checkTensor(fn, "w", w, 4);
  checkSameType(fn, "x", x, "w", w);
  if (b !== null) {
    checkTensor(fn, "b", b, 1);
    checkSameType(fn, "x", x, "b", b);
  }
}

/** Checks a convolution's arguments (b may be null: no bias); returns its sizes. */
export function convArgs(
  fn: string,
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  opts: ConvForwardOptions | undefined,
): ConvGeometry {
  const o = checkOptions(fn, opts);
  checkConvTensors(fn, x, w, b);
  const [N, C, H, W] = x.shape;
  const [D, Cw, kh, kw] = w.shape;
  const shapes = `(x ${fmtShape(x.shape)}, w ${fmtShape(w.shape)})`;
  const groups = groupsOption(fn, o.groups, C, D, shapes);
  if (C / groups !== Cw) {
    throw new RangeError(
      groups === 1
        ? `${fn}: x has ${C} channels but w expects ${Cw} ${shapes}`
        : `${fn}: x has ${C} channels in ${groups} groups, ${C / groups} per group, but w ` +
          `expects ${Cw} ${shapes}`,
    );
  }
  if (b !== null && b.shape[0] !== D) {
    throw new RangeError(
      `${fn}: b has ${b.shape[0]} entries but w has ${D} filters (b ${fmtShape(b.shape)}, w ${
        fmtShape(w.shape)
      })`,
    );
  }
  const stride = pairOption(fn, "stride", o.stride, 1, [1, 1], shapes);
  const dilation = pairOption(fn, "dilation", o.dilation, 1, [1, 1], shapes);
  const padding = o.padding === "same"
    ? samePadding(fn, stride, dilation, kh, kw, shapes)
    : pairOption(fn, "padding", o.padding, 0, [0, 0], shapes);
  const [ph, pw] = padding;
  const spanH = dilation[0] * (kh - 1) + 1, spanW = dilation[1] * (kw - 1) + 1;
  if (spanH > H + 2 * ph || spanW > W + 2 * pw) {
    const dilated = spanH === kh && spanW === kw ? "" : ` (dilated: [${spanH},${spanW}])`;
    throw new RangeError(
      `${fn}: kernel [${kh},${kw}]${dilated} is larger than the padded input ` +
        `[${H + 2 * ph},${W + 2 * pw}] ${shapes}, padding [${ph},${pw}]`,
    );
  }
  const Ho = outputSize(H, kh, stride[0], ph, dilation[0]);
  const Wo = outputSize(W, kw, stride[1], pw, dilation[1]);
  const K = (C / groups) * kh * kw;
  const ctx = `${shapes}, stride [${stride}], padding [${padding}], dilation [${dilation}]`;
  checkSize(fn, `y [${N},${D},${Ho},${Wo}]`, N * D * Ho * Wo, ctx);
  checkSize(fn, `the im2col table [${K},${Ho * Wo}]`, K * Ho * Wo, ctx);
  return {
    N,
    C,
    H,
    W,
    D,
    kh,
    kw,
    stride,
    padding,
    dilation,
    groups,
    Ho,
    Wo,
    K,
    P: Ho * Wo,
  };
}

/** The im2col geometry of one group of one sample of a convolution: its C/G channels. */
export function convTableGeometry(g: ConvGeometry): Im2colGeometry {
  return {
    channels: g.C / g.groups,
    height: g.H,
    width: g.W,
    kernel: [g.kh, g.kw],
    stride: g.stride,
    padding: g.padding,
    dilation: g.dilation,
  };
}

/** Checks that `cache` is what `what` returned: an object of that kind. */
function checkCache(fn: string, cache: unknown, what: string, kind: string): void {
  if (typeof cache !== "object" || cache === null || (cache as { kind?: unknown }).kind !== kind) {
    throw new TypeError(`${fn}: cache must be the cache returned by ${what}`);
  }
}

/** Checks dy and the options of a backward pass against the forward pass's output shape. */
function checkDy(
  fn: string,
  dy: Tensor,
  like: Tensor,
  yShape: readonly number[],
  yName: string,
): void {
  checkTensor(fn, "dy", dy);
  checkShapeEquals(fn, "dy", dy, yShape, yName);
  checkSameType(fn, "x", like, "dy", dy);
}

/** Checks a convolution's backward arguments; returns the forward pass's sizes. */
export function convBackwardArgs<T extends FloatArray>(
  fn: string,
  dy: Tensor<T>,
  cache: ConvCache<T>,
  opts: ParamBackwardOptions | undefined,
): ConvGeometry {
  checkCache(fn, cache, "convForward", "conv");
  checkOptions(fn, opts);
  const g = cache.geometry;
  checkDy(fn, dy, cache.x, [g.N, g.D, g.Ho, g.Wo], "y");
  return g;
}

/** The sizes of a fully connected layer: x [N, ...] with K features, w [D, K]. */
export interface FcGeometry {
  /** Batch. */
  readonly N: number;
  /** Features per sample. */
  readonly K: number;
  /** Outputs per sample. */
  readonly D: number;
  /** x as the input of the convolution it is: [N, C, H, W] stays, else [N, K, 1, 1]. */
  readonly image: readonly [number, number, number, number];
}

/** Checks a fully connected layer's arguments; returns its sizes. */
export function fcArgs(
  fn: string,
  x: Tensor,
  w: Tensor,
  b: Tensor,
  opts: object | undefined,
): FcGeometry {
  checkOptions(fn, opts);
  checkTensor(fn, "x", x, { min: 2 });
  checkTensor(fn, "w", w, 2);
  checkTensor(fn, "b", b, 1);
  checkSameType(fn, "x", x, "w", w);
  checkSameType(fn, "x", x, "b", b);
  const N = x.shape[0], K = x.data.length / N;
  const [D, Kw] = w.shape;
  if (Kw !== K) {
    throw new RangeError(
      `${fn}: x has ${K} features per sample but w expects ${Kw} (x ${fmtShape(x.shape)}, w ${
        fmtShape(w.shape)
      })`,
    );
  }
  if (b.shape[0] !== D) {
    throw new RangeError(
      `${fn}: b has ${b.shape[0]} entries but w has ${D} rows (b ${fmtShape(b.shape)}, w ${
        fmtShape(w.shape)
      })`,
    );
  }
  const [, C, H, W] = x.shape;
  return { N, K, D, image: x.shape.length === 4 ? [N, C, H, W] : [N, K, 1, 1] };
}

/** The convolution a fully connected layer is: its kernel covers the input, one position. */
export function fcConvGeometry(g: FcGeometry): ConvGeometry {
  const [N, C, H, W] = g.image;
  const one = [1, 1] as const, zero = [0, 0] as const;
  return {
    N,
    C,
    H,
    W,
    D: g.D,
    kh: H,
    kw: W,
    stride: one,
    padding: zero,
    dilation: one,
    groups: 1,
    Ho: 1,
    Wo: 1,
    K: g.K,
    P: 1,
  };
}

/** Checks a fully connected layer's backward arguments (once: the convolution it runs is not
 * checked again). */
export function fcBackwardArgs<T extends FloatArray>(
  fn: string,
  dy: Tensor<T>,
  cache: FcCache<T>,
  opts: ParamBackwardOptions | undefined,
): void {
  checkCache(fn, cache, "fcForward", "fc");
  checkOptions(fn, opts);
  checkDy(fn, dy, cache.w, [cache.xShape[0], cache.w.shape[0]], "y");
}

/** Checks a max pool's arguments; returns its sizes. */
export function poolArgs(
  fn: string,
  x: Tensor,
  opts: MaxPoolForwardOptions,
): PoolGeometry {
  checkTensor(fn, "x", x, 4);
  if (typeof opts !== "object" || opts === null) {
    throw new TypeError(`${fn}: opts must be an object with a size, as { size: 2 }`);
  }
  checkOptions(fn, opts);
  return poolWindows(fn, x, opts);
}

/** The window, stride and padding of a pool (max or average), checked against x: padding at
 * most half the window per axis (PyTorch's rule, which leaves a cell of x in every window), the
 * window no larger than the padded input, the output and the table within the size bound. */
function poolWindows(
  fn: string,
  x: Tensor,
  opts: { size?: unknown; stride?: unknown; padding?: unknown },
): PoolGeometry {
  if (opts.size === undefined) throw new TypeError(`${fn}: opts.size is required, as { size: 2 }`);
  const ctx = `(x ${fmtShape(x.shape)})`;
  const [kh, kw] = pairOption(fn, "size", opts.size, 1, [1, 1], ctx);
  const stride = pairOption(fn, "stride", opts.stride, 1, [kh, kw], ctx);
  const padding = pairOption(fn, "padding", opts.padding, 0, [0, 0], ctx);
  const [ph, pw] = padding, [N, C, H, W] = x.shape;
  if (2 * ph > kh || 2 * pw > kw) {
    throw new RangeError(
      `${fn}: padding [${ph},${pw}] must be at most half the window size [${kh},${kw}] on each ` +
        `axis (2·padding ≤ size, as PyTorch: so that every window holds a cell of x) ${ctx}`,
    );
  }
  if (kh > H + 2 * ph || kw > W + 2 * pw) {
    const padded = ph + pw === 0 ? "" : ` padded by [${ph},${pw}] to [${H + 2 * ph},${W + 2 * pw}]`;
    throw new RangeError(
      `${fn}: size [${kh},${kw}] (the window) is larger than the input${padded} ${ctx}`,
    );
  }
  const Ho = outputSize(H, kh, stride[0], ph), Wo = outputSize(W, kw, stride[1], pw);
  const geo = `${ctx}, size [${kh},${kw}], stride [${stride}], padding [${padding}]`;
  checkSize(fn, `y [${N},${C},${Ho},${Wo}]`, N * C * Ho * Wo, geo);
  checkSize(fn, `the im2col table [${kh * kw},${Ho * Wo}]`, kh * kw * Ho * Wo, geo);
  return { N, C, H, W, kh, kw, stride, padding, Ho, Wo };
}

/** Checks an average pool's arguments (those of a max pool, and `countIncludePad` a boolean);
 * returns its sizes. */
export function avgPoolArgs(
  fn: string,
  x: Tensor,
  opts: AvgPoolForwardOptions,
): AvgPoolGeometry {
  checkTensor(fn, "x", x, 4);
  if (typeof opts !== "object" || opts === null) {
    throw new TypeError(`${fn}: opts must be an object with a size, as { size: 2 }`);
  }
  checkOptions(fn, opts);
  const cip: unknown = opts.countIncludePad;
  if (cip !== undefined && typeof cip !== "boolean") {
    throw new TypeError(`${fn}: opts.countIncludePad must be true or false, got ${describe(cip)}`);
  }
  return { ...poolWindows(fn, x, opts), countIncludePad: cip ?? true };
}

/** The im2col geometry of one channel of one sample of a pool (max or average). */
export function poolTableGeometry(g: PoolGeometry): Im2colGeometry {
  return {
    channels: 1,
    height: g.H,
    width: g.W,
    kernel: [g.kh, g.kw],
    stride: g.stride,
    padding: g.padding,
  };
}

/** Checks a pooling layer's window, stride and padding (size and stride positive integers,
 * padding non-negative and at most half the window on each axis) and, when given,
 * `countIncludePad` a boolean: what a layer object can check before it sees an input. */
export function checkPoolWindow(
  fn: string,
  opts: { size: unknown; stride?: unknown; padding?: unknown; countIncludePad?: unknown },
): void {
  const [kh, kw] = pairOption(fn, "size", opts.size, 1, [1, 1]);
  pairOption(fn, "stride", opts.stride, 1, [1, 1]);
  const [ph, pw] = pairOption(fn, "padding", opts.padding, 0, [0, 0]);
  if (2 * ph > kh || 2 * pw > kw) {
    throw new RangeError(
      `${fn}: padding [${ph},${pw}] must be at most half the window size [${kh},${kw}] on each ` +
        `axis (2·padding ≤ size, as PyTorch)`,
    );
  }
  const cip = opts.countIncludePad;
  if (cip !== undefined && typeof cip !== "boolean") {
    throw new TypeError(`${fn}: countIncludePad must be true or false, got ${describe(cip)}`);
  }
}

/** Checks a max pool's backward arguments; returns the forward pass's sizes. */
export function poolBackwardArgs<T extends FloatArray>(
  fn: string,
  dy: Tensor<T>,
  cache: MaxPoolCache<T>,
  opts: object | undefined,
): PoolGeometry {
  checkCache(fn, cache, "maxPoolForward", "maxPool");
  checkOptions(fn, opts);
  const g = cache.geometry;
  checkDy(fn, dy, cache.x, [g.N, g.C, g.Ho, g.Wo], "y");
  return g;
}

/** Checks an average pool's backward arguments; returns the forward pass's sizes. */
export function avgPoolBackwardArgs<T extends FloatArray>(
  fn: string,
  dy: Tensor<T>,
  cache: AvgPoolCache<T>,
  opts: object | undefined,
): AvgPoolGeometry {
  checkCache(fn, cache, "avgPoolForward", "avgPool");
  checkOptions(fn, opts);
  const g = cache.geometry;
  checkDy(fn, dy, cache.x, [g.N, g.C, g.Ho, g.Wo], "y");
  return g;
}

/** Checks ReLU's forward arguments. */
export function reluArgs(fn: string, x: Tensor, opts: object | undefined): void {
  checkOptions(fn, opts);
  checkTensor(fn, "x", x);
}

/** Checks ReLU's backward arguments. */
export function reluBackwardArgs<T extends FloatArray>(
  fn: string,
  dy: Tensor<T>,
  cache: ReluCache<T>,
  opts: object | undefined,
): void {
  checkCache(fn, cache, "reluForward", "relu");
  checkOptions(fn, opts);
  checkDy(fn, dy, cache.x, cache.x.shape, "x");
}

/** Checks a transposed convolution's arguments (b may be null: no bias); returns its sizes and
 * those of the convolution it is the input gradient of. */
export function convTransposeArgs(
  fn: string,
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  opts: ConvTransposeForwardOptions | undefined,
): ConvTransposeGeometry {
  const o = checkOptions(fn, opts);
  checkConvTensors(fn, x, w, b);
  const [N, C, H, W] = x.shape;
  const [Cw, Dg, kh, kw] = w.shape;
  const shapes = `(x ${fmtShape(x.shape)}, w ${fmtShape(w.shape)})`;
  if (Cw !== C) {
    throw new RangeError(
      `${fn}: x has ${C} channels but w has ${Cw} rows; a transposed convolution's w is ` +
        `[C, D/groups, kh, kw], one row per input channel ${shapes}`,
    );
  }
  const g = o.groups;
  if (g !== undefined && (typeof g !== "number" || !Number.isInteger(g) || g < 1)) {
    throw new RangeError(`${fn}: groups must be a positive integer, got ${JSON.stringify(g)}`);
  }
  const groups = g ?? 1, D = groups * Dg; // D/G = w.shape[1], so groups divides D
  if (C % groups !== 0) {
    throw new RangeError(`${fn}: groups ${groups} must divide the ${C} input channels ${shapes}`);
  }
  if (b !== null && b.shape[0] !== D) {
    throw new RangeError(
      `${fn}: b has ${b.shape[0]} entries but the output has ${D} channels (groups ${groups} ` +
        `× w.shape[1] ${Dg}) (b ${fmtShape(b.shape)}, w ${fmtShape(w.shape)})`,
    );
  }
  const stride = pairOption(fn, "stride", o.stride, 1, [1, 1], shapes);
  const dilation = pairOption(fn, "dilation", o.dilation, 1, [1, 1], shapes);
  const padding = pairOption(fn, "padding", o.padding, 0, [0, 0], shapes);
  const outputPadding = pairOption(fn, "outputPadding", o.outputPadding, 0, [0, 0], shapes);
  for (const a of [0, 1]) {
    if (outputPadding[a] >= stride[a] && outputPadding[a] >= dilation[a]) {
      throw new RangeError(
        `${fn}: outputPadding [${outputPadding}] must be smaller than the stride [${stride}] or ` +
          `the dilation [${dilation}] on each axis, as in PyTorch ${shapes}`,
      );
    }
  }
  // the full output, every stamp whole, less the padding cropped from each side
  const full = (n: number, a: 0 | 1, k: number) =>
    (n - 1) * stride[a] + dilation[a] * (k - 1) + 1 + outputPadding[a];
  const Ho = full(H, 0, kh) - 2 * padding[0], Wo = full(W, 1, kw) - 2 * padding[1];
  const ctx = `${shapes}, stride [${stride}], padding [${padding}], dilation [${dilation}], ` +
    `outputPadding [${outputPadding}]`;
  if (Ho < 1 || Wo < 1) {
    throw new RangeError(
      `${fn}: the output would be [${N},${D},${Ho},${Wo}]: padding [${padding}] crops more ` +
        `than the full output [${full(H, 0, kh)},${full(W, 1, kw)}] has ${ctx}`,
    );
  }
  // the convolution y -> x: its output floors back to [H, W] (one more row or column per
  // stride in an output padding of at least the stride, which PyTorch allows below the dilation)
  const Hc = outputSize(Ho, kh, stride[0], padding[0], dilation[0]);
  const Wc = outputSize(Wo, kw, stride[1], padding[1], dilation[1]);
  const K = Dg * kh * kw;
  checkSize(fn, `y [${N},${D},${Ho},${Wo}]`, N * D * Ho * Wo, ctx);
  checkSize(fn, `the im2col table [${K},${Hc * Wc}]`, K * Hc * Wc, ctx);
  checkSize(fn, `x as the convolution's output [${N},${C},${Hc},${Wc}]`, N * C * Hc * Wc, ctx);
  const conv: ConvGeometry = {
    N,
    C: D,
    H: Ho,
    W: Wo,
    D: C,
    kh,
    kw,
    stride,
    padding,
    dilation,
    groups,
    Ho: Hc,
    Wo: Wc,
    K,
    P: Hc * Wc,
  };
  return {
    N,
    C,
    H,
    W,
    D,
    kh,
    kw,
    stride,
    padding,
    dilation,
    outputPadding,
    groups,
    Ho,
    Wo,
    conv,
  };
}

/** Checks a transposed convolution's backward arguments; returns the forward pass's sizes. */
export function convTransposeBackwardArgs<T extends FloatArray>(
  fn: string,
  dy: Tensor<T>,
  cache: ConvTransposeCache<T>,
  opts: ParamBackwardOptions | undefined,
): ConvTransposeGeometry {
  checkCache(fn, cache, "convTransposeForward", "convTranspose");
  checkOptions(fn, opts);
  const g = cache.geometry;
  checkDy(fn, dy, cache.x, [g.N, g.D, g.Ho, g.Wo], "y");
  return g;
}

/** A batch normalisation's checked arguments: its sizes, options with their defaults, and the
 * running statistics. */
export interface BatchNormArgs<T extends FloatArray = FloatArray> extends BatchNormGeometry {
  /** Batch statistics (true) or the running ones (false). */
  readonly training: boolean;
  /** ε > 0. */
  readonly eps: number;
  /** The running averages' weight of the new batch, in [0, 1]. */
  readonly momentum: number;
  /** The running mean [C]. */
  readonly runningMean: Tensor<T>;
  /** The running variance [C]. */
  readonly runningVar: Tensor<T>;
}

/** Checks a batch normalisation's arguments, all of them before anything is written (the
 * running statistics are updated in place only after); returns its sizes and options. */
export function batchNormArgs<T extends FloatArray>(
  fn: string,
  x: Tensor<T>,
  gamma: Tensor<T>,
  beta: Tensor<T>,
  opts: BatchNormForwardOptions<T>,
): BatchNormArgs<T> {
  if (typeof opts !== "object" || opts === null) {
    throw new TypeError(
      `${fn}: opts must be an object, as { training: true, runningMean, runningVar }; got ` +
        describe(opts),
    );
  }
  checkOptions(fn, opts);
  if (typeof opts.training !== "boolean") {
    throw new TypeError(
      `${fn}: opts.training is required: true (normalise with the batch's statistics and ` +
        `update the running ones) or false (normalise with the running statistics)`,
    );
  }
  checkTensor(fn, "x", x);
  const rank = x.shape.length;
  if (rank !== 2 && rank !== 4) {
    throw new RangeError(
      `${fn}: x must be [N, C, H, W] or [N, C], got ${rank} dimensions (x ${fmtShape(x.shape)})`,
    );
  }
  const [N, C] = x.shape, S = rank === 4 ? x.shape[2] * x.shape[3] : 1;
  const vectors = { gamma, beta, runningMean: opts.runningMean, runningVar: opts.runningVar };
  for (const [name, t] of Object.entries(vectors)) {
    const arg = name.startsWith("running") ? `opts.${name}` : name;
    checkTensor(fn, arg, t);
    if (t.shape.length !== 1 || t.shape[0] !== C) {
      throw new RangeError(
        `${fn}: ${arg} must be [C] = [${C}], one entry per channel of x, got ${
          fmtShape(t.shape)
        } (x ${fmtShape(x.shape)})`,
      );
    }
    checkSameType(fn, "x", x, arg, t);
  }
  const eps = opts.eps ?? 1e-5, momentum = opts.momentum ?? 0.1;
  for (const [name, v] of [["eps", eps], ["momentum", momentum]] as const) {
    if (typeof v !== "number") {
      throw new TypeError(`${fn}: opts.${name} must be a number, got ${describe(v)}`);
    }
  }
  if (!(eps > 0) || !Number.isFinite(eps)) {
    throw new RangeError(`${fn}: opts.eps must be a positive finite number, got ${eps}`);
  }
  if (!(momentum >= 0 && momentum <= 1)) {
    throw new RangeError(`${fn}: opts.momentum must be in [0, 1], got ${momentum}`);
  }
  const M = N * S;
  if (opts.training && M < 2) {
    throw new RangeError(
      `${fn}: training needs more than 1 value per channel to estimate a variance, but x ` +
        `${fmtShape(x.shape)} has ${M} (N·H·W); use training: false (the running statistics)`,
    );
  }
  const { runningMean, runningVar, training } = opts;
  if (training) {
    // written in place after y is computed: they must not share memory with what is read, or
    // with each other
    const pairs: [string, FloatArray, string, FloatArray][] = [
      ["runningMean", runningMean.data, "runningVar", runningVar.data],
    ];
    for (const [name, a] of [["runningMean", runningMean.data], ["runningVar", runningVar.data]]) {
      for (const [other, b] of [["x", x.data], ["gamma", gamma.data], ["beta", beta.data]]) {
        pairs.push([name as string, a as FloatArray, other as string, b as FloatArray]);
      }
    }
    for (const [name, a, other, b] of pairs) {
      if (overlaps(a, b)) {
        throw new RangeError(
          `${fn}: opts.${name} shares memory with ${other}; the running statistics are ` +
            `updated in place, so pass separate arrays`,
        );
      }
    }
  }
  return { N, C, S, M, training, eps, momentum, runningMean, runningVar };
}

/** Checks a batch normalisation's backward arguments; returns the forward pass's sizes. */
export function batchNormBackwardArgs<T extends FloatArray>(
  fn: string,
  dy: Tensor<T>,
  cache: BatchNormCache<T>,
  opts: object | undefined,
): BatchNormGeometry {
  checkCache(fn, cache, "batchNormForward", "batchNorm");
  checkOptions(fn, opts);
  checkDy(fn, dy, cache.x, cache.x.shape, "x");
  return cache.geometry;
}
