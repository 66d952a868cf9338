// Builds the playground (playground/*.html, *.css, *.ts) into a static site: every entry module
// (playground/<name>.ts not starting with "_") bundled by esbuild into <name>.js (ES modules,
// shared code split into chunks/), the pages and style sheets copied, and the data files of
// scripts/playground/data.ts (the reference sources the step-through view shows, ...) written
// beside them. The result needs no special headers: any static host serves it.
// Run: deno task build:site [--out DIR]      (default site/, git-ignored; emptied first)
// deno task playground serves the same files from memory (scripts/playground/serve.ts).

import * as esbuild from "esbuild";
import { dirname, join } from "node:path";
import { parseFlags, pathFlag, UsageError } from "../_cli.ts";
import { siteData } from "./data.ts";
import { PLAYGROUND, ROOT } from "./_site.ts";

/** The entry modules: playground/*.ts whose names do not start with "_" (those are shared). */
export function entryModules(): string[] {
  return [...Deno.readDirSync(PLAYGROUND)]
    .filter((e) => e.isFile && e.name.endsWith(".ts") && !e.name.startsWith("_"))
    .map((e) => e.name)
    .sort();
}

/** For each bundled module, the modules it imports statically (filled by buildSite). */
const staticImports = new Map<string, string[]>();

/**
 * What each entry module makes the browser download before it runs: itself and the chunks it
 * imports, raw and gzipped (source maps excluded: only developer tools fetch them).
 */
export async function entrySizes(
  files: Map<string, Uint8Array>,
): Promise<{ entry: string; bytes: number; gzip: number }[]> {
  const out = [];
  for (const name of entryModules()) {
    const entry = name.replace(/\.ts$/, ".js"), seen = new Set<string>();
    const visit = (m: string): void => {
      if (seen.has(m)) return;
      seen.add(m);
      for (const i of staticImports.get(m) ?? []) visit(i);
    };
    visit(entry);
    let bytes = 0, gzip = 0;
    for (const m of seen) {
      const b = files.get(m)!;
      bytes += b.byteLength;
      const stream = new Blob([b as Uint8Array<ArrayBuffer>]).stream()
        .pipeThrough(new CompressionStream("gzip"));
      gzip += (await new Response(stream).arrayBuffer()).byteLength;
    }
    out.push({ entry, bytes, gzip });
  }
  return out;
}

/**
 * The whole site in memory: site-relative path ("im2col.js", "chunks/x-HASH.js",
 * "src/layers/conv.ts", ...) → bytes.
 *
 * @throws {Error} If esbuild reports an error or a warning, or two sources claim one path.
 */
export async function buildSite(): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const add = (path: string, bytes: Uint8Array): void => {
    if (files.has(path)) throw new Error(`build:site: two sources write ${path}`);
    files.set(path, bytes);
  };
  const result = await esbuild.build({
    entryPoints: entryModules().map((f) => join(PLAYGROUND, f)),
    outdir: "/site", // virtual: write is false
    entryNames: "[name]",
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: "linked",
    sourcesContent: true,
    charset: "utf8",
    write: false,
    metafile: true,
    logLevel: "silent",
    absWorkingDir: ROOT,
  });
  if (result.warnings.length > 0) {
    const text = await esbuild.formatMessages(result.warnings, { kind: "warning" });
    throw new Error(`build:site: esbuild warned; the build must be clean:\n${text.join("\n")}`);
  }
  for (const out of result.outputFiles) add(out.path.replace(/^\/site\//, ""), out.contents);
  // each entry's static imports (its chunks), for the sizes build:site prints; the metafile
  // names outputs relative to absWorkingDir ("../../site/chunks/x.js")
  const rel = (p: string): string => p.replace(/^(\.\.\/)*site\//, "");
  for (const [path, out] of Object.entries(result.metafile.outputs)) {
    if (!path.endsWith(".js")) continue;
    const imports = out.imports.filter((i) => i.kind === "import-statement").map((i) => i.path);
    staticImports.set(rel(path), imports.map(rel));
  }
  for (const e of Deno.readDirSync(PLAYGROUND)) {
    if (e.isFile && /\.(html|css)$/.test(e.name)) {
      add(e.name, Deno.readFileSync(join(PLAYGROUND, e.name)));
    }
  }
  for (const [path, bytes] of await siteData()) add(path, bytes);
  return files;
}

/** The file that marks a folder as a site this script wrote, so that it may empty it. */
const MARKER = ".convprop-site";

/**
 * Writes `files` under `dir`. A previous build there is removed first; any other non-empty
 * folder is refused (a mistyped --out must not delete someone's files).
 *
 * @throws {Error} If `dir` exists, is not empty and was not written by this script.
 */
export function writeSite(dir: string, files: Map<string, Uint8Array>): void {
  let entries: string[] = [];
  try {
    entries = [...Deno.readDirSync(dir)].map((e) => e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (entries.length > 0) {
    if (!entries.includes(MARKER)) {
      throw new Error(`${dir} is not empty and is not a site built here: refusing to replace it`);
    }
    Deno.removeSync(dir, { recursive: true });
  }
  Deno.mkdirSync(dir, { recursive: true });
  Deno.writeTextFileSync(join(dir, MARKER), "written by scripts/playground/build.ts\n");
  for (const [path, bytes] of files) {
    Deno.mkdirSync(dirname(join(dir, path)), { recursive: true });
    Deno.writeFileSync(join(dir, path), bytes);
  }
}

if (import.meta.main) {
  const USAGE = "usage: deno task build:site [--out DIR]   (default site/)";
  try {
    const values = parseFlags(Deno.args, { out: { type: "string" }, help: { type: "boolean" } });
    if (values.help) {
      console.log(USAGE);
      Deno.exit(0);
    }
    const out = pathFlag("out", values.out, join(ROOT, "site"));
    const start = performance.now();
    const files = await buildSite();
    await esbuild.stop();
    writeSite(out, files);
    const bytes = [...files.values()].reduce((s, b) => s + b.byteLength, 0);
    console.log(
      `build:site: ${files.size} files, ${(bytes / 1024).toFixed(1)} kB in ${out} ` +
        `(${((performance.now() - start) / 1000).toFixed(1)} s)`,
    );
    for (const e of await entrySizes(files)) {
      console.log(
        `  ${e.entry}: ${(e.bytes / 1024).toFixed(1)} kB of JavaScript with its chunks, ` +
          `${(e.gzip / 1024).toFixed(1)} kB gzipped`,
      );
    }
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`build:site: ${e.message}\n${USAGE}`);
      Deno.exit(2);
    }
    console.error(`build:site FAILED: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
