/// <reference lib="dom" />
// The library's own source files, as the site ships them (scripts/playground/data.ts writes
// src/<path>), with chosen lines found by their text and highlighted. Lines are found by exact
// content, never by number, so an edit to the source moves the highlight with the code and a
// changed line is reported at once instead of highlighting the wrong one.

import { el } from "./_ui.ts";

/** Some lines of one file: each `lines` entry is a whole line of code (trimmed), searched for in
 * order after the line containing `after` (a function's signature). */
export interface SourceRef {
  file: string;
  after: string;
  lines: readonly string[];
}

const cache = new Map<string, Promise<string[]>>();

/** The lines of `src/<file>` from the site. */
export function sourceLines(file: string): Promise<string[]> {
  let p = cache.get(file);
  if (p === undefined) {
    p = fetch(new URL(`src/${file}`, location.href)).then(async (r) => {
      if (!r.ok) throw new Error(`src/${file}: HTTP ${r.status}`);
      return (await r.text()).split("\n");
    });
    cache.set(file, p);
  }
  return p;
}

/**
 * The 0-based line numbers of `ref.lines` in `text`: the line holding `after`, then each line
 * in turn, the first whole-line match after the previous one.
 *
 * @throws {Error} Naming the file and the line that is not there.
 */
export function findLines(text: readonly string[], ref: SourceRef): number[] {
  const start = text.findIndex((l) => l.includes(ref.after));
  if (start < 0) throw new Error(`${ref.file}: no line contains "${ref.after}"`);
  const found: number[] = [];
  let from = start;
  for (const want of ref.lines) {
    let at = -1;
    for (let i = from; i < text.length; i++) {
      if (text[i].trim() === want) {
        at = i;
        break;
      }
    }
    if (at < 0) throw new Error(`${ref.file}: after "${ref.after}", no line reads "${want}"`);
    found.push(at);
    from = at + 1;
  }
  return found;
}

/**
 * One file shown in a scroll box, line numbers in the margin, the found lines highlighted. Call
 * {@link revealHighlights} once it is in the page.
 */
export async function sourceView(ref: SourceRef): Promise<HTMLElement> {
  const text = await sourceLines(ref.file);
  const hot = new Set(findLines(text, ref));
  const pre = el("pre", {
    class: "source",
    tabindex: 0,
    "aria-label": `${ref.file}, the highlighted lines computed this step`,
  });
  text.forEach((line, i) => {
    const row = el("span", { class: hot.has(i) ? "line hot" : "line" });
    if (hot.has(i)) {
      row.dataset.testid = "source-line";
      row.dataset.file = ref.file;
      row.dataset.line = String(i + 1);
    }
    row.append(el("span", { class: "ln", "aria-hidden": "true" }, String(i + 1)), line);
    pre.append(row);
  });
  const box = el(
    "figure",
    { class: "source-box" },
    el(
      "figcaption",
      {},
      el("code", {}, ref.file),
      ` ${hot.size === 1 ? "line" : "lines"} ${[...hot].map((i) => i + 1).join(", ")},` +
        " as the library has them",
    ),
    pre,
  );
  return box;
}

/**
 * Scrolls each source box under `root` (inside the box only, not the page) to its first
 * highlighted line. Only a box in the page has a layout to scroll, hence a separate call.
 */
export function revealHighlights(root: HTMLElement): void {
  for (const pre of root.querySelectorAll<HTMLElement>("pre.source")) {
    const line = pre.querySelector<HTMLElement>(".line.hot");
    if (line) pre.scrollTop = Math.max(0, line.offsetTop - pre.offsetTop - 48);
  }
}
