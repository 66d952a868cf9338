// Output buffers: writing into caller-owned arrays gives exactly the fresh-array results, wrong
// buffers are refused before anything is written, and the layer classes' reused buffers do not
// change any number.

import { assertEquals, assertThrows } from "@std/assert";
import {
  Conv2D,
  convBackward,
  convForward,
  fcBackward,
  fcForward,
  FullyConnected,
  MaxPool2D,
  maxPoolBackward,
  maxPoolForward,
  ReLU,
  reluBackward,
  reluForward,
  type Tensor,
} from "../mod.ts";
import { randomArray, rngFor } from "./_random.ts";

const rng = rngFor(11);
function rand(shape: number[]): Tensor<Float64Array> {
  return { shape, data: randomArray(rng, shape.reduce((a, b) => a * b, 1), Float64Array) };
}

Deno.test("out buffers give the same numbers as fresh arrays (garbage in them is ignored)", () => {
  const x = rand([2, 3, 7, 6]), w = rand([4, 3, 3, 2]), b = rand([4]);
  const opts = { stride: [2, 1] as [number, number], padding: 1 };
  const fresh = convForward(x, w, b, opts);
  const out = new Float64Array(fresh.y.data.length).fill(NaN);
  const reused = convForward(x, w, b, { ...opts, out });
  assertEquals(reused.y.data, fresh.y.data);
  assertEquals(reused.y.data === out, true);
  const dy = rand([...fresh.y.shape]);
  const g = convBackward(dy, fresh.cache);
  const bufs = {
    dx: new Float64Array(x.data.length).fill(NaN),
    dw: new Float64Array(w.data.length).fill(NaN),
    db: new Float64Array(4).fill(NaN),
  };
  const g2 = convBackward(dy, fresh.cache, bufs);
  assertEquals([g2.dx.data, g2.dw.data, g2.db.data], [g.dx.data, g.dw.data, g.db.data]);

  const xf = rand([3, 2, 2, 2]), wf = rand([5, 8]), bf = rand([5]);
  const f = fcForward(xf, wf, bf);
  assertEquals(fcForward(xf, wf, bf, { out: new Float64Array(15).fill(NaN) }).y.data, f.y.data);
  const dyf = rand([3, 5]);
  const gf = fcBackward(dyf, f.cache);
  const gf2 = fcBackward(dyf, f.cache, { dx: new Float64Array(24).fill(NaN) });
  assertEquals(gf2.dx.data, gf.dx.data);

  const p = maxPoolForward(x, { size: 2 });
  const p2 = maxPoolForward(x, {
    size: 2,
    out: new Float64Array(p.y.data.length).fill(NaN),
    route: new Int32Array(p.y.data.length).fill(-7),
  });
  assertEquals(p2.y.data, p.y.data);
  const dyp = rand([...p.y.shape]);
  assertEquals(
    maxPoolBackward(dyp, p2.cache, { out: new Float64Array(x.data.length).fill(NaN) }).data,
    maxPoolBackward(dyp, p.cache).data,
  );

  const r = reluForward(x);
  assertEquals(reluForward(x, { out: new Float64Array(x.data.length).fill(NaN) }).y.data, r.y.data);
  assertEquals(
    reluBackward(x, r.cache, { out: new Float64Array(x.data.length).fill(NaN) }).data,
    reluBackward(x, r.cache).data,
  );
});

Deno.test("bad out buffers are refused before anything is written", () => {
  const x = rand([1, 1, 4, 4]), w = rand([2, 1, 3, 3]), b = rand([2]);
  const out = new Float64Array(8).fill(5);
  assertThrows(() => convForward(x, w, b, { out: new Float64Array(7) }), RangeError, "opts.out");
  assertThrows(
    () => convForward(x, w, b, { out: new Float32Array(8) as never }),
    TypeError,
    "opts.out",
  );
  assertThrows(
    () => convForward(x, w, b, { out: x.data.subarray(0, 8) }),
    RangeError,
    "shares memory with x",
  );
  assertThrows(
    () => convForward({ ...x, shape: [1, 2, 2, 4] }, w, b, { out }),
    RangeError,
    "channels",
  );
  assertEquals(Array.from(out), new Array(8).fill(5)); // untouched
  const { y, cache } = convForward(x, w, b);
  assertThrows(() => convBackward(y, cache, { dx: y.data as never }), RangeError);
  const shared = new Float64Array(16);
  assertThrows(
    () => convBackward(y, cache, { dw: shared.subarray(0, 18 - 2 * 1) as never }),
    RangeError,
  );
  assertThrows(
    () => maxPoolForward(x, { size: 2, route: new Int32Array(3) }),
    RangeError,
    "opts.route",
  );
  assertThrows(() => reluForward(x, { out: x.data }), RangeError, "shares memory with x");
});

Deno.test("layer classes reuse their buffers and still compute the same numbers", () => {
  const conv = new Conv2D({
    inChannels: 2,
    outChannels: 3,
    kernelSize: 3,
    padding: 1,
    dtype: "float64",
  });
  const relu = new ReLU(), pool = new MaxPool2D({ size: 2 });
  const fc = new FullyConnected({ inFeatures: 3 * 3 * 3, outFeatures: 4, dtype: "float64" });
  for (let step = 0; step < 3; step++) {
    const N = step === 1 ? 2 : 5; // a batch size change reallocates
    const x = rand([N, 2, 6, 7]);
    const y = fc.forward(pool.forward(relu.forward(conv.forward(x))));
    // the functional reference on the same weights
    const c = convForward(x, conv.w.value, conv.b.value, { padding: 1 });
    const r = reluForward(c.y);
    const p = maxPoolForward(r.y, { size: 2 });
    const f = fcForward(p.y, fc.w.value, fc.b.value);
    assertEquals(y.data, f.y.data);
    const dy = rand([N, 4]);
    const dx = conv.backward(relu.backward(pool.backward(fc.backward(dy))));
    const gf = fcBackward(dy, f.cache);
    const gc = convBackward(reluBackward(maxPoolBackward(gf.dx, p.cache), r.cache), c.cache);
    assertEquals(dx.data, gc.dx.data);
    assertEquals(conv.w.grad.data, gc.dw.data);
    assertEquals(fc.w.grad.data, gf.dw.data);
  }
});

Deno.test("ReLU's branch-free form is exact at ±Infinity, ±0 and NaN", () => {
  const x = { shape: [6], data: new Float64Array([-Infinity, Infinity, NaN, -0, 0, -2]) };
  const { y, cache } = reluForward(x);
  assertEquals(Array.from(y.data), [0, Infinity, NaN, 0, 0, 0]);
  const dy = {
    shape: [6],
    data: new Float64Array([Infinity, -Infinity, 1, NaN, Infinity, -Infinity]),
  };
  assertEquals(Array.from(reluBackward(dy, cache).data), [0, -Infinity, 0, 0, 0, 0]);
});

Deno.test("columns kept by the forward pass give the same gradients as gathering again", () => {
  for (
    const [xs, ws, pad] of [[[3, 2, 7, 6], [4, 2, 3, 2], 1], [[2, 3, 4, 4], [5, 3, 4, 4], 0], [
      [2, 3, 3, 3],
      [5, 3, 4, 4],
      1,
    ]] as [number[], number[], number][]
  ) {
    const x = rand(xs), w = rand(ws), b = rand([ws[0]]);
    const plain = convForward(x, w, b, { padding: pad });
    const K = ws[1] * ws[2] * ws[3], P = plain.y.data.length / (xs[0] * ws[0]);
    const columns = new Float64Array(xs[0] * K * P).fill(NaN);
    const kept = convForward(x, w, b, { padding: pad, columns });
    assertEquals(kept.y.data, plain.y.data);
    const dy = rand([...plain.y.shape]);
    const g1 = convBackward(dy, plain.cache), g2 = convBackward(dy, kept.cache);
    assertEquals([g2.dx.data, g2.dw.data, g2.db.data], [g1.dx.data, g1.dw.data, g1.db.data]);
  }
  const x = rand([1, 1, 4, 4]), w = rand([1, 1, 3, 3]), b = rand([1]);
  assertThrows(
    () => convForward(x, w, b, { columns: new Float64Array(5) }),
    RangeError,
    "opts.columns",
  );
});
