// The docs' rule for numbers (docs/README.md, "Writing for these pages"): a number in the text is
// either computed and asserted, to the digits shown, by a `ts` block of the page, or marked with
// the command that produces it. Speed is never asserted (a test that asserts a time fails on a
// slow day), so every timing must carry the marker. This test checks the part of the rule that
// can be checked mechanically without guessing: every paragraph of docs/*.md (a table counts with
// the paragraph just before it, which introduces it) that quotes a time or a rate (a number with
// ms, µs, ns, s, min, GFLOP/s, img/s, images per second, or "N× / N times faster/slower") contains the marker `measured:`.
//
// What it cannot check, and docs/README.md leaves to the writer and the reviewer: that an
// asserted number is quoted no more precisely than its block asserts it, and that numbers which
// are not timings (accuracies, losses, counts) are asserted or marked. It does not read docs/zh/
// (the translations follow the English pages) or the generated docs/api/.

import { assert, assertEquals } from "@std/assert";

const DOCS = new URL("../docs/", import.meta.url);

/** A time or a rate: the things that are measured, never asserted. */
const TIMING = new RegExp(
  [
    String.raw`\d(?:[\d.,]*\d)?\s?(?:ms|µs|μs|ns|min)\b`, // 4.5 µs, 88 ms, 3 min
    String.raw`\d(?:[\d.]*\d)? s\b(?![-'’])`, // 88 s (not "1s", the plural of 1)
    String.raw`\d+m\d+s\b`, // 1m03s
    String.raw`GFLOP/s|img/s|\d/s\b`, // throughput
    String.raw`\d(?:\.\d+)?(?:×|\s+times)\s+(?:faster|slower)`, // 1.6× faster, 3.7 times faster
    String.raw`\d\s+(?:images|img) per second`, // 47 images per second
  ].join("|"),
);

/** The marker: "measured:" or "measured by", then what measured it: a command or file in a code
 * span, or the commit that records a one-off experiment. */
const MARKER = /measured(?::| by)[^]*?(?:`[^`]+`|commit\s+[0-9a-f]{7,40})/i;

/** A page that is one command's record says so before its first section, as performance.md:
 * "This page is generated" and the marker. Its generated part (up to a `<!-- kept by` comment,
 * after which the hand-written sections follow, or the whole page) is covered by that marker. */
function generatedUpTo(md: string): number {
  const intro = md.split(/^## /m, 1)[0];
  if (!/This page is generated/.test(intro) || !MARKER.test(intro)) return 0;
  const kept = md.split("\n").findIndex((l) => l.startsWith("<!-- kept by"));
  return kept < 0 ? Infinity : kept + 1;
}

/** The prose units of a page: paragraphs with fenced blocks removed; a table joins the paragraph
 * before it. Returns [first line number, text]. */
export function units(md: string): [number, string][] {
  const out: [number, string][] = [];
  let fence: string | undefined, current: string[] = [], start = 0;
  const lines = md.split("\n");
  const flush = () => {
    if (current.length > 0) out.push([start, current.join("\n")]);
    current = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const m = /^\s*(`{3,}|~{3,})/.exec(line);
    if (m) {
      if (fence === undefined) {
        fence = m[1];
        flush();
      } else if (m[1].startsWith(fence[0]) && m[1].length >= fence.length) fence = undefined;
      continue;
    }
    if (fence !== undefined) continue;
    if (line.trim() === "") {
      // a table keeps the paragraph before it: do not close the unit if a table follows
      const next = lines.slice(i + 1).find((l) => l.trim() !== "");
      if (next !== undefined && next.trimStart().startsWith("|") && current.length > 0) {
        if (!current[current.length - 1].trimStart().startsWith("|")) continue;
      }
      flush();
      continue;
    }
    if (current.length === 0) start = i + 1;
    current.push(line);
  }
  flush();
  return out;
}

/** The units of `md` that quote a timing without the marker: [line, the timing found]. */
export function unmarked(md: string): [number, string][] {
  const out: [number, string][] = [];
  const skip = generatedUpTo(md);
  for (const [line, text] of units(md)) {
    if (line <= skip) continue;
    const t = TIMING.exec(text.replace(/`[^`]*`/g, "")); // code spans are commands, not numbers
    if (t !== null && !MARKER.test(text)) out.push([line, t[0]]);
  }
  return out;
}

Deno.test("docs: every timing in docs/*.md is marked with the command that measured it", async () => {
  const problems: string[] = [];
  let timed = 0;
  for await (const e of Deno.readDir(DOCS)) {
    if (!e.isFile || !e.name.endsWith(".md")) continue;
    const md = await Deno.readTextFile(new URL(e.name, DOCS));
    for (const [line, text] of units(md)) {
      if (TIMING.test(text.replace(/`[^`]*`/g, ""))) timed++;
      void line;
    }
    for (const [line, t] of unmarked(md)) problems.push(`  docs/${e.name}:${line}: "${t}"`);
  }
  assertEquals(
    problems.length,
    0,
    `${problems.length} paragraph(s) quote a timing without "measured:" and the command:\n` +
      problems.sort().join("\n"),
  );
  // the docs quote many measurements; far fewer would mean the pattern stopped seeing them
  assert(timed >= 10, `expected at least 10 paragraphs with timings, found ${timed}`);
});

Deno.test("docs numbers checker: finds timings, accepts the marker, ignores code", () => {
  const cases: [string, number][] = [
    ["W1 took 1.8 ms against 2.9.", 1],
    ["W1 took 1.8 ms (measured: `deno bench --allow-read layers/conv_bench.ts`).", 0],
    ["It runs 512³ at about 49 GFLOP/s.", 1],
    ["wall time 1m03s", 1],
    ["the gather is 1.6× faster", 1],
    ["3.7 times faster", 1],
    ["it ran at 47 images per second", 1],
    ["as many 1s as copies", 0], // a plural, not seconds
    ["it took 2.9 ms (measured: once, commit c6834f9)", 0], // a one-off, named by its commit
    ["it took 2.9 ms (measured: once)", 1], // a marker must say what measured it
    ["Measured by `deno bench x_bench.ts`:\n\n| a | b |\n| 1 ms | 2 |", 0],
    ["# P\n\nThis page is generated, measured by `deno task compare`.\n\n## R\n\n5 ms", 0],
    ["# P\n\nThis page is generated, measured by `x`.\n\n<!-- kept by x -->\n\n5 ms", 1],
    ["training 88 s, 685/s", 1],
    ["a 3×3 kernel, stride 2, 18 entries", 0],
    ["```text\n88 ms\n```", 0], // a fenced block is output, not prose
    ["see `deno bench 10ms`", 0], // a code span is a command
    ["The crossovers:\n\n| shape | µs |\n| 32³ | 4.5 µs |", 1], // the table joins its paragraph
    ["The crossovers (measured: `deno bench`):\n\n| shape | µs |\n| 32³ | 4.5 µs |", 0],
  ];
  for (const [md, expected] of cases) {
    assertEquals(unmarked(md).length, expected, `for ${JSON.stringify(md)}`);
  }
});
