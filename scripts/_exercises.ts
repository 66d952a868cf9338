// The exercises `deno task exercise` grades: for each, the function a learner's file must export,
// the geometries it is tried on (named edge cases first, then random ones from a seeded
// generator) and the expected answers, computed by the library's reference path
// (setBackend("reference"): layers/*.ts, the code docs/ derives). Private to scripts/; the command
// line is scripts/exercise.ts, the comparisons scripts/_exercise_checks.ts.

import {
  avgPoolBackward,
  avgPoolForward,
  convBackward,
  convForward,
  getBackend,
  maxPoolBackward,
  maxPoolForward,
  mulberry32,
  type Rng,
  setBackend,
  type Tensor,
} from "../mod.ts";
import {
  compareTensor,
  isNotImplemented,
  kind,
  num,
  shapeText,
  thrown,
  unchanged,
  unravel,
} from "./_exercise_checks.ts";

// deno-lint-ignore no-explicit-any
type AnyFunction = (...args: any[]) => unknown;

/** One geometry an exercise is tried on. */
export interface Case {
  /** "padding 1", "random 3": which one, in the report. */
  readonly label: string;
  /** Its sizes, e.g. "x [1,1,5,5], w [1,1,3,3], b [1], stride [1,1], padding [1,1]". */
  readonly geometry: string;
  /** What usually goes wrong in this case, printed when it is the first to fail. */
  readonly hint?: string;
  /** The arguments the learner's function is called with. */
  readonly args: readonly unknown[];
  /** The tensor arguments a correct function leaves as they were. */
  readonly inputs: readonly [string, Tensor][];
  /** The problems with what the function returned (empty: right). */
  check(got: unknown): string[];
}

/** One exercise of exercises/. */
export interface Exercise {
  /** The name `deno task exercise` takes, and the file's: "conv_forward". */
  readonly name: string;
  /** The function the file exports. */
  readonly exportName: string;
  /** One line: what it asks. */
  readonly title: string;
  /** The docs/ page that derives what it implements. */
  readonly docs: string;
  /** "geometries" or "cases", for the report. */
  readonly unit: string;
  /** The cases for one seed: always the same named edge cases, then random ones. */
  cases(rng: Rng): Case[];
}

/** How one exercise went. */
export type Outcome =
  | { readonly status: "ok"; readonly cases: number }
  | { readonly status: "not implemented" }
  | { readonly status: "cannot load"; readonly reason: string }
  | {
    readonly status: "fail";
    readonly cases: number;
    /** The labels of the cases that failed, in order. */
    readonly failed: readonly string[];
    /** The labels of the cases that passed. */
    readonly passed: readonly string[];
    /** The first failing case and what is wrong with it. */
    readonly first: { readonly case: Case; readonly problems: readonly string[] };
  };

// --- random geometries --------------------------------------------------------------------------

/** A random integer in [lo, hi]. */
function int(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** A tensor of uniform numbers in [−1, 1). */
function rand(rng: Rng, shape: readonly number[]): Tensor<Float64Array> {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = 2 * rng() - 1;
  return { shape: [...shape], data };
}

/** A fresh copy: every call gets its own arrays, so one bad call cannot spoil the next. */
function copy(t: Tensor): Tensor<Float64Array> {
  return { shape: [...t.shape], data: Float64Array.from(t.data) };
}

/** The sizes of a convolution, as the grader draws them. */
interface ConvSizes {
  N: number;
  C: number;
  D: number;
  H: number;
  W: number;
  k: [number, number];
  s: [number, number];
  p: [number, number];
}

/** The sizes of a pooling layer. */
interface PoolSizes {
  N: number;
  C: number;
  H: number;
  W: number;
  k: [number, number];
  s: [number, number];
  p: [number, number];
}

/**
 * A random convolution: N, C, D ≤ 3, kernel ≤ 4, stride ≤ 3, padding < the kernel (so every
 * window holds a cell of x), H and W ≤ 9 with the kernel fitting the padded input.
 */
function randomConv(rng: Rng): ConvSizes {
  const k: [number, number] = [int(rng, 1, 4), int(rng, 1, 4)];
  const p: [number, number] = [int(rng, 0, k[0] - 1), int(rng, 0, k[1] - 1)];
  const s: [number, number] = [int(rng, 1, 3), int(rng, 1, 3)];
  const H = int(rng, Math.max(1, k[0] - 2 * p[0]), 9),
    W = int(rng, Math.max(1, k[1] - 2 * p[1]), 9);
  return { N: int(rng, 1, 3), C: int(rng, 1, 3), D: int(rng, 1, 3), H, W, k, s, p };
}

/** A random pooling: N, C ≤ 3, window ≤ 4, stride ≤ 3, padding ≤ half the window, H and W ≤ 9
 * with the window fitting the padded input. */
function randomPool(rng: Rng): PoolSizes {
  const k: [number, number] = [int(rng, 1, 4), int(rng, 1, 4)];
  const p: [number, number] = [int(rng, 0, k[0] >> 1), int(rng, 0, k[1] >> 1)];
  const s: [number, number] = [int(rng, 1, 3), int(rng, 1, 3)];
  const H = int(rng, Math.max(1, k[0] - 2 * p[0]), 9),
    W = int(rng, Math.max(1, k[1] - 2 * p[1]), 9);
  return { N: int(rng, 1, 3), C: int(rng, 1, 3), H, W, k, s, p };
}

const pair = (a: readonly number[]): string => shapeText(a);

/** The named convolution edge cases, simplest first, each with what it catches. */
const CONV_EDGES: [string, ConvSizes, string][] = [
  ["the plain case", { N: 1, C: 1, D: 1, H: 4, W: 4, k: [3, 3], s: [1, 1], p: [0, 0] }, ""],
  [
    "C > 1 and D > 1",
    { N: 1, C: 3, D: 2, H: 5, W: 5, k: [3, 3], s: [1, 1], p: [0, 0] },
    "each filter d sums over all C input channels; w[d, c, i, j] is " +
    "w.data[((d·C + c)·kh + i)·kw + j]",
  ],
  [
    "N > 1",
    { N: 3, C: 2, D: 2, H: 4, W: 5, k: [2, 2], s: [1, 1], p: [0, 0] },
    "every sample n is its own image: its offset in x.data is n·C·H·W, in y.data n·D·Ho·Wo",
  ],
  [
    "padding 1",
    { N: 1, C: 1, D: 1, H: 5, W: 5, k: [3, 3], s: [1, 1], p: [1, 1] },
    "a tap at row oh·sh − ph + i < 0 or ≥ H reads the padding, which is 0: skip it " +
    "(and Ho = floor((H + 2·ph − kh) / sh) + 1)",
  ],
  [
    "stride 2",
    { N: 1, C: 2, D: 2, H: 7, W: 7, k: [3, 3], s: [2, 2], p: [0, 0] },
    "window (oh, ow) starts at row oh·sh − ph and column ow·sw − pw",
  ],
  [
    "stride 2 with padding",
    { N: 2, C: 2, D: 3, H: 6, W: 6, k: [3, 3], s: [2, 2], p: [1, 1] },
    "H + 2·ph − kh = 5 is odd: the stride skips the last row, which no window reads; " +
    "Ho is floored",
  ],
  [
    "non-square everything",
    { N: 2, C: 2, D: 2, H: 5, W: 8, k: [3, 2], s: [2, 1], p: [1, 0] },
    "rows use kh, sh, ph and H; columns kw, sw, pw and W: a swapped pair shows here",
  ],
  [
    "stride larger than the kernel",
    { N: 1, C: 1, D: 2, H: 7, W: 8, k: [2, 2], s: [3, 3], p: [0, 0] },
    "some cells are in no window at all",
  ],
  [
    "1×1 kernel, stride 2",
    { N: 2, C: 3, D: 2, H: 5, W: 4, k: [1, 1], s: [2, 2], p: [0, 0] },
    "",
  ],
  [
    "kernel as large as the input",
    { N: 2, C: 2, D: 3, H: 3, W: 4, k: [3, 4], s: [1, 1], p: [0, 0] },
    "one window: Ho = Wo = 1",
  ],
];

/** The named pooling edge cases. */
const POOL_EDGES: [string, PoolSizes, string][] = [
  ["2×2 windows, stride 2", { N: 1, C: 1, H: 4, W: 4, k: [2, 2], s: [2, 2], p: [0, 0] }, ""],
  [
    "N > 1 and C > 1",
    { N: 2, C: 3, H: 4, W: 6, k: [2, 2], s: [2, 2], p: [0, 0] },
    "slice (n, c) starts at (n·C + c)·H·W in x.data and at (n·C + c)·Ho·Wo in dy.data",
  ],
  [
    "overlapping windows (3×3, stride 1)",
    { N: 1, C: 2, H: 5, W: 5, k: [3, 3], s: [1, 1], p: [0, 0] },
    "a cell in several windows receives the sum of their gradients: +=, not =",
  ],
  [
    "overlapping windows, stride 2 (3×3)",
    { N: 1, C: 1, H: 7, W: 7, k: [3, 3], s: [2, 2], p: [0, 0] },
    "window (oh, ow) starts at row oh·sh − ph; neighbours share a row and a column",
  ],
  [
    "padding 1 (3×3, stride 2)",
    { N: 2, C: 2, H: 6, W: 6, k: [3, 3], s: [2, 2], p: [1, 1] },
    "a window's cells at row oh·sh − ph + i < 0 or ≥ H are padding: they are not cells of x " +
    "and get no gradient",
  ],
  [
    "non-square window, stride and padding",
    { N: 1, C: 2, H: 5, W: 6, k: [3, 2], s: [2, 1], p: [1, 1] },
    "rows use kh, sh, ph and H; columns kw, sw, pw and W",
  ],
  [
    "stride larger than the window",
    { N: 1, C: 1, H: 7, W: 8, k: [2, 2], s: [3, 3], p: [0, 0] },
    "cells in no window get 0",
  ],
];

// --- the exercises ------------------------------------------------------------------------------

const convText = (g: ConvSizes): string =>
  `x [${g.N},${g.C},${g.H},${g.W}], w [${g.D},${g.C},${g.k[0]},${g.k[1]}], stride ${pair(g.s)}, ` +
  `padding ${pair(g.p)}`;
const poolText = (g: PoolSizes): string =>
  `x [${g.N},${g.C},${g.H},${g.W}], size ${pair(g.k)}, stride ${pair(g.s)}, padding ${pair(g.p)}`;

/** The named edge cases and `random` random ones, as (label, sizes, hint). */
function geometries<G>(
  edges: [string, G, string][],
  draw: (rng: Rng) => G,
  rng: Rng,
  random: number,
): [string, G, string][] {
  const out = [...edges];
  for (let r = 1; r <= random; r++) out.push([`random ${r}`, draw(rng), ""]);
  return out;
}

/** The reference convolution's y and cache, on the reference path. */
function referenceConv(
  x: Tensor<Float64Array>,
  w: Tensor<Float64Array>,
  b: Tensor<Float64Array>,
  g: ConvSizes,
) {
  return convForward(x, w, b, { stride: g.s, padding: g.p });
}

const convForwardExercise: Exercise = {
  name: "conv_forward",
  exportName: "convForwardNaive",
  title: "the convolution's forward pass as nested loops",
  docs: "docs/im2col.md#the-definition",
  unit: "geometries",
  cases(rng) {
    return geometries(CONV_EDGES, randomConv, rng, 16).map(([label, g, hint]) => {
      const x = rand(rng, [g.N, g.C, g.H, g.W]), w = rand(rng, [g.D, g.C, ...g.k]);
      const b = rand(rng, [g.D]);
      const { y } = referenceConv(x, w, b, g);
      const [xa, wa, ba] = [copy(x), copy(w), copy(b)];
      return {
        label,
        hint,
        geometry: convText(g).replace(", stride", `, b [${g.D}], stride`),
        args: [xa, wa, ba, { stride: g.s, padding: g.p }],
        inputs: [["x", xa], ["w", wa], ["b", ba]],
        check: (got) => compareTensor("y", got, y),
      };
    });
  },
};

const convBackwardExercise: Exercise = {
  name: "conv_backward",
  exportName: "convBackwardNaive",
  title: "the convolution's dx, dw and db as nested loops",
  docs: "docs/conv_backward.md",
  unit: "geometries",
  cases(rng) {
    return geometries(CONV_EDGES, randomConv, rng, 16).map(([label, g, hint]) => {
      const x = rand(rng, [g.N, g.C, g.H, g.W]), w = rand(rng, [g.D, g.C, ...g.k]);
      const { y, cache } = referenceConv(x, w, rand(rng, [g.D]), g);
      const dy = rand(rng, y.shape);
      const { dx, dw, db } = convBackward(dy, cache);
      const [dya, xa, wa] = [copy(dy), copy(x), copy(w)];
      return {
        label,
        hint,
        geometry: `${convText(g)}, dy ${shapeText(y.shape)}`,
        args: [dya, xa, wa, { stride: g.s, padding: g.p }],
        inputs: [["dy", dya], ["x", xa], ["w", wa]],
        check: (got) => {
          if (typeof got !== "object" || got === null) {
            return [`the result should be { dx, dw, db }, got ${kind(got)}`];
          }
          const r = got as Record<string, unknown>;
          return [
            ...compareTensor("dx", r.dx, dx),
            ...compareTensor("dw", r.dw, dw),
            ...compareTensor("db", r.db, db!),
          ];
        },
      };
    });
  },
};

const maxPoolBackwardExercise: Exercise = {
  name: "max_pool_backward",
  exportName: "maxPoolBackwardNaive",
  title: "max pooling's gradient, routed to each window's winner",
  docs: "docs/max_pool.md#backward",
  unit: "geometries",
  cases(rng) {
    // the fourth entry makes x from uniform numbers in [−1, 1)
    type MakeX = (x: Tensor<Float64Array>) => Tensor<Float64Array>;
    const same: MakeX = (x) => x;
    const sets: [string, PoolSizes, string, MakeX][] = geometries(
      POOL_EDGES,
      randomPool,
      rng,
      16,
    ).map(([l, g, h]) => [l, g, h, same]);
    sets.splice(
      5,
      0,
      [
        "ties (inputs 0, 1, 2; 3×3 windows, stride 1)",
        { N: 1, C: 2, H: 6, W: 6, k: [3, 3], s: [1, 1], p: [0, 0] },
        "on a tie the first maximal cell in row-major order wins: replace the winner only when " +
        "a cell is strictly larger",
        (x) => ({ shape: x.shape, data: x.data.map((v) => Math.floor(1.5 * (v + 1))) }),
      ],
      [
        "negative inputs with padding (2×2, stride 1, padding 1)",
        { N: 1, C: 1, H: 3, W: 3, k: [2, 2], s: [1, 1], p: [1, 1] },
        "the padding is −∞, not 0: a border window over negative numbers is won by a cell of x",
        (x) => ({ shape: x.shape, data: x.data.map((v) => -1.5 - Math.abs(v)) }),
      ],
    );
    return sets.map(([label, g, hint, makeX]) => {
      const x = makeX(rand(rng, [g.N, g.C, g.H, g.W]));
      const pool = { size: g.k, stride: g.s, padding: g.p };
      const { y, cache } = maxPoolForward(x, pool);
      const dy = rand(rng, y.shape);
      const dx = maxPoolBackward(dy, cache);
      const [dya, xa] = [copy(dy), copy(x)];
      return {
        label,
        hint,
        geometry: `${poolText(g)}, dy ${shapeText(y.shape)}`,
        args: [dya, xa, pool],
        inputs: [["dy", dya], ["x", xa]],
        check: (got) => compareTensor("dx", got, dx),
      };
    });
  },
};

const avgPoolBackwardExercise: Exercise = {
  name: "avg_pool_backward",
  exportName: "avgPoolBackwardAddAt",
  title: "average pooling's gradient through the im2col table with addAt",
  docs: "docs/avg_pool.md#backward",
  unit: "geometries",
  cases(rng) {
    const sets = geometries(POOL_EDGES, randomPool, rng, 16).map(([l, g, h], i) =>
      [l, g, h, i < POOL_EDGES.length ? true : rng() < 0.5] as [string, PoolSizes, string, boolean]
    );
    sets.splice(5, 0, [
      "padding not counted (countIncludePad: false; 3×3, stride 1, padding 1)",
      { N: 1, C: 1, H: 5, W: 5, k: [3, 3], s: [1, 1], p: [1, 1] },
      "with countIncludePad false a window divides by the number of its cells that are in x: " +
      "count the entries of its column of the table that are not −1",
      false,
    ]);
    return sets.map(([label, g, hint, countIncludePad]) => {
      const x = rand(rng, [g.N, g.C, g.H, g.W]);
      const pool = { size: g.k, stride: g.s, padding: g.p, countIncludePad };
      const { y, cache } = avgPoolForward(x, pool);
      const dy = rand(rng, y.shape);
      const dx = avgPoolBackward(dy, cache);
      const dya = copy(dy);
      return {
        label,
        hint,
        geometry: `${poolText(g)}, countIncludePad ${countIncludePad}, dy ${shapeText(y.shape)}`,
        args: [dya, [...x.shape], pool],
        inputs: [["dy", dya]],
        check: (got) => compareTensor("dx", got, dx),
      };
    });
  },
};

const stridedDxExercise: Exercise = {
  name: "strided_dx",
  exportName: "stridedDx",
  title: "a strided convolution's dx as a stride-1 convolution of the dilated dy",
  docs: "docs/conv_backward.md#another-way-to-see-dx-a-convolution-with-the-flipped-kernel",
  unit: "geometries",
  cases(rng) {
    // the convolution's edge cases, and two more about the stride, which this one is about
    const edges = [...CONV_EDGES];
    edges.splice(4, 0, [
      "stride 2, a row skipped (5×5, 2×2 kernel)",
      { N: 1, C: 1, D: 1, H: 5, W: 5, k: [2, 2], s: [2, 2], p: [0, 0] },
      "H + 2·ph − kh = 3 is odd: the last row and column are in no window, their gradient is 0 " +
      "and dx must still have x's shape [H, W]",
    ], [
      "stride 3 (7×8, 3×3 kernel, padding [1,2])",
      { N: 2, C: 2, D: 2, H: 7, W: 8, k: [3, 3], s: [3, 3], p: [1, 2] },
      "dilate: sh − 1 zeros between two rows of dy, then pad by kh − 1 − ph",
    ]);
    return geometries(edges, randomConv, rng, 16).map(([label, g, hint]) => {
      const x = rand(rng, [g.N, g.C, g.H, g.W]), w = rand(rng, [g.D, g.C, ...g.k]);
      const { y, cache } = referenceConv(x, w, rand(rng, [g.D]), g);
      const dy = rand(rng, y.shape);
      const { dx } = convBackward(dy, cache);
      const [dya, wa] = [copy(dy), copy(w)];
      return {
        label,
        hint,
        geometry: `${convText(g)}, dy ${shapeText(y.shape)}`,
        args: [dya, wa, [...x.shape], { stride: g.s, padding: g.p }],
        inputs: [["dy", dya], ["w", wa]],
        check: (got) => compareTensor("dx", got, dx!),
      };
    });
  },
};

// --- the gradient checker -----------------------------------------------------------------------

/** A function with a known gradient, for the checker to be tried on. */
interface Known {
  readonly label: string;
  /** f's formula, for the report. */
  readonly formula: string;
  readonly x: Tensor<Float64Array>;
  readonly f: (x: Tensor) => number;
  /** The true gradient at x. */
  readonly grad: Float64Array;
}

/** Σ_i term(a_i, i), in float64. */
function sum(a: ArrayLike<number>, term: (v: number, i: number) => number): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += term(a[i], i);
  return s;
}

function known(rng: Rng): Known[] {
  const sin = (shape: number[]): Known => {
    const x = rand(rng, shape), c = rand(rng, shape).data;
    return {
      label: "",
      formula: "f(x) = Σ c_i·sin(x_i)",
      x,
      f: (t) => sum(t.data, (v, i) => c[i] * Math.sin(v)),
      grad: x.data.map((v, i) => c[i] * Math.cos(v)),
    };
  };
  const cubes: Known = (() => {
    const x = rand(rng, [3, 4]);
    return {
      label: "",
      formula: "f(x) = Σ_{i even} x_i³ (the odd entries' gradient is exactly 0)",
      x,
      f: (t) => sum(t.data, (v, i) => (i % 2 === 0 ? v * v * v : 0)),
      grad: x.data.map((v, i) => (i % 2 === 0 ? 3 * v * v : 0)),
    };
  })();
  const large: Known = (() => {
    const x = rand(rng, [2, 3]);
    return {
      label: "",
      formula: "f(x) = 10⁶·Σ x_i² (the error must be relative for large gradients)",
      x,
      f: (t) => 1e6 * sum(t.data, (v) => v * v),
      grad: x.data.map((v) => 2e6 * v),
    };
  })();
  const lse: Known = (() => {
    const x = rand(rng, [5]);
    const f = (t: Tensor) => Math.log(sum(t.data, Math.exp));
    const z = sum(x.data, Math.exp);
    return {
      label: "",
      formula: "f(x) = log Σ exp(x_i) (the gradient is softmax(x))",
      x,
      f,
      grad: x.data.map((v) => Math.exp(v) / z),
    };
  })();
  const conv: Known = (() => {
    const g: ConvSizes = { N: 1, C: 2, D: 2, H: 5, W: 4, k: [3, 2], s: [2, 1], p: [1, 0] };
    const x = rand(rng, [g.N, g.C, g.H, g.W]), w = rand(rng, [g.D, g.C, ...g.k]);
    const b = rand(rng, [g.D]);
    const { y, cache } = referenceConv(x, w, b, g);
    const r = rand(rng, y.shape).data;
    return {
      label: "",
      formula: "f(x) = ⟨convForward(x, w, b), r⟩, stride [2,1], padding [1,0] (the gradient is " +
        "convBackward's dx for dy = r)",
      x,
      f: (t) => sum(referenceConv(t as Tensor<Float64Array>, w, b, g).y.data, (v, i) => v * r[i]),
      grad: convBackward({ shape: y.shape, data: r }, cache).dx!.data,
    };
  })();
  return [sin([2, 3]), cubes, large, lse, conv];
}

const gradCheckExercise: Exercise = {
  name: "grad_check",
  exportName: "gradCheck",
  title: "a central-difference gradient checker that catches wrong gradients",
  docs: "docs/conv_backward.md#all-three-step-by-step-against-convbackward",
  unit: "cases",
  cases(rng) {
    const [sinK, cubes, large, lse, conv] = known(rng);
    type Expect = { ok: boolean; worst?: number; opts?: Record<string, number> };
    const cases: [string, Known, Float64Array, Expect, string][] = [];
    for (const k of [sinK, cubes, large, lse, conv]) {
      cases.push([
        `the right gradient of ${k.formula.split(" (")[0]}`,
        k,
        k.grad,
        { ok: true },
        "",
      ]);
    }
    const off = (k: Known, i: number, by: (g: number) => number): Float64Array => {
      const g = Float64Array.from(k.grad);
      g[i] = by(g[i]);
      return g;
    };
    cases.push(
      [
        "one entry off by 1e-3",
        sinK,
        off(sinK, 4, (g) => g + 1e-3),
        { ok: false, worst: 4 },
        "a checker must catch a wrong gradient: compare every entry, and say which is worst",
      ],
      [
        "one large entry off by 1e-4 of itself",
        large,
        off(large, 1, (g) => g * (1 + 1e-4)),
        { ok: false, worst: 1 },
        "relative to max(1, |grad_i|, |numeric_i|), an error of 1e-4 is still far above 1e-6",
      ],
      [
        "the gradient with its sign flipped",
        lse,
        lse.grad.map((v) => -v),
        { ok: false },
        "",
      ],
      [
        "a gradient of zeros",
        conv,
        new Float64Array(conv.grad.length),
        { ok: false },
        "",
      ],
      [
        "two entries swapped",
        conv,
        (() => {
          const g = Float64Array.from(conv.grad);
          // the largest and the smallest entry, so that the swap is a large error
          let hi = 0, lo = 0;
          for (let i = 0; i < g.length; i++) {
            if (g[i] > g[hi]) hi = i;
            if (g[i] < g[lo]) lo = i;
          }
          [g[hi], g[lo]] = [g[lo], g[hi]];
          return g;
        })(),
        { ok: false },
        "",
      ],
      [
        "one entry off by 1e-3, with { tolerance: 1e-2 }",
        sinK,
        off(sinK, 2, (g) => g + 1e-3),
        { ok: true, opts: { tolerance: 1e-2 } },
        "the tolerance is an option: opts.tolerance, default 1e-6",
      ],
    );
    return cases.map(([label, k, grad, expect, hint]): Case => {
      const x = copy(k.x), before = Float64Array.from(x.data);
      const g = { shape: [...x.shape], data: Float64Array.from(grad) };
      const args: unknown[] = [k.f, x, g];
      if (expect.opts) args.push(expect.opts);
      return {
        label,
        hint,
        geometry: `${k.formula}, x ${shapeText(x.shape)}${
          expect.opts ? `, opts ${JSON.stringify(expect.opts)}` : ""
        }`,
        args,
        inputs: [["grad", g]], // x is the checker's to move, and checked to be restored
        check: (got) => checkGradCheck(got, k, x, before, expect),
      };
    });
  },
};

/** Whether a checker's answer is right for a case with a known gradient. */
function checkGradCheck(
  got: unknown,
  k: Known,
  x: Tensor,
  before: Float64Array,
  expect: { ok: boolean; worst?: number },
): string[] {
  for (let i = 0; i < before.length; i++) {
    if (!Object.is(before[i], x.data[i])) {
      return [
        `your checker left x changed at [${unravel(i, x.shape).join(",")}]: ${num(before[i])} ` +
        `became ${num(x.data[i])} (restore x.data[i] to the value it had, not to x_i + h − h)`,
      ];
    }
  }
  if (typeof got !== "object" || got === null) {
    return [`the result should be { ok, numeric, maxError, worst }, got ${kind(got)}`];
  }
  const r = got as Record<string, unknown>;
  if (typeof r.ok !== "boolean") return [`ok should be a boolean, got ${kind(r.ok)}`];
  if (typeof r.maxError !== "number") {
    return [`maxError should be a number, got ${kind(r.maxError)}`];
  }
  if (!Number.isInteger(r.worst)) return [`worst should be an integer index, got ${kind(r.worst)}`];
  // the central differences themselves, against the true gradient: their error is
  // h²/6·|f‴| + |f|·2⁻⁵²/h, below 1e-8 in the grader's measure for every function here (and
  // about 1e-11 relative for the large one), while a one-sided difference is off by h/2·|f″|
  // (≈ 5e-6 for h = 1e-5): 1e-6 tells the two apart
  const numeric = compareNumeric(r.numeric, x.shape, k.grad);
  if (numeric.length > 0) return numeric;
  const problems: string[] = [];
  if (r.ok !== expect.ok) {
    problems.push(
      `expected ok ${expect.ok}, got ok ${r.ok} (maxError ${num(r.maxError)} at index ${r.worst})` +
        (expect.ok ? "" : ": this gradient is wrong, and the checker has to say so"),
    );
  }
  if (expect.worst !== undefined && r.worst !== expect.worst) {
    problems.push(
      `expected worst ${expect.worst} (the entry that is wrong), got worst ${r.worst}`,
    );
  }
  return problems;
}

/** The checker's `numeric` against the true gradient, in the checker's own error measure. */
function compareNumeric(got: unknown, shape: readonly number[], grad: Float64Array): string[] {
  const t = got as { shape?: unknown; data?: unknown } | null;
  if (typeof t !== "object" || t === null || !Array.isArray(t.shape)) {
    return [`numeric should be a tensor { shape, data } of x's shape, got ${kind(got)}`];
  }
  if (shapeText(t.shape) !== shapeText(shape)) {
    return [`numeric has shape ${shapeText(t.shape)}, expected x's ${shapeText(shape)}`];
  }
  if (!(t.data instanceof Float64Array) || t.data.length !== grad.length) {
    return [`numeric.data should be a Float64Array of ${grad.length} entries, got ${kind(t.data)}`];
  }
  for (let i = 0; i < grad.length; i++) {
    const n = t.data[i], g = grad[i];
    const error = Math.abs(n - g) / Math.max(1, Math.abs(n), Math.abs(g));
    if (!(error <= 1e-6)) {
      return [
        `numeric[${unravel(i, shape).join(",")}] is ${num(n)}, but the true gradient is ${
          num(g)
        } ` +
        `(error ${num(error)}): use the central difference (f(x + h) − f(x − h)) / 2h`,
      ];
    }
  }
  return [];
}

/** Every exercise, in the order the docs page lists them. */
export const EXERCISES: readonly Exercise[] = [
  convForwardExercise,
  convBackwardExercise,
  maxPoolBackwardExercise,
  avgPoolBackwardExercise,
  stridedDxExercise,
  gradCheckExercise,
];

/** A string's 32-bit FNV-1a hash: each exercise's geometries depend on the seed and its name. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}

/**
 * Grades one loaded function (`file` is how the report names it): every case of `exercise` for `seed`, the expected answers from the
 * reference path (the backend is restored afterwards). A function that throws the stub's marker
 * is "not implemented"; anything else it throws, or returns wrong, is a failure with the reason.
 */
export function grade(exercise: Exercise, loaded: Loaded, seed: number, file: string): Outcome {
  const previous = getBackend();
  setBackend("reference"); // the answers, and the functions the checker is given, run on it
  try {
    const cases = exercise.cases(mulberry32((seed ^ hash(exercise.name)) | 0));
    return gradeCases(cases, loaded, file);
  } finally {
    setBackend(previous);
  }
}

/** Runs `fn` on every case; the first failure is kept with its problems. */
function gradeCases(cases: Case[], { fn, url }: Loaded, file: string): Outcome {
  const failed: string[] = [], passed: string[] = [];
  let first: { case: Case; problems: string[] } | undefined;
  for (const c of cases) {
    const copies = c.inputs.map(([n, t]): [string, Tensor, Float64Array] => [
      n,
      t,
      Float64Array.from(t.data),
    ]);
    let problems: string[];
    try {
      const got = fn(...c.args);
      problems = [...unchanged(copies), ...c.check(got)];
    } catch (e) {
      if (isNotImplemented(e)) return { status: "not implemented" };
      problems = [thrown(e, url, file)];
    }
    if (problems.length === 0) passed.push(c.label);
    else {
      failed.push(c.label);
      first ??= { case: c, problems };
    }
  }
  if (first === undefined) return { status: "ok", cases: cases.length };
  return { status: "fail", cases: cases.length, failed, passed, first };
}

/** An outcome as the lines `deno task exercise` prints: one line, then the details of a failure. */
export function report(exercise: Exercise, outcome: Outcome, file: string): string[] {
  const name = exercise.name;
  switch (outcome.status) {
    case "ok":
      return [`${name}: ok (${outcome.cases} ${exercise.unit}, ${file})`];
    case "not implemented":
      return [`${name}: not implemented yet (edit ${file})`];
    case "cannot load":
      return [`${name}: cannot load ${file}: ${outcome.reason}`];
    case "fail": {
      const { first, failed, passed, cases } = outcome;
      const list = (labels: readonly string[]): string =>
        labels.length <= 12 ? labels.join("; ") : `${labels.slice(0, 12).join("; ")}; ...`;
      const lines = [
        `${name}: FAIL in ${failed.length} of ${cases} ${exercise.unit} (${file})`,
        `  the first failure, "${first.case.label}": ${first.case.geometry}`,
        ...first.problems.map((p) => `    ${p}`),
      ];
      if (first.case.hint) lines.push(`  hint: ${first.case.hint}`);
      lines.push(`  fails: ${list(failed)}`);
      if (passed.length > 0) lines.push(`  passes: ${list(passed)}`);
      lines.push(`  the derivation: ${exercise.docs}`);
      return lines;
    }
  }
}

/** A learner's function, and the file it came from. */
export interface Loaded {
  readonly fn: AnyFunction;
  readonly url: URL;
}

/**
 * Loads the function a learner's file exports for `exercise`, or says why it cannot: no such
 * file, a syntax error, no such export.
 */
export async function load(exercise: Exercise, url: URL): Promise<Loaded | { reason: string }> {
  let module: Record<string, unknown>;
  try {
    module = await import(url.href);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (/Module not found|No such file|cannot find|not found/i.test(message)) {
      return { reason: `no such file (${message.split("\n")[0]})` };
    }
    return { reason: message.split("\n").slice(0, 4).join(" ") };
  }
  const fn = module[exercise.exportName];
  if (typeof fn !== "function") {
    const names = Object.keys(module);
    return {
      reason: `it does not export a function ${exercise.exportName} (it exports ${
        names.length === 0 ? "nothing" : names.join(", ")
      })`,
    };
  }
  return { fn: fn as AnyFunction, url };
}
