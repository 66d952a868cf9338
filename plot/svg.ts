/**
 * Pictures of a training run as SVG strings (no dependencies, no DOM): the learning curve (train
 * loss as training goes, test accuracy after each epoch) and a grid of the first layer's learned
 * filters. Write them to a file, or put them in a web page.
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";

/** A point of the training-loss curve. */
export interface LossPoint {
  /** Position in epochs (fractional: 0.5 is halfway through the first epoch). */
  readonly epoch: number;
  /** Mean training loss around that point. */
  readonly loss: number;
}

/** A test measurement after an epoch. */
export interface AccuracyPoint {
  /** Epochs completed (1, 2, ...). */
  readonly epoch: number;
  /** Test accuracy, a fraction in [0, 1]. */
  readonly accuracy: number;
}

/** What {@link learningCurveSvg} draws. */
export interface LearningCurve {
  /** Training loss as training progresses (at least one point). */
  readonly trainLoss: readonly LossPoint[];
  /** Test accuracy after each epoch (may be empty). */
  readonly testAccuracy: readonly AccuracyPoint[];
  /** A title above the plot. */
  readonly title?: string;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}

function r(v: number): string {
  return (Math.round(v * 10) / 10).toString();
}

/**
 * A learning curve: training loss (left axis, logarithmic, so the long tail stays visible) against
 * epochs, and test accuracy after each epoch (right axis, percent, labelled).
 *
 * @param curve The points and a title.
 * @param opts Size in pixels (default 640×360).
 * @returns An SVG document.
 * @throws {RangeError} If there is no loss point, or a loss is not positive and finite, or an
 *   accuracy is outside [0, 1].
 *
 * @example
 * ```ts
 * import { learningCurveSvg } from "./svg.ts";
 * import { assert } from "@std/assert";
 * const svg = learningCurveSvg({
 *   trainLoss: [{ epoch: 0.1, loss: 2.3 }, { epoch: 0.5, loss: 0.3 }, { epoch: 1, loss: 0.1 }],
 *   testAccuracy: [{ epoch: 1, accuracy: 0.9876 }],
 *   title: "small net",
 * });
 * assert(svg.startsWith("<svg") && svg.includes("98.76%") && svg.includes("small net"));
 * ```
 */
export function learningCurveSvg(
  curve: LearningCurve,
  opts: { width?: number; height?: number } = {},
): string {
  const fn = "learningCurveSvg";
  const { trainLoss, testAccuracy } = curve;
  if (trainLoss.length === 0) throw new RangeError(`${fn}: trainLoss has no points`);
  for (const p of trainLoss) {
    if (!(p.loss > 0 && Number.isFinite(p.loss)) || !Number.isFinite(p.epoch)) {
      throw new RangeError(`${fn}: loss point ${JSON.stringify(p)} is not positive and finite`);
    }
  }
  for (const p of testAccuracy) {
    if (!(p.accuracy >= 0 && p.accuracy <= 1)) {
      throw new RangeError(`${fn}: accuracy point ${JSON.stringify(p)} is not in [0, 1]`);
    }
  }
  const W = opts.width ?? 640, H = opts.height ?? 360;
  const left = 64, right = 64, top = 40, bottom = 48;
  const pw = W - left - right, ph = H - top - bottom;
  const maxEpoch = Math.max(
    ...trainLoss.map((p) => p.epoch),
    ...testAccuracy.map((p) => p.epoch),
    1,
  );
  const X = (e: number) => left + pw * e / maxEpoch;
  // loss axis: whole decades around the data
  const lo = Math.floor(Math.log10(Math.min(...trainLoss.map((p) => p.loss))));
  let hi = Math.ceil(Math.log10(Math.max(...trainLoss.map((p) => p.loss))));
  if (hi === lo) hi = lo + 1;
  const YL = (v: number) => top + ph * (hi - Math.log10(v)) / (hi - lo);
  // accuracy axis: from a round value below the lowest accuracy to 100%
  const minAcc = testAccuracy.length ? Math.min(...testAccuracy.map((p) => p.accuracy)) : 0.9;
  const accLo = Math.max(0, Math.floor((minAcc - 0.005) * 100) / 100);
  const YA = (a: number) => top + ph * (1 - (a - accLo) / (1 - accLo));
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
      `font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  );
  if (curve.title) {
    out.push(
      `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(curve.title)}</text>`,
    );
  }
  // grid and loss ticks (1, 2, 5 per decade)
  for (let d = lo; d <= hi; d++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** d;
      if (Math.log10(v) > hi + 1e-9) continue;
      const y = YL(v);
      out.push(
        `<line x1="${left}" x2="${left + pw}" y1="${r(y)}" y2="${r(y)}" stroke="#eee"/>`,
        `<text x="${left - 6}" y="${r(y + 4)}" text-anchor="end" fill="#1f5fa8">${
          Number(v.toPrecision(1))
        }</text>`,
      );
    }
  }
  // epoch ticks
  const step = Math.max(1, Math.ceil(maxEpoch / 10));
  for (let e = 0; e <= maxEpoch + 1e-9; e += step) {
    out.push(
      `<line x1="${r(X(e))}" x2="${r(X(e))}" y1="${top + ph}" y2="${top + ph + 4}" stroke="#333"/>`,
      `<text x="${r(X(e))}" y="${top + ph + 18}" text-anchor="middle">${e}</text>`,
    );
  }
  // accuracy ticks
  for (let i = 0; i <= 4; i++) {
    const a = accLo + (1 - accLo) * i / 4;
    out.push(
      `<text x="${left + pw + 6}" y="${r(YA(a) + 4)}" fill="#c0392b">${
        (a * 100).toFixed(accLo >= 0.9 ? 1 : 0)
      }%</text>`,
    );
  }
  out.push(
    `<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${left + pw / 2}" y="${H - 10}" text-anchor="middle">epoch</text>`,
    `<text transform="translate(16 ${top + ph / 2}) rotate(-90)" text-anchor="middle" ` +
      `fill="#1f5fa8">train loss (log scale)</text>`,
    `<text transform="translate(${W - 12} ${top + ph / 2}) rotate(90)" text-anchor="middle" ` +
      `fill="#c0392b">test accuracy</text>`,
  );
  const path = trainLoss.map((p, i) => `${i ? "L" : "M"}${r(X(p.epoch))} ${r(YL(p.loss))}`);
  out.push(`<path d="${path.join(" ")}" fill="none" stroke="#1f5fa8" stroke-width="1.5"/>`);
  if (testAccuracy.length > 1) {
    const acc = testAccuracy.map((p, i) => `${i ? "L" : "M"}${r(X(p.epoch))} ${r(YA(p.accuracy))}`);
    out.push(`<path d="${acc.join(" ")}" fill="none" stroke="#c0392b" stroke-width="1.5"/>`);
  }
  for (const p of testAccuracy) {
    const x = X(p.epoch), y = YA(p.accuracy);
    out.push(
      `<circle cx="${r(x)}" cy="${r(y)}" r="3.5" fill="#c0392b"/>`,
      `<text x="${r(x - 6)}" y="${r(y - 8)}" text-anchor="end" fill="#c0392b">${
        (p.accuracy * 100).toFixed(2)
      }%</text>`,
    );
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/**
 * A grid of convolution filters as grey-scale tiles: one row per filter when it has several
 * input channels (one tile per channel), otherwise filters side by side in rows of up to 8. Each
 * filter is scaled by its own largest |weight|: mid-grey is 0, white positive, black negative.
 *
 * @param w Filters [D, C, kh, kw].
 * @param opts Pixels per weight (default 12) and a title.
 * @returns An SVG document.
 * @throws {RangeError} If w is not 4-D.
 *
 * @example Two 2×2 filters
 * ```ts
 * import { filterGridSvg } from "./svg.ts";
 * import { assert } from "@std/assert";
 * const w = { shape: [2, 1, 2, 2], data: new Float32Array([1, -1, 0, 0.5, 2, 2, 2, 2]) };
 * const svg = filterGridSvg(w, { title: "conv1" });
 * assert(svg.includes('fill="rgb(255,255,255)"')); // the largest weight of each filter is white
 * assert(svg.includes('fill="rgb(0,0,0)"')); // −1 in the first filter is black
 * assert((svg.match(/<rect /g) ?? []).length === 1 + 8); // background and 8 weights
 * ```
 */
export function filterGridSvg(
  w: Tensor,
  opts: { cell?: number; title?: string } = {},
): string {
  if (w?.shape?.length !== 4) {
    throw new RangeError(
      `filterGridSvg: w must be [D, C, kh, kw], got [${w?.shape?.join(",")}]`,
    );
  }
  const [D, C, kh, kw] = w.shape;
  const cell = opts.cell ?? 12, gap = Math.max(2, Math.round(cell / 2));
  const cols = C === 1 ? Math.min(D, 8) : C;
  const rows = C === 1 ? Math.ceil(D / cols) : D;
  const top = opts.title ? 28 : gap;
  const gridW = gap + cols * (kw * cell + gap);
  const W = Math.max(gridW, opts.title ? 7 * opts.title.length + 16 : 0); // room for the title
  const H = top + rows * (kh * cell + gap);
  const left = Math.round((W - gridW) / 2) + gap;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
    `font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ddd"/>`,
  ];
  if (opts.title) {
    out.push(`<text x="${W / 2}" y="18" text-anchor="middle">${esc(opts.title)}</text>`);
  }
  const K = C * kh * kw;
  for (let d = 0; d < D; d++) {
    let m = 0;
    for (let i = 0; i < K; i++) m = Math.max(m, Math.abs(w.data[d * K + i]));
    for (let c = 0; c < C; c++) {
      const tile = C === 1 ? d : d * C + c;
      const tx = left + (tile % cols) * (kw * cell + gap);
      const ty = top + Math.floor(tile / cols) * (kh * cell + gap);
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const v = w.data[((d * C + c) * kh + i) * kw + j];
          const g = Math.round(127.5 + 127.5 * (m === 0 ? 0 : v / m));
          out.push(
            `<rect x="${tx + j * cell}" y="${ty + i * cell}" width="${cell}" height="${cell}" ` +
              `fill="rgb(${g},${g},${g})"/>`,
          );
        }
      }
    }
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
}
