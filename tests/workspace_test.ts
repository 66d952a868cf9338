// Workspaces (layers/workspace.ts): the fast backend's arrays kept from call to call. Calls with a
// workspace give exactly the fresh-array results whatever its arrays hold; an input that is an
// earlier result of the same workspace is never written over while it is read; x_col and the
// max-pool winners kept for a backward pass are used only while they are current (a later call
// that overwrote them makes the backward pass recompute them); and the layer classes, which own
// one each, compute the same numbers as the functional calls. Keeping arrays is the fast
// backend's business (the reference ignores workspaces), so the tests of what is kept run on it
// whichever backend the suite runs on.

import { assert, assertEquals, assertNotStrictEquals } from "@std/assert";
import {
  Conv2D,
  convBackward,
  convForward,
  fcBackward,
  fcForward,
  FullyConnected,
  getBackend,
  im2colTable,
  MaxPool2D,
  maxPoolBackward,
  maxPoolForward,
  ReLU,
  reluBackward,
  reluForward,
  setBackend,
  type Tensor,
  Workspace,
} from "../mod.ts";
import { randTensor, rngFor } from "./_random.ts";

const rng = rngFor(11);
const rand = (
  shape: number[],
  Type: Float32ArrayConstructor | Float64ArrayConstructor = Float64Array,
): Tensor => randTensor(rng, shape, Type);

for (const Type of [Float32Array, Float64Array]) {
  Deno.test(`a workspace gives the fresh arrays' numbers, call after call (${Type.name})`, () => {
    const ws = new Workspace();
    for (let call = 0; call < 3; call++) {
      // the second call finds the first call's results in the workspace's arrays
      const x = rand([2, 3, 7, 6], Type), w = rand([4, 3, 3, 2], Type), b = rand([4], Type);
      const opts = { stride: [2, 1] as [number, number], padding: 1 };
      const fresh = convForward(x, w, b, opts),
        reused = convForward(x, w, b, { ...opts, workspace: ws });
      assertEquals(reused.y.data, fresh.y.data);
      const dy = rand([...fresh.y.shape], Type);
      const g = convBackward(dy, fresh.cache),
        g2 = convBackward(dy, reused.cache, { workspace: ws });
      assertEquals([g2.dx.data, g2.dw.data, g2.db.data], [g.dx.data, g.dw.data, g.db.data]);

      const xf = rand([3, 2, 2, 2], Type), wf = rand([5, 8], Type), bf = rand([5], Type);
      const f = fcForward(xf, wf, bf), f2 = fcForward(xf, wf, bf, { workspace: ws });
      assertEquals(f2.y.data, f.y.data);
      const dyf = rand([3, 5], Type);
      assertEquals(
        fcBackward(dyf, f2.cache, { workspace: ws }).dx.data,
        fcBackward(dyf, f.cache).dx.data,
      );

      const p = maxPoolForward(x, { size: 2 }), p2 = maxPoolForward(x, { size: 2, workspace: ws });
      assertEquals(p2.y.data, p.y.data);
      const dyp = rand([...p.y.shape], Type);
      assertEquals(
        maxPoolBackward(dyp, p2.cache, { workspace: ws }).data,
        maxPoolBackward(dyp, p.cache).data,
      );

      const r = reluForward(x), r2 = reluForward(x, { workspace: ws });
      assertEquals(r2.y.data, r.y.data);
      assertEquals(
        reluBackward(x, r2.cache, { workspace: ws }).data,
        reluBackward(x, r.cache).data,
      );
    }
  });
}

Deno.test("an input that is an earlier result of the same workspace is not written over", () => {
  const ws = new Workspace();
  const x = rand([2, 3, 5, 5]);
  const r1 = reluForward({ shape: x.shape, data: x.data.map((v) => v - 0.5) }, { workspace: ws });
  const before = r1.y.data.slice();
  const r2 = reluForward(r1.y, { workspace: ws }); // y's array would be r1.y's: a new one instead
  assertNotStrictEquals(r2.y.data, r1.y.data);
  assertEquals(r1.y.data, before);
  assertEquals(r2.y.data, before); // relu(relu(x)) = relu(x)
  const w = rand([3, 3, 1, 1]), b = rand([3]);
  const c1 = convForward(x, w, b, { workspace: ws });
  const c2 = convForward(c1.y, w, b, { workspace: ws }); // x of the second is y of the first
  assertEquals(c2.y.data, convForward(convForward(x, w, b).y, w, b).y.data);
});

/** `f` on the fast backend, the suite's backend restored afterwards. */
function onFast(f: () => void): () => void {
  return () => {
    const before = getBackend();
    setBackend("fast");
    try {
      f();
    } finally {
      setBackend(before);
    }
  };
}

Deno.test(
  "kept x_col: the same gradients as gathering again; overwritten, gathered again",
  onFast(() => {
    for (
      const [xs, wsh, pad] of [
        [[3, 2, 7, 6], [4, 2, 3, 2], 1], // im2col + GEMM per sample
        [[2, 3, 3, 3], [5, 3, 4, 4], 1], // one output position: the batched GEMM
      ] as [number[], number[], number][]
    ) {
      const ws = new Workspace();
      const x1 = rand(xs), x2 = rand(xs), w = rand(wsh), b = rand([wsh[0]]);
      const first = convForward(x1, w, b, { padding: pad, workspace: ws }); // keeps every x_col
      assert(first.cache.columns !== undefined && ws.isCurrent(first.cache.columns));
      const dy = rand([...first.y.shape]);
      const want = convBackward(dy, convForward(x1, w, b, { padding: pad }).cache);
      const got = convBackward(dy, first.cache, { workspace: ws });
      assertEquals([got.dx.data, got.dw.data, got.db.data], [
        want.dx.data,
        want.dw.data,
        want.db.data,
      ]);
      // a second forward overwrites the kept columns with x2's: the first cache's backward must
      // notice and gather x1's again
      convForward(x2, w, b, { padding: pad, workspace: ws });
      assert(!ws.isCurrent(first.cache.columns!));
      const again = convBackward(dy, first.cache, { workspace: ws });
      assertEquals([again.dx.data, again.dw.data], [want.dx.data, want.dw.data]);
      // evaluation mode keeps nothing, and backward still works
      const ev = convForward(x1, w, b, { padding: pad, workspace: ws, training: false });
      assertEquals(ev.cache.columns, undefined);
      assertEquals(convBackward(dy, ev.cache, { workspace: ws }).dw.data, want.dw.data);
    }
  }),
);

Deno.test(
  "kept max-pool winners: used while current, found again otherwise",
  onFast(() => {
    const ws = new Workspace();
    const x1 = rand([2, 3, 6, 6]), x2 = rand([2, 3, 6, 6]), dy = rand([2, 3, 3, 3]);
    const want = maxPoolBackward(dy, maxPoolForward(x1, { size: 2 }).cache).data;
    const first = maxPoolForward(x1, { size: 2, workspace: ws });
    assertEquals(maxPoolBackward(dy, first.cache, { workspace: ws }).data, want);
    maxPoolForward(x2, { size: 2, workspace: ws }); // overwrites the winners
    assertEquals(maxPoolBackward(dy, first.cache, { workspace: ws }).data, want);
    const ev = maxPoolForward(x1, { size: 2, workspace: ws, training: false });
    assertEquals(ev.cache.route, undefined);
    assertEquals(maxPoolBackward(dy, ev.cache, { workspace: ws }).data, want);
  }),
);

Deno.test("layer classes reuse their workspaces and still compute the same numbers", () => {
  const conv = new Conv2D({ inChannels: 2, outChannels: 3, size: 3, padding: 1, dtype: "float64" });
  const relu = new ReLU(), pool = new MaxPool2D({ size: 2 });
  const fc = new FullyConnected({ inFeatures: 3 * 3 * 3, outFeatures: 4, dtype: "float64" });
  for (let step = 0; step < 3; step++) {
    const N = step === 1 ? 2 : 5; // a batch size change reallocates
    const x = rand([N, 2, 6, 7]);
    const y = fc.forward(pool.forward(relu.forward(conv.forward(x))));
    // the functional calls on the same weights, with fresh arrays
    const c = convForward(x, conv.w.value, conv.b!.value, { padding: 1 });
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

Deno.test("ReLU gives PyTorch's numbers, to the sign of zero, on both backends", () => {
  // torch.relu(torch.tensor([-inf, inf, nan, -0., 0., -2., 3.])) and its gradient for
  // dy = [-5, -inf, 1, -5, -5, -5, -0.] (python3-torch 1.13): +0 for a negative input, −0 and
  // NaN pass through; the gradient is +0 wherever x ≤ 0 and dy itself elsewhere, NaN included
  const sign = (a: ArrayLike<number>) => Array.from(a, (v) => Object.is(v, -0) ? "-0" : String(v));
  for (const backend of ["fast", "reference"] as const) {
    const before = getBackend();
    setBackend(backend);
    try {
      const x = { shape: [7], data: new Float64Array([-Infinity, Infinity, NaN, -0, 0, -2, 3]) };
      const { y, cache } = reluForward(x);
      assertEquals(sign(y.data), ["0", "Infinity", "NaN", "-0", "0", "0", "3"], backend);
      const dy = { shape: [7], data: new Float64Array([-5, -Infinity, 1, -5, -5, -5, -0]) };
      assertEquals(sign(reluBackward(dy, cache).data), [
        "0",
        "-Infinity",
        "1",
        "0",
        "0",
        "0",
        "-0",
      ]);
    } finally {
      setBackend(before);
    }
  }
});

Deno.test("no table a caller holds can change a later call's result (either backend)", () => {
  // im2colTable builds a new table for the caller; the fast path's cached tables are never
  // handed out (caches keep the geometry). Vandalise every table a caller can reach, then check
  // that convolutions and pools of the same geometry still compute what they did.
  const x = rand([2, 3, 7, 7]), w = rand([4, 3, 3, 3]), b = rand([4]), dy = rand([2, 4, 4, 4]);
  const opts = { stride: 2, padding: 1 };
  for (const backend of ["fast", "reference"] as const) {
    const before = getBackend();
    setBackend(backend);
    try {
      const first = convForward(x, w, b, opts);
      const g1 = convBackward(dy, first.cache);
      const p1 = maxPoolForward(x, { size: 2 });
      const t = im2colTable({
        channels: 3,
        height: 7,
        width: 7,
        kernel: [3, 3],
        stride: [2, 2],
        padding: [1, 1],
      });
      t.indices.fill(0);
      im2colTable({ channels: 1, height: 7, width: 7, kernel: [2, 2], stride: [2, 2] }).indices
        .fill(3);
      for (const v of Object.values(first.cache)) {
        if (v !== null && typeof v === "object" && "indices" in v) {
          (v as { indices: Int32Array }).indices.fill(0);
        }
      }
      const again = convForward(x, w, b, opts);
      assertEquals(again.y.data, first.y.data, `${backend}: y`);
      assertEquals(convBackward(dy, again.cache).dw.data, g1.dw.data, `${backend}: dw`);
      assertEquals(
        convBackward(dy, first.cache).dx.data,
        g1.dx.data,
        `${backend}: dx, first cache`,
      );
      assertEquals(maxPoolForward(x, { size: 2 }).y.data, p1.y.data, `${backend}: pool`);
    } finally {
      setBackend(before);
    }
  }
});
