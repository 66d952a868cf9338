// The stride-1 float32 convolution on the WebAssembly kernel (kernels/fast/conv_simd.wat, the
// fast backend's "direct" convolution) against im2col + the fused multiply-add GEMM:
// bit-identical, since it runs the same 5×8 tiles in the same k order and k blocks, over
// geometries that exercise its edges: padding, Wo not a multiple of 8 (scratch columns,
// compacted), D not a multiple of 5 (padding rows), K > 512 (two k blocks), 1×1 kernels, a
// growing memory. Both are forced through the dispatcher, so every geometry runs both ways; then
// the dispatcher's own choice is checked to be one of them.

import { assert, assertEquals } from "@std/assert";
import type { Tensor } from "../../tensor.ts";
import { convForward } from "../../layers/fast/conv.ts";
import { convSimdAvailable } from "./conv_simd.ts";
import { simdKernel } from "./gemm_simd.ts";
import { type ConvKernel, forceKernels } from "./dispatch.ts";
import { randInt, randomArray, rngFor } from "../../tests/_random.ts";

const rng = rngFor(41);
function rand(shape: number[]): Tensor<Float32Array> {
  return { shape, data: randomArray(rng, shape.reduce((a, b) => a * b, 1), Float32Array) };
}

/** convForward with the kernel on and off; the two y must have the same bits. */
function check(
  N: number,
  C: number,
  H: number,
  W: number,
  D: number,
  kh: number,
  kw: number,
  pad?: [number, number],
) {
  const [ph, pw] = pad ?? [randInt(rng, 0, 2), randInt(rng, 0, 2)];
  if (kh > H + 2 * ph || kw > W + 2 * pw) return;
  if (H + 2 * ph === kh && W + 2 * pw === kw) return; // one position: the batched GEMM path
  const x = rand([N, C, H, W]), w = rand([D, C, kh, kw]), b = rand([D]);
  const opts = { padding: [ph, pw] as [number, number] };
  const run = (conv: ConvKernel | null) => {
    forceKernels(conv === null ? null : { conv, gemm: "simd", simd: "fma" });
    try {
      return convForward(x, w, b, opts).y;
    } finally {
      forceKernels(null);
    }
  };
  const on = run("direct"), off = run("im2col"), chosen = run(null);
  const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
  const label = `[${N},${C},${H},${W}] * [${D},${C},${kh},${kw}]`;
  assertEquals(on.shape, off.shape);
  assertEquals(bits(on.data), bits(off.data), label);
  // the dispatcher picks the direct kernel only where the GEMM would be the FMA kernel: then
  // its bits are im2col + gemm's; elsewhere it runs im2col + gemm itself
  const unforced = forcedIm2col(x, w, b, opts);
  assertEquals(bits(chosen.data), bits(unforced.data), `${label}: the dispatcher's choice`);
}

/** im2col + gemm with the GEMM the dispatcher would choose for the shape. */
function forcedIm2col(
  x: Tensor<Float32Array>,
  w: Tensor<Float32Array>,
  b: Tensor<Float32Array>,
  opts: { padding: [number, number] },
): Tensor<Float32Array> {
  forceKernels({ conv: "im2col" });
  try {
    return convForward(x, w, b, opts).y;
  } finally {
    forceKernels(null);
  }
}

Deno.test("convForward float32 stride 1: the WebAssembly kernel gives im2col + gemm's bits", () => {
  // the kernel needs relaxed SIMD (the fused multiply-add GEMM kernel's condition too)
  if (simdKernel("fma") === null) return;
  assert(convSimdAvailable(), "Deno has relaxed SIMD: the kernel must be tested");
  check(2, 1, 28, 28, 20, 5, 5); // W1
  check(2, 20, 12, 12, 50, 5, 5); // W2
  check(2, 64, 32, 32, 64, 3, 3); // W3: K = 576, two k blocks
  check(1, 70, 9, 11, 7, 3, 3); // K = 630
  check(3, 1, 28, 28, 24, 5, 5, [2, 2]); // Wo = 28: rows padded to 32 and compacted
  check(2, 4, 9, 9, 6, 3, 3, [0, 0]); // Wo = 7, one panel per row
  for (let trial = 0; trial < 150; trial++) {
    const k = trial % 10 === 0 ? 1 : randInt(rng, 1, 5);
    check(
      randInt(rng, 1, 3),
      randInt(rng, 1, 6),
      randInt(rng, 1, 14),
      randInt(rng, 1, 21),
      randInt(rng, 1, 13),
      k,
      trial % 3 === 0 ? randInt(rng, 1, 5) : k,
    );
  }
});
