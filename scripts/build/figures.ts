// Draws the deterministic figures of docs/ from the library's own functions: the im2col table
// (im2colTable), how often each input cell is read (col2im of ones) and max-pool gradient
// routing (maxPoolForward / maxPoolBackward). Nothing here computes what the library computes:
// every number in a picture comes from a call into ../mod.ts, so a change in the code that
// changes a picture shows up as a diff.
//
//   deno task figures            write docs/figures/*.svg
//   deno task figures --check    exit 1 if any committed figure differs from what the code draws
//   deno task figures --from-run runs/small
//                                copy a training run's curve and first-layer filters (written by
//                                scripts/train.ts next to its checkpoint) into docs/figures/
//
// The output is a pure function of the code (no dates, no randomness, fixed number formatting),
// so --check can compare bytes.

import {
  avgPoolBackward,
  avgPoolForward,
  col2im,
  im2col,
  type Im2colTable,
  im2colTable,
  maxPoolBackward,
  maxPoolColumns,
  maxPoolForward,
  tensor,
} from "../../mod.ts";
import { convForward } from "../../mod.ts";
import { convTransposeForward } from "../../mod.ts";

/** One figure: its file name in docs/figures/ and its SVG text. */
interface Figure {
  readonly name: string;
  readonly svg: string;
}

/** What a grid cell looks like. */
interface Cell {
  fill: string;
  text?: string;
  color?: string;
  bold?: boolean;
  stroke?: string;
}

const FONT = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace";
const SANS = "system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', Arial, sans-serif";
const PAD_FILL = "#e5e7eb";
const PAD_TEXT = "#9ca3af";
const INK = "#111827";
const MUTED = "#4b5563";
/** Outline colours of highlighted windows, one per window. */
const WINDOW_COLORS = ["#d97706", "#2563eb", "#059669", "#db2777"];

function esc(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** Numbers as the figures print them: integers plain, others with at most two decimals. */
function num(v: number): string {
  if (Object.is(v, -0)) return "0";
  return Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100);
}

/** A pastel colour per input cell, so the same cell is recognisable wherever the table reads it. */
function cellColor(k: number): string {
  const hue = Math.round((k * 137.508) % 360);
  return `hsl(${hue}, 70%, 86%)`;
}

function text(
  x: number,
  y: number,
  s: string,
  opts: { size?: number; anchor?: string; color?: string; bold?: boolean; font?: string } = {},
): string {
  const size = opts.size ?? 13;
  const font = opts.font === undefined ? "" : ` font-family="${opts.font}"`;
  return `<text x="${num(x)}" y="${num(y)}"${font} font-size="${size}"` +
    ` text-anchor="${opts.anchor ?? "start"}" fill="${opts.color ?? INK}"` +
    `${opts.bold ? ' font-weight="bold"' : ""}>${esc(s)}</text>`;
}

function rect(
  x: number,
  y: number,
  w: number,
  h: number,
  fill: string,
  stroke = "#ffffff",
  strokeWidth = 1,
): string {
  return `<rect x="${num(x)}" y="${num(y)}" width="${num(w)}" height="${num(h)}" fill="${fill}"` +
    ` stroke="${stroke}" stroke-width="${num(strokeWidth)}"/>`;
}

/** A rows×cols grid of cells of size cw×ch with its top-left corner at (x0, y0). */
function grid(
  x0: number,
  y0: number,
  rows: number,
  cols: number,
  cw: number,
  ch: number,
  cell: (r: number, c: number) => Cell,
  fontSize = 12,
): string {
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const k = cell(r, c);
      out.push(rect(x0 + c * cw, y0 + r * ch, cw, ch, k.fill, k.stroke ?? "#ffffff"));
      if (k.text !== undefined) {
        out.push(text(x0 + (c + 0.5) * cw, y0 + (r + 0.5) * ch + fontSize * 0.36, k.text, {
          size: fontSize,
          anchor: "middle",
          color: k.color ?? INK,
          bold: k.bold,
          font: FONT,
        }));
      }
    }
  }
  return out.join("\n");
}

/** An outline around grid cells [r0, r1] × [c0, c1] (inclusive), inset by `inset` pixels. */
function outline(
  x0: number,
  y0: number,
  cw: number,
  ch: number,
  r0: number,
  c0: number,
  r1: number,
  c1: number,
  color: string,
  inset = 1.5,
): string {
  return `<rect x="${num(x0 + c0 * cw + inset)}" y="${num(y0 + r0 * ch + inset)}"` +
    ` width="${num((c1 - c0 + 1) * cw - 2 * inset)}" height="${
      num((r1 - r0 + 1) * ch - 2 * inset)
    }"` +
    ` fill="none" stroke="${color}" stroke-width="2.5"/>`;
}

function svgDoc(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"` +
    ` viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(title)}"` +
    ` font-family="${SANS}">`,
    `<title>${esc(title)}</title>`,
    rect(0, 0, width, height, "#ffffff", "none", 0),
    ...body,
    "</svg>",
    "",
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------
// 1. The im2col table

/** The geometry of the table figure: x [1,4,4], 3×3 kernel, stride 1, padding 1. */
const TABLE_GEOMETRY = {
  channels: 1,
  height: 4,
  width: 4,
  kernel: [3, 3] as [number, number],
  stride: [1, 1] as [number, number],
  padding: [1, 1] as [number, number],
};

/** Output positions whose windows the table figure outlines. */
const SHOWN_COLUMNS = [0, 6];

function im2colTableFigure(): Figure {
  const g = TABLE_GEOMETRY;
  const t: Im2colTable = im2colTable(g);
  const [kh, kw] = g.kernel, [ph, pw] = g.padding, [sh, sw] = g.stride;
  const H = g.height, W = g.width, Wo = t.outWidth;
  const body: string[] = [];
  const title = `im2col table: x [${g.channels},${H},${W}], kernel ${kh}×${kw}, stride ${sh}, ` +
    `padding ${ph} → x_col [${t.rows}, ${t.cols}]`;
  body.push(text(20, 28, title, { size: 16, bold: true }));

  // Left: the padded input, each cell labelled with its flat index into x.
  const ic = 34, ix = 20, iy = 78;
  const PH = H + 2 * ph, PW = W + 2 * pw;
  body.push(text(ix, iy - 22, "x, padded: the flat index of each cell", { size: 13 }));
  body.push(text(ix, iy - 7, "(grey = padding, reads as 0)", { size: 12, color: MUTED }));
  body.push(grid(ix, iy, PH, PW, ic, ic, (r, c) => {
    const h = r - ph, w = c - pw;
    if (h < 0 || h >= H || w < 0 || w >= W) return { fill: PAD_FILL, text: "·", color: PAD_TEXT };
    const k = h * W + w;
    return { fill: cellColor(k), text: String(k) };
  }, 13));
  SHOWN_COLUMNS.forEach((p, s) => {
    const oh = Math.floor(p / Wo), ow = p % Wo;
    // the window of output (oh, ow) starts at padded cell (oh·sh, ow·sw)
    const r0 = oh * sh, c0 = ow * sw;
    body.push(
      outline(ix, iy, ic, ic, r0, c0, r0 + kh - 1, c0 + kw - 1, WINDOW_COLORS[s], 2 + 3 * s),
    );
    body.push(
      text(ix, iy + PH * ic + 22 + 18 * s, `p = ${p}: the window at (oh, ow) = (${oh}, ${ow})`, {
        size: 12,
        color: WINDOW_COLORS[s],
        bold: true,
      }),
    );
  });

  // Right: the table, t.rows × t.cols, each entry the index it reads or −1.
  const tw = 30, th = 26, tx = ix + PW * ic + 140, ty = iy;
  body.push(
    text(tx, ty - 22, "table.indices as x_col [taps, windows]: entry = flat index of x read", {
      size: 13,
    }),
  );
  body.push(
    text(tx, ty - 7, "column p = oh·Wo + ow (one window), row r = (c·kh + i)·kw + j (one tap)", {
      size: 12,
      color: MUTED,
    }),
  );
  for (let p = 0; p < t.cols; p++) {
    body.push(text(tx + (p + 0.5) * tw, ty + t.rows * th + 16, String(p), {
      size: 11,
      anchor: "middle",
      color: MUTED,
      font: FONT,
    }));
  }
  body.push(text(tx + t.cols * tw / 2, ty + t.rows * th + 34, "p (output position)", {
    size: 12,
    anchor: "middle",
    color: MUTED,
  }));
  for (let r = 0; r < t.rows; r++) {
    const i = Math.floor(r / kw) % kh, j = r % kw;
    body.push(text(tx - 8, ty + (r + 0.5) * th + 4, `r=${r} (${i},${j})`, {
      size: 11,
      anchor: "end",
      color: MUTED,
      font: FONT,
    }));
  }
  body.push(grid(tx, ty, t.rows, t.cols, tw, th, (r, p) => {
    const k = t.indices[r * t.cols + p];
    return k < 0
      ? { fill: PAD_FILL, text: "−1", color: PAD_TEXT }
      : { fill: cellColor(k), text: String(k) };
  }, 12));
  SHOWN_COLUMNS.forEach((p, s) => {
    body.push(outline(tx, ty, tw, th, 0, p, t.rows - 1, p, WINDOW_COLORS[s], 1.5));
  });

  let pads = 0;
  for (const k of t.indices) if (k < 0) pads++;
  const n = t.rows * t.cols;
  const foot = ty + t.rows * th + 62;
  body.push(text(
    tx,
    foot,
    `${n} entries = ${t.rows} taps × ${t.cols} windows: ${n - pads} read a cell of x, ` +
      `${pads} fall in the padding.`,
    { size: 12 },
  ));
  body.push(text(
    tx,
    foot + 18,
    "Same colour = same input cell, read once by every window that covers it.",
    { size: 12, color: MUTED },
  ));
  const width = tx + t.cols * tw + 20;
  const height = Math.max(foot + 34, iy + PH * ic + 22 + 18 * SHOWN_COLUMNS.length + 10);
  return { name: "im2col_table.svg", svg: svgDoc(width, height, title, body) };
}

// ---------------------------------------------------------------------------------------------
// 2. How many times each input cell is read: col2im of a column matrix of ones

interface MultiplicityCase {
  readonly H: number;
  readonly W: number;
  readonly k: number;
  readonly s: number;
  readonly p: number;
}

const MULTIPLICITY_CASES: readonly MultiplicityCase[] = [
  { H: 4, W: 4, k: 3, s: 1, p: 1 },
  { H: 5, W: 5, k: 3, s: 2, p: 0 },
  { H: 5, W: 5, k: 2, s: 2, p: 0 },
];

function multiplicityFigure(): Figure {
  const body: string[] = [];
  const title =
    "How many windows read each input cell: col2im(ones) = the multiplicity col2im sums";
  body.push(text(20, 28, title, { size: 16, bold: true }));
  body.push(
    text(
      20,
      48,
      "col2im sends every x_col entry back to the cell it was read from and adds; " +
        "fed a column matrix of ones it counts the reads.",
      { size: 12, color: MUTED },
    ),
  );
  const cs = 40, y0 = 110;
  let x0 = 20, maxH = 0;
  for (const c of MULTIPLICITY_CASES) {
    const t = im2colTable({
      channels: 1,
      height: c.H,
      width: c.W,
      kernel: [c.k, c.k],
      stride: [c.s, c.s],
      padding: [c.p, c.p],
    });
    const ones = new Float64Array(t.rows * t.cols).fill(1);
    const counts = col2im(ones, t);
    let max = 0, total = 0;
    for (const v of counts) {
      max = Math.max(max, v);
      total += v;
    }
    const pads = t.rows * t.cols - total;
    body.push(
      text(x0, y0 - 34, `x [1,${c.H},${c.W}], kernel ${c.k}×${c.k}, stride ${c.s}, pad ${c.p}`, {
        size: 13,
        bold: true,
      }),
    );
    body.push(
      text(x0, y0 - 16, `x_col [${t.rows}, ${t.cols}]: ${t.outHeight}×${t.outWidth} windows`, {
        size: 12,
        color: MUTED,
      }),
    );
    body.push(grid(x0, y0, c.H, c.W, cs, cs, (r, q) => {
      const v = counts[r * c.W + q];
      // white (never read) to deep blue (read most)
      const a = max === 0 ? 0 : v / max;
      const l = Math.round(97 - 55 * a);
      return {
        fill: `hsl(215, 80%, ${l}%)`,
        text: num(v),
        color: l < 60 ? "#ffffff" : INK,
        bold: true,
        stroke: "#ffffff",
      };
    }, 15));
    const gy = y0 + c.H * cs;
    body.push(text(x0, gy + 22, `Σ = ${num(total)} reads of x`, { size: 12 }));
    body.push(
      text(x0, gy + 40, `+ ${num(pads)} padding entries = ${t.rows * t.cols}`, {
        size: 12,
        color: MUTED,
      }),
    );
    let zeros = 0;
    for (const v of counts) if (v === 0) zeros++;
    if (zeros > 0) {
      body.push(
        text(x0, gy + 58, `${zeros} cells never read (Ho, Wo are floored)`, {
          size: 12,
          color: MUTED,
        }),
      );
    }
    maxH = Math.max(maxH, gy + 70);
    x0 += Math.max(c.W * cs, 250) + 40;
  }
  return { name: "col2im_multiplicity.svg", svg: svgDoc(x0, maxH, title, body) };
}

// ---------------------------------------------------------------------------------------------
// 3. Max-pool gradient routing

interface PoolCase {
  readonly label: string;
  readonly H: number;
  readonly W: number;
  readonly size: number;
  readonly stride: number;
  readonly x: readonly number[];
  readonly dy: readonly number[];
}

const POOL_CASES: readonly PoolCase[] = [
  {
    label: "2×2 windows, stride 2 (no overlap): each dy goes to its window's winner",
    H: 4,
    W: 4,
    size: 2,
    stride: 2,
    x: [1, 2, 0, 0, 3, 4, 0, 9, 5, 0, 1, 1, 0, 6, 1, 2],
    dy: [0.5, -1, 2, 1.5],
  },
  {
    label: "2×2 windows, stride 1 (overlap): a cell that wins two windows receives the sum",
    H: 3,
    W: 3,
    size: 2,
    stride: 1,
    x: [1, 3, 2, 4, 5, 0, 8, 7, 6],
    dy: [1, 2, 3, 4],
  },
];

function maxPoolFigure(): Figure {
  const body: string[] = [];
  const title =
    "Max-pool backward: dx = addAt(0, route, dy), route = the flat index of each winner";
  body.push(text(20, 28, title, { size: 16, bold: true }));
  const cs = 40;
  let y0 = 92;
  let width = 0;
  for (const pc of POOL_CASES) {
    const x = tensor([1, 1, pc.H, pc.W], pc.x);
    const { y, cache } = maxPoolForward(x, { size: pc.size, stride: pc.stride });
    const [, , Ho, Wo] = y.shape;
    const dy = tensor([1, 1, Ho, Wo], pc.dy);
    const dx = maxPoolBackward(dy, cache);
    // route = T[argmax]: the table entry of each window's winning row (layers/max_pool.ts)
    const table = im2colTable({
      channels: 1,
      height: pc.H,
      width: pc.W,
      kernel: [pc.size, pc.size],
      stride: [pc.stride, pc.stride],
    });
    const { argmax } = maxPoolColumns(im2col(x.data, table), {
      rows: table.rows,
      cols: table.cols,
    });
    const route = Array.from(argmax, (r, p) => table.indices[r * table.cols + p]);
    // which windows each input cell wins
    const wins: number[][] = Array.from({ length: pc.H * pc.W }, () => []);
    route.forEach((cellIdx, o) => wins[cellIdx].push(o));
    body.push(text(20, y0 - 34, pc.label, { size: 13, bold: true }));

    const panels: {
      title: string;
      rows: number;
      cols: number;
      cell: (r: number, c: number) => Cell;
    }[] = [
      {
        title: "x (winners bold)",
        rows: pc.H,
        cols: pc.W,
        cell: (r, c) => {
          const k = r * pc.W + c, w = wins[k];
          return {
            fill: w.length > 0 ? "#fef3c7" : "#f9fafb",
            text: num(x.data[k]),
            bold: w.length > 0,
            stroke: "#d1d5db",
          };
        },
      },
      {
        title: "y = max per window",
        rows: Ho,
        cols: Wo,
        cell: (r, c) => ({ fill: "#f9fafb", text: num(y.data[r * Wo + c]), stroke: "#d1d5db" }),
      },
      {
        title: "dy (given)",
        rows: Ho,
        cols: Wo,
        cell: (r, c) => ({
          fill: "#f9fafb",
          text: num(dy.data[r * Wo + c]),
          color: WINDOW_COLORS[r * Wo + c],
          bold: true,
          stroke: "#d1d5db",
        }),
      },
      {
        title: "dx = maxPoolBackward(dy)",
        rows: pc.H,
        cols: pc.W,
        cell: (r, c) => {
          const k = r * pc.W + c, w = wins[k];
          return {
            fill: w.length > 0 ? "#fef3c7" : "#f9fafb",
            text: num(dx.data[k]),
            color: w.length === 1 ? WINDOW_COLORS[w[0]] : w.length > 1 ? INK : PAD_TEXT,
            bold: w.length > 0,
            stroke: "#d1d5db",
          };
        },
      },
    ];
    let px = 20;
    const xs: number[] = [];
    for (const p of panels) {
      xs.push(px);
      body.push(text(px, y0 - 12, p.title, { size: 12, color: MUTED }));
      body.push(grid(px, y0, p.rows, p.cols, cs, cs, p.cell, 14));
      px += Math.max(p.cols * cs, 150) + 36;
    }
    // window outlines on x, and the matching outline on y / dy cells
    for (let o = 0; o < Ho * Wo; o++) {
      const oh = Math.floor(o / Wo), ow = o % Wo;
      const r0 = oh * pc.stride, c0 = ow * pc.stride, color = WINDOW_COLORS[o];
      const inset = pc.stride < pc.size ? 2 + 2.5 * o : 2;
      body.push(
        outline(xs[0], y0, cs, cs, r0, c0, r0 + pc.size - 1, c0 + pc.size - 1, color, inset),
      );
      body.push(outline(xs[1], y0, cs, cs, oh, ow, oh, ow, color, 2));
      body.push(outline(xs[2], y0, cs, cs, oh, ow, oh, ow, color, 2));
      // the route: an outline on the winning cell of dx
      const wr = Math.floor(route[o] / pc.W), wc = route[o] % pc.W;
      body.push(
        outline(xs[3], y0, cs, cs, wr, wc, wr, wc, color, 2 + 2.5 * wins[route[o]].indexOf(o)),
      );
    }
    // a note on any cell that collected more than one gradient
    let noteY = y0 + pc.H * cs + 22;
    wins.forEach((w, k) => {
      if (w.length > 1) {
        const parts = w.map((o) => num(dy.data[o])).join(" + ");
        body.push(text(xs[3], noteY, `dx[${k}] = ${parts} = ${num(dx.data[k])}`, {
          size: 12,
          font: FONT,
        }));
        noteY += 18;
      }
    });
    width = Math.max(width, px);
    y0 = Math.max(y0 + pc.H * cs, noteY) + 76;
  }
  return { name: "max_pool_routing.svg", svg: svgDoc(Math.max(width, 800), y0 - 40, title, body) };
}

// ---------------------------------------------------------------------------------------------
// 4. Dilation: the cells one window reads, and the table's rows, with and without dilation

/** The dilation figure's input and kernel: x [1,6,6], a 3×3 kernel, stride 1, no padding. */
const DILATION_INPUT = { channels: 1, height: 6, width: 6, kernel: [3, 3] as [number, number] };

/** The dilations shown, one panel each, and the output position whose window is outlined. */
const DILATION_CASES: readonly { dilation: number; oh: number; ow: number }[] = [
  { dilation: 1, oh: 1, ow: 1 },
  { dilation: 2, oh: 1, ow: 1 },
];

function dilationFigure(): Figure {
  const g = DILATION_INPUT, [kh, kw] = g.kernel, H = g.height, W = g.width;
  const body: string[] = [];
  const title = `Dilation: one 3×3 kernel on x [1,${H},${W}], taps 1 or 2 cells apart: ` +
    "h = oh·sh − ph + i·dh";
  body.push(text(20, 28, title, { size: 16, bold: true }));
  const ic = 34, tw = 30, th = 24, ix = 20, tx = ix + W * ic + 150;
  let y0 = 100, width = 0;
  DILATION_CASES.forEach((dc, s) => {
    const d = dc.dilation;
    const t = im2colTable({ ...g, dilation: [d, d] });
    const Wo = t.outWidth, p = dc.oh * Wo + dc.ow, color = WINDOW_COLORS[s];
    const span = d * (kh - 1) + 1;
    // the cells window p reads: the table's column p
    const read = new Set<number>();
    for (let r = 0; r < t.rows; r++) read.add(t.indices[r * t.cols + p]);
    body.push(
      text(
        ix,
        y0 - 44,
        `dilation ${d}: span ${d}·(${kh} − 1) + 1 = ${span}, Ho = Wo = ⌊(${H} − ${span})/1⌋ + 1 = ` +
          `${t.outHeight}, x_col [${t.rows}, ${t.cols}]`,
        { size: 13, bold: true },
      ),
    );
    body.push(
      text(ix, y0 - 12, `x: window p = ${p}, (oh, ow) = (${dc.oh}, ${dc.ow}), reads`, {
        size: 12,
        color: MUTED,
      }),
    );
    body.push(grid(ix, y0, H, W, ic, ic, (r, c) => {
      const k = r * W + c;
      return read.has(k)
        ? { fill: cellColor(k), text: String(k), bold: true }
        : { fill: "#f9fafb", text: String(k), color: PAD_TEXT, stroke: "#e5e7eb" };
    }, 13));
    // the span the dilated window covers, dashed, and each tap it reads, outlined
    const r0 = dc.oh, c0 = dc.ow;
    body.push(
      `<rect x="${num(ix + c0 * ic)}" y="${num(y0 + r0 * ic)}" width="${num(span * ic)}"` +
        ` height="${num(span * ic)}" fill="none" stroke="${color}" stroke-width="1.5"` +
        ` stroke-dasharray="5 4"/>`,
    );
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const r = r0 + i * d, c = c0 + j * d;
        body.push(outline(ix, y0, ic, ic, r, c, r, c, color, 2));
      }
    }
    // the table: column p coloured like the cells it reads, the other columns plain
    body.push(
      text(
        tx,
        y0 - 12,
        `table.indices [${t.rows}, ${t.cols}]: tap (i, j) of window (oh, ow) reads x at ` +
          (d === 1 ? "(oh + i, ow + j)" : `(oh + ${d}i, ow + ${d}j)`),
        { size: 12, color: MUTED },
      ),
    );
    body.push(text(tx - 8, y0 - 12, "tap  offset", {
      size: 11,
      anchor: "end",
      color: MUTED,
      font: FONT,
    }));
    for (let r = 0; r < t.rows; r++) {
      const i = Math.floor(r / kw) % kh, j = r % kw;
      body.push(text(tx - 8, y0 + (r + 0.5) * th + 4, `(${i},${j}) +(${i * d},${j * d})`, {
        size: 11,
        anchor: "end",
        color: MUTED,
        font: FONT,
      }));
    }
    body.push(grid(tx, y0, t.rows, t.cols, tw, th, (r, q) => {
      const k = t.indices[r * t.cols + q];
      return q === p
        ? { fill: cellColor(k), text: String(k), bold: true }
        : { fill: "#f9fafb", text: String(k), color: MUTED, stroke: "#e5e7eb" };
    }, 12));
    body.push(outline(tx, y0, tw, th, 0, p, t.rows - 1, p, color, 1.5));
    body.push(text(tx - 8, y0 + t.rows * th + 15, "p", {
      size: 11,
      anchor: "end",
      color: MUTED,
      font: FONT,
    }));
    for (let q = 0; q < t.cols; q++) {
      body.push(text(tx + (q + 0.5) * tw, y0 + t.rows * th + 15, String(q), {
        size: 11,
        anchor: "middle",
        color: q === p ? color : MUTED,
        bold: q === p,
        font: FONT,
      }));
    }
    width = Math.max(width, tx + t.cols * tw + 20);
    y0 += Math.max(H * ic, t.rows * th + 20) + 90;
  });
  body.push(
    text(
      ix,
      y0 - 60,
      "The same 9 taps and 9 weights: dilation changes only where each tap reads, so the " +
        "window spans 5×5 cells and there are fewer windows.",
      { size: 12 },
    ),
  );
  return { name: "dilated_table.svg", svg: svgDoc(Math.max(width, 860), y0 - 40, title, body) };
}

// ---------------------------------------------------------------------------------------------
// 5. Groups: the block-diagonal w_col of a grouped convolution

/** The grouped convolutions shown: channels C, filters D, groups G, all with a 3×3 kernel. */
const GROUP_CASES: readonly { C: number; D: number; G: number; label: string }[] = [
  { C: 4, D: 6, G: 2, label: "groups 2" },
  { C: 4, D: 8, G: 4, label: "depthwise, groups = C = 4, channel multiplier 2" },
];

/** Group colours: one hue per group. */
const GROUP_HUES = [30, 215, 150, 330];

/**
 * The ungrouped w_col [D, C·kh·kw] a grouped convolution amounts to, read off convForward: on an
 * input of the kernel's size [1, C, kh, kw] there is one window and the table is the identity,
 * so y = w_col · x, and the output for the one-hot input e_r is column r.
 */
function equivalentWCol(C: number, D: number, G: number, k: number): Float64Array {
  const K = C * k * k;
  // every weight nonzero (1, 2, 3, ...), so a zero of w_col is a structural zero
  const w = tensor([D, C / G, k, k], Array.from({ length: D * (C / G) * k * k }, (_, i) => i + 1));
  const out = new Float64Array(D * K);
  for (let r = 0; r < K; r++) {
    const e = tensor([1, C, k, k], Array.from({ length: K }, (_, i) => (i === r ? 1 : 0)));
    const { y } = convForward(e, w, null, { groups: G });
    for (let d = 0; d < D; d++) out[d * K + r] = y.data[d];
  }
  return out;
}

function groupsFigure(): Figure {
  const k = 3, taps = k * k;
  const body: string[] = [];
  const title = "Groups: w_col as one ungrouped [D, C·kh·kw] matrix is block-diagonal";
  body.push(text(20, 28, title, { size: 16, bold: true }));
  body.push(
    text(
      20,
      48,
      "Column r is convForward(e_r, w, null, { groups }) for the one-hot input e_r: a filled " +
        "cell is a weight, an empty one a zero.",
      { size: 12, color: MUTED },
    ),
  );
  const cw = 15, ch = 22, x0 = 120;
  let y0 = 130, width = 0;
  for (const gc of GROUP_CASES) {
    const { C, D, G } = gc, Cg = C / G, Dg = D / G, K = C * taps;
    const wcol = equivalentWCol(C, D, G, k);
    let nonzero = 0;
    for (const v of wcol) if (v !== 0) nonzero++;
    body.push(
      text(20, y0 - 52, `C = ${C}, D = ${D}, ${gc.label}: w [${D}, ${Cg}, ${k}, ${k}]`, {
        size: 13,
        bold: true,
      }),
    );
    // column headers: one band of kh·kw taps per input channel, grouped
    for (let c = 0; c < C; c++) {
      body.push(text(x0 + (c + 0.5) * taps * cw, y0 - 8, `c = ${c}`, {
        size: 11,
        anchor: "middle",
        color: MUTED,
      }));
    }
    for (let gi = 0; gi < G; gi++) {
      body.push(text(x0 + (gi + 0.5) * Cg * taps * cw, y0 - 26, `group ${gi}`, {
        size: 12,
        anchor: "middle",
        color: `hsl(${GROUP_HUES[gi]}, 60%, 35%)`,
        bold: true,
      }));
    }
    for (let d = 0; d < D; d++) {
      body.push(text(x0 - 8, y0 + (d + 0.5) * ch + 4, `filter d = ${d}`, {
        size: 11,
        anchor: "end",
        color: MUTED,
      }));
    }
    body.push(grid(x0, y0, D, K, cw, ch, (d, r) => {
      if (wcol[d * K + r] === 0) return { fill: "#ffffff", stroke: "#ffffff" };
      const gi = Math.floor(d / Dg), c = Math.floor(r / taps);
      // alternate the lightness by channel so that each channel's kh·kw taps form a band
      return { fill: `hsl(${GROUP_HUES[gi]}, 70%, ${c % 2 === 0 ? 72 : 82}%)` };
    }));
    // the whole matrix framed, each diagonal block outlined, the zero blocks labelled 0
    body.push(rect(x0, y0, K * cw, D * ch, "none", "#9ca3af", 1));
    for (let gi = 0; gi < G; gi++) {
      const bx = x0 + gi * Cg * taps * cw, by = y0 + gi * Dg * ch;
      body.push(
        rect(bx, by, Cg * taps * cw, Dg * ch, "none", `hsl(${GROUP_HUES[gi]}, 60%, 35%)`, 2),
      );
      for (let gj = 0; gj < G; gj++) {
        if (gj === gi) continue;
        body.push(
          text(
            x0 + (gj + 0.5) * Cg * taps * cw,
            by + Dg * ch / 2 + 5,
            "0",
            { size: 14, anchor: "middle", color: PAD_TEXT },
          ),
        );
      }
    }
    const full = D * K;
    body.push(
      text(x0, y0 + D * ch + 18, `columns: the ${K} taps r = (c·kh + i)·kw + j of x_col's rows`, {
        size: 11,
        color: MUTED,
      }),
    );
    body.push(
      text(
        20,
        y0 + D * ch + 42,
        `${nonzero} of ${full} entries are weights, 1/G = 1/${G}; the product is ${G} GEMMs ` +
          `[${Dg}×${Cg * taps}]·[${Cg * taps}×P], one per diagonal block.`,
        { size: 12 },
      ),
    );
    width = Math.max(width, x0 + K * cw + 20);
    y0 += D * ch + 130;
  }
  return { name: "grouped_w_col.svg", svg: svgDoc(Math.max(width, 760), y0 - 70, title, body) };
}

// ---------------------------------------------------------------------------------------------

// 6. Transposed convolution as col2im: the stamps and their overlap

interface StampCase {
  readonly k: number;
  readonly s: number;
  readonly label: string;
}

const STAMP_CASES: readonly StampCase[] = [
  { k: 3, s: 2, label: "uneven" },
  { k: 4, s: 2, label: "even" },
];

/** Input cells whose stamps the figure outlines. */
const STAMPED = [[0, 0], [0, 1], [1, 1]] as const;

function convTransposeFigure(): Figure {
  const body: string[] = [];
  const title = "Transposed convolution = col2im: each input cell adds its stamp into y";
  body.push(text(20, 28, title, { size: 16, bold: true }));
  body.push(
    text(
      20,
      48,
      "x and w all ones: y = convTransposeForward(x, w, null, { stride: 2 }) counts the stamps " +
        "on each output",
      { size: 12, color: MUTED },
    ),
  );
  const H = 3, cs = 36, y0 = 112;
  const ones = (n: number) => new Float64Array(n).fill(1);
  const x = tensor([1, 1, H, H], ones(H * H));
  let x0 = 20, maxH = 0;
  // the input, its cells outlined in the colours of their stamps
  body.push(text(x0, y0 - 34, `x [1,1,${H},${H}]`, { size: 13, bold: true }));
  body.push(text(x0, y0 - 16, "every cell 1", { size: 12, color: MUTED }));
  body.push(grid(x0, y0, H, H, cs, cs, () => ({ fill: "#f9fafb", text: "1", stroke: "#d1d5db" })));
  STAMPED.forEach(([r, c], i) => body.push(outline(x0, y0, cs, cs, r, c, r, c, WINDOW_COLORS[i])));
  x0 += Math.max(H * cs, 130) + 40;
  for (const sc of STAMP_CASES) {
    const w = tensor([1, 1, sc.k, sc.k], ones(sc.k * sc.k));
    const { y } = convTransposeForward(x, w, null, { stride: sc.s });
    const [, , Ho, Wo] = y.shape;
    let max = 0;
    for (const v of y.data) max = Math.max(max, v);
    const head = `kernel ${sc.k}, stride ${sc.s} → y [1,1,${Ho},${Wo}]`;
    body.push(text(x0, y0 - 34, head, { size: 13, bold: true }));
    // how many stamps cover each row (the column counts are the same): y's first column over
    // its corner value, which is 1
    const cover = Array.from({ length: Ho }, (_, r) => num(y.data[r * Wo] / y.data[0]));
    body.push(
      text(x0, y0 - 16, `${sc.label}: rows covered ${cover.join(",")} times`, {
        size: 12,
        color: MUTED,
      }),
    );
    body.push(grid(x0, y0, Ho, Wo, cs, cs, (r, q) => {
      const v = y.data[r * Wo + q];
      const l = Math.round(97 - 55 * (v / max));
      return {
        fill: `hsl(215, 80%, ${l}%)`,
        text: num(v),
        color: l < 60 ? "#ffffff" : INK,
        bold: true,
        stroke: "#ffffff",
      };
    }, 14));
    // the stamp of input cell (r, c): rows r·s .. r·s + k − 1, columns alike
    STAMPED.forEach(([r, c], i) => {
      const r0 = r * sc.s, c0 = c * sc.s;
      body.push(
        outline(x0, y0, cs, cs, r0, c0, r0 + sc.k - 1, c0 + sc.k - 1, WINDOW_COLORS[i], 2 + 3 * i),
      );
    });
    const gy = y0 + Ho * cs;
    body.push(
      text(x0, gy + 22, `${H * H} stamps of ${sc.k}×${sc.k}: Σ y = ${H * H * sc.k * sc.k}`, {
        size: 12,
      }),
    );
    maxH = Math.max(maxH, gy + 40);
    x0 += Math.max(Wo * cs, 260) + 48;
  }
  return { name: "conv_transpose_stamps.svg", svg: svgDoc(x0 - 28, maxH, title, body) };
}

// ---------------------------------------------------------------------------------------------

// 7. Average pooling with padding: what a window divides by, and where its gradient goes

/** The geometry of the average-pool figure: x [1,1,5,5], 3×3 windows, stride 1, padding 1. */
const AVG_GEOMETRY = { H: 5, W: 5, size: 3, stride: 1, padding: 1 } as const;

function avgPoolFigure(): Figure {
  const body: string[] = [];
  const { H, W, size, stride, padding } = AVG_GEOMETRY;
  const title = "Average pooling with padding: what each window divides by, and where dy = 1 goes";
  body.push(text(20, 28, title, { size: 16, bold: true }));
  body.push(
    text(
      20,
      48,
      `x [1,1,${H},${W}], ${size}×${size} windows, stride ${stride}, padding ${padding}: ` +
        "each dy = 1 is shared among the cells of its window, dy / |window| each.",
      { size: 12, color: MUTED },
    ),
  );
  const ones = tensor([1, 1, H, W], new Array(H * W).fill(1));
  const opts = { size, stride, padding };
  const counted = avgPoolForward(ones, opts), [, , Ho, Wo] = counted.y.shape;
  // the cells of x in each window: the mean of ones with the padding counted, times kh·kw
  const cells = counted.y.data.map((v) => Math.round(v * size * size));
  const dyOnes = tensor([1, 1, Ho, Wo], new Array(Ho * Wo).fill(1));
  const dxIn = avgPoolBackward(dyOnes, counted.cache).data;
  const notCounted = avgPoolForward(ones, { ...opts, countIncludePad: false });
  const dxOut = avgPoolBackward(dyOnes, notCounted.cache).data;
  const sum = (a: ArrayLike<number>) => Array.from(a).reduce((t, v) => t + v, 0);
  const panels: {
    title: string;
    notes: string[];
    rows: number;
    cols: number;
    v: ArrayLike<number>;
  }[] = [
    {
      title: "cells of x in each window",
      notes: ["countIncludePad false divides by these,", `true by ${size * size} everywhere`],
      rows: Ho,
      cols: Wo,
      v: cells,
    },
    {
      title: "dx, countIncludePad true (default)",
      notes: [`Σ dx = ${num(sum(dxIn))} < Σ dy = ${Ho * Wo}:`, "the padding's shares are dropped"],
      rows: H,
      cols: W,
      v: dxIn,
    },
    {
      title: "dx, countIncludePad false",
      notes: [`Σ dx = ${num(sum(dxOut))} = Σ dy:`, "every share lands on a cell of x"],
      rows: H,
      cols: W,
      v: dxOut,
    },
  ];
  const cs = 46, y0 = 104;
  let px = 20;
  for (const p of panels) {
    const max = Math.max(...Array.from(p.v));
    body.push(text(px, y0 - 14, p.title, { size: 13, bold: true }));
    body.push(grid(px, y0, p.rows, p.cols, cs, cs, (r, c) => {
      const v = p.v[r * p.cols + c], l = Math.round(96 - 48 * (v / max)); // white to deep green
      return { fill: `hsl(160, 55%, ${l}%)`, text: num(v), color: l < 62 ? "#ffffff" : INK };
    }, 13));
    p.notes.forEach((line, i) => {
      body.push(text(px, y0 + p.rows * cs + 22 + 17 * i, line, { size: 12, color: MUTED }));
    });
    px += Math.max(p.cols * cs, 270) + 40;
  }
  return {
    name: "avg_pool_padding.svg",
    svg: svgDoc(Math.max(px, 900), y0 + H * cs + 64, title, body),
  };
}

// ---------------------------------------------------------------------------------------------
// 8. The stride-2 walkthrough of docs/walkthrough.md, frame by frame, in the style of Dumoulin and
// Visin's "A guide to convolution arithmetic": the input in blue, the kernel's footprint shaded
// with its weights in the corner of each cell, the output in green, one frame per output position.

/** docs/walkthrough.md's stride-2 example: x [1,1,5,5], w [1,1,3,3], b = 1, dy [1,1,2,2]. */
const WALK = {
  H: 5,
  k: 3,
  s: 2,
  x: [1, 0, 2, 1, 0, 2, 1, 0, 3, 1, 0, 3, 1, 1, 2, 1, 2, 0, 2, 1, 3, 0, 1, 0, 2],
  w: [1, 0, -1, 2, 1, 0, 0, -1, 1],
  b: 1,
  dy: [1, 2, -1, 1],
} as const;

/** The colours of the frames: blue input, green output (dark text on light fills, white on dark). */
const FRAME = {
  input: "#dbeafe",
  inputStroke: "#93c5fd",
  foot: "#1d4ed8",
  footText: "#ffffff",
  footEdge: "#1e3a8a",
  footZero: "#bfdbfe",
  entry: "#93c5fd",
  padStroke: "#9ca3af",
  zeroText: "#1d4ed8",
  weight: "#fde68a",
  outEmpty: "#f0fdf4",
  outStroke: "#86efac",
  outDone: "#bbf7d0",
  outNow: "#15803d",
} as const;

/** One cell of a frame grid: a filled square with an optional dashed edge and a value. */
function frameCell(
  x: number,
  y: number,
  size: number,
  fill: string,
  stroke: string,
  label: string | undefined,
  opts: {
    color?: string;
    bold?: boolean;
    dashed?: boolean;
    fontSize?: number;
    /** Where the value sits, as fractions of the cell; default its centre. */
    at?: readonly [number, number];
  } = {},
): string {
  const dash = opts.dashed ? ' stroke-dasharray="3 2"' : "";
  const out = [
    `<rect x="${num(x + 0.5)}" y="${num(y + 0.5)}" width="${num(size - 1)}"` +
    ` height="${num(size - 1)}" fill="${fill}" stroke="${stroke}" stroke-width="1"${dash}/>`,
  ];
  if (label !== undefined) {
    const fs = opts.fontSize ?? Math.round(size * 0.42), [ax, ay] = opts.at ?? [0.5, 0.5];
    out.push(text(x + size * ax, y + size * ay + fs * 0.36, label, {
      size: fs,
      anchor: "middle",
      color: opts.color ?? INK,
      bold: opts.bold,
      font: FONT,
    }));
  }
  return out.join("\n");
}

/** The output grid of a frame over an empty grid drawn once as `<use href="#emptyId">`: cells
 * before `now` done (light), `now` dark, the rest left empty. */
function outputFrame(
  x0: number,
  y0: number,
  cols: number,
  cs: number,
  values: ArrayLike<number>,
  now: number,
  emptyId: string,
): string {
  const out = [`<use href="#${emptyId}" x="${num(x0)}" y="${num(y0)}"/>`];
  for (let q = 0; q <= now; q++) {
    const x = x0 + (q % cols) * cs, y = y0 + Math.floor(q / cols) * cs;
    out.push(
      q < now
        ? frameCell(x, y, cs, FRAME.outDone, FRAME.outStroke, num(values[q]))
        : frameCell(x, y, cs, FRAME.outNow, FRAME.outNow, num(values[q]), {
          color: "#ffffff",
          bold: true,
        }),
    );
  }
  return out.join("\n");
}

/** An empty output grid, to be drawn by `<use>`, in a `<defs>` element. */
function emptyGridDef(id: string, rows: number, cols: number, cs: number): string {
  const cells: string[] = [];
  for (let q = 0; q < rows * cols; q++) {
    const x = (q % cols) * cs, y = Math.floor(q / cols) * cs;
    cells.push(frameCell(x, y, cs, FRAME.outEmpty, FRAME.outStroke, undefined));
  }
  return `<defs>\n<g id="${id}">\n${cells.join("\n")}\n</g>\n</defs>`;
}

/** A legend entry: a swatch and its label; returns the SVG and the x after it. */
function swatch(
  x: number,
  y: number,
  fill: string,
  stroke: string,
  label: string,
  dashed = false,
): [string, number] {
  const svg = frameCell(x, y - 12, 16, fill, stroke, undefined, { dashed }) + "\n" +
    text(x + 22, y, label, { size: 12, color: MUTED });
  return [svg, x + 40 + label.length * 6.3];
}

/**
 * The frames of a frame-by-frame figure as one SMIL animation: every frame at the same place,
 * each shown for `seconds` in turn (a discrete opacity animation, looping). A renderer without
 * SMIL shows the first frame. `frames[f].shift` moves frame f, drawn where the static strip has
 * it, to the animation's one place.
 */
function animatedFrames(
  frames: readonly { svg: string; shift: readonly [number, number] }[],
  seconds: number,
  scale = 1,
): string {
  const n = frames.length, dur = `${n * seconds}s`;
  return frames.map(({ svg, shift }, f) => {
    const at = (t: number) => num(Math.round((t / n) * 1e4) / 1e4);
    const [values, keyTimes] = f === 0
      ? ["1;0", `0;${at(1)}`]
      : f === n - 1
      ? ["0;1", `0;${at(f)}`]
      : ["0;1;0", `0;${at(f)};${at(f + 1)}`];
    const move = `translate(${num(shift[0])}, ${num(shift[1])})` +
      (scale === 1 ? "" : ` scale(${num(scale)})`);
    return `<g transform="${move}" opacity="${f === 0 ? 1 : 0}">
` +
      `<animate attributeName="opacity" calcMode="discrete" values="${values}"` +
      ` keyTimes="${keyTimes}" dur="${dur}" repeatCount="indefinite"/>
${svg}
</g>`;
  }).join("\n");
}

function stride2FramesFigure(): Figure[] {
  const { H, k, s, x, w, b } = WALK;
  const xt = tensor([1, 1, H, H], x), wt = tensor([1, 1, k, k], w);
  const { y } = convForward(xt, wt, tensor([1], [b]), { stride: s });
  const table = im2colTable({ channels: 1, height: H, width: H, kernel: [k, k], stride: [s, s] });
  const Ho = table.outHeight, Wo = table.outWidth, P = table.cols;
  const title = `Convolution, stride ${s}, frame by frame: x [1,1,${H},${H}], w [1,1,${k},${k}], ` +
    `b = ${b} → y [1,1,${Ho},${Wo}]`;
  const desc = `Four frames, one per output position. Each shows the ${H}×${H} input in light ` +
    `blue with the ${k}×${k} kernel's footprint shaded dark blue (the input value in each cell, ` +
    "the weight it is multiplied by in a yellow corner tag), and below it the " +
    `${Ho}×${Wo} output in green, the current output dark with its value. The footprints start ` +
    `at rows and columns 0 and ${s}, so they overlap in the middle row and column.`;
  const body: string[] = [];
  body.push(text(20, 28, title, { size: 16, bold: true }));
  body.push(
    text(
      20,
      48,
      `y[oh][ow] = Σ w[i][j] · x[${s}·oh + i][${s}·ow + j] + b: the numbers of ` +
        "docs/walkthrough.md (convForward, im2colTable)",
      { size: 12, color: MUTED },
    ),
  );
  let lx = 20;
  for (
    const [fill, stroke, label] of [
      [FRAME.input, FRAME.inputStroke, "x"],
      [FRAME.foot, FRAME.footEdge, "the kernel's footprint: x, and its weight in the corner"],
      [FRAME.outNow, FRAME.outNow, "the output being computed"],
      [FRAME.outDone, FRAME.outStroke, "outputs already computed"],
    ] as const
  ) {
    const [svg, next] = swatch(lx, 78, fill, stroke, label);
    body.push(svg);
    lx = next;
  }
  const cs = 44, ocs = 40, gap = 36, top = 116;
  const fw = H * cs;
  body.push(emptyGridDef("wt-y-empty", Ho, Wo, ocs));
  const frames: { svg: string; shift: [number, number] }[] = [];
  // the animation: one frame, centred in animWidth, below its two header lines at head
  const head = 64, animWidth = 480;
  for (let p = 0; p < P; p++) {
    const mark = body.length;
    const fx = 20 + p * (fw + gap), oh = Math.floor(p / Wo), ow = p % Wo;
    // the window of output p starts where its tap 0 reads: table entry (0, p)
    const start = table.indices[p], r0 = Math.floor(start / H), c0 = start % H;
    body.push(text(fx, top, `frame ${p + 1}: y[${oh}][${ow}]`, { size: 13, bold: true }));
    body.push(
      text(fx, top + 17, `rows ${r0}–${r0 + k - 1}, columns ${c0}–${c0 + k - 1}`, {
        size: 12,
        color: MUTED,
      }),
    );
    const gy = top + 28;
    for (let r = 0; r < H; r++) {
      for (let c = 0; c < H; c++) {
        const i = r - r0, j = c - c0, inFoot = i >= 0 && i < k && j >= 0 && j < k;
        const cx = fx + c * cs, cy = gy + r * cs, v = num(x[r * H + c]);
        if (!inFoot) {
          body.push(frameCell(cx, cy, cs, FRAME.input, FRAME.inputStroke, v, { fontSize: 15 }));
          continue;
        }
        body.push(frameCell(cx, cy, cs, FRAME.foot, FRAME.footEdge, v, {
          color: FRAME.footText,
          bold: true,
          fontSize: 15,
          at: [0.36, 0.36],
        }));
        // the weight this cell is multiplied by, in a tag at the bottom-right corner
        const tw = 20, th = 15, tx = cx + cs - tw - 2, ty = cy + cs - th - 2;
        body.push(rect(tx, ty, tw, th, FRAME.weight, FRAME.footEdge, 0.75));
        body.push(text(tx + tw / 2, ty + th - 4, num(w[i * k + j]), {
          size: 11,
          anchor: "middle",
          color: INK,
          font: FONT,
        }));
      }
    }
    body.push(outline(fx, gy, cs, cs, r0, c0, r0 + k - 1, c0 + k - 1, FRAME.footEdge, 0.5));
    const oy = gy + H * cs + 24, ox = fx + (fw - Wo * ocs) / 2;
    body.push(text(ox - 8, oy + ocs * Ho / 2 + 4, "y", {
      size: 13,
      anchor: "end",
      color: MUTED,
      font: FONT,
    }));
    body.push(outputFrame(ox, oy, Wo, ocs, y.data, p, "wt-y-empty"));
    body.push(text(fx + fw / 2, oy + Ho * ocs + 22, `y[${oh}][${ow}] = ${num(y.data[p])}`, {
      size: 13,
      anchor: "middle",
      bold: true,
      font: FONT,
    }));
    frames.push({
      svg: body.slice(mark).join("\n"),
      shift: [(animWidth - fw) / 2 - fx, head - top],
    });
  }
  const width = Math.max(20 + P * (fw + gap) - gap + 20, lx);
  const height = top + 28 + H * cs + 24 + Ho * ocs + 40;
  const svg = svgDoc(width, height, title, body)
    .replace("</title>", `</title>\n<desc>${esc(desc)}</desc>`);
  // the same frames, animated: one place, 1.5 s each
  const animTitle = `Convolution, stride ${s}, animated`;
  const anim = svgDoc(animWidth, height - top + head, animTitle, [
    text(20, 24, animTitle, { size: 14, bold: true }),
    text(
      20,
      42,
      `x [1,1,${H},${H}], w [1,1,${k},${k}], b = ${b}: the kernel's footprint at each output`,
      { size: 12, color: MUTED },
    ),
    emptyGridDef("wt-y-empty", Ho, Wo, ocs),
    animatedFrames(frames, 1.5),
  ]).replace("</title>", `</title>\n<desc>${esc(desc)}</desc>`);
  return [{ name: "stride2_frames.svg", svg }, { name: "stride2_anim.svg", svg: anim }];
}

// ---------------------------------------------------------------------------------------------
// 9. The same example's dx as a stride-1 convolution: dy with zeros inserted between its entries
// and padded by k − 1, the kernel rotated by 180°, one frame per cell of dx.

function transposedFramesFigure(): Figure[] {
  const { H, k, s, w, dy } = WALK;
  const table = im2colTable({ channels: 1, height: H, width: H, kernel: [k, k], stride: [s, s] });
  const Ho = table.outHeight, Wo = table.outWidth;
  const { y: dx } = convTransposeForward(
    tensor([1, 1, Ho, Wo], dy),
    tensor([1, 1, k, k], w),
    null,
    {
      stride: s,
    },
  );
  const terms = col2im(new Float64Array(table.rows * table.cols).fill(1), table);
  // the grid the rotated kernel slides over: (Ho − 1)·s + 1 rows with dy[i][j] at (i·s, j·s),
  // padded by k − 1 on every side; kind 0 padding, 1 an inserted zero, 2 an entry of dy
  const U = (Ho - 1) * s + 1 + 2 * (k - 1);
  const kind = (r: number, c: number): number => {
    const h = r - (k - 1), v = c - (k - 1);
    if (h < 0 || v < 0 || h > (Ho - 1) * s || v > (Wo - 1) * s) return 0;
    return h % s === 0 && v % s === 0 ? 2 : 1;
  };
  const value = (r: number, c: number): number => dy[((r - (k - 1)) / s) * Wo + (c - (k - 1)) / s];
  const wRot = (i: number, j: number): number => w[(k - 1 - i) * k + (k - 1 - j)];
  const title = `dx as a convolution: dy with ${s - 1} zero between entries, padded by ` +
    `k − 1 = ${k - 1}, the kernel rotated 180°, stride 1 → dx [1,1,${H},${H}]`;
  const desc =
    `${H * H} frames, one per cell of dx. Each shows, on the left, the ${U}×${U} grid: ` +
    "the four entries of dy in blue, the inserted zeros dashed blue, the padding dashed grey; " +
    `the rotated ${k}×${k} kernel's footprint is outlined and shaded, the entries of dy under ` +
    "it dark. On the right, the cells of dx computed so far in green, the current one dark. " +
    "The caption counts the entries of dy under the footprint: 1, 2 or 4, the multiplicity " +
    "col2im sums, in a checkerboard.";
  const body: string[] = [];
  body.push(text(20, 28, title, { size: 16, bold: true }));
  body.push(
    text(
      20,
      48,
      `dx[h][v] = Σ u[h + i][v + j] · w[${k - 1} − i][${k - 1} − j] = ` +
        `convTransposeForward(dy, w, null, { stride: ${s} }); its terms are the dy entries ` +
        "under the footprint",
      { size: 12, color: MUTED },
    ),
  );
  // the legend: dy, the rotated kernel, the number of terms per cell, and the swatches
  const ls = 24, ly = 92;
  const panels: { label: string; n: number; m: number; cell: (q: number) => Cell }[] = [
    {
      label: "dy",
      n: Ho,
      m: Wo,
      cell: (q) => ({ fill: FRAME.entry, stroke: FRAME.footEdge, text: num(dy[q]), bold: true }),
    },
    {
      label: "w rotated 180°",
      n: k,
      m: k,
      cell: (q) => ({
        fill: FRAME.weight,
        stroke: FRAME.footEdge,
        text: num(wRot(Math.floor(q / k), q % k)),
      }),
    },
    {
      label: "terms per cell of dx",
      n: H,
      m: H,
      cell: (q) => {
        const l = Math.round(97 - 55 * (terms[q] / 4)); // as the multiplicity figure
        return {
          fill: `hsl(215, 80%, ${l}%)`,
          text: num(terms[q]),
          color: l < 60 ? "#ffffff" : INK,
          bold: true,
        };
      },
    },
  ];
  let px = 20;
  for (const pn of panels) {
    body.push(text(px, ly - 8, pn.label, { size: 12, bold: true }));
    body.push(grid(px, ly, pn.n, pn.m, ls, ls, (r, c) => pn.cell(r * pn.m + c), 12));
    px += Math.max(pn.m * ls, pn.label.length * 7) + 36;
  }
  const legend: [string, string, string, boolean][] = [
    [FRAME.entry, FRAME.footEdge, "an entry of dy", false],
    ["#ffffff", FRAME.foot, "an inserted zero (0)", true],
    ["#ffffff", FRAME.padStroke, "padding (zero)", true],
    [FRAME.foot, FRAME.footEdge, "an entry of dy under the kernel: a term", false],
    [FRAME.footZero, FRAME.footEdge, "a zero under the kernel", false],
    [FRAME.outNow, FRAME.outNow, "the cell of dx", false],
  ];
  legend.forEach(([fill, stroke, label, dashed], i) => {
    const [svg] = swatch(
      px + 10 + (i >= 3 ? 150 : 0),
      ly + 12 + (i % 3) * 26,
      fill,
      stroke,
      label,
      dashed,
    );
    body.push(svg);
  });
  const legendEnd = px + 10 + 150 + 30 + 40 * 6;
  // the grid without a kernel on it, drawn once and used by every frame
  const cs = 18, ocs = 22, gap = 14, fgap = 30, rowGap = 38;
  const bg: string[] = [];
  for (let r = 0; r < U; r++) {
    for (let c = 0; c < U; c++) {
      const kd = kind(r, c), cx = c * cs, cy = r * cs;
      bg.push(
        kd === 2
          ? frameCell(cx, cy, cs, FRAME.entry, FRAME.footEdge, num(value(r, c)), {
            bold: true,
            fontSize: 11,
          })
          : frameCell(
            cx,
            cy,
            cs,
            "#ffffff",
            kd === 1 ? FRAME.foot : FRAME.padStroke,
            kd === 1 ? "0" : undefined,
            { dashed: true, color: FRAME.zeroText, fontSize: 9 },
          ),
      );
    }
  }
  body.push(`<defs>\n<g id="wt-u">\n${bg.join("\n")}\n</g>\n</defs>`);
  body.push(emptyGridDef("wt-dx-empty", H, H, ocs));
  const fw = U * cs + gap + H * ocs, top = ly + H * ls + 48;
  const fh = 12 + Math.max(U * cs, H * ocs);
  const frames: { svg: string; shift: [number, number] }[] = [];
  const head = 60, zoom = 2; // the animation: below its header, twice the size
  for (let q = 0; q < H * H; q++) {
    const mark = body.length;
    const h = Math.floor(q / H), v = q % H;
    const fx = 20 + v * (fw + fgap), fy = top + h * (fh + rowGap), gy = fy + 10;
    body.push(`<use href="#wt-u" x="${num(fx)}" y="${num(gy)}"/>`);
    // the footprint, drawn over the grid: the entries of dy under it are the sum's terms
    let under = 0;
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        const r = h + i, c = v + j, cx = fx + c * cs, cy = gy + r * cs;
        if (kind(r, c) === 2) {
          under++;
          body.push(frameCell(cx, cy, cs, FRAME.foot, FRAME.footEdge, num(value(r, c)), {
            color: FRAME.footText,
            bold: true,
            fontSize: 11,
          }));
        } else {
          const zero = kind(r, c) === 1 ? "0" : undefined; // an inserted zero, or padding
          body.push(frameCell(cx, cy, cs, FRAME.footZero, FRAME.footEdge, zero, {
            color: FRAME.zeroText,
            fontSize: 9,
          }));
        }
      }
    }
    if (under !== terms[q]) {
      throw new Error(
        `figures: dx[${h}][${v}] has ${under} dy entries under the kernel but col2im counts ` +
          `${terms[q]} terms`,
      );
    }
    body.push(outline(fx, gy, cs, cs, h, v, h + k - 1, v + k - 1, FRAME.footEdge, 0));
    const ox = fx + U * cs + gap, oy = gy + (U * cs - H * ocs) / 2;
    body.push(outputFrame(ox, oy, H, ocs, dx.data, q, "wt-dx-empty"));
    body.push(
      text(fx, fy, `dx[${h}][${v}] = ${num(dx.data[q])}: ${under} term${under === 1 ? "" : "s"}`, {
        size: 12,
        bold: true,
        font: FONT,
      }),
    );
    // scaled by zoom about the origin, so the shift is taken in the scaled frame's units
    frames.push({
      svg: body.slice(mark).join("\n"),
      shift: [20 - zoom * fx, head - zoom * (fy - 14)],
    });
  }
  const width = Math.max(20 + H * (fw + fgap) - fgap + 20, legendEnd);
  const height = top + H * (fh + rowGap) - rowGap + 16;
  const svg = svgDoc(width, height, title, body)
    .replace("</title>", `</title>\n<desc>${esc(desc)}</desc>`);
  // the same frames, animated at twice the size: one place, 1 s each
  const animTitle = "dx as a convolution of the zero-stuffed dy, animated";
  const anim = svgDoc(zoom * fw + 40, head + zoom * (fh + 12) + 16, animTitle, [
    text(20, 24, animTitle, { size: 14, bold: true }),
    text(
      20,
      42,
      `the rotated ${k}×${k} kernel over dy, zeros inserted, padded by ${k - 1}: one cell of dx ` +
        "at a time",
      { size: 12, color: MUTED },
    ),
    `<defs>\n<g id="wt-u">\n${bg.join("\n")}\n</g>\n</defs>`,
    emptyGridDef("wt-dx-empty", H, H, ocs),
    animatedFrames(frames, 1, zoom),
  ]).replace("</title>", `</title>\n<desc>${esc(desc)}</desc>`);
  return [{ name: "zero_inserted_frames.svg", svg }, { name: "zero_inserted_anim.svg", svg: anim }];
}

// ---------------------------------------------------------------------------------------------

/** Every deterministic figure, in the order docs/ uses them. */
export function figures(): Figure[] {
  return [
    im2colTableFigure(),
    multiplicityFigure(),
    maxPoolFigure(),
    dilationFigure(),
    groupsFigure(),
    convTransposeFigure(),
    avgPoolFigure(),
    ...stride2FramesFigure(),
    ...transposedFramesFigure(),
  ];
}

/**
 * The SVG as `deno fmt` would write it, so the committed figures pass `deno fmt --check` with the
 * rest of the repository. Runs the same Deno binary with the repository's deno.json (lineWidth).
 */
async function formatted(svg: string): Promise<string> {
  const root = new URL("../../", import.meta.url);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext=svg", "-"],
    cwd: root,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(svg));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  if (code !== 0) {
    throw new Error(`figures: deno fmt failed on an SVG: ${new TextDecoder().decode(stderr)}`);
  }
  return new TextDecoder().decode(stdout);
}

/** The training run's figures: what scripts/train.ts writes next to its checkpoint, and where
 * docs/ shows them. They come from a run of minutes, so CI does not redraw them. */
const RUN_FIGURES: readonly { suffix: string; name: string }[] = [
  { suffix: ".curve.svg", name: "training_curve.svg" },
  { suffix: ".filters.svg", name: "learned_filters.svg" },
];

const USAGE = "usage: figures.ts [--check] | figures.ts --from-run runs/<model>[.safetensors]";

/** Copies a training run's SVGs into docs/figures/ (formatted like every committed file). */
async function fromRun(base: string, dir: URL): Promise<void> {
  base = base.replace(/\.safetensors$/, "");
  for (const { suffix, name } of RUN_FIGURES) {
    const src = base + suffix;
    let svg: string;
    try {
      svg = await Deno.readTextFile(src);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      console.error(`figures --from-run: ${src} not found; run \`deno task train\` first`);
      Deno.exit(1);
    }
    const out = await formatted(svg);
    await Deno.writeTextFile(new URL(name, dir), out);
    console.log(`copied ${src} to docs/figures/${name} (${out.length} bytes)`);
  }
}

async function main(): Promise<void> {
  const args = [...Deno.args];
  const dir = new URL("../../docs/figures/", import.meta.url);
  if (args[0] === "--from-run") {
    if (args.length !== 2) {
      console.error(USAGE);
      Deno.exit(2);
    }
    await Deno.mkdir(dir, { recursive: true });
    await fromRun(args[1], dir);
    return;
  }
  const check = args.includes("--check");
  const unknown = args.filter((a) => a !== "--check");
  if (unknown.length > 0) {
    console.error(`figures: unknown argument(s) ${unknown.join(" ")}; ${USAGE}`);
    Deno.exit(2);
  }
  if (!check) await Deno.mkdir(dir, { recursive: true });
  const stale: string[] = [];
  for (const figure of figures()) {
    const f = { name: figure.name, svg: await formatted(figure.svg) };
    const url = new URL(f.name, dir);
    const path = `docs/figures/${f.name}`;
    if (check) {
      let old: string | undefined;
      try {
        old = await Deno.readTextFile(url);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
      if (old !== f.svg) {
        stale.push(path);
        console.error(`figures --check: ${path} ${old === undefined ? "is missing" : "differs"}`);
      } else {
        console.log(`figures --check: ${path} up to date (${f.svg.length} bytes)`);
      }
    } else {
      await Deno.writeTextFile(url, f.svg);
      console.log(`wrote ${path} (${f.svg.length} bytes)`);
    }
  }
  if (stale.length > 0) {
    console.error(
      `figures --check: ${stale.length} figure(s) out of date; run \`deno task figures\` and commit`,
    );
    Deno.exit(1);
  }
}

if (import.meta.main) await main();
