/**
 * The implementations `deno task compare` races, each behind the same small interface: convprop
 * (its public API from ../mod.ts), TensorFlow.js on its CPU and WebAssembly backends, and
 * convnetjs. Everything a peer needs (its layout, its tensors) is prepared in `setup`, outside
 * the timed calls.
 *
 * @module
 */

import {
  Conv2D,
  convBackward,
  convForward,
  fcBackward,
  fcForward,
  FullyConnected,
  type Layer,
  MaxPool2D,
  maxPoolBackward,
  maxPoolForward,
  ReLU,
  SoftmaxCrossEntropy,
  type Tensor,
  Workspace,
} from "../../mod.ts";
import { fastKernels } from "../../kernels/fast/dispatch.ts";
// The peers are dev-only and pinned here rather than in deno.json's imports, which describe
// the library: convprop itself has no dependencies. tfjs comes as its union package because
// that is what registers the gradient functions (tfjs-core alone trains nothing: tf.grad of a
// max-pool fails with "gradient function not found for MaxPool"); it brings tfjs-core and
// tfjs-backend-cpu 4.22.0 with it.
// deno-lint-ignore no-import-prefix
import * as tf from "npm:@tensorflow/tfjs@4.22.0";
// deno-lint-ignore no-import-prefix
import { getThreadsCount, setWasmPaths } from "npm:@tensorflow/tfjs-backend-wasm@4.22.0";
// deno-lint-ignore no-import-prefix
import convnetjsModule from "npm:convnetjs@0.3.0";
import {
  type Arr,
  fc1ColumnsToHWC,
  fromHWIO,
  LENET_PARAMS,
  type LenetSpec,
  outSize,
  toHWIO,
  toNCHW,
  toNHWC,
  transpose2d,
  type Workload,
} from "./compare_workloads.ts";

/** Versions of the peers, as imported above. */
export const PEER_VERSIONS: Readonly<Record<string, string>> = {
  "tfjs": "@tensorflow/tfjs 4.22.0 (tfjs-core, tfjs-backend-cpu) and tfjs-backend-wasm 4.22.0",
  "convnetjs": "convnetjs 0.3.0",
};

/**
 * What a correctness check compares, in convprop's layout. Forward: y (LeNet: the loss).
 * Step: conv and fc dx, dw, db; pool dx; LeNet the gradient of each parameter at the initial
 * weights.
 */
export type Outputs = Record<string, ArrayLike<number>>;

/** One implementation prepared for one workload. */
export interface Runner {
  /** The forward pass (W6: forward and loss). */
  forward(): void;
  /** Forward and backward, giving dX and dW (W6: a whole training step with the SGD update). */
  step(): void;
  /** Untimed: the forward outputs. */
  checkForward(): Outputs;
  /** Untimed: the gradients, from the initial state (call before any `step`); throws when the
   * implementation cannot compute them. */
  checkStep(): Outputs;
  /** Frees what the runner holds (tfjs tensors). */
  dispose(): void;
}

/** An implementation under comparison. */
export interface Impl {
  /** Column name. */
  readonly name: string;
  /** Loads what it needs; returns why it cannot run, or undefined when it can. */
  init(): Promise<string | undefined>;
  /** Called before each of its calls (tfjs: selects its backend). */
  activate(): Promise<void>;
  /** Prepares a workload; returns a reason instead when this peer cannot do it. */
  setup(w: Workload): Runner | string;
  /** How it ran, for the notes (after init). */
  describe(): string;
}

// ---------------------------------------------------------------------------------------------
// convprop

function t(a: Arr): Tensor<Float32Array> {
  return { shape: a.shape, data: a.data };
}

function lenetLayers(): Layer[] {
  return [
    new Conv2D({ inChannels: 1, outChannels: 20, size: 5 }),
    new MaxPool2D({ size: 2 }),
    new Conv2D({ inChannels: 20, outChannels: 50, size: 5 }),
    new MaxPool2D({ size: 2 }),
    new FullyConnected({ inFeatures: 800, outFeatures: 500 }),
    new ReLU(),
    new FullyConnected({ inFeatures: 500, outFeatures: 10 }),
  ];
}

function convpropSetup(wl: Workload): Runner {
  const a = wl.arrays, s = wl.spec;
  let sink: unknown;
  const none = (): void => {};
  switch (s.kind) {
    case "conv": {
      // Outputs go to a workspace's arrays, reused from call to call as the layer classes do:
      // the peers also reuse their memory (tfjs-wasm's heap), and a fresh large typed array
      // costs page faults on first touch that would be measured instead of the convolution.
      // The forward pass keeps no x_col (training: false), as before the backend redesign, so
      // the float32 stride-1 forward runs on the direct kernel and backward gathers again.
      const x = t(a.x), w = t(a.w), b = t(a.b), dy = t(a.dy), workspace = new Workspace();
      const opts = { padding: s.pad, workspace, training: false };
      const back = { workspace };
      return {
        forward: () => void (sink = convForward(x, w, b, opts).y),
        step: () => void (sink = convBackward(dy, convForward(x, w, b, opts).cache, back)),
        checkForward: () => ({ y: convForward(x, w, b, opts).y.data.slice() }),
        checkStep: () => {
          const { dx, dw, db } = convBackward(dy, convForward(x, w, b, opts).cache, back);
          return { dx: dx.data.slice(), dw: dw.data.slice(), db: db.data.slice() };
        },
        dispose: none,
      };
    }
    case "pool": {
      const x = t(a.x), dy = t(a.dy), workspace = new Workspace();
      const opts = { size: s.size, stride: s.stride, workspace };
      const back = { workspace };
      // forward alone keeps no winners (no backward will use them), as the peers' forward passes
      const inference = { ...opts, training: false };
      return {
        forward: () => void (sink = maxPoolForward(x, inference).y),
        step: () => void (sink = maxPoolBackward(dy, maxPoolForward(x, opts).cache, back)),
        checkForward: () => ({ y: maxPoolForward(x, inference).y.data.slice() }),
        checkStep: () => ({
          dx: maxPoolBackward(dy, maxPoolForward(x, opts).cache, back).data.slice(),
        }),
        dispose: none,
      };
    }
    case "fc": {
      const x = t(a.x), w = t(a.w), b = t(a.b), dy = t(a.dy), workspace = new Workspace();
      const opts = { workspace }, back = { workspace };
      return {
        forward: () => void (sink = fcForward(x, w, b, opts).y),
        step: () => void (sink = fcBackward(dy, fcForward(x, w, b, opts).cache, back)),
        checkForward: () => ({ y: fcForward(x, w, b, opts).y.data.slice() }),
        checkStep: () => {
          const { dx, dw, db } = fcBackward(dy, fcForward(x, w, b, opts).cache, back);
          return { dx: dx.data.slice(), dw: dw.data.slice(), db: db.data.slice() };
        },
        dispose: none,
      };
    }
    case "lenet": {
      const layers = lenetLayers();
      const params = layers.flatMap((l) => l.params());
      params.forEach((p, i) => p.value.data.set(a[LENET_PARAMS[i]].data));
      const x = t(a.x), labels = wl.labels!, ce = new SoftmaxCrossEntropy(), lr = s.lr;
      // Training mode keeps what backward needs (conv columns, pooling routes); the forward pass
      // alone runs in evaluation mode, keeping nothing, as the peers' forward passes do.
      const setTraining = (on: boolean): void => {
        for (const l of layers) if ("training" in l) (l as { training: boolean }).training = on;
      };
      const forward = (): number => {
        let h: Tensor = x;
        for (const l of layers) h = l.forward(h);
        return ce.forward(h, labels);
      };
      const inference = (): number => {
        setTraining(false);
        try {
          return forward();
        } finally {
          setTraining(true);
        }
      };
      const backward = (): void => {
        let g = ce.backward();
        for (let i = layers.length - 1; i > 0; i--) g = layers[i].backward(g);
        // the input is data: conv1 fills dW and db only, as the peers skip that gradient too
        (layers[0] as Conv2D).backwardParams(g);
      };
      return {
        forward: () => void (sink = inference()),
        step: () => {
          sink = forward();
          backward();
          for (const p of params) {
            const v = p.value.data, g = p.grad.data;
            for (let j = 0; j < v.length; j++) v[j] -= lr * g[j];
          }
        },
        checkForward: () => ({ loss: [inference()] }),
        checkStep: () => {
          forward();
          backward();
          const out: Outputs = {};
          params.forEach((p, i) => out[LENET_PARAMS[i]] = p.grad.data.slice());
          return out;
        },
        dispose: () => void sink,
      };
    }
  }
}

/** Which GEMM micro-kernel convprop runs here, in words. */
function describeKernel(name: string | undefined): string {
  if (name === "fma") return "5×8 tiles, relaxed-SIMD fused multiply-add";
  if (name === "plain") return "3×8 tiles, SIMD128 multiply and add";
  return "none here: TypeScript GEMM";
}

/** convprop through its public API (functional forms; W6 with the layer classes). */
export const convprop: Impl = {
  name: "convprop",
  init: () => Promise.resolve(undefined),
  activate: () => Promise.resolve(),
  setup: convpropSetup,
  describe: () =>
    "convprop: float32, NCHW, public API of mod.ts on its fast backend, each workload with its " +
    "own Workspace; GEMM on its WebAssembly SIMD kernel " +
    `(${describeKernel(fastKernels().gemmSimd ?? undefined)}), and the convolutions' forward ` +
    "passes on its stride-1 kernel that reads im2col's entries in place " +
    "(kernels/fast/conv_simd.wat) where relaxed SIMD runs; the forward passes alone (W1–W6 fwd) " +
    "with `training: false`, keeping nothing for a backward pass, as the peers' forward passes",
};

// ---------------------------------------------------------------------------------------------
// TensorFlow.js (channels-last, as tfjs is written)

let tfReady = false;
let wasmVariant = "";

function tfInit(): void {
  if (tfReady) return;
  // PROD silences tfjs's console warnings (the "install tfjs-node" banner among them).
  tf.env().set("PROD", true);
  tfReady = true;
}

function tfjsSetup(wl: Workload): Runner {
  const a = wl.arrays, s = wl.spec;
  const keep: tf.Tensor[] = [];
  const hold = <T extends tf.Tensor>(x: T): T => {
    keep.push(x);
    return x;
  };
  const dispose = (): void => keep.forEach((x) => x.dispose());
  switch (s.kind) {
    case "conv": {
      const { n, c, h, w: wd, d, k, pad } = s;
      const ho = outSize(h, k, 1, pad), wo = outSize(wd, k, 1, pad);
      const x = hold(tf.tensor4d(toNHWC(a.x.data, a.x.shape), [n, h, wd, c]));
      const w = hold(tf.tensor4d(toHWIO(a.w.data, a.w.shape), [k, k, c, d]));
      const b = hold(tf.tensor1d(a.b.data));
      const dy = hold(tf.tensor4d(toNHWC(a.dy.data, a.dy.shape), [n, ho, wo, d]));
      const padding = pad === 0 ? "valid" : pad;
      const f = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor =>
        tf.fused.conv2d({
          x: x as tf.Tensor4D,
          filter: w as tf.Tensor4D,
          strides: 1,
          pad: padding,
          bias: b,
        });
      const g = tf.grads(f);
      return {
        forward: () => tf.tidy(() => void f(x, w, b)),
        step: () => tf.tidy(() => void g([x, w, b], dy)),
        checkForward: () => tf.tidy(() => ({ y: toNCHW(f(x, w, b).dataSync(), [n, d, ho, wo]) })),
        checkStep: () =>
          tf.tidy(() => {
            const [dx, dw, db] = g([x, w, b], dy).map((z) => z.dataSync());
            return { dx: toNCHW(dx, a.x.shape), dw: fromHWIO(dw, a.w.shape), db };
          }),
        dispose,
      };
    }
    case "pool": {
      const { n, c, h, w: wd, size, stride } = s;
      const ho = outSize(h, size, stride, 0), wo = outSize(wd, size, stride, 0);
      const x = hold(tf.tensor4d(toNHWC(a.x.data, a.x.shape), [n, h, wd, c]));
      const dy = hold(tf.tensor4d(toNHWC(a.dy.data, a.dy.shape), [n, ho, wo, c]));
      const f = (x: tf.Tensor): tf.Tensor => tf.maxPool(x as tf.Tensor4D, size, stride, "valid");
      const g = tf.grad(f);
      return {
        forward: () => tf.tidy(() => void f(x)),
        step: () => tf.tidy(() => void g(x, dy)),
        checkForward: () => tf.tidy(() => ({ y: toNCHW(f(x).dataSync(), [n, c, ho, wo]) })),
        checkStep: () => tf.tidy(() => ({ dx: toNCHW(g(x, dy).dataSync(), a.x.shape) })),
        dispose,
      };
    }
    case "fc": {
      const { n, k, d } = s;
      const x = hold(tf.tensor2d(a.x.data, [n, k]));
      const w = hold(tf.tensor2d(transpose2d(a.w.data, d, k), [k, d])); // tfjs Dense: [in, out]
      const b = hold(tf.tensor1d(a.b.data));
      const dy = hold(tf.tensor2d(a.dy.data, [n, d]));
      const f = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor =>
        tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b });
      const g = tf.grads(f);
      return {
        forward: () => tf.tidy(() => void f(x, w, b)),
        step: () => tf.tidy(() => void g([x, w, b], dy)),
        checkForward: () => tf.tidy(() => ({ y: f(x, w, b).dataSync() })),
        checkStep: () =>
          tf.tidy(() => {
            const [dx, dw, db] = g([x, w, b], dy).map((z) => z.dataSync());
            return { dx, dw: transpose2d(dw, k, d), db };
          }),
        dispose,
      };
    }
    case "lenet":
      return tfjsLenet(wl, s, hold, dispose);
  }
}

function tfjsLenet(
  wl: Workload,
  s: LenetSpec,
  hold: <T extends tf.Tensor>(x: T) => T,
  dispose: () => void,
): Runner {
  const a = wl.arrays, n = s.n;
  const v = (x: tf.Tensor): tf.Variable => hold(tf.variable(x));
  const c1w = v(tf.tensor4d(toHWIO(a["conv1.w"].data, a["conv1.w"].shape), [5, 5, 1, 20]));
  const c1b = v(tf.tensor1d(a["conv1.b"].data));
  const c2w = v(tf.tensor4d(toHWIO(a["conv2.w"].data, a["conv2.w"].shape), [5, 5, 20, 50]));
  const c2b = v(tf.tensor1d(a["conv2.b"].data));
  // convprop's fc1 reads the pooled map as (c,h,w); tfjs flattens it as (h,w,c)
  const f1 = fc1ColumnsToHWC(a["fc1.w"].data, 500, [50, 4, 4]);
  const f1w = v(tf.tensor2d(transpose2d(f1, 500, 800), [800, 500]));
  const f1b = v(tf.tensor1d(a["fc1.b"].data));
  const f2w = v(tf.tensor2d(transpose2d(a["fc2.w"].data, s.classes, 500), [500, s.classes]));
  const f2b = v(tf.tensor1d(a["fc2.b"].data));
  const vars = [c1w, c1b, c2w, c2b, f1w, f1b, f2w, f2b];
  const x = hold(tf.tensor4d(toNHWC(a.x.data, a.x.shape), [n, 28, 28, 1]));
  const onehot = hold(tf.cast(tf.oneHot(tf.tensor1d(wl.labels!, "int32"), s.classes), "float32"));
  const opt = tf.train.sgd(s.lr);
  const loss = (): tf.Scalar => {
    let h: tf.Tensor4D = tf.fused.conv2d({
      x,
      filter: c1w as tf.Tensor4D,
      strides: 1,
      pad: 0,
      bias: c1b,
    });
    h = tf.maxPool(h, 2, 2, "valid");
    h = tf.fused.conv2d({ x: h, filter: c2w as tf.Tensor4D, strides: 1, pad: 0, bias: c2b });
    h = tf.maxPool(h, 2, 2, "valid");
    const f = tf.reshape(h, [n, 800]) as tf.Tensor2D;
    const r = tf.fused.matMul({ a: f, b: f1w as tf.Tensor2D, bias: f1b, activation: "relu" });
    const logits = tf.fused.matMul({ a: r, b: f2w as tf.Tensor2D, bias: f2b });
    return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
  };
  return {
    forward: () => tf.tidy(() => void loss().dataSync()),
    step: () => tf.tidy(() => void opt.minimize(loss, true, vars)!.dataSync()),
    checkForward: () => tf.tidy(() => ({ loss: loss().dataSync() })),
    checkStep: () =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(loss, vars);
        const gd = vars.map((x) => grads[x.name].dataSync());
        const f1g = transpose2d(gd[4], 800, 500);
        return {
          "conv1.w": fromHWIO(gd[0], a["conv1.w"].shape),
          "conv1.b": gd[1],
          "conv2.w": fromHWIO(gd[2], a["conv2.w"].shape),
          "conv2.b": gd[3],
          "fc1.w": fc1ColumnsToHWC(f1g, 500, [50, 4, 4], true),
          "fc1.b": gd[5],
          "fc2.w": transpose2d(gd[6], 500, s.classes),
          "fc2.b": gd[7],
        };
      }),
    dispose: () => {
      opt.dispose();
      dispose();
    },
  };
}

/** TensorFlow.js with the pure-JavaScript CPU backend. */
export const tfjsCpu: Impl = {
  name: "tfjs-cpu",
  init: async () => {
    tfInit();
    return (await tf.setBackend("cpu")) ? undefined : "backend cpu failed to initialise";
  },
  activate: async () => void await tf.setBackend("cpu"),
  setup: tfjsSetup,
  describe: () =>
    "tfjs-cpu: @tensorflow/tfjs-backend-cpu 4.22.0, float32, NHWC (tfjs's native layout), " +
    "fused conv2d/matMul with bias, gradients by tf.grads / tf.variableGrads, W6 by " +
    "tf.train.sgd().minimize; PROD flag on",
};

/**
 * Where the SIMD binary of tfjs-backend-wasm lives: beside the module Deno resolved (its npm
 * cache, as deno.json has nodeModulesDir "none"), or in node_modules.
 */
function wasmDir(): string {
  const url = new URL("./", import.meta.resolve("npm:@tensorflow/tfjs-backend-wasm@4.22.0"));
  if (url.protocol === "file:") return decodeURIComponent(url.pathname);
  return new URL("../../node_modules/@tensorflow/tfjs-backend-wasm/dist/", import.meta.url)
    .pathname;
}

/** TensorFlow.js with the WebAssembly backend (XNNPACK), checked to run its SIMD binary. */
export const tfjsWasm: Impl = {
  name: "tfjs-wasm",
  init: async () => {
    tfInit();
    const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
    const threads = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
    if (!simd) return "this runtime's WebAssembly has no SIMD (the fast tfjs-wasm binary)";
    const simdFile = wasmDir() + "tfjs-backend-wasm-simd.wasm";
    try {
      await Deno.stat(simdFile);
    } catch {
      return `tfjs-backend-wasm-simd.wasm not found at ${simdFile}`;
    }
    // Only the SIMD binary has a real path: if tfjs picked another variant, init would fail.
    const notUsed = "/nonexistent/convprop-compare-expects-the-simd-binary.wasm";
    setWasmPaths({
      "tfjs-backend-wasm.wasm": notUsed,
      "tfjs-backend-wasm-simd.wasm": simdFile,
      "tfjs-backend-wasm-threaded-simd.wasm": notUsed,
    });
    if (!(await tf.setBackend("wasm"))) return "backend wasm failed to initialise";
    wasmVariant = `tfjs-backend-wasm-simd.wasm (SIMD ${simd}, multithread ${threads}, ` +
      `${getThreadsCount()} thread)`;
    return undefined;
  },
  activate: async () => void await tf.setBackend("wasm"),
  setup: tfjsSetup,
  describe: () =>
    `tfjs-wasm: @tensorflow/tfjs-backend-wasm 4.22.0, ${wasmVariant}, float32, NHWC, same ` +
    "ops as tfjs-cpu",
};

// ---------------------------------------------------------------------------------------------
// convnetjs (one sample at a time, float64 Vols with channels last)

interface Vol {
  sx: number;
  sy: number;
  depth: number;
  w: Float64Array;
  dw: Float64Array;
}
interface CnnLayer {
  layer_type: string;
  in_act: Vol;
  out_act: Vol;
  filters: Vol[];
  biases: Vol;
  forward(v: Vol, training: boolean): Vol;
  backward(): void;
}
interface Net {
  layers: CnnLayer[];
  makeLayers(defs: Record<string, unknown>[]): void;
  forward(v: Vol, training: boolean): Vol;
  backward(label: number): number;
}
interface ConvnetJs {
  Vol: new (sx: number, sy: number, depth: number, fill: number) => Vol;
  ConvLayer: new (opt: Record<string, number>) => CnnLayer;
  PoolLayer: new (opt: Record<string, number>) => CnnLayer;
  FullyConnLayer: new (opt: Record<string, number>) => CnnLayer;
  Net: new () => Net;
  Trainer: new (net: Net, opt: Record<string, number | string>) => {
    train(x: Vol, y: number): unknown;
  };
}
const cnn = convnetjsModule as unknown as ConvnetJs;

/** One Vol per sample from NCHW data [n, c, h, w] (convnetjs: sx = width, sy = height). */
function vols(a: Arr): Vol[] {
  const [n, c, h, w] = a.shape.length === 4 ? a.shape : [a.shape[0], a.shape[1], 1, 1];
  const nhwc = toNHWC(a.data, [n, c, h, w]), size = c * h * w, out: Vol[] = [];
  for (let i = 0; i < n; i++) {
    const v = new cnn.Vol(w, h, c, 0);
    v.w.set(nhwc.subarray(i * size, (i + 1) * size));
    out.push(v);
  }
  return out;
}

/** Per-sample channels-last arrays, as a Vol's w or dw, from NCHW [n, c, h, w]. */
function samples(a: Arr): Float64Array[] {
  return vols(a).map((v) => v.w);
}

/** Stacks per-sample channels-last Vols into NCHW [n, c, h, w]. */
function stack(vs: Vol[], key: "w" | "dw", shape: number[]): Float32Array {
  const all = new Float32Array(vs.length * vs[0][key].length);
  vs.forEach((v, i) => all.set(v[key], i * v[key].length));
  return shape.length === 4 ? toNCHW(all, shape) : all;
}

/** Loads filters [D,C,kh,kw] (or fc [D,K]) and biases into a convnetjs layer. */
function loadFilters(layer: CnnLayer, w: Arr, b: Arr, hwcOf = (row: Float32Array) => row): void {
  const D = w.shape[0], size = w.data.length / D;
  for (let d = 0; d < D; d++) {
    const row = w.data.subarray(d * size, (d + 1) * size);
    layer.filters[d].w.set(
      w.shape.length === 4 ? toNHWC(row, [1, ...w.shape.slice(1)]) : hwcOf(row),
    );
  }
  layer.biases.w.set(b.data);
}

/** The filter gradients of a convnetjs layer, back in convprop's layout, divided by `scale`. */
function filterGrads(
  layer: CnnLayer,
  shape: number[],
  scale = 1,
  chwOf = (row: Float32Array) => row,
): [Float32Array, Float32Array] {
  const D = shape[0], size = layer.filters[0].dw.length, dw = new Float32Array(D * size);
  for (let d = 0; d < D; d++) {
    const row = Float32Array.from(layer.filters[d].dw, (g) => g / scale);
    dw.set(shape.length === 4 ? toNCHW(row, [1, ...shape.slice(1)]) : chwOf(row), d * size);
  }
  return [dw, Float32Array.from(layer.biases.dw, (g) => g / scale)];
}

function zeroGrads(layer: CnnLayer): void {
  for (const f of layer.filters ?? []) f.dw.fill(0);
  layer.biases?.dw.fill(0);
}

function convnetjsSetup(wl: Workload): Runner {
  const a = wl.arrays, s = wl.spec;
  let layer: CnnLayer;
  switch (s.kind) {
    case "conv":
      layer = new cnn.ConvLayer({
        in_sx: s.w,
        in_sy: s.h,
        in_depth: s.c,
        sx: s.k,
        filters: s.d,
        stride: 1,
        pad: s.pad,
      });
      loadFilters(layer, a.w, a.b);
      break;
    case "pool":
      layer = new cnn.PoolLayer({
        in_sx: s.w,
        in_sy: s.h,
        in_depth: s.c,
        sx: s.size,
        stride: s.stride,
      });
      break;
    case "fc":
      layer = new cnn.FullyConnLayer({ in_sx: 1, in_sy: 1, in_depth: s.k, num_neurons: s.d });
      loadFilters(layer, a.w, a.b);
      break;
    case "lenet":
      return convnetjsLenet(wl, s);
  }
  const xs = vols(a.x), dys = samples(a.dy);
  const ys: Vol[] = new Array(xs.length);
  const step = (): void => {
    zeroGrads(layer); // convnetjs accumulates filter gradients; a fresh batch starts at zero
    for (let i = 0; i < xs.length; i++) {
      ys[i] = layer.forward(xs[i], true);
      ys[i].dw.set(dys[i]);
      layer.backward();
    }
  };
  return {
    forward: () => {
      for (let i = 0; i < xs.length; i++) ys[i] = layer.forward(xs[i], false);
    },
    step,
    checkForward: () => {
      for (let i = 0; i < xs.length; i++) ys[i] = layer.forward(xs[i], false);
      return { y: stack(ys, "w", a.dy.shape) };
    },
    checkStep: () => {
      step();
      const out: Outputs = { dx: stack(xs, "dw", a.x.shape) };
      if (s.kind !== "pool") [out.dw, out.db] = filterGrads(layer, a.w.shape);
      return out;
    },
    dispose: () => {},
  };
}

function convnetjsLenet(wl: Workload, s: LenetSpec): Runner {
  const a = wl.arrays, labels = wl.labels!;
  const net = new cnn.Net();
  net.makeLayers([
    { type: "input", out_sx: 28, out_sy: 28, out_depth: 1 },
    { type: "conv", sx: 5, filters: 20, stride: 1, pad: 0 },
    { type: "pool", sx: 2, stride: 2 },
    { type: "conv", sx: 5, filters: 50, stride: 1, pad: 0 },
    { type: "pool", sx: 2, stride: 2 },
    { type: "fc", num_neurons: 500, activation: "relu" },
    { type: "softmax", num_classes: s.classes },
  ]);
  const kinds = net.layers.map((l) => l.layer_type).join(",");
  if (kinds !== "input,conv,pool,conv,pool,fc,relu,fc,softmax") {
    throw new Error(`convnetjs built an unexpected LeNet: ${kinds}`);
  }
  const [conv1, conv2, fc1, fc2] = [1, 3, 5, 7].map((i) => net.layers[i]);
  const toHWC = (row: Float32Array): Float32Array => fc1ColumnsToHWC(row, 1, [50, 4, 4]);
  const toCHW = (row: Float32Array): Float32Array => fc1ColumnsToHWC(row, 1, [50, 4, 4], true);
  loadFilters(conv1, a["conv1.w"], a["conv1.b"]);
  loadFilters(conv2, a["conv2.w"], a["conv2.b"]);
  loadFilters(fc1, a["fc1.w"], a["fc1.b"], toHWC);
  loadFilters(fc2, a["fc2.w"], a["fc2.b"]);
  const xs = vols(a.x), n = xs.length;
  // Vanilla SGD on the mean loss of a batch of n: the trainer sums n samples' gradients,
  // divides by n and steps once every n calls of train.
  const trainer = new cnn.Trainer(net, {
    method: "sgd",
    learning_rate: s.lr,
    momentum: 0,
    batch_size: n,
    l2_decay: 0,
    l1_decay: 0,
  });
  const forward = (): number => {
    let loss = 0;
    for (let i = 0; i < n; i++) loss -= Math.log(net.forward(xs[i], false).w[labels[i]]);
    return loss / n;
  };
  let sink = 0;
  return {
    forward: () => void (sink = forward()),
    step: () => {
      for (let i = 0; i < n; i++) trainer.train(xs[i], labels[i]);
    },
    checkForward: () => ({ loss: [forward()] }),
    checkStep: () => {
      for (let i = 0; i < n; i++) {
        net.forward(xs[i], true);
        net.backward(labels[i]);
      }
      const out: Outputs = {};
      [out["conv1.w"], out["conv1.b"]] = filterGrads(conv1, a["conv1.w"].shape, n);
      [out["conv2.w"], out["conv2.b"]] = filterGrads(conv2, a["conv2.w"].shape, n);
      [out["fc1.w"], out["fc1.b"]] = filterGrads(fc1, a["fc1.w"].shape, n, toCHW);
      [out["fc2.w"], out["fc2.b"]] = filterGrads(fc2, a["fc2.w"].shape, n);
      for (const l of [conv1, conv2, fc1, fc2]) zeroGrads(l);
      return out;
    },
    dispose: () => void sink,
  };
}

/** convnetjs: its layers' forward/backward on one Vol at a time, looped over the batch. */
export const convnetjs: Impl = {
  name: "convnetjs",
  init: () => Promise.resolve(undefined),
  activate: () => Promise.resolve(),
  setup: convnetjsSetup,
  describe: () =>
    "convnetjs: convnetjs 0.3.0, single-sample API, so a batch is a loop over its samples; " +
    "its Vols are Float64Array (float64, channels last); W6 uses its Net and Trainer " +
    "(sgd, momentum 0, batch_size 64, no decay)",
};

/** All JS implementations, convprop first. */
export const IMPLS: readonly Impl[] = [convprop, tfjsCpu, tfjsWasm, convnetjs];
