/// <reference lib="dom" />
// Step through a pass (step.html): a tiny network, conv 3×3 (2 filters) → ReLU → max-pool 2 →
// fully connected (3 classes) → softmax cross-entropy, on a 6×6 input you can edit. Forward then
// backward, one step at a time: the formula, the shapes, the values, and the lines of the
// reference source that computed them (the real files, shipped in src/ by data.ts). Gradient
// steps have a finite-difference check. Every number is the library's (reference backend).
//
// The checks (scripts/check/playground.ts) read the numbers from `data-testid="tensor"`
// elements (`data-name`, `data-values`: the full-precision values as JSON) and the parameters
// from `data-testid="param"`, and compare them with the same calls in Deno.

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
  setBackend,
  softmax,
  softmaxCrossEntropy,
  type Tensor,
} from "../mod.ts";
import { type SourceRef, sourceView } from "./_source.ts";
import { byId, el, fmt, markReady } from "./_ui.ts";

setBackend("reference");

type T64 = Tensor<Float64Array>;
const t = (shape: number[], data: Float64Array): T64 => ({ shape, data });
const H = 6, W = 6, D1 = 2, K = 3, CLASSES = 3;

/** The network's inputs and parameters (what the page lets you edit or re-draw). */
interface Params {
  x: T64; // [1,1,6,6]
  w1: T64; // [2,1,3,3]
  b1: T64; // [2]
  w2: T64; // [3,8]
  b2: T64; // [3]
  label: number;
}

/** A stroke like a "7" on a 6×6 canvas, 0..1, so the input looks like an image. */
function defaultInput(): Float64Array {
  const rows = ["111110", "000110", "001100", "001100", "011000", "010000"];
  return Float64Array.from(rows.join(""), (ch, i) => (ch === "1" ? 0.9 : 0.1 * ((i * 7) % 3)));
}

/** Weights drawn from seed `seed`, rounded to two decimals so that they can be read. */
function drawParams(seed: number, x: Float64Array, label: number): Params {
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
function run(p: Params) {
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
  return { table, xCol, conv, relu, pool, fc, probs, ce, dfc, dpool, drelu, dconv };
}
type Run = ReturnType<typeof run>;

/** The loss with some stage replaced by `v`: what the finite differences perturb. */
type Stage = "x" | "w1" | "b1" | "convY" | "reluY" | "poolY" | "w2" | "b2" | "logits";
function lossWith(p: Params, stage: Stage, v: Float64Array): number {
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
interface Grad {
  name: string;
  stage: Stage;
  value: (r: Run) => T64;
  of: (p: Params, r: Run) => T64;
}

interface Step {
  phase: "forward" | "backward";
  title: string;
  formula: string;
  shapes: string;
  inputs: (p: Params, r: Run) => [string, T64][];
  outputs: (p: Params, r: Run) => [string, T64][];
  sources: SourceRef[];
  grads?: Grad[];
  note?: string;
}

const CONV_FWD = "export function convForwardChecked";
const CONV_BWD = "export function convBackwardChecked";
const STEPS: Step[] = [
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

// ---------------------------------------------------------------------------------------------
// the page

let seed = 1;
let params = drawParams(seed, defaultInput(), 2);
let result = run(params);
let current = 0;

/** A tensor as grids: [1,C,H,W] one H×W grid per channel, [R,C] a matrix, [n] one row. */
function tensorView(name: string, x: T64): HTMLElement {
  const shape = x.shape;
  const box = el("div", {
    class: "tensor",
    "data-testid": "tensor",
    "data-name": name,
    "data-values": JSON.stringify(Array.from(x.data)),
  }, el("h4", {}, `${name} `, el("span", { class: "muted" }, `[${shape.join(", ")}]`)));
  if (shape.length === 0) {
    box.append(el("p", { class: "mono scalar" }, fmt(x.data[0], 6)));
    return box;
  }
  const grids = shape.length === 4
    ? { n: shape[0] * shape[1], rows: shape[2], cols: shape[3] }
    : shape.length === 2
    ? { n: 1, rows: shape[0], cols: shape[1] }
    : { n: 1, rows: 1, cols: shape[0] };
  const wrap = el("div", { class: "channels" });
  for (let g = 0; g < grids.n; g++) {
    const tb = el("table", {
      class: "grid",
      "aria-label": grids.n > 1 ? `${name} channel ${g}` : name,
    });
    for (let r = 0; r < grids.rows; r++) {
      const tr = el("tr");
      for (let c = 0; c < grids.cols; c++) {
        const v = x.data[(g * grids.rows + r) * grids.cols + c];
        tr.append(el("td", { class: v < 0 ? "neg" : undefined }, fmt(v, 3)));
      }
      tb.append(tr);
    }
    wrap.append(el("div", { class: "scroll" }, tb));
  }
  box.append(wrap);
  return box;
}

/** Central differences of the loss over every entry of the gradient's stage, h = 1e-6. */
function finiteDifferences(g: Grad): { numeric: Float64Array; maxError: number; scale: number } {
  const base = g.of(params, result).data, analytic = g.value(result).data;
  const h = 1e-6, numeric = new Float64Array(base.length);
  for (let i = 0; i < base.length; i++) {
    const v = Float64Array.from(base);
    v[i] = base[i] + h;
    const up = lossWith(params, g.stage, v);
    v[i] = base[i] - h;
    const down = lossWith(params, g.stage, v);
    numeric[i] = (up - down) / (2 * h);
  }
  let maxError = 0, scale = 0;
  for (let i = 0; i < base.length; i++) {
    maxError = Math.max(maxError, Math.abs(numeric[i] - analytic[i]));
    scale = Math.max(scale, Math.abs(analytic[i]));
  }
  return { numeric, maxError, scale };
}

/**
 * Passes when max |numeric − analytic| ≤ 1e-6 · max(1, max |analytic|). With h = 1e-6 in float64
 * the central difference errs by about h²·|L'''|/6 (≈ 1e-13 here) plus rounding ε·|L|/h
 * (≈ 2e-10): 1e-6 leaves room for both and still fails any wrong gradient, whose error is of
 * the gradient's own size.
 */
const FD_TOLERANCE = 1e-6;

function fdCheck(step: Step, out: HTMLElement): void {
  out.replaceChildren();
  for (const g of step.grads ?? []) {
    const { numeric, maxError, scale } = finiteDifferences(g);
    const pass = maxError <= FD_TOLERANCE * Math.max(1, scale);
    const shape = g.value(result).shape as number[];
    out.append(el(
      "div",
      {
        class: "panel fd",
        "data-testid": "fd-result",
        "data-name": g.name,
        "data-max-error": maxError,
        "data-status": pass ? "pass" : "fail",
      },
      el(
        "p",
        {},
        el("strong", { class: pass ? "ok" : "error" }, pass ? "✓ agrees" : "✗ disagrees"),
        ` ${g.name}: max |finite difference − backward| = ${maxError.toExponential(2)}` +
          ` (largest |gradient| ${fmt(scale, 3)}; pass at ≤ ${FD_TOLERANCE} · max(1, that))`,
      ),
      tensorView(`numeric ${g.name}`, t(shape, numeric)),
    ));
  }
}

async function showStep(): Promise<void> {
  const step = STEPS[current];
  byId("step-title").textContent = `${
    current + 1
  } / ${STEPS.length} · ${step.phase}: ${step.title}`;
  byId("formula").textContent = step.formula;
  byId("shapes").textContent = step.shapes;
  byId("inputs").replaceChildren(...step.inputs(params, result).map(([n, x]) => tensorView(n, x)));
  byId("outputs").replaceChildren(
    ...step.outputs(params, result).map(([n, x]) => tensorView(n, x)),
  );
  const fd = byId("fd");
  const fdOut = el("div", { class: "side", "aria-live": "polite" });
  if (step.grads) {
    const button = el(
      "button",
      { type: "button", "data-testid": "fd-check" },
      "Check by finite differences",
    );
    button.addEventListener("click", () => fdCheck(step, fdOut));
    fd.replaceChildren(
      el("p", {}, button, " perturbs each entry by ±1e-6 and reruns the rest of the forward pass."),
      ...(step.note ? [el("p", { class: "muted" }, step.note)] : []),
      fdOut,
    );
  } else fd.replaceChildren();
  for (const [i, li] of [...byId("step-list").children].entries()) {
    const b = li.querySelector("button")!;
    if (i === current) b.setAttribute("aria-current", "step");
    else b.removeAttribute("aria-current");
  }
  byId<HTMLButtonElement>("prev").disabled = current === 0;
  byId<HTMLButtonElement>("next").disabled = current === STEPS.length - 1;
  const source = byId("source");
  source.setAttribute("aria-busy", "true");
  try {
    const views = await Promise.all(step.sources.map((ref) => sourceView(ref)));
    if (STEPS[current] === step) source.replaceChildren(...views);
  } catch (e) {
    // a line that moved away from its text: say so on the page and in the console (a check fails)
    source.replaceChildren(el("p", { class: "error" }, (e as Error).message));
    console.error(`step.html: ${(e as Error).message}`);
  }
  source.removeAttribute("aria-busy");
  document.documentElement.dataset.step = String(current);
  markReady();
}

function go(i: number): void {
  current = Math.max(0, Math.min(STEPS.length - 1, i));
  document.documentElement.dataset.ready = "0";
  void showStep();
}

function recompute(): void {
  try {
    result = run(params);
    byId("input-error").textContent = "";
  } catch (e) {
    byId("input-error").textContent = (e as Error).message;
    return;
  }
  renderParams();
  go(current);
}

/** The editable input x, the label, and the parameters as read-only tensors. */
function buildInputs(): void {
  const tb = el("table", { class: "grid inputs", "aria-label": "the input x, 6 by 6" });
  for (let r = 0; r < H; r++) {
    const tr = el("tr");
    for (let c = 0; c < W; c++) {
      const i = r * W + c;
      const input = el("input", {
        type: "number",
        step: "0.1",
        value: params.x.data[i],
        "aria-label": `x[${r}, ${c}]`,
        "data-testid": "x-input",
        "data-index": i,
      });
      input.addEventListener("input", () => {
        const v = Number(input.value);
        if (input.value.trim() === "" || !Number.isFinite(v)) return;
        params.x.data[i] = v;
        recompute();
      });
      tr.append(el("td", {}, input));
    }
    tb.append(tr);
  }
  byId("x-editor").replaceChildren(el("div", { class: "scroll" }, tb));
  const label = byId<HTMLSelectElement>("label");
  label.replaceChildren(
    ...Array.from({ length: CLASSES }, (_, k) => el("option", { value: k }, String(k))),
  );
  label.value = String(params.label);
  label.addEventListener("change", () => {
    params.label = Number(label.value);
    recompute();
  });
  byId("redraw").addEventListener("click", () => {
    seed++;
    params = drawParams(seed, params.x.data, params.label);
    recompute();
  });
  byId("prev").addEventListener("click", () => go(current - 1));
  byId("next").addEventListener("click", () => go(current + 1));
  byId("step-list").replaceChildren(...STEPS.map((s, i) =>
    el(
      "li",
      {},
      el("button", {
        type: "button",
        class: `steplink ${s.phase}`,
        "data-testid": "step-link",
        onclick: () => go(i),
      }, `${s.phase === "forward" ? "→" : "←"} ${s.title.split(":")[0]}`),
    )
  ));
  document.addEventListener("keydown", (ev) => {
    const tag = (ev.target as HTMLElement).tagName;
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
    if (ev.key === "ArrowRight" || ev.key === "n") go(current + 1);
    else if (ev.key === "ArrowLeft" || ev.key === "p") go(current - 1);
  });
}

function renderParams(): void {
  const box = byId("params");
  const view = (name: string, x: T64): HTMLElement => {
    const v = tensorView(name, x);
    v.dataset.testid = "param";
    return v;
  };
  box.replaceChildren(
    view("conv w", params.w1),
    view("conv b", params.b1),
    view("fc W₂", params.w2),
    view("fc b₂", params.b2),
  );
  box.dataset.label = String(params.label);
  box.dataset.seed = String(seed);
}

buildInputs();
renderParams();
// on a phone the parameters start folded, so that the first step is on the first screen
if (matchMedia("(max-width: 700px)").matches) byId<HTMLDetailsElement>("params-box").open = false;
go(0);
