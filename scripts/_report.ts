// Text output shared by scripts/train.ts and scripts/evaluate.ts: durations, the progress line
// and the confusion matrix. Private to the command-line scripts.

import type { Evaluation } from "../training/loop.ts";

/** 83 s -> "1m23s"; 9.5 s -> "9.5s". */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, r = s % 60;
  return h > 0
    ? `${h}h${String(m).padStart(2, "0")}m${String(r).padStart(2, "0")}s`
    : `${m}m${String(r).padStart(2, "0")}s`;
}

/** 0.98765 -> "98.77%". */
export function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(2)}%`;
}

/** The confusion matrix as a table: rows the true class, columns the predicted one. */
export function confusionTable(ev: Evaluation): string {
  const K = ev.classes;
  const w = Math.max(4, String(Math.max(...ev.confusion)).length + 1);
  const lines = [
    "confusion matrix (rows: true digit, columns: predicted digit)",
    "     " + Array.from({ length: K }, (_, k) => String(k).padStart(w)).join("") +
    "   errors",
  ];
  for (let t = 0; t < K; t++) {
    const row = ev.confusion.subarray(t * K, (t + 1) * K);
    const total = row.reduce((a, b) => a + b, 0);
    lines.push(
      `  ${t}  ` + Array.from(row, (v) => String(v).padStart(w)).join("") +
        String(total - row[t]).padStart(9),
    );
  }
  return lines.join("\n");
}

/** The confusion matrix as nested arrays, for JSON. */
export function confusionRows(ev: Evaluation): number[][] {
  const K = ev.classes;
  return Array.from({ length: K }, (_, t) => Array.from(ev.confusion.subarray(t * K, (t + 1) * K)));
}

/**
 * Writes a progress line to stderr: in place (carriage return) on a terminal, throttled to a few
 * updates a second; otherwise as separate lines, about ten per epoch, so logs stay readable.
 */
export class Progress {
  #tty: boolean;
  #last = 0;
  #open = false;
  #encoder = new TextEncoder();

  constructor() {
    this.#tty = Deno.stderr.isTerminal();
  }

  /** Shows `line`; `force` shows it even if the last update was very recent. */
  update(line: string, opts: { force?: boolean; milestone?: boolean } = {}): void {
    const now = performance.now();
    if (this.#tty) {
      if (!opts.force && now - this.#last < 250) return;
      this.#last = now;
      this.#write(`\r\x1b[2K${line}`);
      this.#open = true;
    } else if (opts.force || opts.milestone) {
      this.#write(`${line}\n`);
    }
  }

  /** Ends an in-place line, so the next output starts on a fresh line. */
  done(): void {
    if (this.#open) this.#write("\n");
    this.#open = false;
  }

  #write(s: string): void {
    Deno.stderr.writeSync(this.#encoder.encode(s));
  }
}
