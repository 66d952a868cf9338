/**
 * Networks described as data: a list of layer specifications, which {@link buildNetwork} turns
 * into a {@link Sequential} with freshly initialised weights. A checkpoint stores the list next to
 * the weights, so it can be rebuilt (here, or as a PyTorch `nn.Sequential`) without code.
 *
 * Initialisation: convolution and fully connected weights are He-normal, N(0, 2/fan_in) (the
 * right variance for ReLU networks; docs/training.md derives it), biases zero, all drawn in layer
 * order from one seeded `mulberry32` stream: the same seed gives the same network bit for bit.
 * Batch normalisation starts as PyTorch's does (γ = 1, β = 0, running mean 0 and variance 1) and
 * draws nothing. "batchnorm2d" normalises images [N, C, H, W] (after a convolution), "batchnorm1d"
 * features [N, C] (after a fully connected layer): two types, as PyTorch's two modules, so a
 * layer list says which without knowing the shapes that will flow through it.
 *
 * @module
 */

import type { Layer } from "../layers/layer.ts";
import { Conv2D } from "../layers/conv_layer.ts";
import { ConvTranspose2D } from "../layers/conv_transpose_layer.ts";
import { FullyConnected } from "../layers/fully_connected_layer.ts";
import { MaxPool2D } from "../layers/max_pool_layer.ts";
import { AvgPool2D, GlobalAvgPool2D } from "../layers/avg_pool_layer.ts";
import { ReLU } from "../layers/relu_layer.ts";
import { Flatten } from "../layers/flatten.ts";
import { Dropout } from "../layers/dropout.ts";
import { BatchNorm1D, BatchNorm2D } from "../layers/batch_norm_layer.ts";
import { mulberry32, type Rng } from "../random.ts";
import { Sequential } from "./sequential.ts";

/** One layer of a network, as data (JSON). */
export type LayerSpec =
  | {
    type: "conv";
    inChannels: number;
    outChannels: number;
    /** The kernel's size (checkpoints of convprop 0.1 call it `kernelSize`, which is read too). */
    size: number;
    stride?: number;
    /** Zeros on each side, or "same" (stride 1, odd kernel). */
    padding?: number | "same";
    dilation?: number;
    /** Default 1; `groups: inChannels` is depthwise. */
    groups?: number;
    /** Default true. */
    bias?: boolean;
  }
  | { type: "relu" }
  | {
    type: "maxpool";
    size: number;
    /** Default `size`. */
    stride?: number;
    /** Default 0; read as −∞, at most size/2. */
    padding?: number;
  }
  | {
    type: "avgpool";
    size: number;
    /** Default `size`. */
    stride?: number;
    /** Default 0; read as 0, at most size/2. */
    padding?: number;
    /** Whether a window divides by size² (true, the default) or by its cells of the input. */
    countIncludePad?: boolean;
  }
  /** Each channel's mean over the whole input, [N, C, H, W] -> [N, C, 1, 1]. */
  | { type: "globalavgpool" }
  | { type: "flatten" }
  | { type: "fc"; inFeatures: number; outFeatures: number }
  | { type: "dropout"; p: number }
  | {
    type: "convTranspose";
    inChannels: number;
    outChannels: number;
    /** The kernel's size. */
    size: number;
    stride?: number;
    /** Rows and columns cropped from each side of the full output. */
    padding?: number;
    /** Rows and columns added at the bottom and right; below the stride or the dilation. */
    outputPadding?: number;
    dilation?: number;
    /** Default 1; inChannels and outChannels must be divisible by it. */
    groups?: number;
    /** Default true. */
    bias?: boolean;
  }
  /** Batch normalisation of images [N, C, H, W] (BatchNorm2D; PyTorch's nn.BatchNorm2d). */
  | { type: "batchnorm2d"; features: number; eps?: number; momentum?: number }
  /** Batch normalisation of features [N, C] (BatchNorm1D; PyTorch's nn.BatchNorm1d). */
  | { type: "batchnorm1d"; features: number; eps?: number; momentum?: number };

/** Options of {@link buildNetwork} and the model builders. */
export interface BuildOptions {
  /** Seed of the initial weights (and dropout masks); default 0. Ignored when `rng` is given. */
  seed?: number;
  /** The random source, instead of a seed. */
  rng?: Rng;
  /** Element type of the parameters; default "float32". */
  dtype?: "float32" | "float64";
}

/**
 * Builds a network from its specification, initialising weights He-normal from the seed.
 *
 * @param spec The layers, input first.
 * @param opts Seed (or random source) and element type.
 * @returns The network, in training mode.
 * @throws {RangeError} If a layer type is unknown or a size is invalid (as the layer's
 *   constructor reports it), or the spec is empty.
 *
 * @example
 * ```ts
 * import { buildNetwork } from "./models.ts";
 * import { assertEquals } from "@std/assert";
 * const net = buildNetwork([
 *   { type: "conv", inChannels: 1, outChannels: 2, size: 3 },
 *   { type: "relu" },
 *   { type: "flatten" },
 *   { type: "fc", inFeatures: 2 * 2 * 2, outFeatures: 3 },
 * ], { seed: 7 });
 * const y = net.forward({ shape: [5, 1, 4, 4], data: new Float32Array(80).fill(1) });
 * assertEquals(y.shape, [5, 3]);
 * const again = buildNetwork([{ type: "fc", inFeatures: 4, outFeatures: 2 }], { seed: 7 });
 * assertEquals(again.params()[0].value, buildNetwork([{ type: "fc", inFeatures: 4, outFeatures: 2 }], { seed: 7 }).params()[0].value);
 * ```
 */
export function buildNetwork(spec: readonly LayerSpec[], opts: BuildOptions = {}): Sequential {
  if (!Array.isArray(spec) || spec.length === 0) {
    throw new RangeError("buildNetwork: spec must be a non-empty array of layers");
  }
  const rng = opts.rng ?? mulberry32(opts.seed ?? 0);
  const dtype = opts.dtype ?? "float32";
  const layers: Layer[] = spec.map((s, i): Layer => {
    switch (s?.type) {
      case "conv":
        return new Conv2D({
          inChannels: s.inChannels,
          outChannels: s.outChannels,
          size: s.size ?? (s as { kernelSize?: number }).kernelSize,
          stride: s.stride ?? 1,
          padding: s.padding ?? 0,
          dilation: s.dilation ?? 1,
          groups: s.groups ?? 1,
          bias: s.bias ?? true,
          dtype,
          rng,
        });
      case "relu":
        return new ReLU();
      case "maxpool":
        return new MaxPool2D({ size: s.size, stride: s.stride ?? s.size, padding: s.padding ?? 0 });
      case "avgpool":
        return new AvgPool2D({
          size: s.size,
          stride: s.stride ?? s.size,
          padding: s.padding ?? 0,
          countIncludePad: s.countIncludePad ?? true,
        });
      case "globalavgpool":
        return new GlobalAvgPool2D();
      case "flatten":
        return new Flatten();
      case "fc":
        return new FullyConnected({
          inFeatures: s.inFeatures,
          outFeatures: s.outFeatures,
          dtype,
          rng,
        });
      case "dropout":
        return new Dropout({ p: s.p, rng });
      case "convTranspose":
        return new ConvTranspose2D({
          inChannels: s.inChannels,
          outChannels: s.outChannels,
          size: s.size,
          stride: s.stride ?? 1,
          padding: s.padding ?? 0,
          outputPadding: s.outputPadding ?? 0,
          dilation: s.dilation ?? 1,
          groups: s.groups ?? 1,
          bias: s.bias ?? true,
          dtype,
          rng,
        });
      case "batchnorm2d":
      case "batchnorm1d": {
        const opts = { features: s.features, eps: s.eps, momentum: s.momentum, dtype };
        return s.type === "batchnorm2d" ? new BatchNorm2D(opts) : new BatchNorm1D(opts);
      }
      default:
        throw new RangeError(
          `buildNetwork: spec[${i}] has unknown type ${JSON.stringify(s?.type)} (conv, relu, ` +
            `maxpool, flatten, fc, dropout, convTranspose, avgpool, globalavgpool, batchnorm2d, batchnorm1d)`,
        );
    }
  });
  return new Sequential(layers);
}

/**
 * The parameters and buffers {@link buildNetwork} would give a layer list, by name and shape,
 * without making them: what a checkpoint's tensors must be before anything as large is
 * allocated.
 *
 * @param spec The layers, input first.
 * @returns One `{ name, shape }` per parameter and buffer, in PyTorch's state-dict order
 *   (`"<index>.weight"`, `"<index>.bias"`, then a batch norm's `"<index>.running_mean"`,
 *   `"<index>.running_var"` and `"<index>.num_batches_tracked"`, shape []), or null when a
 *   layer's sizes are not positive integers (`buildNetwork` then says why).
 *   Layers without parameters (ReLU, pooling, flatten, dropout) have none but count in the
 *   indices, as in PyTorch's `nn.Sequential`.
 *
 * @example
 * ```ts
 * import { specShapes } from "./models.ts";
 * import { assertEquals } from "@std/assert";
 * const shapes = specShapes([{ type: "conv", inChannels: 1, outChannels: 4, size: 3 }, { type: "relu" }]);
 * assertEquals(shapes, [{ name: "0.weight", shape: [4, 1, 3, 3] }, { name: "0.bias", shape: [4] }]);
 * // a global-average-pooling head: the pool and the flatten hold no parameters
 * const head = specShapes([
 *   { type: "globalavgpool" },
 *   { type: "flatten" },
 *   { type: "fc", inFeatures: 4, outFeatures: 10 },
 * ]);
 * assertEquals(head?.map((p) => p.name), ["2.weight", "2.bias"]);
 * const bn = specShapes([{ type: "batchnorm2d", features: 4 }]);
 * assertEquals(bn?.map((p) => `${p.name} [${p.shape}]`), [
 *   "0.weight [4]",
 *   "0.bias [4]",
 *   "0.running_mean [4]",
 *   "0.running_var [4]",
 *   "0.num_batches_tracked []", // an int64 scalar, as PyTorch stores it
 * ]);
 * ```
 */
export function specShapes(
  spec: readonly LayerSpec[],
): { name: string; shape: number[] }[] | null {
  if (!Array.isArray(spec)) return null;
  const out: { name: string; shape: number[] }[] = [];
  const sizes = (...v: unknown[]) => v.every((n) => Number.isInteger(n) && (n as number) > 0);
  for (const [i, s] of spec.entries()) {
    if (s?.type === "conv") {
      const k = s.size ?? (s as { kernelSize?: number }).kernelSize, G = s.groups ?? 1;
      if (!sizes(s.inChannels, s.outChannels, k, G) || s.inChannels % G !== 0) return null;
      out.push({ name: `${i}.weight`, shape: [s.outChannels, s.inChannels / G, k!, k!] });
      if (s.bias !== false) out.push({ name: `${i}.bias`, shape: [s.outChannels] });
    } else if (s?.type === "convTranspose") {
      // PyTorch's ConvTranspose2d weight: [in_channels, out_channels / groups, kh, kw]
      const k = s.size, G = s.groups ?? 1;
      const ok = sizes(s.inChannels, s.outChannels, k, G);
      if (!ok || s.inChannels % G !== 0 || s.outChannels % G !== 0) return null;
      out.push({ name: `${i}.weight`, shape: [s.inChannels, s.outChannels / G, k, k] });
      if (s.bias !== false) out.push({ name: `${i}.bias`, shape: [s.outChannels] });
    } else if (s?.type === "fc") {
      if (!sizes(s.inFeatures, s.outFeatures)) return null;
      out.push({ name: `${i}.weight`, shape: [s.outFeatures, s.inFeatures] });
      out.push({ name: `${i}.bias`, shape: [s.outFeatures] });
    } else if (s?.type === "batchnorm2d" || s?.type === "batchnorm1d") {
      if (!sizes(s.features)) return null;
      for (const name of ["weight", "bias", "running_mean", "running_var"]) {
        out.push({ name: `${i}.${name}`, shape: [s.features] });
      }
      out.push({ name: `${i}.num_batches_tracked`, shape: [] });
    }
  }
  return out;
}

/**
 * The default network, small enough to train one epoch over the 60,000 MNIST images in well under
 * two minutes on one CPU core, and above 98.8% test accuracy after that one epoch:
 * conv 5×5 1→24 pad 2, ReLU, max-pool 2 (28→28→14); conv 5×5 24→64, ReLU, max-pool 2
 * (14→10→5); flatten, fully connected 1600→10. 55,098 parameters. (LeNet-5's shape with wider
 * convolutions and no hidden fully connected layers: convolutions share their weights over the
 * image, so width there buys accuracy cheaply per parameter.)
 *
 * @example
 * ```ts
 * import { buildNetwork, SMALL_NET } from "./models.ts";
 * import { assertEquals } from "@std/assert";
 * const net = buildNetwork(SMALL_NET, { seed: 1 });
 * assertEquals(net.params().reduce((n, p) => n + p.value.data.length, 0), 55098);
 * const y = net.forward({ shape: [2, 1, 28, 28], data: new Float32Array(2 * 784) });
 * assertEquals(y.shape, [2, 10]);
 * ```
 */
export const SMALL_NET: readonly LayerSpec[] = [
  { type: "conv", inChannels: 1, outChannels: 24, size: 5, padding: 2 },
  { type: "relu" },
  { type: "maxpool", size: 2 },
  { type: "conv", inChannels: 24, outChannels: 64, size: 5 },
  { type: "relu" },
  { type: "maxpool", size: 2 },
  { type: "flatten" },
  { type: "fc", inFeatures: 64 * 5 * 5, outFeatures: 10 },
];

/**
 * LeNet-5 (LeCun et al., 1998) in its common modern form: ReLU for the scaled tanh and max-pool
 * for the trainable sub-sampling, the first convolution padded so 28×28 MNIST digits play the role
 * of the original 32×32 input, and C5 as the fully connected layer it is on 5×5 maps:
 * conv 5×5 1→6 pad 2, ReLU, max-pool 2 (28→28→14); conv 5×5 6→16, ReLU, max-pool 2 (14→10→5);
 * flatten, fc 400→120, ReLU, fc 120→84, ReLU, fc 84→10. 61,706 parameters.
 *
 * @example
 * ```ts
 * import { buildNetwork, LENET5 } from "./models.ts";
 * import { assertEquals } from "@std/assert";
 * const net = buildNetwork(LENET5, { seed: 1 });
 * assertEquals(net.params().reduce((n, p) => n + p.value.data.length, 0), 61706);
 * ```
 */
export const LENET5: readonly LayerSpec[] = [
  { type: "conv", inChannels: 1, outChannels: 6, size: 5, padding: 2 },
  { type: "relu" },
  { type: "maxpool", size: 2 },
  { type: "conv", inChannels: 6, outChannels: 16, size: 5 },
  { type: "relu" },
  { type: "maxpool", size: 2 },
  { type: "flatten" },
  { type: "fc", inFeatures: 16 * 5 * 5, outFeatures: 120 },
  { type: "relu" },
  { type: "fc", inFeatures: 120, outFeatures: 84 },
  { type: "relu" },
  { type: "fc", inFeatures: 84, outFeatures: 10 },
];

/**
 * A MobileNet-style network (Howard et al., 2017) for 28×28 digits: what the layers beyond the
 * seed are for. A convolution-batch norm-ReLU stem, three depthwise-separable blocks (a 5×5
 * depthwise convolution, then a 1×1 pointwise one, each followed by batch norm and ReLU; the
 * first two with stride 2), global average pooling instead of a large fully connected layer, and
 * fc 96→10. The convolutions have no bias: the batch norm after each would cancel it
 * (docs/groups_dilation.md). 28×28 (stem), 14×14 (block 1), 7×7 (blocks 2 and 3), then 1×1 by the
 * pool; each of the last features sees 31×31 pixels, the whole digit. 21,226 trainable parameters
 * and 864 running statistics; about 1.4 million multiply-adds per image, a third of
 * {@link SMALL_NET}'s. docs/training.md compares the three models.
 *
 * @example
 * ```ts
 * import { buildNetwork, MOBILE_NET } from "./models.ts";
 * import { assertEquals } from "@std/assert";
 * const net = buildNetwork(MOBILE_NET, { seed: 1 });
 * assertEquals(net.params().reduce((n, p) => n + p.value.data.length, 0), 21226);
 * assertEquals(net.forward({ shape: [2, 1, 28, 28], data: new Float32Array(2 * 784) }).shape, [2, 10]);
 * ```
 */
export const MOBILE_NET: readonly LayerSpec[] = [
  { type: "conv", inChannels: 1, outChannels: 24, size: 3, padding: "same", bias: false },
  { type: "batchnorm2d", features: 24 },
  { type: "relu" },
  ...separable(24, 48, 2), // 28×28 → 14×14
  ...separable(48, 96, 2), // 14×14 → 7×7
  ...separable(96, 96, 1),
  { type: "globalavgpool" },
  { type: "flatten" },
  { type: "fc", inFeatures: 96, outFeatures: 10 },
];

/** A depthwise-separable block: depthwise 5×5 (stride s), pointwise C → D, each with batch norm
 * and ReLU. */
function separable(C: number, D: number, stride: number): LayerSpec[] {
  return [
    {
      type: "conv",
      inChannels: C,
      outChannels: C,
      size: 5,
      stride,
      padding: 2,
      groups: C,
      bias: false,
    },
    { type: "batchnorm2d", features: C },
    { type: "relu" },
    { type: "conv", inChannels: C, outChannels: D, size: 1, bias: false },
    { type: "batchnorm2d", features: D },
    { type: "relu" },
  ];
}

/**
 * The named models of the command line (`--model`), by name.
 *
 * @example
 * ```ts
 * import { LENET5, MOBILE_NET, MODELS, SMALL_NET } from "./models.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(Object.keys(MODELS).sort(), ["lenet5", "mobile", "small"]);
 * assertEquals([MODELS.small, MODELS.lenet5, MODELS.mobile], [SMALL_NET, LENET5, MOBILE_NET]);
 * ```
 */
export const MODELS: Readonly<Record<string, readonly LayerSpec[]>> = {
  small: SMALL_NET,
  lenet5: LENET5,
  mobile: MOBILE_NET,
};

/**
 * The default small network ({@link SMALL_NET}) for 1×28×28 inputs and 10 classes.
 *
 * @param opts Seed (or random source) and element type.
 * @returns The network with He-initialised weights.
 *
 * @example
 * ```ts
 * import { smallNet } from "./models.ts";
 * import { assertEquals } from "@std/assert";
 * const net = smallNet({ seed: 1 });
 * const count = net.params().reduce((n, p) => n + p.value.data.length, 0);
 * assertEquals(count, 55098);
 * assertEquals(net.forward({ shape: [2, 1, 28, 28], data: new Float32Array(2 * 784) }).shape, [2, 10]);
 * ```
 */
export function smallNet(opts: BuildOptions = {}): Sequential {
  return buildNetwork(SMALL_NET, opts);
}

/**
 * LeNet-5 ({@link LENET5}) for 1×28×28 inputs and 10 classes.
 *
 * @param opts Seed (or random source) and element type.
 * @returns The network with He-initialised weights.
 *
 * @example
 * ```ts
 * import { lenet5 } from "./models.ts";
 * import { assertEquals } from "@std/assert";
 * const net = lenet5({ seed: 1 });
 * const count = net.params().reduce((n, p) => n + p.value.data.length, 0);
 * assertEquals(count, 61706);
 * assertEquals(net.params().map((p) => p.name).at(-1), "11.bias");
 * ```
 */
export function lenet5(opts: BuildOptions = {}): Sequential {
  return buildNetwork(LENET5, opts);
}

/**
 * The depthwise-separable network ({@link MOBILE_NET}) for 1×28×28 inputs and 10 classes.
 *
 * @param opts Seed (or random source) and element type.
 * @returns The network with He-initialised weights, batch norm's γ = 1, β = 0 and fresh
 *   running statistics, in training mode.
 *
 * @example
 * ```ts
 * import { mobileNet } from "./models.ts";
 * import { assertEquals } from "@std/assert";
 * const net = mobileNet({ seed: 1 });
 * const count = net.params().reduce((n, p) => n + p.value.data.length, 0);
 * assertEquals(count, 21226);
 * assertEquals(net.forward({ shape: [2, 1, 28, 28], data: new Float32Array(2 * 784) }).shape, [2, 10]);
 * ```
 */
export function mobileNet(opts: BuildOptions = {}): Sequential {
  return buildNetwork(MOBILE_NET, opts);
}
