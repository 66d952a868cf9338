// Grades the exercises of exercises/ (docs/exercises.md): a learner's implementation of a naive
// convolution, its backward pass, the pooling gradients, the strided dX and a gradient checker,
// against the library's reference path, on named edge cases and seeded random geometries.
//
//   deno task exercise conv_forward                      grade exercises/conv_forward.ts
//   deno task exercise conv_forward --file my_conv.ts    grade a file of your own
//   deno task exercise --all                             every exercise of exercises/
//   deno task exercise --all --solutions                 the project's solutions (CI runs it)
//
// One line per exercise and a summary; exit 0 only when every exercise asked for passes, 1 when
// one fails or is not implemented yet, 2 for a bad command line. Deno only (it imports the
// learner's file); the library it checks against runs anywhere.

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { type Exercise, EXERCISES } from "./_exercises.ts";
import type { WorkerAnswer, WorkerRequest } from "./_exercise_worker.ts";
import { TOLERANCE } from "./_exercise_checks.ts";
import { integerFlag, pathFlag, UsageError } from "./_cli.ts";

const ROOT = new URL("../", import.meta.url);

const USAGE =
  `Grade the exercises of exercises/ against convprop's reference path (docs/exercises.md).

Usage: deno task exercise NAME... [options]
       deno task exercise --all [options]

  NAME              one or more of the exercises (below)
  --all             every exercise, in order
  --file PATH       grade PATH instead of exercises/NAME.ts (one NAME only): a file of your own
  --solutions       grade the project's solutions, exercises/solutions/NAME.ts
  --seed N          the random geometries' seed (default: a new one each run, printed)
  --timeout S       give up on an exercise after S seconds, an endless loop (default 30)
  --help            this text

Exit status: 0 when every exercise asked for passes, 1 otherwise, 2 for a bad command line.

The exercises, in order:
${EXERCISES.map((e) => `  ${e.name.padEnd(20)}${e.title}`).join("\n")}`;

/** The command line, checked. */
interface Request {
  exercises: readonly Exercise[];
  /** The file to grade for an exercise, as given (for the report) and as a URL. */
  file: (e: Exercise) => { shown: string; url: URL };
  seed: number;
  /** Seconds an exercise may take. */
  timeout: number;
}

/** `--seed -1` as the flag's value (refused by its check), not as a flag of its own. */
function joinNegative(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (/^--(seed|timeout)$/.test(args[i]) && /^-\d/.test(args[i + 1] ?? "")) {
      out.push(`${args[i]}=${args[++i]}`);
    } else out.push(args[i]);
  }
  return out;
}

function parse(args: string[]): Request | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegative(args),
      options: {
        all: { type: "boolean" },
        file: { type: "string" },
        solutions: { type: "boolean" },
        seed: { type: "string" },
        timeout: { type: "string" },
        help: { type: "boolean" },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return null;
  const byName = new Map(EXERCISES.map((e) => [e.name, e]));
  for (const name of positionals) {
    if (!byName.has(name.replace(/\.ts$/, ""))) {
      throw new UsageError(
        `no exercise "${name}"; the exercises are ${EXERCISES.map((e) => e.name).join(", ")}`,
      );
    }
  }
  if (values.all && positionals.length > 0) {
    throw new UsageError("give exercise names or --all, not both");
  }
  if (!values.all && positionals.length === 0) {
    throw new UsageError("which exercise? give its name (or several), or --all");
  }
  const exercises = values.all
    ? EXERCISES
    : [...new Set(positionals.map((n) => byName.get(n.replace(/\.ts$/, ""))!))];
  if (values.file !== undefined && values.solutions) {
    throw new UsageError("--file and --solutions: choose one");
  }
  if (values.file !== undefined && exercises.length !== 1) {
    throw new UsageError("--file grades one exercise: give exactly one NAME");
  }
  const own = values.file === undefined ? undefined : pathFlag("file", values.file, "");
  const seed = integerFlag(
    "seed",
    values.seed,
    crypto.getRandomValues(new Uint32Array(1))[0],
    { min: 0, max: 2 ** 32 - 1 },
  );
  const file = (e: Exercise): { shown: string; url: URL } => {
    if (own !== undefined) {
      return { shown: own, url: pathToFileURL(resolve(own)) };
    }
    const shown = values.solutions ? `exercises/solutions/${e.name}.ts` : `exercises/${e.name}.ts`;
    return { shown, url: new URL(shown, ROOT) };
  };
  const timeout = integerFlag("timeout", values.timeout, 30, { min: 1, max: 3600 });
  return { exercises, file, seed, timeout };
}

/**
 * Grades one exercise in a worker: its answer, or a timeout's when the learner's function has
 * not returned after `seconds` (the worker is then stopped).
 */
function gradeInWorker(request: WorkerRequest, seconds: number): Promise<WorkerAnswer> {
  const worker = new Worker(new URL("./_exercise_worker.ts", import.meta.url), { type: "module" });
  return new Promise<WorkerAnswer>((done) => {
    const finish = (answer: WorkerAnswer) => {
      clearTimeout(timer);
      worker.terminate();
      done(answer);
    };
    const timer = setTimeout(() =>
      finish({
        status: "fail",
        lines: [
          `${request.name}: did not finish within ${seconds} s (${request.shown}): an endless ` +
          `loop? (a loop whose index never reaches its bound, or a while whose condition stays true)`,
        ],
      }), seconds * 1000);
    worker.onmessage = (event: MessageEvent<WorkerAnswer>) => finish(event.data);
    worker.onerror = (event: ErrorEvent) => {
      // an error outside the graded calls: the learner's timers or promises, after a call returned
      event.preventDefault();
      finish({
        status: "fail",
        lines: [`${request.name}: an error outside your function's calls: ${event.message}`],
      });
    };
    worker.postMessage(request);
  });
}

async function main(args: string[]): Promise<number> {
  const request = parse(args);
  if (request === null) {
    console.log(USAGE);
    return 0;
  }
  const { exercises, file, seed, timeout } = request;
  console.log(
    `convprop exercises: ${exercises.length} to grade against the reference path ` +
      `(setBackend("reference")), float64, tolerance ${TOLERANCE}·(1 + |expected|) per entry; ` +
      `seed ${seed} (rerun with --seed ${seed})`,
  );
  const answers: [Exercise, WorkerAnswer][] = [];
  for (const e of exercises) {
    const { shown, url } = file(e);
    const answer = await gradeInWorker({ name: e.name, url: url.href, shown, seed }, timeout);
    answers.push([e, answer]);
    for (const line of answer.lines) console.log(line);
  }
  const ok = answers.filter(([, a]) => a.status === "ok").length;
  const others = answers.filter(([, a]) => a.status !== "ok").map(([e, a]) =>
    `${e.name} ${
      a.status === "not implemented"
        ? "not implemented yet"
        : a.status === "cannot load"
        ? "cannot be loaded"
        : "failed"
    }`
  );
  console.log(
    `${ok} of ${answers.length} passed${others.length > 0 ? `; ${others.join(", ")}` : ""}`,
  );
  return ok === answers.length ? 0 : 1;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`exercise: ${e.message}\n\n${USAGE}`);
      Deno.exit(2);
    }
    throw e;
  }
}
