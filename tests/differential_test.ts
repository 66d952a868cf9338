// The differential suite: every public layer function and gemm, on the fast backend against the
// reference backend, over thousands of random small geometries (per-axis stride, padding and
// dilation, groups, no bias, 1×1 kernels, kernels as large as the padded input, batch 1), in
// float64 and float32.
//
// What must agree, and how closely:
// - bit for bit (every element the same number, NaN matching NaN; a zero may differ in sign, as
//   −0 and +0 are the same number): max pooling forward and backward, padded or not (a maximum
//   is exact, and both backends add each gradient into its winner in the order of the outputs),
//   average pooling's direct kernel forward (the same sums in the same order), ReLU forward
//   and backward (exact), im2col and col2im (one implementation), and, inside the fast backend,
//   the kernels it may choose between: the direct SIMD convolution against im2col + the FMA
//   GEMM, the table's runs against its indices, a workspace that keeps x_col against one that
//   does not.
// - within a derived bound: the convolution, fully connected and gemm, whose sums the two
//   backends add in different orders and, for float32, different precisions (the reference sums
//   in float64 and rounds once; the fast SIMD kernels sum in float32), and average pooling's
//   global kernel and overlapping backward pass (other orders; see its test). A sum of n products
//   computed with unit roundoff u in any order is within γ_n·Σ|terms| of the exact sum,
//   γ_n = n·u/(1 − n·u) (Higham, Accuracy and Stability of Numerical Algorithms, §3.5); both
//   backends are within that of the exact value, so they are within 2·γ_n·Σ|terms| of each
//   other. Σ|terms| is computed by the reference itself on |x|, |w|, |dy| (a convolution of
//   absolute values is the sum of the absolute values of its products), and n counts every
//   rounded addition and multiplication on the way to an output, as written at each check.
//   u = 2⁻⁵³ for float64, 2⁻²⁴ for float32.
// - batch normalisation, within the bound derived at its test (its sums are float64 on both
//   backends; evaluation's dx bit for bit), and the fast path's two families of loops (rows and
//   planes, for S = 1) bit for bit.

import { assert } from "@std/assert";
import {
  avgPoolBackward,
  avgPoolForward,
  batchNormBackward,
  batchNormForward,
  col2im,
  convBackward,
  convForward,
  convTransposeBackward,
  convTransposeForward,
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

/** A random pool geometry with padding (contract v2): per-axis size, stride, padding up to half
 * the window, windows as large as the padded input; every fourth global (the window the whole
 * unpadded input), every third not counting the padding. */
function poolGeometry(rng: () => number, i: number) {
  const N = randInt(rng, 1, 2), C = randInt(rng, 1, 3), H = randInt(rng, 1, 10);
  const W = randInt(rng, 1, 10);
  if (i % 4 === 0) {
    return { N, C, H, W, size: [H, W] as Pair, stride: [1, 1] as Pair, padding: [0, 0] as Pair };
  }
  const size: Pair = [randInt(rng, 1, Math.min(H + 2, 6)), randInt(rng, 1, Math.min(W + 2, 6))];
  const padding: Pair = [randInt(rng, 0, size[0] >> 1), randInt(rng, 0, size[1] >> 1)];
  const stride: Pair = [randInt(rng, 1, 3), randInt(rng, 1, 3)];
  return { N, C, H, W, size, stride, padding };
}
type Pair = [number, number];

Deno.test("differential: max pooling with padding, fast vs reference, bit for bit (2000 geometries)", () => {
  // Padding is −∞ in the reference and clipped off by the fast kernel: the same winners, ties
  // with an input of −∞ included (the window's first cell of x wins), so every fifth input is
  // mostly −∞, NaN, ±0 and ties. The padded kernel forced on unpadded geometries gives the
  // reference's answers too.
  const rng = rngFor(108);
  const special = [NaN, -Infinity, -Infinity, -1, -0, 0, 1, Infinity];
  let padded = 0;
  for (let i = 0; i < 2000; i++) {
    const T = TYPES[i % 2], { N, C, H, W, size, stride, padding } = poolGeometry(rng, i);
    if (size[0] > H + 2 * padding[0] || size[1] > W + 2 * padding[1]) continue;
    if (padding[0] + padding[1] > 0) padded++;
    const x = rand(rng, [N, C, H, W], T);
    if (i % 5 === 0) x.data.forEach((_, k) => x.data[k] = special[Math.floor(rng() * 8)]);
    const opts = { size, stride, padding };
    const label = `${T.name} [${N},${C},${H},${W}] ${JSON.stringify(opts)}`;
    const ref = on("reference", () => maxPoolForward(x, opts));
    for (const forced of [null, "padded"] as const) {
      forceKernels(forced === null ? null : { maxPool: forced });
      try {
        for (const training of [true, false]) {
          const fast = on("fast", () => maxPoolForward(x, { ...opts, training }));
          assertSame(fast.y.data, ref.y.data, `${label} y (training ${training}, ${forced})`);
          const dy = rand(rng, [...ref.y.shape], T);
          const dxr = on("reference", () => maxPoolBackward(dy, ref.cache)).data;
          assertSame(on("fast", () => maxPoolBackward(dy, fast.cache)).data, dxr, `${label} dx`);
          const crossed = on("reference", () => maxPoolBackward(dy, fast.cache)).data;
          assertSame(crossed, dxr, `${label} dx, crossed`);
        }
      } finally {
        forceKernels(null);
      }
    }
  }
  assert(padded > 800, `${padded} padded geometries`); // the rest: padding [0, 0], as a check
});

Deno.test("differential: average pooling, fast vs reference (2000 geometries)", () => {
  // Forward: y is a sum of k = kh·kw terms (the padding's are zeros) divided by |window| and
  // rounded to T. The reference sums in float64 in the table's row order and divides; the direct
  // kernel adds the same terms of x in the same order, skipping the zeros (x + 0 = x), so its y
  // is the reference's bit for bit; the global kernel sums in four interleaved runs, which is
  // within γ_k (float64) of the exact sum, as the reference is, and then both round the
  // quotient: with u the unit of T, |Δy| ≤ 2·γ_{k+2}·(Σ|x|)/|window|, the scale being the
  // reference's own y of |x|.
  // Backward: a cell's dx sums its shares dy/|window| (each rounded to T) over the m ≤
  // ceil(kh/sh)·ceil(kw/sw) windows that hold it, in another order on the fast path: |Δdx| ≤
  // 2·γ_{m+1}·(the reference's dx of |dy|). Where no two windows overlap (stride ≥ size), every
  // cell has one share, the same number on both paths: bit for bit.
  const rng = rngFor(109);
  const special = [NaN, -Infinity, -1, -0, 0, 1, Infinity];
  for (let i = 0; i < 2000; i++) {
    const T = TYPES[i % 2], u = unit(T), g = poolGeometry(rng, i);
    const { N, C, H, W, size, stride, padding } = g;
    if (size[0] > H + 2 * padding[0] || size[1] > W + 2 * padding[1]) continue;
    const opts = { size, stride, padding, countIncludePad: i % 3 !== 0 };
    const x = rand(rng, [N, C, H, W], T);
    // every seventh input has infinities and NaN: they must propagate alike (Inf − Inf = NaN)
    // (the finite ones, −1, 0 and 1, add exactly in any order: then y is the same bit for bit)
    if (i % 7 === 0) x.data.forEach((_, k) => x.data[k] = special[Math.floor(rng() * 7)]);
    const label = `${T.name} [${N},${C},${H},${W}] ${JSON.stringify(opts)}`;
    const ref = on("reference", () => avgPoolForward(x, opts));
    const sY = on("reference", () => avgPoolForward(abs(x), opts)).y.data;
    const k = size[0] * size[1];
    const fast = on("fast", () => avgPoolForward(x, opts));
    if (i % 7 === 0) assertSame(fast.y.data, ref.y.data, `${label} y (specials)`);
    else assertWithin(fast.y.data, ref.y.data, sY, k + 2, u, `${label} y`);
    forceKernels({ avgPool: "direct" });
    try {
      assertSame(on("fast", () => avgPoolForward(x, opts)).y.data, ref.y.data, `${label} direct`);
    } finally {
      forceKernels(null);
    }
    const dy = rand(rng, [...ref.y.shape], T);
    const dxr = on("reference", () => avgPoolBackward(dy, ref.cache)).data;
    const dxf = on("fast", () => avgPoolBackward(dy, fast.cache)).data;
    const m = Math.ceil(size[0] / stride[0]) * Math.ceil(size[1] / stride[1]);
    const sDx = on("reference", () => avgPoolBackward(abs(dy), ref.cache)).data;
    if (stride[0] >= size[0] && stride[1] >= size[1]) assertSame(dxf, dxr, `${label} dx`);
    else assertWithin(dxf, dxr, sDx, m + 1, u, `${label} dx`);
    const crossed = on("reference", () => avgPoolBackward(dy, fast.cache)).data;
    assertSame(crossed, dxr, `${label} dx, crossed`);
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

interface ConvTransposeGeo {
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
  outputPadding: [number, number];
  groups: number;
  bias: boolean;
}

/** Random small transposed convolutions: any kernel (1×1 every seventh), stride and dilation up
 * to 3, an output padding below the stride or the dilation (so at least the stride, when the
 * dilation allows it), any padding that leaves an output; a 1×1 input every ninth (a decoder's
 * latent), grouped every fourth (depthwise every twelfth), no bias every fifth. */
function convTransposeGeometry(rng: () => number, i: number): ConvTransposeGeo {
  const N = randInt(rng, 1, 3);
  const [H, W] = i % 9 === 0 ? [1, 1] : [randInt(rng, 1, 6), randInt(rng, 1, 6)];
  let C = randInt(rng, 1, 4), D = randInt(rng, 1, 5);
  let [kh, kw] = [randInt(rng, 1, 4), randInt(rng, 1, 4)];
  if (i % 7 === 0) [kh, kw] = [1, 1];
  const stride: [number, number] = [randInt(rng, 1, 3), randInt(rng, 1, 3)];
  const dilation: [number, number] = i % 3 === 1
    ? [randInt(rng, 1, 3), randInt(rng, 1, 3)]
    : [1, 1];
  const op = (a: 0 | 1) => randInt(rng, 0, Math.max(stride[a], dilation[a]) - 1);
  const outputPadding: [number, number] = i % 2 === 0 ? [op(0), op(1)] : [0, 0];
  // the full output's size, of which padding may crop all but one row (column) in all
  const full = (n: number, a: 0 | 1, k: number) =>
    (n - 1) * stride[a] + dilation[a] * (k - 1) + 1 + outputPadding[a];
  const padding: [number, number] = [
    randInt(rng, 0, Math.min(2, Math.floor((full(H, 0, kh) - 1) / 2))),
    randInt(rng, 0, Math.min(2, Math.floor((full(W, 1, kw) - 1) / 2))),
  ];
  let groups = 1;
  if (i % 4 === 2) {
    groups = randInt(rng, 2, 3);
    [C, D] = [groups * randInt(rng, 1, 2), groups * randInt(rng, 1, 2)];
  }
  if (i % 12 === 6) [D, groups] = [C, C]; // depthwise
  return {
    N,
    C,
    H,
    W,
    D,
    kh,
    kw,
    stride,
    padding,
    dilation,
    outputPadding,
    groups,
    bias: i % 5 !== 3,
  };
}

/** The options of a transposed convolution's geometry. */
function convTransposeOpts(g: ConvTransposeGeo) {
  const { stride, padding, dilation, outputPadding, groups } = g;
  return { stride, padding, dilation, outputPadding, groups };
}

const CONV_TRANSPOSE_CASES = 1000;

for (const T of TYPES) {
  Deno.test(`differential: transposed conv forward and backward, fast vs reference (${T.name}, ${CONV_TRANSPOSE_CASES} geometries)`, () => {
    const rng = rngFor(T === Float64Array ? 110 : 111), u = unit(T);
    for (let i = 0; i < CONV_TRANSPOSE_CASES; i++) {
      const g = convTransposeGeometry(rng, i), label = `${T.name} ${JSON.stringify(g)}`;
      const x = rand(rng, [g.N, g.C, g.H, g.W], T);
      const w = rand(rng, [g.C, g.D / g.groups, g.kh, g.kw], T);
      const b = g.bias ? rand(rng, [g.D], T) : null, opts = convTransposeOpts(g);
      const ref = on("reference", () => convTransposeForward(x, w, b, opts));
      const fast = on("fast", () => convTransposeForward(x, w, b, opts));
      const [, , Ho, Wo] = ref.y.shape, c = ref.cache.geometry.conv;
      // y: each output cell adds, for each of at most kh·kw taps, one product of C/G terms
      // (w_colᵀ · x_n), plus the bias
      const sY = on("reference", () =>
        convTransposeForward(abs(x), abs(w), b === null ? null : abs(b), opts)).y.data;
      const nY = g.C / g.groups + g.kh * g.kw + 2;
      assertWithin(fast.y.data, ref.y.data, sY, nY, u, `${label} y`);
      const dy = rand(rng, [...ref.y.shape], T);
      const gr = on("reference", () =>
        convTransposeBackward(dy, ref.cache));
      const gf = on("fast", () =>
        convTransposeBackward(dy, fast.cache));
      const a = on("reference", () =>
        convTransposeBackward(abs(dy), convTransposeForward(abs(x), abs(w), b, opts).cache));
      // dw: the convolution's dW, N·P products per entry (P = its output positions), summed
      // within a sample and then over the samples
      const nW = g.N * c.P + g.N + 2;
      assertWithin(gf.dw.data, gr.dw.data, a.dw.data, nW, u, `${label} dw`);
      if (b === null) {
        assert(gf.db === null && gr.db === null, `${label}: no bias, no db`);
      } else {
        // db: N·Ho·Wo terms, within a sample and then over the samples
        const nB = g.N * Ho * Wo + g.N + 2;
        assertWithin(gf.db!.data, gr.db!.data, a.db!.data, nB, u, `${label} db`);
      }
      // dx = conv(dy): K = (D/G)·kh·kw products per cell
      assertWithin(gf.dx.data, gr.dx.data, a.dx.data, c.K + 2, u, `${label} dx`);
      // either backend's backward on the other's cache: the same numbers as its own
      const cross = on("reference", () =>
        convTransposeBackward(dy, fast.cache));
      assertSame(cross.dw.data, gr.dw.data, `${label} reference backward of a fast cache`);
      assertSame(cross.dx.data, gr.dx.data, `${label} reference backward of a fast cache`);
      const dwOnly = on(
        "fast",
        () =>
          convTransposeBackward(dy, ref.cache, { inputGradient: false }),
      );
      assertSame(dwOnly.dw.data, gf.dw.data, `${label} fast backward of a reference cache`);
      assert(dwOnly.dx === null);
    }
  });
}

Deno.test("differential: transposed conv inside the fast backend: its kernels agree bit for bit", () => {
  // the table walked by runs against by indices (col2im in the forward pass, im2col of dy in the
  // backward), and a workspace reused over two calls against fresh arrays
  const rng = rngFor(112);
  const run = <R>(gather: GatherKernel, f: () => R): R => {
    forceKernels({ gather });
    try {
      return on("fast", f);
    } finally {
      forceKernels(null);
    }
  };
  const workspace = new Workspace();
  for (let i = 0; i < 300; i++) {
    const g = convTransposeGeometry(rng, i), opts = convTransposeOpts(g);
    for (const T of TYPES) {
      const x = rand(rng, [g.N, g.C, g.H, g.W], T);
      const w = rand(rng, [g.C, g.D / g.groups, g.kh, g.kw], T);
      const b = g.bias ? rand(rng, [g.D], T) : null, label = `${T.name} ${JSON.stringify(g)}`;
      const pass = (gather: GatherKernel, ws?: Workspace) =>
        run(gather, () => {
          const f = convTransposeForward(x, w, b, { ...opts, workspace: ws });
          const dy = {
            shape: [...f.y.shape],
            data: f.y.data.map((v) => Math.sin(3 * v)) as FloatArray,
          };
          const r = convTransposeBackward(dy, f.cache, { workspace: ws });
          return [f.y.data.slice(), r.dx.data.slice(), r.dw.data.slice()] as const;
        });
      const [yr, dxr, dwr] = pass("runs");
      for (
        const [what, [y2, dx2, dw2]] of [
          ["indices", pass("indices")],
          ["a reused workspace", pass("runs", workspace)],
        ] as const
      ) {
        assertSame(y2, yr, `${label} y: runs vs ${what}`);
        assertSame(dx2, dxr, `${label} dx: runs vs ${what}`);
        assertSame(dw2, dwr, `${label} dw: runs vs ${what}`);
      }
    }
  }
});

// Batch normalisation. Both backends compute in float64 whatever x's type (JavaScript numbers)
// and round each stored result once; they differ in the order of their sums (the fast one keeps
// four accumulators per plane) and in how they group the final formulas (γ·((x − μ)/√(σ² + ε))
// + β against (x − μ)·(γ/√(σ² + ε)) + β; the backward pass's two passes against four). With
// u = 2⁻⁵³ and γ_k as above, per channel of M values, A = Σ|x|/M and V, μ the reference's
// statistics:
// - μ: M − 1 additions in some order and a division, so each backend is within γ_M·A of the
//   exact mean and the two within 2γ_M·A;
// - σ²: M squares of rounded differences, M − 1 additions of non-negative terms and a division,
//   so each is within γ_{M+3} (relative) of Σ (x − μ̂)²/M = σ² + (μ̂ − μ)², and the two within
//   Δv = 2γ_{M+4}·V + 2(γ_M·A)²;
// - y = γ(x − μ)/√(v + ε) + β: Δμ moves it by |γ|·s·Δμ, Δv by |γ|·|x − μ|·s·Δv/(2(V + ε))
//   (s = 1/√(V + ε); first order, the second is ~Δv² ≈ 1e-26), and each backend's six rounded
//   operations on top by γ_6·(|γ|·|x − μ|·s + |β|);
// - running mean and variance: the same expression on both, so only Δμ (times m) and Δv (times
//   m·M/(M − 1)) and each side's γ_3 / γ_5 rounding of its terms;
// - backward, both on one cache (so on the same μ and σ²): dβ = Σ dy within 2γ_{M−1}·Σ|dy|;
//   dγ = Σ dy·x̂ within 2γ_{M+5}·Σ|dy·x̂| (x̂'s four roundings, the product, 1/√(σ² + ε)'s
//   three); dx = k·(dy − mean(dy) − x̂·mean(dy·x̂)) within 2γ_{M+17}·|k|·Q, Q = |dy| +
//   Σ|dy|/M + |x̂|·Σ|dy·x̂|/M (each of the three terms and the parenthesis is at most Q; the 17
//   are the roundings outside the sums: x̂, the two means, the product with x̂, the two
//   subtractions, k and 1/√(σ² + ε), each counted at its worst); in evaluation dx = k·dy is the
//   same product on both, bit for bit.
// float32 results are then rounded once more: two float64 numbers a, b round to float32 values
// at most |a − b| + u₃₂/(1 − u₃₂)·(|fl(a)| + |fl(b)|) apart, u₃₂ = 2⁻²⁴.

/** The rounding to the output type of two results fa, fb computed in float64. */
function outRound(T: Ctor, fa: number, fb: number): number {
  const u32 = 2 ** -24;
  return T === Float32Array ? (u32 / (1 - u32)) * (Math.abs(fa) + Math.abs(fb)) : 0;
}

/** |fast − reference| ≤ bound, element by element. */
function assertBound(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  bound: (i: number) => number,
  what: string,
): void {
  assert(got.length === want.length, `${what}: length ${got.length} vs ${want.length}`);
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - want[i]), tol = bound(i);
    if (!(err <= tol)) {
      throw new Error(`${what}: [${i}] fast ${got[i]}, reference ${want[i]}: |Δ| ${err} > ${tol}`);
    }
  }
}

const gam = (k: number) => (k * 2 ** -53) / (1 - k * 2 ** -53);

for (const T of TYPES) {
  Deno.test(`differential: batch norm forward and backward, fast vs reference (${T.name}, 1000 geometries)`, () => {
    const rng = rngFor(T === Float64Array ? 110 : 111);
    for (let i = 0; i < 1000; i++) {
      const N = randInt(rng, 1, 4), C = randInt(rng, 1, 5);
      const shape = i % 3 === 0 ? [N, C] : [N, C, randInt(rng, 1, 5), randInt(rng, 1, 5)];
      const S = shape.length === 4 ? shape[2] * shape[3] : 1, M = N * S;
      const training = M >= 2 && i % 4 !== 1;
      const eps = [1e-5, 1e-3, 0.1][i % 3], momentum = rng();
      const x = rand(rng, shape, T);
      // every seventh: channels offset by up to ±100 (ill-conditioned: |x|/σ ≈ 100); every
      // eleventh: a constant channel (σ² = 0)
      for (let k = 0; k < x.data.length; k++) {
        const c = Math.floor(k / S) % C;
        if (i % 7 === 0) x.data[k] += 50 * (c - 2);
        if (i % 11 === 0 && c === 0) x.data[k] = 0.375;
      }
      const gamma = rand(rng, [C], T), beta = rand(rng, [C], T), dy = rand(rng, shape, T);
      const rm0 = rand(rng, [C], T), rv0 = rand(rng, [C], T).data.map((v) => 0.5 + Math.abs(v));
      const stats = () => ({
        runningMean: { shape: [C], data: rm0.data.slice() },
        runningVar: { shape: [C], data: rv0.slice() as FloatArray },
      });
      const sr = stats(), sf = stats(), opts = { training, eps, momentum };
      const label = `${T.name} x [${shape}] training ${training} eps ${eps}`;
      const ref = on("reference", () => batchNormForward(x, gamma, beta, { ...opts, ...sr }));
      const fast = on("fast", () => batchNormForward(x, gamma, beta, { ...opts, ...sf }));
      const ch = (k: number) => Math.floor(k / S) % C;
      const A = new Float64Array(C);
      for (let k = 0; k < x.data.length; k++) A[ch(k)] += Math.abs(x.data[k]) / M;
      const V = ref.cache.variance, mu = ref.cache.mean;
      const dMu = (c: number) => training ? 2 * gam(M) * A[c] : 0;
      const dV = (c: number) => training ? 2 * gam(M + 4) * V[c] + 2 * (gam(M) * A[c]) ** 2 : 0;
      const s = (c: number) => 1 / Math.sqrt(V[c] + eps);
      assertBound(fast.y.data, ref.y.data, (k) => {
        const c = ch(k), g = Math.abs(gamma.data[c]), d = Math.abs(x.data[k] - mu[c]);
        return g * s(c) * dMu(c) + g * d * s(c) * dV(c) / (2 * (V[c] + eps)) +
          2 * gam(6) * (g * d * s(c) + Math.abs(beta.data[c])) +
          outRound(T, fast.y.data[k], ref.y.data[k]);
      }, `${label} y`);
      const rmf = sf.runningMean.data, rmr = sr.runningMean.data;
      const rvf = sf.runningVar.data, rvr = sr.runningVar.data;
      assertBound(rmf, rmr, (c) =>
        momentum * dMu(c) * (1 + gam(2)) +
        2 * gam(3) * ((1 - momentum) * Math.abs(rm0.data[c]) + momentum * Math.abs(mu[c])) +
        outRound(T, rmf[c], rmr[c]), `${label} running mean`);
      const unb = M > 1 ? M / (M - 1) : 0;
      assertBound(rvf, rvr, (c) =>
        momentum * unb * dV(c) * (1 + gam(4)) +
        2 * gam(5) * ((1 - momentum) * rv0[c] + momentum * unb * V[c]) +
        outRound(T, rvf[c], rvr[c]), `${label} running var`);
      if (!training) {
        assertSame(rmf, rm0.data, `${label}: evaluation leaves the running mean`);
        assertSame(rvf, rv0, `${label}: evaluation leaves the running variance`);
      }
      // backward, both backends on the same cache: the reference's, then the fast one's
      for (const [which, cache] of [["reference", ref.cache], ["fast", fast.cache]] as const) {
        const gr = on("reference", () => batchNormBackward(dy, cache));
        const gf = on("fast", () => batchNormBackward(dy, cache));
        const cm = cache.mean, cs = (c: number) => 1 / Math.sqrt(cache.variance[c] + eps);
        const xhat = (k: number) => (x.data[k] - cm[ch(k)]) * cs(ch(k));
        const sumDy = new Float64Array(C), sumDyX = new Float64Array(C);
        for (let k = 0; k < x.data.length; k++) {
          sumDy[ch(k)] += Math.abs(dy.data[k]);
          sumDyX[ch(k)] += Math.abs(dy.data[k] * xhat(k));
        }
        const what = `${label} on the ${which} cache`;
        assertBound(
          gf.dbeta.data,
          gr.dbeta.data,
          (c) => 2 * gam(M - 1) * sumDy[c] + outRound(T, gf.dbeta.data[c], gr.dbeta.data[c]),
          `${what} dbeta`,
        );
        assertBound(
          gf.dgamma.data,
          gr.dgamma.data,
          (c) => 2 * gam(M + 5) * sumDyX[c] + outRound(T, gf.dgamma.data[c], gr.dgamma.data[c]),
          `${what} dgamma`,
        );
        if (!training) {
          assertSame(gf.dx.data, gr.dx.data, `${what} dx (evaluation: k·dy on both)`);
          continue;
        }
        assertBound(gf.dx.data, gr.dx.data, (k) => {
          const c = ch(k), kc = Math.abs(gamma.data[c]) * cs(c);
          const Q = Math.abs(dy.data[k]) + sumDy[c] / M + Math.abs(xhat(k)) * sumDyX[c] / M;
          return 2 * gam(M + 17) * kc * Q + outRound(T, gf.dx.data[k], gr.dx.data[k]);
        }, `${what} dx`);
        const only = on("fast", () => batchNormBackward(dy, cache, { inputGradient: false }));
        assert(only.dx === null, `${what}: inputGradient false`);
        assertSame(only.dgamma.data, gf.dgamma.data, `${what}: dgamma without dx`);
        assertSame(only.dbeta.data, gf.dbeta.data, `${what}: dbeta without dx`);
      }
      if (S === 1) {
        // the dispatcher runs the rows' loops here; the planes' loops, forced, add the same
        // numbers in the same order (a plane is one value): bit for bit
        forceKernels({ batchNorm: "planes" });
        try {
          const sp = stats(),
            planes = on("fast", () => batchNormForward(x, gamma, beta, { ...opts, ...sp }));
          assertSame(planes.y.data, fast.y.data, `${label}: planes vs rows, y`);
          assertSame(sp.runningVar.data, rvf, `${label}: planes vs rows, running var`);
          const a = on("fast", () => batchNormBackward(dy, planes.cache));
          const b = on("fast", () => batchNormBackward(dy, fast.cache));
          assertSame(a.dx.data, b.dx.data, `${label}: planes vs rows, dx`);
          assertSame(a.dgamma.data, b.dgamma.data, `${label}: planes vs rows, dgamma`);
        } finally {
          forceKernels(null);
        }
      }
    }
  });
}

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
