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

import { setBackend } from "../mod.ts";
import { revealHighlights, sourceView } from "./_source.ts";
import {
  CLASSES,
  defaultInput,
  drawParams,
  type Grad,
  H,
  lossWith,
  run,
  type Step,
  STEPS,
  t,
  type T64,
  W,
} from "./_steps.ts";
import { byId, el, fmt, markReady } from "./_ui.ts";

setBackend("reference");

// ---------------------------------------------------------------------------------------------
// the page

let seed = 1;
let params = drawParams(seed, defaultInput(), 2);
let result = run(params);
let current = 0;

/** A tensor as grids: [1,C,H,W] one H×W grid per channel, [R,C] a matrix, [n] one row. */
function tensorView(name: string, x: T64, marked?: Set<number>): HTMLElement {
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
        const at = (g * grids.rows + r) * grids.cols + c, v = x.data[at];
        const cls = [v < 0 ? "neg" : "", marked?.has(at) ? "hot" : ""].join(" ").trim();
        tr.append(el("td", { class: cls || undefined }, fmt(v, 3)));
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
  const marks = step.marks?.(result);
  byId("marks").textContent = marks ? `Highlighted in ${marks.name}: ${marks.meaning}.` : "";
  const view = ([n, x]: [string, T64]): HTMLElement =>
    tensorView(n, x, marks?.name === n ? marks.cells : undefined);
  byId("inputs").replaceChildren(...step.inputs(params, result).map(view));
  byId("outputs").replaceChildren(
    ...step.outputs(params, result).map(view),
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
    if (STEPS[current] === step) {
      source.replaceChildren(...views);
      revealHighlights(source);
    }
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
    const target = ev.target as HTMLElement, tag = target.tagName;
    // typing in a field, or scrolling a source box sideways, is not a step
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || target.closest("pre")) return;
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return; // the browser's own shortcuts (Alt+← is back)
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
