// Tests of gemm (kernels/gemm.ts): every backend ("simple", "ts", "simd", "auto") against a naive
// triple loop, on awkward sizes, all four transpose cases, alpha/beta, both float types, views;
// then the BLAS edge semantics (NaN/Inf propagation, beta = 0, alpha = 0, k = 0) and bad input.
//
// Tolerance (why it is what it is). The reference is a float64 triple loop over the same inputs.
// A sum of k products computed in floating point with unit roundoff u satisfies
//   |computed - exact| <= gamma_k · Σ_p |a_ip|·|b_pj|,   gamma_k = k·u / (1 - k·u)
// (Higham, Accuracy and Stability of Numerical Algorithms, §3.5), whatever the summation order.
// So each C[i, j] is checked against
//   tol = 2·(k + 4)·u · (|alpha|·Σ_p |a_ip||b_pj| + |beta|·|C0_ij|)
// with u = 2^-53 for Float64Array (both the kernel and the reference round; ~1e-12 relative at
// the sizes here) and u = 2^-24 for Float32Array (float32 accumulation in the SIMD kernel; the
// TypeScript kernel sums in float64, far inside the bound; +4 covers the final alpha/beta
// multiply-add and the rounding of C to float32). The bound is relative to Σ|a||b|, not to |C|,
// because random signs make C cancel: a relative-to-|C| test would be either loose or flaky.
// alpha and beta are powers of two or short binary fractions, exact in float32, so the SIMD
// kernel's float32 alpha/beta is exact too.

// Tests of gemm: the reference triple loop (kernels/gemm.ts) and every fast kernel ("simple",
// "blocked", "simd" on each micro-kernel, and the dispatcher's own choice, "auto") against a
// naive triple loop, on awkward sizes, all four transpose cases, alpha/beta, both float types,
// views; then the BLAS edge semantics (NaN/Inf propagation, beta = 0, alpha = 0, k = 0), bad
// input, and the packed A the fast layers reuse.
//
// Tolerance (why it is what it is). The reference is a float64 triple loop over the same inputs.
// A sum of k products computed in floating point with unit roundoff u satisfies
//   |computed - exact| <= gamma_k · Σ_p |a_ip|·|b_pj|,   gamma_k = k·u / (1 - k·u)
// (Higham, Accuracy and Stability of Numerical Algorithms, §3.5), whatever the summation order.
// So each C[i, j] is checked against
//   tol = 2·(k + 4)·u · (|alpha|·Σ_p |a_ip||b_pj| + |beta|·|C0_ij|)
// with u = 2^-53 for Float64Array (both the kernel and the reference round; ~1e-12 relative at
// the sizes here) and u = 2^-24 for Float32Array (float32 accumulation in the SIMD kernel; the
// TypeScript kernels sum in float64, far inside the bound; +4 covers the final alpha/beta
// multiply-add and the rounding of C to float32). The bound is relative to Σ|a||b|, not to |C|,
// because random signs make C cancel: a relative-to-|C| test would be either loose or flaky.
// alpha and beta are powers of two or short binary fractions, exact in float32, so the SIMD
// kernel's float32 alpha/beta is exact too.

import { assert, assertEquals, assertThrows } from "@std/assert";
import { gemm as referenceGemm, type GemmOptions, type Matrix } from "./gemm.ts";
import { gemm as fastGemm } from "./fast/gemm.ts";
import {
  forceKernels,
  type GemmKernel,
  gemmKernel,
  packForGemm,
  runGemm,
  simd,
} from "./fast/dispatch.ts";
import { simdKernel, type SimdKernelName } from "./fast/gemm_simd.ts";
import { mulberry32, type Rng } from "../random.ts";

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;

/** The SIMD micro-kernels this runtime runs: both in Deno, "plain" only in Node 20. */
const SIMD_KERNELS = (["fma", "plain"] as SimdKernelName[]).filter((k) => simdKernel(k) !== null);
const SIMD = SIMD_KERNELS.length > 0;

/** The reference loop, a fast kernel ("simd:fma" names the micro-kernel), or the dispatcher. */
type Variant = "reference" | "auto" | Exclude<GemmKernel, "simd"> | `simd:${SimdKernelName}`;

/** Variants that accept the given element type here. */
function variantsFor(ctor: Ctor): Variant[] {
  const all: Variant[] = ["reference", "simple", "blocked", "auto"];
  if (ctor === Float32Array) all.push(...SIMD_KERNELS.map((k): Variant => `simd:${k}`));
  return all;
}

/** Runs `f` with the variant's kernel forced in the fast backend's dispatcher. */
function forcing<R>(variant: Variant, f: () => R): R {
  const [kernel, micro] = variant.split(":") as [GemmKernel, SimdKernelName?];
  if (variant !== "reference" && variant !== "auto") forceKernels({ gemm: kernel, simd: micro });
  try {
    return f();
  } finally {
    forceKernels(null);
  }
}

/** gemm on a variant. */
function gemmOn<T extends Float32Array | Float64Array>(
  a: Matrix<T>,
  b: Matrix<T>,
  opts: GemmOptions<T> & { variant: Variant },
): T {
  const { variant, ...o } = opts;
  return forcing(
    variant,
    () => variant === "reference" ? referenceGemm(a, b, o) : fastGemm(a, b, o),
  );
}

function randomArray(ctor: Ctor, length: number, rng: Rng): Float32Array | Float64Array {
  const x = new ctor(length);
  for (let i = 0; i < length; i++) x[i] = 2 * rng() - 1;
  return x;
}

interface Case {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  alpha: number;
  beta: number;
}

/** C = alpha·op(A)·op(B) + beta·C0 in float64, and the per-entry error bound's scale. */
function reference(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  c0: ArrayLike<number>,
  { m, n, k, transA, transB, alpha, beta }: Case,
): { c: Float64Array; scale: Float64Array } {
  const c = new Float64Array(m * n), scale = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0, abs = 0;
      for (let p = 0; p < k; p++) {
        const x = transA ? a[p * m + i] : a[i * k + p];
        const y = transB ? b[j * k + p] : b[p * n + j];
        s += x * y;
        abs += Math.abs(x * y);
      }
      const old = beta === 0 ? 0 : beta * c0[i * n + j];
      c[i * n + j] = alpha * s + old;
      scale[i * n + j] = Math.abs(alpha) * abs + Math.abs(old);
    }
  }
  return { c, scale };
}

/** Runs one case on every backend and checks each against the reference. */
function checkCase(ctor: Ctor, cs: Case, rng: Rng): void {
  const { m, n, k, transA, transB, alpha, beta } = cs;
  const a = randomArray(ctor, m * k, rng), b = randomArray(ctor, k * n, rng);
  const c0 = randomArray(ctor, m * n, rng);
  const { c: want, scale } = reference(a, b, c0, cs);
  const u = ctor === Float64Array ? 2 ** -53 : 2 ** -24;
  const A = { data: a, rows: transA ? k : m, cols: transA ? m : k };
  const B = { data: b, rows: transB ? n : k, cols: transB ? k : n };
  for (const variant of variantsFor(ctor)) {
    // beta = 0 must not read C: fill it with NaN, which would poison any entry that read it.
    const out = beta === 0 ? new ctor(m * n).fill(NaN) : c0.slice();
    const got = gemmOn(A, B, { transA, transB, alpha, beta, out, variant });
    assert(got === out);
    for (let idx = 0; idx < m * n; idx++) {
      const tol = 2 * (k + 4) * u * scale[idx];
      const err = Math.abs(got[idx] - want[idx]);
      if (!(err <= tol)) {
        const where = `[${Math.floor(idx / n)},${idx % n}]`;
        throw new Error(
          `${variant} ${ctor.name} ${JSON.stringify(cs)}: C${where} = ${got[idx]}, ` +
            `expected ${want[idx]} (error ${err}, tolerance ${tol})`,
        );
      }
    }
  }
}

const TRANSPOSES = [[false, false], [true, false], [false, true], [true, true]] as const;
const ALPHAS = [1, -0.5, 2];
const BETAS = [0, 1, 0.25];

// 1 and primes and non-multiples of the 4×4 (TypeScript), 3×8 and 5×8 (SIMD) tiles, and their
// neighbours of 32, 64 and 128.
const SIZES = [1, 2, 3, 5, 7, 13, 17, 31, 33, 64, 65, 127];

Deno.test("gemm simd: growing and reusing the module memory across calls of different sizes", () => {
  if (!SIMD) return; // nothing to test where WebAssembly SIMD is missing
  const rng = mulberry32(6);
  // First in this file (each test file runs in its own isolate), so the module's memory starts
  // at one 64 KiB page: small fits it, large (m 300) grows it and the Float32Array view is remade,
  // then small and large again reuse it: each call must see only its own data.
  for (const s of [3, 300, 5, 260]) {
    checkCase(
      Float32Array,
      { m: s, n: s + 1, k: s + 2, transA: false, transB: true, alpha: 1, beta: 0 },
      rng,
    );
  }
});

for (const ctor of [Float32Array, Float64Array]) {
  Deno.test(`gemm ${ctor.name}: cubes of awkward sizes, all transposes, vs naive`, () => {
    const rng = mulberry32(1);
    let t = 0;
    for (const s of SIZES) {
      for (const [transA, transB] of TRANSPOSES) {
        const alpha = ALPHAS[t % 3], beta = BETAS[Math.floor(t / 3) % 3];
        checkCase(ctor, { m: s, n: s, k: s, transA, transB, alpha, beta }, rng);
        t++;
      }
    }
  });

  Deno.test(`gemm ${ctor.name}: random m, n, k from the awkward sizes, vs naive`, () => {
    const rng = mulberry32(2);
    const pick = () => SIZES[Math.floor(rng() * SIZES.length)];
    for (let t = 0; t < 60; t++) {
      const [transA, transB] = TRANSPOSES[t % 4];
      const alpha = ALPHAS[t % 3], beta = BETAS[Math.floor(t / 4) % 3];
      checkCase(ctor, { m: pick(), n: pick(), k: pick(), transA, transB, alpha, beta }, rng);
    }
  });

  Deno.test(`gemm ${ctor.name}: several cache blocks in every loop (m, n, k past the blocks)`, () => {
    // m > 64 (MC of both paths), n > 512 (NC), k > 512 (KC of the SIMD path, twice that of the
    // TypeScript path, so later k blocks add to C, on top of beta·C), none a multiple of the
    // tiles.
    const rng = mulberry32(3);
    for (const [transA, transB] of TRANSPOSES) {
      checkCase(ctor, { m: 70, n: 521, k: 523, transA, transB, alpha: 1.5, beta: 0.25 }, rng);
    }
    checkCase(ctor, { m: 131, n: 9, k: 600, transA: false, transB: false, alpha: 1, beta: 0 }, rng);
  });

  Deno.test(`gemm ${ctor.name}: the layer shapes`, () => {
    const rng = mulberry32(4);
    const shapes: [number, number, number, boolean, boolean][] = [
      [20, 576, 25, false, false], // conv1 forward: w_col [20,25] · x_col [25,576]
      [50, 64, 500, false, false], // conv2 forward: w_col [50,500] · x_col [500,64]
      [64, 500, 800, false, true], // fc forward: x [64,800] · wᵀ, w [500,800]
      [500, 800, 64, true, false], // fc backward dw: dyᵀ [500,64] · x [64,800]
    ];
    for (const [m, n, k, transA, transB] of shapes) {
      checkCase(ctor, { m, n, k, transA, transB, alpha: 1, beta: 1 }, rng);
    }
  });

  Deno.test(`gemm ${ctor.name}: subarray views in, into a view of a larger out`, () => {
    const rng = mulberry32(5);
    const m = 9, n = 11, k = 7;
    const bigA = randomArray(ctor, m * k + 10, rng), bigB = randomArray(ctor, k * n + 6, rng);
    const a = bigA.subarray(3, 3 + m * k), b = bigB.subarray(5, 5 + k * n);
    const { c: want } = reference(a, b, [], {
      m,
      n,
      k,
      transA: false,
      transB: false,
      alpha: 1,
      beta: 0,
    });
    for (const variant of variantsFor(ctor)) {
      const bigC = new ctor(m * n + 8).fill(-7);
      const out = bigC.subarray(4, 4 + m * n);
      gemmOn({ data: a, rows: m, cols: k }, { data: b, rows: k, cols: n }, { out, variant });
      for (let i = 0; i < m * n; i++) {
        assert(Math.abs(out[i] - want[i]) <= 2 * (k + 4) * 2 ** -24 * k, `${variant} C[${i}]`);
      }
      // Nothing outside the view was touched.
      assertEquals(Array.from(bigC.subarray(0, 4)), [-7, -7, -7, -7]);
      assertEquals(Array.from(bigC.subarray(4 + m * n)), [-7, -7, -7, -7]);
    }
  });

  Deno.test(`gemm ${ctor.name}: NaN and Inf propagate; zeros are not skipped`, () => {
    for (const variant of variantsFor(ctor)) {
      // A [4,3] with one NaN and one Inf; B [3,9] all zeros except B[2, 5] = Inf.
      // 0·NaN = NaN and 0·Inf = NaN must reach every C entry of those rows; the Inf in B times
      // A's zeros must reach column 5 of every row.
      const m = 4, k = 3, n = 9;
      const a = new ctor(m * k), b = new ctor(k * n);
      a[1 * k + 0] = NaN; // row 1
      a[2 * k + 1] = Infinity; // row 2
      b[2 * n + 5] = Infinity;
      const c = gemmOn({ data: a, rows: m, cols: k }, { data: b, rows: k, cols: n }, { variant });
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          const nan = i === 1 || i === 2 || j === 5;
          assertEquals(
            Number.isNaN(c[i * n + j]),
            nan,
            `${variant} C[${i},${j}] = ${c[i * n + j]}`,
          );
        }
      }
    }
  });

  Deno.test(`gemm ${ctor.name}: beta = 0 overwrites a NaN-filled out; beta = 1 accumulates`, () => {
    const a = { data: new ctor([1, 2, 3, 4, 5, 6]), rows: 2, cols: 3 };
    const b = { data: new ctor([1, 0, 0, 1, 1, 1]), rows: 3, cols: 2 };
    for (const variant of variantsFor(ctor)) {
      const out = new ctor(4).fill(NaN);
      assertEquals(Array.from(gemmOn(a, b, { out, variant })), [4, 5, 10, 11]);
      gemmOn(a, b, { out, beta: 1, alpha: -1, variant }); // C = C - A·B
      assertEquals(Array.from(out), [0, 0, 0, 0]);
    }
  });

  Deno.test(`gemm ${ctor.name}: alpha = 0 and k = 0 give beta·C without reading A, B`, () => {
    for (const variant of variantsFor(ctor)) {
      const a = { data: new ctor([NaN, 1, 2, Infinity]), rows: 2, cols: 2 };
      const out = new ctor([1, 2, 3, 4]);
      gemmOn(a, a, { alpha: 0, beta: 0.5, out, variant });
      assertEquals(Array.from(out), [0.5, 1, 1.5, 2]);
      gemmOn(a, a, { alpha: 0, out: out.fill(NaN), variant }); // beta = 0: zeros, NaN not read
      assertEquals(Array.from(out), [0, 0, 0, 0]);
      // k = 0: op(A) [2,0] · op(B) [0,3] is the zero matrix
      const empty = { data: new ctor(0), rows: 2, cols: 0 };
      const c = gemmOn(empty, { data: new ctor(0), rows: 0, cols: 3 }, { variant });
      assertEquals(Array.from(c), [0, 0, 0, 0, 0, 0]);
      const c1 = gemmOn(empty, { data: new ctor(0), rows: 0, cols: 3 }, {
        beta: 2,
        out: new ctor([1, 2, 3, 4, 5, 6]),
        variant,
      });
      assertEquals(Array.from(c1), [2, 4, 6, 8, 10, 12]);
      // m = 0: an empty result
      assertEquals(gemmOn({ data: new ctor(0), rows: 0, cols: 2 }, a, { variant }).length, 0);
    }
  });

  Deno.test(`gemm ${ctor.name}: result type and a fresh array when out is omitted`, () => {
    const a = { data: new ctor([1, 2, 3, 4]), rows: 2, cols: 2 };
    for (const variant of variantsFor(ctor)) {
      const c = gemmOn(a, a, { variant });
      assert(c instanceof ctor);
      assertEquals(Array.from(c), [7, 10, 15, 22]);
      assert(c !== a.data);
    }
  });
}

Deno.test("gemm simd: float32 results agree with the float64-summing blocked kernel", () => {
  if (!SIMD) return;
  const rng = mulberry32(7);
  const m = 37, n = 45, k = 301;
  const a = { data: randomArray(Float32Array, m * k, rng), rows: m, cols: k };
  const b = { data: randomArray(Float32Array, k * n, rng), rows: k, cols: n };
  const simd = gemmOn(a, b, { variant: `simd:${SIMD_KERNELS[0]}` });
  const ts = gemmOn(a, b, { variant: "blocked" });
  // both are within k·u·Σ|a||b| <= k·u·k of the exact value (entries in [-1, 1])
  for (let i = 0; i < m * n; i++) assert(Math.abs(simd[i] - ts[i]) <= 2 * (k + 4) * 2 ** -24 * k);
});

for (const [name, gemm] of [["reference", referenceGemm], ["fast", fastGemm]] as const) {
  Deno.test(`gemm (${name}): bad input throws a clear error and writes nothing`, () => {
    const f32 = (n: number) => new Float32Array(n), f64 = (n: number) => new Float64Array(n);
    const a = { data: f64(6), rows: 2, cols: 3 };
    const b = { data: f64(8), rows: 4, cols: 2 };
    const out = f64(4).fill(9);
    assertThrows(
      () => gemm(a, b, { out }),
      RangeError,
      "gemm: op(a) is 2x3 but op(b) is 4x2; inner dimensions must match",
    );
    assertEquals(Array.from(out), [9, 9, 9, 9]); // nothing half-written
    assertThrows(
      () => gemm(a, { data: f64(6), rows: 3, cols: 2 }, { out: f64(5) }),
      RangeError,
      "gemm: opts.out has 5 elements but the result needs 4",
    );
    assertThrows(
      () => gemm({ data: f64(5), rows: 2, cols: 3 }, b),
      RangeError,
      "gemm: a.data has 5 elements, expected 2x3",
    );
    assertThrows(
      () => gemm(a, { data: f64(5), rows: 3, cols: 2 }),
      RangeError,
      "gemm: b.data has 5 elements, expected 3x2",
    );
    assertThrows(
      // deno-lint-ignore no-explicit-any
      () => gemm(a as any, { data: f32(6), rows: 3, cols: 2 } as any),
      TypeError,
      "gemm: a is Float64Array but b is Float32Array",
    );
    assertThrows(
      // deno-lint-ignore no-explicit-any
      () => gemm(a, { data: f64(6), rows: 3, cols: 2 }, { out: f32(4) as any }),
      TypeError,
      "gemm: opts.out must be a Float64Array like the input, got Float32Array",
    );
    assertThrows(
      // deno-lint-ignore no-explicit-any
      () => gemm({ data: [1, 2, 3, 4] as any, rows: 2, cols: 2 }, a),
      TypeError,
      "gemm: a.data must be a Float32Array or Float64Array, got Array",
    );
    assertThrows(
      () => gemm({ data: f64(6), rows: 1.5, cols: 4 }, a),
      RangeError,
      "gemm: a is 1.5x4; rows and cols must be non-negative integers",
    );
    const shared = f64(4);
    assertThrows(
      () =>
        gemm({ data: shared, rows: 2, cols: 2 }, { data: f64(4), rows: 2, cols: 2 }, {
          out: shared,
        }),
      RangeError,
      "gemm: opts.out shares memory with a.data",
    );
    const buf = f64(10);
    assertThrows(
      () =>
        gemm({ data: f64(4), rows: 2, cols: 2 }, { data: buf.subarray(0, 4), rows: 2, cols: 2 }, {
          out: buf.subarray(3, 7),
        }),
      RangeError,
      "gemm: opts.out shares memory with b.data",
    );
    assertThrows(
      // deno-lint-ignore no-explicit-any
      () => gemm(a, { data: f64(6), rows: 3, cols: 2 }, { alpha: "2" as any }),
      TypeError,
      "gemm: alpha and beta must be numbers, got string and number",
    );
  });
}

Deno.test("gemm simd: the B and C copy layouts (whole-B memcpy, wide blocks for short k)", () => {
  // n = 112 is its own padded stride (7 cache lines): B is copied whole; n = 2100 with k = 3
  // takes the widened column blocks (two of 1056); n = 5 reads past B's last row into padding.
  const rng = mulberry32(8);
  for (const [m, n, k] of [[13, 112, 40], [5, 2100, 3], [7, 5, 9], [64, 64, 600]]) {
    for (const [transA, transB] of TRANSPOSES) {
      checkCase(Float32Array, { m, n, k, transA, transB, alpha: 1, beta: 0.25 }, rng);
    }
  }
});

Deno.test("gemm simd: an A packed once (packForGemm) gives the same bits as packing per call", () => {
  if (!SIMD) return;
  const rng = mulberry32(9);
  // the conv shapes, blocks past MC and KC (m 130, k 600), and awkward small ones
  const shapes = [[50, 64, 500], [500, 64, 50], [20, 576, 25], [25, 576, 20], [130, 70, 600]];
  for (const micro of SIMD_KERNELS) {
    forceKernels({ simd: micro });
    try {
      for (const [m, n, k] of shapes) {
        for (const transA of [false, true]) {
          const a = randomArray(Float32Array, m * k, rng) as Float32Array;
          const b = randomArray(Float32Array, k * n, rng) as Float32Array;
          const packed = packForGemm(a, transA, m, k, n, (len) => new Float32Array(len));
          assert(packed !== null, `${micro} ${m}x${n}x${k}: SIMD products get packed panels`);
          for (const beta of [0, 0.5]) {
            const c0 = randomArray(Float32Array, m * n, rng) as Float32Array;
            const p = {
              a,
              rsA: transA ? 1 : k,
              csA: transA ? m : 1,
              b,
              rsB: n,
              csB: 1,
              m,
              n,
              k,
              alpha: 1,
              beta,
            };
            const want = c0.slice();
            runGemm({ ...p, c: want });
            // used twice: the panels are not consumed or altered by a call
            for (let rep = 0; rep < 2; rep++) {
              const got = c0.slice();
              runGemm({ ...p, c: got }, packed);
              assertEquals(got, want, `${micro} ${m}x${n}x${k} transA ${transA}`);
            }
          }
        }
      }
    } finally {
      forceKernels(null);
    }
  }
  // no SIMD product, no panels: float64, or a product the simple loop runs
  const f64 = new Float64Array(64 * 64);
  assertEquals(packForGemm(f64, false, 64, 64, 64, (len) => new Float32Array(len)), null);
  assertEquals(
    packForGemm(new Float32Array(4), false, 2, 2, 2, (len) => new Float32Array(len)),
    null,
  );
});

Deno.test("gemm simd: a packed A kept in the module's memory between calls is never stale", () => {
  // The panels of a packed A stay in the WebAssembly memory for the next call with the same
  // panels (the same version); any other call overwrites that region. Alternate two packed
  // weights, a plain A, and panels repacked into the same storage (a layer's next step), with a
  // k deep enough for two k blocks (C kept in the memory between them), and check every call.
  const rng = mulberry32(10);
  for (const micro of SIMD_KERNELS) {
    forceKernels({ simd: micro });
    try {
      const [m, n, k] = [50, 64, 700];
      const A1 = randomArray(Float32Array, m * k, rng) as Float32Array;
      const A2 = randomArray(Float32Array, m * k, rng) as Float32Array;
      const B = randomArray(Float32Array, k * n, rng) as Float32Array;
      const problem = (a: Float32Array, c: Float32Array) => ({
        a,
        rsA: k,
        csA: 1,
        b: B,
        rsB: n,
        csB: 1,
        m,
        n,
        k,
        alpha: 1,
        beta: 0,
        c,
      });
      const want = (a: Float32Array) => {
        const c = new Float32Array(m * n);
        forcing("blocked", () => runGemm(problem(a, c)));
        return c;
      };
      const want1 = want(A1), want2 = want(A2);
      let storage = new Float32Array(0);
      const reuse = (len: number) =>
        storage.length === len ? storage : storage = new Float32Array(len);
      const p1 = packForGemm(A1, false, m, k, n, reuse)!;
      const p2 = packForGemm(A2, false, m, k, n, (len) => new Float32Array(len))!;
      const calls: [Float32Array, typeof p1 | null, Float32Array][] = [
        [A1, p1, want1],
        [A1, p1, want1],
        [A2, p2, want2],
        [A1, null, want1],
        [A2, p2, want2],
      ];
      for (const [a, panels, expected] of calls) {
        const got = new Float32Array(m * n);
        runGemm(problem(a, got), panels);
        for (let i = 0; i < m * n; i++) {
          assert(Math.abs(got[i] - expected[i]) <= 2 * (k + 4) * 2 ** -24 * k, `${micro} C[${i}]`);
        }
      }
      // A2 repacked into p1's storage (the same array): the kernel must not take the resident
      // panels of A1 for it
      runGemm(problem(A1, new Float32Array(m * n)), p1); // p1 resident now
      const p3 = packForGemm(A2, false, m, k, n, reuse)!;
      assert(p3.data === p1.data && p3.version !== p1.version);
      const got = new Float32Array(m * n);
      runGemm(problem(A2, got), p3);
      for (let i = 0; i < m * n; i++) {
        assert(
          Math.abs(got[i] - want2[i]) <= 2 * (k + 4) * 2 ** -24 * k,
          `${micro} reused C[${i}]`,
        );
      }
    } finally {
      forceKernels(null);
    }
  }
});

Deno.test("the dispatcher's GEMM choices follow its named thresholds", () => {
  const micro = simd();
  const cases: [number, number, number, boolean, GemmKernel][] = [
    [8, 8, 8, true, "simple"], // 512 multiply-adds: below GEMM_SIMPLE_BELOW
    [512, 1, 512, true, "simple"], // n = 1: the tiles would be padding
    [64, 64, 64, false, "blocked"], // float64
    [2, 512, 512, false, "simple"], // thin m without SIMD
    [64, 64, 64, true, micro === null ? "blocked" : "simd"],
    [1, 512, 512, true, micro === null ? "simple" : "simd"], // SIMD wins even at m = 1
  ];
  for (const [m, n, k, f32, want] of cases) {
    assertEquals(gemmKernel(m, n, k, f32), want, `${m}x${n}x${k} ${f32 ? "f32" : "f64"}`);
  }
  forceKernels({ gemm: "simd" });
  try {
    assertEquals(gemmKernel(64, 64, 64, false), "blocked"); // SIMD cannot run float64
  } finally {
    forceKernels(null);
  }
});
