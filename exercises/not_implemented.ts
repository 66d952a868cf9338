/**
 * The marker an exercise's stub throws: `deno task exercise` recognises it (by its name,
 * "NotImplemented") and reports "not implemented yet" instead of a failure.
 *
 * @module
 */

/** Thrown by an exercise that has not been written yet. */
export class NotImplemented extends Error {
  /** The exercise, as `deno task exercise` names it ("conv_forward"). */
  readonly exercise: string;

  /**
   * @param exercise The exercise's name, as `deno task exercise` takes it.
   * @param args The stub's arguments, described in the message (their shapes), so that a call
   *   from your own code says what it was asked.
   *
   * @example
   * ```ts
   * import { NotImplemented } from "./not_implemented.ts";
   * import { assertEquals } from "@std/assert";
   * const e = new NotImplemented("conv_forward", { x: { shape: [1, 1, 3, 3], data: new Float64Array(9) } });
   * assertEquals(e.message, "conv_forward: not implemented yet (called with x [1,1,3,3])");
   * ```
   */
  constructor(exercise: string, args: Record<string, unknown> = {}) {
    const called = Object.entries(args).map(([k, v]) => `${k} ${describe(v)}`).join(", ");
    super(`${exercise}: not implemented yet${called === "" ? "" : ` (called with ${called})`}`);
    this.name = "NotImplemented";
    this.exercise = exercise;
  }
}

/** A tensor as its shape, anything else as JSON (functions by name). */
function describe(v: unknown): string {
  if (typeof v === "function") return `function ${v.name || "(anonymous)"}`;
  if (typeof v === "object" && v !== null && Array.isArray((v as { shape?: unknown }).shape)) {
    return `[${(v as { shape: number[] }).shape.join(",")}]`;
  }
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
