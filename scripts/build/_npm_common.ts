// Shared by the npm build (scripts/build/npm.ts) and its checks (scripts/check/node.ts,
// scripts/check/npm_package.ts, scripts/check/browser.ts): where things are, what deno.json says,
// the npm-only metadata, and small helpers that make every failure loud.

import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (the folder holding deno.json). */
export const ROOT: string = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
/** The generated npm package (git-ignored; deleted and rewritten by every build). */
export const NPM_DIR: string = join(ROOT, "npm");
/** The single-file browser bundle inside the npm package. */
export const BROWSER_BUNDLE = "browser/convprop.min.js";

/**
 * Worker modules: started by the library with `new URL("./<name>.js", import.meta.url)`, never
 * imported, so no entry point's module graph reaches them. The npm build ships each (and what it
 * imports) in esm/ and script/ at its source path, and bundles it next to the browser bundle as
 * browser/<name>.js, where the bundle's `import.meta.url` finds it.
 */
export const WORKER_MODULES: readonly string[] = ["training/parallel_worker.ts"];

/**
 * What npm needs and deno.json has no field for. Version, description and license come from
 * deno.json, so a release bumps one file.
 */
export const NPM_METADATA = {
  name: "convprop",
  repository: "https://github.com/convprop/convprop",
  keywords: [
    "cnn",
    "convolution",
    "convolutional-neural-network",
    "backpropagation",
    "im2col",
    "col2im",
    "gemm",
    "deep-learning",
    "neural-network",
    "education",
    "deno",
    "typescript",
  ],
  // Tested on Node 20 by `deno task test:node` and `deno task test:npm`.
  engines: { node: ">=20" },
} as const;

/** The fields of deno.json the build reads. */
export interface DenoConfig {
  name: string;
  version: string;
  description: string;
  license: string;
  exports: Record<string, string>;
  imports: Record<string, string>;
  test?: { exclude?: string[] };
}

/** One public entry point: its subpath ("." or "./layers") and its source file relative to ROOT. */
export interface EntryPoint {
  subpath: string;
  source: string;
}

/** An error that names what broke; caught by {@linkcode main} and printed without a stack. */
export class StepError extends Error {
  override name = "StepError";
}

/** Throws a {@linkcode StepError}. */
export function fail(message: string): never {
  throw new StepError(message);
}

/** Reads and validates deno.json. */
export function readDenoConfig(): DenoConfig {
  const raw = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  for (const key of ["name", "version", "description", "license"]) {
    if (typeof raw[key] !== "string" || raw[key] === "") {
      fail(`deno.json: "${key}" must be a non-empty string (the npm package.json copies it)`);
    }
  }
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(raw.version)) {
    fail(`deno.json: version "${raw.version}" is not semver`);
  }
  const exports = typeof raw.exports === "string" ? { ".": raw.exports } : raw.exports;
  if (exports === null || typeof exports !== "object" || !("." in exports)) {
    fail(`deno.json: "exports" must name the "." entry point`);
  }
  return { ...raw, exports, imports: raw.imports ?? {} };
}

/** The public entry points of deno.json "exports", "." first. */
export function entryPoints(config: DenoConfig): EntryPoint[] {
  return Object.entries(config.exports)
    .map(([subpath, file]) => {
      if (subpath !== "." && !subpath.startsWith("./")) {
        fail(`deno.json exports: subpath "${subpath}" must be "." or start with "./"`);
      }
      if (!/\.(ts|js|mts|mjs)$/.test(file)) {
        fail(`deno.json exports: "${subpath}" -> "${file}" is not a module`);
      }
      return { subpath, source: relative(ROOT, join(ROOT, file)).split(sep).join("/") };
    })
    .sort((
      a,
      b,
    ) => (a.subpath === "." ? -1 : b.subpath === "." ? 1 : a.subpath < b.subpath ? -1 : 1));
}

/** "kernels/gemm.ts" -> "kernels/gemm.js" (and .mts -> .mjs). */
export function jsPath(source: string): string {
  return source.replace(/\.m?ts$/, (ext) => (ext === ".mts" ? ".mjs" : ".js"));
}

/** "kernels/gemm.ts" -> "kernels/gemm.d.ts". */
export function dtsPath(source: string): string {
  return source.replace(/\.m?ts$/, (ext) => (ext === ".mts" ? ".d.mts" : ".d.ts"));
}

/** Prints a step header, so a red run says where it broke. */
export function step(title: string): void {
  console.log(`\n--- ${title}`);
}

/** Runs a command with inherited output; throws naming the command when it exits non-zero. */
export async function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<void> {
  const status = await new Deno.Command(cmd, {
    args,
    cwd: options.cwd ?? ROOT,
    env: options.env,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (!status.success) {
    fail(`\`${[cmd, ...args].join(" ")}\` (in ${options.cwd ?? ROOT}) exited with ${status.code}`);
  }
}

/** Runs a command and returns its stdout; throws with its stderr when it exits non-zero. */
export async function output(
  cmd: string,
  args: string[],
  options: { cwd?: string } = {},
): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: options.cwd ?? ROOT,
    env: { NO_COLOR: "1" }, // plain text to parse
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    fail(
      `\`${[cmd, ...args].join(" ")}\` exited with ${out.code}:\n` +
        new TextDecoder().decode(out.stderr) + text,
    );
  }
  return text;
}

/** A tool installed by `npm ci` in node_modules/.bin (esbuild, tsc, ...). */
export function bin(name: string): string {
  const path = join(ROOT, "node_modules", ".bin", name);
  try {
    Deno.statSync(path);
  } catch {
    fail(`${path} is missing: run \`npm ci\` in ${ROOT} first`);
  }
  return path;
}

/** Every file under `dir`, as paths relative to it with "/" separators, sorted. */
export function walkFiles(dir: string, skip: (rel: string) => boolean = () => false): string[] {
  const files: string[] = [];
  function visit(rel: string): void {
    for (const entry of Deno.readDirSync(join(dir, rel))) {
      const child = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (skip(child)) continue;
      if (entry.isDirectory) visit(child);
      else if (entry.isFile) files.push(child);
    }
  }
  visit("");
  return files.sort();
}

/** Bytes of `data` after gzip at the default level, as a CDN would serve it. */
export async function gzipSize(data: Uint8Array): Promise<number> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return (await new Response(stream).arrayBuffer()).byteLength;
}

/** 12345 -> "12.1 kB" (1 kB = 1024 bytes, as npm pack prints). */
export function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} kB`;
}

/** Runs `body`, printing a StepError's message (or any error) and exiting 1 on failure. */
export async function main(name: string, body: () => Promise<void>): Promise<void> {
  const start = performance.now();
  try {
    await body();
  } catch (error) {
    console.error(`\n${name} FAILED: ${error instanceof StepError ? error.message : error}`);
    if (!(error instanceof StepError) && error instanceof Error) console.error(error.stack);
    Deno.exit(1);
  }
  console.log(`\n${name}: ok (${((performance.now() - start) / 1000).toFixed(1)} s)`);
}
