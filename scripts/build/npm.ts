// Builds the npm package in npm/ from the same sources JSR publishes: what dnt would give, made
// with esbuild (JavaScript) and the TypeScript compiler API (declarations), because dnt itself is
// published only on JSR. Run: deno task build:npm
//
// npm/
//   package.json        generated from deno.json (version, description, license, exports) plus
//                       the npm-only fields in scripts/build/_npm_common.ts
//   src/                the TypeScript sources, copied verbatim: what the source maps and
//                       declaration maps point at, so "go to definition" lands on commented code
//   esm/                ES modules, one per source module, .ts specifiers rewritten to .js,
//                       source maps, and .d.ts declarations with the JSDoc kept
//   script/             the same as CommonJS (script/package.json says "type": "commonjs"), with
//                       its own copy of the declarations so TypeScript reads them as CommonJS
//   browser/convprop.min.js   the "." entry point as one minified ES module, for <script type=module>
//   README.md, LICENSE  copied from the repository root
//
// The files come from the module graph of deno.json "exports" (deno info), so a module that no
// entry point reaches is not shipped, and an import of anything outside the repository (npm:,
// jsr:, https:) stops the build: the runtime code has zero dependencies.

import * as esbuild from "esbuild";
import ts from "typescript";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  BROWSER_BUNDLE,
  type DenoConfig,
  dtsPath,
  entryPoints,
  fail,
  gzipSize,
  jsPath,
  kb,
  main,
  NPM_DIR,
  NPM_METADATA,
  output,
  readDenoConfig,
  ROOT,
  step,
  walkFiles,
  WORKER_MODULES,
} from "./_npm_common.ts";

const SRC = join(NPM_DIR, "src");
const TARGET = "es2022";

interface GraphModule {
  specifier: string;
  error?: string;
  mediaType?: string;
  dependencies?: {
    specifier: string;
    code?: { specifier?: string };
    type?: { specifier?: string };
  }[];
}

/** The repository files reachable from the entry points, relative to ROOT, sorted. */
async function moduleGraph(entries: string[]): Promise<string[]> {
  const files = new Set<string>();
  for (const entry of entries) {
    const info = JSON.parse(
      await output(Deno.execPath(), ["info", "--json", join(ROOT, entry)]),
    ) as { modules: GraphModule[] };
    for (const m of info.modules) {
      if (m.error) fail(`module graph of ${entry}: ${m.specifier}: ${m.error}`);
      if (!m.specifier.startsWith("file://")) {
        fail(`${entry} reaches ${m.specifier}: the runtime code must have no dependencies`);
      }
      const file = relative(ROOT, fileURLToPath(m.specifier)).split("\\").join("/");
      if (file.startsWith("..") || file.startsWith("node_modules/")) {
        fail(`${entry} reaches ${file}, outside the repository sources`);
      }
      if (m.mediaType !== "TypeScript") {
        fail(`${file}: only TypeScript modules are supported by the npm build (${m.mediaType})`);
      }
      for (const dep of m.dependencies ?? []) {
        const target = dep.code?.specifier ?? dep.type?.specifier ?? dep.specifier;
        if (!target.startsWith("file://")) {
          fail(`${file} imports "${dep.specifier}" (${target}): runtime code has no dependencies`);
        }
      }
      files.add(file);
    }
  }
  return [...files].sort();
}

/** esbuild plugin: keep each module separate; "./x.ts" -> "./x.js", checked against the graph. */
function relativeImportsExternal(modules: Set<string>): esbuild.Plugin {
  return {
    name: "relative-imports-external",
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === "entry-point") return undefined;
        if (!args.path.startsWith("./") && !args.path.startsWith("../")) {
          return {
            errors: [{ text: `"${args.path}": runtime code may import only its own modules` }],
          };
        }
        const target = relative(SRC, resolve(args.resolveDir, args.path)).split("\\").join("/");
        if (!modules.has(target)) {
          return {
            errors: [{ text: `"${args.path}" resolves to ${target}, not in the module graph` }],
          };
        }
        return { path: jsPath(args.path), external: true };
      });
    },
  };
}

async function emitJavaScript(modules: string[], format: "esm" | "cjs"): Promise<void> {
  const outdir = join(NPM_DIR, format === "esm" ? "esm" : "script");
  const result = await esbuild.build({
    entryPoints: modules.map((m) => join(SRC, m)),
    outbase: SRC,
    absWorkingDir: SRC, // esbuild's "// path" comments then read "// kernels/gemm.ts"
    outdir,
    outExtension: { ".js": ".js" },
    bundle: true, // with every import external: one output per module, structure preserved
    plugins: [relativeImportsExternal(new Set(modules))],
    format,
    platform: "neutral",
    target: TARGET,
    sourcemap: "linked",
    sourcesContent: false, // the maps point at ../src, which the package ships
    charset: "utf8",
    // CommonJS has no import.meta: a module that locates a file next to itself (the worker
    // module, training/parallel.ts) sees import.meta.url undefined and uses __filename instead
    define: format === "cjs" ? { "import.meta.url": "undefined" } : {},
    logLevel: "silent",
  });
  if (result.warnings.length > 0) {
    const text = await esbuild.formatMessages(result.warnings, { kind: "warning" });
    fail(`esbuild (${format}) warned; the build must be clean:\n${text.join("\n")}`);
  }
  for (const m of modules) Deno.statSync(join(outdir, jsPath(m))); // every module has its output
}

/** The exported names of each entry point, to rewrite doc examples to the package's name. */
function entryExports(program: ts.Program, config: DenoConfig): Map<string, Set<string>> {
  const checker = program.getTypeChecker();
  const result = new Map<string, Set<string>>();
  for (const { subpath, source } of entryPoints(config)) {
    const sf = program.getSourceFile(join(SRC, source));
    const symbol = sf && checker.getSymbolAtLocation(sf);
    if (!symbol) fail(`tsc: no module symbol for ${source}`);
    result.set(subpath, new Set(checker.getExportsOfModule(symbol).map((s) => s.name)));
  }
  return result;
}

/**
 * JSDoc examples import from the module they sit in ("./conv.ts"), which is right for `deno test
 * --doc` but not what an npm user types. In the declarations only, an example import whose names
 * all come from a public entry point is rewritten to the package specifier ("convprop").
 */
function rewriteExampleImports(text: string, exported: Map<string, Set<string>>): string {
  return text.replace(
    /^(\s*\*\s*import\s+(?:type\s+)?)(\{[^}]*\}|\*\s+as\s+\w+)(\s+from\s+)"(\.{1,2}\/[^"]+\.ts)"/gm,
    (match, head: string, clause: string, from: string) => {
      if (clause.startsWith("*")) return match;
      const names = clause.slice(1, -1).split(",")
        .map((n) => n.replace(/^[\s*]*(type\s+)?/, "").replace(/\s+as\s+\w+/, "").trim())
        .filter((n) => n !== "");
      for (const [subpath, names_] of exported) {
        if (names.every((n) => names_.has(n))) {
          const pkg = subpath === "."
            ? NPM_METADATA.name
            : `${NPM_METADATA.name}/${subpath.slice(2)}`;
          return `${head}${clause}${from}"${pkg}"`;
        }
      }
      return match;
    },
  );
}

/** .d.ts files with JSDoc, via the compiler API so relative ".ts" specifiers become ".js". */
function emitDeclarations(modules: string[], config: DenoConfig): number {
  const options: ts.CompilerOptions = {
    declaration: true,
    emitDeclarationOnly: true,
    declarationMap: true,
    allowImportingTsExtensions: true,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ES2022,
    // No Deno or Node types: the runtime code must use only what every JavaScript runtime has.
    lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
    types: [],
    strict: true,
    isolatedModules: true,
    skipLibCheck: true,
    removeComments: false,
    noEmitOnError: true,
    rootDir: SRC,
    outDir: join(NPM_DIR, "esm"),
  };
  const program = ts.createProgram(modules.map((m) => join(SRC, m)), options);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length > 0) {
    fail(
      "tsc (declarations) found errors:\n" +
        ts.formatDiagnosticsWithColorAndContext(diagnostics, {
          getCanonicalFileName: (f) => f,
          getCurrentDirectory: () => ROOT,
          getNewLine: () => "\n",
        }),
    );
  }
  const exported = entryExports(program, config);

  function rewrite(specifier: ts.Expression | ts.TypeNode | undefined, f: ts.NodeFactory) {
    if (specifier && ts.isStringLiteral(specifier) && /^\.\.?\/.*\.m?ts$/.test(specifier.text)) {
      return f.createStringLiteral(jsPath(specifier.text));
    }
    return undefined;
  }
  const tsToJs: ts.TransformerFactory<ts.SourceFile | ts.Bundle> = (context) => {
    const f = context.factory;
    const visit = (node: ts.Node): ts.Node => {
      if (ts.isImportDeclaration(node)) {
        const s = rewrite(node.moduleSpecifier, f);
        if (s) {
          return f.updateImportDeclaration(
            node,
            node.modifiers,
            node.importClause,
            s,
            node.attributes,
          );
        }
      } else if (ts.isExportDeclaration(node)) {
        const s = rewrite(node.moduleSpecifier, f);
        if (s) {
          return f.updateExportDeclaration(
            node,
            node.modifiers,
            node.isTypeOnly,
            node.exportClause,
            s,
            node.attributes,
          );
        }
      } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
        const s = rewrite(node.argument.literal as ts.Expression, f);
        if (s) {
          return f.updateImportTypeNode(
            node,
            f.createLiteralTypeNode(s),
            node.attributes,
            node.qualifier,
            node.typeArguments,
            node.isTypeOf,
          );
        }
      }
      return ts.visitEachChild(node, visit, context);
    };
    return (root) => ts.visitEachChild(root, visit, context) as ts.SourceFile | ts.Bundle;
  };

  let written = 0;
  const result = program.emit(
    undefined,
    (fileName, text) => {
      Deno.mkdirSync(dirname(fileName), { recursive: true });
      Deno.writeTextFileSync(
        fileName,
        fileName.endsWith(".d.ts") ? rewriteExampleImports(text, exported) : text,
      );
      written++;
    },
    undefined,
    true,
    { afterDeclarations: [tsToJs] },
  );
  if (result.emitSkipped || result.diagnostics.length > 0) {
    fail(`tsc: declaration emit failed (${result.diagnostics.length} diagnostics)`);
  }
  // No .ts specifier may survive in the code of a declaration file.
  for (const m of modules) {
    const code = Deno.readTextFileSync(join(NPM_DIR, "esm", dtsPath(m)))
      .replace(/\/\*[\s\S]*?\*\//g, "");
    const bad = code.match(/["']\.\.?\/[^"']*\.ts["']/);
    if (bad) fail(`esm/${dtsPath(m)} still imports ${bad[0]}`);
  }
  return written;
}

function packageJson(config: DenoConfig): Record<string, unknown> {
  const exports: Record<string, unknown> = {};
  for (const { subpath, source } of entryPoints(config)) {
    exports[subpath] = {
      import: { types: `./esm/${dtsPath(source)}`, default: `./esm/${jsPath(source)}` },
      require: { types: `./script/${dtsPath(source)}`, default: `./script/${jsPath(source)}` },
    };
  }
  if ("./browser" in exports) fail(`deno.json exports "./browser", which the npm build reserves`);
  const main = entryPoints(config)[0].source;
  exports["./browser"] = { types: `./esm/${dtsPath(main)}`, default: `./${BROWSER_BUNDLE}` };
  exports["./package.json"] = "./package.json";
  const repo = NPM_METADATA.repository;
  return {
    name: NPM_METADATA.name,
    version: config.version,
    description: config.description,
    license: config.license,
    repository: { type: "git", url: `git+${repo}.git` },
    homepage: `${repo}#readme`,
    bugs: { url: `${repo}/issues` },
    keywords: NPM_METADATA.keywords,
    type: "module",
    sideEffects: false,
    engines: NPM_METADATA.engines,
    // For tools that predate "exports":
    main: `./script/${jsPath(main)}`,
    module: `./esm/${jsPath(main)}`,
    types: `./script/${dtsPath(main)}`,
    // CDNs (unpkg, jsDelivr) serve this file for the bare package URL.
    unpkg: `./${BROWSER_BUNDLE}`,
    jsdelivr: `./${BROWSER_BUNDLE}`,
    exports,
    files: ["esm/", "script/", "browser/", "src/", "README.md", "LICENSE"],
  };
}

async function browserBundle(config: DenoConfig): Promise<{ raw: number; gzip: number }> {
  const main = entryPoints(config)[0].source;
  const outfile = join(NPM_DIR, BROWSER_BUNDLE);
  // the bundle, and each worker module bundled on its own next to it (browser/<name>.js)
  const result = await esbuild.build({
    entryPoints: [
      { in: join(SRC, main), out: BROWSER_BUNDLE.replace(/\.js$/, "") },
      ...WORKER_MODULES.map((w) => ({
        in: join(SRC, w),
        out: join(dirname(BROWSER_BUNDLE), w.split("/").pop()!.replace(/\.ts$/, "")),
      })),
    ],
    outdir: NPM_DIR,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: TARGET,
    minify: true,
    sourcemap: "linked",
    sourcesContent: false,
    legalComments: "inline",
    banner: {
      js:
        `/*! ${NPM_METADATA.name} ${config.version} | ${config.license} | ${NPM_METADATA.repository} */`,
    },
    charset: "utf8",
    logLevel: "silent",
  });
  if (result.warnings.length > 0) {
    const text = await esbuild.formatMessages(result.warnings, { kind: "warning" });
    fail(`esbuild (browser) warned:\n${text.join("\n")}`);
  }
  const bytes = Deno.readFileSync(outfile);
  return { raw: bytes.byteLength, gzip: await gzipSize(bytes) };
}

function dirSize(dir: string): { files: number; bytes: number } {
  const files = walkFiles(dir);
  return {
    files: files.length,
    bytes: files.reduce((s, f) => s + Deno.statSync(join(dir, f)).size, 0),
  };
}

await main("build:npm", async () => {
  const config = readDenoConfig();
  const entries = entryPoints(config);
  step(`module graph of ${entries.map((e) => `${e.subpath} -> ${e.source}`).join(", ")}`);
  const modules = await moduleGraph([...entries.map((e) => e.source), ...WORKER_MODULES]);
  console.log(`${modules.length} modules: ${modules.join(" ")}`);

  step(`copy sources to npm/src (npm/ is deleted first)`);
  await Deno.remove(NPM_DIR, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  for (const m of modules) {
    Deno.mkdirSync(dirname(join(SRC, m)), { recursive: true });
    Deno.copyFileSync(join(ROOT, m), join(SRC, m));
  }
  for (const file of ["README.md", "LICENSE"]) {
    try {
      Deno.copyFileSync(join(ROOT, file), join(NPM_DIR, file));
    } catch {
      fail(`${file} is missing at the repository root; the npm package ships it`);
    }
  }

  step("esbuild: ES modules -> npm/esm, CommonJS -> npm/script (with source maps)");
  await emitJavaScript(modules, "esm");
  await emitJavaScript(modules, "cjs");
  Deno.writeTextFileSync(join(NPM_DIR, "script", "package.json"), '{ "type": "commonjs" }\n');

  step("tsc: declarations with JSDoc -> npm/esm, copied to npm/script");
  const written = emitDeclarations(modules, config);
  for (const m of modules) {
    for (const file of [dtsPath(m), `${dtsPath(m)}.map`]) {
      Deno.copyFileSync(join(NPM_DIR, "esm", file), join(NPM_DIR, "script", file));
    }
  }
  console.log(`${written} declaration files (.d.ts and .d.ts.map) per format`);

  step(`esbuild: browser bundle -> npm/${BROWSER_BUNDLE}`);
  const browser = await browserBundle(config);
  await esbuild.stop();

  step("package.json");
  const pkg = packageJson(config);
  Deno.writeTextFileSync(join(NPM_DIR, "package.json"), JSON.stringify(pkg, null, 2) + "\n");
  console.log(JSON.stringify(pkg.exports, null, 2));

  step("sizes");
  for (const dir of ["src", "esm", "script", "browser"]) {
    const { files, bytes } = dirSize(join(NPM_DIR, dir));
    console.log(`npm/${dir.padEnd(8)} ${String(files).padStart(3)} files ${kb(bytes).padStart(9)}`);
  }
  console.log(
    `browser bundle: ${kb(browser.raw)} minified (${browser.raw} B), ` +
      `${kb(browser.gzip)} gzipped (${browser.gzip} B)`,
  );
  console.log(`\nwrote ${NPM_DIR} (${NPM_METADATA.name}@${config.version})`);
});
