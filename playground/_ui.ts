/// <reference lib="dom" />
// Shared by the playground's pages: building elements, formatting numbers, reading the query,
// and the "ready" mark the checks (scripts/check/playground.ts) wait for.

/** Attributes and properties of {@link el}: strings become attributes, functions listeners. */
export type Attrs = Record<string, string | number | boolean | EventListener | undefined>;

/**
 * A new element: `el("td", { class: "pad", "data-src": -1 }, "0")`. `on<event>` keys add
 * listeners; `false`/`undefined` values are left out; `true` sets an empty attribute.
 */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === "function") e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  e.append(...children);
  return e;
}

/** A number as a short readable string: integers as they are, others to `digits` significant. */
export function fmt(v: number, digits = 4): string {
  if (Object.is(v, -0)) return "0";
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  if (!Number.isFinite(v)) return String(v);
  const s = v.toPrecision(digits);
  return s.includes("e") ? s : String(Number(s));
}

/** The integer query parameter `name` if it is one in [min, max], else `fallback`. */
export function queryInt(name: string, fallback: number, min: number, max: number): number {
  const raw = new URLSearchParams(location.search).get(name);
  if (raw === null || !/^\d+$/.test(raw)) return fallback;
  const n = Number(raw);
  return n >= min && n <= max ? n : fallback;
}

/** Marks the page rendered: the checks wait for `<html data-ready="1">`. */
export function markReady(): void {
  document.documentElement.dataset.ready = "1";
}

/** The element with this id, typed; throws if the page lacks it (a page bug, found at once). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`the page has no #${id}`);
  return e as T;
}

/**
 * Arrow-key movement inside a table of focusable cells (the ARIA grid pattern): one Tab stop per
 * table (the cell with tabindex 0), arrows, Home and End move the focus between the `td`s that
 * have a tabindex, and focusing a cell is what highlights it, so the keyboard sees what the
 * mouse sees.
 */
export function gridKeys(table: HTMLTableElement): void {
  const cells = [...table.querySelectorAll<HTMLTableCellElement>("td[tabindex]")];
  cells.forEach((c, i) => c.tabIndex = i === 0 ? 0 : -1);
  table.addEventListener("keydown", (ev) => {
    const td = (ev.target as HTMLElement).closest("td");
    if (td === null || !table.contains(td)) return;
    const tr = td.parentElement as HTMLTableRowElement;
    const rows = [...table.rows];
    let r = rows.indexOf(tr), c = td.cellIndex;
    const at = (): HTMLTableCellElement | undefined => {
      const cell = rows[r]?.cells[c];
      return cell instanceof HTMLTableCellElement && cell.tagName === "TD" &&
          cell.hasAttribute("tabindex")
        ? cell
        : undefined;
    };
    const moves: Record<string, () => void> = {
      ArrowRight: () => c++,
      ArrowLeft: () => c--,
      ArrowDown: () => r++,
      ArrowUp: () => r--,
    };
    let next: HTMLTableCellElement | undefined;
    if (ev.key in moves) {
      // step until a focusable cell or the edge (padding cells in between are skipped)
      for (let i = 0; i < 64 && next === undefined; i++) {
        moves[ev.key]();
        if (r < 0 || r >= rows.length || c < 0 || c > 400) break;
        next = at();
      }
    } else if (ev.key === "Home") next = cells[0];
    else if (ev.key === "End") next = cells[cells.length - 1];
    else return;
    ev.preventDefault();
    if (next === undefined) return;
    td.tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  });
}
