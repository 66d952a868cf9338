/**
 * convprop: forward and backward propagation for convolutional networks, written the way the
 * derivation explains them. Convolution is im2col (a gather through a precomputed index table)
 * followed by one matrix multiply; its gradient with respect to the input is the same table
 * used backwards (`addAt`, numpy's `add.at`, which is col2im).
 *
 * Two backends compute the same functions: "reference", the plain loops of layers/ and kernels/
 * that docs/ quotes, one line per formula; and "fast" (the default), the packed, blocked and
 * WebAssembly SIMD kernels of layers/fast/ and kernels/fast/. `setBackend` switches between
 * them; `getBackend` says which runs.
 *
 * @example One conv layer, forward and backward
 * ```ts
 * import { convBackward, convForward, tensor } from "./mod.ts";
 * const x = tensor([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
 * const w = tensor([1, 1, 2, 2], [1, 0, 0, 1]); // adds a pixel to its lower-right neighbour
 * const b = tensor([1], [0.5]);
 * const { y, cache } = convForward(x, w, b);
 * console.assert(y.shape.join() === "1,1,2,2" && y.data[0] === 1 + 5 + 0.5);
 * const { dx } = convBackward(tensor([1, 1, 2, 2], [1, 1, 1, 1]), cache);
 * console.assert(dx.data[4] === 2); // the centre pixel feeds two outputs through each tap
 * ```
 *
 * @module
 */

export type { FloatArray, Int64Tensor, Tensor } from "./tensor.ts";
export { sizeOf, tensor } from "./tensor.ts";
export type { Rng } from "./random.ts";
export { heNormal, mulberry32, normal } from "./random.ts";

// the backend switch, and the layer functions it routes (reference or fast)
export type { BackendName } from "./backend.ts";
export {
  avgPoolBackward,
  avgPoolForward,
  batchNormBackward,
  batchNormForward,
  convBackward,
  convForward,
  convTransposeBackward,
  convTransposeForward,
  fcBackward,
  fcForward,
  gemm,
  getBackend,
  maxPoolBackward,
  maxPoolForward,
  reluBackward,
  reluForward,
  setBackend,
} from "./backend.ts";
export type {
  AvgPoolCache,
  AvgPoolForwardOptions,
  AvgPoolForwardResult,
  AvgPoolGeometry,
  AvgPoolOptions,
  BackwardOptions,
  BackwardResult,
  BatchNormBackwardResult,
  BatchNormCache,
  BatchNormForwardOptions,
  BatchNormForwardResult,
  BatchNormGeometry,
  BatchNormGradients,
  BatchNormParamGradients,
  BiasGradient,
  ConvCache,
  ConvForwardOptions,
  ConvForwardResult,
  ConvGeometry,
  ConvOptions,
  ConvTransposeCache,
  ConvTransposeForwardOptions,
  ConvTransposeForwardResult,
  ConvTransposeGeometry,
  ConvTransposeOptions,
  FcCache,
  FcForwardResult,
  ForwardOptions,
  ForwardResult,
  Gradients,
  HasBias,
  MaxPoolCache,
  MaxPoolForwardOptions,
  MaxPoolForwardResult,
  MaxPoolOptions,
  ParamBackwardOptions,
  ParamGradients,
  PoolGeometry,
  ReluCache,
  ReluForwardResult,
} from "./layers/types.ts";
export type { Kept } from "./layers/workspace.ts";
export { Workspace } from "./layers/workspace.ts";
export type { SoftmaxCrossEntropyResult } from "./layers/softmax_cross_entropy.ts";
export { softmax, softmaxCrossEntropy } from "./layers/softmax_cross_entropy.ts";

// the kernels (one form: the same on both backends, but gemm, above)
export type { GemmOptions, Matrix } from "./kernels/gemm.ts";
export { addAt } from "./kernels/add_at.ts";
export type {
  Col2imOptions,
  Im2colGeometry,
  Im2colOptions,
  Im2colTable,
} from "./kernels/im2col.ts";
export { col2im, im2col, im2colTable, outputSize } from "./kernels/im2col.ts";
export type { ColumnMax, MaxPoolColumnsOptions } from "./kernels/max_pool.ts";
export { maxPoolColumns } from "./kernels/max_pool.ts";
export type { AvgPoolColumnsOptions } from "./kernels/avg_pool.ts";
export { avgPoolColumns } from "./kernels/avg_pool.ts";

// layer objects, networks, optimisers, data, checkpoints
export type { Layer, LayerBuffer, Param } from "./layers/layer.ts";
export type { Conv2DOptions } from "./layers/conv_layer.ts";
export { Conv2D } from "./layers/conv_layer.ts";
export type { ConvTranspose2DOptions } from "./layers/conv_transpose_layer.ts";
export { ConvTranspose2D } from "./layers/conv_transpose_layer.ts";
export type { FullyConnectedOptions } from "./layers/fully_connected_layer.ts";
export { FullyConnected } from "./layers/fully_connected_layer.ts";
export { MaxPool2D } from "./layers/max_pool_layer.ts";
export { AvgPool2D, GlobalAvgPool2D } from "./layers/avg_pool_layer.ts";
export { ReLU } from "./layers/relu_layer.ts";
export { Flatten } from "./layers/flatten.ts";
export type { DropoutOptions } from "./layers/dropout.ts";
export { Dropout } from "./layers/dropout.ts";
export type { BatchNormOptions } from "./layers/batch_norm_layer.ts";
export { BatchNorm1D, BatchNorm2D, BatchNormLayer } from "./layers/batch_norm_layer.ts";
export { SoftmaxCrossEntropy } from "./network/loss.ts";
export type { BuildOptions, LayerSpec } from "./network/models.ts";
export {
  buildNetwork,
  LENET5,
  lenet5,
  MOBILE_NET,
  mobileNet,
  MODELS,
  SMALL_NET,
  smallNet,
  specShapes,
} from "./network/models.ts";
export { Sequential } from "./network/sequential.ts";
export type { Optimizer } from "./optim/optimizer.ts";
export type { SGDOptions } from "./optim/sgd.ts";
export { SGD } from "./optim/sgd.ts";
export type { AdamOptions } from "./optim/adam.ts";
export { Adam } from "./optim/adam.ts";
export type { CosineScheduleOptions, LrSchedule, StepScheduleOptions } from "./optim/schedule.ts";
export { cosineSchedule, stepSchedule } from "./optim/schedule.ts";
export type { IdxArray, IdxType, LabelledImages } from "./data/idx.ts";
export { parseIdx, parseLabelledImages } from "./data/idx.ts";
export type { Batch, BatchOptions, MiniBatchOptions, Normalization } from "./data/batches.ts";
export { firstImages, makeBatch, miniBatches, pixelStats, shuffledOrder } from "./data/batches.ts";
export type {
  DecodeSafetensorsOptions,
  EncodeSafetensorsOptions,
  SafetensorsDtype,
  SafetensorsFile,
} from "./io/safetensors.ts";
export { crc32, CRC32_KEY, decodeSafetensors, encodeSafetensors } from "./io/safetensors.ts";
export type { CheckpointInfo, RestoredCheckpoint, RestoreOptions } from "./io/checkpoint.ts";
export {
  CHECKPOINT_KEYS,
  encodeCheckpoint,
  loadCheckpoint,
  restoreCheckpoint,
} from "./io/checkpoint.ts";
export type { BatchProgress, EpochStats, Evaluation, TrainEpochOptions } from "./training/loop.ts";
export { evaluate, trainEpoch } from "./training/loop.ts";
export type { AccuracyPoint, LearningCurve, LossPoint } from "./plot/svg.ts";
export { filterGridSvg, learningCurveSvg } from "./plot/svg.ts";
export type { DataParallelOptions } from "./training/parallel.ts";
export { DataParallel, DataParallelError } from "./training/parallel.ts";
