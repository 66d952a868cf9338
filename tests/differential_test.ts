// The differential suite: every public layer function and gemm, on the fast backend against the
// reference backend, over thousands of random small geometries (per-axis stride, padding and
// dilation, groups, no bias, 1×1 kernels, kernels as large as the padded input, batch 1), in
// float64 and float32.
//
// What must agree, and how closely:
// - bit for bit (every element the same number, NaN matching NaN; a zero may differ in sign, as
//   −0 and +0 are the same number): max pooling forward and backward (a maximum is exact, and
//   both backends add each gradient into its winner in the order of the outputs), ReLU forward
//   and backward (exact), im2col and col2im (one implementation), and, inside the fast backend,
//   the kernels it may choose between: the direct SIMD convolution against im2col + the FMA
//   GEMM, the table's runs against its indices, a workspace that keeps x_col against one that
//   does not.
// - within a derived bound: the convolution, fully connected and gemm, whose sums the two
//   backends add in different orders and, for float32, different precisions (the reference sums
//   in float64 and rounds once; the fast SIMD kernels sum in float32). A sum of n products
//   computed with unit roundoff u in any order is within γ_n·Σ|terms| of the exact sum,
//   γ_n = n·u/(1 − n·u) (Higham, Accuracy and Stability of Numerical Algorithms, §3.5); both
//   backends are within that of the exact value, so they are within 2·γ_n·Σ|terms| of each
//   other. Σ|terms| is computed by the reference itself on |x|, |w|, |dy| (a convolution of
//   absolute values is the sum of the absolute values of its products), and n counts every
//   rounded addition and multiplication on the way to an output, as written at each check.
//   u = 2⁻⁵³ for float64, 2⁻²⁴ for float32.

import { assert } from "@std/assert";
import {
  col2im,
  convBackward,
  convForward,
  fcBackward,
  fcForward,
  type FloatArray,
  gemm,
  getBackend,
  im2col,
  im2colTable,
  maxPoolBackward,
  maxPoolForward,
  reluBackward,
  reluForward,
  setBackend,
  type Tensor,
  Workspace,
} from "../mod.ts";
import { type ConvKernel, forceKernels, type GatherKernel } from "../kernels/fast/dispatch.ts";
import { simdKernel } from "../kernels/fast/gemm_simd.ts";
import { randInt, randomArray, randTensor, rngFor } from "./_random.ts";
import { convTableGeometry } from "../layers/_args.ts";
import { depthwiseCase, depthwiseOpts } from "./_depthwise.ts";

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;
const TYPES: Ctor[] = [Float64Array, Float32Array];
const unit = (T: Ctor) => (T === Float64Array ? 2 ** -53 : 2 ** -24);

/** `f` on one backend, the previous backend restored afterwards. */
function on<R>(backend: "reference" | "fast", f: () => R): R {
  const before = getBackend();
  setBackend(backend);
  try {
    return f();
  } finally {
    setBackend(before);
  }
}

const rand = (rng: () => number, shape: number[], T: Ctor): Tensor => randTensor(rng, shape, T);

function abs(t: Tensor): Tensor {
  return { shape: t.shape, data: t.data.map(Math.abs) as FloatArray };
}

/** The same numbers: equal elements, NaN with NaN (±0 are one number). */
function assertSame(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert(got.length === want.length, `${what}: length ${got.length} vs ${want.length}`);
  for (let i = 0; i < got.length; i++) {
    const a = got[i], b = want[i];
    if (!(a === b || (a !== a && b !== b))) {
      throw new Error(`${what}: [${i}] fast ${a}, reference ${b}`);
    }
  }
}

/** |fast − reference| ≤ 2·γ_n·scale, element by element. */
function assertWithin(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  scale: ArrayLike<number>,
  n: number,
  u: number,
  what: string,
): void {
  const gamma = (n * u) / (1 - n * u);
  assert(got.length === want.length, `${what}: length ${got.length} vs ${want.length}`);
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - want[i]), tol = 2 * gamma * scale[i];
    if (!(err <= tol)) {
      throw new Error(`${what}: [${i}] fast ${got[i]}, reference ${want[i]}: |Δ| ${err} > ${tol}`);
    }
  }
}

interface ConvGeo {
  N: number;
  C: number;
  H: number;
  W: number;
  D: number;
  kh: number;
  kw: number;
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
  bias: boolean;
}

/** Random small convolutions; every tenth has a kernel as large as the padded input (one
 * output position), every seventh a 1×1 kernel, and batch 1 is common; every third is dilated,
 * every fourth grouped (every twelfth depthwise), every fifth has no bias. */
function convGeometry(rng: () => number, i: number): ConvGeo {
  const N = randInt(rng, 1, 3), H = randInt(rng, 1, 9);
  const W = randInt(rng, 1, 9);
  let C = randInt(rng, 1, 4), D = randInt(rng, 1, 6);
  const padding: [number, number] = [randInt(rng, 0, 2), randInt(rng, 0, 2)];
  const stride: [number, number] = [randInt(rng, 1, 3), randInt(rng, 1, 3)];
  const dilation: [number, number] = i % 3 === 1
    ? [randInt(rng, 1, 3), randInt(rng, 1, 3)]
    : [1, 1];
  // the largest kernel whose dilated span fits the padded input
  const most = (n: number, p: number, d: number) => Math.floor((n + 2 * p - 1) / d) + 1;
  let kh = randInt(rng, 1, Math.min(5, most(H, padding[0], dilation[0])));
  let kw = randInt(rng, 1, Math.min(5, most(W, padding[1], dilation[1])));
  if (i % 10 === 0) [kh, kw] = [most(H, padding[0], dilation[0]), most(W, padding[1], dilation[1])];
  if (i % 7 === 0) [kh, kw] = [1, 1];
  let groups = 1;
  if (i % 4 === 2) {
    groups = randInt(rng, 2, 3);
    [C, D] = [groups * randInt(rng, 1, 2), groups * randInt(rng, 1, 3)];
  }
  if (i % 12 === 6) [D, groups] = [C, C]; // depthwise
  return { N, C, H, W, D, kh, kw, stride, padding, dilation, groups, bias: i % 5 !== 3 };
}

/** The convolution options of a geometry. */
function convOpts(g: ConvGeo) {
  return { stride: g.stride, padding: g.padding, dilation: g.dilation, groups: g.groups };
}

const CONV_CASES = 1500;

for (const T of TYPES) {
  Deno.test(`differential: conv forward and backward, fast vs reference (${T.name}, ${CONV_CASES} geometries)`, () => {
    const rng = rngFor(T === Float64Array ? 101 : 102), u = unit(T);
    for (let i = 0; i < CONV_CASES; i++) {
      const g = convGeometry(rng, i), label = `${T.name} ${JSON.stringify(g)}`;
      const x = rand(rng, [g.N, g.C, g.H, g.W], T);
      const w = rand(rng, [g.D, g.C / g.groups, g.kh, g.kw], T);
      const b = g.bias ? rand(rng, [g.D], T) : null, opts = convOpts(g);
      const ref = on("reference", () => convForward(x, w, b, opts));
      const fast = on("fast", () => convForward(x, w, b, opts));
      const K = (g.C / g.groups) * g.kh * g.kw;
      // y: K products and K additions, plus the bias
      const sY = on("reference", () =>
        convForward(abs(x), abs(w), b === null ? null : abs(b), opts)).y.data;
      assertWithin(fast.y.data, ref.y.data, sY, K + 2, u, `${label} y`);
      const dy = rand(rng, [...ref.y.shape], T);
      const gr = on("reference", () => convBackward(dy, ref.cache));
      const gf = on("fast", () => convBackward(dy, fast.cache));
      const a = on(
        "reference",
        () => convBackward(abs(dy), convForward(abs(x), abs(w), b, opts).cache),
      );
      const P = ref.y.shape[2] * ref.y.shape[3];
      // dw: N·P products per entry, summed within a sample and then over the samples
      assertWithin(gf.dw.data, gr.dw.data, a.dw.data, g.N * P + g.N + 2, u, `${label} dw`);
      if (b === null) assert(gf.db === null && gr.db === null, `${label}: no bias, no db`);
      else assertWithin(gf.db!.data, gr.db!.data, a.db!.data, g.N * P + g.N + 2, u, `${label} db`);
      // dx: each cell sums D products for each of at most kh·kw windows that read it
      assertWithin(gf.dx.data, gr.dx.data, a.dx.data, g.D + g.kh * g.kw + 2, u, `${label} dx`);
      // either backend's backward on the other's cache: the same numbers as its own
      const cross = on("reference", () => convBackward(dy, fast.cache));
      assertSame(cross.dw.data, gr.dw.data, `${label} reference backward of a fast cache`);
      const dwOnly = on("fast", () => convBackward(dy, ref.cache, { inputGradient: false }));
      assertSame(dwOnly.dw.data, gf.dw.data, `${label} fast backward of a reference cache`);
      assert(dwOnly.dx === null);
    }
  });
}

Deno.test("differential: inside the fast backend, its kernels agree bit for bit", () => {
  // the direct SIMD convolution against im2col + the FMA GEMM (both forced, float32, stride 1);
  // the table walked by runs against by indices; x_col kept in a workspace against gathered again
  const rng = rngFor(103), fma = simdKernel("fma") !== null;
  const run = <R>(kernels: Parameters<typeof forceKernels>[0], f: () => R): R => {
    forceKernels(kernels);
    try {
      return on("fast", f);
    } finally {
      forceKernels(null);
    }
  };
  for (let i = 0; i < 400; i++) {
    const g = convGeometry(rng, i);
    for (const T of TYPES) {
      const x = rand(rng, [g.N, g.C, g.H, g.W], T);
      const w = rand(rng, [g.D, g.C / g.groups, g.kh, g.kw], T);
      const b = g.bias ? rand(rng, [g.D], T) : null, label = `${T.name} ${JSON.stringify(g)}`;
      const opts = convOpts(g);
      // (the direct kernel is for one group: grouped geometries run their own kernels)
      if (fma && T === Float32Array && g.groups === 1) {
        const y = (conv: ConvKernel) =>
          run(
            { conv, gemm: "simd", simd: "fma" },
            () => convForward(x, w, b, { ...opts, padding: g.padding, stride: [1, 1] }).y.data,
          );
        assertSame(y("direct"), y("im2col"), `${label}: direct vs im2col + gemm`);
      }
      const pass = (gather: GatherKernel, workspace?: Workspace) =>
        run({ gather }, () => {
          const f = convForward(x, w, b, { ...opts, workspace });
          const dy = {
            shape: [...f.y.shape],
            data: f.y.data.map((v) => Math.sin(3 * v)) as FloatArray,
          };
          return [f.y.data.slice(), convBackward(dy, f.cache, { workspace })] as const;
        });
      const [yr, gr] = pass("runs"),
        [yi, gi] = pass("indices"),
        [yk, gk] = pass("runs", new Workspace());
      for (const [what, [y2, g2]] of [["indices", [yi, gi]], ["kept x_col", [yk, gk]]] as const) {
        assertSame(y2, yr, `${label} y: runs vs ${what}`);
        assertSame(g2.dx.data, gr.dx.data, `${label} dx: runs vs ${what}`);
        assertSame(g2.dw.data, gr.dw.data, `${label} dw: runs vs ${what}`);
      }
    }
  }
});

for (const T of TYPES) {
  Deno.test(`differential: fully connected, fast vs reference (${T.name}, 500 shapes)`, () => {
    const rng = rngFor(T === Float64Array ? 104 : 105), u = unit(T);
    for (let i = 0; i < 500; i++) {
      const N = randInt(rng, 1, 5), D = randInt(rng, 1, 9);
      const shape = i % 2 === 0
        ? [N, randInt(rng, 1, 40)]
        : [N, randInt(rng, 1, 4), randInt(rng, 1, 4), randInt(rng, 1, 4)];
      const K = shape.slice(1).reduce((a, c) => a * c, 1), label = `${T.name} x [${shape}] D ${D}`;
      const x = rand(rng, shape, T), w = rand(rng, [D, K], T), b = rand(rng, [D], T);
      const ref = on("reference", () => fcForward(x, w, b));
      const fast = on("fast", () => fcForward(x, w, b));
      const sY = on("reference", () => fcForward(abs(x), abs(w), abs(b))).y.data;
      assertWithin(fast.y.data, ref.y.data, sY, K + 2, u, `${label} y`);
      const dy = rand(rng, [N, D], T);
      const gr = on("reference", () => fcBackward(dy, ref.cache));
      const gf = on("fast", () => fcBackward(dy, fast.cache));
      const a = on("reference", () => fcBackward(abs(dy), fcForward(abs(x), abs(w), b).cache));
      assertWithin(gf.dw.data, gr.dw.data, a.dw.data, N + 2, u, `${label} dw`);
      assertWithin(gf.db.data, gr.db.data, a.db.data, N + 2, u, `${label} db`);
      assertWithin(gf.dx.data, gr.dx.data, a.dx.data, D + 2, u, `${label} dx`);
      assert(gf.dx.shape.join() === shape.join(), label);
    }
  });
}

Deno.test("differential: max pooling, fast vs reference, bit for bit (2000 geometries)", () => {
  const rng = rngFor(106);
  const special = [NaN, -Infinity, -1, -0, 0, 1, 1, Infinity];
  for (let i = 0; i < 2000; i++) {
    const T = TYPES[i % 2];
    const N = randInt(rng, 1, 2), C = randInt(rng, 1, 3), H = randInt(rng, 1, 12);
    const W = randInt(rng, 1, 12);
    const size: [number, number] = i % 3 === 0 ? [2, 2] : [randInt(rng, 1, H), randInt(rng, 1, W)];
    if (size[0] > H || size[1] > W) continue;
    const stride: [number, number] = i % 3 === 0 && i % 2 === 0
      ? [2, 2]
      : [randInt(rng, 1, 3), randInt(rng, 1, 3)];
    const x = rand(rng, [N, C, H, W], T);
    // every fifth input mostly ties, NaN, ±Infinity and ±0
    if (i % 5 === 0) x.data.forEach((_, k) => x.data[k] = special[Math.floor(rng() * 8)]);
    const label = `${T.name} [${N},${C},${H},${W}] size ${size} stride ${stride}`;
    const ref = on("reference", () => maxPoolForward(x, { size, stride }));
    for (const training of [true, false]) {
      const fast = on("fast", () => maxPoolForward(x, { size, stride, training }));
      assertSame(fast.y.data, ref.y.data, `${label} y (training ${training})`);
      const dy = rand(rng, [...ref.y.shape], T);
      const dxr = on("reference", () => maxPoolBackward(dy, ref.cache)).data;
      assertSame(on("fast", () => maxPoolBackward(dy, fast.cache)).data, dxr, `${label} dx`);
      assertSame(
        on("reference", () => maxPoolBackward(dy, fast.cache)).data,
        dxr,
        `${label} dx, crossed`,
      );
    }
  }
});

Deno.test("differential: ReLU, fast vs reference, bit for bit", () => {
  const rng = rngFor(107);
  const special = [NaN, -Infinity, -2, -0, 0, 3, Infinity];
  for (let i = 0; i < 200; i++) {
    const T = TYPES[i % 2], n = randInt(rng, 1, 300);
    const x = rand(rng, [n], T), dy = rand(rng, [n], T);
    if (i % 2 === 0) {
      x.data.forEach((_, k) => x.data[k] = special[Math.floor(rng() * 7)]);
      dy.data.forEach((_, k) => dy.data[k] = special[Math.floor(rng() * 7)]);
    }
    const ref = on("reference", () => reluForward(x)), fast = on("fast", () => reluForward(x));
    assertSame(fast.y.data, ref.y.data, `${T.name} relu y`);
    const dxr = on("reference", () => reluBackward(dy, ref.cache)).data;
    assertSame(on("fast", () => reluBackward(dy, fast.cache)).data, dxr, `${T.name} relu dx`);
  }
});

Deno.test("differential: gemm, fast vs reference (600 products, all transposes)", () => {
  const rng = rngFor(108);
  for (let i = 0; i < 600; i++) {
    const T = TYPES[i % 2], u = unit(T);
    const m = randInt(rng, 1, 70),
      n = randInt(rng, 1, 70),
      k = randInt(rng, 1, i % 10 === 0 ? 700 : 70);
    const transA = rng() < 0.5, transB = rng() < 0.5, beta = [0, 1, 0.5][i % 3];
    const a = { data: randomArray(rng, m * k, T), rows: transA ? k : m, cols: transA ? m : k };
    const b = { data: randomArray(rng, k * n, T), rows: transB ? n : k, cols: transB ? k : n };
    const c0 = randomArray(rng, m * n, T);
    const opts = { transA, transB, beta };
    const ref = on("reference", () => gemm(a, b, { ...opts, out: c0.slice() }));
    const fast = on("fast", () => gemm(a, b, { ...opts, out: c0.slice() }));
    const absA = { ...a, data: a.data.map(Math.abs) }, absB = { ...b, data: b.data.map(Math.abs) };
    const scale = on("reference", () => gemm(absA, absB, { ...opts, out: c0.map(Math.abs) }));
    assertWithin(
      fast,
      ref,
      scale,
      k + 3,
      u,
      `${T.name} ${m}x${n}x${k} ${transA} ${transB} β ${beta}`,
    );
  }
});

Deno.test("differential: im2col and col2im are one implementation on both backends", () => {
  const rng = rngFor(109);
  for (let i = 0; i < 300; i++) {
    const g = convGeometry(rng, i);
    const table = im2colTable(
      convTableGeometry({ ...g, D: g.groups, Ho: 1, Wo: 1, K: 1, P: 1 }),
    );
    const x = randomArray(rng, table.inputSize, Float32Array);
    const c = randomArray(rng, table.rows * table.cols, Float32Array);
    assertSame(
      on("fast", () => im2col(x, table)),
      on("reference", () => im2col(x, table)),
      "im2col",
    );
    assertSame(
      on("fast", () => col2im(c, table)),
      on("reference", () => col2im(c, table)),
      "col2im",
    );
  }
});

const DEPTHWISE_CASES = 1200;

for (const T of TYPES) {
  Deno.test(`differential: depthwise conv (groups = C), fast vs reference (${T.name}, ${DEPTHWISE_CASES} geometries)`, () => {
    // the fast backend's depthwise kernel (tests/_depthwise.ts: multipliers, strides,
    // dilations, paddings and "same", no bias, batch 1, 1×1 and whole-input kernels)
    const rng = rngFor(T === Float64Array ? 110 : 111), u = unit(T);
    for (let i = 0; i < DEPTHWISE_CASES; i++) {
      const c = depthwiseCase(rng, i), opts = depthwiseOpts(c), D = c.C * c.M;
      const label = `${T.name} depthwise ${JSON.stringify(c)}`;
      const x = rand(rng, [c.N, c.C, c.H, c.W], T), w = rand(rng, [D, 1, c.kh, c.kw], T);
      const b = c.bias ? rand(rng, [D], T) : null;
      const ref = on("reference", () => convForward(x, w, b, opts));
      const fast = on("fast", () => convForward(x, w, b, opts));
      const K = c.kh * c.kw, P = ref.y.shape[2] * ref.y.shape[3];
      // y: K products and K additions, plus the bias
      const sY = on("reference", () =>
        convForward(abs(x), abs(w), b === null ? null : abs(b), opts)).y.data;
      assertWithin(fast.y.data, ref.y.data, sY, K + 2, u, `${label} y`);
      const dy = rand(rng, [...ref.y.shape], T);
      const gr = on("reference", () => convBackward(dy, ref.cache));
      const gf = on("fast", () => convBackward(dy, fast.cache));
      const a = on(
        "reference",
        () => convBackward(abs(dy), convForward(abs(x), abs(w), b, opts).cache),
      );
      // dw, db: N·P products per entry, summed within a sample and then over the samples
      assertWithin(gf.dw.data, gr.dw.data, a.dw.data, c.N * P + c.N + 2, u, `${label} dw`);
      if (b === null) assert(gf.db === null && gr.db === null, `${label}: no bias, no db`);
      else assertWithin(gf.db!.data, gr.db!.data, a.db!.data, c.N * P + c.N + 2, u, `${label} db`);
      // dx: each cell adds one term per tap that reads it (at most kh·kw), each term the sum of
      // the channel's M filters' products (w_colᵀ · dY, then col2im)
      assertWithin(gf.dx.data, gr.dx.data, a.dx.data, c.M + K + 2, u, `${label} dx`);
      // inputGradient: false skips dx and gives the same dw and db, bit for bit
      const dwOnly = on("fast", () => convBackward(dy, fast.cache, { inputGradient: false }));
      assert(dwOnly.dx === null, `${label}: inputGradient false, dx null`);
      assertSame(dwOnly.dw.data, gf.dw.data, `${label} dw without dx`);
      if (b !== null) assertSame(dwOnly.db!.data, gf.db!.data, `${label} db without dx`);
      // a workspace changes where the arrays live, not the numbers
      const workspace = new Workspace();
      const kept = on("fast", () => convForward(x, w, b, { ...opts, workspace }));
      assertSame(kept.y.data, fast.y.data, `${label} y with a workspace`);
      const gk = on("fast", () => convBackward(dy, kept.cache, { workspace }));
      assertSame(gk.dx.data, gf.dx.data, `${label} dx with a workspace`);
      assertSame(gk.dw.data, gf.dw.data, `${label} dw with a workspace`);
    }
  });
}
