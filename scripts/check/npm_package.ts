// The npm package as a user gets it: `npm pack` npm/, install the tarball into a fresh project
// (offline: it has no dependencies) and use it from an ES module, from CommonJS, and from
// TypeScript (tsc --noEmit against the shipped types, in nodenext ESM and CJS files and with
// bundler resolution), check that editors see every export's JSDoc, and run the README's Node
// snippets against it. Run after `deno task build:npm`: deno task test:npm

import ts from "typescript";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  bin,
  BROWSER_BUNDLE,
  fail,
  kb,
  main,
  NPM_DIR,
  NPM_METADATA,
  output,
  ROOT,
  run,
  step,
} from "../build/_npm_common.ts";

const NAME = NPM_METADATA.name;

// One small case with numbers a reader can check by hand: a 3×3 image, a 2×2 filter that adds a
// pixel to its lower-right neighbour, bias 0.5.
//   y  = [1+5, 2+6, 4+8, 5+9] + 0.5 = [6.5, 8.5, 12.5, 14.5]
//   dx = taps (0,0) and (1,1) each cover a 2×2 block of x once: [1,1,0, 1,2,1, 0,1,1]
//   dw = Σ over the 4 windows of x: [1+2+4+5, 2+3+5+6, 4+5+7+8, 5+6+8+9] = [12, 16, 24, 28]
//   db = 4 (four outputs, dy = 1)
const CASE = `
const x = tensor([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
const w = tensor([1, 1, 2, 2], [1, 0, 0, 1]);
const b = tensor([1], [0.5]);
const { y, cache } = convForward(x, w, b);
const { dx, dw, db } = convBackward(tensor([1, 1, 2, 2], [1, 1, 1, 1]), cache);
const got = {
  y: [y.shape, Array.from(y.data)],
  dx: Array.from(dx.data),
  dw: Array.from(dw.data),
  db: Array.from(db.data),
  f32: convForward(
    { shape: x.shape, data: Float32Array.from(x.data) },
    { shape: w.shape, data: Float32Array.from(w.data) },
    { shape: b.shape, data: Float32Array.from(b.data) },
  ).y.data.constructor.name,
  layer: new Conv2D({ inChannels: 1, outChannels: 2, size: 2, dtype: "float64" })
    .forward(x).shape,
};
assert.deepEqual(got, {
  y: [[1, 1, 2, 2], [6.5, 8.5, 12.5, 14.5]],
  dx: [1, 1, 0, 1, 2, 1, 0, 1, 1],
  dw: [12, 16, 24, 28],
  db: [4],
  f32: "Float32Array",
  layer: [1, 2, 2, 2],
});
let threw = "";
try {
  convForward(x, tensor([1, 2, 2, 2], [1, 1, 1, 1, 1, 1, 1, 1]), b);
} catch (e) {
  threw = e.constructor.name + ": " + e.message;
}
assert.match(threw, /^RangeError: convForward: /);
`;

function esmSource(subpaths: string[]): string {
  return `import assert from "node:assert/strict";
import * as convprop from "${NAME}";
import { Conv2D, convBackward, convForward, tensor } from "${NAME}";
${CASE}
const subpaths = {};
for (const subpath of ${JSON.stringify(subpaths)}) {
  subpaths[subpath] = Object.keys(await import(subpath)).sort();
}
const browser = await import("${NAME}/browser");
console.log(JSON.stringify({
  keys: Object.keys(convprop).sort(),
  subpaths,
  browser: Object.keys(browser).sort(),
  version: JSON.parse(
    (await import("node:fs")).readFileSync(new URL(import.meta.resolve("${NAME}/package.json"))),
  ).version,
}));
`;
}

function cjsSource(subpaths: string[]): string {
  return `"use strict";
const assert = require("node:assert/strict");
const convprop = require("${NAME}");
const { Conv2D, convBackward, convForward, tensor } = require("${NAME}");
${CASE}
const subpaths = {};
for (const subpath of ${JSON.stringify(subpaths)}) {
  subpaths[subpath] = Object.keys(require(subpath)).sort();
}
console.log(JSON.stringify({
  keys: Object.keys(convprop).filter((k) => k !== "__esModule").sort(),
  subpaths,
  version: require("${NAME}/package.json").version,
}));
`;
}

// Typed use; each @ts-expect-error proves the types are real (an `any` would make it unused, and
// tsc reports an unused @ts-expect-error as an error).
const TS_CONSUMER =
  `import { Conv2D, convBackward, convForward, type Layer, type Tensor, tensor } from "${NAME}";

const x: Tensor<Float64Array> = {
  shape: [1, 1, 3, 3],
  data: new Float64Array([1, 2, 3, 4, 5, 6, 7, 8, 9]),
};
const w = { shape: [1, 1, 2, 2], data: new Float64Array([1, 0, 0, 1]) };
const { y, cache } = convForward(x, w, tensor([1], [0.5]) as Tensor<Float64Array>, { padding: 1 });
const data: Float64Array = y.data;
const { dx } = convBackward(y, cache);
const layer: Layer = new Conv2D({ inChannels: 1, outChannels: 4, size: [3, 3] });
console.log(data.length, dx.shape, layer.kind);

// @ts-expect-error: stride takes a number or [rows, cols], not a string
convForward(x, w, w, { stride: "2" });
// @ts-expect-error: a Float32Array result is not a Float64Array
const wrong: Float64Array = convForward(
  { shape: [1, 1, 2, 2], data: new Float32Array(4) },
  { shape: [1, 1, 1, 1], data: new Float32Array(1) },
  { shape: [1], data: new Float32Array(1) },
).y.data;
console.log(wrong);
`;

function tsconfig(files: string[], module: string, moduleResolution: string): string {
  return JSON.stringify(
    {
      compilerOptions: {
        module,
        moduleResolution,
        target: "ES2022",
        lib: ["ES2022", "DOM"],
        types: [],
        strict: true,
        noEmit: true,
        skipLibCheck: false, // the shipped .d.ts files are checked too
        noUnusedLocals: true,
      },
      files,
    },
    null,
    2,
  );
}

/** Every export of the package, as an editor sees it: a symbol with its JSDoc. */
function checkDocs(consumer: string, file: string): { exports: number; examples: number } {
  const program = ts.createProgram([join(consumer, file)], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: [],
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(join(consumer, file))!;
  const decl = sf.statements.find(ts.isImportDeclaration)!;
  const moduleSymbol = checker.getSymbolAtLocation(decl.moduleSpecifier);
  if (!moduleSymbol) fail(`TypeScript does not resolve "${NAME}" from ${file}`);
  const missing: string[] = [];
  let examples = 0;
  const exported = checker.getExportsOfModule(moduleSymbol);
  for (const symbol of exported) {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    const doc = ts.displayPartsToString(target.getDocumentationComment(checker)).trim();
    if (doc === "") missing.push(symbol.name);
    if (target.getJsDocTags(checker).some((t) => t.name === "example")) examples++;
  }
  if (missing.length > 0) fail(`exports without JSDoc in the shipped types: ${missing.join(", ")}`);
  if (exported.length === 0) fail(`the shipped types of "${NAME}" export nothing`);
  return { exports: exported.length, examples };
}

/** The ```js blocks of README.md that use the npm package. */
function readmeSnippets(): { code: string; line: number }[] {
  const text = Deno.readTextFileSync(join(ROOT, "README.md"));
  const snippets = [];
  const re = /^```(js|javascript|mjs|cjs)[^\n]*\n([\s\S]*?)^```/gm;
  for (const m of text.matchAll(re)) {
    const code = m[2];
    const uses = new RegExp(`(from\\s+|require\\()["']${NAME}(/[^"']*)?["']`);
    if (uses.test(code)) snippets.push({ code, line: text.slice(0, m.index).split("\n").length });
  }
  return snippets;
}

await main("test:npm", async () => {
  const pkg = JSON.parse(Deno.readTextFileSync(join(NPM_DIR, "package.json")));
  const subpaths = Object.keys(pkg.exports)
    .filter((s) => s !== "." && s !== "./package.json" && s !== "./browser")
    .map((s) => `${NAME}/${s.slice(2)}`);
  const tmp = await Deno.makeTempDir({ prefix: "convprop_npm_" });
  try {
    step("npm pack");
    const packed = JSON.parse(
      await output("npm", ["pack", "--json", "--pack-destination", tmp], {
        cwd: NPM_DIR,
      }),
    )[0] as {
      filename: string;
      size: number;
      unpackedSize: number;
      entryCount: number;
      files: { path: string }[];
    };
    const paths = new Set(packed.files.map((f) => f.path));
    for (const need of ["package.json", "README.md", "LICENSE", BROWSER_BUNDLE, "src/mod.ts"]) {
      if (!paths.has(need)) fail(`the tarball lacks ${need}`);
    }
    for (const p of paths) {
      if (/(_test|_bench)\.|(^|\/)tests?\//.test(p)) fail(`the tarball ships a test file: ${p}`);
    }
    console.log(
      `${packed.filename}: ${kb(packed.size)} packed (${packed.size} B), ` +
        `${kb(packed.unpackedSize)} unpacked, ${packed.entryCount} files`,
    );

    step("install the tarball into a fresh project (offline: no dependencies)");
    const consumer = join(tmp, "consumer");
    Deno.mkdirSync(consumer);
    Deno.writeTextFileSync(
      join(consumer, "package.json"),
      JSON.stringify({ name: "consumer", version: "1.0.0", private: true }),
    );
    await run(
      "npm",
      ["install", "--offline", "--no-audit", "--no-fund", join(tmp, packed.filename)],
      { cwd: consumer },
    );

    step(`ES module: import "${NAME}"`);
    Deno.writeTextFileSync(join(consumer, "esm.mjs"), esmSource(subpaths));
    const esm = JSON.parse(await output("node", ["esm.mjs"], { cwd: consumer }));
    step(`CommonJS: require("${NAME}")`);
    Deno.writeTextFileSync(join(consumer, "cjs.cjs"), cjsSource(subpaths));
    const cjs = JSON.parse(await output("node", ["cjs.cjs"], { cwd: consumer }));
    const deno = Object.keys(await import(pathToFileURL(join(ROOT, "mod.ts")).href)).sort();
    for (
      const [what, keys] of [["ESM", esm.keys], ["CommonJS", cjs.keys], ["browser", esm.browser]]
    ) {
      if (JSON.stringify(keys) !== JSON.stringify(deno)) {
        fail(`${what} exports ${keys.join(",")}\nbut mod.ts exports ${deno.join(",")}`);
      }
    }
    if (JSON.stringify(esm.subpaths) !== JSON.stringify(cjs.subpaths)) {
      fail(`subpath exports differ between ESM and CommonJS`);
    }
    if (esm.version !== pkg.version || cjs.version !== pkg.version) fail("version mismatch");
    console.log(
      `ESM, CommonJS and the browser bundle export the same ${deno.length} names as mod.ts; ` +
        `conv forward/backward gives the hand-computed numbers in both` +
        (subpaths.length > 0 ? `; subpaths ${subpaths.join(" ")} load in both` : ""),
    );

    step("TypeScript: tsc --noEmit against the shipped types");
    Deno.writeTextFileSync(join(consumer, "consumer.mts"), TS_CONSUMER);
    Deno.writeTextFileSync(join(consumer, "consumer.cts"), TS_CONSUMER);
    Deno.writeTextFileSync(join(consumer, "consumer.ts"), TS_CONSUMER);
    Deno.writeTextFileSync(
      join(consumer, "tsconfig.json"),
      tsconfig(["consumer.mts", "consumer.cts"], "NodeNext", "NodeNext"),
    );
    Deno.writeTextFileSync(
      join(consumer, "tsconfig.bundler.json"),
      tsconfig(["consumer.ts"], "ESNext", "Bundler"),
    );
    // Node16 is the mode that needs the CommonJS copy of the declarations: with one ESM copy for
    // both conditions, consumer.cts fails there with TS1479 (NodeNext in TS >= 5.8 allows it).
    Deno.writeTextFileSync(
      join(consumer, "tsconfig.node16.json"),
      tsconfig(["consumer.mts", "consumer.cts"], "Node16", "Node16"),
    );
    const tsc = bin("tsc");
    await run(tsc, ["--version"], { cwd: consumer });
    for (
      const [config, what] of [
        [
          "tsconfig.json",
          "NodeNext: consumer.mts (-> esm/*.d.ts), consumer.cts (-> script/*.d.ts)",
        ],
        ["tsconfig.node16.json", "Node16: consumer.mts, consumer.cts"],
        ["tsconfig.bundler.json", "Bundler resolution: consumer.ts"],
      ]
    ) {
      await run(tsc, ["-p", config], { cwd: consumer });
      console.log(`${what}: ok`);
    }
    const docs = checkDocs(consumer, "consumer.mts");
    console.log(
      `JSDoc: all ${docs.exports} exports of "${NAME}" carry documentation in the shipped types ` +
        `(${docs.examples} with an @example)`,
    );

    step("README.md: the Node snippets, run against the installed package");
    const snippets = readmeSnippets();
    if (snippets.length === 0) {
      fail(`README.md has no \`\`\`js snippet that imports "${NAME}" (the npm install section)`);
    }
    for (const [i, s] of snippets.entries()) {
      const file = `readme_${i}.${/\brequire\(/.test(s.code) ? "cjs" : "mjs"}`;
      Deno.writeTextFileSync(join(consumer, file), s.code);
      console.log(`README.md line ${s.line} (${file}):`);
      await run("node", [file], { cwd: consumer });
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
