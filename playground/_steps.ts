// The step-through's network and its steps (playground/step.ts draws them): the calls, the
// formulas and shapes, and the reference source lines each step quotes. No DOM here, so that
// tests/playground_test.ts can check in Deno that every quoted line is still in its file.

import {
  convBackward,
  convForward,
  fcBackward,
  fcForward,
  im2col,
  im2colTable,
  maxPoolBackward,
  maxPoolForward,
  mulberry32,
  normal,
  reluBackward,
  reluForward,
  softmax,
  softmaxCrossEntropy,
  type Tensor,
} from "../mod.ts";
import type { SourceRef } from "./_source.ts";

export type T64 = Tensor<Float64Array>;
export const t = (shape: number[], data: Float64Array): T64 => ({ shape, data });
export const H = 6, W = 6, D1 = 2, K = 3, CLASSES = 3;

/** The network's inputs and parameters (what the page lets you edit or re-draw). */
export interface Params {
  x: T64; // [1,1,6,6]
  w1: T64; // [2,1,3,3]
  b1: T64; // [2]
  w2: T64; // [3,8]
  b2: T64; // [3]
  label: number;
}

/** A stroke like a "7" on a 6×6 canvas, 0..1, so the input looks like an image. */
export function defaultInput(): Float64Array {
  const rows = ["111110", "000110", "001100", "001100", "011000", "010000"];
  return Float64Array.from(rows.join(""), (ch, i) => (ch === "1" ? 0.9 : 0.1 * ((i * 7) % 3)));
}

/** Weights drawn from seed `seed`, rounded to two decimals so that they can be read. */
export function drawParams(seed: number, x: Float64Array, label: number): Params {
  const rng = mulberry32(seed);
  const draw = (n: number, scale: number) =>
    Float64Array.from({ length: n }, () => Math.round(100 * scale * normal(rng)) / 100);
  return {
    x: t([1, 1, H, W], x),
    w1: t([D1, 1, K, K], draw(D1 * K * K, 0.6)),
    b1: t([D1], draw(D1, 0.1)),
    w2: t([CLASSES, D1 * 2 * 2], draw(CLASSES * D1 * 4, 0.7)),
    b2: t([CLASSES], draw(CLASSES, 0.1)),
    label,
  };
}

/** The whole pass, forward and backward, through the library's public functions. */
export function run(p: Params) {
  const table = im2colTable({ channels: 1, height: H, width: W, kernel: [K, K] });
  const xCol = im2col(p.x.data, table); // what convForward gathers for its one sample
  const conv = convForward(p.x, p.w1, p.b1);
  const relu = reluForward(conv.y);
  const pool = maxPoolForward(relu.y, { size: 2 });
  const fc = fcForward(pool.y, p.w2, p.b2);
  const probs = softmax(fc.y);
  const ce = softmaxCrossEntropy(fc.y, [p.label]);
  const dfc = fcBackward(ce.dlogits, fc.cache);
  const dpool = maxPoolBackward(dfc.dx, pool.cache);
  const drelu = reluBackward(dpool, relu.cache);
  const dconv = convBackward(drelu, conv.cache);
  // each window's winner: where maxPoolBackward sends a gradient of ones
  const ones = t([...pool.y.shape], new Float64Array(pool.y.data.length).fill(1));
  const winners = maxPoolBackward(ones, pool.cache).data;
  return { table, xCol, conv, relu, pool, fc, probs, ce, dfc, dpool, drelu, dconv, winners };
}
export type Run = ReturnType<typeof run>;

/** The loss with some stage replaced by `v`: what the finite differences perturb. */
export type Stage = "x" | "w1" | "b1" | "convY" | "reluY" | "poolY" | "w2" | "b2" | "logits";
export function lossWith(p: Params, stage: Stage, v: Float64Array): number {
  const swap = (s: Stage, own: T64): T64 => (s === stage ? t([...own.shape], v) : own);
  const fromInput = ["x", "w1", "b1", "w2", "b2"].includes(stage); // the whole chain reruns
  const y = stage === "convY"
    ? t([1, D1, 4, 4], v)
    : fromInput
    ? convForward(swap("x", p.x), swap("w1", p.w1), swap("b1", p.b1)).y
    : undefined;
  const a = stage === "reluY" ? t([1, D1, 4, 4], v) : y && reluForward(y).y;
  const m = stage === "poolY" ? t([1, D1, 2, 2], v) : a && maxPoolForward(a, { size: 2 }).y;
  const z = stage === "logits"
    ? t([1, CLASSES], v)
    : fcForward(m as T64, swap("w2", p.w2), swap("b2", p.b2)).y;
  return softmaxCrossEntropy(z, [p.label]).loss;
}

/** A gradient a step can check: its name, the stage it is the gradient of, and its values. */
export interface Grad {
  name: string;
  stage: Stage;
  value: (r: Run) => T64;
  of: (p: Params, r: Run) => T64;
}

export interface Step {
  phase: "forward" | "backward";
  title: string;
  formula: string;
  shapes: string;
  inputs: (p: Params, r: Run) => [string, T64][];
  outputs: (p: Params, r: Run) => [string, T64][];
  sources: SourceRef[];
  grads?: Grad[];
  note?: string;
  /** Cells to mark in a shown tensor, by its name, and what the mark means. */
  marks?: (r: Run) => { name: string; cells: Set<number>; meaning: string };
}

const CONV_FWD = "export function convForwardChecked";
const CONV_BWD = "export function convBackwardChecked";
export const STEPS: Step[] = [
  {
    phase: "forward",
    title: "im2col: gather the receptive fields",
    formula: "x_col[r, p] = x[T[r, p]]   (0 where T = −1; none here: no padding)",
    shapes: "x [1,1,6,6] → T, x_col [C·kh·kw, Ho·Wo] = [9, 16]",
    inputs: (p) => [["x", p.x]],
    outputs: (_, r) => [["x_col", t([9, 16], r.xCol)]],
    sources: [
      {
        file: "layers/conv.ts",
        after: CONV_FWD,
        lines: [
          "const table = im2colTable(convTableGeometry(g)); // the fancy-index table of one sample [K, P]",
          "const x_col = matrix(im2col(sample(x.data, n, C * H * W), table), K, P); // x_col [K, P]",
        ],
      },
      {
        file: "kernels/im2col.ts",
        after: "export function im2col<",
        lines: [
          "for (let t = 0; t < n; t++) x_col[t] = T[t] < 0 ? 0 : x[T[t]]; // x_col[t] = x[T[t]], 0 in the padding",
        ],
      },
    ],
  },
  {
    phase: "forward",
    title: "convolution: one matrix product",
    formula: "y = w_col · x_col + b,   w_col = w read as [D, C·kh·kw]",
    shapes: "w_col [2, 9] · x_col [9, 16] + b [2] → y [2, 16] = y [1,2,4,4]",
    inputs: (p, r) => [["w", p.w1], ["b", p.b1], ["x_col", t([9, 16], r.xCol)]],
    outputs: (_, r) => [["conv.y", r.conv.y]],
    sources: [
      {
        file: "layers/conv.ts",
        after: CONV_FWD,
        lines: [
          "const w_col = matrix(w.data, D, K); // w_col [D, K]: w as stored, one filter per row",
          "const y_n = addBias(gemm(w_col, x_col), b.data); // y_n = w_col · x_col + b   [D, P]",
        ],
      },
      {
        file: "kernels/gemm.ts",
        after: "export function gemm<",
        lines: [
          "let sum = 0; // Σ_p op(A)[i, p] · op(B)[p, j]",
          "for (let p = 0; p < k; p++) sum += s.a[i * s.rsA + p * s.csA] * s.b[p * s.rsB + j * s.csB];",
        ],
      },
    ],
  },
  {
    phase: "forward",
    title: "ReLU",
    formula: "a = max(0, y), entry by entry",
    shapes: "y [1,2,4,4] → a [1,2,4,4]",
    inputs: (_, r) => [["conv.y", r.conv.y]],
    outputs: (_, r) => [["relu.y", r.relu.y]],
    sources: [{
      file: "layers/relu.ts",
      after: "export function reluForward",
      lines: [
        "for (let i = 0; i < y.length; i++) y[i] = x.data[i] < 0 ? 0 : x.data[i]; // y = max(0, x)",
      ],
    }],
  },
  {
    phase: "forward",
    title: "max-pool 2×2: im2col again, then the largest of each column",
    formula: "m[c, oh, ow] = max over the 2×2 window (2·oh + i, 2·ow + j) of a[c]",
    shapes: "a [1,2,4,4] → per channel x_col [4, 4] → m [1,2,2,2]",
    inputs: (_, r) => [["relu.y", r.relu.y]],
    outputs: (_, r) => [["pool.y", r.pool.y]],
    marks: (r) => ({
      name: "relu.y",
      cells: new Set([...r.winners.keys()].filter((i) => r.winners[i] !== 0)),
      meaning: "each window's winner (where maxPoolBackward sends a gradient of ones)",
    }),
    sources: [
      {
        file: "layers/max_pool.ts",
        after: "function windows",
        lines: [
          "const x_col = im2col(x_s, table); // x_col [kh·kw, Ho·Wo]: one column per window",
          "const { max, argmax } = maxPoolColumns(x_col, { rows: table.rows, cols: P }); // [Ho·Wo] each",
        ],
      },
      {
        file: "layers/max_pool.ts",
        after: "export function maxPoolForward",
        lines: [
          "for (let s = 0; s < N * C; s++) y.set(windows(sample(x.data, s, H * W), table).max, s * P);",
        ],
      },
      {
        file: "kernels/max_pool.ts",
        after: "export function maxPoolColumns<",
        lines: [
          "if (v > max[p] || (v !== v && max[p] === max[p])) {",
          "max[p] = v;",
          "argmax[p] = r;",
        ],
      },
    ],
  },
  {
    phase: "forward",
    title: "fully connected: a convolution whose kernel covers the input",
    formula: "z = W₂ · vec(m) + b₂",
    shapes: "W₂ [3, 8] · vec(m) [8] + b₂ [3] → z [1, 3]",
    inputs: (p, r) => [["pool.y", r.pool.y], ["W₂", p.w2], ["b₂", p.b2]],
    outputs: (_, r) => [["logits", r.fc.y]],
    sources: [
      {
        file: "layers/fully_connected.ts",
        after: "export function fcForward",
        lines: [
          "const [x4, w4] = asConvolution(g, x, w); // x as an image [N, C, H, W], w as D filters covering it",
          "return asFcResult(convForwardChecked(fcConvGeometry(g), x4, w4, b), x, w); // y [N, D, 1, 1] is y [N, D]",
        ],
      },
      {
        file: "layers/conv.ts",
        after: CONV_FWD,
        lines: [
          "const y_n = addBias(gemm(w_col, x_col), b.data); // y_n = w_col · x_col + b   [D, P]",
        ],
      },
    ],
  },
  {
    phase: "forward",
    title: "softmax cross-entropy: the loss",
    formula: "L = log Σ_k exp(z_k − max z) − (z_t − max z) = −log softmax(z)_t,   t = the label",
    shapes: "z [1, 3], t → L (a number); p = softmax(z) [1, 3]",
    inputs: (_, r) => [["logits", r.fc.y]],
    outputs: (_, r) => [["probs", r.probs], ["loss", t([], Float64Array.of(r.ce.loss))]],
    sources: [{
      file: "layers/softmax_cross_entropy.ts",
      after: "export function softmaxCrossEntropy",
      lines: [
        "for (let k = 0; k < K; k++) if (z[o + k] > m) m = z[o + k];",
        "for (let k = 0; k < K; k++) s += Math.exp(z[o + k] - m);",
        "total += Math.log(s) - (z[o + t] - m);",
        "return { loss: total / N, dlogits: { shape: [N, K], data: dz } };",
      ],
    }],
  },
  {
    phase: "backward",
    title: "dL/dz: softmax minus one-hot",
    formula: "dz = (softmax(z) − onehot(t)) / N",
    shapes: "z [1, 3] → dz [1, 3]",
    inputs: (_, r) => [["probs", r.probs]],
    outputs: (_, r) => [["dlogits", r.ce.dlogits]],
    sources: [{
      file: "layers/softmax_cross_entropy.ts",
      after: "export function softmaxCrossEntropy",
      lines: [
        "for (let k = 0; k < K; k++) dz[o + k] = (Math.exp(z[o + k] - m) / s - (k === t ? 1 : 0)) / N;",
      ],
    }],
    grads: [{
      name: "dlogits",
      stage: "logits",
      value: (r) => r.ce.dlogits,
      of: (_, r) => r.fc.y,
    }],
  },
  {
    phase: "backward",
    title: "fully connected backward: the convolution's backward pass",
    formula: "dW₂ = dz · vec(m)ᵀ,   db₂ = dz,   dm = W₂ᵀ · dz (read as m's shape)",
    shapes: "dz [1, 3] → dW₂ [3, 8], db₂ [3], dm [1,2,2,2]",
    inputs: (_, r) => [["dlogits", r.ce.dlogits]],
    outputs: (_, r) => [["fc.dw", r.dfc.dw], ["fc.db", r.dfc.db], ["fc.dx", r.dfc.dx]],
    sources: [
      {
        file: "layers/fully_connected.ts",
        after: "export function fcBackward",
        lines: [
          "const g = convBackwardChecked(conv.geometry, dy4, conv, opts?.inputGradient !== false);",
        ],
      },
      {
        file: "layers/conv.ts",
        after: CONV_BWD,
        lines: [
          "addTo(dW, gemm(dY, x_col, { transB: true })); // dW += dY · x_colᵀ   [D, K]",
          "addTo(db, rowSums(dY)); // db += Σ_p dY   [D]",
          "if (dX !== null) dX.set(col2im(gemm(w_col, dY, { transA: true }), table), n * C * H * W); // dX_n = col2im(w_colᵀ · dY)",
        ],
      },
    ],
    grads: [
      { name: "fc.dw", stage: "w2", value: (r) => r.dfc.dw, of: (p) => p.w2 },
      { name: "fc.db", stage: "b2", value: (r) => r.dfc.db, of: (p) => p.b2 },
      { name: "fc.dx", stage: "poolY", value: (r) => r.dfc.dx, of: (_, r) => r.pool.y },
    ],
  },
  {
    phase: "backward",
    title: "max-pool backward: each gradient to its window's winner",
    formula: "da[winner of window p] += dm[p];   0 everywhere else",
    shapes: "dm [1,2,2,2] → da [1,2,4,4]",
    inputs: (_, r) => [["fc.dx", r.dfc.dx], ["relu.y", r.relu.y]],
    outputs: (_, r) => [["pool.dx", r.dpool]],
    marks: (r) => ({
      name: "relu.y",
      cells: new Set([...r.winners.keys()].filter((i) => r.winners[i] !== 0)),
      meaning: "each window's winner (where maxPoolBackward sends a gradient of ones)",
    }),
    sources: [{
      file: "layers/max_pool.ts",
      after: "export function maxPoolBackward",
      lines: [
        "const { argmax } = windows(sample(cache.x.data, s, H * W), table); // the winners, again",
        "const route = argmax.map((r, p) => s * H * W + table.indices[r * P + p]); // route[p] = T[argmax[p], p]",
        "addAt(dx, route, sample(dy.data, s, P)); // dx[route[p]] += dy[p]: each gradient to its winner",
      ],
    }, {
      file: "kernels/add_at.ts",
      after: "export function addAt(",
      lines: ["if (i >= 0) target[i] += values[t];"],
    }],
    grads: [{ name: "pool.dx", stage: "reluY", value: (r) => r.dpool, of: (_, r) => r.relu.y }],
    note: "A tie inside a window, or a ReLU output within h of 0, puts a kink within the " +
      "finite difference's reach: the check then disagrees, as it should.",
  },
  {
    phase: "backward",
    title: "ReLU backward: pass the gradient where the input was positive",
    formula: "dy = da · [y > 0]",
    shapes: "da [1,2,4,4] → dy [1,2,4,4]",
    inputs: (_, r) => [["pool.dx", r.dpool], ["conv.y", r.conv.y]],
    outputs: (_, r) => [["relu.dx", r.drelu]],
    sources: [{
      file: "layers/relu.ts",
      after: "export function reluBackward",
      lines: [
        "for (let i = 0; i < dx.length; i++) dx[i] = x[i] <= 0 ? 0 : dy.data[i]; // dx = dy · [x > 0]",
      ],
    }],
    grads: [{ name: "relu.dx", stage: "convY", value: (r) => r.drelu, of: (_, r) => r.conv.y }],
  },
  {
    phase: "backward",
    title: "convolution backward: dW, db, and dx through col2im",
    formula:
      "dW = dY · x_colᵀ,   db = Σ_p dY,   dx = col2im(w_colᵀ · dY) (the table used backwards)",
    shapes: "dY [2, 16] → dW [2, 9] = [2,1,3,3], db [2], dx_col [9, 16] → dx [1,1,6,6]",
    inputs: (_, r) => [["relu.dx", r.drelu]],
    outputs: (_, r) => [["conv.dw", r.dconv.dw], ["conv.db", r.dconv.db!], ["conv.dx", r.dconv.dx]],
    sources: [
      {
        file: "layers/conv.ts",
        after: CONV_BWD,
        lines: [
          "const dY = matrix(sample(dy.data, n, D * P), D, P); // dY [D, P]: sample n's dL/dy",
          "addTo(dW, gemm(dY, x_col, { transB: true })); // dW += dY · x_colᵀ   [D, K]",
          "addTo(db, rowSums(dY)); // db += Σ_p dY   [D]",
          "if (dX !== null) dX.set(col2im(gemm(w_col, dY, { transA: true }), table), n * C * H * W); // dX_n = col2im(w_colᵀ · dY)",
        ],
      },
      {
        file: "kernels/im2col.ts",
        after: "export function col2im<",
        lines: [
          "addAt(dx, table.indices, x_col); // dx[T[t]] += x_col[t]: each cell sums the entries that read it",
        ],
      },
      {
        file: "kernels/add_at.ts",
        after: "export function addAt(",
        lines: ["if (i >= 0) target[i] += values[t];"],
      },
    ],
    grads: [
      { name: "conv.dw", stage: "w1", value: (r) => r.dconv.dw, of: (p) => p.w1 },
      { name: "conv.db", stage: "b1", value: (r) => r.dconv.db!, of: (p) => p.b1 },
      { name: "conv.dx", stage: "x", value: (r) => r.dconv.dx, of: (p) => p.x },
    ],
  },
];
