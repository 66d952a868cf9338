// Serves the playground on 127.0.0.1 for development: the site of build.ts, built in memory and
// rebuilt whenever a page is requested after a source changed (reload the browser to see an
// edit). Run: deno task playground [--port N]   (default 8000; 0 picks a free port)

import * as esbuild from "esbuild";
import { integerFlag, parseFlags, UsageError } from "../_cli.ts";
import { buildSite } from "./build.ts";
import { ROOT, serveStatic } from "./_site.ts";

const USAGE = "usage: deno task playground [--port N]   (default 8000; 0 picks a free port)";

/** Folders of the repository that no page is built from. */
const SKIP = new Set(["node_modules", "site", "npm", "runs", "tests", "docs", "playground-shots"]);

/** The newest modification time of the sources a build reads (pages, library, data). */
function newest(): number {
  let t = 0;
  const visit = (dir: string): void => {
    for (const e of Deno.readDirSync(dir)) {
      if (e.name.startsWith(".") || (dir === ROOT && SKIP.has(e.name))) continue;
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) visit(path);
      else if (e.isFile) t = Math.max(t, Deno.statSync(path).mtime?.getTime() ?? 0);
    }
  };
  visit(ROOT);
  return t;
}

try {
  const values = parseFlags(Deno.args, { port: { type: "string" }, help: { type: "boolean" } });
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const port = integerFlag("port", values.port, 8000, { min: 0, max: 65535 });
  let files = await buildSite(), builtAt = newest();
  let building: Promise<void> | undefined;
  const { origin } = serveStatic(async (path) => {
    if (path.endsWith(".html") && newest() > builtAt) {
      building ??= (async () => {
        const t = newest();
        try {
          files = await buildSite();
          builtAt = t;
          console.log(`rebuilt (${files.size} files)`);
        } catch (e) {
          console.error(`rebuild failed, serving the previous build: ${(e as Error).message}`);
        } finally {
          building = undefined;
        }
      })();
      await building;
    }
    return files.get(path);
  }, port);
  console.log(`convprop playground: ${origin}/   (Ctrl-C stops it)`);
} catch (e) {
  await esbuild.stop();
  if (e instanceof UsageError) {
    console.error(`playground: ${e.message}\n${USAGE}`);
    Deno.exit(2);
  }
  console.error(`playground FAILED: ${e instanceof Error ? e.message : e}`);
  Deno.exit(1);
}
