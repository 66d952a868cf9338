// The Chinese pages (docs/zh/) and the English ones link to each other, so a reader can switch
// language on any page: each docs/zh/X.md says "English: [X.md](../X.md)" on the line after its
// title, and the English page docs/X.md says "中文：[…](zh/X.md)" on the line after its own. A zh
// page whose English page does not exist yet points at the English index instead, and this test
// fails as soon as the English page appears, naming the two lines to write. (That every link
// resolves, and that quoted code is verbatim, is tests/docs_refs_test.ts's job, for both
// languages.)

import { assert, assertEquals } from "@std/assert";

const DOCS = new URL("../docs/", import.meta.url);
const ZH = new URL("zh/", DOCS);

async function exists(url: URL): Promise<boolean> {
  try {
    await Deno.stat(url);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** The page's title and the first non-blank line after it. */
function head(md: string): [string, string] {
  const lines = md.split("\n");
  const title = lines.findIndex((l) => /^#\s/.test(l));
  const next = lines.slice(title + 1).find((l) => l.trim() !== "") ?? "";
  return [title < 0 ? "" : lines[title], next.trim()];
}

async function zhPages(): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(ZH)) {
    if (e.isFile && e.name.endsWith(".md")) names.push(e.name);
  }
  return names.sort();
}

Deno.test("docs/zh: every Chinese page links its English page on the line after its title", async () => {
  const problems: string[] = [];
  const names = await zhPages();
  for (const name of names) {
    const [title, line] = head(await Deno.readTextFile(new URL(name, ZH)));
    if (title === "") problems.push(`docs/zh/${name}: no "# " title`);
    const english = await exists(new URL(name, DOCS));
    const expected = english
      ? `English: [${name}](../${name})`
      : "English: [README.md](../README.md)";
    if (line !== expected) {
      problems.push(
        `docs/zh/${name}: the line after the title is ${JSON.stringify(line)}, expected ` +
          `${JSON.stringify(expected)}` +
          (english ? ` (docs/${name} exists: link it)` : ` (there is no docs/${name} yet)`),
      );
    }
  }
  assertEquals(problems, []);
  // the core pages of issue 15; fewer would mean pages were lost, not that the test passed
  for (const core of ["README.md", "seed.md", "notation.md", "im2col.md", "conv_backward.md"]) {
    assert(names.includes(core), `docs/zh/${core} is missing`);
  }
  for (const core of ["fully_connected.md", "max_pool.md"]) {
    assert(names.includes(core), `docs/zh/${core} is missing`);
  }
});

Deno.test("docs/zh: every English page with a Chinese page links it on the line after its title", async () => {
  const problems: string[] = [];
  let linked = 0;
  for (const name of await zhPages()) {
    if (name === "README.md") continue; // the indexes link each other below
    const url = new URL(name, DOCS);
    if (!(await exists(url))) continue; // checked from the zh side above
    const [, line] = head(await Deno.readTextFile(url));
    if (!new RegExp(`^中文：\\[[^\\]]+\\]\\(zh/${name.replace(".", "\\.")}\\)$`).test(line)) {
      problems.push(
        `docs/${name}: the line after the title is ${JSON.stringify(line)}, expected ` +
          `"中文：[<the Chinese title>](zh/${name})"`,
      );
    } else linked++;
  }
  assertEquals(problems, []);
  assert(
    linked >= 5,
    `expected at least 5 English pages linking their Chinese page, found ${linked}`,
  );
});

Deno.test("docs/zh: the two indexes link each other and the Chinese index lists every page", async () => {
  const en = await Deno.readTextFile(new URL("README.md", DOCS));
  assert(en.includes("](zh/README.md)"), "docs/README.md does not link zh/README.md");
  const zh = await Deno.readTextFile(new URL("README.md", ZH));
  for (const name of await zhPages()) {
    if (name === "README.md") continue;
    assert(zh.includes(`](${name})`), `docs/zh/README.md does not link ${name}`);
  }
});
