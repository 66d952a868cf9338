// The browser bundle (npm/browser/convprop.min.js) in headless Chromium: a page served from
// 127.0.0.1 imports it as an ES module, runs conv forward/backward (float64 and float32), a seeded
// Conv2D layer and a conv → relu → maxpool → fc → softmax cross-entropy step, and every number
// must equal what the same calls give in Deno from the TypeScript sources. Then the README's
// browser snippets run on the same server with their CDN URL pointed at the local bundle.
// Run after `deno task build:npm`: deno task test:browser
//
// Tolerance: none; results must be bitwise equal. Both sides run the same JavaScript operations
// in the same order (the minifier does not reorder arithmetic), IEEE-754 double arithmetic is
// deterministic, float32 rounding happens at the same typed-array stores, and V8 (in Deno and in
// Chromium) computes Math.exp/Math.log with the same fdlibm port on every platform. Any
// difference is a bundling or runtime bug, not rounding.
//
// The network is closed: Chromium runs without background networking, sync, component updates
// or QUIC, and every request that is not to the local server is aborted and fails the run.
// Chromium: Debian's /usr/bin/chromium (or $CHROMIUM_PATH); .ci/run installs it when missing.

import { extname, join, normalize } from "node:path";
import * as convprop from "../../mod.ts";
import {
  BROWSER_BUNDLE,
  fail,
  gzipSize,
  kb,
  main,
  NPM_DIR,
  NPM_METADATA,
  ROOT,
  step,
} from "../build/_npm_common.ts";
import { launchChromium } from "./_chromium.ts";

interface Arr {
  shape: number[];
  data: number[];
}
interface Input {
  x: Arr;
  w: Arr;
  b: Arr;
  dy: Arr;
  fcW: Arr;
  fcB: Arr;
  labels: number[];
  stride: [number, number];
  padding: [number, number];
}

/**
 * The calls compared. It runs in Deno, and as source text in the page, so it uses nothing but
 * its arguments (no outer names).
 */
function compute(cp: typeof convprop, input: Input): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  const opts = { stride: input.stride, padding: input.padding };
  for (const Type of [Float64Array, Float32Array]) {
    const t = (a: Arr) => ({ shape: a.shape, data: Type.from(a.data) as Float64Array });
    const tag = Type.name;
    const fwd = cp.convForward(t(input.x), t(input.w), t(input.b), opts);
    const bwd = cp.convBackward(t(input.dy), fwd.cache);
    out[`${tag} convForward y`] = Array.from(fwd.y.data);
    out[`${tag} convBackward dx`] = Array.from(bwd.dx.data);
    out[`${tag} convBackward dw`] = Array.from(bwd.dw.data);
    out[`${tag} convBackward db`] = Array.from(bwd.db.data);
    out[`${tag} types`] = [fwd.y.data instanceof Type ? 1 : 0, bwd.dx.data instanceof Type ? 1 : 0];
  }

  // The layer class with its default float32 and a seeded He-normal initialisation.
  const layer = new cp.Conv2D({
    inChannels: input.x.shape[1],
    outChannels: input.w.shape[0],
    size: [input.w.shape[2], input.w.shape[3]],
    ...opts,
    rng: cp.mulberry32(7),
  });
  const f32 = (a: Arr) => ({ shape: a.shape, data: Float32Array.from(a.data) });
  out["Conv2D forward"] = Array.from(layer.forward(f32(input.x)).data);
  out["Conv2D backward dx"] = Array.from(layer.backward(f32(input.dy)).data);
  for (const p of layer.params()) {
    out[`Conv2D ${p.name}`] = Array.from(p.value.data);
    out[`Conv2D d${p.name}`] = Array.from(p.grad.data);
  }

  // One training step's forward and backward through every layer kind, float64.
  const f64 = (a: Arr) => ({ shape: a.shape, data: Float64Array.from(a.data) });
  const conv = cp.convForward(f64(input.x), f64(input.w), f64(input.b), opts);
  const relu = cp.reluForward(conv.y);
  const pool = cp.maxPoolForward(relu.y, { size: 2 });
  const fc = cp.fcForward(pool.y, f64(input.fcW), f64(input.fcB));
  const ce = cp.softmaxCrossEntropy(fc.y, input.labels);
  const dfc = cp.fcBackward(ce.dlogits, fc.cache);
  const dpool = cp.maxPoolBackward(dfc.dx, pool.cache);
  const drelu = cp.reluBackward(dpool, relu.cache);
  const dconv = cp.convBackward(drelu, conv.cache);
  out["chain loss"] = [ce.loss];
  out["chain dlogits"] = Array.from(ce.dlogits.data);
  out["chain fc dw"] = Array.from(dfc.dw.data);
  out["chain conv dw"] = Array.from(dconv.dw.data);
  out["chain conv dx"] = Array.from(dconv.dx.data);
  return out;
}

/** The data-parallel trainer's result, as compared between the page and Deno. */
interface ParallelResult {
  memory: string;
  workers: number;
  isolated: boolean | null;
  losses: number[];
  state: string[];
  testLoss: number;
  ticks: number;
}

/**
 * Data-parallel training through Workers: two workers, four shards, a network with batch norm
 * and dropout, two epochs of a seeded synthetic set, then the parallel evaluation. As
 * {@link compute}, it runs in Deno and as source text in the page, using only its argument.
 * `ticks` counts a timer that fires while training: the page's main thread is not blocked.
 */
async function computeParallel(cp: typeof convprop): Promise<ParallelResult> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  const rng = cp.mulberry32(11);
  const count = 40;
  const set = {
    images: Uint8Array.from({ length: count * 36 }, () => Math.floor(rng() * 256)),
    labels: Uint8Array.from({ length: count }, () => Math.floor(rng() * 3)),
    count,
    height: 6,
    width: 6,
  };
  const spec: convprop.LayerSpec[] = [
    { type: "conv", inChannels: 1, outChannels: 3, size: 3 },
    { type: "batchnorm2d", features: 3 },
    { type: "relu" },
    { type: "maxpool", size: 2 },
    { type: "flatten" },
    { type: "dropout", p: 0.25 },
    { type: "fc", inFeatures: 12, outFeatures: 3 },
  ];
  const dp = await cp.DataParallel.create(spec, { workers: 2, shards: 4, seed: 3 });
  try {
    const optimizer = new cp.Adam(dp.net.params(), { lr: 0.01 });
    const norm = { mean: 0.5, std: 0.29 }, shuffle = cp.mulberry32(5), losses: number[] = [];
    for (let epoch = 0; epoch < 2; epoch++) {
      await dp.trainEpoch(set, {
        batchSize: 8,
        norm,
        rng: shuffle,
        optimizer,
        onBatch: (p) => losses.push(p.loss),
      });
    }
    const ev = await dp.evaluate(set, { norm, classes: 3 });
    const state = [
      ...dp.net.params().map((p) => `${p.name} ${Array.from(p.value.data).join(",")}`),
      ...dp.net.buffers().map((b) => `${b.name} ${Array.from(b.value.data, String).join(",")}`),
    ];
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
    return {
      memory: dp.memory,
      workers: dp.workers,
      isolated: isolated ?? null,
      losses,
      state,
      testLoss: ev.loss,
      ticks,
    };
  } finally {
    clearInterval(timer);
    await dp.close();
  }
}

/** Deterministic inputs: uniform in [-1, 1) from the library's own seeded generator. */
function makeInput(): Input {
  const rng = convprop.mulberry32(2024);
  const arr = (shape: number[]): Arr => ({
    shape,
    data: Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 2 * rng() - 1),
  });
  // x [2,3,7,6], w [4,3,3,2], stride [2,1], padding [1,2] -> y [2,4,4,9]; pool 2 -> [2,4,2,4]
  const stride: [number, number] = [2, 1], padding: [number, number] = [1, 2];
  return {
    x: arr([2, 3, 7, 6]),
    w: arr([4, 3, 3, 2]),
    b: arr([4]),
    dy: arr([2, 4, 4, 9]),
    fcW: arr([5, 32]),
    fcB: arr([5]),
    labels: [1, 3],
    stride,
    padding,
  };
}

const testPage = (prefix: string) =>
  `<!doctype html>
<html><head><meta charset="utf-8"><title>convprop browser check</title></head>
<body><script type="module">
import * as convprop from "${prefix}/${BROWSER_BUNDLE}";
window.convprop = convprop;
document.title = "ready";
</script></body></html>`;

/** The ```html blocks of README.md that load the browser bundle, pointed at the local server. */
function readmePages(): { html: string; line: number }[] {
  const text = Deno.readTextFileSync(join(ROOT, "README.md"));
  const pages = [];
  const url = new RegExp(
    `https?://[^"'\\s]+/${NPM_METADATA.name}(@[^/"'\\s]*)?/${BROWSER_BUNDLE.replace(".", "\\.")}`,
    "g",
  );
  for (const m of text.matchAll(/^```html[^\n]*\n([\s\S]*?)^```/gm)) {
    if (!url.test(m[1])) continue;
    pages.push({
      html: m[1].replace(url, `/${BROWSER_BUNDLE}`),
      line: text.slice(0, m.index).split("\n").length,
    });
  }
  return pages;
}

const MIME: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json",
  ".ts": "text/plain; charset=utf-8",
  ".html": "text/html; charset=utf-8",
};

await main("test:browser", async () => {
  step("bundle");
  let bundle: Uint8Array;
  try {
    bundle = Deno.readFileSync(join(NPM_DIR, BROWSER_BUNDLE));
  } catch {
    fail(`npm/${BROWSER_BUNDLE} is missing: run \`deno task build:npm\` first`);
  }
  console.log(
    `npm/${BROWSER_BUNDLE}: ${kb(bundle.byteLength)} minified, ` +
      `${kb(await gzipSize(bundle))} gzipped`,
  );

  // /isolated/...: the same files with COOP/COEP headers (a cross-origin isolated page, where
  // SharedArrayBuffer exists); everything else is a plain static server without them
  const ISOLATED = "/isolated";
  const pages = new Map<string, string>([
    ["/index.html", testPage("")],
    [`${ISOLATED}/index.html`, testPage(ISOLATED)],
  ]);
  const readme = readmePages();
  readme.forEach((p, i) => pages.set(`/readme-${i}.html`, p.html));
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    let path = new URL(req.url).pathname;
    const isolation: Record<string, string> = {};
    if (path.startsWith(`${ISOLATED}/`)) {
      isolation["cross-origin-opener-policy"] = "same-origin";
      isolation["cross-origin-embedder-policy"] = "require-corp";
    }
    const page = pages.get(path);
    if (page !== undefined) {
      return new Response(page, { headers: { "content-type": MIME[".html"], ...isolation } });
    }
    if (path.startsWith(`${ISOLATED}/`)) path = path.slice(ISOLATED.length);
    const file = normalize(path).replace(/^\/+/, "");
    if (file.startsWith("..")) return new Response("forbidden", { status: 403 });
    try {
      return new Response(Deno.readFileSync(join(NPM_DIR, file)), {
        headers: {
          "content-type": MIME[extname(file)] ?? "application/octet-stream",
          // as a CDN serves it: the cross-origin run below imports the bundle from localhost
          "access-control-allow-origin": "*",
          ...isolation,
        },
      });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  const origin = `http://127.0.0.1:${server.addr.port}`;
  // the same server under another name: another origin, as a CDN is to a page
  const cdn = `http://localhost:${server.addr.port}`;
  pages.set("/cdn.html", testPage(cdn));
  const browser = await launchChromium();
  try {
    step(`Chromium ${browser.version()} (headless, closed network), page at ${origin}`);
    const context = await browser.newContext({ serviceWorkers: "block" });
    const outside: string[] = [];
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(`${origin}/`) || url.startsWith(`${cdn}/`)) return route.continue();
      outside.push(route.request().url());
      return route.abort("blockedbyclient");
    });
    const page = await context.newPage();
    page.setDefaultTimeout(60_000);
    const errors: string[] = [];
    const logs: string[] = [];
    page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`console.error: ${m.text()}`);
      else logs.push(m.text());
    });
    page.on("requestfailed", (r) => errors.push(`request failed: ${r.url()}`));

    await page.goto(`${origin}/index.html`);
    await page.waitForFunction('document.title === "ready"');
    const keys = await page.evaluate("Object.keys(window.convprop).sort()") as string[];
    const denoKeys = Object.keys(convprop).sort();
    if (JSON.stringify(keys) !== JSON.stringify(denoKeys)) {
      fail(`the bundle exports ${keys.join(",")}\nbut mod.ts exports ${denoKeys.join(",")}`);
    }
    console.log(
      `the bundle loads as an ES module and exports the same ${keys.length} names as mod.ts`,
    );

    step("the same calls in Chromium (bundle) and in Deno (sources)");
    const input = makeInput();
    const inBrowser = await page.evaluate(
      `(${compute.toString()})(window.convprop, ${JSON.stringify(input)})`,
    ) as Record<string, number[]>;
    const inDeno = compute(convprop, input);
    for (const tag of ["Float64Array", "Float32Array"]) {
      if (inDeno[`${tag} types`].join() !== "1,1") {
        fail(`${tag} outputs changed array type in Deno`);
      }
    }
    let numbers = 0;
    for (const [name, want] of Object.entries(inDeno)) {
      const got = inBrowser[name];
      if (!got || got.length !== want.length) {
        fail(`${name}: browser gave ${got?.length} numbers, Deno ${want.length}`);
      }
      let worst = 0, at = -1;
      for (let i = 0; i < want.length; i++) {
        if (!Object.is(got[i], want[i])) {
          const d = Math.abs(got[i] - want[i]);
          if (!(d <= worst)) [worst, at] = [d, i];
        }
      }
      if (at >= 0) {
        fail(`${name}[${at}]: browser ${got[at]} vs Deno ${want[at]} (|diff| ${worst})`);
      }
      console.log(`${name.padEnd(28)} ${String(want.length).padStart(4)} numbers, bitwise equal`);
      numbers += want.length;
    }
    if (Object.keys(inBrowser).length !== Object.keys(inDeno).length) fail("result sets differ");
    console.log(
      `${numbers} numbers in ${Object.keys(inDeno).length} arrays: browser = Deno exactly`,
    );

    step("DataParallel in Chromium: two module Workers, without and with cross-origin isolation");
    const inDenoParallel = await computeParallel(convprop);
    const runs: [string, ParallelResult][] = [];
    for (const path of ["/index.html", `${ISOLATED}/index.html`, "/cdn.html"]) {
      await page.goto(`${origin}${path}`);
      await page.waitForFunction('document.title === "ready"');
      runs.push([
        path === "/index.html"
          ? "plain page"
          : path === "/cdn.html"
          ? "plain page, library from another origin (a CDN)"
          : "isolated page",
        await page.evaluate(`(${computeParallel.toString()})(window.convprop)`) as ParallelResult,
      ]);
    }
    const [[, plain], [, isolatedRun], [, fromCdn]] = runs;
    if (fromCdn.memory !== "transfer") fail(`CDN page: memory ${fromCdn.memory}`);
    if (plain.isolated !== false || plain.memory !== "transfer") {
      fail(`plain page: crossOriginIsolated ${plain.isolated}, memory ${plain.memory}`);
    }
    if (isolatedRun.isolated !== true || isolatedRun.memory !== "shared") {
      fail(
        `isolated page: crossOriginIsolated ${isolatedRun.isolated}, memory ${isolatedRun.memory}`,
      );
    }
    for (const [name, r] of runs) {
      if (r.workers !== 2) fail(`${name}: ${r.workers} workers`);
      if (r.ticks === 0) fail(`${name}: a timer never fired while training: the page was blocked`);
      for (const key of ["losses", "state", "testLoss"] as const) {
        if (JSON.stringify(r[key]) !== JSON.stringify(inDenoParallel[key])) {
          fail(`${name}: ${key} differs from Deno's (${inDenoParallel.memory} memory)`);
        }
      }
      console.log(
        `${name}: crossOriginIsolated ${r.isolated}, ${r.memory} memory, 2 workers, ` +
          `${r.losses.length} steps and the evaluation bitwise equal to Deno's; the timer ` +
          `fired ${r.ticks} times during training`,
      );
    }
    if (errors.length > 0) fail(`the browser reported errors:\n${errors.join("\n")}`);

    step("README.md: the browser snippets, with the CDN URL pointed at the local bundle");
    if (readme.length === 0) {
      fail(
        `README.md has no \`\`\`html snippet loading .../${NPM_METADATA.name}@.../${BROWSER_BUNDLE}`,
      );
    }
    for (const [i, p] of readme.entries()) {
      logs.length = 0;
      await page.goto(`${origin}/readme-${i}.html`, { waitUntil: "networkidle" });
      await page.waitForFunction('document.readyState === "complete"');
      // a snippet that trains logs when it is done: give it up to 30 s
      for (let t = 0; t < 300 && logs.length === 0 && errors.length === 0; t++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      if (errors.length > 0) break;
      if (logs.length === 0) fail(`README.md line ${p.line}: the snippet logged nothing`);
      console.log(`README.md line ${p.line}: ran, logged:\n  ${logs.join("\n  ")}`);
    }
    if (errors.length > 0) fail(`the browser reported errors:\n${errors.join("\n")}`);
    if (outside.length > 0) fail(`requests left 127.0.0.1:\n${outside.join("\n")}`);
    console.log("no page errors, no console errors, no request outside 127.0.0.1");
  } finally {
    await browser.close();
    await server.shutdown();
  }
});
