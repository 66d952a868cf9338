// One exercise graded in a worker (scripts/exercise.ts starts one per exercise), so that a
// learner's endless loop can be stopped by a timeout instead of hanging the grader. It receives
// what to grade and posts back the outcome's status and report lines. Private to scripts/.

/// <reference lib="deno.worker" />

import { EXERCISES, grade, load, type Outcome, report } from "./_exercises.ts";

/** What scripts/exercise.ts asks. */
export interface WorkerRequest {
  readonly name: string;
  readonly url: string;
  readonly shown: string;
  readonly seed: number;
}

/** What the worker answers. */
export interface WorkerAnswer {
  readonly status: Outcome["status"];
  readonly lines: string[];
}

self.onmessage = async (event: MessageEvent<WorkerRequest>) => {
  const { name, url, shown, seed } = event.data;
  const exercise = EXERCISES.find((e) => e.name === name)!;
  const loaded = await load(exercise, new URL(url));
  const outcome: Outcome = "reason" in loaded
    ? { status: "cannot load", reason: loaded.reason }
    : grade(exercise, loaded, seed, shown);
  const answer: WorkerAnswer = { status: outcome.status, lines: report(exercise, outcome, shown) };
  self.postMessage(answer);
};
