// The im2col + GEMM convolution against the textbook six nested loops, over random geometries,
// in float64 and float32.

import { assert } from "@std/assert";
import { convBackward, convForward, fcForward, maxPoolForward } from "../mod.ts";
import { maxAbsDiff, randInt, randomArray, rngFor, scaleOf } from "./_random.ts";

function convDirect(
  x: Float64Array,
  xs: number[],
  w: Float64Array,
  ws: number[],
  b: Float64Array,
  s: [number, number],
  p: [number, number],
): Float64Array {
  const [N, C, H, W] = xs, [D, , kh, kw] = ws;
  const Ho = Math.floor((H + 2 * p[0] - kh) / s[0]) + 1,
    Wo = Math.floor((W + 2 * p[1] - kw) / s[1]) + 1;
  const y = new Float64Array(N * D * Ho * Wo);
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      for (let oh = 0; oh < Ho; oh++) {
        for (let ow = 0; ow < Wo; ow++) {
          let acc = b[d];
          for (let c = 0; c < C; c++) {
            for (let i = 0; i < kh; i++) {
              for (let j = 0; j < kw; j++) {
                const h = oh * s[0] - p[0] + i, ww = ow * s[1] - p[1] + j;
                if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
                acc += w[((d * C + c) * kh + i) * kw + j] * x[((n * C + c) * H + h) * W + ww];
              }
            }
          }
          y[((n * D + d) * Ho + oh) * Wo + ow] = acc;
        }
      }
    }
  }
  return y;
}

Deno.test("convForward equals the direct 6-loop convolution (200 random geometries, f64 and f32)", () => {
  const rng = rngFor(5);
  for (let trial = 0; trial < 200; trial++) {
    const N = randInt(rng, 1, 3), C = randInt(rng, 1, 4), D = randInt(rng, 1, 4);
    const H = randInt(rng, 1, 10), W = randInt(rng, 1, 10);
    const p: [number, number] = [randInt(rng, 0, 2), randInt(rng, 0, 2)];
    const kh = randInt(rng, 1, Math.min(5, H + 2 * p[0])),
      kw = randInt(rng, 1, Math.min(5, W + 2 * p[1]));
    const s: [number, number] = [randInt(rng, 1, 3), randInt(rng, 1, 3)];
    const xs = [N, C, H, W], ws = [D, C, kh, kw];
    const x = randomArray(rng, N * C * H * W, Float64Array);
    const w = randomArray(rng, D * C * kh * kw, Float64Array);
    const b = randomArray(rng, D, Float64Array);
    const ref = convDirect(x, xs, w, ws, b, s, p);
    const { y } = convForward({ shape: xs, data: x }, { shape: ws, data: w }, {
      shape: [D],
      data: b,
    }, {
      stride: s,
      padding: p,
    });
    // same products, different summation order: float64 error ≲ K·eps·scale, K ≤ 100
    assert(maxAbsDiff(y.data, ref) <= 1e-12 * scaleOf(ref), `f64 trial ${trial}`);
    const y32 = convForward(
      { shape: xs, data: Float32Array.from(x) },
      { shape: ws, data: Float32Array.from(w) },
      { shape: [D], data: Float32Array.from(b) },
      { stride: s, padding: p },
    ).y;
    assert(y32.data instanceof Float32Array);
    // float32 inputs are x rounded (rel. 6e-8); sums of ≤ 100 terms of size ≤ 1: error ≤ ~1e-5
    assert(maxAbsDiff(y32.data, ref) <= 1e-4 * scaleOf(ref), `f32 trial ${trial}`);
  }
});

Deno.test("convBackward's dx and dw satisfy <dy, conv(x)> identities (bilinearity)", () => {
  // L = <dy, conv(x, w, 0)> is linear in x and in w, so <dx, x> = L and <dw, w> = L exactly
  // (up to rounding): a property test of both gradients with no finite differences.
  const rng = rngFor(6);
  for (let trial = 0; trial < 100; trial++) {
    const N = randInt(rng, 1, 2), C = randInt(rng, 1, 3), D = randInt(rng, 1, 3);
    const H = randInt(rng, 2, 8), W = randInt(rng, 2, 8), pad = randInt(rng, 0, 1);
    const k = randInt(rng, 1, Math.min(3, H + 2 * pad, W + 2 * pad)), st = randInt(rng, 1, 2);
    const x = { shape: [N, C, H, W], data: randomArray(rng, N * C * H * W, Float64Array) };
    const w = { shape: [D, C, k, k], data: randomArray(rng, D * C * k * k, Float64Array) };
    const b = { shape: [D], data: new Float64Array(D) };
    const { y, cache } = convForward(x, w, b, { stride: st, padding: pad });
    const dy = { shape: y.shape, data: randomArray(rng, y.data.length, Float64Array) };
    const L = y.data.reduce((acc, v, i) => acc + v * dy.data[i], 0);
    const { dx, dw } = convBackward(dy, cache);
    const lx = dx.data.reduce((acc, v, i) => acc + v * x.data[i], 0);
    const lw = dw.data.reduce((acc, v, i) => acc + v * w.data[i], 0);
    assert(Math.abs(lx - L) <= 1e-11 * Math.max(1, Math.abs(L)), `dx trial ${trial}`);
    assert(Math.abs(lw - L) <= 1e-11 * Math.max(1, Math.abs(L)), `dw trial ${trial}`);
  }
});

Deno.test("fcForward equals conv with a kernel covering the input", () => {
  const rng = rngFor(7);
  const x = { shape: [3, 2, 4, 5], data: randomArray(rng, 120, Float64Array) };
  const w = { shape: [6, 40], data: randomArray(rng, 240, Float64Array) };
  const b = { shape: [6], data: randomArray(rng, 6, Float64Array) };
  const fc = fcForward(x, w, b).y;
  const conv = convForward(x, { shape: [6, 2, 4, 5], data: w.data }, b).y;
  assert(maxAbsDiff(fc.data, conv.data) === 0);
  // and equals the plain matrix product x [N,K] · wᵀ + b
  for (let n = 0; n < 3; n++) {
    for (let d = 0; d < 6; d++) {
      let acc = b.data[d];
      for (let k = 0; k < 40; k++) acc += x.data[n * 40 + k] * w.data[d * 40 + k];
      assert(Math.abs(fc.data[n * 6 + d] - acc) <= 1e-12 * Math.max(1, Math.abs(acc)));
    }
  }
});

Deno.test("maxPoolForward equals a direct window maximum (100 random geometries)", () => {
  const rng = rngFor(8);
  for (let trial = 0; trial < 100; trial++) {
    const N = randInt(rng, 1, 2),
      C = randInt(rng, 1, 3),
      H = randInt(rng, 1, 9),
      W = randInt(rng, 1, 9);
    const kh = randInt(rng, 1, H),
      kw = randInt(rng, 1, W),
      sh = randInt(rng, 1, 3),
      sw = randInt(rng, 1, 3);
    const x = randomArray(rng, N * C * H * W, Float64Array);
    const { y } = maxPoolForward({ shape: [N, C, H, W], data: x }, {
      size: [kh, kw],
      stride: [sh, sw],
    });
    const Ho = Math.floor((H - kh) / sh) + 1, Wo = Math.floor((W - kw) / sw) + 1;
    for (let s = 0; s < N * C; s++) {
      for (let oh = 0; oh < Ho; oh++) {
        for (let ow = 0; ow < Wo; ow++) {
          let m = -Infinity;
          for (let i = 0; i < kh; i++) {
            for (let j = 0; j < kw; j++) {
              m = Math.max(m, x[s * H * W + (oh * sh + i) * W + ow * sw + j]);
            }
          }
          assert(y.data[(s * Ho + oh) * Wo + ow] === m);
        }
      }
    }
  }
});
