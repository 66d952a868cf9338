// The test suite on Node against the built JavaScript, as dnt does: every test module and every
// doc example that `deno test --doc` runs, bundled by esbuild with the library's own modules left
// external and pointed at npm/esm (ES modules) and then at npm/script (CommonJS), and run by Node's
// test runner. Run after `deno task build:npm`: deno task test:node
//
// - Deno.test comes from scripts/check/_node_deno_shim.ts (@deno/shim-deno-test + node:test), injected
//   into every bundle; "@std/assert" and other npm: imports resolve through deno.json "imports" to
//   the same packages in node_modules (their versions must match). ES-module-only packages are
//   bundled; the others stay external and load from node_modules.
// - import.meta.url/filename/dirname in test code are replaced by the original file's, so fixture
//   paths resolve as under Deno; JSON imports are bundled.
// - Doc examples (```ts blocks in JSDoc and in Markdown files) are wrapped in Deno.test with their
//   imports hoisted, as `deno test --doc` does; `ignore` blocks are left out, as Deno does.
// - The number of tests Node runs must equal the number Deno finds (`deno test --doc` with a filter
//   that matches nothing, which counts them all), less the explicitly skipped ones below.

import * as esbuild from "esbuild";
import ts from "typescript";
import { dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { builtinModules } from "node:module";
import {
  fail,
  jsPath,
  main,
  NPM_DIR,
  output,
  readDenoConfig,
  ROOT,
  step,
  walkFiles,
} from "../build/_npm_common.ts";

/**
 * Test modules and doc examples that cannot run on Node, with the reason. Keep it empty unless a
 * test truly needs Deno (Deno.Command, permissions, ...): anything listed here is only tested by
 * `deno task test`.
 */
const SKIP: Record<string, string> = {
  "tests/cli_test.ts": "runs the Deno-only command lines (Deno.Command, Deno's permissions, file " +
    "locks); the library they call is tested on Node by tests/reliability_test.ts",
  "tests/exercise_test.ts": "grades exercise files written at run time (TypeScript imported by " +
    "Deno) and spawns `deno task exercise`; the library it grades against is tested on Node by " +
    "every other module",
  "tests/playground_test.ts": "tests the site's build and file writing (Deno's file API, esbuild " +
    "driven from Deno); the pages themselves run in Chromium in `deno task test:playground`",
  "playground/_trainer_test.ts":
    "the playground's worker is started as a Deno module Worker over " +
    "files it writes with Deno's API; the page runs it in Chromium in `deno task test:playground`, " +
    "and the library it calls is tested on Node by every other module",
};

const TEST_FILE = /(^|\/)([^/]*[_.])?test\.(ts|tsx|mts|js|mjs|jsx)$/;
const CODE_FILE = /\.(ts|tsx|mts|js|mjs|jsx)$/;
const DOC_LANGS = new Set(["ts", "typescript", "mts", "tsx", "js", "javascript", "mjs", "jsx"]);
const FORMATS = [
  { name: "esm", dir: "esm", ext: ".mjs", format: "esm" },
  { name: "cjs", dir: "script", ext: ".cjs", format: "cjs" },
] as const;

interface DocBlock {
  /** "layers/conv.ts#45-60", as Deno names it. */
  id: string;
  file: string;
  code: string;
}

/** A glob from deno.json "exclude" as a test on a relative path. */
function excluder(patterns: string[]): (rel: string) => boolean {
  const tests = patterns.map((p) => {
    const clean = p.replace(/^\.\//, "").replace(/\/$/, "");
    if (!/[*?[]/.test(clean)) return (rel: string) => rel === clean || rel.startsWith(`${clean}/`);
    const re = new RegExp(
      "^" + clean.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*\*\//g, "(.*/)?")
        .replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]") +
        "$",
    );
    return (rel: string) => re.test(rel);
  });
  return (rel) => tests.some((t) => t(rel));
}

/** Fenced code blocks of `text` (a Markdown file, or a JSDoc comment with its stars removed). */
function fencedBlocks(
  text: string,
  firstLine: number,
): { line: number; end: number; code: string }[] {
  const blocks = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i].match(/^\s*(`{3,}|~{3,})\s*([\w-]*)([^`]*)$/);
    if (!open) continue;
    const fence = open[1], lang = open[2].toLowerCase(), attrs = open[3].trim().split(/\s+/);
    let j = i + 1;
    while (j < lines.length && !lines[j].trim().startsWith(fence)) j++;
    if (DOC_LANGS.has(lang) && !attrs.includes("ignore")) {
      blocks.push({
        line: firstLine + i,
        end: firstLine + j + 1,
        code: lines.slice(i + 1, j).join("\n"),
      });
    }
    i = j;
  }
  return blocks;
}

/** The doc examples `deno test --doc` runs from one file. */
function docBlocks(file: string): DocBlock[] {
  const text = Deno.readTextFileSync(join(ROOT, file));
  const found: { line: number; end: number; code: string }[] = [];
  if (file.endsWith(".md")) {
    found.push(...fencedBlocks(text, 1));
  } else {
    for (const m of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
      const line = text.slice(0, m.index).split("\n").length;
      const body = m[0].slice(3, -2).split("\n").map((l) => l.replace(/^\s*\* ?/, "")).join("\n");
      found.push(...fencedBlocks(body, line));
    }
  }
  return found.map((b) => ({ id: `${file}#${b.line}-${b.end}`, file, code: b.code }));
}

/** A doc example as a test module: imports hoisted, the rest inside Deno.test. */
function docModule(block: DocBlock): string {
  const sf = ts.createSourceFile("example.ts", block.code, ts.ScriptTarget.ES2022, true);
  const imports: string[] = [], body: string[] = [];
  for (const s of sf.statements) {
    (ts.isImportDeclaration(s) ? imports : body).push(s.getFullText(sf));
  }
  return `${imports.join("")}\nDeno.test(${JSON.stringify(block.id)}, async () => {${
    body.join("")
  }\n});\n`;
}

/** "npm:deno-std@1.4.0/assert/mod.js" -> "deno-std/assert/mod.js", checking node_modules' version. */
function npmSpecifier(spec: string): string {
  const m = spec.match(/^npm:\/?((?:@[^/@]+\/)?[^/@]+)(?:@([^/]+))?(\/.*)?$/);
  if (!m) fail(`cannot map ${spec} to node_modules`);
  const [, name, version, sub] = m;
  let installed: string;
  try {
    installed = JSON.parse(
      Deno.readTextFileSync(join(ROOT, "node_modules", name, "package.json")),
    ).version;
  } catch {
    fail(`${spec}: node_modules/${name} is missing; add it to package.json devDependencies`);
  }
  if (version && installed !== version && !/[\^~<>=*x ]/.test(version)) {
    fail(`${spec}: node_modules has ${name}@${installed}; pin the same version in package.json`);
  }
  return `${name}${sub ?? ""}`;
}

const RESOLVING = Symbol("resolving");

/** How test code sees the library and Deno's import map. */
function nodeTestPlugin(
  library: Set<string>,
  outDir: string,
  imports: Record<string, string>,
  docs: Map<string, DocBlock[]>,
  fromSource: Set<string>,
): esbuild.Plugin {
  return {
    name: "convprop-node-tests",
    setup(build) {
      // Doc examples of one file: a virtual module importing one virtual module per example.
      build.onResolve({ filter: /^doc-tests:/ }, (args) => ({ path: args.path, namespace: "doc" }));
      build.onResolve({ filter: /^doc-block:/ }, (args) => ({ path: args.path, namespace: "doc" }));
      build.onLoad({ filter: /.*/, namespace: "doc" }, (args) => {
        if (args.path.startsWith("doc-tests:")) {
          const blocks = docs.get(args.path.slice("doc-tests:".length)) ?? [];
          return {
            contents: blocks.map((b) => `import ${JSON.stringify(`doc-block:${b.id}`)};`).join(
              "\n",
            ),
            loader: "js",
          };
        }
        const id = args.path.slice("doc-block:".length);
        const block = [...docs.values()].flat().find((b) => b.id === id);
        if (!block) return { errors: [{ text: `no doc block ${id}` }] };
        return {
          contents: docModule(block),
          loader: "ts",
          resolveDir: dirname(join(ROOT, block.file)),
        };
      });
      // The library: the built JavaScript, not the sources.
      build.onResolve({ filter: /^\.\.?\// }, (args) => {
        const abs = resolve(args.resolveDir, args.path);
        const rel = relative(ROOT, abs).split("\\").join("/");
        if (library.has(rel)) return { path: join(outDir, jsPath(rel)), external: true };
        if (!rel.startsWith("..") && !rel.startsWith("node_modules/") && CODE_FILE.test(rel)) {
          if (!rel.startsWith("tests/") && !TEST_FILE.test(rel)) fromSource.add(rel);
        }
        return undefined;
      });
      // deno.json "imports" and npm: specifiers -> node_modules. An ES-module-only package (deno-std)
      // is bundled, so the CommonJS bundles can use it on Node 20; any other package stays external
      // and Node loads it from node_modules as it is (its own require, __dirname, data files).
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === RESOLVING) return undefined;
        let spec = args.path;
        for (const [key, target] of Object.entries(imports)) {
          if (spec === key) spec = target;
          else if (key.endsWith("/") && spec.startsWith(key)) {
            spec = target + spec.slice(key.length);
          }
        }
        if (/^(jsr:|https?:)/.test(spec)) {
          return { errors: [{ text: `${spec}: JSR and URL imports cannot run on Node here` }] };
        }
        if (spec.startsWith("node:") || builtinModules.includes(spec.split("/")[0])) {
          return undefined; // platform "node": external
        }
        const bare = spec.startsWith("npm:") ? npmSpecifier(spec) : spec;
        const name = bare.match(/^(@[^/]+\/)?[^/]+/)![0];
        let type: string | undefined;
        try {
          type = JSON.parse(
            Deno.readTextFileSync(join(ROOT, "node_modules", name, "package.json")),
          ).type;
        } catch {
          return { errors: [{ text: `${spec}: node_modules/${name} is missing (npm ci?)` }] };
        }
        if (type !== "module") return { path: bare, external: true };
        const result = await build.resolve(bare, {
          kind: args.kind,
          resolveDir: ROOT,
          pluginData: RESOLVING,
        });
        return result.errors.length > 0 ? { errors: result.errors } : { path: result.path };
      });
      // import.meta of test code means the original file, not the bundle.
      build.onLoad({ filter: /\.(ts|mts|tsx|js|mjs|jsx)$/ }, (args) => {
        if (args.path.includes("/node_modules/") || args.path.startsWith(NPM_DIR)) return undefined;
        const text = Deno.readTextFileSync(args.path);
        if (!text.includes("import.meta")) return undefined;
        const contents = text
          .replaceAll("import.meta.url", JSON.stringify(pathToFileURL(args.path).href))
          .replaceAll("import.meta.filename", JSON.stringify(args.path))
          .replaceAll("import.meta.dirname", JSON.stringify(dirname(args.path)))
          .replaceAll("import.meta.main", "false");
        if (contents.includes("import.meta")) {
          return {
            errors: [{ text: `${args.path}: an import.meta use the Node shim cannot map` }],
          };
        }
        const loader = args.path.match(/\.(\w+)$/)![1].replace(/^m/, "") as esbuild.Loader;
        return { contents, loader };
      });
    },
  };
}

/** The number of tests `deno test --doc` finds (all of them "filtered out" by a no-match filter). */
async function denoTestCount(files: readonly string[] = []): Promise<number> {
  const text = await output(Deno.execPath(), [
    "test",
    "--doc",
    "--no-check",
    "--allow-all", // loading a module runs its top level, whatever that needs
    "--filter",
    "/^no test is named this$/",
    ...files,
  ]);
  const m = text.match(/(\d+) filtered out/);
  if (!m) fail(`could not read Deno's test count from:\n${text}`);
  return Number(m[1]);
}

/** Top-level results in Node's TAP output (steps are subtests and are not counted). */
function tapTotals(tap: string): { pass: number; fail: number; skip: number } {
  const totals = { pass: 0, fail: 0, skip: 0 };
  for (const line of tap.split("\n")) {
    const m = line.match(/^(not )?ok \d+ - .*?(# SKIP.*)?$/);
    if (!m) continue;
    if (m[2]) totals.skip++;
    else if (m[1]) totals.fail++;
    else totals.pass++;
  }
  return totals;
}

await main("test:node", async () => {
  const config = readDenoConfig();
  try {
    Deno.statSync(join(NPM_DIR, "esm", "mod.js"));
  } catch {
    fail("npm/ is not built: run `deno task build:npm` first");
  }
  step("library: the built modules in npm/ must match the sources");
  const library = new Set(walkFiles(join(NPM_DIR, "src")));
  for (const m of library) {
    const a = Deno.readTextFileSync(join(NPM_DIR, "src", m));
    let b: string | undefined;
    try {
      b = Deno.readTextFileSync(join(ROOT, m));
    } catch { /* reported below */ }
    if (a !== b) fail(`npm/src/${m} differs from ${m}: npm/ is stale, run \`deno task build:npm\``);
  }
  console.log(`${library.size} modules, up to date`);

  step("discover tests as `deno test --doc` does");
  const raw = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  const excluded = excluder([
    ...(raw.exclude ?? []),
    ...(raw.test?.exclude ?? []),
    "node_modules",
    "npm",
  ]);
  const files = walkFiles(ROOT, (rel) => rel.split("/").pop()!.startsWith(".") || excluded(rel));
  const testFiles = files.filter((f) => TEST_FILE.test(f) && !(f in SKIP));
  const docs = new Map<string, DocBlock[]>();
  let skippedDocs = 0;
  for (const f of files) {
    if (!CODE_FILE.test(f) && !f.endsWith(".md")) continue;
    const blocks = docBlocks(f).filter((b) => !(b.id in SKIP));
    skippedDocs += docBlocks(f).length - blocks.length;
    if (blocks.length > 0) docs.set(f, blocks);
  }
  const docCount = [...docs.values()].reduce((s, b) => s + b.length, 0);
  console.log(`${testFiles.length} test modules: ${testFiles.join(" ")}`);
  console.log(`${docCount} doc examples in ${docs.size} files: ${[...docs.keys()].join(" ")}`);
  const skipped = Object.entries(SKIP);
  console.log(
    skipped.length === 0
      ? "skipped on Node: none"
      : `skipped on Node:\n${skipped.map(([k, why]) => `  ${k}: ${why}`).join("\n")}`,
  );

  const nodeVersion = (await output("node", ["--version"])).trim();
  if (Number(nodeVersion.match(/^v(\d+)/)?.[1]) < 20) fail(`Node ${nodeVersion}: need 20 or later`);
  // Inside node_modules (git-ignored, and skipped by Deno): Node resolves the external packages of
  // the bundles from the project's node_modules, as it would for the package's own tests.
  // One directory per process: node_modules may be shared by several checkouts (a symlink), and
  // two runs at once must not delete each other's bundles.
  const tmp = join(ROOT, "node_modules", ".cache", `convprop-node-tests-${Deno.pid}`);
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  Deno.mkdirSync(tmp, { recursive: true });
  const outFiles = (name: string) => walkFiles(join(tmp, name)).map((p) => join(tmp, name, p));
  const shim = join(ROOT, "scripts", "check", "_node_deno_shim.ts");
  const fromSource = new Set<string>();
  let expected: Promise<number> | number = denoTestCount(); // runs while we bundle
  // a skipped test module stands for all its tests, a skipped doc example for one
  const skippedModules = Object.keys(SKIP).filter((k) => TEST_FILE.test(k));
  let skippedTests: Promise<number> | number = skippedModules.length === 0
    ? 0
    : denoTestCount(skippedModules);
  try {
    for (const f of FORMATS) {
      step(`bundle for Node (${f.name}): library -> npm/${f.dir}`);
      const entryPoints = [
        ...testFiles.map((t) => ({ in: join(ROOT, t), out: t.replace(/\.\w+$/, "") })),
        ...[...docs.keys()].map((d) => ({ in: `doc-tests:${d}`, out: `doc/${d}` })),
      ];
      const result = await esbuild.build({
        entryPoints,
        outdir: join(tmp, f.name),
        outExtension: { ".js": f.ext },
        bundle: true,
        format: f.format,
        platform: "node",
        target: "node20",
        inject: [shim],
        sourcemap: "inline",
        plugins: [nodeTestPlugin(library, join(NPM_DIR, f.dir), config.imports, docs, fromSource)],
        logLevel: "silent",
      }).catch((e) => fail(`esbuild (${f.name}) failed:\n${e.message}`));
      if (result.warnings.length > 0) {
        const text = await esbuild.formatMessages(result.warnings, { kind: "warning" });
        fail(`esbuild (${f.name}) warned:\n${text.join("\n")}`);
      }
      if (fromSource.size > 0) {
        console.log(`bundled from source (not in the npm package): ${[...fromSource].join(" ")}`);
      }

      step(`node ${nodeVersion} --test (${f.name}, ${outFiles(f.name).length} files)`);
      const tap = join(tmp, `${f.name}.tap`);
      const status = await new Deno.Command("node", {
        args: [
          "--test",
          "--enable-source-maps",
          "--test-reporter=spec",
          "--test-reporter-destination=stdout",
          "--test-reporter=tap",
          `--test-reporter-destination=${tap}`,
          ...outFiles(f.name),
        ],
        cwd: ROOT,
        stdin: "null",
      }).spawn().status;
      const totals = tapTotals(Deno.readTextFileSync(tap));
      expected = await expected;
      skippedTests = await skippedTests;
      const notRun = skippedTests + skippedDocs;
      const want = expected - notRun;
      const ran = totals.pass + totals.fail + totals.skip;
      console.log(
        `node (${f.name}): ${totals.pass} passed, ${totals.fail} failed, ${totals.skip} skipped ` +
          `(Deno finds ${expected} tests; ${notRun} not run on Node)`,
      );
      if (!status.success || totals.fail > 0) fail(`node --test (${f.name}) failed`);
      if (ran !== want) {
        fail(`node --test (${f.name}) ran ${ran} tests, but Deno has ${want} that should run`);
      }
    }
  } finally {
    await esbuild.stop();
    await Deno.remove(tmp, { recursive: true });
  }
});
