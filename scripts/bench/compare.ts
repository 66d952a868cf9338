/**
 * `deno task compare`: convprop side by side with TensorFlow.js (CPU and WebAssembly backends)
 * and convnetjs, in this process and in turns, plus numpy (the seed's im2col approach) and
 * PyTorch run by scripts/bench/compare_ref.py in another process. Prints a Markdown table of median
 * times and ratios; `--write docs/performance.md` records it with the date and the machine.
 *
 *   deno task compare                      # all workloads, a few minutes
 *   deno task compare --quick --only W1    # smoke run
 *   deno task compare --write docs/performance.md
 *
 * @module
 */

import {
  convprop,
  type Impl,
  IMPLS,
  type Outputs,
  PEER_VERSIONS,
  type Runner,
} from "./compare_impls.ts";
import { LENET_PARAMS, makeWorkload, SPECS, subBatch, type Workload } from "./compare_workloads.ts";
import { timeParallelStep } from "./compare_cores.ts";

const USAGE = `deno task compare [options]
  --only W1,W2      workloads to run (default all: ${Object.keys(SPECS).join(",")})
  --impls a,b       JS peers besides convprop (default ${
  IMPLS.slice(1).map((i) => i.name).join(",")
})
  --quick           short smoke run: less warm-up, 3 reps, 1.5 s per cell, 1 s calls
  --reps N          at most N timed reps per implementation and cell (default 31, quick 3)
  --min-reps N      at least N reps, even past the time budget (default 5, quick 3); calls
                    longer than budget/N get 3
  --budget S        seconds per cell (workload × pass) before stopping at min-reps (default 5)
  --max-call S      an implementation whose call on the whole batch would take longer than S
                    seconds is timed on the first samples only and scaled up (default 3)
  --no-ref          skip the Python reference (numpy, PyTorch)
  --python PATH     interpreter for compare_ref.py (default /usr/bin/python3)
  --seed N          input seed (default 1)
  --workers N       W6 on N cores: convprop's DataParallel with N workers (N shards) next to
                    PyTorch with torch.set_num_threads(N) (default 2; 1 skips it)
  --write PATH      write the Markdown page (docs/performance.md)
  --json PATH       write all samples as JSON
  --help`;

interface Options {
  only: string[];
  impls: string[];
  maxReps: number;
  minReps: number;
  budgetMs: number;
  maxCallMs: number;
  warmMs: number;
  minSampleMs: number;
  ref: boolean;
  python: string;
  seed: number;
  workers: number;
  write?: string;
  json?: string;
}

const FLAGS = [
  "--only",
  "--impls",
  "--quick",
  "--reps",
  "--min-reps",
  "--budget",
  "--max-call",
  "--no-ref",
  "--python",
  "--seed",
  "--workers",
  "--write",
  "--json",
  "--help",
];

function parseOptions(argv: string[]): Options {
  const flags = new Map<string, string>();
  const bare = new Set(["--quick", "--no-ref", "--help"]);
  for (let i = 0; i < argv.length; i++) {
    const [key, inline] = argv[i].split("=", 2);
    if (!FLAGS.includes(key)) throw new Error(`compare: unknown argument ${argv[i]}\n${USAGE}`);
    if (bare.has(key)) flags.set(key, "");
    else if (inline !== undefined) flags.set(key, inline);
    else if (i + 1 < argv.length) flags.set(key, argv[++i]);
    else throw new Error(`compare: ${key} needs a value\n${USAGE}`);
  }
  if (flags.has("--help")) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const num = (k: string, dflt: number): number => {
    const v = flags.get(k);
    if (v === undefined) return dflt;
    const x = Number(v);
    if (!Number.isFinite(x) || x <= 0) throw new Error(`compare: ${k} must be a positive number`);
    return x;
  };
  const list = (k: string, all: string[]): string[] => {
    const v = flags.get(k);
    if (v === undefined) return all;
    const items = v.split(",").map((s) => s.trim()).filter((s) => s !== "");
    for (const it of items) {
      if (!all.includes(it)) {
        throw new Error(`compare: ${k}: unknown ${it} (have ${all.join(",")})`);
      }
    }
    return items;
  };
  const quick = flags.has("--quick");
  const minReps = Math.round(num("--min-reps", quick ? 3 : 5));
  return {
    only: list("--only", Object.keys(SPECS)),
    impls: list("--impls", IMPLS.map((i) => i.name)),
    maxReps: Math.max(minReps, Math.round(num("--reps", quick ? 3 : 31))),
    minReps,
    budgetMs: 1000 * num("--budget", quick ? 1.5 : 5),
    maxCallMs: 1000 * num("--max-call", quick ? 1 : 3),
    warmMs: quick ? 150 : 500,
    minSampleMs: quick ? 5 : 10,
    ref: !flags.has("--no-ref"),
    python: flags.get("--python") ?? "/usr/bin/python3",
    seed: Math.round(num("--seed", 1)),
    workers: Math.round(num("--workers", 2)),
    write: flags.get("--write"),
    json: flags.get("--json"),
  };
}

function progress(msg: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(msg + "\n"));
}

type Pass = "fwd" | "fwdbwd";
const PASSES: readonly Pass[] = ["fwd", "fwdbwd"];
const PASS_LABEL: Record<Pass, string> = { fwd: "fwd", fwdbwd: "fwd+bwd" };

/** Timings of one implementation in one cell (workload × pass). */
interface Cell {
  /** Per-call milliseconds of each rep, scaled to the whole batch. */
  samples?: number[];
  median?: number;
  /** Why there is no time. */
  na?: string;
  /** Calls per timed rep (short calls are repeated so a rep lasts at least minSampleMs). */
  inner?: number;
  /** Samples actually computed per call, when fewer than the batch (time scaled up). */
  batch?: number;
  /** Its outputs disagreed with convprop's. */
  wrong?: boolean;
}

/** An implementation prepared for one cell. */
interface Entry {
  name: string;
  runner: Runner;
  activate: () => Promise<void>;
  /** Batch size ÷ samples computed per call. */
  scale: number;
  batch: number;
  /** Estimated milliseconds per call (from the probe). */
  estMs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function callOf(r: Runner, pass: Pass): () => void {
  return pass === "fwd" ? () => r.forward() : () => r.step();
}

function timeOnce(f: () => void): number {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
}

/**
 * Reps an implementation must have: minReps, unless its calls are too long for the budget; then
 * 3, down to 1 for a call longer than the whole budget (its check has already run it once, and
 * such a call is orders of magnitude off the others, where a few percent do not matter).
 */
function repsFor(callMs: number, opts: Options): number {
  if (callMs * opts.minReps <= opts.budgetMs) return opts.minReps;
  return Math.max(1, Math.min(3, opts.minReps, Math.floor((2 * opts.budgetMs) / callMs)));
}

/**
 * Times one cell: warms every implementation up, then runs rounds in which each runs once,
 * starting with a different one each round, until all have their reps.
 */
async function timeCell(entries: Entry[], pass: Pass, opts: Options): Promise<Map<string, Cell>> {
  const cells = new Map<string, Cell>();
  const want = new Map<string, number>();
  for (const e of entries) {
    const call = callOf(e.runner, pass);
    await e.activate();
    // A call longer than the warm-up is its own warm-up (the check has just run it once).
    let last = e.estMs;
    if (e.estMs <= opts.warmMs) {
      const t0 = performance.now();
      for (let i = 0; i < 100; i++) {
        last = timeOnce(call);
        if (performance.now() - t0 > opts.warmMs && i >= 1) break;
      }
    }
    const inner = Math.min(50, Math.max(1, Math.ceil(opts.minSampleMs / Math.max(last, 1e-3))));
    cells.set(e.name, { samples: [], inner, batch: e.scale === 1 ? undefined : e.batch });
    want.set(e.name, repsFor(last, opts));
  }
  const start = performance.now();
  for (let round = 0;; round++) {
    const spent = performance.now() - start;
    const pending = entries.filter(({ name }) => {
      const n = cells.get(name)!.samples!.length;
      return n < want.get(name)! || (n < opts.maxReps && spent < opts.budgetMs);
    });
    if (pending.length === 0) break;
    for (let j = 0; j < pending.length; j++) {
      const e = pending[(j + round) % pending.length];
      const cell = cells.get(e.name)!, call = callOf(e.runner, pass);
      await e.activate();
      const t0 = performance.now();
      for (let k = 0; k < cell.inner!; k++) call();
      cell.samples!.push(((performance.now() - t0) / cell.inner!) * e.scale);
    }
  }
  for (const cell of cells.values()) cell.median = median(cell.samples!);
  return cells;
}

/**
 * How many samples `impl` can compute per call within `maxCallMs`: the whole batch unless one
 * sample, timed, says the batch would take longer. Returns the batch when the probe itself fails
 * (the full-size setup then reports why).
 */
async function probeBatch(
  impl: Impl,
  w: Workload,
  pass: Pass,
  opts: Options,
): Promise<[number, number]> {
  const n = w.spec.n;
  await impl.activate();
  let r: Runner | string | undefined;
  try {
    r = impl.setup(subBatch(w, 1));
    if (typeof r === "string") return [n, 0];
    // the first calls include compiling: take the fastest of up to 10 within 300 ms
    const call = callOf(r, pass), t0 = performance.now();
    let t = Infinity;
    for (let i = 0; i < 10 && (i === 0 || performance.now() - t0 < 300); i++) {
      t = Math.min(t, timeOnce(call));
    }
    if (t * n <= opts.maxCallMs) return [n, t * n];
    const nb = Math.max(1, Math.min(n, Math.floor(opts.maxCallMs / t)));
    return [nb, t * nb];
  } catch {
    return [n, 0];
  } finally {
    if (typeof r === "object") r.dispose();
  }
}

/** max |a − b| / max |ref| per array of `ref`; the worst, and where. */
function relError(ref: Outputs, got: Outputs): { err: number; key: string } {
  let worst = { err: 0, key: "" };
  for (const [key, r] of Object.entries(ref)) {
    const g = got[key];
    if (g === undefined || g.length !== r.length) {
      return { err: Infinity, key: `${key} (missing or length ${g?.length} ≠ ${r.length})` };
    }
    let scale = 0, diff = 0;
    for (let i = 0; i < r.length; i++) {
      scale = Math.max(scale, Math.abs(r[i]));
      const d = Math.abs(r[i] - g[i]);
      if (!(d <= diff)) diff = Number.isNaN(d) ? Infinity : d;
    }
    const err = diff / (scale || 1);
    if (err > worst.err || worst.key === "") worst = { err, key };
  }
  return worst;
}

/**
 * Outputs agree when max |Δ| ≤ 1e-4 · max |ref| for every array. Each compared value is a sum
 * of up to 32768 float32 products (dW of W3) taken in a different order by each library;
 * rounding grows about as √n·ε ≈ 1e-5 of the magnitude, so 1e-4 leaves a margin, while a
 * layout or indexing mistake gives errors of order 1.
 */
const CHECK_TOL = 1e-4;

interface CheckPart {
  name: string;
  err: number;
  key: string;
  fwdOnly?: boolean;
  batch?: number;
}

interface CheckLine {
  id: string;
  n: number;
  parts: CheckPart[];
}

function checkLine(c: CheckLine): string {
  const ps = c.parts.map((p) => {
    const ok = p.err <= CHECK_TOL;
    const err = p.err === 0 ? "0" : p.err === Infinity ? "∞" : p.err.toExponential(1);
    return `${p.name} ${err} ${ok ? "✓" : `✗ (${p.key})`}` +
      (p.fwdOnly ? " (forward only)" : "") +
      (p.batch !== undefined ? ` (on ${p.batch} of ${c.n} samples)` : "");
  });
  return `- check ${c.id} vs convprop: ${ps.join(" · ")}`;
}

// ---------------------------------------------------------------------------------------------
// Python reference process

interface RefResult {
  env: Record<string, unknown>;
  results: Record<string, Record<string, Record<string, { samples?: number[]; na?: string }>>>;
  unavailable: Record<string, string>;
}

async function writeManifest(dir: string, workloads: Workload[]): Promise<string> {
  const manifest: Record<string, unknown> = {};
  for (const w of workloads) {
    const arrays: Record<string, { shape: number[]; file: string }> = {};
    for (const [name, a] of Object.entries(w.arrays)) {
      const file = `${w.id}_${name}.f32`;
      const bytes = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
      await Deno.writeFile(`${dir}/${file}`, bytes);
      arrays[name] = { shape: a.shape, file };
    }
    if (w.labels) {
      await Deno.writeFile(`${dir}/${w.id}_labels.i32`, new Uint8Array(w.labels.buffer));
      arrays.labels = { shape: [w.labels.length], file: `${w.id}_labels.i32` };
    }
    manifest[w.id] = { title: w.title, spec: w.spec, arrays, params: LENET_PARAMS };
  }
  const path = `${dir}/manifest.json`;
  await Deno.writeTextFile(path, JSON.stringify({ workloads: manifest }, null, 1));
  return path;
}

async function runReference(
  opts: Options,
  dir: string,
  workloads: Workload[],
  cores: { threads: number; torchOnly: boolean } = { threads: 1, torchOnly: false },
): Promise<RefResult | string> {
  try {
    await Deno.stat(opts.python);
  } catch {
    return `${opts.python} not found`;
  }
  const manifest = await writeManifest(dir, workloads);
  // The machine may tune OpenBLAS by hand (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE), which slows
  // numpy: the subprocess runs without them, and with one BLAS/OpenMP thread like every column.
  const env = Deno.env.toObject();
  const removed = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"].filter((k) => k in env);
  const n = String(cores.threads);
  const threads = { OPENBLAS_NUM_THREADS: n, OMP_NUM_THREADS: n, MKL_NUM_THREADS: n };
  const envNote =
    (removed.length > 0
      ? `${removed.map((k) => `${k}=${env[k]}`).join(", ")} removed from its environment; `
      : "") + `${Object.entries(threads).map(([k, v]) => `${k}=${v}`).join(", ")}`;
  for (const k of removed) delete env[k];
  Object.assign(env, threads);
  const script = new URL("./compare_ref.py", import.meta.url).pathname;
  const args = [
    script,
    ...["--manifest", manifest, "--out", dir],
    ...["--min-reps", String(opts.minReps), "--max-reps", String(opts.maxReps)],
    ...["--budget", String(opts.budgetMs / 1000), "--warm", String(opts.warmMs / 1000)],
    ...["--min-sample", String(opts.minSampleMs / 1000)],
    ...["--threads", n, ...(cores.torchOnly ? ["--torch-only"] : [])],
  ];
  const out = await new Deno.Command(opts.python, {
    args,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) return `compare_ref.py exited with code ${out.code}`;
  try {
    const ref = JSON.parse(new TextDecoder().decode(out.stdout)) as RefResult;
    ref.env.env_note = envNote;
    return ref;
  } catch (e) {
    return `compare_ref.py printed no JSON (${(e as Error).message})`;
  }
}

async function readRefOutputs(
  dir: string,
  impl: string,
  w: Workload,
  keys: string[],
): Promise<Outputs | string> {
  const out: Outputs = {};
  for (const k of keys) {
    try {
      const bytes = await Deno.readFile(`${dir}/out_${impl}_${w.id}_${k}.f32`);
      out[k] = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    } catch {
      return `no output ${k}`;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Report

const JS_PEERS = ["tfjs-cpu", "tfjs-wasm", "convnetjs"];
const REF_PEERS = ["numpy", "torch"];

function fmtMs(ms: number): string {
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

type Results = Map<string, Map<string, Cell>>; // `${id}/${pass}` → implementation → cell

function fmtCell(cell: Cell | undefined): string {
  if (cell?.median === undefined) return "n/a";
  return `${cell.batch !== undefined ? "≈" : ""}${fmtMs(cell.median)}${cell.wrong ? " ✗" : ""}`;
}

function table(results: Results, ids: string[], columns: string[]): string {
  const peers = columns.filter((c) => c !== "convprop");
  const head = [
    "Workload",
    "Pass",
    ...columns.map((c) => `${c}${REF_PEERS.includes(c) ? " †" : ""}`),
    ...peers.map((p) => `÷ ${p}`),
  ];
  const rows = [head, head.map((_, i) => (i < 2 ? "---" : "---:"))];
  for (const id of ids) {
    for (const pass of PASSES) {
      const cells = results.get(`${id}/${pass}`);
      if (cells === undefined) continue;
      const cp = cells.get("convprop")?.median;
      const row = [id, PASS_LABEL[pass], ...columns.map((c) => fmtCell(cells.get(c)))];
      for (const p of peers) {
        const m = cells.get(p)?.median;
        row.push(cp !== undefined && m !== undefined ? (cp / m).toFixed(2) : "n/a");
      }
      rows.push(row);
    }
  }
  return rows.map((r) => `| ${r.join(" | ")} |`).join("\n");
}

/** Footnotes under the table: what ≈ and ✗ mean when they occur, and every n/a's reason. */
function notes(results: Results): string[] {
  const out: string[] = [];
  const cells = [...results].flatMap(([key, m]) => [...m].map(([name, c]) => ({ key, name, c })));
  const where = (key: string): string => key.replace("/fwdbwd", " fwd+bwd").replace("/", " ");
  const approx = cells.filter((x) => x.c.batch !== undefined);
  if (approx.length > 0) {
    out.push(
      "- ≈ too slow for the time box on the whole batch: timed on its first samples and scaled " +
        "linearly (" + approx.map((x) => `${x.name} ${where(x.key)} on ${x.c.batch}`).join(", ") +
        ")",
    );
  }
  const wrong = cells.filter((x) => x.c.wrong);
  if (wrong.length > 0) {
    out.push(
      "- ✗ outputs disagree with convprop's beyond tolerance (see Correctness check), so this " +
        "time is not for the same computation (" +
        wrong.map((x) => `${x.name} ${where(x.key)}`).join(", ") + ")",
    );
  }
  const seen = new Map<string, string[]>();
  for (const { key, name, c } of cells) {
    if (c.na === undefined) continue;
    const k = `${name}: ${c.na}`;
    seen.set(k, [...(seen.get(k) ?? []), where(key)]);
  }
  for (const [k, at] of seen) out.push(`- n/a ${k} (${at.join(", ")})`);
  return out;
}

function targets(results: Results, ids: string[], blasKind?: string): string[] {
  type Check = [string, number | undefined, number];
  const ratio = (id: string, pass: Pass, peer: string): number | undefined => {
    const cells = results.get(`${id}/${pass}`);
    const a = cells?.get("convprop")?.median, b = cells?.get(peer)?.median;
    return a !== undefined && b !== undefined ? a / b : undefined;
  };
  const verdict = (name: string, checks: Check[], caveat = ""): string => {
    const measured = checks.filter(([, r]) => r !== undefined) as [string, number, number][];
    if (measured.length === 0) return `- ${name}: not measured in this run`;
    const missed = measured.filter(([, r, limit]) => r >= limit);
    const partial = measured.length < checks.length
      ? ` (${measured.length} of ${checks.length} comparisons measured)`
      : "";
    const list = missed.map(([k, r]) => `${k} = ${r.toFixed(2)}`).join(", ");
    return (missed.length === 0
      ? `- ${name}: **met**${partial}`
      : `- ${name}: **not met**${partial}; missed: ${list}`) + caveat;
  };
  const js: Check[] = [], np: Check[] = [], th: Check[] = [];
  for (const id of ids) {
    for (const pass of PASSES) {
      const at = `${id} ${PASS_LABEL[pass]}`;
      for (const p of JS_PEERS) js.push([`${at} ÷ ${p}`, ratio(id, pass, p), 1]);
      if (["W1", "W2", "W6"].includes(id)) np.push([`${at} ÷ numpy`, ratio(id, pass, "numpy"), 1]);
      if (id === "W6") th.push([`${at} ÷ torch`, ratio(id, pass, "torch"), 3]);
    }
  }
  // Debian's numpy and torch (BLAS_INFO=generic) both multiply through the system libblas.so.3
  const slowBlas = blasKind === "reference";
  const caveat = (who: string): string =>
    slowBlas
      ? ` (caution: ${who} run on the reference BLAS here, not OpenBLAS, which flatters ` +
        "convprop; install libopenblas0 and rerun)"
      : "";
  return [
    verdict("Faster than every JS peer on every workload (ratio < 1)", js),
    verdict("Faster than numpy on W1, W2, W6 (ratio < 1)", np, caveat("numpy's matmuls")),
    verdict("W6 within 3× of PyTorch with one thread (ratio < 3)", th, caveat("torch's fc layers")),
  ];
}

/**
 * Why the numpy target is out of reach for W1 and W2 forward, in this run's numbers: the
 * multiply-adds of the convolution against the rate convprop's GEMM reaches on its own.
 */
function numpyBound(results: Results, ids: string[]): string[] {
  const lines: string[] = [];
  for (const id of ids.filter((i) => i === "W1" || i === "W2")) {
    const s = SPECS[id].spec;
    if (s.kind !== "conv") continue;
    const ho = s.h + 2 * s.pad - s.k + 1, wo = s.w + 2 * s.pad - s.k + 1;
    const flop = 2 * s.n * s.d * s.c * s.k * s.k * ho * wo;
    const cells = results.get(`${id}/fwd`);
    const np = cells?.get("numpy")?.median, cp = cells?.get("convprop")?.median;
    if (np === undefined || cp === undefined) continue;
    const rate = (ms: number): string => (flop / ms / 1e6).toFixed(0);
    lines.push(
      `- ${id} forward is ${(flop / 1e6).toFixed(1)} MFLOP: numpy ${fmtMs(np)} ms ` +
        `(${rate(np)} GFLOP/s, im2col included), convprop ${fmtMs(cp)} ms (${rate(cp)} GFLOP/s); ` +
        `at ${GEMM_PEAK} GFLOP/s the multiply-adds alone take ` +
        `${fmtMs(flop / GEMM_PEAK / 1e6)} ms.`,
    );
  }
  if (lines.length === 0) return [];
  return [
    "## What bounds the numpy comparison",
    "",
    "numpy's matmul is OpenBLAS, whose x86-64 kernels do 8 (AVX2) or 16 (AVX-512) float " +
    "multiply-adds per instruction. WebAssembly SIMD vectors hold 4 floats, so convprop's GEMM " +
    "tops out at 16 flops per cycle (two vector pipes × 4 lanes × multiply and add); its fused " +
    `multiply-add kernel reaches about ${GEMM_PEAK} GFLOP/s on a 512³ product ` +
    "(kernels/gemm_bench.ts). Where numpy's whole forward pass takes less time than that rate " +
    "needs for the arithmetic alone, no change to convprop's loops can close the gap:",
    "",
    ...lines,
    "",
  ];
}

/** GFLOP/s of convprop's SIMD GEMM on 512³ float32 with the FMA kernel, from
 * `deno bench kernels/gemm_bench.ts` on this machine (5.5 ms). */
const GEMM_PEAK = 49;

/** Output of a command, or undefined when it cannot run. */
async function run(cmd: string, args: string[] = []): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return out.success ? new TextDecoder().decode(out.stdout) : undefined;
  } catch {
    return undefined;
  }
}

async function machine(): Promise<{ cpu: string; nproc: string; os: string }> {
  // Deno grants /proc only with --allow-all, so cat reads it.
  const info = await run("cat", ["/proc/cpuinfo"]) ?? "";
  const cpu = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? "unknown CPU";
  const nproc = (await run("nproc"))?.trim() ?? String(navigator.hardwareConcurrency);
  return { cpu, nproc, os: `${Deno.build.os} ${Deno.build.arch}` };
}

// ---------------------------------------------------------------------------------------------

/** convprop's outputs for a pass on the first `nb` samples: what every peer is checked against. */
class References {
  #cache = new Map<string, Outputs>();
  constructor(readonly w: Workload) {}
  get(pass: Pass, nb: number): Outputs {
    const key = `${pass}/${nb}`;
    let out = this.#cache.get(key);
    if (out === undefined) {
      const r = convprop.setup(subBatch(this.w, nb)) as Runner;
      out = pass === "fwd" ? r.checkForward() : r.checkStep();
      this.#cache.set(key, out);
    }
    return out;
  }
}

/** Runs one workload for every JS implementation: checks, then times both passes. */
async function runWorkload(
  w: Workload,
  impls: Impl[],
  initErr: Map<string, string>,
  opts: Options,
  results: Results,
): Promise<CheckLine> {
  progress(`\n${w.id} ${w.title}`);
  const refs = new References(w);
  const check: CheckLine = { id: w.id, n: w.spec.n, parts: [] };
  const parts = new Map<string, CheckPart>();
  for (const pass of PASSES) {
    const entries: Entry[] = [], na = new Map(initErr), wrong = new Set<string>();
    for (const impl of impls) {
      if (initErr.has(impl.name)) continue;
      const [nb, estMs] = await probeBatch(impl, w, pass, opts);
      let r: Runner | string;
      try {
        await impl.activate();
        r = impl.setup(subBatch(w, nb));
      } catch (e) {
        r = `setup failed: ${(e as Error).message}`;
      }
      if (typeof r === "string") {
        na.set(impl.name, r);
        continue;
      }
      let out: Outputs, t: number;
      try {
        const t0 = performance.now();
        out = pass === "fwd" ? r.checkForward() : r.checkStep();
        t = performance.now() - t0;
      } catch (e) {
        na.set(impl.name, (e as Error).message);
        r.dispose();
        if (pass === "fwdbwd" && parts.has(impl.name)) parts.get(impl.name)!.fwdOnly = true;
        continue;
      }
      const err = relError(refs.get(pass, nb), out);
      if (err.err > CHECK_TOL) wrong.add(impl.name);
      if (impl.name !== "convprop") {
        const prev = parts.get(impl.name);
        const batch = nb < w.spec.n ? nb : prev?.batch;
        if (prev === undefined || err.err > prev.err || prev.key === "") {
          parts.set(impl.name, { name: impl.name, ...err, batch, fwdOnly: prev?.fwdOnly });
        } else prev.batch = batch;
      }
      entries.push({
        name: impl.name,
        runner: r,
        activate: () => impl.activate(),
        scale: w.spec.n / nb,
        batch: nb,
        estMs: Math.max(estMs, t),
      });
    }
    const cells = await timeCell(entries, pass, opts);
    for (const e of entries) e.runner.dispose();
    for (const [name, reason] of na) cells.set(name, { na: reason });
    for (const name of wrong) cells.get(name)!.wrong = true;
    results.set(`${w.id}/${pass}`, cells);
    progress(
      `  ${PASS_LABEL[pass].padEnd(8)} ` +
        [...cells].map(([n, c]) =>
          c.median === undefined
            ? `${n} n/a`
            : `${n} ${c.batch !== undefined ? "≈" : ""}${fmtMs(c.median)} ms` +
              `${c.wrong ? " ✗" : ""} (${c.samples!.length}×${c.inner}` +
              `${c.batch !== undefined ? `, on ${c.batch} samples` : ""})`
        ).join(" · "),
    );
  }
  check.parts = [...parts.values()];
  progress(checkLine(check));
  return check;
}

async function main(): Promise<void> {
  const opts = parseOptions(Deno.args);
  const ids = opts.only;
  const impls = IMPLS.filter((i) => i === convprop || opts.impls.includes(i.name));
  const results: Results = new Map();
  const checks: CheckLine[] = [];
  const workloads = ids.map((id, i) => makeWorkload(id, opts.seed * 1000 + i + 1));

  const initErr = new Map<string, string>();
  for (const impl of impls) {
    try {
      const err = await impl.init();
      if (err !== undefined) initErr.set(impl.name, err);
    } catch (e) {
      initErr.set(impl.name, `init failed: ${(e as Error).message}`);
    }
    progress(initErr.has(impl.name) ? `${impl.name}: ${initErr.get(impl.name)}` : impl.describe());
  }
  for (const w of workloads) checks.push(await runWorkload(w, impls, initErr, opts, results));
  for (const cells of results.values()) {
    for (const name of JS_PEERS) if (!cells.has(name)) cells.set(name, { na: "not selected" });
  }

  let refEnv: Record<string, unknown> | undefined;
  let refNote = "";
  if (opts.ref) {
    progress("\nPython reference (numpy, torch) in another process …");
    const dir = await Deno.makeTempDir({ prefix: "convprop-compare-" });
    try {
      const ref = await runReference(opts, dir, workloads);
      if (typeof ref === "string") refNote = ref;
      else {
        refEnv = ref.env;
        for (const w of workloads) {
          const refs = new References(w);
          const expect = { ...refs.get("fwd", w.spec.n), ...refs.get("fwdbwd", w.spec.n) };
          const check = checks.find((c) => c.id === w.id)!;
          for (const name of REF_PEERS) {
            if (ref.unavailable[name] !== undefined) continue;
            const outs = await readRefOutputs(dir, name, w, Object.keys(expect));
            const part = typeof outs === "string"
              ? { name, err: Infinity, key: outs }
              : { name, ...relError(expect, outs) };
            check.parts.push(part);
            for (const pass of PASSES) {
              const r = ref.results[w.id]?.[pass]?.[name];
              const cell: Cell = r?.samples === undefined
                ? { na: r?.na ?? "no result" }
                : { samples: r.samples, median: median(r.samples), wrong: part.err > CHECK_TOL };
              results.get(`${w.id}/${pass}`)!.set(name, cell);
            }
          }
          for (const [name, reason] of Object.entries(ref.unavailable)) {
            for (const pass of PASSES) results.get(`${w.id}/${pass}`)!.set(name, { na: reason });
          }
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  } else refNote = "skipped (--no-ref)";
  if (refNote !== "") {
    for (const cells of results.values()) {
      for (const name of REF_PEERS) cells.set(name, { na: `Python reference ${refNote}` });
    }
  }

  const cores = ids.includes("W6") && opts.workers > 1
    ? await coresSection(opts, workloads[ids.indexOf("W6")], results)
    : "";
  const columns = ["convprop", ...JS_PEERS, ...REF_PEERS];
  const md = table(results, ids, columns);
  const blas = refEnv?.blas_kind as string | undefined;
  console.log("\n" + checks.map(checkLine).join("\n") + "\n");
  console.log("Median ms per call; ÷ = convprop / peer (< 1: convprop faster)\n");
  console.log(md + "\n\n" + notes(results).join("\n"));
  console.log("\n" + targets(results, ids, blas).join("\n"));
  const bound = numpyBound(results, ids);
  if (bound.length > 0) console.log("\n" + bound.join("\n"));
  if (cores !== "") console.log("\n" + cores);

  if (opts.json !== undefined) {
    const dump = Object.fromEntries(
      [...results].map(([k, cells]) => [k, Object.fromEntries(cells)]),
    );
    await Deno.writeTextFile(opts.json, JSON.stringify({ results: dump, refEnv }, null, 1));
  }
  if (opts.write !== undefined) {
    const page = await renderPage({
      opts,
      ids,
      md,
      checks,
      results,
      refEnv,
      refNote,
      cores,
      impls: impls.map((i) =>
        initErr.has(i.name) ? `${i.name}: ${initErr.get(i.name)}` : i.describe()
      ),
    });
    // the sections after KEPT are measurements of single kernels (deno bench), written by
    // hand: a rerun keeps them as they are
    const old = await Deno.readTextFile(opts.write).catch(() => "");
    const kept = old.indexOf(KEPT);
    await Deno.writeTextFile(opts.write, kept < 0 ? page : `${page}\n${old.slice(kept)}`);
    // deno fmt wraps Markdown prose: format the page so `deno fmt --check` stays clean
    await run(Deno.execPath(), ["fmt", "--quiet", opts.write]);
    progress(`\nwrote ${opts.write}`);
  }
}

/** The line after which docs/performance.md's hand-written sections begin. */
const KEPT = "<!-- kept by deno task compare --write: the sections below are written by hand -->";

interface PageInput {
  opts: Options;
  ids: string[];
  md: string;
  checks: CheckLine[];
  results: Results;
  refEnv?: Record<string, unknown>;
  refNote: string;
  /** The W6-on-several-cores section (Markdown), or "". */
  cores: string;
  impls: string[];
}

/**
 * W6 on `opts.workers` cores: convprop's DataParallel step next to PyTorch with as many threads,
 * with the one-thread medians of the main table beside them; a Markdown section.
 */
async function coresSection(opts: Options, w6: Workload, results: Results): Promise<string> {
  const n = opts.workers;
  progress(`\nW6 on ${n} cores: convprop DataParallel (${n} workers), torch (${n} threads) …`);
  const convprop = await timeParallelStep(w6, n, opts);
  progress(`  convprop ${n} workers (${convprop.memory} memory) ${fmtMs(convprop.median)} ms`);
  let torchN: number | undefined, torchNote = "";
  if (opts.ref) {
    const dir = await Deno.makeTempDir({ prefix: "convprop-compare-cores-" });
    try {
      const ref = await runReference(opts, dir, [w6], { threads: n, torchOnly: true });
      const samples = typeof ref === "string" ? undefined : ref.results.W6?.fwdbwd?.torch?.samples;
      if (samples !== undefined) torchN = median(samples);
      else torchNote = typeof ref === "string" ? ref : "torch unavailable";
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  } else torchNote = "skipped (--no-ref)";
  const one = results.get("W6/fwdbwd");
  const c1 = one?.get("convprop")?.median, t1 = one?.get("torch")?.median;
  const f = (x: number | undefined) => (x === undefined ? "n/a" : fmtMs(x));
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? "n/a" : (a / b).toFixed(2);
  return [
    `## W6 on ${n} cores`,
    "",
    `The LeNet training step of W6 (batch 64, the same inputs and weights) with ${n} threads: ` +
    `convprop's data-parallel trainer (\`DataParallel\`, ${n} workers, ${n} shards of ` +
    `${64 / n} images, ${convprop.memory} memory; training/parallel.ts) and PyTorch with ` +
    `torch.set_num_threads(${n}); the one-thread medians are those of the table above. ` +
    `Median milliseconds per step (${convprop.samples.length} convprop reps).`,
    "",
    `| Workload | convprop 1 thread | convprop ${n} workers | torch 1 thread † | torch ${n} threads † | ` +
    `convprop ${n} ÷ 1 | ÷ torch ${n} threads |`,
    "| -------- | ---: | ---: | ---: | ---: | ---: | ---: |",
    `| W6 fwd+bwd | ${f(c1)} | ${f(convprop.median)} | ${f(t1)} | ${f(torchN)} | ` +
    `${ratio(convprop.median, c1)} | ${ratio(convprop.median, torchN)} |`,
    ...(torchNote === "" ? [] : ["", `- torch ${n} threads: ${torchNote}`]),
    "",
  ].join("\n");
}

async function renderPage(p: PageInput): Promise<string> {
  const m = await machine();
  const reps = [...p.results.values()].flatMap((c) =>
    [...c.values()].flatMap((x) => x.samples ? [x.samples.length] : [])
  );
  const date = new Date().toISOString().slice(0, 10);
  const ref = p.refEnv;
  const refLines = ref === undefined ? [`- Python reference: ${p.refNote}`] : [
    `- Python reference, run as a separate process: ${ref.python}, numpy ${
      ref.numpy ?? "absent"
    }, ` +
    `torch ${ref.torch ?? "absent"}`,
    `- numpy's BLAS: ${ref.blas}`,
    `- torch: ${ref.torch_threads ?? "n/a"} thread (torch.set_num_threads(1)); ${
      ref.torch_backend ?? ""
    }`,
    `- Python process environment: ${ref.env_note}`,
  ];
  // the command that regenerates this page (--json only dumps samples)
  const args = Deno.args.filter((a, i, all) => a !== "--json" && all[i - 1] !== "--json");
  const command = ["deno task compare", ...args.filter((a) => !a.startsWith("--json="))].join(" ");
  const workloadLines = p.ids.map((id) => `- ${id}: ${SPECS[id].title}`);
  if (p.ids.includes("W6")) {
    workloadLines.push(
      "  (conv 1→20 5×5, max-pool 2, conv 20→50 5×5, max-pool 2, fc 800→500, ReLU, fc 500→10, " +
        "softmax cross-entropy)",
    );
  }
  return `# Performance

convprop side by side with other CNN implementations, measured by \`${command}\`
(scripts/bench/compare.ts). This page is generated: rerun the command to refresh it rather than
editing the numbers.

- Date: ${date}
- Machine: ${m.cpu}, ${m.nproc} logical CPUs (\`nproc\`), ${m.os}; shared with other jobs, so
  expect run-to-run differences of 10–20%
- Deno ${Deno.version.deno}, V8 ${Deno.version.v8}, TypeScript ${Deno.version.typescript}
- JS peers: ${PEER_VERSIONS.tfjs}; ${PEER_VERSIONS.convnetjs}
${refLines.join("\n")}

## Workloads

Float32, NCHW, batch 64 unless noted. Each is timed as a forward pass (fwd) and as forward plus
backward giving dX and dW (fwd+bwd); for W6, fwd is the forward pass with the loss and fwd+bwd
is a whole training step (forward, backward, plain SGD update with learning rate 0.01).

${workloadLines.join("\n")}

## Results

Median milliseconds per call. The ÷ columns are convprop's time divided by the peer's: below 1,
convprop is faster. † numpy and torch run in another process (see Method).

${p.md}

${notes(p.results).join("\n")}

## Targets

${targets(p.results, p.ids, ref?.blas_kind as string | undefined).join("\n")}

${numpyBound(p.results, p.ids).join("\n")}
${p.cores}
## Correctness check

Before timing, every implementation computes each workload from the same inputs and weights,
and its outputs (y, dX, dW, db; for W6 the loss and every parameter's gradient) are compared
with convprop's: the worst array's max |Δ| / max |convprop| is shown, ✓ when it is at most
${CHECK_TOL} (float32 sums of up to 32768 terms in different orders differ by about 1e-5; a
layout or indexing mistake by about 1).

${p.checks.map(checkLine).join("\n")}

## Method

${p.impls.map((s) => `- ${s}`).join("\n")}
- Same inputs for all: drawn once from a fixed seed (mulberry32) in convprop's layout; each peer
  converts them to its own layout before timing (tfjs and convnetjs are channels-last), and the
  Python process reads the very same bytes.
- The JS implementations run in one Deno process, in turns. Per cell (workload × pass) each is
  warmed up (${p.opts.warmMs} ms, at least two calls), then rounds are timed in which every
  implementation runs once, starting with a different one each round, until each has
  ${p.opts.minReps} reps (3 down to 1 when its calls are too long for the
  ${
    p.opts.budgetMs / 1000
  } s budget) and the budget is spent, at most ${p.opts.maxReps} reps. Calls under
  ${p.opts.minSampleMs} ms are repeated within a rep. The table shows the median; this run took
  ${Math.min(...reps)}–${Math.max(...reps)} reps per cell. A call that would take more than
  ${p.opts.maxCallMs / 1000} s on the whole batch (from a one-sample probe) is run on the first
  samples only, and its time scaled to the batch (≈).
- Single-threaded everywhere: convprop is TypeScript plus its WebAssembly GEMM and convnetjs plain
  JavaScript, neither with threads; tfjs-wasm has no
  threads under Deno's Node compatibility; numpy runs with OPENBLAS_NUM_THREADS=1 and torch with
  torch.set_num_threads(1).
- convnetjs has no batch dimension: a batch of 64 is a loop of 64 single-sample forward and
  backward calls, which is how it is used.
- numpy re-implements the seed's approach: cs231n-style im2col by fancy indexing (the index
  arrays built once per geometry), one matmul per layer through the BLAS, col2im with np.add.at;
  max-pool as im2col + argmax, its backward np.add.at again. PyTorch uses torch.nn.functional
  and autograd, the forward pass under torch.no_grad(), W6 with torch.optim.SGD.
- Nothing is asserted on time in the test suite; this page is the record.
`;
}

if (import.meta.main) await main();
