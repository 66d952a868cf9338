// Bad input gets a clear error, never a wrong answer or NaN: every case below must throw the
// stated class (RangeError for a wrong size or value, TypeError for a wrong kind of thing) with
// a message that names the function, the argument and the shapes involved, so a caller sees at
// once which call went wrong. Then "nothing half-written": a call that throws leaves its
// inputs, earlier caches and layer gradients as they were, and a later good call gives exactly
// what a fresh run gives.

import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  addAt,
  avgPoolBackward,
  avgPoolForward,
  batchNormBackward,
  batchNormForward,
  Conv2D,
  convBackward,
  convForward,
  convTransposeBackward,
  convTransposeForward,
  fcBackward,
  fcForward,
  FullyConnected,
  maxPoolBackward,
  maxPoolForward,
  mulberry32,
  normal,
  reluBackward,
  reluForward,
  setBackend,
  softmaxCrossEntropy,
  type Tensor,
} from "../mod.ts";

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;

/** A tensor of the given shape with N(0,1) entries (seeded, so every run sees the same). */
function randn(shape: number[], ctor: Ctor = Float64Array, seed = 1): Tensor {
  const rng = mulberry32(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new ctor(n);
  for (let i = 0; i < n; i++) data[i] = normal(rng);
  return { shape, data };
}

/** A tensor whose data has `length` entries whatever its shape claims. */
function withLength(shape: number[], length: number, ctor: Ctor = Float64Array): Tensor {
  return { shape, data: new ctor(length).fill(0.5) };
}

function copy(t: Tensor): number[] {
  return Array.from(t.data);
}

interface BadCase {
  /** What is wrong. */
  what: string;
  call: () => unknown;
  cls: typeof RangeError | typeof TypeError;
  /** Substrings the message must contain: the function, the argument, the shapes. */
  parts: string[];
}

// Good arguments, varied one at a time below.
const x = randn([2, 3, 8, 8]);
const w = randn([5, 3, 3, 3], Float64Array, 2);
const b = randn([5], Float64Array, 3);
const conv = convForward(x, w, b); // y [2,5,6,6]
const xf = randn([2, 3, 4]); // K = 12
const wf = randn([5, 12], Float64Array, 4);
const fc = fcForward(xf, wf, b); // y [2,5]
const xp = randn([1, 2, 4, 4]);
const pool = maxPoolForward(xp, { size: 2 }); // y [1,2,2,2]
const xr = randn([2, 3]);
const relu = reluForward(xr);
const logits = randn([2, 3]);

const CASES: BadCase[] = [
  // --- convForward
  {
    what: "x of rank 3",
    call: () => convForward(randn([2, 3, 8]), w, b),
    cls: RangeError,
    parts: ["convForward", "x", "[2,3,8]"],
  },
  {
    what: "w of rank 3",
    call: () => convForward(x, randn([5, 3, 3]), b),
    cls: RangeError,
    parts: ["convForward", "w", "[5,3,3]"],
  },
  {
    what: "b of rank 2",
    call: () => convForward(x, w, randn([5, 1])),
    cls: RangeError,
    parts: ["convForward", "b", "[5,1]"],
  },
  {
    what: "x has 3 channels, w expects 4",
    call: () => convForward(x, randn([5, 4, 3, 3]), b),
    cls: RangeError,
    parts: ["convForward", "x", "w", "[2,3,8,8]", "[5,4,3,3]"],
  },
  {
    what: "b has 4 entries for 5 filters",
    call: () => convForward(x, w, randn([4])),
    cls: RangeError,
    parts: ["convForward", "b", "[4]", "[5,3,3,3]"],
  },
  {
    what: "kernel 9x9 larger than the 8x8 input",
    call: () => convForward(x, randn([5, 3, 9, 9]), b),
    cls: RangeError,
    parts: ["convForward", "w", "[2,3,8,8]", "[5,3,9,9]"],
  },
  {
    what: "kernel width 11 larger than the padded width 8+2",
    call: () => convForward(x, randn([5, 3, 3, 11]), b, { padding: [0, 1] }),
    cls: RangeError,
    parts: ["convForward", "w", "[2,3,8,8]", "[5,3,3,11]"],
  },
  {
    what: "stride 0",
    call: () => convForward(x, w, b, { stride: 0 }),
    cls: RangeError,
    parts: ["convForward", "stride", "[2,3,8,8]"],
  },
  {
    what: "stride -1",
    call: () => convForward(x, w, b, { stride: -1 }),
    cls: RangeError,
    parts: ["convForward", "stride", "[2,3,8,8]"],
  },
  {
    what: "stride 1.5",
    call: () => convForward(x, w, b, { stride: 1.5 }),
    cls: RangeError,
    parts: ["convForward", "stride", "[2,3,8,8]"],
  },
  {
    what: "stride [2, 0]",
    call: () => convForward(x, w, b, { stride: [2, 0] }),
    cls: RangeError,
    parts: ["convForward", "stride", "[2,3,8,8]"],
  },
  {
    what: "stride given as a string",
    call: () => convForward(x, w, b, { stride: "2" as unknown as number }),
    cls: TypeError,
    parts: ["convForward", "stride", "[2,3,8,8]"],
  },
  {
    what: "padding -1",
    call: () => convForward(x, w, b, { padding: -1 }),
    cls: RangeError,
    parts: ["convForward", "padding", "[2,3,8,8]"],
  },
  {
    what: "padding [0, 0.5]",
    call: () => convForward(x, w, b, { padding: [0, 0.5] }),
    cls: RangeError,
    parts: ["convForward", "padding", "[2,3,8,8]"],
  },
  {
    what: "x.data has 300 elements for shape [2,3,8,8]",
    call: () => convForward(withLength([2, 3, 8, 8], 300), w, b),
    cls: RangeError,
    parts: ["convForward", "x", "[2,3,8,8]", "300", "384"],
  },
  {
    what: "w.data too short",
    call: () => convForward(x, withLength([5, 3, 3, 3], 130), b),
    cls: RangeError,
    parts: ["convForward", "w", "[5,3,3,3]", "130", "135"],
  },
  {
    what: "x has a zero size",
    call: () => convForward(withLength([0, 3, 8, 8], 0), w, b),
    cls: RangeError,
    parts: ["convForward", "x", "[0,3,8,8]"],
  },
  {
    what: "x Float64Array, w Float32Array",
    call: () => convForward(x, randn([5, 3, 3, 3], Float32Array), b),
    cls: TypeError,
    parts: ["convForward", "w", "Float32Array", "Float64Array", "[2,3,8,8]", "[5,3,3,3]"],
  },
  {
    what: "x Float32Array, w Float64Array",
    call: () => convForward(randn([2, 3, 8, 8], Float32Array), w, b),
    cls: TypeError,
    parts: ["convForward", "w", "Float32Array", "Float64Array", "[2,3,8,8]", "[5,3,3,3]"],
  },
  {
    what: "b Float32Array with x, w Float64Array",
    call: () => convForward(x, w, randn([5], Float32Array)),
    cls: TypeError,
    parts: ["convForward", "b", "Float32Array", "Float64Array", "[5]"],
  },
  {
    what: "x.data a plain array",
    call: () => convForward({ shape: [1, 1, 2, 2], data: [1, 2, 3, 4] } as unknown as Tensor, w, b),
    cls: TypeError,
    parts: ["convForward", "x", "[1,1,2,2]"],
  },
  {
    what: "opts.workspace not a Workspace",
    call: () => convForward(x, w, b, { workspace: {} as never }),
    cls: TypeError,
    parts: ["convForward", "opts.workspace", "Workspace"],
  },
  {
    what: "opts.training not a boolean",
    call: () => convForward(x, w, b, { training: "no" as never }),
    cls: TypeError,
    parts: ["convForward", "opts.training", "string"],
  },
  {
    what: "opts not an object",
    call: () => convForward(x, w, b, 2 as never),
    cls: TypeError,
    parts: ["convForward", "opts", "number"],
  },
  // --- convBackward
  {
    what: "opts.inputGradient not a boolean",
    call: () => convBackward(randn([2, 5, 6, 6]), conv.cache, { inputGradient: 0 as never }),
    cls: TypeError,
    parts: ["convBackward", "opts.inputGradient", "number"],
  },
  {
    what: "an fc cache",
    call: () => convBackward(randn([2, 5, 6, 6]), fc.cache as never),
    cls: TypeError,
    parts: ["convBackward", "cache", "convForward"],
  },
  {
    what: "dy [2,5,6,5] for y [2,5,6,6]",
    call: () => convBackward(randn([2, 5, 6, 5]), conv.cache),
    cls: RangeError,
    parts: ["convBackward", "dy", "[2,5,6,5]", "[2,5,6,6]"],
  },
  {
    what: "dy of rank 3",
    call: () => convBackward(randn([2, 5, 36]), conv.cache),
    cls: RangeError,
    parts: ["convBackward", "dy", "[2,5,36]", "[2,5,6,6]"],
  },
  {
    what: "dy Float32Array for a Float64Array forward",
    call: () => convBackward(randn([2, 5, 6, 6], Float32Array), conv.cache),
    cls: TypeError,
    parts: ["convBackward", "dy", "Float32Array", "Float64Array", "[2,5,6,6]"],
  },
  {
    what: "dy.data too short",
    call: () => convBackward(withLength([2, 5, 6, 6], 300), conv.cache),
    cls: RangeError,
    parts: ["convBackward", "dy", "[2,5,6,6]", "300", "360"],
  },
  // --- fcForward
  {
    what: "x of rank 1",
    call: () => fcForward(randn([12]), wf, b),
    cls: RangeError,
    parts: ["fcForward", "x", "[12]"],
  },
  {
    what: "x has 12 features, w expects 10",
    call: () => fcForward(xf, randn([5, 10]), b),
    cls: RangeError,
    parts: ["fcForward", "x", "w", "[2,3,4]", "[5,10]"],
  },
  {
    what: "w of rank 3",
    call: () => fcForward(xf, randn([5, 3, 4]), b),
    cls: RangeError,
    parts: ["fcForward", "w", "[5,3,4]"],
  },
  {
    what: "b has 4 entries for 5 outputs",
    call: () => fcForward(xf, wf, randn([4])),
    cls: RangeError,
    parts: ["fcForward", "b", "[4]", "[5,12]"],
  },
  {
    what: "x Float64Array, w Float32Array",
    call: () => fcForward(xf, randn([5, 12], Float32Array), b),
    cls: TypeError,
    parts: ["fcForward", "w", "Float32Array", "Float64Array", "[2,3,4]", "[5,12]"],
  },
  {
    what: "x.data length does not match its shape",
    call: () => fcForward(withLength([2, 3, 4], 23), wf, b),
    cls: RangeError,
    parts: ["fcForward", "x", "[2,3,4]", "23", "24"],
  },
  // --- fcBackward
  {
    what: "dy [2,4] for y [2,5]",
    call: () => fcBackward(randn([2, 4]), fc.cache),
    cls: RangeError,
    parts: ["fcBackward", "dy", "[2,4]", "[2,5]"],
  },
  {
    what: "dy [2,5,1] for y [2,5]",
    call: () => fcBackward(randn([2, 5, 1]), fc.cache),
    cls: RangeError,
    parts: ["fcBackward", "dy", "[2,5,1]", "[2,5]"],
  },
  {
    what: "dy Float32Array for a Float64Array forward",
    call: () => fcBackward(randn([2, 5], Float32Array), fc.cache),
    cls: TypeError,
    parts: ["fcBackward", "dy", "Float32Array", "Float64Array", "[2,5]"],
  },
  // --- maxPoolForward
  {
    what: "x of rank 3",
    call: () => maxPoolForward(randn([2, 4, 4]), { size: 2 }),
    cls: RangeError,
    parts: ["maxPoolForward", "x", "[2,4,4]"],
  },
  {
    what: "size 0",
    call: () => maxPoolForward(xp, { size: 0 }),
    cls: RangeError,
    parts: ["maxPoolForward", "size", "[1,2,4,4]"],
  },
  {
    what: "size -2",
    call: () => maxPoolForward(xp, { size: -2 }),
    cls: RangeError,
    parts: ["maxPoolForward", "size", "[1,2,4,4]"],
  },
  {
    what: "size 1.5",
    call: () => maxPoolForward(xp, { size: 1.5 }),
    cls: RangeError,
    parts: ["maxPoolForward", "size", "[1,2,4,4]"],
  },
  {
    what: "size [2, 0]",
    call: () => maxPoolForward(xp, { size: [2, 0] }),
    cls: RangeError,
    parts: ["maxPoolForward", "size", "[1,2,4,4]"],
  },
  {
    what: "stride 0",
    call: () => maxPoolForward(xp, { size: 2, stride: 0 }),
    cls: RangeError,
    parts: ["maxPoolForward", "stride", "[1,2,4,4]"],
  },
  {
    what: "stride [1, 2.5]",
    call: () => maxPoolForward(xp, { size: 2, stride: [1, 2.5] }),
    cls: RangeError,
    parts: ["maxPoolForward", "stride", "[1,2,4,4]"],
  },
  {
    what: "window 5x5 larger than the 4x4 input",
    call: () => maxPoolForward(xp, { size: 5 }),
    cls: RangeError,
    parts: ["maxPoolForward", "size", "[1,2,4,4]"],
  },
  {
    what: "window [2,5] wider than the input",
    call: () => maxPoolForward(xp, { size: [2, 5] }),
    cls: RangeError,
    parts: ["maxPoolForward", "size", "[1,2,4,4]"],
  },
  {
    what: "no size",
    call: () => maxPoolForward(xp, {} as unknown as { size: number }),
    cls: TypeError,
    parts: ["maxPoolForward", "size"],
  },
  {
    what: "x.data length does not match its shape",
    call: () => maxPoolForward(withLength([1, 2, 4, 4], 31), { size: 2 }),
    cls: RangeError,
    parts: ["maxPoolForward", "x", "[1,2,4,4]", "31", "32"],
  },
  // --- maxPoolBackward
  {
    what: "dy [1,2,2,3] for y [1,2,2,2]",
    call: () => maxPoolBackward(randn([1, 2, 2, 3]), pool.cache),
    cls: RangeError,
    parts: ["maxPoolBackward", "dy", "[1,2,2,3]", "[1,2,2,2]"],
  },
  {
    what: "dy Float32Array for a Float64Array forward",
    call: () => maxPoolBackward(randn([1, 2, 2, 2], Float32Array), pool.cache),
    cls: TypeError,
    parts: ["maxPoolBackward", "dy", "Float32Array", "Float64Array", "[1,2,2,2]"],
  },
  {
    what: "a convolution's cache",
    call: () => maxPoolBackward(randn([1, 2, 2, 2]), conv.cache as never),
    cls: TypeError,
    parts: ["maxPoolBackward", "cache", "maxPoolForward"],
  },
  // --- reluForward / reluBackward
  {
    what: "x.data length does not match its shape",
    call: () => reluForward(withLength([2, 3], 5)),
    cls: RangeError,
    parts: ["reluForward", "x", "[2,3]", "5", "6"],
  },
  {
    what: "x has a negative size",
    call: () => reluForward(withLength([2, -3], 0)),
    cls: RangeError,
    parts: ["reluForward", "x", "[2,-3]"],
  },
  {
    what: "dy [3,2] for x [2,3]",
    call: () => reluBackward(randn([3, 2]), relu.cache),
    cls: RangeError,
    parts: ["reluBackward", "dy", "[3,2]", "[2,3]"],
  },
  {
    what: "dy Float32Array for a Float64Array forward",
    call: () => reluBackward(randn([2, 3], Float32Array), relu.cache),
    cls: TypeError,
    parts: ["reluBackward", "dy", "Float32Array", "Float64Array", "[2,3]"],
  },
  // --- softmaxCrossEntropy
  {
    what: "label 3 with 3 classes",
    call: () => softmaxCrossEntropy(logits, [0, 3]),
    cls: RangeError,
    parts: ["softmaxCrossEntropy", "labels", "3", "[2,3]"],
  },
  {
    what: "label -1",
    call: () => softmaxCrossEntropy(logits, [-1, 0]),
    cls: RangeError,
    parts: ["softmaxCrossEntropy", "labels", "-1", "[2,3]"],
  },
  {
    what: "label 1.5",
    call: () => softmaxCrossEntropy(logits, [1.5, 0]),
    cls: RangeError,
    parts: ["softmaxCrossEntropy", "labels", "1.5", "[2,3]"],
  },
  {
    what: "label NaN",
    call: () => softmaxCrossEntropy(logits, [0, NaN]),
    cls: RangeError,
    parts: ["softmaxCrossEntropy", "labels", "NaN", "[2,3]"],
  },
  {
    what: "1 label for 2 rows",
    call: () => softmaxCrossEntropy(logits, [0]),
    cls: RangeError,
    parts: ["softmaxCrossEntropy", "labels", "[2,3]"],
  },
  {
    what: "3 labels for 2 rows",
    call: () => softmaxCrossEntropy(logits, new Int32Array([0, 1, 2])),
    cls: RangeError,
    parts: ["softmaxCrossEntropy", "labels", "[2,3]"],
  },
  {
    what: "logits of rank 3",
    call: () => softmaxCrossEntropy(randn([2, 3, 1]), [0, 1]),
    cls: RangeError,
    parts: ["softmaxCrossEntropy", "logits", "[2,3,1]"],
  },
  {
    what: "labels not an array",
    call: () => softmaxCrossEntropy(logits, 2 as unknown as number[]),
    cls: TypeError,
    parts: ["softmaxCrossEntropy", "labels"],
  },
  // --- setBackend
  {
    what: "an unknown backend",
    call: () => setBackend("gpu" as never),
    cls: RangeError,
    parts: ["setBackend", "reference", "fast", "gpu"],
  },
  // --- addAt
  {
    what: "index 5 into a target of length 5",
    call: () => addAt(new Float64Array(5), [0, 5], [1, 1]),
    cls: RangeError,
    parts: ["addAt", "indices", "5"],
  },
  {
    what: "index 1.5",
    call: () => addAt(new Float64Array(5), [0, 1.5], [1, 1]),
    cls: RangeError,
    parts: ["addAt", "indices", "1.5"],
  },
  {
    what: "3 values for 2 indices",
    call: () => addAt(new Float64Array(5), [0, 1], [1, 1, 1]),
    cls: RangeError,
    parts: ["addAt", "indices", "values"],
  },
  {
    what: "target a plain array",
    call: () => addAt([0, 0] as unknown as Float64Array, [0], [1]),
    cls: TypeError,
    parts: ["addAt", "target"],
  },
  // --- the layers beyond the seed (each has more cases in its own test file)
  {
    what: "transposed conv: x of rank 3",
    call: () => convTransposeForward(randn([2, 3, 8]), randn([3, 5, 3, 3]), b),
    cls: RangeError,
    parts: ["convTransposeForward", "x", "[2,3,8]"],
  },
  {
    what: "transposed conv: x has 4 channels, w has 3 rows",
    call: () => convTransposeForward(randn([2, 4, 8, 8]), randn([3, 5, 3, 3]), b),
    cls: RangeError,
    parts: ["convTransposeForward", "x", "w", "[2,4,8,8]", "[3,5,3,3]"],
  },
  {
    what: "transposed conv: outputPadding not below the stride",
    call: () => convTransposeForward(x, randn([3, 5, 3, 3]), b, { stride: 2, outputPadding: 2 }),
    cls: RangeError,
    parts: ["convTransposeForward", "outputPadding", "[2,2]", "[2,3,8,8]"],
  },
  {
    what: "transposed conv: dy of the wrong shape",
    call: () =>
      convTransposeBackward(
        randn([2, 5, 9, 9]),
        convTransposeForward(x, randn([3, 5, 3, 3]), b).cache,
      ),
    cls: RangeError,
    parts: ["convTransposeBackward", "dy", "[2,5,9,9]", "[2,5,10,10]"],
  },
  {
    what: "average pooling: padding over half the window",
    call: () => avgPoolForward(x, { size: 2, padding: 2 }),
    cls: RangeError,
    parts: ["avgPoolForward", "padding", "[2,2]", "[2,3,8,8]"],
  },
  {
    what: "average pooling: dy of the wrong shape",
    call: () => avgPoolBackward(randn([2, 3, 3, 3]), avgPoolForward(x, { size: 2 }).cache),
    cls: RangeError,
    parts: ["avgPoolBackward", "dy", "[2,3,3,3]", "[2,3,4,4]"],
  },
  {
    what: "batch norm: training on one value per channel",
    call: () =>
      batchNormForward(randn([1, 3]), randn([3]), randn([3]), {
        training: true,
        runningMean: randn([3]),
        runningVar: randn([3]),
      }),
    cls: RangeError,
    parts: ["batchNormForward", "training", "[1,3]"],
  },
  {
    what: "batch norm: runningMean of the wrong length",
    call: () =>
      batchNormForward(x, randn([3]), randn([3]), {
        training: true,
        runningMean: randn([4]),
        runningVar: randn([3]),
      }),
    cls: RangeError,
    parts: ["batchNormForward", "runningMean", "[4]", "[2,3,8,8]"],
  },
  {
    what: "batch norm: dy of the wrong shape",
    call: () => {
      const stats = { training: true, runningMean: randn([3]), runningVar: randn([3]) };
      const { cache } = batchNormForward(x, randn([3]), randn([3]), stats);
      return batchNormBackward(randn([2, 3, 8, 7]), cache);
    },
    cls: RangeError,
    parts: ["batchNormBackward", "dy", "[2,3,8,7]", "[2,3,8,8]"],
  },
];

for (const c of CASES) {
  const fn = c.parts[0];
  Deno.test(`bad input: ${fn}, ${c.what} -> ${c.cls.name}`, () => {
    const err = assertThrows(c.call, c.cls) as Error;
    for (const part of c.parts) {
      assert(
        err.message.includes(part),
        `the message should contain "${part}": ${err.message}`,
      );
    }
  });
}

// --- nothing half-written ----------------------------------------------------------------

Deno.test("half-written: convBackward after a bad dy equals a fresh run", () => {
  const dy = randn([2, 5, 6, 6], Float64Array, 7);
  const fresh = convBackward(dy, convForward(x, w, b).cache);
  const { cache } = convForward(x, w, b);
  assertThrows(() => convBackward(randn([2, 5, 6, 5]), cache), RangeError);
  assertThrows(() => convBackward(randn([2, 5, 6, 6], Float32Array), cache), TypeError);
  assertThrows(() => convBackward(withLength([2, 5, 6, 6], 359), cache), RangeError);
  const again = convBackward(dy, cache);
  assertEquals(copy(again.dx), copy(fresh.dx));
  assertEquals(copy(again.dw), copy(fresh.dw));
  assertEquals(copy(again.db), copy(fresh.db));
});

Deno.test("half-written: a failing or unrelated call leaves an earlier conv cache intact", () => {
  // The layers reuse scratch buffers (x_col): a second forward, a forward that throws, or a
  // forward of another geometry and dtype must not disturb what the first backward computes.
  const dy = randn([2, 5, 6, 6], Float64Array, 8);
  const fresh = convBackward(dy, convForward(x, w, b).cache);
  const { cache } = convForward(x, w, b);
  assertThrows(() => convForward(x, randn([5, 4, 3, 3]), b), RangeError);
  assertThrows(() => convForward(x, w, b, { stride: 0 }), RangeError);
  const other = convForward(randn([1, 3, 11, 9], Float64Array, 9), w, b, { stride: 2, padding: 1 });
  convBackward(randn([...other.y.shape], Float64Array, 10), other.cache);
  const other32 = convForward(
    randn([3, 3, 5, 5], Float32Array),
    randn([5, 3, 3, 3], Float32Array),
    randn([5], Float32Array),
  );
  convBackward(randn([...other32.y.shape], Float32Array), other32.cache);
  const again = convBackward(dy, cache);
  assertEquals(copy(again.dx), copy(fresh.dx));
  assertEquals(copy(again.dw), copy(fresh.dw));
  assertEquals(copy(again.db), copy(fresh.db));
});

Deno.test("half-written: no function writes into its inputs, even when it throws", () => {
  const xs = copy(x), ws = copy(w), bs = copy(b);
  const dy = randn([2, 5, 6, 6], Float64Array, 11);
  const dys = copy(dy);
  const { cache } = convForward(x, w, b, { padding: 1, stride: [2, 1] });
  convBackward(randn([2, 5, 4, 8], Float64Array, 12), cache);
  assertThrows(() => convBackward(dy, cache), RangeError); // dy is [2,5,6,6], y [2,5,4,8]
  fcBackward(randn([2, 5]), fcForward(xf, wf, b).cache);
  maxPoolBackward(randn([1, 2, 2, 2]), maxPoolForward(xp, { size: 2 }).cache);
  reluBackward(randn([2, 3]), reluForward(xr).cache);
  const ls = copy(logits), labels = [2, 0];
  softmaxCrossEntropy(logits, labels);
  assertThrows(() => softmaxCrossEntropy(logits, [2, 3]), RangeError);
  assertEquals(copy(x), xs);
  assertEquals(copy(w), ws);
  assertEquals(copy(b), bs);
  assertEquals(copy(dy), dys);
  assertEquals(copy(logits), ls);
  assertEquals(labels, [2, 0]);
});

Deno.test("half-written: fcBackward and maxPoolBackward after a bad dy equal a fresh run", () => {
  const dyf = randn([2, 5], Float64Array, 13);
  const freshFc = fcBackward(dyf, fcForward(xf, wf, b).cache);
  const fcRun = fcForward(xf, wf, b);
  assertThrows(() => fcBackward(randn([2, 4]), fcRun.cache), RangeError);
  const againFc = fcBackward(dyf, fcRun.cache);
  assertEquals(copy(againFc.dx), copy(freshFc.dx));
  assertEquals(copy(againFc.dw), copy(freshFc.dw));
  assertEquals(copy(againFc.db), copy(freshFc.db));

  const dyp = randn([1, 2, 2, 2], Float64Array, 14);
  const freshPool = maxPoolBackward(dyp, maxPoolForward(xp, { size: 2 }).cache);
  const poolRun = maxPoolForward(xp, { size: 2 });
  assertThrows(() => maxPoolBackward(randn([1, 2, 2, 3]), poolRun.cache), RangeError);
  maxPoolForward(randn([2, 2, 6, 6], Float64Array, 15), { size: 3, stride: 1 });
  assertEquals(copy(maxPoolBackward(dyp, poolRun.cache)), copy(freshPool));
});

Deno.test("half-written: a layer's gradients survive a backward that throws", () => {
  const layer = new Conv2D({ inChannels: 3, outChannels: 5, size: 3, dtype: "float64" });
  const y = layer.forward(x);
  layer.backward(randn([...y.shape], Float64Array, 16));
  const dw = copy(layer.w.grad), db = copy(layer.b!.grad);
  assertThrows(() => layer.backward(randn([2, 5, 6, 5])), RangeError);
  assertThrows(() => layer.backward(randn([...y.shape], Float32Array)), TypeError);
  assertEquals(copy(layer.w.grad), dw);
  assertEquals(copy(layer.b!.grad), db);

  const dense = new FullyConnected({ inFeatures: 12, outFeatures: 5, dtype: "float64" });
  dense.forward(xf);
  dense.backward(randn([2, 5], Float64Array, 17));
  const fw = copy(dense.w.grad), fb = copy(dense.b.grad);
  assertThrows(() => dense.backward(randn([2, 4])), RangeError);
  assertEquals(copy(dense.w.grad), fw);
  assertEquals(copy(dense.b.grad), fb);
});

Deno.test("half-written: addAt validates every index before adding any", () => {
  for (const ctor of [Float64Array, Float32Array]) {
    const target = ctor.from([1, 2, 3, 4, 5]);
    // the bad index comes last: an add-as-you-go loop would already have changed target[0..2]
    assertThrows(() => addAt(target, [0, 1, 2, 2, 5], [10, 10, 10, 10, 10]), RangeError);
    assertEquals(Array.from(target), [1, 2, 3, 4, 5]);
    assertThrows(() => addAt(target, new Int32Array([0, 1, 99]), [10, 10, 10]), RangeError);
    assertEquals(Array.from(target), [1, 2, 3, 4, 5]);
    assertThrows(() => addAt(target, [0, 1, 2.5], [10, 10, 10]), RangeError);
    assertEquals(Array.from(target), [1, 2, 3, 4, 5]);
    assertThrows(() => addAt(target, [0, 1], [10, 10, 10]), RangeError);
    assertEquals(Array.from(target), [1, 2, 3, 4, 5]);
    // and the good call still works: repeats accumulate, negative indices are skipped
    addAt(target, [0, 2, 2, -1], [10, 1, 1, 100]);
    assertEquals(Array.from(target), [11, 2, 5, 4, 5]);
  }
});

Deno.test("bad input: every error names its function (no bare messages)", () => {
  // The table above covers each public function; make sure none of them was skipped.
  const covered = new Set(CASES.map((c) => c.parts[0]));
  for (
    const fn of [
      "convForward",
      "convBackward",
      "fcForward",
      "fcBackward",
      "maxPoolForward",
      "maxPoolBackward",
      "reluForward",
      "reluBackward",
      "softmaxCrossEntropy",
      "setBackend",
      "addAt",
      "convTransposeForward",
      "convTransposeBackward",
      "avgPoolForward",
      "avgPoolBackward",
      "batchNormForward",
      "batchNormBackward",
    ]
  ) assert(covered.has(fn), `no bad-input case for ${fn}`);
});
