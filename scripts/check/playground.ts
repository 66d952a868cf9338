/// <reference lib="dom" />
// The playground in headless Chromium: builds the site (scripts/playground/build.ts), writes it to
// a temporary folder and serves that folder as a plain static host would (content types only, no
// other header), then opens every view and fails on any console error, page error, failed
// request or request outside 127.0.0.1. Each view's checks are one entry of VIEWS below: they
// compare what the page shows with what the library computes here in Deno. Screenshots of every
// view at desktop (1280×800) and phone (390×844) widths go to playground-shots/ (git-ignored) for
// a person to look at. Run: deno task test:playground
//
// The network is closed as in scripts/check/browser.ts: Chromium runs without background
// networking, and every request that is not to the local server is aborted and fails the run.
// Playwright's routes do not see the requests of nested workers (DataParallel's, started by the
// training view's controller Worker): the training view's check asserts instead that every
// worker the page runs was loaded from the local server.

import type { Browser, Page } from "playwright-core";
import * as esbuild from "esbuild";
import { join } from "node:path";
import * as convprop from "../../mod.ts";
import { buildSite, writeSite } from "../playground/build.ts";
import { fromDisk, ROOT, serveStatic } from "../playground/_site.ts";
import { fail, main, step } from "../build/_npm_common.ts";
import { launchChromium } from "./_chromium.ts";
import {
  checkTrain,
  checkTrainFailure,
  initTrain,
  serveTrainFailure,
} from "./_playground_train.ts";

const SHOTS = join(ROOT, "playground-shots");
const WIDTHS = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
] as const;
/** The repository the landing page's docs links point into. */
const DOCS_URL = "https://github.com/convprop/convprop/blob/main/";

/** What a view's check gets: the page (already loaded and ready), the origin, the built files. */
export interface ViewContext {
  page: Page;
  origin: string;
  files: Map<string, Uint8Array>;
}

/** One view: its URL (site-relative, with a query if any) and the checks it must pass. */
export interface ViewCheck {
  name: string;
  url: string;
  /** Wait for `<html data-ready="1">` (set by playground/_ui.ts markReady) before checking. */
  ready: boolean;
  /** Runs before the page loads (page.addInitScript for observers, routes, ...), if given. */
  init?(page: Page): Promise<void>;
  /**
   * Files served in place of the site's while this view is open (a fault injected where no
   * route reaches: Playwright does not intercept the requests of nested workers), if given.
   */
  serve?(files: Map<string, Uint8Array>): Map<string, Uint8Array>;
  /** Console errors this view causes on purpose (an injected fault), if any. */
  expectedConsole?: RegExp;
  check(ctx: ViewContext): Promise<void>;
}

/**
 * Pages linked from the landing page that are built on another branch and not here yet. A page
 * listed here must be absent (the check fails once it exists, so the list cannot go stale).
 */
const PENDING = new Set<string>([]);

async function checkLanding({ page, files }: ViewContext): Promise<void> {
  const links = await page.$$eval("a[href]", (as) => as.map((a) => a.getAttribute("href") ?? ""));
  const local = new Set<string>();
  for (const href of links) {
    if (href.startsWith(DOCS_URL)) {
      const path = href.slice(DOCS_URL.length);
      try {
        Deno.statSync(join(ROOT, path));
      } catch {
        fail(`index.html links ${href}, but ${path} is not in the repository`);
      }
    } else if (/^[a-z]+:/.test(href)) {
      fail(`index.html links ${href}: only the site's pages and the repository's docs`);
    } else local.add(href === "./" ? "index.html" : href);
  }
  for (const href of local) {
    if (PENDING.has(href)) {
      if (files.has(href)) fail(`${href} is built now: remove it from PENDING`);
      console.log(`  ${href}: linked, built on another branch (PENDING)`);
    } else if (!files.has(href)) fail(`index.html links ${href}, which the site does not have`);
  }
  for (const view of VIEWS) {
    const file = view.url.split("?")[0];
    if (file !== "" && !local.has(file)) fail(`index.html does not link the view ${file}`);
  }
  console.log(`  ${links.length} links: every view, each docs page exists in the repository`);
}

// ---------------------------------------------------------------------------------------------
// im2col.html: the cells are im2colTable's, the numbers convForward's and convBackward's

interface Cell {
  row: number;
  col: number;
  src: number;
  text: string;
  value: number;
  mult: number;
  index: number;
}

/** Every element with data-testid `id`: its data attributes and text. */
function cells(page: Page, id: string): Promise<Cell[]> {
  return page.$$eval(`[data-testid="${id}"]`, (es) =>
    es.map((e) => {
      const d = (e as HTMLElement).dataset;
      return {
        row: Number(d.row),
        col: Number(d.col),
        src: Number(d.src),
        text: e.childNodes[0]?.textContent ?? "",
        value: Number(d.value),
        mult: Number(d.mult),
        index: Number(d.index),
      };
    }));
}

/** The geometry a query asks for, as the page reads it (its defaults where a key is absent). */
function im2colQuery(query: string) {
  const q = new URLSearchParams(query);
  const get = (key: string, both: string | null, def: number): number =>
    Number(q.get(key) ?? (both === null ? null : q.get(both)) ?? def);
  return {
    C: get("c", null, 1),
    H: get("h", null, 4),
    W: get("w", null, 4),
    kernel: [get("kh", "k", 2), get("kw", "k", 2)] as [number, number],
    stride: [get("sh", "s", 1), get("sw", "s", 1)] as [number, number],
    padding: [get("ph", "p", 0), get("pw", "p", 0)] as [number, number],
    dilation: [get("dh", "d", 1), get("dw", "d", 1)] as [number, number],
    D: get("f", null, 1),
  };
}

/** Exact equality of two number lists (the same reference code ran on both sides). */
function sameNumbers(what: string, got: number[], want: ArrayLike<number>): void {
  if (got.length !== want.length) fail(`${what}: the page has ${got.length}, Deno ${want.length}`);
  for (let i = 0; i < got.length; i++) {
    if (!Object.is(got[i], want[i])) fail(`${what}[${i}]: page ${got[i]}, Deno ${want[i]}`);
  }
}

const IM2COL_GEOMETRIES = [
  "im2col.html?c=2&h=5&w=4&k=3&s=2&p=1", // the test hook
  "im2col.html?c=1&h=4&w=4&k=2",
  "im2col.html?c=2&h=6&w=7&kh=3&kw=2&sh=2&sw=1&ph=1&pw=0&dh=1&dw=2&f=2",
  "im2col.html?c=1&h=7&w=5&k=3&d=2&p=2&s=3",
  "im2col.html?c=3&h=3&w=3&k=3&p=1&f=3",
];

/** The page's x_col, T and y against im2colTable, im2col and convForward in Deno. */
async function checkIm2colGeometry(page: Page, url: string): Promise<void> {
  const g = im2colQuery(url.split("?")[1] ?? "");
  const table = convprop.im2colTable({
    channels: g.C,
    height: g.H,
    width: g.W,
    kernel: g.kernel,
    stride: g.stride,
    padding: g.padding,
    dilation: g.dilation,
  });
  const xcol = await cells(page, "xcol-cell"), tcells = await cells(page, "table-cell");
  for (const [name, list] of [["xcol-cell", xcol], ["table-cell", tcells]] as const) {
    if (list.length !== table.rows * table.cols) {
      fail(`${url}: ${list.length} ${name} elements, im2colTable has ${table.rows * table.cols}`);
    }
    const seen = new Set<number>();
    for (const c of list) {
      const t = c.row * table.cols + c.col;
      if (!(c.row >= 0 && c.row < table.rows && c.col >= 0 && c.col < table.cols) || seen.has(t)) {
        fail(`${url}: ${name} at row ${c.row}, col ${c.col} is outside the table or repeated`);
      }
      seen.add(t);
      if (c.src !== table.indices[t]) {
        fail(
          `${url}: ${name} [${c.row}, ${c.col}] data-src ${c.src}, im2colTable ${table.indices[t]}`,
        );
      }
    }
  }
  const xs = await cells(page, "x-cell");
  const x = new Float64Array(table.inputSize);
  for (const c of xs) x[c.index] = c.value;
  if (xs.length !== table.inputSize) {
    fail(`${url}: ${xs.length} x cells, C·H·W = ${table.inputSize}`);
  }
  const want = convprop.im2col(x, table);
  sameNumbers(
    `${url} x_col`,
    xcol.map((c) => Number(c.text)),
    xcol.map((c) => want[c.row * table.cols + c.col]),
  );
  const mult = convprop.col2im(new Float64Array(table.rows * table.cols).fill(1), table);
  sameNumbers(`${url} multiplicity`, xs.map((c) => c.mult), xs.map((c) => mult[c.index]));
  // y = w_col · x_col + b: the weights and biases the page holds, through convForward here
  const w = (await cells(page, "w-input")).length;
  const wv = await page.$$eval(
    '[data-testid="w-input"]',
    (es) => es.map((e) => Number((e as HTMLInputElement).value)),
  );
  const bv = await page.$$eval(
    '[data-testid="b-input"]',
    (es) => es.map((e) => Number((e as HTMLInputElement).value)),
  );
  const K = table.rows;
  if (w !== g.D * K || bv.length !== g.D) {
    fail(`${url}: ${w} weights and ${bv.length} biases, want ${g.D * K} and ${g.D}`);
  }
  const conv = convprop.convForward(
    { shape: [1, g.C, g.H, g.W], data: x },
    { shape: [g.D, g.C, ...g.kernel], data: Float64Array.from(wv) },
    { shape: [g.D], data: Float64Array.from(bv) },
    { stride: g.stride, padding: g.padding, dilation: g.dilation },
  );
  const ys = await cells(page, "y-cell");
  sameNumbers(
    `${url} y`,
    ys.map((c) => c.value),
    ys.map((c) => conv.y.data[c.row * table.cols + c.col]),
  );
  if (ys.length !== g.D * table.cols) {
    fail(`${url}: ${ys.length} y cells, want ${g.D * table.cols}`);
  }
  console.log(
    `  ${url}: ${xcol.length} x_col cells = im2colTable, x_col = im2col, ${ys.length} y = convForward`,
  );
}

async function checkIm2col({ page, origin }: ViewContext): Promise<void> {
  for (const url of IM2COL_GEOMETRIES) {
    await page.goto(`${origin}/${url}`);
    await page.waitForFunction("document.documentElement.dataset.ready === '1'");
    await checkIm2colGeometry(page, url);
  }
  await page.goto(`${origin}/${IM2COL_GEOMETRIES[0]}`);
  await page.waitForFunction("document.documentElement.dataset.ready === '1'");
  const isHot = (sel: string) => page.$eval(sel, (e) => e.classList.contains("hot"));
  // hover an x_col entry: the cell of x it reads lights up; an x cell: every entry reading it
  const reading = (await cells(page, "xcol-cell")).find((c) => c.src >= 0)!;
  await page.hover(
    `[data-testid="xcol-cell"][data-row="${reading.row}"][data-col="${reading.col}"]`,
  );
  if (!await isHot(`[data-testid="x-cell"][data-index="${reading.src}"]`)) {
    fail(`hovering x_col[${reading.row}, ${reading.col}] does not highlight x flat ${reading.src}`);
  }
  const padding = (await cells(page, "xcol-cell")).find((c) => c.src < 0)!;
  await page.hover(
    `[data-testid="xcol-cell"][data-row="${padding.row}"][data-col="${padding.col}"]`,
  );
  if (await page.$$eval("td.pad.hot:not([data-testid])", (es) => es.length) !== 1) {
    fail(`hovering the padding entry x_col[${padding.row}, ${padding.col}] marks no padding cell`);
  }
  const readers = (await cells(page, "xcol-cell")).filter((c) => c.src === reading.src).length;
  await page.hover(`[data-testid="x-cell"][data-index="${reading.src}"]`);
  const hot = await page.$$eval('[data-testid="xcol-cell"].hot', (es) => es.length);
  if (hot !== readers) {
    fail(`hovering x flat ${reading.src} lights ${hot} x_col entries, ${readers} read it`);
  }
  // the keyboard does the same: focus moves by arrow keys and highlights what it lands on
  await page.focus('[data-testid="xcol-cell"][data-row="0"][data-col="0"]');
  await page.keyboard.press("ArrowRight");
  const focused = await page.evaluate(
    "[document.activeElement.dataset.row, document.activeElement.dataset.col, document.activeElement.classList.contains('hot')].join()",
  );
  if (focused !== "0,1,true") fail(`ArrowRight from x_col[0, 0] focuses ${focused}, want 0,1,true`);
  console.log(
    `  hover and keyboard focus link x_col, T and x (${readers} readers of x flat ${reading.src})`,
  );
  // the index toggle: x's cells show their flat index, the number T holds
  await page.check('[data-testid="index-toggle"]');
  const shown = await cells(page, "x-cell");
  if (!shown.every((c) => c.text === String(c.index))) {
    fail("the index toggle does not show x's flat indices");
  }
  await page.uncheck('[data-testid="index-toggle"]');

  // the backward toggle: dx = convBackward's, the multiplicity col2im's, dy editable
  await page.check('[data-testid="backward-toggle"]');
  await page.fill('[data-testid="dy-input"][data-index="1"]', "2.5");
  await page.waitForFunction("document.documentElement.dataset.ready === '1'");
  const g = im2colQuery(IM2COL_GEOMETRIES[0].split("?")[1]);
  const x = new Float64Array(g.C * g.H * g.W);
  const xs0 = await page.$$eval('[data-testid="dx-cell"]', (es) => es.length);
  if (xs0 !== x.length) fail(`backward: ${xs0} dx cells, want ${x.length}`);
  const readNums = (id: string) =>
    page.$$eval(
      `[data-testid="${id}"]`,
      (es) => es.map((e) => Number((e as HTMLInputElement).value)),
    );
  const wv = await readNums("w-input"),
    bv = await readNums("b-input"),
    dyv = await readNums("dy-input");
  if (dyv[1] !== 2.5) fail(`the dy input did not take the edit: ${dyv.join(",")}`);
  // x is what the forward view showed (the same deterministic input)
  await page.uncheck('[data-testid="backward-toggle"]');
  for (const c of await cells(page, "x-cell")) x[c.index] = c.value;
  await page.check('[data-testid="backward-toggle"]');
  const fwd = convprop.convForward(
    { shape: [1, g.C, g.H, g.W], data: x },
    { shape: [g.D, g.C, ...g.kernel], data: Float64Array.from(wv) },
    { shape: [g.D], data: Float64Array.from(bv) },
    { stride: g.stride, padding: g.padding, dilation: g.dilation },
  );
  const dx =
    convprop.convBackward({ shape: fwd.y.shape, data: Float64Array.from(dyv) }, fwd.cache).dx;
  const dxs = await cells(page, "dx-cell");
  sameNumbers("backward dx", dxs.map((c) => c.value), dxs.map((c) => dx.data[c.index]));
  // the sum written out for one cell ends in its value
  const busiest = dxs.reduce((a, c) => (c.mult > a.mult ? c : a));
  await page.hover(`[data-testid="dx-cell"][data-index="${busiest.index}"]`);
  await page.waitForTimeout(300); // the text must not move the grid under the pointer
  const info = await page.$eval("#info", (e) => e.textContent ?? "");
  const [bc, bh, bw] = [
    Math.floor(busiest.index / (g.H * g.W)),
    Math.floor(busiest.index / g.W) % g.H,
    busiest.index % g.W,
  ];
  if (!info.startsWith(`dx[${bc}, ${bh}, ${bw}] =`)) {
    fail(`hovering dx flat ${busiest.index} ([${bc}, ${bh}, ${bw}]) shows: ${info}`);
  }
  if ((info.match(/dx_col\[/g) ?? []).length !== busiest.mult) {
    fail(`the sum for dx flat ${busiest.index} (multiplicity ${busiest.mult}) reads: ${info}`);
  }
  console.log(`  backward: ${dxs.length} dx = convBackward (dy edited), sum written: ${info}`);

  // the controls: a new stride through the form redraws the table (and the URL follows)
  await page.uncheck('[data-testid="backward-toggle"]');
  await page.fill('[data-testid="control-sw"]', "1");
  await page.press('[data-testid="control-sw"]', "Enter");
  await page.locator('[data-testid="control-sw"]').dispatchEvent("change");
  await page.waitForFunction("document.documentElement.dataset.ready === '1'");
  const url = `im2col.html${new URL(page.url()).search}`;
  if (!url.includes("sw=1")) fail(`the URL did not follow the stride control: ${url}`);
  await checkIm2colGeometry(page, url);
  // a kernel larger than the padded input: the library's message, no page error
  await page.fill('[data-testid="control-ph"]', "0");
  await page.locator('[data-testid="control-ph"]').dispatchEvent("change");
  await page.fill('[data-testid="control-kh"]', "7");
  await page.locator('[data-testid="control-kh"]').dispatchEvent("change");
  const error = await page.$eval("#error", (e) => e.textContent ?? "");
  if (!error.includes("im2colTable: kernel")) fail(`a too-large kernel shows "${error}"`);
  console.log(`  a too-large kernel: "${error.slice(0, 60)}…"`);
  // back to the hook geometry for the screenshots
  await page.goto(`${origin}/${IM2COL_GEOMETRIES[0]}`);
  await page.waitForFunction("document.documentElement.dataset.ready === '1'");
  await page.hover('[data-testid="xcol-cell"][data-row="4"][data-col="1"]');
}

// ---------------------------------------------------------------------------------------------
// step.html: every number equals the same calls here; the source lines are the files' own

/** The numbers of every `data-testid` = `id` element, by `data-name`. */
async function named(page: Page, id: string): Promise<Map<string, number[]>> {
  const list = await page.$$eval(
    `[data-testid="${id}"]`,
    (es) => es.map((e) => [(e as HTMLElement).dataset.name!, (e as HTMLElement).dataset.values!]),
  );
  return new Map(list.map(([n, v]) => [n, JSON.parse(v) as number[]]));
}

/** The network the page shows, run here on the reference backend with the page's inputs. */
async function stepExpected(page: Page): Promise<Map<string, ArrayLike<number>>> {
  const p = await named(page, "param");
  const label = Number(await page.$eval("#params", (e) => (e as HTMLElement).dataset.label));
  const xs = await page.$$eval(
    '[data-testid="x-input"]',
    (es) => es.map((e) => Number((e as HTMLInputElement).value)),
  );
  const f = (shape: number[], v: ArrayLike<number>) => ({ shape, data: Float64Array.from(v) });
  const x = f([1, 1, 6, 6], xs);
  const w1 = f([2, 1, 3, 3], p.get("conv w")!), b1 = f([2], p.get("conv b")!);
  const w2 = f([3, 8], p.get("fc W₂")!), b2 = f([3], p.get("fc b₂")!);
  const cp = convprop;
  const table = cp.im2colTable({ channels: 1, height: 6, width: 6, kernel: [3, 3] });
  const conv = cp.convForward(x, w1, b1);
  const relu = cp.reluForward(conv.y);
  const pool = cp.maxPoolForward(relu.y, { size: 2 });
  const fc = cp.fcForward(pool.y, w2, b2);
  const ce = cp.softmaxCrossEntropy(fc.y, [label]);
  const dfc = cp.fcBackward(ce.dlogits, fc.cache);
  const dpool = cp.maxPoolBackward(dfc.dx, pool.cache);
  const drelu = cp.reluBackward(dpool, relu.cache);
  const dconv = cp.convBackward(drelu, conv.cache);
  return new Map<string, ArrayLike<number>>([
    ["x", x.data],
    ["x_col", cp.im2col(x.data, table)],
    ["w", w1.data],
    ["b", b1.data],
    ["conv.y", conv.y.data],
    ["relu.y", relu.y.data],
    ["pool.y", pool.y.data],
    ["W₂", w2.data],
    ["b₂", b2.data],
    ["logits", fc.y.data],
    ["probs", cp.softmax(fc.y).data],
    ["loss", [ce.loss]],
    ["dlogits", ce.dlogits.data],
    ["fc.dw", dfc.dw.data],
    ["fc.db", dfc.db.data],
    ["fc.dx", dfc.dx.data],
    ["pool.dx", dpool.data],
    ["relu.dx", drelu.data],
    ["conv.dw", dconv.dw.data],
    ["conv.db", dconv.db!.data],
    ["conv.dx", dconv.dx.data],
  ]);
}

/** Walks every step with Next, comparing each tensor shown; returns the gradients checked. */
async function walkSteps(page: Page, tag: string, fd: boolean): Promise<number> {
  const want = await stepExpected(page);
  const seen = new Set<string>();
  const steps = await page.$$eval('[data-testid="step-link"]', (es) => es.length);
  await page.click('[data-testid="step-link"] >> nth=0');
  let checked = 0, markedSteps = 0;
  for (let i = 0; i < steps; i++) {
    if (i > 0) await page.click('[data-testid="next"]');
    await page.waitForFunction(
      `document.documentElement.dataset.ready === '1' && document.documentElement.dataset.step === '${i}'`,
    );
    for (const [name, got] of await named(page, "tensor")) {
      if (name.startsWith("numeric ")) continue;
      const expected = want.get(name);
      if (expected === undefined) {
        fail(`step ${i + 1}: the page shows ${name}, which the check does not know`);
      }
      sameNumbers(`${tag} step ${i + 1} ${name}`, got, expected);
      seen.add(name);
    }
    // the max-pool steps mark each window's winner in relu.y: maxPoolBackward of ones, here
    const marked = await page.$$eval(
      '[data-testid="tensor"][data-name="relu.y"] td',
      (es) => es.flatMap((e, i) => (e.classList.contains("hot") ? [i] : [])),
    );
    const says = await page.$eval("#marks", (e) => e.textContent ?? "");
    if (says.startsWith("Highlighted in relu.y")) {
      markedSteps++;
      const ones = { shape: [1, 2, 2, 2], data: new Float64Array(8).fill(1) };
      const relu = convprop.reluForward({
        shape: [1, 2, 4, 4],
        data: Float64Array.from(want.get("conv.y")!),
      });
      const winners = convprop.maxPoolBackward(
        ones,
        convprop.maxPoolForward(relu.y, { size: 2 }).cache,
      );
      const expected = [...winners.data.keys()].filter((k) => winners.data[k] !== 0);
      if (marked.join() !== expected.join()) {
        fail(
          `step ${
            i + 1
          }: the page marks winners ${marked.join()}, maxPoolBackward ${expected.join()}`,
        );
      }
    } else if (marked.length > 0) fail(`step ${i + 1} marks cells of relu.y and says nothing`);
    // the highlighted source lines are the file's own lines, at the numbers the page gives
    const lines = await page.$$eval(
      '[data-testid="source-line"]',
      (es) =>
        es.map((e) =>
          [
            (e as HTMLElement).dataset.file!,
            Number((e as HTMLElement).dataset.line),
            e.textContent ?? "",
          ] as const
        ),
    );
    if (lines.length === 0) fail(`step ${i + 1}: no source line highlighted`);
    // and each box is scrolled so that its first highlighted line is in sight
    const hidden = await page.$$eval("pre.source", (pres) =>
      pres.flatMap((pre) => {
        const line = pre.querySelector(".line.hot") as HTMLElement, box = pre as HTMLElement;
        const y = line.offsetTop - box.offsetTop - box.scrollTop;
        return y >= 0 && y + line.offsetHeight <= box.clientHeight ? [] : [y];
      }));
    if (hidden.length > 0) fail(`step ${i + 1}: a highlighted line is scrolled out of its box`);
    for (const [file, line, text] of lines) {
      const real = Deno.readTextFileSync(join(ROOT, file)).split("\n")[line - 1];
      if (text !== `${line}${real}`) {
        fail(`step ${i + 1}: ${file}:${line} shows "${text}", the file has "${real}"`);
      }
    }
    if (fd && await page.$('[data-testid="fd-check"]') !== null) {
      await page.click('[data-testid="fd-check"]');
      const results = await page.$$eval(
        '[data-testid="fd-result"]',
        (es) =>
          es.map((
            e,
          ) => [
            (e as HTMLElement).dataset.name,
            (e as HTMLElement).dataset.status,
            (e as HTMLElement).dataset.maxError,
          ]),
      );
      if (results.length === 0) fail(`step ${i + 1}: the finite-difference button showed nothing`);
      for (const [name, status, err] of results) {
        if (status !== "pass") {
          fail(`step ${i + 1}: finite differences disagree with ${name} by ${err}`);
        }
        checked++;
      }
    }
  }
  if (markedSteps !== 2) {
    fail(`${tag}: ${markedSteps} steps mark the winners, want 2 (pool fwd, bwd)`);
  }
  const missing = [...want.keys()].filter((k) => !seen.has(k) && k !== "x");
  if (missing.length > 0) fail(`${tag}: the steps never show ${missing.join(", ")}`);
  return checked;
}

async function checkStep({ page }: ViewContext): Promise<void> {
  const steps = await page.$$eval('[data-testid="step-link"]', (es) => es.length);
  const fd = await walkSteps(page, "default input", true);
  console.log(
    `  ${steps} steps: every tensor = the library's in Deno; source lines = the files'; ${fd} gradients agree with finite differences`,
  );
  // edit the input, change the label, draw new weights: the numbers follow
  await page.fill('[data-testid="x-input"][data-index="14"]', "-1.5");
  await page.selectOption('[data-testid="label"]', "0");
  await page.click('[data-testid="redraw"]');
  await page.waitForFunction("document.documentElement.dataset.ready === '1'");
  const x14 = await page.$eval(
    '[data-testid="x-input"][data-index="14"]',
    (e) => (e as HTMLInputElement).value,
  );
  if (x14 !== "-1.5") fail(`the edited input cell reads ${x14}`);
  await walkSteps(page, "edited input, label 0, new weights", false);
  console.log("  an edited input, another label and new weights: every tensor still = Deno's");
  // the keyboard walks the steps too
  await page.click('[data-testid="step-link"] >> nth=0');
  await page.keyboard.press("ArrowRight");
  await page.waitForFunction("document.documentElement.dataset.step === '1'");
  // leave the screenshots on the conv backward step, its check done
  await page.click(`[data-testid="step-link"] >> nth=${steps - 1}`);
  await page.waitForFunction(`document.documentElement.dataset.step === '${steps - 1}'`);
  await page.click('[data-testid="fd-check"]');
}

/** The views, in the order they are opened. Append a view's entry to check it. */
export const VIEWS: ViewCheck[] = [
  { name: "landing", url: "", ready: false, check: checkLanding },
  { name: "im2col", url: IM2COL_GEOMETRIES[0], ready: true, check: checkIm2col },
  { name: "step", url: "step.html", ready: true, check: checkStep },
  { name: "train", url: "train.html?autostart=1", ready: true, init: initTrain, check: checkTrain },
  {
    name: "train-failure",
    url: "train.html?autostart=1",
    ready: true,
    serve: serveTrainFailure,
    expectedConsole: /injected failure/,
    check: checkTrainFailure,
  },
];

/** Opens `url` in a fresh page of `browser`, collecting errors and requests that leave `origin`. */
async function openView(
  browser: Browser,
  origin: string,
  view: ViewCheck,
  viewport: { width: number; height: number },
): Promise<{ page: Page; problems: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({ serviceWorkers: "block", viewport });
  const problems: string[] = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(`${origin}/`)) return route.continue();
    problems.push(`request outside 127.0.0.1: ${url}`);
    return route.abort("blockedbyclient");
  });
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !view.expectedConsole?.test(m.text())) {
      problems.push(`console.error: ${m.text()}`);
    }
  });
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  if (view.init) await view.init(page);
  await page.goto(`${origin}/${view.url}`, { waitUntil: "load" });
  if (view.ready) {
    await page.waitForFunction(
      "document.documentElement.dataset.ready === '1'",
      undefined,
      { timeout: 60_000 },
    ).catch(() => problems.push(`${view.url}: never marked itself ready`));
  }
  return { page, problems, close: () => context.close() };
}

await main("test:playground", async () => {
  step("build the site (scripts/playground/build.ts), write it, serve it as plain files");
  const files = await buildSite();
  await esbuild.stop();
  const dir = await Deno.makeTempDir({ prefix: "convprop-site-" });
  writeSite(dir, files);
  const bytes = [...files.values()].reduce((s, b) => s + b.byteLength, 0);
  console.log(`${files.size} files, ${(bytes / 1024).toFixed(1)} kB`);
  const disk = fromDisk(dir);
  let overrides = new Map<string, Uint8Array>();
  const { server, origin } = serveStatic((path) => overrides.get(path) ?? disk(path), 0);
  const browser = await launchChromium();
  Deno.mkdirSync(SHOTS, { recursive: true });
  try {
    step(`Chromium ${browser.version()} (headless, closed network), site at ${origin}`);
    for (const view of VIEWS) {
      step(`${view.name}: /${view.url}`);
      overrides = view.serve?.(files) ?? new Map();
      const { page, problems, close } = await openView(browser, origin, view, WIDTHS[0]);
      try {
        if (problems.length === 0) await view.check({ page, origin, files });
        // the same page at each width: nothing wider than the screen but inside a scroll box
        for (const w of WIDTHS) {
          await page.setViewportSize({ width: w.width, height: w.height });
          await page.waitForTimeout(100);
          const overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth",
          ) as number;
          if (overflow > 0) {
            problems.push(`${view.name} at ${w.width} px is ${overflow} px wider than the screen`);
          }
          const shot = join(SHOTS, `${view.name}-${w.name}.png`);
          await page.screenshot({ path: shot, fullPage: true });
          console.log(`  screenshot ${shot.slice(ROOT.length + 1)}`);
        }
      } finally {
        await close();
        overrides = new Map();
      }
      if (problems.length > 0) fail(`${view.name}:\n  ${problems.join("\n  ")}`);
      console.log(`  no page errors, no console errors, no request outside 127.0.0.1`);
    }
  } finally {
    await browser.close();
    await server.shutdown();
    Deno.removeSync(dir, { recursive: true });
  }
});
