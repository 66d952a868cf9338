// Every reference from docs/*.md to the code must resolve, so the docs cannot silently rot when
// code is renamed or moved. The docs use one syntax for "this formula is computed here":
//
//   [`convBackward`](../layers/conv.ts)        a symbol defined in that file
//   [`Conv2D.backward`](../layers/conv_layer.ts) a member of a class or interface in that file
//   [`kernels/im2col.ts`](../kernels/im2col.ts) the file itself (the link text is its path)
//
// and plain links to other pages, anchors and figures. Code quoted from the source is checked to
// be there, verbatim:
//
//   [`const x_col = ...`](../layers/conv.ts)  a linked code span that is not a name: a piece of
//                                              one line of that file, character for character
//   ```ts ignore quote=layers/conv.ts           a fenced block: every line of it is a line of the
//   ```                                         file (leading spaces aside), in the file's order;
//                                              a line `// ...` stands for lines left out
//
// so a page cannot show code the source does not have. A prose code span that reads like a line
// of the derivation (a call with x_col, w_col, dY, dX, dW ...) must be such a linked quote (numpy
// calls, `np.…`, `numpy.…` and the seed's `w_col.dot(x_col)`, are not our source). The checks:
// - every relative link target exists (files, figures, other pages), and an #anchor into a
//   Markdown page names one of its headings (GitHub's slug rules);
// - a link whose text is a code span names a symbol defined in the target (a `function`,
//   `class`, `interface`, `type`, `const`/`let`, or for .wat a `(func $name` / `(export "name"`),
//   or is the target's own path;
// - docs never link to a private `_*.ts` file (those are not part of the public surface);
// - a code span that is a repository path (`kernels/gemm_simd.wat`, or a root file as `mod.ts`)
//   names a file that exists.
// Line numbers are never used, so nothing here can rot by editing a file.
// The Chinese pages, docs/zh/*.md, are checked by the same rules (their links start at docs/zh/).

import { assert, assertEquals } from "@std/assert";

const ROOT = new URL("../", import.meta.url);
const DOCS = new URL("docs/", ROOT);

/** One problem found in one page. */
interface Problem {
  page: string;
  message: string;
}

/** What was checked, for the summary and to make sure the check is not vacuous. */
interface Stats {
  pages: number;
  links: number;
  symbols: number;
  paths: number;
  /** Quoted lines found verbatim (inline quotes and the lines of quote blocks). */
  quoted: number;
}

/** A name (`convForward`, `Conv2D.backward`, `w_col`) rather than a piece of code. */
const NAME = /^[\w$#]+(?:\.[\w$#]+)*(?:\(\))?$/;

/** A prose code span that reads like a line of the derivation: a call that names its arrays. */
const DERIVATION_CALL =
  /^(?!np\.|numpy\.|\w+\.dot\().*\(.*\b(?:x_col|w_col|dx_col|dY|dX|dW|dY_n|x_cols)\b/;

/** The lines of a fenced code block whose info string has `quote=<file>`: [file, lines]. */
function quoteBlocks(md: string): [string, string[]][] {
  const out: [string, string[]][] = [];
  const lines = md.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*```\S*(?:\s+\S+)*?\s+quote=(\S+)/.exec(lines[i]);
    if (!m) continue;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    out.push([m[1], body]);
  }
  return out;
}

/** Whether every quoted line is a line of `source` (trimmed), in order; returns the first that
 * is not, or null. `// ...` lines stand for lines left out. */
function missingLine(source: string, quoted: readonly string[]): string | null {
  const lines = source.split("\n").map((l) => l.trim());
  let at = 0;
  for (const q of quoted) {
    const line = q.trim();
    if (line === "" || line === "// ..." || line === "...") continue;
    const found = lines.indexOf(line, at);
    if (found < 0) return q;
    at = found + 1;
  }
  return null;
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .replace(/`/g, "")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The page with fenced code blocks blanked out (their contents are code, not references). */
function prose(md: string): string {
  const lines = md.split("\n");
  let fence: string | undefined;
  return lines.map((line) => {
    const m = /^\s*(`{3,}|~{3,})/.exec(line);
    if (m) {
      if (fence === undefined) {
        fence = m[1];
        return "";
      }
      if (m[1].startsWith(fence[0]) && m[1].length >= fence.length) {
        fence = undefined;
        return "";
      }
    }
    return fence === undefined ? line : "";
  }).join("\n");
}

/** The anchors a Markdown page defines: one per heading, numbered -1, -2 on repeats as GitHub. */
function anchors(md: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of prose(md).split("\n")) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Whether `source` (of a file ending in `ext`) defines `name` at the top level or as a member. */
function defines(source: string, ext: string, name: string): boolean {
  if (ext === "wat") {
    const n = escapeRe(name.replace(/^\$/, ""));
    return new RegExp(`\\(func\\s+\\$${n}\\b`).test(source) ||
      new RegExp(`\\(export\\s+"${n}"`).test(source);
  }
  const [owner, member] = name.split(".", 2);
  const decl = new RegExp(
    `^\\s*(?:export\\s+)?(?:declare\\s+)?(?:default\\s+)?(?:async\\s+)?` +
      `(?:function\\*?|class|interface|type|const|let|var|enum)\\s+${escapeRe(owner)}\\b`,
    "m",
  );
  const at = source.search(decl);
  if (at < 0) return false;
  if (member === undefined) return true;
  // the member must appear inside the owner's body: from the declaration to the first line
  // that closes it at column 0
  const rest = source.slice(at);
  const end = rest.search(/^}/m);
  const body = end < 0 ? rest : rest.slice(0, end);
  return new RegExp(
    `^\\s+(?:readonly\\s+|static\\s+|private\\s+|public\\s+|get\\s+|async\\s+)*#?` +
      `${escapeRe(member)}\\??\\s*[(:<]`,
    "m",
  ).test(body);
}

async function exists(url: URL): Promise<boolean> {
  try {
    await Deno.stat(url);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** A repository path in a code span: `kernels/gemm.ts`, `mod.ts`, `docs/figures/x.svg`. */
const PATH_SPAN = /^(?:\.\.\/)?(?:[\w-]+\/)*[\w.-]+\.(?:ts|wat|json|md|py|svg)$/;
/** Paths that are produced by running something and are not committed. */
const GENERATED = /^(?:runs\/|docs\/api\/|npm\/|node_modules\/)/;

/** Checks one page's references; `pageUrl` locates it, `md` is its text. */
async function checkPage(
  pageUrl: URL,
  md: string,
  stats: Stats,
  readText: (url: URL) => Promise<string> = (u) => Deno.readTextFile(u),
): Promise<Problem[]> {
  const page = pageUrl.pathname.slice(ROOT.pathname.length);
  const problems: Problem[] = [];
  const text = prose(md);
  const fail = (message: string) => problems.push({ page, message });
  stats.pages++;

  // A target with a space (and no "title") is not a link in Markdown: it renders as text, so the
  // loop below would never see it. Refuse it here.
  for (const m of text.matchAll(/\]\(([^)\s]+\s+[^)"\s][^)]*)\)/g)) {
    fail(`link target "${m[1]}" contains a space, so Markdown renders it as plain text`);
  }
  for (const m of text.matchAll(/\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const label = m[1], target = m[2];
    if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
    stats.links++;
    const [path, anchor] = target.split("#", 2);
    const url = path === "" ? pageUrl : new URL(path, pageUrl);
    const rel = url.pathname.slice(ROOT.pathname.length);
    if (!url.pathname.startsWith(ROOT.pathname)) {
      fail(`link ${target} leaves the repository`);
      continue;
    }
    if (path !== "" && !(await exists(url))) {
      fail(`link ${target} (${rel}) does not exist`);
      continue;
    }
    const base = rel.split("/").pop() ?? "";
    if (/^_.*\.ts$/.test(base)) {
      fail(`link ${target} points at a private file; name the public function instead`);
    }
    if (anchor !== undefined && rel.endsWith(".md")) {
      const targetMd = path === "" ? md : await readText(url);
      if (!anchors(targetMd).has(anchor)) {
        fail(`link ${target}: ${rel} has no heading with anchor #${anchor}`);
      }
    }
    const code = /^`([^`]+)`$/.exec(label.trim());
    if (code === null || !/\.(ts|wat)$/.test(rel)) continue;
    if (!NAME.test(code[1]) && !PATH_SPAN.test(code[1])) {
      // a quote: a piece of one line of the file, verbatim
      if (!(await readText(url)).includes(code[1])) {
        fail(`[\`${code[1]}\`](${target}): ${rel} has no such code`);
      } else stats.quoted++;
      continue;
    }
    const name = code[1].replace(/\(\)$/, "");
    if (PATH_SPAN.test(name)) {
      if (!rel.endsWith(name.replace(/^\.\.\//, ""))) {
        fail(`link [\`${name}\`](${target}): text and target differ`);
      }
      continue;
    }
    stats.symbols++;
    const ext = rel.split(".").pop() ?? "";
    if (!defines(await readText(url), ext, name)) {
      fail(`[\`${name}\`](${target}): ${rel} does not define ${name}`);
    }
  }

  for (const [file, body] of quoteBlocks(md)) {
    const url = new URL(file, ROOT);
    if (!(await exists(url))) {
      fail(`quote=${file}: no such file`);
      continue;
    }
    const missing = missingLine(await readText(url), body);
    if (missing !== null) {
      fail(`quote=${file}: ${file} has no line ${JSON.stringify(missing.trim())}`);
    } else stats.quoted += body.filter((l) => l.trim() !== "" && l.trim() !== "// ...").length;
  }

  for (const m of text.matchAll(/(?<!\[)`([^`\n]+)`(?!\]\()/g)) {
    const span = m[1];
    if (DERIVATION_CALL.test(span)) {
      fail(`\`${span}\` reads like code of the source: quote it as [\`…\`](file) so it is checked`);
    }
    if (!PATH_SPAN.test(span) || GENERATED.test(span)) continue;
    // a bare file name is a repository path only for code at the root (`mod.ts`); other bare
    // names (`training_curve.svg`) are names, not paths
    if (!span.includes("/") && !/\.(ts|wat)$/.test(span)) continue;
    stats.paths++;
    if (!(await exists(new URL(span, ROOT)))) fail(`\`${span}\` names a file that does not exist`);
  }
  return problems;
}

Deno.test("docs: every link, code reference and path in docs/*.md resolves", async () => {
  const stats: Stats = { pages: 0, links: 0, symbols: 0, paths: 0, quoted: 0 };
  const problems: Problem[] = [];
  const pages: string[] = [];
  for await (const e of Deno.readDir(DOCS)) {
    if (e.isFile && e.name.endsWith(".md")) pages.push(e.name);
  }
  let zhPages = 0;
  for await (const e of Deno.readDir(new URL("zh/", DOCS))) {
    if (!e.isFile || !e.name.endsWith(".md")) continue;
    pages.push(`zh/${e.name}`);
    zhPages++;
  }
  pages.sort();
  for (const name of pages) {
    const url = new URL(name, DOCS);
    problems.push(...await checkPage(url, await Deno.readTextFile(url), stats));
  }
  const report = problems.map((p) => `  ${p.page}: ${p.message}`).join("\n");
  assertEquals(problems.length, 0, `${problems.length} broken reference(s):\n${report}`);
  console.log(
    `docs refs: ${stats.pages} pages, ${stats.links} links (${stats.symbols} code symbols), ` +
      `${stats.paths} repository paths, ${stats.quoted} quoted lines: all resolve`,
  );
  // the docs are built on these references; far fewer would mean the parser stopped seeing them
  assert(stats.pages >= 9, `expected at least 9 pages in docs/, found ${stats.pages}`);
  assert(zhPages >= 7, `expected at least 7 pages in docs/zh/, found ${zhPages}`);
  assert(stats.symbols >= 40, `expected at least 40 code references, found ${stats.symbols}`);
  assert(stats.quoted >= 20, `expected at least 20 quoted lines of source, found ${stats.quoted}`);
});

Deno.test("docs refs checker: rejects each kind of broken reference", async () => {
  const page = new URL("docs/_probe.md", ROOT);
  const cases: [string, RegExp][] = [
    ["[`convBackward`](../layers/conv.ts)", /^$/],
    ["[`Conv2D.backward`](../layers/conv_layer.ts)", /^$/],
    ["[`kernels/im2col.ts`](../kernels/im2col.ts)", /^$/],
    ["[`convBackwards`](../layers/conv.ts)", /does not define convBackwards/],
    ["[`Conv2D.backwards`](../layers/conv_layer.ts)", /does not define Conv2D.backwards/],
    ["[`im2col`](../kernels/im2col_gone.ts)", /does not exist/],
    ["[`gemmArgs`](../kernels/_gemm_args.ts)", /private file/],
    ["[`kernels/add_at.ts`](../kernels/im2col.ts)", /text and target differ/],
    ["see `kernels/no_such_file.ts`", /names a file that does not exist/],
    ["[x](#no-such-heading)\n\n# A heading", /no heading with anchor #no-such-heading/],
    ["[x](#a-heading)\n\n# A heading", /^$/],
    ["```ts\n[`notDefined`](../layers/conv.ts)\n```", /^$/], // code blocks are not prose
    // quotes: verbatim or refused
    ["[`const y_n = addBias(gemm(w_col, x_col), b.data);`](../layers/conv.ts)", /^$/],
    ["[`gemm(w_col, x_col, { beta: 1, out: y_n })`](../layers/conv.ts)", /has no such code/],
    [
      "```ts ignore quote=layers/relu.ts\nexport function reluForward<T extends FloatArray>(\n```",
      /^$/,
    ],
    ["```ts ignore quote=layers/relu.ts\ny = relu(x);\n```", /has no line "y = relu\(x\);"/],
    [
      "```ts ignore quote=layers/conv.ts\nconst w_col = matrix(w.data, D, K); // w_col [D, K]: w as stored, one filter per row\n// ...\nexport function convForward<T extends FloatArray>(\n```",
      /has no line/, // out of order: convForward comes before the line above it
    ],
    ["```ts ignore quote=layers/nothing.ts\nx\n```", /no such file/],
    ["in the code, `gemm(w_col, dY_n, { transA: true, out: dx_col })`", /reads like code/],
    ["call `convBackward(dy, cache)`", /^$/], // a usage, not a quote
    ["the seed's numpy `w_col.dot(x_col)`", /^$/], // numpy's method, not a line of our source
    ["[x](im2col.md#the table)", /contains a space/], // Markdown shows this as text
    ['[x](im2col.md "a title")', /^$/], // a title is allowed
  ];
  for (const [md, expected] of cases) {
    const stats: Stats = { pages: 0, links: 0, symbols: 0, paths: 0, quoted: 0 };
    const problems = await checkPage(page, md, stats);
    const got = problems.map((p) => p.message).join("; ");
    assert(expected.test(got), `for ${JSON.stringify(md)}: expected ${expected}, got "${got}"`);
  }
});

Deno.test("docs refs checker: GitHub heading slugs", () => {
  assertEquals(slug("Why x → x_col is one-to-many"), "why-x--x_col-is-one-to-many");
  assertEquals(slug("The adjoint: `col2im`"), "the-adjoint-col2im");
  assertEquals([...anchors("# A\n## A\n```\n# not a heading\n```\n")], ["a", "a-1"]);
});

/** The code's pointers into docs/: `docs/page.md`, `docs/page.md#anchor`, and
 * `docs/page.md, "Heading"` (as the exercises' hints write them). Returns the problems. */
export async function checkCodePointers(
  file: string,
  text: string,
  readPage: (page: string) => Promise<string | undefined>,
): Promise<string[]> {
  const problems: string[] = [];
  const re = /(?<![\w/.])docs\/((?:zh\/)?[a-z0-9][a-z0-9_]*\.md)(?:#([a-z0-9-]+)|, "([^"\n]+)")?/g;
  for (const m of text.matchAll(re)) {
    const [, page, anchor, heading] = m;
    const md = await readPage(page);
    if (md === undefined) {
      problems.push(`${file}: docs/${page} does not exist`);
      continue;
    }
    const want = anchor ?? (heading === undefined ? undefined : slug(heading));
    if (want !== undefined && !anchors(md).has(want)) {
      problems.push(
        `${file}: docs/${page} has no heading ${anchor ? `#${anchor}` : `"${heading}"`}`,
      );
    }
  }
  return problems;
}

Deno.test("code: every pointer into docs/ from the source (hints, messages, comments) resolves", async () => {
  const skipDirs = new Set(["node_modules", "npm", ".git", "site", "playground-shots", "runs"]);
  const files: string[] = [];
  const walk = async (dir: URL, rel: string) => {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory) {
        if (!skipDirs.has(e.name) && !(rel === "docs/" && e.name === "api")) {
          await walk(new URL(`${e.name}/`, dir), `${rel}${e.name}/`);
        }
      } else if (/\.(ts|html)$/.test(e.name) && e.name !== "docs_refs_test.ts") {
        files.push(`${rel}${e.name}`);
      }
    }
  };
  await walk(ROOT, "");
  const cache = new Map<string, string | undefined>();
  const readPage = async (page: string) => {
    if (!cache.has(page)) {
      cache.set(page, await Deno.readTextFile(new URL(page, DOCS)).catch(() => undefined));
    }
    return cache.get(page);
  };
  const problems: string[] = [];
  let pointers = 0;
  for (const f of files.sort()) {
    const text = await Deno.readTextFile(new URL(f, ROOT));
    pointers += [...text.matchAll(/(?<![\w/.])docs\/(?:zh\/)?[a-z0-9][a-z0-9_]*\.md/g)].length;
    problems.push(...await checkCodePointers(f, text, readPage));
  }
  assertEquals(
    problems.length,
    0,
    `${problems.length} broken pointer(s):\n  ${problems.join("\n  ")}`,
  );
  // the exercises' hints alone name a dozen; far fewer would mean the pattern stopped matching
  assert(
    pointers >= 20,
    `expected at least 20 pointers into docs/ in the source, found ${pointers}`,
  );
});

Deno.test("code pointers checker: a missing page, anchor or heading is found", async () => {
  const pages: Record<string, string> = { "a.md": "# A page\n\n## Backward pass\n" };
  const read = (p: string) => Promise.resolve(pages[p]);
  const cases: [string, RegExp][] = [
    ["see docs/a.md", /^$/],
    ["see docs/a.md#backward-pass", /^$/],
    ['see docs/a.md, "Backward pass", for it', /^$/],
    ["see docs/b.md", /docs\/b\.md does not exist/],
    ["see docs/a.md#forward", /has no heading #forward/],
    ['see docs/a.md, "Forward pass"', /has no heading "Forward pass"/],
  ];
  for (const [text, expected] of cases) {
    const got = (await checkCodePointers("x.ts", text, read)).join("; ");
    assert(expected.test(got), `for ${JSON.stringify(text)}: expected ${expected}, got "${got}"`);
  }
});
