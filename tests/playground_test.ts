// The playground's parts that need no browser (the browser checks are scripts/check/playground.ts,
// `deno task test:playground`): the step-through quotes lines that are still in the library's
// files, found by their text; the site has every page, entry module and data file; writeSite
// never deletes a folder it did not write. So a comment edited in layers/conv.ts that the step
// view quotes fails here, in `deno task test`, naming the step and the line.

import { assert, assertEquals, assertThrows } from "@std/assert";
import { join } from "node:path";
import * as esbuild from "esbuild";
import { findLines } from "../playground/_source.ts";
import { STEPS } from "../playground/_steps.ts";
import { buildSite, entryModules, writeSite } from "../scripts/playground/build.ts";
import { REFERENCE_SOURCES } from "../scripts/playground/data.ts";
import { ROOT } from "../scripts/playground/_site.ts";

const text = (file: string): string[] => Deno.readTextFileSync(join(ROOT, file)).split("\n");

Deno.test("step.html: every quoted source line is a whole line of its file, after its anchor", () => {
  let lines = 0;
  for (const [i, step] of STEPS.entries()) {
    assert(step.sources.length > 0, `step ${i + 1} (${step.title}) quotes no source`);
    for (const ref of step.sources) {
      assert(
        REFERENCE_SOURCES.includes(ref.file),
        `step ${i + 1} quotes ${ref.file}, which data.ts does not ship`,
      );
      const file = text(ref.file);
      const found = findLines(file, ref); // throws, naming the file and the line, if one moved
      assertEquals(found.map((n) => file[n].trim()), [...ref.lines], `step ${i + 1}: ${ref.file}`);
      const anchor = file.findIndex((l) => l.includes(ref.after));
      assert(found.every((n) => n > anchor), `step ${i + 1}: a line before its anchor`);
      lines += found.length;
    }
  }
  assert(lines >= STEPS.length, `${lines} lines for ${STEPS.length} steps`);
});

Deno.test("findLines: whole lines only, in order after the anchor; a missing line is named", () => {
  const file = [
    "function a() {",
    "  x = 1; // one",
    "}",
    "function b() {",
    "  x = 1;",
    "  x = 1; // one",
    "}",
  ];
  // "x = 1;" is a prefix of line 2, not the line: the first whole match after b's signature
  assertEquals(findLines(file, { file: "f.ts", after: "function b", lines: ["x = 1;"] }), [4]);
  assertEquals(
    findLines(file, { file: "f.ts", after: "function a", lines: ["x = 1; // one", "x = 1;"] }),
    [1, 4],
  );
  assertThrows(
    () => findLines(file, { file: "f.ts", after: "function b", lines: ["x = 2;"] }),
    Error,
    `f.ts: after "function b", no line reads "x = 2;"`,
  );
  assertThrows(
    () => findLines(file, { file: "f.ts", after: "function c", lines: [] }),
    Error,
    `f.ts: no line contains "function c"`,
  );
});

Deno.test("buildSite: every page, every entry module as .js, the reference sources verbatim", async () => {
  try {
    const files = await buildSite();
    for (const name of ["index.html", "im2col.html", "step.html", "style.css"]) {
      assert(files.has(name), `the site has no ${name}`);
    }
    for (const entry of entryModules()) {
      assert(!entry.startsWith("_"), entry);
      assert(files.has(entry.replace(/\.ts$/, ".js")), `${entry} was not bundled`);
    }
    for (const path of REFERENCE_SOURCES) {
      assertEquals(files.get(`src/${path}`), Deno.readFileSync(join(ROOT, path)), path);
    }
    // each page loads the module it is built with
    for (const [name, bytes] of files) {
      if (!name.endsWith(".html")) continue;
      for (const m of new TextDecoder().decode(bytes).matchAll(/src="([^"]+\.js)"/g)) {
        assert(files.has(m[1]), `${name} loads ${m[1]}, which the site does not have`);
      }
    }
  } finally {
    await esbuild.stop();
  }
});

Deno.test("writeSite: replaces its own previous output, refuses any other non-empty folder", () => {
  const dir = Deno.makeTempDirSync({ prefix: "convprop-site-test-" });
  try {
    const site = join(dir, "site");
    writeSite(site, new Map([["a/b.txt", new TextEncoder().encode("one")]]));
    writeSite(site, new Map([["c.txt", new TextEncoder().encode("two")]]));
    assertEquals(Deno.readTextFileSync(join(site, "c.txt")), "two");
    assertThrows(() => Deno.statSync(join(site, "a")), Deno.errors.NotFound); // the old build went
    const other = join(dir, "mine");
    Deno.mkdirSync(other);
    Deno.writeTextFileSync(join(other, "notes.txt"), "keep me");
    assertThrows(() => writeSite(other, new Map()), Error, "refusing to replace it");
    assertEquals(Deno.readTextFileSync(join(other, "notes.txt")), "keep me");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
