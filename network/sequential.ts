/**
 * A network as a list of layers: forward runs them in order, backward in reverse, each layer's
 * backward taking the gradient its successor returned (the chain rule, one layer at a time).
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";
import type { Layer, LayerBuffer, Param } from "../layers/layer.ts";
import { softmax } from "../layers/softmax_cross_entropy.ts";

// PyTorch's parameter names, so a checkpoint's keys are those of the same nn.Sequential.
const TORCH_NAMES: Readonly<Record<string, string>> = {
  w: "weight",
  b: "bias",
  gamma: "weight",
  beta: "bias",
};

/** A layer that behaves differently in training and evaluation (as {@link Dropout} does). */
interface ModeLayer extends Layer {
  training: boolean;
}

function hasMode(layer: Layer): layer is ModeLayer {
  return typeof (layer as Partial<ModeLayer>).training === "boolean";
}

/**
 * Layers composed in sequence. Parameters are named as PyTorch's `nn.Sequential` names them:
 * `"<index>.weight"` and `"<index>.bias"`; buffers (batch norm's running statistics) as
 * `"<index>.running_mean"` and so on ({@link Sequential.buffers}).
 *
 * @example A two-layer classifier: forward, backward, gradients, probabilities
 * ```ts
 * import { Sequential } from "./sequential.ts";
 * import { FullyConnected } from "../layers/fully_connected_layer.ts";
 * import { ReLU } from "../layers/relu_layer.ts";
 * import { SoftmaxCrossEntropy } from "./loss.ts";
 * import { mulberry32 } from "../random.ts";
 * import { assertAlmostEquals, assertEquals } from "@std/assert";
 * const rng = mulberry32(1);
 * const net = new Sequential([
 *   new FullyConnected({ inFeatures: 4, outFeatures: 8, rng }),
 *   new ReLU(),
 *   new FullyConnected({ inFeatures: 8, outFeatures: 3, rng }),
 * ]);
 * assertEquals(net.params().map((p) => p.name), ["0.weight", "0.bias", "2.weight", "2.bias"]);
 * const x = { shape: [2, 4], data: new Float32Array([1, 0, 0, 1, 0, 1, 1, 0]) };
 * const ce = new SoftmaxCrossEntropy();
 * ce.forward(net.forward(x), [0, 2]);
 * const dx = net.backward(ce.backward());
 * assertEquals(dx.shape, [2, 4]);
 * const p = net.predict(x);
 * assertEquals(p.shape, [2, 3]);
 * assertAlmostEquals(p.data[0] + p.data[1] + p.data[2], 1, 1e-6);
 * ```
 */
export class Sequential implements Layer {
  /** The layer kind. */
  readonly kind: string = "Sequential";
  /** The layers, input first. */
  readonly layers: readonly Layer[];
  #training = true;

  /**
   * Composes layers.
   *
   * @param layers The layers, input first (at least one).
   * @throws {TypeError} If a layer lacks forward, backward or params.
   * @throws {RangeError} If `layers` is empty, or one object appears twice (a layer keeps its
   *   last forward pass for backward).
   */
  constructor(layers: readonly Layer[]) {
    if (!Array.isArray(layers) || layers.length === 0) {
      throw new RangeError("Sequential: layers must be a non-empty array");
    }
    for (const [i, l] of layers.entries()) {
      if (
        typeof l?.forward !== "function" || typeof l.backward !== "function" ||
        typeof l.params !== "function"
      ) {
        throw new TypeError(`Sequential: layers[${i}] is not a Layer (forward, backward, params)`);
      }
      const first = layers.indexOf(l);
      if (first < i) {
        // a layer keeps the cache of its last forward pass: a second use would overwrite the
        // first's, and backward would send the wrong gradients through it
        throw new RangeError(
          `Sequential: layers[${i}] is the same ${l.kind} object as layers[${first}]; a layer ` +
            `keeps its last forward pass for backward, so give each place its own instance`,
        );
      }
    }
    this.layers = [...layers];
  }

  /** Whether the network is in training mode (see {@link Sequential.train}). */
  get training(): boolean {
    return this.#training;
  }

  /**
   * Switches to training mode (the default): layers such as dropout behave stochastically, and
   * batch normalisation uses each batch's statistics (and updates its running ones).
   *
   * @returns This network.
   */
  train(): this {
    return this.#setMode(true);
  }

  /**
   * Switches to evaluation mode: layers such as dropout become deterministic, and batch
   * normalisation uses its running statistics (and leaves them unchanged).
   *
   * @returns This network.
   */
  eval(): this {
    return this.#setMode(false);
  }

  #setMode(training: boolean): this {
    this.#training = training;
    for (const l of this.layers) {
      if (l instanceof Sequential) l.#setMode(training);
      else if (hasMode(l)) l.training = training;
    }
    return this;
  }

  /**
   * Runs every layer's forward pass in order. The result may be a buffer the last layer reuses:
   * read or copy it before the next forward.
   *
   * @param x The input of the first layer.
   * @returns The output of the last layer.
   * @throws {RangeError} As the failing layer's forward (its message names it).
   */
  forward(x: Tensor): Tensor {
    let h = x;
    for (const l of this.layers) h = l.forward(h);
    return h;
  }

  /**
   * Runs every layer's backward pass in reverse order; each parameter's `grad` is overwritten.
   *
   * @param dy dL/d(output of the last layer).
   * @returns dL/d(input of the first layer).
   * @throws {Error} If called before `forward`, or as the failing layer's backward.
   */
  backward(dy: Tensor): Tensor {
    let d = dy;
    for (let i = this.layers.length - 1; i >= 0; i--) d = this.layers[i].backward(d);
    return d;
  }

  /**
   * The backward pass of a training step, whose input is the data: as {@link Sequential.backward}
   * (the same parameter gradients, bit for bit), but the first layer skips dL/dx when it can
   * (its `backwardParams`), as PyTorch skips the gradient of an input that does not require one;
   * layers before the first one with parameters are not run at all. For LeNet-style networks
   * that saves the first convolution's w_colᵀ · dY and col2im.
   *
   * @param dy dL/d(output of the last layer).
   * @returns Nothing; each parameter's `grad` is overwritten.
   * @throws {Error} If called before `forward`, or as the failing layer's backward.
   *
   * @example The same gradients as backward
   * ```ts
   * import { Sequential } from "./sequential.ts";
   * import { Conv2D } from "../layers/conv_layer.ts";
   * import { assertEquals } from "@std/assert";
   * const net = new Sequential([new Conv2D({ inChannels: 1, outChannels: 2, size: 3 })]);
   * const x = { shape: [1, 1, 4, 4], data: new Float32Array(16).map((_, i) => i) };
   * const dy = { shape: [1, 2, 2, 2], data: new Float32Array(8).fill(1) };
   * net.forward(x);
   * net.backward(dy);
   * const full = Array.from(net.params()[0].grad.data);
   * net.backwardParams(dy);
   * assertEquals(Array.from(net.params()[0].grad.data), full);
   * ```
   */
  backwardParams(dy: Tensor): void {
    // f: the first layer with parameters. Layers before it (Flatten, say) have no gradients to
    // fill, and nothing needs the gradient of their input, so the pass stops at f.
    const f = this.layers.findIndex((l) => l.params().length > 0);
    if (f < 0) return;
    let d = dy;
    for (let i = this.layers.length - 1; i > f; i--) d = this.layers[i].backward(d);
    const first = this.layers[f];
    if (first.backwardParams !== undefined) first.backwardParams(d);
    else first.backward(d);
  }

  /**
   * Every layer's parameters, input first, named `"<layer index>.<name>"` with PyTorch's
   * `weight` and `bias` for `w` and `b`. They share memory with the layers: an optimiser that
   * updates them updates the network.
   *
   * @returns The parameters.
   */
  params(): Param[] {
    const out: Param[] = [];
    for (const [i, l] of this.layers.entries()) {
      for (const p of l.params()) {
        out.push({ name: `${i}.${TORCH_NAMES[p.name] ?? p.name}`, value: p.value, grad: p.grad });
      }
    }
    return out;
  }

  /**
   * Every layer's buffers (state that is saved but not trained, as batch normalisation's running
   * statistics), input first, named `"<layer index>.<name>"` as PyTorch's state dict names
   * them (`"1.running_mean"`). They share memory with the layers. Optimisers take
   * {@link Sequential.params} and never see them.
   *
   * @returns The buffers (empty for a network without batch normalisation).
   *
   * @example
   * ```ts
   * import { Sequential } from "./sequential.ts";
   * import { Conv2D } from "../layers/conv_layer.ts";
   * import { BatchNorm2D } from "../layers/batch_norm_layer.ts";
   * import { assertEquals } from "@std/assert";
   * const net = new Sequential([
   *   new Conv2D({ inChannels: 1, outChannels: 4, size: 3, bias: false }),
   *   new BatchNorm2D({ features: 4 }),
   * ]);
   * assertEquals(net.params().map((p) => p.name), ["0.weight", "1.weight", "1.bias"]);
   * assertEquals(net.buffers().map((b) => b.name), [
   *   "1.running_mean",
   *   "1.running_var",
   *   "1.num_batches_tracked",
   * ]);
   * ```
   */
  buffers(): LayerBuffer[] {
    const out: LayerBuffer[] = [];
    for (const [i, l] of this.layers.entries()) {
      for (const b of l.buffers?.() ?? []) out.push({ name: `${i}.${b.name}`, value: b.value });
    }
    return out;
  }

  /**
   * Class probabilities: softmax of the output, computed in evaluation mode (the previous mode
   * is restored afterwards).
   *
   * @param x The input batch [N, ...].
   * @returns Probabilities [N, K], each row summing to 1 (a new array).
   * @throws {RangeError} If the output is not [N, K], or as the failing layer's forward.
   */
  predict(x: Tensor): Tensor {
    const was = this.#training;
    this.eval();
    try {
      return softmax(this.forward(x));
    } finally {
      this.#setMode(was);
    }
  }
}
