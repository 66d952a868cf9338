// Properties of the convolution's options beyond the seed (dilation, groups, "same", no bias),
// on whichever backend runs the suite (deno task test: fast; test:reference: reference). Each is
// an identity the derivation in docs/groups_dilation.md states, checked on random data:
// - a dilated kernel is the plain kernel with dilation − 1 zeros between its taps;
// - groups are a block-diagonal w_col: the grouped convolution equals the ungrouped one whose
//   filters are zero outside their group's channels;
// - depthwise (groups = C) is C independent single-channel convolutions;
// - im2col and col2im stay adjoint with dilation: <im2col(x), c> = <x, col2im(c)>;
// - the backward pass is the adjoint of the forward pass: <y(x), dy> = <x, dx> = <w, dw>;
// - "same" keeps H and W, and no bias gives db null and y without the bias.
// Float64, tolerance 1e-12 relative to the sums' scale: the two sides add the same products in
// different orders (at most a few hundred terms of size ≲ 10: a worst-case error ≲ 1e-13).

import { assert, assertEquals, assertThrows } from "@std/assert";
import { col2im, convBackward, convForward, im2col, im2colTable, type Tensor } from "../mod.ts";
import { dot, randInt, randTensor, rngFor } from "./_random.ts";

const TOL = 1e-12;

function close(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assertEquals(got.length, want.length, `${what}: length`);
  let scale = 1;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) {
    assert(
      Math.abs(got[i] - want[i]) <= TOL * scale,
      `${what}: [${i}] ${got[i]} vs ${want[i]}`,
    );
  }
}

Deno.test("dilation: a dilated kernel is the kernel with zeros between its taps", () => {
  const rng = rngFor(301);
  for (let t = 0; t < 60; t++) {
    const [dh, dw] = [randInt(rng, 1, 3), randInt(rng, 1, 3)];
    const [kh, kw] = [randInt(rng, 1, 3), randInt(rng, 1, 3)];
    const C = randInt(rng, 1, 3), D = randInt(rng, 1, 3);
    const padding: [number, number] = [randInt(rng, 0, 2), randInt(rng, 0, 2)];
    const stride: [number, number] = [randInt(rng, 1, 2), randInt(rng, 1, 2)];
    const H = dh * (kh - 1) + randInt(rng, 1, 4), W = dw * (kw - 1) + randInt(rng, 1, 4);
    const x = randTensor(rng, [2, C, H, W]), w = randTensor(rng, [D, C, kh, kw]);
    const b = randTensor(rng, [D]);
    // w spread out: tap (i, j) at (i·dh, j·dw) of a [dh(kh−1)+1, dw(kw−1)+1] kernel, zeros elsewhere
    const sh = dh * (kh - 1) + 1, sw = dw * (kw - 1) + 1;
    const spread = { shape: [D, C, sh, sw], data: new Float64Array(D * C * sh * sw) };
    for (let o = 0; o < D * C; o++) {
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          spread.data[(o * sh + i * dh) * sw + j * dw] = w.data[(o * kh + i) * kw + j];
        }
      }
    }
    const label = `dilation [${dh},${dw}] kernel [${kh},${kw}] x [2,${C},${H},${W}]`;
    const dilated = convForward(x, w, b, { dilation: [dh, dw], padding, stride });
    const plain = convForward(x, spread, b, { padding, stride });
    assertEquals(dilated.y.shape, plain.y.shape, label);
    close(dilated.y.data, plain.y.data, `${label} y`);
    const dy = randTensor(rng, [...plain.y.shape]);
    close(convBackward(dy, dilated.cache).dx.data, convBackward(dy, plain.cache).dx.data, label);
  }
});

/** w [D, C/G, kh, kw] of G groups as the ungrouped [D, C, kh, kw]: zero outside each group. */
function blockDiagonal(w: Tensor, C: number, G: number): Tensor {
  const [D, Cg, kh, kw] = w.shape, Dg = D / G, taps = kh * kw;
  const full = new Float64Array(D * C * taps);
  for (let d = 0; d < D; d++) {
    const gi = Math.floor(d / Dg);
    for (let c = 0; c < Cg; c++) {
      for (let t = 0; t < taps; t++) {
        full[(d * C + gi * Cg + c) * taps + t] = w.data[(d * Cg + c) * taps + t];
      }
    }
  }
  return { shape: [D, C, kh, kw], data: full };
}

Deno.test("groups: the grouped convolution is the ungrouped one with a block-diagonal w_col", () => {
  const rng = rngFor(302);
  for (let t = 0; t < 60; t++) {
    const G = randInt(rng, 1, 4), Cg = randInt(rng, 1, 3), Dg = randInt(rng, 1, 3);
    const C = G * Cg, D = G * Dg, k = randInt(rng, 1, 3), H = randInt(rng, k, 7);
    const x = randTensor(rng, [2, C, H, H + 1]), w = randTensor(rng, [D, Cg, k, k]);
    const b = randTensor(rng, [D]),
      opts = { padding: randInt(rng, 0, 1), stride: randInt(rng, 1, 2) };
    const label = `G ${G}, C ${C}, D ${D}, k ${k}`;
    const grouped = convForward(x, w, b, { ...opts, groups: G });
    const full = blockDiagonal(w, C, G);
    const ungrouped = convForward(x, full, b, opts);
    close(grouped.y.data, ungrouped.y.data, `${label} y`);
    const dy = randTensor(rng, [...grouped.y.shape]);
    const g = convBackward(dy, grouped.cache), u = convBackward(dy, ungrouped.cache);
    close(g.dx.data, u.dx.data, `${label} dx`);
    close(g.db!.data, u.db!.data, `${label} db`);
    // dw: the grouped filters' gradients are the ungrouped dw's entries inside the blocks
    const taps = k * k, inBlocks = new Float64Array(w.data.length);
    for (let d = 0; d < D; d++) {
      const gi = Math.floor(d / Dg);
      for (let c = 0; c < Cg; c++) {
        for (let q = 0; q < taps; q++) {
          inBlocks[(d * Cg + c) * taps + q] = u.dw.data[(d * C + gi * Cg + c) * taps + q];
        }
      }
    }
    close(g.dw.data, inBlocks, `${label} dw`);
  }
});

Deno.test("depthwise: groups = C is C independent single-channel convolutions", () => {
  const rng = rngFor(303);
  const N = 2, C = 5, H = 7, W = 6, m = 2; // two filters per channel
  const x = randTensor(rng, [N, C, H, W]), w = randTensor(rng, [C * m, 1, 3, 3]);
  const b = randTensor(rng, [C * m]);
  const opts = { padding: "same" as const, dilation: 2 };
  const all = convForward(x, w, b, { ...opts, groups: C }).y;
  for (let c = 0; c < C; c++) {
    const x_c = { shape: [N, 1, H, W], data: new Float64Array(N * H * W) };
    for (let n = 0; n < N; n++) {
      x_c.data.set(x.data.subarray((n * C + c) * H * W, (n * C + c + 1) * H * W), n * H * W);
    }
    const w_c = { shape: [m, 1, 3, 3], data: w.data.slice(c * m * 9, (c + 1) * m * 9) };
    const b_c = { shape: [m], data: b.data.slice(c * m, (c + 1) * m) };
    const y_c = convForward(x_c, w_c, b_c, opts).y; // [N, m, H, W]
    for (let n = 0; n < N; n++) {
      close(
        y_c.data.subarray(n * m * H * W, (n + 1) * m * H * W),
        all.data.subarray((n * C * m + c * m) * H * W, (n * C * m + (c + 1) * m) * H * W),
        `channel ${c}, sample ${n}`,
      );
    }
  }
});

Deno.test("adjoint: <im2col(x), c> = <x, col2im(c)> for dilated tables", () => {
  const rng = rngFor(304);
  for (let t = 0; t < 100; t++) {
    const dilation: [number, number] = [randInt(rng, 1, 3), randInt(rng, 1, 3)];
    const kernel: [number, number] = [randInt(rng, 1, 3), randInt(rng, 1, 3)];
    const padding: [number, number] = [randInt(rng, 0, 2), randInt(rng, 0, 2)];
    const height = dilation[0] * (kernel[0] - 1) + randInt(rng, 1, 4);
    const width = dilation[1] * (kernel[1] - 1) + randInt(rng, 1, 4);
    const table = im2colTable({
      channels: randInt(rng, 1, 3),
      height,
      width,
      kernel,
      padding,
      stride: [randInt(rng, 1, 2), randInt(rng, 1, 2)],
      dilation,
    });
    const x = randTensor(rng, [table.inputSize]).data;
    const c = randTensor(rng, [table.rows * table.cols]).data;
    const left = dot(im2col(x, table), c), right = dot(x, col2im(c, table));
    assert(Math.abs(left - right) <= TOL * Math.max(1, Math.abs(left)), `${left} vs ${right}`);
  }
});

Deno.test("adjoint: <y, dy> = <x, dx> = <w, dw> for grouped, dilated convolutions without bias", () => {
  // y is linear in x (and in w) when there is no bias: <y, dy> = <x, dL/dx> = <w, dL/dw>
  const rng = rngFor(305);
  for (let t = 0; t < 60; t++) {
    const G = randInt(rng, 1, 3), C = G * randInt(rng, 1, 2), D = G * randInt(rng, 1, 2);
    const k = randInt(rng, 1, 3), d = randInt(rng, 1, 2), span = d * (k - 1) + 1;
    const x = randTensor(rng, [2, C, span + randInt(rng, 0, 4), span + randInt(rng, 0, 4)]);
    const w = randTensor(rng, [D, C / G, k, k]);
    const opts = {
      groups: G,
      dilation: d,
      stride: randInt(rng, 1, 2),
      padding: randInt(rng, 0, 2),
    };
    const { y, cache } = convForward(x, w, null, opts);
    const dy = randTensor(rng, [...y.shape]);
    const { dx, dw, db } = convBackward(dy, cache);
    assertEquals(db, null);
    const s = dot(y.data, dy.data);
    const tol = TOL * Math.max(1, Math.abs(s)) * 10;
    assert(
      Math.abs(dot(x.data, dx.data) - s) <= tol,
      `<x, dx> vs <y, dy>: ${JSON.stringify(opts)}`,
    );
    assert(
      Math.abs(dot(w.data, dw.data) - s) <= tol,
      `<w, dw> vs <y, dy>: ${JSON.stringify(opts)}`,
    );
  }
});

Deno.test('"same" keeps the size; no bias adds nothing', () => {
  const rng = rngFor(306);
  const x = randTensor(rng, [2, 3, 7, 6]), w = randTensor(rng, [4, 3, 5, 3]);
  for (const dilation of [1, 2, [1, 3] as [number, number]]) {
    const { y } = convForward(x, w, null, { padding: "same", dilation });
    assertEquals(y.shape, [2, 4, 7, 6], `dilation ${dilation}`);
  }
  const b = randTensor(rng, [4]);
  const withBias = convForward(x, w, b, { padding: 1 }).y,
    without = convForward(x, w, null, { padding: 1 }).y;
  const P = withBias.shape[2] * withBias.shape[3];
  for (let i = 0; i < without.data.length; i++) {
    const d = Math.floor(i / P) % 4;
    assert(Math.abs(withBias.data[i] - without.data[i] - b.data[d]) <= 1e-12, `[${i}]`);
  }
});

Deno.test("bad options: a named RangeError or TypeError, with the shapes, before anything is written", () => {
  const rng = rngFor(307);
  const x = randTensor(rng, [1, 4, 5, 5]),
    w = randTensor(rng, [6, 2, 3, 3]),
    b = randTensor(rng, [6]);
  const before = [x.data.slice(), w.data.slice(), b.data.slice()];
  const cases: [Record<string, unknown>, typeof RangeError | typeof TypeError, string][] = [
    [
      { groups: 3 },
      RangeError,
      "convForward: groups 3 must divide both the 4 input channels and the 6 filters (x [1,4,5,5], w [6,2,3,3])",
    ],
    [{ groups: 0 }, RangeError, "convForward: groups must be a positive integer, got 0"],
    [{ groups: 1.5 }, RangeError, "convForward: groups must be a positive integer"],
    [{ groups: 1 }, RangeError, "convForward: x has 4 channels but w expects 2"],
    [
      { groups: 2, stride: 2, padding: "same" },
      RangeError,
      'convForward: padding "same" needs stride 1',
    ],
    [{ groups: 2, dilation: 0 }, RangeError, "convForward: dilation must be a positive integer"],
    [
      { groups: 2, dilation: [1, 2, 3] },
      TypeError,
      "convForward: dilation must be a number or a [rows, cols] pair",
    ],
    [
      { groups: 2, dilation: 3 },
      RangeError,
      "convForward: kernel [3,3] (dilated: [7,7]) is larger than the padded input [5,5]",
    ],
    [
      { groups: 2, padding: "valid" },
      TypeError,
      "convForward: padding must be a number or a [rows, cols] pair",
    ],
  ];
  for (const [opts, cls, message] of cases) {
    assertThrows(() => convForward(x, w, b, opts as never), cls, message, JSON.stringify(opts));
  }
  // an even kernel has no symmetric "same"
  assertThrows(
    () => convForward(x, randTensor(rng, [6, 2, 2, 2]), b, { groups: 2, padding: "same" }),
    RangeError,
    "kernel [2,2], dilation [1,1]",
  );
  assertThrows(
    () => convForward(x, w, randTensor(rng, [5]), { groups: 2 }),
    RangeError,
    "b has 5 entries",
  );
  assertEquals([x.data, w.data, b.data], before);
});
