// The `Deno` global for the test suite on Node (scripts/check/node.ts injects this module into every
// test bundle with esbuild's `inject`, as dnt does with @deno/shim-deno). Runs under Node only.
//
// Deno.test: @deno/shim-deno-test parses Deno.test's overloads (name + fn, options object,
// ignore/only, ...) exactly as Deno does; each definition is then registered with node:test, and
// t.step maps to node's subtests. Deno-only options (permissions, sanitizeOps, ...) have no Node
// meaning and are dropped. The few file and environment calls a test may make are provided with
// node:fs and node:process; any other Deno API throws, naming itself, so a test that needs it fails
// loudly instead of passing by accident.

import { test as nodeTest, type TestContext as NodeTestContext } from "node:test";
import { Deno as DenoTestShim, testDefinitions } from "@deno/shim-deno-test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";

type TestFn = (t: DenoTestContext) => void | Promise<void>;
interface StepDefinition {
  name: string;
  fn: TestFn;
  ignore?: boolean;
}
interface DenoTestContext {
  name: string;
  origin: string;
  step(a: string | StepDefinition | TestFn, b?: TestFn): Promise<boolean>;
}

function contextFor(t: NodeTestContext, name: string): DenoTestContext {
  return {
    name,
    origin: process.argv[1] ?? "",
    async step(a, b) {
      const def: StepDefinition = typeof a === "string"
        ? { name: a, fn: b as TestFn }
        : typeof a === "function"
        ? { name: a.name, fn: a }
        : a;
      let passed = true;
      await t.test(def.name, { skip: def.ignore === true }, async (st) => {
        try {
          await def.fn(contextFor(st, def.name));
        } catch (error) {
          passed = false;
          throw error;
        }
      });
      return passed;
    },
  };
}

function register(extra: { ignore?: boolean; only?: boolean }, args: unknown[]): void {
  const shimTest = DenoTestShim.test as unknown as (...args: unknown[]) => void;
  shimTest(...args);
  const def = testDefinitions.pop();
  if (def === undefined) throw new Error("Deno.test shim: no definition registered");
  const ignore = def.ignore === true || extra.ignore === true;
  const only = def.only === true || extra.only === true;
  const fn = def.fn as unknown as TestFn;
  // `only` is passed only when set: Node warns about the key without --test-only.
  nodeTest(def.name, { skip: ignore, ...(only ? { only } : {}) }, async (t) => {
    await fn(contextFor(t, def.name));
  });
}

const test = Object.assign((...args: unknown[]) => register({}, args), {
  ignore: (...args: unknown[]) => register({ ignore: true }, args),
  only: (...args: unknown[]) => register({ only: true }, args),
});

/** Deno.errors.NotFound: what Deno.stat throws for a missing path. */
class NotFound extends Error {}

const provided: Record<string, unknown> = {
  test,
  build: {
    os: process.platform === "win32" ? "windows" : process.platform,
    arch: process.arch === "x64" ? "x86_64" : process.arch === "arm64" ? "aarch64" : process.arch,
  },
  args: process.argv.slice(2),
  cwd: () => process.cwd(),
  env: {
    get: (key: string) => process.env[key],
    has: (key: string) => key in process.env,
    toObject: () => ({ ...process.env }),
  },
  readTextFile: (p: string | URL) => fs.promises.readFile(p, "utf8"),
  readTextFileSync: (p: string | URL) => fs.readFileSync(p, "utf8"),
  readFile: async (p: string | URL) => new Uint8Array(await fs.promises.readFile(p)),
  readFileSync: (p: string | URL) => new Uint8Array(fs.readFileSync(p)),
  writeTextFile: (p: string | URL, text: string) => fs.promises.writeFile(p, text),
  writeTextFileSync: (p: string | URL, text: string) => fs.writeFileSync(p, text),
  makeTempDir: (o?: { prefix?: string }) =>
    fs.promises.mkdtemp(path.join(os.tmpdir(), o?.prefix ?? "deno-shim-")),
  remove: (p: string | URL, o?: { recursive?: boolean }) =>
    fs.promises.rm(p, { recursive: o?.recursive ?? false }),
  errors: { NotFound },
  stat: async (p: string | URL) => {
    try {
      const s = await fs.promises.stat(p);
      return { isFile: s.isFile(), isDirectory: s.isDirectory(), size: s.size };
    } catch (e) {
      throw (e as { code?: string }).code === "ENOENT" ? new NotFound(String(e)) : e;
    }
  },
  readDir: async function* (p: string | URL) {
    for (const d of await fs.promises.readdir(p, { withFileTypes: true })) {
      yield {
        name: d.name,
        isFile: d.isFile(),
        isDirectory: d.isDirectory(),
        isSymlink: d.isSymbolicLink(),
      };
    }
  },
};

/** The subset of Deno that the test suite may use on Node; anything else throws by name. */
export const Deno: Record<string, unknown> = new Proxy(provided, {
  get(target, key) {
    if (typeof key === "string" && !(key in target)) {
      throw new Error(
        `Deno.${key} is not available on Node (scripts/check/_node_deno_shim.ts provides ` +
          `${Object.keys(target).join(", ")})`,
      );
    }
    return target[key as string];
  },
});
