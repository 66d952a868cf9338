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

import { type Browser, chromium, type Page } from "playwright-core";
import * as esbuild from "esbuild";
import { join } from "node:path";
import * as convprop from "../../mod.ts";
import { buildSite, writeSite } from "../playground/build.ts";
import { fromDisk, ROOT, serveStatic } from "../playground/_site.ts";
import { fail, main, step } from "../build/_npm_common.ts";
import { checkTrain } from "./_playground_train.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox", // root in a container: the setuid sandbox is unavailable
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-extensions",
  "--disable-dev-shm-usage",
];
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
  check(ctx: ViewContext): Promise<void>;
}

/**
 * Pages linked from the landing page that are built on another branch and not here yet. A page
 * listed here must be absent (the check fails once it exists, so the list cannot go stale).
 */
const PENDING = new Set([
  "im2col.html", // this branch, next commit
  "step.html", // this branch, next commit
]);

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

/** The views, in the order they are opened. Append a view's entry to check it. */
export const VIEWS: ViewCheck[] = [
  { name: "landing", url: "", ready: false, check: checkLanding },
  { name: "train", url: "train.html", ready: true, check: checkTrain },
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
    if (m.type() === "error") problems.push(`console.error: ${m.text()}`);
  });
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
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
  const { server, origin } = serveStatic(fromDisk(dir), 0);
  try {
    Deno.statSync(CHROMIUM);
  } catch {
    fail(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 60_000,
  });
  Deno.mkdirSync(SHOTS, { recursive: true });
  try {
    step(`Chromium ${browser.version()} (headless, closed network), site at ${origin}`);
    for (const view of VIEWS) {
      step(`${view.name}: /${view.url}`);
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

// The library is imported for the views' checks (they compute the expected numbers in Deno).
void convprop;
