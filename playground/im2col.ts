/// <reference lib="dom" />
// The im2col explorer (im2col.html): x, the fancy-index table T of im2colTable and x_col side by
// side, linked by hover and focus; the backward toggle shows col2im (each input cell's
// multiplicity, dx as the written-out sum); a small editable convolution shows
// y = w_col · x_col + b with its numbers. Every number comes from the library (im2colTable,
// im2col, col2im, convForward, convBackward on the reference backend); the page only lays them out.
//
// Query: ?c=2&h=5&w=4&k=3&s=2&p=1 (square kernel, same stride and padding on both axes), and per
// axis kh, kw, sh, sw, ph, pw, dh, dw (dilation; d sets both), f (filters D). The page keeps the
// query in step with the controls, so a geometry can be shared by its URL.

import {
  col2im,
  convBackward,
  convForward,
  im2col,
  type Im2colTable,
  im2colTable,
  setBackend,
} from "../mod.ts";
import { byId, el, fmt, gridKeys, markReady, queryInt } from "./_ui.ts";

setBackend("reference");

/** The geometry controls: query key, label, range, and the query key that sets it too. */
const FIELDS = [
  { key: "c", label: "channels C", min: 1, max: 3, def: 1 },
  { key: "h", label: "height H", min: 1, max: 10, def: 4 },
  { key: "w", label: "width W", min: 1, max: 10, def: 4 },
  { key: "kh", label: "kernel kh", min: 1, max: 7, def: 2, both: "k" },
  { key: "kw", label: "kernel kw", min: 1, max: 7, def: 2, both: "k" },
  { key: "sh", label: "stride sh", min: 1, max: 4, def: 1, both: "s" },
  { key: "sw", label: "stride sw", min: 1, max: 4, def: 1, both: "s" },
  { key: "ph", label: "padding ph", min: 0, max: 3, def: 0, both: "p" },
  { key: "pw", label: "padding pw", min: 0, max: 3, def: 0, both: "p" },
  { key: "dh", label: "dilation dh", min: 1, max: 3, def: 1, both: "d" },
  { key: "dw", label: "dilation dw", min: 1, max: 3, def: 1, both: "d" },
  { key: "f", label: "filters D", min: 1, max: 3, def: 1 },
] as const;
type Key = typeof FIELDS[number]["key"];
type Geometry = Record<Key, number>;

/** The most entries of x_col the page draws (beyond it, the tables would not be readable). */
const MAX_ENTRIES = 6000;

function readQuery(): Geometry {
  const g = {} as Geometry;
  for (const f of FIELDS) {
    const shared = "both" in f ? queryInt(f.both, f.def, f.min, f.max) : f.def;
    g[f.key] = queryInt(f.key, shared, f.min, f.max);
  }
  return g;
}

function writeQuery(g: Geometry): void {
  const q = new URLSearchParams();
  const pair = (a: Key, b: Key, both: string): void => {
    if (g[a] === g[b]) q.set(both, String(g[a]));
    else {
      q.set(a, String(g[a]));
      q.set(b, String(g[b]));
    }
  };
  q.set("c", String(g.c));
  q.set("h", String(g.h));
  q.set("w", String(g.w));
  pair("kh", "kw", "k");
  pair("sh", "sw", "s");
  pair("ph", "pw", "p");
  if (g.dh !== 1 || g.dw !== 1) pair("dh", "dw", "d");
  if (g.f !== 1) q.set("f", String(g.f));
  history.replaceState(null, "", `?${q}`);
}

/** The input x: small distinct-looking integers 1..9, so a value is not mistaken for an index. */
function inputValues(n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => ((i * 7) % 9) + 1);
}

interface State {
  g: Geometry;
  backward: boolean;
  showIndex: boolean; // x's cells show their flat index (what T stores) instead of their value
  w: Float64Array; // [D, C, kh, kw]
  b: Float64Array; // [D]
  dy: Float64Array; // [D, Ho, Wo]
}

const state: State = {
  g: readQuery(),
  backward: false,
  showIndex: false,
  w: new Float64Array(0),
  b: new Float64Array(0),
  dy: new Float64Array(0),
};

/** Default weights in {−1, 0, 1, 2}, bias, and dy = 1 everywhere. */
function resetParams(g: Geometry, P: number): void {
  const K = g.c * g.kh * g.kw;
  state.w = Float64Array.from({ length: g.f * K }, (_, i) => ((i * 3 + 1) % 4) - 1);
  state.b = Float64Array.from({ length: g.f }, (_, d) => [0.5, -1, 1][d]);
  state.dy = new Float64Array(g.f * P).fill(1);
}

// ---------------------------------------------------------------------------------------------
// the geometry form

function buildForm(): void {
  const form = byId("geometry");
  for (const f of FIELDS) {
    const input = el("input", {
      type: "number",
      id: `in-${f.key}`,
      name: f.key,
      min: f.min,
      max: f.max,
      step: 1,
      value: state.g[f.key],
      inputmode: "numeric",
      "data-testid": `control-${f.key}`,
    });
    input.addEventListener("change", () => {
      const v = Number(input.value);
      if (!Number.isInteger(v) || v < f.min || v > f.max) {
        input.value = String(state.g[f.key]); // out of range: back to the last valid value
        return;
      }
      state.g = { ...state.g, [f.key]: v };
      writeQuery(state.g);
      render(true);
    });
    form.append(el("label", { for: `in-${f.key}` }, f.label, input));
  }
  const index = byId<HTMLInputElement>("show-index");
  index.addEventListener("change", () => {
    state.showIndex = index.checked;
    render(false, true);
  });
  const toggle = byId<HTMLInputElement>("backward");
  toggle.addEventListener("change", () => {
    state.backward = toggle.checked;
    render(false);
  });
}

// ---------------------------------------------------------------------------------------------
// the three panels

interface Rendered {
  table: Im2colTable;
  x: Float64Array;
  xCells: Map<number, HTMLTableCellElement>; // flat index -> cell of x
  padCells: Map<string, HTMLTableCellElement>; // "c,h,w" (padded coordinates) -> cell
  bySrc: Map<number, HTMLTableCellElement[]>; // flat index -> the T and x_col cells reading it
}
let current: Rendered | undefined;

/** Row r of x_col is the tap (c, i, j); column p is the output position (oh, ow). */
function tapOf(g: Geometry, r: number): [number, number, number] {
  return [Math.floor(r / (g.kh * g.kw)), Math.floor(r / g.kw) % g.kh, r % g.kw];
}

/**
 * The coordinates (c, h, w) in the padded input that entry (r, p) of x_col stands for,
 * x_col[r, p] = x[c, oh·sh − ph + i·dh, ow·sw − pw + j·dw]: written on the page next to T's index,
 * and the frame cell to mark when the entry falls in the padding (T = −1 says only "padding").
 */
function paddedCoord(g: Geometry, Wo: number, r: number, p: number): [number, number, number] {
  const [c, i, j] = tapOf(g, r);
  const oh = Math.floor(p / Wo), ow = p % Wo;
  return [c, oh * g.sh - g.ph + i * g.dh, ow * g.sw - g.pw + j * g.dw];
}

/** A term of a written-out sum: negative numbers in parentheses. */
function paren(v: number): string {
  return v < 0 ? `(${fmt(v)})` : fmt(v);
}

function clearHighlight(): void {
  for (const e of document.querySelectorAll(".hot, .warm")) e.classList.remove("hot", "warm");
}

function say(text: string): void {
  byId("info").textContent = text;
}

/** Highlights what entry (r, p) of T / x_col reads. */
function showEntry(r: number, p: number): void {
  if (current === undefined) return;
  const { table, x, xCells, padCells } = current, g = state.g, P = table.cols;
  clearHighlight();
  const src = table.indices[r * P + p];
  for (const cell of document.querySelectorAll(`[data-row="${r}"][data-col="${p}"]`)) {
    cell.classList.add("hot");
  }
  const [c, i, j] = tapOf(g, r), oh = Math.floor(p / table.outWidth), ow = p % table.outWidth;
  const [, h, w] = paddedCoord(g, table.outWidth, r, p);
  const name = state.backward ? "dx_col" : "x_col";
  const head = `${name}[${r}, ${p}] (tap c=${c} i=${i} j=${j}, output oh=${oh} ow=${ow}): `;
  if (src < 0) {
    padCells.get(`${c},${h},${w}`)?.classList.add("hot");
    say(
      `${head}T = −1, the padding at x[${c}, ${h}, ${w}]: ${name} reads 0 there` +
        (state.backward ? " and col2im skips it." : "."),
    );
    return;
  }
  xCells.get(src)?.classList.add("hot");
  const v = state.backward ? "" : ` = ${fmt(x[src])}`;
  say(`${head}T = ${src}, so it reads x[${c}, ${h}, ${w}]${v} (flat index ${src}).`);
}

/** Highlights every entry of T / x_col that reads input cell `src`, and writes dx's sum. */
function showInput(src: number): void {
  if (current === undefined) return;
  const { table, x, xCells, bySrc } = current, g = state.g;
  clearHighlight();
  xCells.get(src)?.classList.add("hot");
  const readers = bySrc.get(src) ?? [];
  for (const cell of readers) cell.classList.add("hot");
  const c = Math.floor(src / (g.h * g.w)), h = Math.floor(src / g.w) % g.h, w = src % g.w;
  const entries = readers.filter((e) => e.dataset.testid === "xcol-cell");
  const where = entries.map((e) => `[${e.dataset.row}, ${e.dataset.col}]`);
  if (!state.backward) {
    say(
      `x[${c}, ${h}, ${w}] = ${fmt(x[src])} (flat index ${src}) is read by ${entries.length} ` +
        `entr${entries.length === 1 ? "y" : "ies"} of x_col${where.length ? ": " : ""}` +
        where.join(" "),
    );
    return;
  }
  const dxCol = dxColumns(table);
  const terms = entries.map((e) =>
    dxCol[Number(e.dataset.row) * table.cols + Number(e.dataset.col)]
  );
  const dx = xCells.get(src)?.dataset.value ?? "";
  say(
    `dx[${c}, ${h}, ${w}] = ` +
      (entries.length === 0
        ? "0: no window reads this cell"
        : `${where.map((s) => `dx_col${s}`).join(" + ")} = ${terms.map(paren).join(" + ")}` +
          ` = ${fmt(Number(dx))}`) +
      ` (multiplicity ${entries.length})`,
  );
}

/** dx_col = w_colᵀ · dY [K, P] of the small convolution (what col2im scatters). */
function dxColumns(table: Im2colTable): Float64Array {
  const K = table.rows, P = table.cols, D = state.g.f;
  const out = new Float64Array(K * P);
  for (let r = 0; r < K; r++) {
    for (let p = 0; p < P; p++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += state.w[d * K + r] * state.dy[d * P + p];
      out[r * P + p] = s;
    }
  }
  return out;
}

/** x (or dx) per channel, in its padding frame. */
function inputPanel(
  x: Float64Array,
  dx: Float64Array | null,
  mult: Float64Array,
  r: Rendered,
): HTMLElement {
  const g = state.g, box = el("div", { class: "channels" });
  for (let c = 0; c < g.c; c++) {
    const t = el("table", {
      class: "grid",
      "aria-label": `${dx ? "dx" : "x"} channel ${c}, with its padding frame`,
    });
    for (let h = -g.ph; h < g.h + g.ph; h++) {
      const tr = el("tr");
      for (let w = -g.pw; w < g.w + g.pw; w++) {
        if (h < 0 || h >= g.h || w < 0 || w >= g.w) {
          const td = el("td", { class: "pad", "aria-hidden": "true" }, "0");
          r.padCells.set(`${c},${h},${w}`, td);
          tr.append(td);
          continue;
        }
        const i = (c * g.h + h) * g.w + w;
        const v = dx ? dx[i] : x[i];
        const td = el("td", {
          tabindex: -1,
          "data-testid": dx ? "dx-cell" : "x-cell",
          "data-index": i,
          "data-value": v,
          "data-mult": mult[i],
          "aria-label": `${dx ? "dx" : "x"}[${c}, ${h}, ${w}] = ${fmt(v)}, read ${mult[i]} times`,
          onmouseenter: () => showInput(i),
          onfocus: () => showInput(i),
        }, !dx && state.showIndex ? String(i) : fmt(v));
        if (!dx && state.showIndex) td.classList.add("index");
        if (dx) td.append(el("sup", { class: "mult" }, `×${mult[i]}`));
        r.xCells.set(i, td);
        tr.append(td);
      }
      t.append(tr);
    }
    gridKeys(t);
    box.append(
      el("div", {}, el("h3", {}, `${dx ? "dx" : "x"}[${c}]`), el("div", { class: "scroll" }, t)),
    );
  }
  return box;
}

/** T or x_col as a [rows, cols] table, headed by each row's tap and each column's position. */
function matrixPanel(
  table: Im2colTable,
  kind: "T" | "xcol",
  values: Float64Array,
  r: Rendered,
): HTMLElement {
  const g = state.g, P = table.cols, Wo = table.outWidth;
  const name = kind === "T" ? "T" : state.backward ? "dx_col" : "x_col";
  const t = el("table", { class: "grid", "aria-label": `${name}, ${table.rows} by ${P}` });
  const head = el("tr", {}, el("th", { scope: "col" }, "c,i,j \\ oh,ow"));
  for (let p = 0; p < P; p++) {
    head.append(el("th", { scope: "col" }, `${Math.floor(p / Wo)},${p % Wo}`));
  }
  t.append(el("thead", {}, head));
  const body = el("tbody");
  for (let row = 0; row < table.rows; row++) {
    const tr = el("tr", {}, el("th", { scope: "row" }, tapOf(g, row).join(",")));
    for (let p = 0; p < P; p++) {
      const src = table.indices[row * P + p];
      const v = kind === "T" ? src : values[row * P + p];
      const td = el("td", {
        tabindex: -1,
        class: src < 0 ? "pad" : undefined,
        "data-testid": kind === "T" ? "table-cell" : "xcol-cell",
        "data-row": row,
        "data-col": p,
        "data-src": src,
        "aria-label": `${name}[${row}, ${p}] = ${fmt(v)}` +
          (src < 0 ? ", padding" : `, reads x flat index ${src}`),
        onmouseenter: () => showEntry(row, p),
        onfocus: () => showEntry(row, p),
      }, kind === "T" && src < 0 ? "−1" : fmt(v));
      if (src >= 0) {
        const list = r.bySrc.get(src) ?? [];
        list.push(td);
        r.bySrc.set(src, list);
      }
      tr.append(td);
    }
    body.append(tr);
  }
  t.append(body);
  gridKeys(t);
  return el("div", { class: "scroll" }, t);
}

// ---------------------------------------------------------------------------------------------
// the small convolution

/** Number inputs for a flat array shown as [rows, cols] blocks; edits recompute the numbers. */
function numberGrid(
  label: string,
  data: Float64Array,
  rows: number,
  cols: number,
  testid: string,
  names: (k: number) => string,
): HTMLElement {
  const t = el("table", { class: "grid inputs", "aria-label": label });
  for (let a = 0; a < rows; a++) {
    const tr = el("tr");
    for (let bcol = 0; bcol < cols; bcol++) {
      const k = a * cols + bcol;
      const input = el("input", {
        type: "number",
        step: "any",
        value: data[k],
        "aria-label": names(k),
        "data-testid": testid,
        "data-index": k,
      });
      input.addEventListener("input", () => {
        const v = Number(input.value);
        if (input.value.trim() === "" || !Number.isFinite(v)) return;
        data[k] = v;
        render(false, true);
      });
      tr.append(el("td", {}, input));
    }
    t.append(tr);
  }
  return el("div", { class: "scroll" }, t);
}

function convInputs(table: Im2colTable): void {
  const g = state.g, K = table.rows, P = table.cols, box = byId("conv-inputs");
  box.replaceChildren();
  for (let d = 0; d < g.f; d++) {
    const block = el("div", { class: "panel" }, el("h3", {}, `filter d=${d}: w[${d}] and b[${d}]`));
    for (let c = 0; c < g.c; c++) {
      block.append(
        el("p", { class: "muted" }, `w[${d}, ${c}] (kh × kw)`),
        numberGrid(
          `w[${d}, ${c}]`,
          state.w.subarray(d * K + c * g.kh * g.kw, d * K + (c + 1) * g.kh * g.kw),
          g.kh,
          g.kw,
          "w-input",
          (k) => `w[${d}, ${c}, ${Math.floor(k / g.kw)}, ${k % g.kw}]`,
        ),
      );
    }
    block.append(
      el("p", { class: "muted" }, `b[${d}]`),
      numberGrid(`b[${d}]`, state.b.subarray(d, d + 1), 1, 1, "b-input", () => `b[${d}]`),
    );
    if (state.backward) {
      block.append(
        el("p", { class: "muted" }, `dy[${d}] (Ho × Wo): the gradient arriving from above`),
        numberGrid(
          `dy[${d}]`,
          state.dy.subarray(d * P, (d + 1) * P),
          table.outHeight,
          table.outWidth,
          "dy-input",
          (k) => `dy[${d}, ${Math.floor(k / table.outWidth)}, ${k % table.outWidth}]`,
        ),
      );
    }
    box.append(block);
  }
}

/** y = w_col · x_col + b [D, P], from convForward, with each entry's sum written on focus. */
function convOutput(table: Im2colTable, x: Float64Array, xCol: Float64Array): HTMLElement {
  const g = state.g, K = table.rows, P = table.cols;
  const { y } = convForward(
    { shape: [1, g.c, g.h, g.w], data: x },
    { shape: [g.f, g.c, g.kh, g.kw], data: state.w },
    { shape: [g.f], data: state.b },
    { stride: [g.sh, g.sw], padding: [g.ph, g.pw], dilation: [g.dh, g.dw] },
  );
  const t = el("table", { class: "grid", "aria-label": `y = w_col · x_col + b, ${g.f} by ${P}` });
  const head = el("tr", {}, el("th", { scope: "col" }, "d \\ oh,ow"));
  for (let p = 0; p < P; p++) {
    head.append(
      el("th", { scope: "col" }, `${Math.floor(p / table.outWidth)},${p % table.outWidth}`),
    );
  }
  t.append(el("thead", {}, head));
  for (let d = 0; d < g.f; d++) {
    const tr = el("tr", {}, el("th", { scope: "row" }, String(d)));
    for (let p = 0; p < P; p++) {
      const v = y.data[d * P + p];
      const show = (): void => {
        clearHighlight();
        td.classList.add("hot");
        for (const e of document.querySelectorAll(`[data-testid="xcol-cell"][data-col="${p}"]`)) {
          e.classList.add("warm");
        }
        const terms: string[] = [];
        for (let r = 0; r < K; r++) {
          terms.push(`${paren(state.w[d * K + r])}·${paren(xCol[r * P + p])}`);
        }
        say(
          `y[${d}, ${p}] = Σ_r w_col[${d}, r] · x_col[r, ${p}] + b[${d}] = ` +
            `${terms.join(" + ")} + ${fmt(state.b[d])} = ${fmt(v)}`,
        );
      };
      const td = el("td", {
        tabindex: -1,
        "data-testid": "y-cell",
        "data-row": d,
        "data-col": p,
        "data-value": v,
        "aria-label": `y[${d}, ${p}] = ${fmt(v)}`,
        onmouseenter: show,
        onfocus: show,
      }, fmt(v));
      tr.append(td);
    }
    t.append(tr);
  }
  gridKeys(t);
  return el("div", { class: "scroll" }, t);
}

// ---------------------------------------------------------------------------------------------

/** Draws everything for the current state; `geometryChanged` also resets w, b and dy. */
function render(geometryChanged: boolean, valuesOnly = false): void {
  const g = state.g, error = byId("error");
  error.textContent = "";
  let table: Im2colTable;
  try {
    table = im2colTable({
      channels: g.c,
      height: g.h,
      width: g.w,
      kernel: [g.kh, g.kw],
      stride: [g.sh, g.sw],
      padding: [g.ph, g.pw],
      dilation: [g.dh, g.dw],
    });
  } catch (e) {
    error.textContent = (e as Error).message; // the library's own message, naming the sizes
    for (const id of ["panels", "conv-inputs", "conv-output", "summary"]) {
      byId(id).replaceChildren();
    }
    current = undefined;
    markReady();
    return;
  }
  const K = table.rows, P = table.cols;
  if (K * P > MAX_ENTRIES) {
    error.textContent = `x_col would have ${K} × ${P} = ${K * P} entries: too many to draw ` +
      `(at most ${MAX_ENTRIES}); make the input smaller or the stride larger.`;
    for (const id of ["panels", "conv-inputs", "conv-output"]) byId(id).replaceChildren();
    current = undefined;
    markReady();
    return;
  }
  if (geometryChanged || state.w.length !== g.f * K || state.dy.length !== g.f * P) {
    resetParams(g, P);
  }
  const x = inputValues(table.inputSize);
  const xCol = im2col(x, table); // x_col[t] = x[T[t]], 0 in the padding
  const mult = col2im(new Float64Array(K * P).fill(1), table); // how many entries read each cell
  let dx: Float64Array | null = null, dxCol: Float64Array | null = null;
  if (state.backward) {
    // dx from the library's convBackward; dx_col = w_colᵀ · dY is what col2im adds up into it
    const { cache } = convForward(
      { shape: [1, g.c, g.h, g.w], data: x },
      { shape: [g.f, g.c, g.kh, g.kw], data: state.w },
      { shape: [g.f], data: state.b },
      { stride: [g.sh, g.sw], padding: [g.ph, g.pw], dilation: [g.dh, g.dw] },
    );
    dx = convBackward({ shape: [1, g.f, table.outHeight, table.outWidth], data: state.dy }, cache)
      .dx.data;
    dxCol = dxColumns(table);
  }
  const padded = table.indices.reduce((n, v) => n + (v < 0 ? 1 : 0), 0);
  byId("summary").textContent = `x [${g.c}, ${g.h}, ${g.w}] → Ho = ${table.outHeight}, ` +
    `Wo = ${table.outWidth}; T and x_col are [C·kh·kw, Ho·Wo] = [${K}, ${P}]: ${K * P} entries, ` +
    `${padded} in the padding, ${K * P - padded} reading x (x has ${table.inputSize} cells).`;
  const r: Rendered = { table, x, xCells: new Map(), padCells: new Map(), bySrc: new Map() };
  const xTitle = state.backward ? "dx = col2im(dx_col): ×m is the multiplicity" : "x";
  byId("panels").replaceChildren(
    el(
      "section",
      { class: "panel", "aria-labelledby": "h-x" },
      el("h2", { id: "h-x" }, xTitle),
      inputPanel(x, dx, mult, r),
    ),
    el(
      "section",
      { class: "panel", "aria-labelledby": "h-t" },
      el("h2", { id: "h-t" }, "T = im2colTable(…).indices"),
      matrixPanel(table, "T", xCol, r),
    ),
    el(
      "section",
      { class: "panel", "aria-labelledby": "h-xcol" },
      el("h2", { id: "h-xcol" }, state.backward ? "dx_col = w_colᵀ · dY" : "x_col = x[T]"),
      matrixPanel(table, "xcol", dxCol ?? xCol, r),
    ),
  );
  current = r;
  if (!valuesOnly) convInputs(table);
  byId("conv-output").replaceChildren(convOutput(table, x, xCol));
  say(
    state.backward
      ? "Hover or focus a cell of dx to see the entries col2im adds into it."
      : "Hover or focus an entry of T or x_col to see the cell of x it reads; an x cell to see every entry reading it.",
  );
  markReady();
}

buildForm();
byId<HTMLInputElement>("backward").checked = state.backward;
render(true);
