// The depthwise kernels (kernels/fast/depthwise.ts, the TypeScript loops; depthwise_simd.wat,
// the float32 SIMD kernel) against the reference convolution (layers/conv.ts, a grouped
// convolution as C ungrouped ones), called directly and through the fast layer with the
// kernel forced on and off.
//
// Bounds, as tests/differential_test.ts derives them: both sides are within γ_n·Σ|terms| of
// the exact sum, so within 2·γ_n·Σ|terms| of each other, γ_n = n·u/(1 − n·u), with n the
// rounded steps on the way to an output: y, kh·kw products and additions and the bias
// (kh·kw + 2); dw, N·P products summed within each sample and then over the N samples
// (N·P + N + 2); dx, one term per tap that reads the cell, each the sum over the channel's M
// filters (M + kh·kw + 2). Σ|terms| is the reference convolution of |x|, |w|, |dy|.

import { assert, assertEquals } from "@std/assert";
import type { FloatArray, Tensor } from "../../tensor.ts";
import * as reference from "../../layers/conv.ts";
import * as fast from "../../layers/fast/conv.ts";
import { convArgs } from "../../layers/_args.ts";
import { Workspace } from "../../layers/workspace.ts";
import { overlaps } from "../../_validate.ts";
import { depthwiseBackward, depthwiseForward, type DepthwiseGeometry } from "./depthwise.ts";
import {
  depthwiseSimdAvailable,
  depthwiseSimdBackward,
  depthwiseSimdForward,
} from "./depthwise_simd.ts";
import {
  convBackwardKernel,
  convKernel,
  DEPTHWISE_LOOPS_MAX_MULTIPLIER,
  depthwiseKernel,
  type ForcedKernels,
  forceKernels,
} from "./dispatch.ts";
import { simdKernel } from "./gemm_simd.ts";
import { randomArray, rngFor } from "../../tests/_random.ts";
import { type DepthwiseCase, depthwiseCase, depthwiseOpts } from "../../tests/_depthwise.ts";

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;
const TYPES: Ctor[] = [Float64Array, Float32Array];
const unit = (T: Ctor) => (T === Float64Array ? 2 ** -53 : 2 ** -24);
// WebAssembly SIMD128 runs here (the plain SIMD GEMM needs it too): the SIMD kernel must too
const SIMD = simdKernel("plain") !== null;

/** |got − want| ≤ 2·γ_n·scale, element by element. */
function assertWithin(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  scale: ArrayLike<number>,
  n: number,
  u: number,
  what: string,
): void {
  const gamma = (n * u) / (1 - n * u);
  assertEquals(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - want[i]), tol = 2 * gamma * scale[i];
    if (!(err <= tol)) throw new Error(`${what}: [${i}] ${got[i]} vs ${want[i]}: ${err} > ${tol}`);
  }
}

/** The same bits (as numbers: ±0 are one). */
function assertSame(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assertEquals(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== want[i]) throw new Error(`${what}: [${i}] ${got[i]} vs ${want[i]}`);
  }
}

const abs = <T extends FloatArray>(t: Tensor<T>): Tensor<T> => ({
  shape: t.shape,
  data: t.data.map(Math.abs) as T,
});

/** A case's tensors, the checked geometry, and the reference's y, gradients and scales. */
function problem(rng: () => number, c: DepthwiseCase, T: Ctor) {
  const D = c.C * c.M, opts = depthwiseOpts(c);
  const rand = (shape: number[]): Tensor => ({
    shape,
    data: randomArray(rng, shape.reduce((a, b) => a * b, 1), T),
  });
  const x = rand([c.N, c.C, c.H, c.W]), w = rand([D, 1, c.kh, c.kw]);
  const b = c.bias ? rand([D]) : null;
  const g = convArgs("convForward", x, w, b, opts);
  const ref = reference.convForward(x, w, b, opts);
  const dy = rand([...ref.y.shape]);
  const grads = reference.convBackward(dy, ref.cache);
  const absB = b === null ? null : abs(b);
  const s = reference.convBackward(
    abs(dy),
    reference.convForward(abs(x), abs(w), absB, opts).cache,
  );
  const K = c.kh * c.kw, P = g.Ho * g.Wo;
  const sY = reference.convForward(abs(x), abs(w), absB, opts).y.data;
  const n = { y: K + 2, dw: c.N * P + c.N + 2, dx: c.M + K + 2 };
  const scale = { y: sY, dw: s.dw.data, db: s.db?.data, dx: s.dx.data };
  return { x, w, b, dy, g, opts, ref, grads, scale, n };
}

/** One implementation's forward and backward, called directly. */
type Kernel = (
  g: DepthwiseGeometry,
  t: { x: FloatArray; w: FloatArray; b: FloatArray | null; dy: FloatArray },
  dx: boolean,
) => { y: FloatArray; dx: FloatArray | null; dw: FloatArray; db: FloatArray | null };

const loops: Kernel = (g, t, withDx) => {
  const make = (n: number) =>
    t.x instanceof Float32Array ? new Float32Array(n) : new Float64Array(n);
  const y = make(g.N * g.D * g.Ho * g.Wo), dw = make(t.w.length);
  const dx = withDx ? make(t.x.length) : null;
  depthwiseForward({ g, x: t.x, w: t.w, b: t.b, y }, make);
  const db = t.b === null ? null : make(t.b.length);
  depthwiseBackward({ g, dy: t.dy, x: t.x, w: t.w, dx, dw, db }, make);
  return { y, dx, dw, db };
};

const simd: Kernel = (g, t, withDx) => {
  const [x, w, dy] = [t.x, t.w, t.dy] as Float32Array[], b = t.b as Float32Array | null;
  const y = new Float32Array(g.N * g.D * g.Ho * g.Wo), dw = new Float32Array(w.length);
  const dx = withDx ? new Float32Array(x.length) : null;
  assert(depthwiseSimdForward({ g, x, w, b, y }), "the SIMD forward pass runs");
  const db = b === null ? null : new Float32Array(b.length);
  assert(depthwiseSimdBackward({ g, dy, x, w, dx, dw, db }), "the SIMD backward pass runs");
  return { y, dx, dw, db };
};

Deno.test("depthwise kernels, called directly, against the reference convolution", () => {
  if (SIMD) assert(depthwiseSimdAvailable(), "WebAssembly SIMD runs here: so must the kernel");
  const rng = rngFor(61);
  for (const T of TYPES) {
    const kernels: [string, Kernel][] = [["loops", loops]];
    if (SIMD && T === Float32Array) kernels.push(["simd", simd]);
    for (let i = 0; i < 400; i++) {
      const c = depthwiseCase(rng, i), p = problem(rng, c, T), u = unit(T);
      const t = { x: p.x.data, w: p.w.data, b: p.b?.data ?? null, dy: p.dy.data };
      for (const [name, run] of kernels) {
        const label = `${name} ${T.name} ${JSON.stringify(c)}`;
        const r = run(p.g, t, true);
        assert(r.y instanceof T && r.dx instanceof T && r.dw instanceof T, label);
        assertWithin(r.y, p.ref.y.data, p.scale.y, p.n.y, u, `${label} y`);
        assertWithin(r.dw, p.grads.dw.data, p.scale.dw, p.n.dw, u, `${label} dw`);
        assertWithin(r.dx!, p.grads.dx.data, p.scale.dx, p.n.dx, u, `${label} dx`);
        // db: Σ dY, N·P terms, as dw's
        if (p.b === null) assertEquals(r.db, null, label);
        else assertWithin(r.db!, p.grads.db!.data, p.scale.db!, p.n.dw, u, `${label} db`);
        // no dx: the same dw and db, bit for bit
        const without = run(p.g, t, false);
        assertSame(without.dw, r.dw, `${label} dw without dx`);
        if (p.b !== null) assertSame(without.db!, r.db!, `${label} db without dx`);
      }
    }
  }
});

Deno.test("depthwise SIMD kernel: a memory grown for a large call serves smaller ones", () => {
  if (!SIMD) return;
  // a large geometry grows the module's memory; the small one after it must not read what the
  // large one left (its padding, its scratch columns), nor the large one after that
  const big: DepthwiseCase = {
    N: 2,
    C: 24,
    M: 2,
    H: 40,
    W: 37,
    kh: 3,
    kw: 3,
    stride: [2, 2],
    padding: [1, 1],
    dilation: [1, 1],
    bias: true,
  };
  const small: DepthwiseCase = { ...big, N: 1, C: 3, M: 1, H: 5, W: 6, stride: [1, 1] };
  const cases = [big, small, big, { ...small, padding: [2, 0] as [number, number] }];
  const first = new Map<DepthwiseCase, Float32Array>();
  for (const c of cases) {
    const p = problem(rngFor(63), c, Float32Array);
    const t = { x: p.x.data, w: p.w.data, b: p.b?.data ?? null, dy: p.dy.data };
    const r = simd(p.g, t, true);
    assertWithin(r.y, p.ref.y.data, p.scale.y, p.n.y, unit(Float32Array), "y");
    assertWithin(r.dx!, p.grads.dx.data, p.scale.dx, p.n.dx, unit(Float32Array), "dx");
    const again = first.get(c);
    if (again !== undefined) assertSame(r.y, again, "the same call, the same bits");
    first.set(c, r.y as Float32Array);
  }
});

/** `f` with `kernels` forced, the dispatcher's own choices restored afterwards. */
function forcing<R>(kernels: ForcedKernels | null, f: () => R): R {
  forceKernels(kernels);
  try {
    return f();
  } finally {
    forceKernels(null);
  }
}

Deno.test("the dispatcher chooses the depthwise kernel for groups = C, and forcing turns it on and off", () => {
  const s = {
    d: 1,
    k: 9,
    p: 784,
    outWidth: 28,
    stride: [1, 1] as [number, number],
    groups: 32,
    channels: 32,
    keep: false,
  };
  for (const float32 of [true, false]) {
    const shape = { ...s, float32 };
    const back = { channels: 32, d: 1, float32 };
    assertEquals(convKernel(shape), "depthwise");
    assertEquals(convBackwardKernel(784, 32, back), "depthwise");
    assertEquals(forcing({ conv: "im2col" }, () => convKernel(shape)), "im2col");
    assertEquals(forcing({ conv: "im2col" }, () => convBackwardKernel(784, 32, back)), "im2col");
    // not one channel per group (C/G = 2): forcing cannot make it depthwise
    const grouped = { ...shape, channels: 64 };
    assertEquals(forcing({ conv: "depthwise" }, () => convKernel(grouped)), "im2col");
    assertEquals(
      forcing({ conv: "depthwise" }, () => convBackwardKernel(784, 32, { ...back, channels: 64 })),
      "im2col",
    );
    // one channel, one group: an ungrouped convolution keeps its kernels unless forced
    const one = { ...shape, groups: 1, channels: 1 };
    assert(convKernel(one) !== "depthwise");
    assertEquals(forcing({ conv: "depthwise" }, () => convKernel(one)), "depthwise");
    assertEquals(
      forcing({ conv: "depthwise" }, () => convBackwardKernel(784, 1, { channels: 1, d: 1 })),
      "depthwise",
    );
    // past the loops' limit of filters per group, the loops give way to im2col + GEMM; the
    // SIMD kernel has no limit
    const many = { ...shape, d: DEPTHWISE_LOOPS_MAX_MULTIPLIER + 1 };
    const manyBack = { ...back, d: DEPTHWISE_LOOPS_MAX_MULTIPLIER + 1 };
    const want = depthwiseKernel(float32) === "simd" ? "depthwise" : "im2col";
    assertEquals(convKernel(many), want);
    assertEquals(convBackwardKernel(784, 32, manyBack), want);
    assertEquals(
      forcing({ depthwise: "loops" }, () => [convKernel(many), convKernel(shape)]),
      ["im2col", "depthwise"],
    );
  }
  assertEquals(depthwiseKernel(false), "loops");
  assertEquals(depthwiseKernel(true), SIMD ? "simd" : "loops");
  assertEquals(forcing({ depthwise: "loops" }, () => depthwiseKernel(true)), "loops");
  assertEquals(forcing({ depthwise: "simd" }, () => depthwiseKernel(false)), "loops"); // float64
});

Deno.test("the fast layer runs the forced kernel: the depthwise kernels' bits, or im2col + GEMM's", () => {
  const rng = rngFor(64);
  for (const T of TYPES) {
    const impls: ["loops" | "simd", Kernel][] = [["loops", loops]];
    if (SIMD && T === Float32Array) impls.push(["simd", simd]);
    for (let i = 0; i < 150; i++) {
      const c = depthwiseCase(rng, i), p = problem(rng, c, T), u = unit(T);
      const t = { x: p.x.data, w: p.w.data, b: p.b?.data ?? null, dy: p.dy.data };
      const layer = (kernels: ForcedKernels) =>
        forcing(kernels, () => {
          const f = fast.convForward(p.x, p.w, p.b, p.opts);
          return { y: f.y.data, g: fast.convBackward(p.dy, f.cache) };
        });
      for (const [depthwise, run] of impls) {
        const label = `${depthwise} ${T.name} ${JSON.stringify(c)}`;
        // forced on (C = 1 included): exactly the kernel's numbers
        const on = layer({ conv: "depthwise", depthwise }), direct = run(p.g, t, true);
        assertSame(on.y, direct.y, `${label} y`);
        assertSame(on.g.dx.data, direct.dx!, `${label} dx`);
        assertSame(on.g.dw.data, direct.dw, `${label} dw`);
        if (p.b === null) assertEquals(on.g.db, null, label);
        else assertSame(on.g.db!.data, direct.db!, `${label} db`);
      }
      // forced off: the per-group im2col + GEMM, within the bounds of the reference
      const off = layer({ conv: "im2col" }), label = `im2col ${T.name} ${JSON.stringify(c)}`;
      assertWithin(off.y, p.ref.y.data, p.scale.y, p.n.y, u, `${label} y`);
      assertWithin(off.g.dx.data, p.grads.dx.data, p.scale.dx, p.n.dx, u, `${label} dx`);
      assertWithin(off.g.dw.data, p.grads.dw.data, p.scale.dw, p.n.dw, u, `${label} dw`);
      if (p.b !== null) {
        assertWithin(off.g.db!.data, p.grads.db!.data, p.scale.db!, p.n.dw, u, `${label} db`);
      }
    }
  }
});

Deno.test("depthwise through a workspace: results never overlap the inputs, y outlives the backward pass", () => {
  for (const T of TYPES) {
    const c = depthwiseCase(rngFor(65), 1), p = problem(rngFor(65), c, T);
    const workspace = new Workspace();
    for (let call = 0; call < 3; call++) {
      const f = fast.convForward(p.x, p.w, p.b, { ...p.opts, workspace });
      const y = f.y.data.slice();
      const g = fast.convBackward(p.dy, f.cache, { workspace });
      assertSame(f.y.data, y, `${T.name} call ${call}: y after the backward pass`);
      const outputs = [f.y.data, g.dx.data, g.dw.data, ...(g.db === null ? [] : [g.db.data])];
      for (const out of outputs) {
        for (const input of [p.x.data, p.w.data, p.dy.data, ...(p.b === null ? [] : [p.b.data])]) {
          assert(!overlaps(out, input), `${T.name} call ${call}: an output overlaps an input`);
        }
      }
      const fresh = forcing(
        null,
        () => fast.convBackward(p.dy, fast.convForward(p.x, p.w, p.b, p.opts).cache),
      );
      assertSame(g.dx.data, fresh.dx.data, `${T.name} call ${call}: dx, workspace or not`);
      assertSame(g.dw.data, fresh.dw.data, `${T.name} call ${call}: dw, workspace or not`);
    }
  }
});
