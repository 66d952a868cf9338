// Benchmarks of gemm: the naive i-k-j loop (baseline) against the reference triple loop
// (kernels/gemm.ts) and each fast kernel, forced through the dispatcher (kernels/fast/), at 512³
// and at the shapes the layers call it with. Run: deno bench --allow-read kernels/gemm_bench.ts
//
// GFLOP/s = 2·m·n·k / time; e.g. 512³ is 268 MFLOP, so 10 ms is 26.8 GFLOP/s. Single core; on a
// shared machine, repeat and compare medians.

import { gemm as referenceGemm } from "./gemm.ts";
import { gemm as fastGemm } from "./fast/gemm.ts";
import { type ForcedKernels, forceKernels } from "./fast/dispatch.ts";
import { simdKernel, type SimdKernelName } from "./fast/gemm_simd.ts";
import { mulberry32 } from "../random.ts";

/** The fast kernels to compare, each as the dispatcher is told to force it (null: its choice). */
function variants(float32: boolean): [string, ForcedKernels | null][] {
  const out: [string, ForcedKernels | null][] = [["blocked", { gemm: "blocked" }]];
  if (float32) {
    for (const micro of ["fma", "plain"] as SimdKernelName[]) {
      if (simdKernel(micro) !== null) {
        out.push([`simd, ${micro} kernel`, { gemm: "simd", simd: micro }]);
      }
    }
  }
  out.push(["dispatcher's choice", null]);
  return out;
}

/**
 * The plain i-k-j loop every textbook starts from: the baseline each group is compared to.
 * One copy per element type, so V8 compiles each for a single array type (one shared copy sees
 * both and runs ~2× slower, which would flatter gemm).
 */
function naiveIkj32(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
  transB: boolean,
): void {
  c.fill(0);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p];
      if (transB) { for (let j = 0; j < n; j++) c[i * n + j] += aip * b[j * k + p]; }
      else for (let j = 0; j < n; j++) c[i * n + j] += aip * b[p * n + j];
    }
  }
}

/** {@link naiveIkj32} for Float64Array. */
function naiveIkj64(
  a: Float64Array,
  b: Float64Array,
  c: Float64Array,
  m: number,
  n: number,
  k: number,
  transB: boolean,
): void {
  c.fill(0);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p];
      if (transB) { for (let j = 0; j < n; j++) c[i * n + j] += aip * b[j * k + p]; }
      else for (let j = 0; j < n; j++) c[i * n + j] += aip * b[p * n + j];
    }
  }
}

interface Shape {
  group: string;
  m: number;
  n: number;
  k: number;
  transB: boolean;
}

const SHAPES: Shape[] = [
  { group: "gemm 512", m: 512, n: 512, k: 512, transB: false },
  { group: "gemm conv1 fwd [20,25]x[25,576]", m: 20, n: 576, k: 25, transB: false },
  { group: "gemm conv2 fwd [50,500]x[500,64]", m: 50, n: 64, k: 500, transB: false },
  { group: "gemm conv [64,576]x[576,1024]", m: 64, n: 1024, k: 576, transB: false },
  { group: "gemm fc fwd [64,800]x[800,500]T", m: 64, n: 500, k: 800, transB: true },
];

const rng = mulberry32(42);
for (const { group, m, n, k, transB } of SHAPES) {
  const gflop = (2 * m * n * k / 1e9).toPrecision(3);
  const big = m * n * k >= 1e8; // keep the slow loops' sample counts small
  for (const ctor of [Float32Array, Float64Array]) {
    const t = ctor === Float32Array ? "f32" : "f64";
    const a = new ctor(m * k).map(() => 2 * rng() - 1);
    const b = new ctor(k * n).map(() => 2 * rng() - 1);
    const c = new ctor(m * n);
    const A = { data: a, rows: m, cols: k };
    const B = { data: b, rows: transB ? n : k, cols: transB ? k : n };
    const g = `${group} ${t}`;
    Deno.bench({
      name: `naive i-k-j ${t} (${gflop} GFLOP)`,
      group: g,
      baseline: true,
      ...(big ? { n: 5, warmup: 1 } : {}),
      fn: ctor === Float32Array
        ? () => naiveIkj32(a as Float32Array, b as Float32Array, c as Float32Array, m, n, k, transB)
        : () =>
          naiveIkj64(a as Float64Array, b as Float64Array, c as Float64Array, m, n, k, transB),
    });
    Deno.bench({
      name: `gemm reference (triple loop) ${t}`,
      group: g,
      ...(big ? { n: 5, warmup: 1 } : {}),
      fn: () => {
        referenceGemm(A, B, { transB, out: c });
      },
    });
    for (const [name, forced] of variants(ctor === Float32Array)) {
      Deno.bench({
        name: `gemm fast, ${name} ${t}`,
        group: g,
        ...(big && name === "blocked" ? { n: 20, warmup: 2 } : {}),
        fn: () => {
          forceKernels(forced);
          fastGemm(A, B, { transB, out: c });
          forceKernels(null);
        },
      });
    }
  }
}
