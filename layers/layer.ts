/**
 * The shape every layer class shares, so networks can be composed from them: forward keeps
 * what backward needs, backward returns the gradient with respect to the input and leaves the
 * parameter gradients in `params()`. A layer may also have buffers (`buffers()`): state that is
 * saved with the model but not trained, as batch normalisation's running statistics.
 *
 * @module
 */

import type { FloatArray, Int64Tensor, Tensor } from "../tensor.ts";
import { zerosLike } from "../_validate.ts";

/** A trainable array and its gradient, which `backward` overwrites (it does not accumulate). */
export interface Param {
  /** A short name, unique within its layer, as `"w"` or `"b"`. */
  readonly name: string;
  /** The current values; optimisers update `value.data` in place. */
  readonly value: Tensor;
  /** dLoss/dvalue from the last `backward`, same shape and type as `value`. */
  readonly grad: Tensor;
}

/**
 * A layer with forward and backward side by side.
 *
 * @example Any object of this form composes
 * ```ts
 * import type { Layer } from "./layer.ts";
 * import { ReLU } from "./relu_layer.ts";
 * const layer: Layer = new ReLU();
 * const y = layer.forward({ shape: [1, 2], data: new Float64Array([-1, 2]) });
 * console.assert(y.data[0] === 0 && y.data[1] === 2);
 * ```
 */
export interface Layer {
  /** The layer kind, as `"Conv2D"`. */
  readonly kind: string;
  /** Computes the output and caches what `backward` needs. */
  forward(x: Tensor): Tensor;
  /** Takes dLoss/dy of the last forward, fills the parameter gradients, returns dLoss/dx. */
  backward(dy: Tensor): Tensor;
  /**
   * Optional: the backward pass of a layer whose input is the data, so that nothing upstream
   * needs dLoss/dx: fills the parameter gradients exactly as `backward` does and skips dx.
   * Sequential calls it for its first layer when training (see `Sequential.backwardParams`).
   */
  backwardParams?(dy: Tensor): void;
  /** The trainable parameters (empty for ReLU and pooling). */
  params(): Param[];
  /**
   * Optional: the layer's buffers, state that belongs to the model but is not trained (no
   * gradient; optimisers never see it), as PyTorch's `register_buffer`: batch normalisation's
   * running statistics. Checkpoints save and load them next to the parameters.
   */
  buffers?(): LayerBuffer[];
}

/**
 * A named tensor of a layer's state that is not trained: a float tensor (a running mean) or an
 * int64 one (a count, as PyTorch's `num_batches_tracked`). The layer updates `value.data` in
 * place; a checkpoint loads into it.
 */
export interface LayerBuffer {
  /** A name unique within its layer, as PyTorch names it: `"running_mean"`. */
  readonly name: string;
  /** The values. */
  readonly value: Tensor | Int64Tensor;
}

/**
 * A parameter: its values, and a gradient of zeros of the same shape and type.
 *
 * @param name Its name within the layer, as `"w"`.
 * @param shape Its shape.
 * @param value Its values (kept, not copied).
 * @returns The parameter.
 *
 * @example
 * ```ts
 * import { param } from "./layer.ts";
 * import { assertEquals } from "@std/assert";
 * const b = param("b", [2], new Float32Array([1, 2]));
 * assertEquals([b.value.shape, Array.from(b.grad.data)], [[2], [0, 0]]);
 * ```
 */
export function param(name: string, shape: readonly number[], value: FloatArray): Param {
  return {
    name,
    value: { shape: [...shape], data: value },
    grad: { shape: [...shape], data: zerosLike(value, value.length) },
  };
}
