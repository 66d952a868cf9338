// Random depthwise convolutions (groups = C), shared by tests/differential_test.ts and
// kernels/fast/depthwise_test.ts: channel multipliers M = D/C from 1 to 4 (and, every 17th, 9
// or 10; float64 takes im2col + GEMM past the TypeScript loops' limit of filters per group), per-
// axis strides and paddings, dilations, padding "same", no bias, batch 1, 1×1 kernels and kernels
// as large as the padded input.

import { randInt } from "./_random.ts";

/** One depthwise convolution: x [N, C, H, W], w [C·M, 1, kh, kw], b [C·M] or none. */
export interface DepthwiseCase {
  readonly N: number;
  readonly C: number;
  /** Filters per channel: D = C·M. */
  readonly M: number;
  readonly H: number;
  readonly W: number;
  readonly kh: number;
  readonly kw: number;
  readonly stride: [number, number];
  readonly padding: [number, number] | "same";
  readonly dilation: [number, number];
  readonly bias: boolean;
}

/** Case i: every third is dilated, every fourth has M > 1, every fifth batch 1 and another
 * fifth no bias, every seventh a 1×1 kernel, every tenth a kernel as large as the padded input
 * (one output position), every eleventh padding "same" (stride 1, odd dilated kernel), every
 * thirteenth one channel (groups = C = 1). */
export function depthwiseCase(rng: () => number, i: number): DepthwiseCase {
  const N = i % 5 === 0 ? 1 : randInt(rng, 1, 3), C = i % 13 === 0 ? 1 : randInt(rng, 2, 5);
  const M = i % 17 === 0 ? randInt(rng, 9, 10) : i % 4 === 0 ? randInt(rng, 2, 4) : 1;
  const H = randInt(rng, 1, 12), W = randInt(rng, 1, 12);
  const dilation: [number, number] = i % 3 === 1
    ? [randInt(rng, 1, 3), randInt(rng, 1, 3)]
    : [1, 1];
  const bias = i % 5 !== 3;
  if (i % 11 === 5) {
    // "same": stride 1 and dilation·(k − 1) even on each axis, here with an odd kernel
    const [kh, kw] = [2 * randInt(rng, 0, 2) + 1, 2 * randInt(rng, 0, 2) + 1];
    return { N, C, M, H, W, kh, kw, stride: [1, 1], padding: "same", dilation, bias };
  }
  const stride: [number, number] = [randInt(rng, 1, 3), randInt(rng, 1, 3)];
  const padding: [number, number] = [randInt(rng, 0, 2), randInt(rng, 0, 2)];
  // the largest kernel whose dilated span fits the padded input
  const most = (n: number, p: number, d: number) => Math.floor((n + 2 * p - 1) / d) + 1;
  const [mh, mw] = [most(H, padding[0], dilation[0]), most(W, padding[1], dilation[1])];
  let [kh, kw] = [randInt(rng, 1, Math.min(5, mh)), randInt(rng, 1, Math.min(5, mw))];
  if (i % 10 === 0) [kh, kw] = [mh, mw];
  if (i % 7 === 0) [kh, kw] = [1, 1];
  return { N, C, M, H, W, kh, kw, stride, padding, dilation, bias };
}

/** The convolution options of a case. */
export function depthwiseOpts(c: DepthwiseCase): {
  stride: [number, number];
  padding: [number, number] | "same";
  dilation: [number, number];
  groups: number;
} {
  return { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.C };
}
