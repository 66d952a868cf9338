// Nothing silently wrong, nothing lost: one regression test per defect of issue 11 (divergence,
// overflow, aliasing, crafted files, bad paths, unhelpful errors), each reproducing the defect's
// call and asserting what happens now. Run over both backends (deno task test and
// test:reference), and on Node; the command lines are tests/cli_test.ts.

import { assert, assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import {
  Adam,
  addAt,
  col2im,
  Conv2D,
  convBackward,
  convForward,
  cosineSchedule,
  decodeSafetensors,
  Dropout,
  encodeCheckpoint,
  encodeSafetensors,
  evaluate,
  firstImages,
  Flatten,
  gemm,
  im2col,
  im2colTable,
  loadCheckpoint,
  MaxPool2D,
  maxPoolBackward,
  maxPoolForward,
  ReLU,
  reluBackward,
  reluForward,
  restoreCheckpoint,
  Sequential,
  stepSchedule,
  type Tensor,
  tensor,
  trainEpoch,
  Workspace,
} from "../mod.ts";
import { randTensor, rngFor } from "./_random.ts";
import { mnist } from "./_mnist.ts";

import { NORM, TINY, tiny } from "./_tiny_net.ts";

// --- 1. divergence ----------------------------------------------------------------------------

Deno.test("1. a step that overflows the weights stops training, even the run's last step", async () => {
  // one batch: the loss before the step is finite, the step itself takes weights past 3.4e38;
  // before, only the loss before each step was checked, so this returned normally
  const set = firstImages(await mnist("train"), 16);
  const net = tiny();
  const optimizer = new Adam(net.params(), { lr: 1e39 });
  assertThrows(
    () => trainEpoch(net, set, { batchSize: 16, norm: NORM, rng: rngFor(1), optimizer }),
    Error,
    "trainEpoch: after step 1 of 1 (lr 1e+39) parameter",
  );
  assertThrows(
    () => encodeCheckpoint(net, { spec: TINY, norm: NORM }),
    RangeError,
    "non-finite weights",
  );
});

// --- 2. float64 checkpoints -------------------------------------------------------------------

Deno.test("2. a float64 value beyond float32's range is refused by a float32 model", () => {
  const net64 = tiny("float64");
  net64.params()[0].value.data[3] = 1e300;
  const bytes = encodeCheckpoint(net64, { spec: TINY, norm: NORM });
  const net32 = tiny("float32"), before = net32.params().map((p) => Array.from(p.value.data));
  assertThrows(() => loadCheckpoint(net32, bytes), RangeError, "1e+300 at index 3, beyond float32");
  assertEquals(net32.params().map((p) => Array.from(p.value.data)), before); // nothing loaded
  assertThrows(
    () => restoreCheckpoint(bytes, "f64.safetensors", { dtype: "float32" }),
    RangeError,
    "restoreCheckpoint: f64.safetensors",
  );
  // ... and a float64 model takes it as it is
  const { net } = restoreCheckpoint(bytes);
  assertEquals(net.params()[0].value.data[3], 1e300);
});

Deno.test("2. a float64 checkpoint is restored as float64, bit for bit", () => {
  const net64 = tiny("float64");
  net64.params()[2].value.data[0] = 0.1 + 0.2; // not a float32 number
  const bytes = encodeCheckpoint(net64, { spec: TINY, norm: NORM });
  const { net } = restoreCheckpoint(bytes);
  for (const [i, p] of net.params().entries()) {
    assert(p.value.data instanceof Float64Array, `${p.name} is ${p.value.data.constructor.name}`);
    assertEquals(p.value.data, net64.params()[i].value.data);
  }
  // a float32 file still gives a float32 model, and dtype is checked
  assert(
    restoreCheckpoint(encodeCheckpoint(tiny(), { spec: TINY, norm: NORM })).net.params()[0]
      .value.data instanceof Float32Array,
  );
  assertThrows(
    () => restoreCheckpoint(bytes, "x", { dtype: "float16" as "float32" }),
    RangeError,
    "opts.dtype",
  );
});

// --- 3. evaluation that overflows -------------------------------------------------------------

Deno.test("3. evaluate() refuses a non-finite loss", async () => {
  const net = tiny();
  net.params()[2].value.data.fill(3e38); // finite weights whose products overflow
  const test = firstImages(await mnist("t10k"), 32);
  assertThrows(() => evaluate(net, test, { norm: NORM }), Error, "evaluate: the loss is NaN");
});

// --- 4. aliasing ------------------------------------------------------------------------------

Deno.test("4. aliasing: the buffers of convprop 0.1 are refused by name before anything is written", () => {
  const rng = rngFor(4);
  const x = randTensor(rng, [2, 3, 6, 6]), w = randTensor(rng, [4, 3, 3, 3]);
  const b = randTensor(rng, [4]), dy = randTensor(rng, [2, 4, 4, 4]);
  const { cache } = convForward(x, w, b);
  const fresh = convBackward(dy, convForward(x, w, b).cache);
  const shared = new Float64Array(x.data.length);
  for (const key of ["dx", "dw", "db", "columns"]) {
    assertThrows(
      () => convBackward(dy, cache, { [key]: shared } as never),
      TypeError,
      `convBackward: unknown option "${key}"`,
    );
  }
  const again = convBackward(dy, cache);
  assertEquals(again.dw.data, fresh.dw.data); // the cache is as it was
  assertEquals(again.dx.data, fresh.dx.data);

  const route = new Int32Array(x.data.buffer, 0, 8);
  const xs = Array.from(x.data);
  assertThrows(
    () => maxPoolForward(x, { size: 2, route } as never),
    TypeError,
    'maxPoolForward: unknown option "route"',
  );
  assertEquals(Array.from(x.data), xs);
  const pool = maxPoolForward(x, { size: 2 });
  assertThrows(
    () => maxPoolBackward(pool.y, pool.cache, { out: x.data } as never),
    TypeError,
    'maxPoolBackward: unknown option "out"',
  );
  assertEquals(Array.from(x.data), xs);
});

Deno.test("4. aliasing: a kernel's out sharing memory with its input is refused before writing", () => {
  const table = im2colTable({ channels: 1, height: 4, width: 4, kernel: [2, 2] }); // [4, 9]
  const memory = new Float64Array(64).map((_, i) => i);
  const x = memory.subarray(0, 16), before = Array.from(memory);
  for (const start of [0, 8, 15]) {
    const out = memory.subarray(start, start + 36); // overlaps x by 16, 8, 1 elements
    assertThrows(
      () => im2col(x, table, { out }),
      RangeError,
      "im2col: opts.out shares memory with x",
    );
    assertThrows(
      () => col2im(out, table, { out: memory.subarray(start + 20, start + 36) }),
      RangeError,
      "col2im: opts.out shares memory with x_col",
    );
  }
  assertEquals(Array.from(memory), before);
  assertThrows(() => addAt(x, [0, 1], x.subarray(2, 4)), RangeError, "addAt: values shares memory");
  assertEquals(Array.from(memory), before);
  // side by side in one buffer, without overlap, is fine
  const out = memory.subarray(16, 52);
  assertEquals(Array.from(im2col(x, table, { out }).subarray(0, 3)), [0, 1, 2]);
});

Deno.test("4. aliasing: with a workspace, a result passed back in is never overwritten while read", () => {
  // a workspace reuses arrays, so the dangerous call is feeding a call's result back into the
  // next call on the same workspace: the output must not land on the input
  const rng = rngFor(44);
  const x = randTensor(rng, [2, 4, 5, 5]), w = randTensor(rng, [4, 4, 3, 3]);
  const b = randTensor(rng, [4]);
  const ws = new Workspace();
  const y1 = convForward(x, w, b, { workspace: ws, padding: 1 }).y;
  const y1copy = { shape: y1.shape, data: y1.data.slice() };
  const y2 = convForward(y1, w, b, { workspace: ws, padding: 1 });
  const expected = convForward(y1copy, w, b, { padding: 1 });
  assertEquals(y2.y.data, expected.y.data);
  // the backward pass of the second, with its own output as dy
  const dyCopy = { shape: y2.y.shape, data: y2.y.data.slice() };
  const g = convBackward(y2.y, y2.cache, { workspace: ws });
  const ref = convBackward(dyCopy, expected.cache);
  assertEquals(g.dw.data, ref.dw.data);
  assertEquals(g.dx.data, ref.dx.data);
});

// --- 5. one layer twice -----------------------------------------------------------------------

Deno.test("5. one layer object used twice in a Sequential is refused when the network is built", () => {
  const relu = new ReLU();
  assertThrows(
    () => new Sequential([relu, new Flatten(), relu]),
    RangeError,
    "Sequential: layers[2] is the same ReLU object as layers[0]",
  );
  // two instances are fine
  new Sequential([new ReLU(), new Flatten(), new ReLU()]);
});

// --- 6. is tests/workspace_test.ts's "no table a caller can reach ... changes a later convolution"

// --- 7. crafted layer lists -------------------------------------------------------------------

Deno.test("7. a small checkpoint whose layer list asks for a huge layer is refused before building", () => {
  const net = tiny();
  const spec = structuredClone(TINY);
  (spec[3] as { inFeatures: number }).inFeatures = 25e6; // a 1 GB layer from a small file
  const bytes = encodeSafetensors(new Map(net.params().map((p) => [p.name, p.value])), {
    metadata: {
      "convprop.format": "convprop-checkpoint/1",
      "convprop.model": "crafted",
      "convprop.layers": JSON.stringify(spec),
      "convprop.normalization": JSON.stringify(NORM),
    },
  });
  assert(bytes.length < 8000, `${bytes.length} bytes`);
  // the message comes from the shape check that runs before buildNetwork is called
  assertThrows(
    () => restoreCheckpoint(bytes, "crafted.safetensors"),
    RangeError,
    'its layer list asks for "3.weight" [10,25000000] but the file has [10,72]',
  );
});

// --- 8. huge geometries -----------------------------------------------------------------------

Deno.test("8. a geometry whose output or table exceeds 2^29 elements is a RangeError before allocating", () => {
  const one = (shape: number[]) => ({
    shape,
    data: new Float32Array(shape.reduce((a, b) => a * b)),
  });
  const x = one([1, 1, 1, 1]), w = one([1, 1, 1, 1]), b = one([1]);
  for (const padding of [16000, 1e5]) {
    assertThrows(
      () => convForward(x, w, b, { padding }),
      RangeError,
      `convForward: y [1,1,${2 * padding + 1},${2 * padding + 1}] would have`,
    );
  }
  assertThrows(
    () =>
      im2colTable({ channels: 1, height: 1, width: 1, kernel: [1, 1], padding: [16000, 16000] }),
    RangeError,
    "im2colTable: the table [1,1024064001] would have more than 2^29 entries",
  );
  // big enough to matter, small enough to run: 9·(2·4000+1)² > 2^29 taps in the table
  assertThrows(
    () => convForward(x, one([1, 1, 3, 3]), b, { padding: 4000 }),
    RangeError,
    "the im2col table [9,",
  );
});

// --- 11. duplicate keys -----------------------------------------------------------------------

Deno.test("11. a header with a key twice is refused (the checksum sees the parsed header only)", () => {
  const bytes = encodeCheckpoint(tiny(), { spec: TINY, norm: NORM });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  for (
    const [what, edited] of [
      [
        "a metadata key",
        header.replace('"__metadata__":{', '"__metadata__":{"convprop.model":"evil",'),
      ],
      [
        "a tensor",
        header.replace(/^\{/, '{"0.bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'),
      ],
    ]
  ) {
    assertNotEquals(edited, header, what);
    const head = new TextEncoder().encode(edited);
    const file = new Uint8Array(8 + head.length + bytes.length - 8 - n);
    new DataView(file.buffer).setBigUint64(0, BigInt(head.length), true);
    file.set(head, 8);
    file.set(bytes.subarray(8 + n), 8 + head.length);
    assertThrows(() => decodeSafetensors(file), RangeError, "twice", what);
    assertThrows(() => restoreCheckpoint(file), RangeError, "twice", what);
  }
});

// --- 12. errors that name what went wrong -----------------------------------------------------

Deno.test("12. raw JavaScript errors became named TypeErrors and RangeErrors", () => {
  const x = { shape: [1, 1, 4, 4], data: new Float32Array(16) };
  const w = { shape: [1, 1, 3, 3], data: new Float32Array(9) },
    b = { shape: [1], data: new Float32Array(1) };
  const table = im2colTable({ channels: 1, height: 4, width: 4, kernel: [3, 3] });
  const cases: [string, () => unknown, typeof TypeError | typeof RangeError, string][] = [
    [
      "im2colTable({ kernel: 3 })",
      () => im2colTable({ kernel: 3 } as never),
      TypeError,
      "im2colTable: kernel",
    ],
    [
      "im2colTable(undefined)",
      () => im2colTable(undefined as never),
      TypeError,
      "im2colTable: geometry",
    ],
    [
      "convForward(x, w, b, null)",
      () => convForward(x, w, b, null as never),
      TypeError,
      "convForward: opts",
    ],
    ["new Conv2D()", () => new Conv2D(undefined as never), TypeError, "Conv2D: opts"],
    ["new MaxPool2D({})", () => new MaxPool2D({} as never).forward(x), TypeError, "MaxPool2D"],
    [
      "Flatten, shape/data mismatch",
      () => new Flatten().forward({ shape: [2, 5], data: new Float32Array(5) }),
      RangeError,
      "Flatten",
    ],
    [
      "Dropout, shape/data mismatch",
      () => new Dropout({ p: 0.5 }).forward({ shape: [2, 5], data: new Float32Array(5) }),
      RangeError,
      "Dropout",
    ],
    ['tensor("2", …)', () => tensor("2" as never, [1, 2]), TypeError, "tensor: shape"],
    [
      "encodeSafetensors(null)",
      () => encodeSafetensors(null as never),
      TypeError,
      "encodeSafetensors: tensors",
    ],
    [
      "reluBackward with a conv cache",
      () => reluBackward(x, convForward(x, w, b).cache as never),
      TypeError,
      "reluBackward: cache",
    ],
    [
      "im2col of a plain array",
      () => im2col(Array(16).fill(0) as never, table),
      TypeError,
      "im2col: x",
    ],
    [
      "im2col of an Int32Array",
      () => im2col(new Int32Array(16) as never, table),
      TypeError,
      "im2col: x",
    ],
    [
      "im2col, out of the other float type",
      () => im2col(x.data, table, { out: new Float64Array(36) as never }),
      TypeError,
      "im2col: opts.out",
    ],
    [
      "cosineSchedule(…)(-1)",
      () => cosineSchedule({ lr: 0.1, totalSteps: 10 })(-1),
      RangeError,
      "cosineSchedule: step",
    ],
    [
      "stepSchedule(…)(0.5)",
      () => stepSchedule({ lr: 0.1, stepSize: 2, gamma: 0.1 })(0.5),
      RangeError,
      "stepSchedule: step",
    ],
  ];
  for (const [what, call, cls, message] of cases) assertThrows(call, cls, message, what);
  // Flatten used to return the shape [2, 2.5]
  assertThrows(
    () => new Flatten().forward({ shape: [2, 5], data: new Float32Array(5) }),
    RangeError,
  );
  assertEquals(reluForward(x).y.shape, [1, 1, 4, 4]);
});

// --- decided and documented -------------------------------------------------------------------

Deno.test("ownership: a cache refers to x, so changing x before backward changes dw (documented)", () => {
  const rng = rngFor(5);
  const x = randTensor(rng, [1, 1, 3, 3]),
    w = randTensor(rng, [1, 1, 2, 2]),
    b = randTensor(rng, [1]);
  const dy = randTensor(rng, [1, 1, 2, 2]);
  const before = convBackward(dy, convForward(x, w, b).cache).dw.data.slice();
  const { cache } = convForward(x, w, b);
  x.data[0] += 1; // against the rule: x belongs to the cache until backward
  assertNotEquals(convBackward(dy, cache).dw.data, before);
});

// --- fuzz -------------------------------------------------------------------------------------

const SENTINEL = 12345.5;

/** A buffer of one of several kinds, some of them wrong, filled with random numbers. */
function buffer(rng: () => number, length: number, float64: boolean): unknown {
  const k = Math.floor(rng() * 12);
  const fill = (a: { length: number; [i: number]: number }) => {
    for (let i = 0; i < a.length; i++) a[i] = Math.round((2 * rng() - 1) * 8) / 4; // exact in f32
    return a;
  };
  if (k === 0) return fill(new Int32Array(length));
  if (k === 1) return fill(Array(length));
  if (k === 2) return fill(float64 ? new Float32Array(length) : new Float64Array(length));
  return fill(float64 ? new Float64Array(length) : new Float32Array(length));
}

/** The shape, or one near it that is wrong. */
function shapeNear(rng: () => number, shape: number[]): number[] {
  const s = [...shape];
  const k = Math.floor(rng() * 10);
  if (k === 0) s.pop();
  else if (k === 1) s.push(1);
  else if (k === 2) s[Math.floor(rng() * s.length)] += 1;
  else if (k === 3) s[Math.floor(rng() * s.length)] = 0;
  else if (k === 4) s[Math.floor(rng() * s.length)] = -1;
  else if (k === 5) s[Math.floor(rng() * s.length)] += 0.5;
  return s;
}

/** y = conv(x, w) + b in float64 by the definition (six loops), zero padding p. */
function naiveConv(x: Tensor, w: Tensor, b: Tensor, p: number): number[] {
  const [N, C, H, W] = x.shape, [D, , kh, kw] = w.shape;
  const Ho = H + 2 * p - kh + 1, Wo = W + 2 * p - kw + 1, y: number[] = [];
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      for (let i = 0; i < Ho; i++) {
        for (let j = 0; j < Wo; j++) {
          let s = b.data[d];
          for (let c = 0; c < C; c++) {
            for (let u = 0; u < kh; u++) {
              for (let v = 0; v < kw; v++) {
                const r = i + u - p, q = j + v - p;
                if (r < 0 || r >= H || q < 0 || q >= W) continue;
                s += w.data[((d * C + c) * kh + u) * kw + v] *
                  x.data[((n * C + c) * H + r) * W + q];
              }
            }
          }
          y.push(s);
        }
      }
    }
  }
  return y;
}

const snapshot = (arrays: unknown[]) => arrays.map((a) => Array.from(a as ArrayLike<number>));

Deno.test("fuzz: random bad inputs throw a named error and leave every buffer as it was, or give the reference answer", () => {
  const rng = rngFor(11);
  const names = ["convForward", "maxPoolForward", "reluForward", "im2col", "gemm"];
  const counts: Record<string, { threw: number; ran: number }> = {};
  for (let trial = 0; trial < 1000; trial++) {
    const which = names[trial % names.length];
    const float64 = rng() < 0.5;
    const C = 1 + Math.floor(rng() * 3),
      H = 2 + Math.floor(rng() * 5),
      D = 1 + Math.floor(rng() * 3);
    const k = 1 + Math.floor(rng() * 2);
    const len = (s: number[]) =>
      s.reduce((a, v) => a * Math.max(Math.floor(v), 0), 1) + (rng() < 0.1 ? 1 : 0);
    const xs = shapeNear(rng, [2, C, H, H]), wsh = shapeNear(rng, [D, C, k, k]);
    const x = { shape: xs, data: buffer(rng, len(xs), float64) } as Tensor;
    const w = { shape: wsh, data: buffer(rng, len(wsh), float64) } as Tensor;
    const b = { shape: [D], data: buffer(rng, D, float64) } as Tensor;
    // an out buffer: sentinel-filled, sometimes the input itself or a view overlapping it
    const Type = float64 ? Float64Array : Float32Array;
    const table = im2colTable({ channels: C, height: H, width: H, kernel: [k, k] });
    const outLength = which === "im2col" ? table.rows * table.cols : 2 * C * H * H;
    const alias = rng();
    const out = alias < 0.25 && ArrayBuffer.isView(x.data)
      ? x.data
      : alias < 0.5 && x.data instanceof Type
      ? new Type(
        x.data.buffer as ArrayBuffer,
        x.data.byteOffset,
        Math.min(outLength, x.data.length),
      )
      : new Type(outLength).fill(SENTINEL);
    const inputs = [x.data, w.data, b.data];
    const before = snapshot(inputs), outBefore = Array.from(out);
    const opts: Record<string, unknown> = {};
    let result: unknown;
    const tally = counts[which] ??= { threw: 0, ran: 0 };
    try {
      if (which === "convForward") {
        opts.padding = Math.floor(rng() * 3) - (rng() < 0.1 ? 1 : 0);
        result = convForward(x, w, b, opts);
      } else if (which === "maxPoolForward") {
        opts.size = Math.floor(rng() * 4);
        result = maxPoolForward(x, opts as { size: number });
      } else if (which === "reluForward") {
        result = reluForward(x);
      } else if (which === "im2col") {
        const sample = ArrayBuffer.isView(x.data) ? x.data.subarray(0, C * H * H) : x.data;
        result = im2col(sample, table, { out });
      } else {
        const m = { data: x.data, rows: 2 * C, cols: H * H };
        result = gemm(m, { data: out, rows: H * H, cols: 2 * C }, { out: m.data });
      }
    } catch (e) {
      tally.threw++;
      assert(e instanceof TypeError || e instanceof RangeError, `${which}: ${e}`);
      assert(
        (e as Error).message.startsWith(`${which}: `),
        `${which}: unnamed: ${(e as Error).message}`,
      );
      assertEquals(snapshot(inputs), before, `${which}: an input changed by a call that threw`);
      assertEquals(Array.from(out), outBefore, `${which}: out written by a call that threw`);
      continue;
    }
    tally.ran++;
    assertEquals(snapshot(inputs), before, `${which}: an input changed`);
    const tol = float64 ? 1e-12 : 1e-5; // inputs are multiples of 1/4 below 2: f32 rounding only
    if (which === "convForward") {
      const { y } = result as { y: Tensor };
      assert(y.data.constructor === x.data.constructor);
      const want = naiveConv(x, w, b, opts.padding as number);
      assertEquals(y.data.length, want.length);
      y.data.forEach((v, i) =>
        assert(Math.abs(v - want[i]) <= tol * 16, `${which}: ${v} vs ${want[i]}`)
      );
    } else if (which === "reluForward") {
      const { y } = result as { y: Tensor };
      assertEquals(Array.from(y.data), Array.from(x.data).map((v) => (v > 0 ? v : 0)));
    } else if (which === "maxPoolForward") {
      const { y } = result as { y: Tensor };
      const [N, Cx, Hx, Wx] = x.shape,
        s = opts.size as number,
        Ho = Math.floor(Hx / s),
        Wo = Math.floor(Wx / s);
      const want: number[] = [];
      for (let n = 0; n < N * Cx; n++) {
        for (let i = 0; i < Ho; i++) {
          for (let j = 0; j < Wo; j++) {
            let m = -Infinity;
            for (let u = 0; u < s; u++) {
              for (let v = 0; v < s; v++) {
                m = Math.max(m, x.data[(n * Hx + i * s + u) * Wx + j * s + v]);
              }
            }
            want.push(m);
          }
        }
      }
      assertEquals(Array.from(y.data), want);
    } else if (which === "im2col") {
      const x_col = result as Float64Array;
      x_col.forEach((v, t) => assertEquals(v, x.data[table.indices[t]]));
    } else {
      throw new Error("gemm with out = a must always throw");
    }
  }
  for (const name of names.slice(0, 4)) {
    const c = counts[name];
    assert(c.threw > 20 && c.ran > 10, `${name}: threw ${c.threw}, ran ${c.ran}: exercise both`);
  }
});
