// Properties of pooling beyond the seed (max pooling with padding, average pooling), on
// whichever backend runs the suite (deno task test: fast; test:reference: reference). Each is an
// identity docs/avg_pool.md and docs/max_pool.md derive, checked on random data:
// - global average pooling is each channel's mean over H×W, whatever the input's size;
// - average pooling that counts the padding is a depthwise convolution (groups = C, no bias)
//   whose kh×kw weights are all 1/(kh·kw), forward and backward (the convolution pads with
//   zeros, as the average does);
// - without counting the padding, a constant input stays constant (every window's mean of equal
//   cells), and a window's divisor is its cells of x;
// - the backward pass is the adjoint of the forward pass: <avgPool(x), dy> = <x, dx>;
// - a padded max pool reads the padding as −∞: no gradient is lost to the padding, each window's
//   gradient goes whole to a cell of x inside it holding the window's maximum, inputs of −∞
//   included;
// - bad input: padding over half the window, a bad countIncludePad, windows larger than the
//   padded input, tables over 2^29 entries; nothing written when a call throws.
// Float64, tolerance 1e-12 relative to the sums' scale: the two sides add the same terms in
// different orders (at most a few hundred terms of size ≲ 10: a worst-case error ≲ 1e-13).

import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  AvgPool2D,
  avgPoolBackward,
  avgPoolForward,
  buildNetwork,
  convBackward,
  convForward,
  GlobalAvgPool2D,
  MaxPool2D,
  maxPoolBackward,
  maxPoolForward,
  specShapes,
  type Tensor,
  Workspace,
} from "../mod.ts";
import { dot, randInt, randTensor, rngFor } from "./_random.ts";

const TOL = 1e-12;
type Pair = [number, number];

function close(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assertEquals(got.length, want.length, `${what}: length`);
  let scale = 1;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) {
    assert(Math.abs(got[i] - want[i]) <= TOL * scale, `${what}: [${i}] ${got[i]} vs ${want[i]}`);
  }
}

/** A random pool: per-axis size, stride and padding (at most half the window), fitting x. */
function geometry(rng: () => number) {
  for (;;) {
    const N = randInt(rng, 1, 2), C = randInt(rng, 1, 3);
    const H = randInt(rng, 1, 8), W = randInt(rng, 1, 8);
    const size: Pair = [randInt(rng, 1, 5), randInt(rng, 1, 5)];
    const padding: Pair = [randInt(rng, 0, size[0] >> 1), randInt(rng, 0, size[1] >> 1)];
    const stride: Pair = [randInt(rng, 1, 3), randInt(rng, 1, 3)];
    if (size[0] <= H + 2 * padding[0] && size[1] <= W + 2 * padding[1]) {
      return { x: [N, C, H, W], size, stride, padding };
    }
  }
}

Deno.test("global average pooling is each channel's mean over H×W, for any input size", () => {
  const rng = rngFor(501);
  const gap = new GlobalAvgPool2D();
  for (let t = 0; t < 30; t++) {
    const [N, C, H, W] = [
      randInt(rng, 1, 3),
      randInt(rng, 1, 4),
      randInt(rng, 1, 9),
      randInt(rng, 1, 9),
    ];
    const x = randTensor(rng, [N, C, H, W]);
    const mean = new Float64Array(N * C);
    for (let s = 0; s < N * C; s++) {
      for (let i = 0; i < H * W; i++) mean[s] += x.data[s * H * W + i] / (H * W);
    }
    const { y, cache } = avgPoolForward(x, { size: [H, W] });
    assertEquals(y.shape, [N, C, 1, 1]);
    close(y.data, mean, `avgPoolForward [${N},${C},${H},${W}]`);
    const z = gap.forward(x); // the same layer object on inputs of every size
    assertEquals(z.shape, [N, C, 1, 1]);
    close(z.data, mean, `GlobalAvgPool2D [${N},${C},${H},${W}]`);
    // backward: dy / (H·W) in every cell of its channel
    const dy = randTensor(rng, [N, C, 1, 1]);
    const dx = avgPoolBackward(dy, cache);
    const want = Float64Array.from(dx.data, (_, i) => dy.data[Math.floor(i / (H * W))] / (H * W));
    close(dx.data, want, `dx [${N},${C},${H},${W}]`);
    close(gap.backward(dy).data, want, `GlobalAvgPool2D dx [${N},${C},${H},${W}]`);
  }
});

Deno.test("average pooling counting the padding is a depthwise convolution with weights 1/(kh·kw)", () => {
  const rng = rngFor(502);
  for (let t = 0; t < 80; t++) {
    const g = geometry(rng), [, C] = g.x, [kh, kw] = g.size;
    const opts = { size: g.size, stride: g.stride, padding: g.padding };
    const x = randTensor(rng, g.x);
    // one kh×kw filter per channel (groups = C), every tap 1/(kh·kw); no bias
    const w = { shape: [C, 1, kh, kw], data: new Float64Array(C * kh * kw).fill(1 / (kh * kw)) };
    const label = `x [${g.x}] ${JSON.stringify(opts)}`;
    const conv = convForward(x, w, null, { stride: g.stride, padding: g.padding, groups: C });
    const pool = avgPoolForward(x, t % 2 === 0 ? opts : { ...opts, countIncludePad: true });
    assertEquals(pool.y.shape, conv.y.shape, label);
    close(pool.y.data, conv.y.data, `${label} y`);
    const dy = randTensor(rng, [...pool.y.shape]);
    const dxConv = convBackward(dy, conv.cache).dx;
    close(avgPoolBackward(dy, pool.cache).data, dxConv.data, `${label} dx`);
  }
});

Deno.test("average pooling without counting the padding: a constant stays constant, divisors are cells of x", () => {
  const rng = rngFor(503);
  for (let t = 0; t < 60; t++) {
    const g = geometry(rng), opts = { size: g.size, stride: g.stride, padding: g.padding };
    const n = g.x.reduce((a, b) => a * b), c = 3 * rng() - 1.5;
    const x = { shape: g.x, data: new Float64Array(n).fill(c) };
    const label = `x [${g.x}] ${JSON.stringify(opts)}`;
    const { y } = avgPoolForward(x, { ...opts, countIncludePad: false });
    close(y.data, new Float64Array(y.data.length).fill(c), `${label} y`);
    // the divisor of each window: a window of ones, countIncludePad true, gives cells / (kh·kw)
    const ones = { shape: g.x, data: new Float64Array(n).fill(1) };
    const counted = avgPoolForward(ones, opts).y.data, [kh, kw] = g.size;
    const [, , H, W] = g.x, [, , Ho, Wo] = y.shape;
    for (let oh = 0; oh < Ho; oh++) {
      for (let ow = 0; ow < Wo; ow++) {
        const top = oh * g.stride[0] - g.padding[0], left = ow * g.stride[1] - g.padding[1];
        const rows = Math.min(H, top + kh) - Math.max(0, top);
        const cols = Math.min(W, left + kw) - Math.max(0, left);
        assert(rows >= 1 && cols >= 1, `${label}: window (${oh},${ow}) holds a cell of x`);
        close([counted[oh * Wo + ow]], [(rows * cols) / (kh * kw)], `${label} (${oh},${ow})`);
      }
    }
  }
});

Deno.test("average pooling's backward pass is its forward pass's adjoint: <y(x), dy> = <x, dx>", () => {
  const rng = rngFor(504);
  for (let t = 0; t < 100; t++) {
    const g = geometry(rng);
    const opts = {
      size: g.size,
      stride: g.stride,
      padding: g.padding,
      countIncludePad: t % 2 === 0,
    };
    const x = randTensor(rng, g.x);
    const { y, cache } = avgPoolForward(x, opts);
    const dy = randTensor(rng, [...y.shape]);
    const dx = avgPoolBackward(dy, cache);
    const lhs = dot(y.data, dy.data), rhs = dot(x.data, dx.data);
    assert(
      Math.abs(lhs - rhs) <= TOL * Math.max(1, x.data.length),
      `x [${g.x}] ${JSON.stringify(opts)}: <y, dy> ${lhs} vs <x, dx> ${rhs}`,
    );
  }
});

Deno.test("padded max pooling never routes to the padding, inputs of −∞ included", () => {
  // One window's gradient at a time (dy one-hot): dx must be that gradient, whole, on one cell
  // of x inside the window holding the window's maximum; with every input negative (a zero
  // padding would win the border windows) and with inputs of −∞ (which tie the padding: the
  // window's first cell of x takes the gradient, as PyTorch).
  const rng = rngFor(505);
  for (let t = 0; t < 60; t++) {
    const g = geometry(rng), opts = { size: g.size, stride: g.stride, padding: g.padding };
    const x = randTensor(rng, g.x);
    for (let i = 0; i < x.data.length; i++) {
      x.data[i] = t % 3 === 0 && rng() < 0.5 ? -Infinity : x.data[i] - 10;
    }
    const [N, C, H, W] = g.x, label = `x [${g.x}] ${JSON.stringify(opts)}`;
    const { y, cache } = maxPoolForward(x, opts);
    const [, , Ho, Wo] = y.shape, [kh, kw] = g.size;
    for (let o = 0; o < y.data.length; o++) {
      const dy = { shape: [...y.shape], data: new Float64Array(y.data.length) };
      dy.data[o] = 1;
      const dx = maxPoolBackward(dy, cache).data;
      const cells = [...dx.keys()].filter((i) => dx[i] !== 0);
      assertEquals(cells.length, 1, `${label} window ${o}: one cell gets its gradient`);
      const at = cells[0], s = Math.floor(o / (Ho * Wo)), oh = Math.floor(o / Wo) % Ho;
      const ow = o % Wo, h = Math.floor(at / W) % H, w = at % W;
      assertEquals(dx[at], 1, `${label} window ${o}: all of it`);
      assertEquals(Math.floor(at / (H * W)), s, `${label} window ${o}: its own channel`);
      const top = oh * g.stride[0] - g.padding[0], left = ow * g.stride[1] - g.padding[1];
      assert(h >= top && h < top + kh && w >= left && w < left + kw, `${label}: inside`);
      assertEquals(x.data[at], y.data[o], `${label} window ${o}: the cell holds the max`);
      if (y.data[o] === -Infinity) {
        // the first cell of x of the window, row-major
        assertEquals([h, w], [Math.max(0, top), Math.max(0, left)], `${label} window ${o}`);
      } else assert(y.data[o] < 0, `${label}: the padding (−∞) never wins, a 0 would`);
    }
    assertEquals(N * C * Ho * Wo, y.data.length);
  }
});

Deno.test("pooling layers and specs: padding, countIncludePad, global, and their PyTorch indices", () => {
  const x = randTensor(rngFor(506), [2, 3, 7, 7], Float32Array);
  const stem = new MaxPool2D({ size: 3, stride: 2, padding: 1 });
  assertEquals(stem.forward(x).shape, [2, 3, 4, 4]);
  assertEquals(stem.options, { size: 3, stride: 2, padding: 1 });
  const avg = new AvgPool2D({ size: 3, stride: 1, padding: 1, countIncludePad: false });
  assertEquals(avg.forward(x).shape, [2, 3, 7, 7]);
  assertEquals(avg.params(), []);
  const spec = [
    { type: "conv" as const, inChannels: 3, outChannels: 4, size: 3, padding: 1 },
    { type: "maxpool" as const, size: 3, stride: 2, padding: 1 },
    { type: "avgpool" as const, size: 2, stride: 1, padding: 1, countIncludePad: false },
    { type: "globalavgpool" as const },
    { type: "flatten" as const },
    { type: "fc" as const, inFeatures: 4, outFeatures: 5 },
  ];
  const net = buildNetwork(spec, { seed: 1 });
  assertEquals(net.layers.map((l) => l.kind), [
    "Conv2D",
    "MaxPool2D",
    "AvgPool2D",
    "GlobalAvgPool2D",
    "Flatten",
    "FullyConnected",
  ]);
  // 7 -> 4 (max, padded) -> 5 (avg, size 2 stride 1 padding 1) -> 1 (global)
  assertEquals(net.forward(x).shape, [2, 5]);
  assertEquals(specShapes(spec)?.map((p) => p.name), ["0.weight", "0.bias", "5.weight", "5.bias"]);
  assertThrows(
    () => buildNetwork([{ type: "maxpool", size: 2, padding: 2 }]),
    RangeError,
    "padding",
  );
  assertThrows(
    () => buildNetwork([{ type: "avgpool", size: 3, countIncludePad: "no" as unknown as boolean }]),
    TypeError,
    "countIncludePad",
  );
});

Deno.test("bad input: pooling padding, countIncludePad, window and table sizes", () => {
  const x = randTensor(rngFor(507), [1, 2, 4, 4]);
  const cases: [() => unknown, ErrorConstructor, string[]][] = [
    [() => maxPoolForward(x, { size: 2, padding: 2 }), RangeError, [
      "maxPoolForward",
      "padding [2,2]",
      "[2,2]",
      "[1,2,4,4]",
    ]],
    [() => maxPoolForward(x, { size: [3, 2], padding: [1, 2] }), RangeError, [
      "maxPoolForward",
      "padding [1,2]",
      "half",
      "[1,2,4,4]",
    ]],
    [() => avgPoolForward(x, { size: 3, padding: 2 }), RangeError, [
      "avgPoolForward",
      "padding [2,2]",
      "size [3,3]",
      "[1,2,4,4]",
    ]],
    [() => avgPoolForward(x, { size: 2, padding: -1 }), RangeError, [
      "avgPoolForward",
      "padding",
      "[1,2,4,4]",
    ]],
    [() => maxPoolForward(x, { size: 2, padding: 0.5 }), RangeError, [
      "maxPoolForward",
      "padding",
      "[1,2,4,4]",
    ]],
    [() => avgPoolForward(x, { size: 2, padding: "1" as unknown as number }), TypeError, [
      "avgPoolForward",
      "padding",
    ]],
    [() => avgPoolForward(x, { size: 2, countIncludePad: 1 as unknown as boolean }), TypeError, [
      "avgPoolForward",
      "countIncludePad",
      "number",
    ]],
    [() => avgPoolForward(x, { size: 7, padding: 1 }), RangeError, [
      "avgPoolForward",
      "size [7,7]",
      "padded by [1,1] to [6,6]",
      "[1,2,4,4]",
    ]],
    [() => maxPoolForward(x, { size: [2, 7], padding: [0, 1] }), RangeError, [
      "maxPoolForward",
      "size [2,7]",
      "[4,6]",
      "[1,2,4,4]",
    ]],
    [() => avgPoolForward(x, {} as { size: number }), TypeError, ["avgPoolForward", "size"]],
    [() => avgPoolForward(randTensor(rngFor(1), [2, 4, 4]), { size: 2 }), RangeError, [
      "avgPoolForward",
      "x",
      "[2,4,4]",
    ]],
    [() => avgPoolForward(x, { size: 2, dilation: 2 } as never), TypeError, [
      "avgPoolForward",
      'unknown option "dilation"',
    ]],
    [() => avgPoolForward(x, null as never), TypeError, ["avgPoolForward", "opts"]],
    // a huge window at stride 1 over a 2×2 input padded by half the window: a table of
    // 20000²·3² entries, refused before anything is allocated
    [
      () =>
        avgPoolForward({ shape: [1, 1, 2, 2], data: new Float64Array(4) }, {
          size: 20000,
          stride: 1,
          padding: 10000,
        }),
      RangeError,
      ["avgPoolForward", "the im2col table [400000000,9]", "2^29"],
    ],
    [
      () =>
        maxPoolForward({ shape: [1, 1, 2, 2], data: new Float64Array(4) }, {
          size: 20000,
          stride: 1,
          padding: 10000,
        }),
      RangeError,
      ["maxPoolForward", "the im2col table", "2^29"],
    ],
    [() => new MaxPool2D({ size: 2, padding: 2 }), RangeError, ["MaxPool2D", "padding"]],
    [() => new AvgPool2D({ size: 3, padding: [0, 2] }), RangeError, ["AvgPool2D", "padding [0,2]"]],
    [() => new AvgPool2D({ size: 2, countIncludePad: "yes" as unknown as boolean }), TypeError, [
      "AvgPool2D",
      "countIncludePad",
    ]],
    [() => new AvgPool2D({} as { size: number }), TypeError, ["AvgPool2D", "size"]],
    [() => new GlobalAvgPool2D().forward(randTensor(rngFor(2), [3, 4])), RangeError, [
      "GlobalAvgPool2D",
      "x",
      "[3,4]",
    ]],
    [() => new GlobalAvgPool2D().backward(randTensor(rngFor(2), [1, 1, 1, 1])), Error, [
      "GlobalAvgPool2D.backward",
      "forward first",
    ]],
  ];
  for (const [call, Type, parts] of cases) {
    const e = assertThrows(call, Type);
    for (const part of parts) {
      assert((e as Error).message.includes(part), `"${(e as Error).message}" names ${part}`);
    }
  }
  const pool = avgPoolForward(x, { size: 2 }), maxed = maxPoolForward(x, { size: 2 });
  const backward: [() => unknown, ErrorConstructor, string[]][] = [
    [() => avgPoolBackward(randTensor(rngFor(3), [1, 2, 2, 3]), pool.cache), RangeError, [
      "avgPoolBackward",
      "dy",
      "[1,2,2,3]",
      "[1,2,2,2]",
    ]],
    [
      () => avgPoolBackward(randTensor(rngFor(3), [1, 2, 2, 2], Float32Array), pool.cache),
      TypeError,
      ["avgPoolBackward", "dy", "Float32Array", "Float64Array"],
    ],
    [() => avgPoolBackward(randTensor(rngFor(3), [1, 2, 2, 2]), maxed.cache as never), TypeError, [
      "avgPoolBackward",
      "cache",
      "avgPoolForward",
    ]],
    [() => maxPoolBackward(randTensor(rngFor(3), [1, 2, 2, 2]), pool.cache as never), TypeError, [
      "maxPoolBackward",
      "cache",
      "maxPoolForward",
    ]],
    [() => avgPoolBackward(pool.y, pool.cache, { out: x.data } as never), TypeError, [
      "avgPoolBackward",
      'unknown option "out"',
    ]],
  ];
  for (const [call, Type, parts] of backward) {
    const e = assertThrows(call, Type);
    for (const part of parts) {
      assert((e as Error).message.includes(part), `"${(e as Error).message}" names ${part}`);
    }
  }
});

Deno.test("half-written: a pooling call that throws leaves its workspace's results and a layer's cache as they were", () => {
  const rng = rngFor(508);
  const x = randTensor(rng, [2, 2, 5, 5], Float32Array), ws = new Workspace();
  for (const forward of [avgPoolForward, maxPoolForward]) {
    const { y } = forward(x, { size: 3, stride: 2, padding: 1, workspace: ws });
    const before = Float32Array.from(y.data);
    assertThrows(() => forward(x, { size: 3, padding: 2, workspace: ws }), RangeError);
    assertThrows(
      () => forward({ shape: [1, 2, 1, 1], data: new Float32Array(2) }, { size: 4, workspace: ws }),
      RangeError,
    );
    assertEquals(Float32Array.from(y.data), before, forward.name);
  }
  for (
    const layer of [
      new AvgPool2D({ size: 2, padding: 1 }),
      new MaxPool2D({ size: 2, padding: 1 }),
      new GlobalAvgPool2D(),
    ]
  ) {
    const y = layer.forward(x), dy: Tensor = randTensor(rng, [...y.shape], Float32Array);
    const want = Float32Array.from(layer.backward(dy).data);
    assertThrows(() => layer.forward(randTensor(rng, [2, 5, 5], Float32Array)), RangeError);
    assertEquals(Float32Array.from(layer.backward(dy).data), want, layer.kind);
  }
});
