// The exercise grader (scripts/exercise.ts, docs/exercises.md) catches what a learner gets wrong:
// each test grades a mutant of a project solution (one mistake a learner makes: an index off by
// one, the stride forgotten, `=` where overlapping windows must sum, a wrong output size, the
// padding's divisor, a checker that always says "ok") and asserts the failure, the case it shows
// first and the message. It accepts the solutions on several seeds, rejects the shipped stubs with
// "not implemented yet", reports wrong return values, thrown errors and endless loops without
// crashing, and the command line's exit codes are checked by running it. Deno only (it imports
// TypeScript files written at run time and spawns `deno run`): scripts/check/node.ts skips it.

import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { getBackend } from "../mod.ts";
import {
  type Exercise,
  EXERCISES,
  grade,
  load,
  type Outcome,
  report,
} from "../scripts/_exercises.ts";

const ROOT = new URL("../", import.meta.url);
const SEED = 20261202;

function exercise(name: string): Exercise {
  const e = EXERCISES.find((x) => x.name === name);
  if (e === undefined) throw new Error(`no exercise ${name}`);
  return e;
}

/** Grades the module at `url` for `name`; the outcome and the report's lines. */
async function gradeFile(
  name: string,
  url: URL,
  shown: string,
  seed = SEED,
): Promise<{ outcome: Outcome; lines: string[] }> {
  const e = exercise(name), backend = getBackend();
  const loaded = await load(e, url);
  const outcome: Outcome = "reason" in loaded
    ? { status: "cannot load", reason: loaded.reason }
    : grade(e, loaded, seed, shown);
  assertEquals(getBackend(), backend, "grading restores the backend");
  return { outcome, lines: report(e, outcome, shown) };
}

/**
 * A solution with one mistake put in: each `[from, to]` replaces text that must occur exactly
 * once in exercises/solutions/NAME.ts (so a reworded solution fails here, loudly, instead of
 * silently testing an unmutated copy). Relative imports become absolute, so the mutant runs
 * from a temporary directory.
 */
async function mutant(name: string, ...edits: [string, string][]): Promise<URL> {
  let text = await Deno.readTextFile(new URL(`exercises/solutions/${name}.ts`, ROOT));
  for (const [from, to] of edits) {
    const count = text.split(from).length - 1;
    assertEquals(count, 1, `"${from}" occurs ${count} times in the ${name} solution`);
    text = text.replace(from, to);
  }
  text = text.replaceAll(`from "../../`, `from "${ROOT.href}`)
    .replaceAll(`from "../`, `from "${new URL("exercises/", ROOT).href}`);
  return await temporary(text);
}

// one directory for the module's files, removed when the test run ends
const dir = Deno.makeTempDirSync({ prefix: "convprop-exercise-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
let serial = 0;

/** A module file with `text`, in the temporary directory. */
async function temporary(text: string, ext = "ts"): Promise<URL> {
  const path = `${dir}/mutant_${serial++}.${ext}`;
  await Deno.writeTextFile(path, text);
  return new URL(`file://${path}`);
}

/** The outcome as a failure, or a thrown assertion with the report. */
function failure(r: { outcome: Outcome; lines: string[] }): Extract<Outcome, { status: "fail" }> {
  if (r.outcome.status !== "fail") throw new Error(`expected a failure:\n${r.lines.join("\n")}`);
  return r.outcome;
}

/** Asserts a failure whose first failing case is `label` and whose details match `details`. */
function assertFails(
  r: { outcome: Outcome; lines: string[] },
  label: string,
  ...details: RegExp[]
): void {
  assertEquals(r.outcome.status, "fail", r.lines.join("\n"));
  if (r.outcome.status !== "fail") return;
  assertEquals(r.outcome.first.case.label, label, r.lines.join("\n"));
  const text = r.lines.join("\n");
  for (const d of details) assertMatch(text, d);
}

// --- the solutions pass, the stubs are not implemented ----------------------------------------

Deno.test("exercise: every solution passes, on several seeds", async () => {
  for (const e of EXERCISES) {
    for (const seed of [SEED, 1, 4294967295]) {
      const shown = `exercises/solutions/${e.name}.ts`;
      const r = await gradeFile(e.name, new URL(shown, ROOT), shown, seed);
      assertEquals(r.outcome.status, "ok", r.lines.join("\n"));
      assertMatch(
        r.lines[0],
        new RegExp(`^${e.name}: ok \\(\\d+ (geometries|cases), ${shown}\\)$`),
      );
    }
  }
});

Deno.test("exercise: every shipped stub is 'not implemented yet', naming the file to edit", async () => {
  for (const e of EXERCISES) {
    const shown = `exercises/${e.name}.ts`;
    const r = await gradeFile(e.name, new URL(shown, ROOT), shown);
    assertEquals(r.outcome.status, "not implemented");
    assertEquals(r.lines, [`${e.name}: not implemented yet (edit exercises/${e.name}.ts)`]);
  }
});

Deno.test("exercise: the same seed gives the same geometries and the same report", async () => {
  const url = await mutant("conv_forward", ["oh * sh - ph + i", "oh - ph + i"]);
  const a = await gradeFile("conv_forward", url, "mine.ts", 99);
  const b = await gradeFile("conv_forward", url, "mine.ts", 99);
  assertEquals(a.lines, b.lines);
  const c = await gradeFile("conv_forward", url, "mine.ts", 100);
  // the named edge cases do not depend on the seed; the random geometries do
  assertEquals(failure(a).first.case.geometry, failure(c).first.case.geometry);
});

// --- conv_forward ---------------------------------------------------------------------------

Deno.test("exercise conv_forward: an index off by one is caught at the first entry", async () => {
  const url = await mutant("conv_forward", ["oh * sh - ph + i", "oh * sh - ph + i + 1"]);
  assertFails(
    await gradeFile("conv_forward", url, "mine.ts"),
    "the plain case",
    /^conv_forward: FAIL in 26 of 26 geometries \(mine\.ts\)$/m,
    /x \[1,1,4,4\], w \[1,1,3,3\], b \[1\], stride \[1,1\], padding \[0,0\]/,
    /y: \d+ of 4 entries wrong; the first at \[0,0,0,0\]: expected -?[\d.e-]+, got -?[\d.e-]+ \(difference -?[\d.e-]+\)/,
    /the derivation: docs\/im2col\.md#the-definition/,
  );
});

Deno.test("exercise conv_forward: a forgotten stride passes stride 1 and fails stride 2", async () => {
  const url = await mutant(
    "conv_forward",
    ["oh * sh - ph + i", "oh - ph + i"],
    ["ow * sw - pw + j", "ow - pw + j"],
  );
  const r = await gradeFile("conv_forward", url, "mine.ts");
  assertFails(r, "stride 2", /hint: window \(oh, ow\) starts at row oh·sh − ph/);
  for (const ok of ["the plain case", "C > 1 and D > 1", "N > 1", "padding 1"]) {
    assert(failure(r).passed.includes(ok), `${ok} passes: ${r.lines.join("\n")}`);
  }
});

Deno.test("exercise conv_forward: a wrong output size is reported as a shape", async () => {
  const url = await mutant("conv_forward", [
    "Math.floor((H + 2 * ph - kh) / sh)",
    "Math.floor((H - kh) / sh)",
  ]);
  assertFails(
    await gradeFile("conv_forward", url, "mine.ts"),
    "padding 1",
    /y has shape \[1,1,3,5\], expected \[1,1,5,5\]/,
    /hint: .*Ho = floor\(\(H \+ 2·ph − kh\) \/ sh\) \+ 1/,
  );
});

Deno.test("exercise conv_forward: channels summed for one filter only", async () => {
  const url = await mutant("conv_forward", [
    "for (let c = 0; c < C; c++)",
    "for (let c = 0; c < 1; c++)",
  ]);
  assertFails(
    await gradeFile("conv_forward", url, "mine.ts"),
    "C > 1 and D > 1",
    /y: \d+ of \d+ entries wrong/,
  );
});

// --- conv_backward --------------------------------------------------------------------------

Deno.test("exercise conv_backward: dx with `=` instead of `+=` over overlapping windows", async () => {
  const url = await mutant("conv_backward", [
    "dx[xi] += g * w.data[wi]",
    "dx[xi] = g * w.data[wi]",
  ]);
  const r = await gradeFile("conv_backward", url, "mine.ts");
  assertFails(r, "the plain case", /^ {4}dx: \d+ of 16 entries wrong; the first at \[0,0,/m);
  assert(!/^ {4}d[wb]:/m.test(r.lines.join("\n")), "dw and db are right");
});

Deno.test("exercise conv_backward: db not summed over the samples", async () => {
  const url = await mutant("conv_backward", ["db[d] += g;", "if (n === 0) db[d] += g;"]);
  assertFails(
    await gradeFile("conv_backward", url, "mine.ts"),
    "N > 1",
    /db: 2 of 2 entries wrong; the first at \[0\]/,
  );
});

Deno.test("exercise conv_backward: dw's index with i and j swapped", async () => {
  const url = await mutant("conv_backward", [
    "wi = ((d * C + c) * kh + i) * kw + j",
    "wi = ((d * C + c) * kw + j) * kh + i",
  ]);
  assertFails(
    await gradeFile("conv_backward", url, "mine.ts"),
    "the plain case",
    /dw: \d+ of 9 entries wrong/,
  );
});

// --- max_pool_backward ----------------------------------------------------------------------

Deno.test("exercise max_pool_backward: `=` instead of `+=` fails where windows overlap", async () => {
  const url = await mutant("max_pool_backward", ["dx[best] += ", "dx[best] = "]);
  const r = await gradeFile("max_pool_backward", url, "mine.ts");
  assertFails(
    r,
    "overlapping windows (3×3, stride 1)",
    /dx: \d+ of 50 entries wrong; the first at \[0,\d,\d,\d\]/,
    /hint: a cell in several windows receives the sum of their gradients: \+=, not =/,
  );
  assert(failure(r).passed.includes("2×2 windows, stride 2"));
});

Deno.test("exercise max_pool_backward: ties given to the last maximum", async () => {
  const url = await mutant("max_pool_backward", ["x.data[k] > max", "x.data[k] >= max"]);
  assertFails(
    await gradeFile("max_pool_backward", url, "mine.ts"),
    "ties (inputs 0, 1, 2; 3×3 windows, stride 1)",
    /hint: on a tie the first maximal cell in row-major order wins/,
  );
});

Deno.test("exercise max_pool_backward: the running maximum started at 0 instead of −∞", async () => {
  // a window of negative numbers then has no winner, and its gradient is lost
  const url = await mutant(
    "max_pool_backward",
    ["let best = -1, max = -Infinity;", "let best = -1, max = 0;"],
    ["if (best < 0 || x.data[k] > max)", "if (x.data[k] > max)"],
    ["dx[best] += ", "if (best >= 0) dx[best] += "],
  );
  const r = await gradeFile("max_pool_backward", url, "mine.ts");
  assert(
    failure(r).failed.includes("negative inputs with padding (2×2, stride 1, padding 1)"),
    r.lines.join("\n"),
  );
});

// --- avg_pool_backward ----------------------------------------------------------------------

Deno.test("exercise avg_pool_backward: numpy's buffered dx[T] = dX_col instead of add.at", async () => {
  const url = await mutant("avg_pool_backward", [
    "addAt(dx.subarray(s * H * W, (s + 1) * H * W), T, dX_col);",
    "for (let t = 0; t < R * P; t++) if (T[t] >= 0) dx[s * H * W + T[t]] = dX_col[t];",
  ]);
  const r = await gradeFile("avg_pool_backward", url, "mine.ts");
  assertFails(
    r,
    "overlapping windows (3×3, stride 1)",
    /dx: \d+ of 50 entries wrong/,
    /\+=, not =/,
  );
  assert(failure(r).passed.includes("N > 1 and C > 1"));
});

Deno.test("exercise avg_pool_backward: countIncludePad ignored", async () => {
  const url = await mutant("avg_pool_backward", [
    "if (pool.countIncludePad || T[r * P + p] >= 0)",
    "if (true)",
  ]);
  assertFails(
    await gradeFile("avg_pool_backward", url, "mine.ts"),
    "padding not counted (countIncludePad: false; 3×3, stride 1, padding 1)",
    /countIncludePad false/,
    /hint: with countIncludePad false a window divides by the number of its cells that are in x/,
  );
});

// --- strided_dx -----------------------------------------------------------------------------

Deno.test("exercise strided_dx: dy not dilated (the stride forgotten)", async () => {
  const url = await mutant("strided_dx", [
    "ah + oh * sh) * Wu + aw + ow * sw]",
    "ah + oh) * Wu + aw + ow]",
  ]);
  const r = await gradeFile("strided_dx", url, "mine.ts");
  assertFails(r, "stride 2, a row skipped (5×5, 2×2 kernel)", /dx: \d+ of 25 entries wrong/);
  assert(failure(r).passed.includes("padding 1"));
});

Deno.test("exercise strided_dx: the rows the stride skipped not padded back", async () => {
  // without them u is too short: the last rows of dx read past the end of u's plane
  const url = await mutant("strided_dx", [
    "const rh = (H + 2 * ph - kh) % sh",
    "const rh = 0 * sh",
  ]);
  assertFails(
    await gradeFile("strided_dx", url, "mine.ts"),
    "stride 2, a row skipped (5×5, 2×2 kernel)",
    /dx: \d+ of 25 entries wrong/,
  );
});

Deno.test("exercise strided_dx: the filters not rotated", async () => {
  const url = await mutant("strided_dx", [
    "* kh + (kh - 1 - i)) * kw + (kw - 1 - j)]",
    "* kh + i) * kw + j]",
  ]);
  assertFails(
    await gradeFile("strided_dx", url, "mine.ts"),
    "the plain case",
    /dx: \d+ of 16 entries wrong/,
  );
});

// --- grad_check -----------------------------------------------------------------------------

Deno.test("exercise grad_check: a checker that always says ok is caught", async () => {
  const url = await mutant("grad_check", ["ok: maxError <= tolerance", "ok: true"]);
  assertFails(
    await gradeFile("grad_check", url, "mine.ts"),
    "one entry off by 1e-3",
    /expected ok false, got ok true \(maxError [\d.e-]+ at index 4\): this gradient is wrong, and the checker has to say so/,
  );
});

Deno.test("exercise grad_check: a one-sided difference is caught", async () => {
  const url = await mutant(
    "grad_check",
    ["x.data[i] = old - h;", "x.data[i] = old;"],
    ["numeric[i] = (up - down) / (2 * h);", "numeric[i] = (up - down) / h;"],
  );
  assertFails(
    await gradeFile("grad_check", url, "mine.ts"),
    "the right gradient of f(x) = Σ c_i·sin(x_i)",
    /numeric\[\d,\d\] is -?[\d.e-]+, but the true gradient is -?[\d.e-]+ .*use the central difference/,
  );
});

Deno.test("exercise grad_check: x not restored", async () => {
  const url = await mutant("grad_check", ["x.data[i] = old; // restored", "// not restored"]);
  assertFails(
    await gradeFile("grad_check", url, "mine.ts"),
    "the right gradient of f(x) = Σ c_i·sin(x_i)",
    /your checker left x changed at \[0,0\]/,
  );
});

Deno.test("exercise grad_check: a purely relative error fails on a gradient of exact zeros", async () => {
  const url = await mutant("grad_check", [
    "Math.max(1, Math.abs(g), Math.abs(n))",
    "(Math.abs(g) + Math.abs(n))",
  ]);
  assertFails(
    await gradeFile("grad_check", url, "mine.ts"),
    "the right gradient of f(x) = Σ_{i even} x_i³",
    /expected ok true, got ok false/,
  );
});

Deno.test("exercise grad_check: the worst index must be the wrong entry", async () => {
  const url = await mutant("grad_check", [
    "[maxError, worst] = [e, i]",
    "[maxError, worst] = [e, 0]",
  ]);
  assertFails(
    await gradeFile("grad_check", url, "mine.ts"),
    "one entry off by 1e-3",
    /expected worst 4 \(the entry that is wrong\), got worst 0/,
  );
});

// --- wrong return values, errors, files -----------------------------------------------------

Deno.test("exercise: wrong return values are reported, not crashed on", async () => {
  const cases: [string, string, RegExp][] = [
    [
      "return undefined;",
      "the plain case",
      /y should be a tensor \{ shape, data \}, got undefined/,
    ],
    [
      "return { shape: [1, 1, 2, 2], data: [0, 0, 0, 0] };",
      "the plain case",
      /y\.data should be a Float64Array, got an Array of length 4/,
    ],
    [
      "return { shape: [1, 1, 2, 2], data: new Float32Array(4) };",
      "the plain case",
      /y\.data should be a Float64Array, got Float32Array: the inputs are float64/,
    ],
    [
      "return { shape: [1, 1, 2, 2], data: new Float64Array(4).fill(NaN) };",
      "the plain case",
      /y: 4 of 4 entries wrong \(4 NaN\)/,
    ],
    [
      "return { shape: [1, 1, 2, 2], data: new Float64Array(5) };",
      "the plain case",
      /y\.data has 5 entries, but shape \[1,1,2,2\] needs 4/,
    ],
    ["return { data: new Float64Array(4) };", "the plain case", /y has no shape array/],
    [
      "x.data[0] = 7; return { shape: [1, 1, 2, 2], data: new Float64Array(4) };",
      "the plain case",
      /your function changed its input x at \[0,0,0,0\]/,
    ],
  ];
  for (const [body, label, message] of cases) {
    const url = await temporary(
      `export function convForwardNaive(x, w, b, conv) {\n  ${body}\n}\n`,
      "js",
    );
    assertFails(await gradeFile("conv_forward", url, "mine.js"), label, message);
  }
});

Deno.test("exercise: an error thrown by the learner's function is reported with its line", async () => {
  const url = await temporary(
    "export function maxPoolBackwardNaive(dy, x, pool) {\n  const s = pool.window[0];\n  return s;\n}\n",
    "js",
  );
  assertFails(
    await gradeFile("max_pool_backward", url, "mine.js"),
    "2×2 windows, stride 2",
    /your function threw TypeError: Cannot read properties of undefined \(reading '0'\) \(at mine\.js:2:\d+\)/,
  );
  const rangeError = await temporary(
    'export function gradCheck() { throw new RangeError("h must be positive"); }\n',
    "js",
  );
  assertFails(
    await gradeFile("grad_check", rangeError, "mine.js"),
    "the right gradient of f(x) = Σ c_i·sin(x_i)",
    /your function threw RangeError: h must be positive/,
  );
});

Deno.test("exercise: a file that cannot be loaded says why", async () => {
  const syntax = await temporary("export function stridedDx( {\n");
  const r1 = await gradeFile("strided_dx", syntax, "mine.ts");
  assertEquals(r1.outcome.status, "cannot load");
  assertMatch(r1.lines[0], /^strided_dx: cannot load mine\.ts: .*(SyntaxError|Unexpected)/);
  const other = await gradeFile(
    "strided_dx",
    new URL("exercises/solutions/conv_forward.ts", ROOT),
    "x.ts",
  );
  assertEquals(other.lines, [
    "strided_dx: cannot load x.ts: it does not export a function stridedDx (it exports convForwardNaive)",
  ]);
  const missing = await gradeFile(
    "strided_dx",
    new URL("exercises/no_such_file.ts", ROOT),
    "no.ts",
  );
  assertMatch(missing.lines[0], /^strided_dx: cannot load no\.ts: no such file/);
});

// --- the command line -----------------------------------------------------------------------

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", "--allow-read", new URL("scripts/exercise.ts", ROOT).pathname, ...args],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code, out: dec.decode(stdout), err: dec.decode(stderr) };
}

Deno.test("exercise CLI: --all --solutions passes with exit 0, one line per exercise and a summary", async () => {
  const r = await cli("--all", "--solutions", "--seed", "7");
  assertEquals(r.code, 0, r.out + r.err);
  const lines = r.out.trim().split("\n");
  assertMatch(lines[0], /seed 7 \(rerun with --seed 7\)/);
  assertEquals(lines.slice(1, -1).map((l) => l.split(":")[0]), EXERCISES.map((e) => e.name));
  assertEquals(lines.at(-1), `${EXERCISES.length} of ${EXERCISES.length} passed`);
  assertEquals(r.err, "");
});

Deno.test("exercise CLI: a stub exits 1 with 'not implemented yet', no stack trace", async () => {
  const r = await cli("conv_forward");
  assertEquals(r.code, 1);
  assertStringIncludes(
    r.out,
    "conv_forward: not implemented yet (edit exercises/conv_forward.ts)\n",
  );
  assertStringIncludes(r.out, "0 of 1 passed; conv_forward not implemented yet");
  assertMatch(r.out, /seed \d+ \(rerun with --seed \d+\)/);
  assertEquals(r.err, "");
});

Deno.test("exercise CLI: --file grades a file of one's own; a throwing one exits 1 without crashing", async () => {
  const wrong = await mutant("max_pool_backward", ["dx[best] += ", "dx[best] = "]);
  const r = await cli("max_pool_backward", "--file", wrong.pathname, "--seed", "3");
  assertEquals(r.code, 1);
  assertMatch(r.out, /^max_pool_backward: FAIL in \d+ of \d+ geometries/m);
  const throws = await temporary("export function stridedDx() { null.x; }\n", "js");
  const t = await cli("strided_dx", "--file", throws.pathname);
  assertEquals(t.code, 1);
  assertMatch(t.out, /your function threw TypeError/);
  assertEquals(t.err, "");
  const right = await cli("grad_check", "--file", "exercises/solutions/grad_check.ts");
  assertEquals(right.code, 0, right.out);
});

Deno.test("exercise CLI: an endless loop is stopped by --timeout and reported", async () => {
  const loop = await temporary(
    "export function convForwardNaive() { for (let i = 0; i < 10; i--); }\n",
    "js",
  );
  const r = await cli("conv_forward", "--file", loop.pathname, "--timeout", "1");
  assertEquals(r.code, 1);
  assertMatch(r.out, /^conv_forward: did not finish within 1 s \(.*\): an endless loop\?/m);
  assertStringIncludes(r.out, "0 of 1 passed; conv_forward failed");
});

Deno.test("exercise CLI: a bad command line exits 2 with the usage", async () => {
  for (
    const [args, message] of [
      [["conv_forwrd"], /no exercise "conv_forwrd"; the exercises are conv_forward, /],
      [[], /which exercise\?/],
      [["conv_forward", "strided_dx", "--file", "a.ts"], /--file grades one exercise/],
      [["--all", "--seed", "-1"], /--seed must be an integer from 0 to 4294967295/],
      [["conv_forward", "--solutions", "--file", "a.ts"], /--file and --solutions: choose one/],
      [["conv_forward", "--timeout", "0"], /--timeout must be an integer from 1 to 3600/],
    ] as [string[], RegExp][]
  ) {
    const r = await cli(...args);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.out}${r.err}`);
    assertMatch(r.err, message);
    assertStringIncludes(r.err, "Usage: deno task exercise NAME...");
  }
});
