// The command lines' argument parsing: node:util's parseArgs, made strict about values. Every
// refusal is a UsageError whose message names the flag and what it accepts. Private to scripts/.

import { parseArgs } from "node:util";

/** A bad command line: the scripts print it with their usage text and exit 2. */
export class UsageError extends Error {}

type Flags = Record<string, { type: "string" | "boolean" }>;

/**
 * Parses `args` against `flags` (unknown flags and positionals refused). A negative number after
 * a flag that takes a value (`--epochs -1`) is that flag's value, as a user means it, not a
 * flag of its own ("argument is ambiguous"); the flag's own check then refuses or accepts it.
 */
export function parseFlags(
  args: readonly string[],
  flags: Flags,
): Record<string, string | boolean | undefined> {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i], name = a.startsWith("--") ? a.slice(2) : undefined;
    if (
      name !== undefined && flags[name]?.type === "string" && i + 1 < args.length &&
      /^-[\d.]/.test(args[i + 1])
    ) {
      joined.push(`${a}=${args[++i]}`);
    } else joined.push(a);
  }
  try {
    return parseArgs({ args: joined, options: flags, strict: true, allowPositionals: false })
      .values as Record<string, string | boolean | undefined>;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

// Plain decimal numbers only: Number() would also read "0x10" as 16, "1_0" as NaN, " " as 0.
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

/**
 * An integer flag in [min, max]; `fallback` when absent.
 *
 * @throws {UsageError} Naming the flag and the range, for anything else.
 */
export function integerFlag(
  name: string,
  value: string | boolean | undefined,
  fallback: number,
  range: { min: number; max?: number },
): number {
  if (value === undefined) return fallback;
  const { min, max = Number.MAX_SAFE_INTEGER } = range;
  const n = typeof value === "string" && INTEGER.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const valid = max === Number.MAX_SAFE_INTEGER
      ? min === 1 ? "a positive integer" : `an integer ≥ ${min}`
      : `an integer from ${min} to ${max}`;
    throw new UsageError(`--${name} must be ${valid}, got "${value}"`);
  }
  return n;
}

/**
 * A decimal number flag, finite, with `min ≤ x` (or `min < x` when `above`) and `x < below`;
 * `fallback` when absent.
 *
 * @throws {UsageError} Naming the flag and the range, for anything else.
 */
export function numberFlag(
  name: string,
  value: string | boolean | undefined,
  fallback: number,
  range: { min: number; above?: boolean; below?: number },
): number {
  if (value === undefined) return fallback;
  const { min, above = false, below = Infinity } = range;
  const n = typeof value === "string" && DECIMAL.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || (above ? n <= min : n < min) || n >= below) {
    const low = above ? `above ${min}` : `≥ ${min}`;
    const valid = below === Infinity
      ? `a decimal number ${low}`
      : `a decimal number ${low} and below ${below}`;
    throw new UsageError(`--${name} must be ${valid}, got "${value}"`);
  }
  return n;
}

/**
 * One of `choices` (own names only: `__proto__` or `constructor` is not a model); `fallback`
 * when absent.
 *
 * @throws {UsageError} Naming the flag and the choices, for anything else.
 */
export function choiceFlag<C extends string>(
  name: string,
  value: string | boolean | undefined,
  fallback: C,
  choices: readonly C[],
): C {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || !(choices as readonly string[]).includes(value)) {
    throw new UsageError(`--${name} must be one of ${choices.join(", ")}, got "${value}"`);
  }
  return value as C;
}

/**
 * A path flag: not empty; `fallback` when absent.
 *
 * @throws {UsageError} For an empty value.
 */
export function pathFlag(
  name: string,
  value: string | boolean | undefined,
  fallback: string,
): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || value === "") {
    throw new UsageError(`--${name} must be a file path, got "${value}"`);
  }
  return value;
}
