// JSR readiness: `deno publish --dry-run` (fails on slow types: exports without explicit types)
// and `deno doc --lint` on every entry point of deno.json "exports" (fails on an exported symbol,
// class member included, without JSDoc, or on a public type that names a private one). Also lists
// the published files that no entry point reaches, which JSR would ship for nothing.
// Run: deno task check:jsr

import { fileURLToPath } from "node:url";
import {
  entryPoints,
  main,
  output,
  readDenoConfig,
  ROOT,
  run,
  step,
} from "../build/_npm_common.ts";

await main("check:jsr", async () => {
  const config = readDenoConfig();
  const entries = entryPoints(config).map((e) => e.source);

  step(`deno publish --dry-run (${config.name}@${config.version})`);
  const published = await output(Deno.execPath(), ["publish", "--dry-run", "--allow-dirty"]);
  console.log(published.trim());
  const files = [...published.matchAll(/(file:\/\/\S+)/g)].map((m) =>
    fileURLToPath(m[1]).slice(ROOT.length + 1)
  );

  step(`deno doc --lint ${entries.join(" ")}`);
  await run(Deno.execPath(), ["doc", "--lint", ...entries]);
  console.log("every exported symbol is documented");

  step("published modules that no entry point reaches");
  const reached = new Set<string>();
  for (const entry of entries) {
    const info = JSON.parse(await output(Deno.execPath(), ["info", "--json", entry]));
    for (const m of info.modules as { specifier: string }[]) {
      if (m.specifier.startsWith("file://")) {
        reached.add(fileURLToPath(m.specifier).slice(ROOT.length + 1));
      }
    }
  }
  const extra = files.filter((f) => /\.(ts|js|mts|mjs)$/.test(f) && !reached.has(f));
  console.log(
    extra.length === 0
      ? "none"
      : `${extra.join(" ")}\n(not an error: consider deno.json "publish.exclude" for them)`,
  );
});
