/**
 * The six workloads of `deno task compare` and their inputs, generated once from a fixed seed
 * so every implementation (and the Python reference process) computes on the same numbers.
 * All data is float32, in convprop's layout (NCHW; filters [D,C,kh,kw]; fc weights [D,K]);
 * each peer converts to its own layout outside the timed region.
 *
 * @module
 */

import { Conv2D, FullyConnected, mulberry32, normal, type Rng } from "../../mod.ts";

/** Convolution W1–W3: x [n,c,h,w], w [d,c,k,k], b [d], dy [n,d,ho,wo]. */
export interface ConvSpec {
  kind: "conv";
  n: number;
  c: number;
  h: number;
  w: number;
  d: number;
  k: number;
  pad: number;
}

/** Max-pool W4: x [n,c,h,w], square window `size`, stride `stride`. */
export interface PoolSpec {
  kind: "pool";
  n: number;
  c: number;
  h: number;
  w: number;
  size: number;
  stride: number;
}

/** Fully connected W5: x [n,k], w [d,k], b [d]. */
export interface FcSpec {
  kind: "fc";
  n: number;
  k: number;
  d: number;
}

/** Caffe's LeNet (20-50-500, not LeNet-5) training step W6 on x [n,1,28,28] with `classes` labels and SGD step `lr`. */
export interface LenetSpec {
  kind: "lenet";
  n: number;
  classes: number;
  lr: number;
}

/** Any workload's geometry. */
export type Spec = ConvSpec | PoolSpec | FcSpec | LenetSpec;

/** A named array with its shape, in convprop's layout. */
export interface Arr {
  shape: number[];
  data: Float32Array;
}

/** A workload: its geometry, a one-line description and its inputs. */
export interface Workload {
  /** "W1" … "W6". */
  id: string;
  /** What it computes, for the table. */
  title: string;
  spec: Spec;
  /** Inputs by name: conv x,w,b,dy; pool x,dy; fc x,w,b,dy; lenet x and the eight params. */
  arrays: Record<string, Arr>;
  /** lenet only: the class of each sample. */
  labels?: Int32Array;
}

/** LeNet parameter names in the order convprop's `params()` lists them. */
export const LENET_PARAMS: readonly string[] = [
  "conv1.w",
  "conv1.b",
  "conv2.w",
  "conv2.b",
  "fc1.w",
  "fc1.b",
  "fc2.w",
  "fc2.b",
];

/** The workload table of the performance requirement. */
export const SPECS: Readonly<Record<string, { title: string; spec: Spec }>> = {
  W1: {
    title: "conv 1→20, 5×5, 28×28, batch 64",
    spec: { kind: "conv", n: 64, c: 1, h: 28, w: 28, d: 20, k: 5, pad: 0 },
  },
  W2: {
    title: "conv 20→50, 5×5, 12×12, batch 64",
    spec: { kind: "conv", n: 64, c: 20, h: 12, w: 12, d: 50, k: 5, pad: 0 },
  },
  W3: {
    title: "conv 64→64, 3×3 pad 1, 32×32, batch 32",
    spec: { kind: "conv", n: 32, c: 64, h: 32, w: 32, d: 64, k: 3, pad: 1 },
  },
  W4: {
    title: "max-pool 2×2/2 on [64,20,24,24]",
    spec: { kind: "pool", n: 64, c: 20, h: 24, w: 24, size: 2, stride: 2 },
  },
  W5: { title: "fully connected 800→500, batch 64", spec: { kind: "fc", n: 64, k: 800, d: 500 } },
  W6: {
    title: "Caffe's LeNet training step, batch 64",
    spec: { kind: "lenet", n: 64, classes: 10, lr: 0.01 },
  },
};

function randn(rng: Rng, length: number, std: number): Float32Array {
  const a = new Float32Array(length);
  for (let i = 0; i < length; i++) a[i] = std * normal(rng);
  return a;
}

function arr(shape: number[], data: Float32Array): Arr {
  return { shape, data };
}

/** Output size of a window of `k` with stride `s` over `h` cells padded by `p`, as PyTorch. */
export function outSize(h: number, k: number, s: number, p: number): number {
  return Math.floor((h + 2 * p - k) / s) + 1;
}

/**
 * Builds workload `id` with inputs drawn from `mulberry32(seed)`: x and dy ~ N(0,1), weights
 * He-scaled (std √(2/fan-in)), biases 0.1·N(0,1); LeNet starts from convprop's own He
 * initialisation with small random biases (so a bias layout error would show in the check).
 */
export function makeWorkload(id: string, seed: number): Workload {
  const entry = SPECS[id];
  if (entry === undefined) throw new RangeError(`compare: unknown workload ${id}`);
  const rng = mulberry32(seed);
  const { spec, title } = entry;
  const arrays: Record<string, Arr> = {};
  switch (spec.kind) {
    case "conv": {
      const { n, c, h, w, d, k, pad } = spec;
      const ho = outSize(h, k, 1, pad), wo = outSize(w, k, 1, pad);
      arrays.x = arr([n, c, h, w], randn(rng, n * c * h * w, 1));
      arrays.w = arr([d, c, k, k], randn(rng, d * c * k * k, Math.sqrt(2 / (c * k * k))));
      arrays.b = arr([d], randn(rng, d, 0.1));
      arrays.dy = arr([n, d, ho, wo], randn(rng, n * d * ho * wo, 1));
      return { id, title, spec, arrays };
    }
    case "pool": {
      const { n, c, h, w, size, stride } = spec;
      const ho = outSize(h, size, stride, 0), wo = outSize(w, size, stride, 0);
      arrays.x = arr([n, c, h, w], randn(rng, n * c * h * w, 1));
      arrays.dy = arr([n, c, ho, wo], randn(rng, n * c * ho * wo, 1));
      return { id, title, spec, arrays };
    }
    case "fc": {
      const { n, k, d } = spec;
      arrays.x = arr([n, k], randn(rng, n * k, 1));
      arrays.w = arr([d, k], randn(rng, d * k, Math.sqrt(2 / k)));
      arrays.b = arr([d], randn(rng, d, 0.1));
      arrays.dy = arr([n, d], randn(rng, n * d, 1));
      return { id, title, spec, arrays };
    }
    case "lenet": {
      const { n, classes } = spec;
      const x = new Float32Array(n * 28 * 28);
      for (let i = 0; i < x.length; i++) x[i] = rng(); // pixel-like values in [0, 1)
      arrays.x = arr([n, 1, 28, 28], x);
      const labels = new Int32Array(n);
      for (let i = 0; i < n; i++) labels[i] = Math.floor(rng() * classes);
      const init = [
        new Conv2D({ inChannels: 1, outChannels: 20, size: 5, rng }),
        new Conv2D({ inChannels: 20, outChannels: 50, size: 5, rng }),
        new FullyConnected({ inFeatures: 800, outFeatures: 500, rng }),
        new FullyConnected({ inFeatures: 500, outFeatures: classes, rng }),
      ];
      const names = ["conv1", "conv2", "fc1", "fc2"];
      init.forEach((layer, i) => {
        for (const p of layer.params()) {
          const data = Float32Array.from(p.value.data);
          if (p.name === "b") {
            for (let j = 0; j < data.length; j++) data[j] = 0.01 * normal(rng);
          }
          arrays[`${names[i]}.${p.name}`] = arr([...p.value.shape], data);
        }
      });
      return { id, title, spec, arrays, labels };
    }
  }
}

/** [N,C,H,W] → [N,H,W,C] (tfjs and convnetjs keep channels last). */
export function toNHWC(a: ArrayLike<number>, shape: readonly number[]): Float32Array {
  const [N, C, H, W] = shape;
  const out = new Float32Array(N * C * H * W);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < H * W; i++) out[(n * H * W + i) * C + c] = a[(n * C + c) * H * W + i];
    }
  }
  return out;
}

/** [N,H,W,C] → [N,C,H,W]; `shape` is the NCHW shape wanted. */
export function toNCHW(a: ArrayLike<number>, shape: readonly number[]): Float32Array {
  const [N, C, H, W] = shape;
  const out = new Float32Array(N * C * H * W);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < H * W; i++) out[(n * C + c) * H * W + i] = a[(n * H * W + i) * C + c];
    }
  }
  return out;
}

/** Filters [D,C,kh,kw] → [kh,kw,C,D] (tfjs's HWIO). */
export function toHWIO(a: ArrayLike<number>, shape: readonly number[]): Float32Array {
  const [D, C, kh, kw] = shape;
  const out = new Float32Array(D * C * kh * kw);
  for (let d = 0; d < D; d++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < kh * kw; i++) out[(i * C + c) * D + d] = a[(d * C + c) * kh * kw + i];
    }
  }
  return out;
}

/** [kh,kw,C,D] → [D,C,kh,kw]; `shape` is the DCHW shape wanted. */
export function fromHWIO(a: ArrayLike<number>, shape: readonly number[]): Float32Array {
  const [D, C, kh, kw] = shape;
  const out = new Float32Array(D * C * kh * kw);
  for (let d = 0; d < D; d++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < kh * kw; i++) out[(d * C + c) * kh * kw + i] = a[(i * C + c) * D + d];
    }
  }
  return out;
}

/** Matrix transpose of a row-major [rows, cols]. */
export function transpose2d(a: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j];
  return out;
}

/**
 * fc1's weights [500, 800] read the pooled map flattened channel-first (c,h,w), as convprop
 * does; tfjs and convnetjs flatten channels-last (h,w,c). Returns the columns reordered to
 * (h,w,c), or back with `inverse`.
 */
export function fc1ColumnsToHWC(
  a: ArrayLike<number>,
  rows: number,
  chw: [number, number, number],
  inverse = false,
): Float32Array {
  const [C, H, W] = chw, K = C * H * W;
  const out = new Float32Array(rows * K);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < H * W; i++) {
        const src = c * H * W + i, dst = i * C + c;
        if (inverse) out[r * K + src] = a[r * K + dst];
        else out[r * K + dst] = a[r * K + src];
      }
    }
  }
  return out;
}

/**
 * The first `nb` samples of a workload (same weights), to time an implementation too slow for
 * the whole batch within the time box; its time is then scaled by n / nb.
 */
export function subBatch(w: Workload, nb: number): Workload {
  const n = w.spec.n;
  if (nb === n) return w;
  const arrays: Record<string, Arr> = {};
  for (const [name, a] of Object.entries(w.arrays)) {
    const batched = name === "x" || name === "dy";
    const per = a.data.length / n;
    arrays[name] = batched
      ? { shape: [nb, ...a.shape.slice(1)], data: a.data.slice(0, nb * per) }
      : a;
  }
  return { ...w, spec: { ...w.spec, n: nb }, arrays, labels: w.labels?.slice(0, nb) };
}
