// The depthwise convolution (groups = C, one 3×3 filter per channel, padding 1) on the shapes of
// the depthwise-separable model's blocks, batch 64, float32: the depthwise kernel (its
// WebAssembly SIMD kernel, the dispatcher's choice, and its TypeScript loops, forced), against
// the per-group im2col + GEMM path it replaces (forced) and the reference backend. Forward with
// `training: false`, and backward alone (dx, dw, db from one cache), each call with a workspace.
// Then float64 (the TypeScript loops against im2col + GEMM), forward + backward, and the sweep
// over channel multipliers behind the dispatcher's limit.

import { convBackward, convForward, type Tensor, Workspace } from "../../mod.ts";
import { type ForcedKernels, forceKernels } from "./dispatch.ts";
import { onReference, rand } from "../../layers/_bench_util.ts";

const shapes = [
  { name: "dw 32ch 28x28 s1", x: [64, 32, 28, 28], stride: 1 },
  { name: "dw 32ch 28x28 s2", x: [64, 32, 28, 28], stride: 2 },
  { name: "dw 64ch 14x14 s1", x: [64, 64, 14, 14], stride: 1 },
];

/** `f` with the given kernels forced, the dispatcher's own choices restored afterwards. */
function forcing<R>(kernels: ForcedKernels | null, f: () => R): R {
  forceKernels(kernels);
  try {
    return f();
  } finally {
    forceKernels(null);
  }
}

const variants: { name: string; kernels: ForcedKernels | null }[] = [
  { name: "depthwise SIMD", kernels: { conv: "depthwise", depthwise: "simd" } },
  { name: "depthwise loops", kernels: { conv: "depthwise", depthwise: "loops" } },
  { name: "im2col + GEMM", kernels: { conv: "im2col" } },
];

for (const s of shapes) {
  const C = s.x[1], x = rand(s.x), w = rand([C, 1, 3, 3]), b = rand([C]);
  const opts = { stride: s.stride, padding: 1, groups: C };
  const { y, cache } = convForward(x, w, b, opts);
  const dy = rand([...y.shape]);
  for (const v of variants) {
    const workspace = new Workspace(), base = v.kernels?.depthwise === "simd";
    // one call of each before any is timed, so that the first timed is not the one compiled
    forcing(v.kernels, () => convBackward(dy, convForward(x, w, b, { ...opts, workspace }).cache));
    Deno.bench(`${s.name} fwd (${v.name})`, { group: `${s.name} fwd`, baseline: base }, () => {
      forcing(v.kernels, () => convForward(x, w, b, { ...opts, workspace, training: false }));
    });
    Deno.bench(`${s.name} bwd (${v.name})`, { group: `${s.name} bwd`, baseline: base }, () => {
      forcing(v.kernels, () => convBackward(dy, cache, { workspace }));
    });
  }
  const workspace = new Workspace();
  Deno.bench(`${s.name} fwd (dispatcher)`, { group: `${s.name} fwd` }, () => {
    convForward(x, w, b, { ...opts, workspace, training: false });
  });
  Deno.bench(
    `${s.name} fwd (reference backend)`,
    { group: `${s.name} fwd`, n: 3, warmup: 1 },
    () => {
      onReference(() => convForward(x, w, b, opts));
    },
  );
  Deno.bench(
    `${s.name} bwd (reference backend)`,
    { group: `${s.name} bwd`, n: 3, warmup: 1 },
    () => {
      onReference(() => convBackward(dy, cache));
    },
  );
}

{
  const s = shapes[0], C = s.x[1], opts = { stride: s.stride, padding: 1, groups: C };
  const x = rand(s.x, Float64Array), w = rand([C, 1, 3, 3], Float64Array);
  const b = rand([C], Float64Array), dy: Tensor = rand(s.x, Float64Array);
  const g = `${s.name} float64 fwd+bwd`;
  for (const v of variants.slice(1)) {
    const workspace = new Workspace(), base = v.kernels?.conv === "depthwise";
    Deno.bench(`${g} (${v.name})`, { group: g, baseline: base }, () => {
      forcing(v.kernels, () => {
        const f = convForward(x, w, b, { ...opts, workspace });
        convBackward(dy, f.cache, { workspace });
      });
    });
  }
}

// The dispatcher's limit on filters per group (DEPTHWISE_LOOPS_MAX_MULTIPLIER): forward +
// backward by channel multiplier M = D/C, the TypeScript loops (float64) and the SIMD kernel
// (float32) against im2col + GEMM, 3×3 padding 1, batch 16.
for (
  const [T, C, M, impl] of [
    [Float64Array, 32, 1, "loops"],
    [Float64Array, 32, 2, "loops"],
    [Float64Array, 32, 4, "loops"],
    [Float64Array, 32, 8, "loops"],
    [Float64Array, 32, 16, "loops"],
    [Float32Array, 8, 16, "simd"],
    [Float32Array, 8, 128, "simd"],
  ] as const
) {
  const D = C * M, opts = { padding: 1, groups: C };
  const x = rand([16, C, 14, 14], T), w = rand([D, 1, 3, 3], T), b = rand([D], T);
  const dy = rand([16, D, 14, 14], T), g = `${T.name} [16,${C},14,14] M = ${M} fwd+bwd`;
  for (const kernels of [{ conv: "depthwise", depthwise: impl }, { conv: "im2col" }] as const) {
    const workspace = new Workspace(), base = kernels.conv === "depthwise";
    Deno.bench(`${g} (${base ? `depthwise ${impl}` : "im2col + GEMM"})`, {
      group: g,
      baseline: base,
    }, () => {
      forcing(kernels, () => {
        convBackward(dy, convForward(x, w, b, { ...opts, workspace }).cache, { workspace });
      });
    });
  }
}
