// The fast max pool (kernels/fast/max_pool.ts and its SIMD kernel, max_pool_simd.wat, as
// dispatch.ts runs them): for every geometry, exactly the reference's im2col + maxPoolColumns,
// winners included, bit for bit.

import { assert, assertEquals } from "@std/assert";
import { maxPoolColumns } from "../max_pool.ts";
import { im2col } from "../im2col.ts";
import { type FastTable, fastTable } from "./tables.ts";
import { forceKernels, maxPoolKernel, runMaxPool } from "./dispatch.ts";
import { maxPoolSimdAvailable } from "./max_pool_simd.ts";
import { tapOffsets } from "./max_pool.ts";
import type { Im2colGeometry } from "../im2col.ts";
import { randInt, randomArray, rngFor } from "../../tests/_random.ts";

/** The fused pool through a cached table, as the fast layer runs it. */
function maxPoolTable<T extends Float32Array | Float64Array>(
  x: T,
  table: FastTable,
  out: { max: T; route?: Int32Array },
): void {
  const slices = x.length / table.inputSize;
  runMaxPool(
    { x, table, slices, max: out.max, route: out.route ?? null },
    (n) => new Int32Array(n),
  );
}

/** The same geometry's table: the cached one (fast) and a fresh one (the reference's). */
function tables(g: Im2colGeometry): FastTable {
  return fastTable(g);
}

Deno.test("maxPoolTable equals maxPoolColumns(im2col(x)) per image (100 random geometries)", () => {
  const rng = rngFor(9);
  for (let trial = 0; trial < 100; trial++) {
    const S = randInt(rng, 1, 4), H = randInt(rng, 1, 9), W = randInt(rng, 1, 9);
    const table = tables({
      channels: 1,
      height: H,
      width: W,
      kernel: [randInt(rng, 1, H), randInt(rng, 1, W)],
      stride: [randInt(rng, 1, 3), randInt(rng, 1, 3)],
    });
    const x = randomArray(rng, S * H * W, Float64Array);
    const P = table.cols, max = new Float64Array(S * P), route = new Int32Array(S * P);
    maxPoolTable(x, table, { max, route });
    for (let s = 0; s < S; s++) {
      const x_s = x.subarray(s * H * W, (s + 1) * H * W);
      const ref = maxPoolColumns(im2col(x_s, table), { rows: table.rows, cols: P });
      assertEquals(max.subarray(s * P, (s + 1) * P), ref.max);
      for (let p = 0; p < P; p++) {
        assertEquals(route[s * P + p], s * H * W + table.indices[ref.argmax[p] * P + p]);
      }
    }
  }
});

Deno.test("maxPoolTable: NaN wins its window wherever it is, ties go first, ±Infinity exact", () => {
  const table = tables({ channels: 1, height: 1, width: 4, kernel: [1, 4] });
  const max = new Float64Array(1), route = new Int32Array(1);
  for (
    const [x, m, r] of [
      [[1, NaN, 3, 2], NaN, 1],
      [[NaN, 5, 3, 2], NaN, 0],
      [[1, 5, 5, 2], 5, 1],
      [[-Infinity, -Infinity, -1e300, -Infinity], -1e300, 2],
      [[-Infinity, -Infinity, -Infinity, -Infinity], -Infinity, 0],
      [[1, Infinity, 3, Infinity], Infinity, 1],
    ] as [number[], number, number][]
  ) {
    maxPoolTable(new Float64Array(x), table, { max, route });
    assertEquals([max[0], route[0]], [m, r], JSON.stringify(x));
  }
});

Deno.test("maxPoolTable: every 2×2 window over 7 special values agrees with maxPoolColumns", () => {
  // 7⁴ = 2401 windows, all orderings, ties, NaNs and infinities in every position: the 4-cell
  // path (pairwise comparisons, NaN windows by the sequential rule) must pick the same cell as
  // the sequential definition.
  const vals = [NaN, -Infinity, -1, 0, 1, 1, Infinity]; // 1 twice: more ties
  const S = vals.length ** 4;
  const x = new Float64Array(S * 4);
  for (let s = 0; s < S; s++) {
    for (let r = 0, q = s; r < 4; r++, q = Math.floor(q / vals.length)) {
      x[s * 4 + r] = vals[q % vals.length];
    }
  }
  const table = tables({ channels: 1, height: 2, width: 2, kernel: [2, 2] });
  const max = new Float64Array(S), route = new Int32Array(S);
  maxPoolTable(x, table, { max, route });
  for (let s = 0; s < S; s++) {
    const x_s = x.subarray(s * 4, s * 4 + 4);
    const ref = maxPoolColumns(im2col(x_s, table), { rows: 4, cols: 1 });
    const want = s * 4 + table.indices[ref.argmax[0]];
    assertEquals(route[s], want, `window ${Array.from(x_s)}`);
    assertEquals(max[s], ref.max[0]);
  }
});

// The WebAssembly SIMD path (kernels/fast/max_pool_simd.ts, max_pool_simd.wat): float32 x and a 2×2
// table with stride 2. It must give the TypeScript path's answers bit for bit, so every check
// below compares bits (a -0 for a 0, or another cell of a tie, would fail).

/** maxPoolTable on a float32 2×2/2 pool three ways: SIMD, the TypeScript path on the same
 * float32 data, and the TypeScript path on a float64 copy; asserts all agree bit for bit. */
function checkSimdPool(x: Float32Array, S: number, H: number, W: number, what: string): void {
  const table = tables({ channels: 1, height: H, width: W, kernel: [2, 2], stride: [2, 2] });
  const n = S * table.cols;
  const simd = { max: new Float32Array(n), route: new Int32Array(n) };
  const ts = { max: new Float32Array(n), route: new Int32Array(n) };
  const ts64 = { max: new Float64Array(n), route: new Int32Array(n) };
  assert(maxPoolSimdAvailable(), "WebAssembly SIMD runs in Deno: the SIMD path must be tested");
  assertEquals(maxPoolKernel(table, tapOffsets(table), true), "simd");
  maxPoolTable(x, table, simd);
  // the maxima alone (no route: the kernel's max2x2), SIMD and TypeScript
  const simdMaxOnly = new Float32Array(n).fill(NaN), tsMaxOnly = new Float32Array(n).fill(NaN);
  maxPoolTable(x, table, { max: simdMaxOnly });
  forceKernels({ maxPool: "four" });
  try {
    assertEquals(maxPoolKernel(table, tapOffsets(table), true), "four");
    maxPoolTable(x, table, ts);
    maxPoolTable(x, table, { max: tsMaxOnly });
  } finally {
    forceKernels(null);
  }
  maxPoolTable(Float64Array.from(x), table, ts64);
  const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
  const b = bits(simd.max), bt = bits(ts.max), b64 = bits(Float32Array.from(ts64.max));
  const bm = bits(simdMaxOnly), btm = bits(tsMaxOnly);
  for (let i = 0; i < n; i++) {
    if (
      b[i] !== bt[i] || b[i] !== b64[i] || b[i] !== bm[i] || b[i] !== btm[i] ||
      simd.route[i] !== ts.route[i]
    ) {
      throw new Error(
        `${what} [${S},${H},${W}], output ${i}: SIMD ${simd.max[i]} at ${simd.route[i]}, ` +
          `TypeScript ${ts.max[i]} at ${ts.route[i]}, maxima only ${simdMaxOnly[i]} (SIMD) ` +
          `${tsMaxOnly[i]} (TypeScript)`,
      );
    }
  }
  assertEquals(simd.route, ts64.route, what);
}

/** Random float32 images: uniform in [-1, 1), or (ties, NaN, ±Infinity, ±0 everywhere) drawn
 * from a few special values. */
function poolInput(rng: () => number, len: number, special: boolean): Float32Array {
  if (!special) return randomArray(rng, len, Float32Array);
  const vals = [NaN, -Infinity, -2, -0, 0, 0, 1, 1, 2, Infinity];
  const x = new Float32Array(len);
  for (let i = 0; i < len; i++) x[i] = vals[Math.floor(rng() * vals.length)];
  return x;
}

Deno.test("maxPoolTable float32 2×2/2, SIMD: the TypeScript path's bits (300 geometries)", () => {
  // First SIMD test of the file (each test file runs in its own isolate): the module's memory
  // starts at one 64 KiB page. H, W odd or even (the last row/column not read), Wo = 1..20: not
  // a multiple of 4 (the row's last group overlaps the previous one) and below 4 (one group
  // reading past the row), S = 1 included.
  const rng = rngFor(31);
  for (let trial = 0; trial < 300; trial++) {
    const S = randInt(rng, 1, 4), H = randInt(rng, 2, 19), W = randInt(rng, 2, 41);
    checkSimdPool(poolInput(rng, S * H * W, trial % 2 === 1), S, H, W, `trial ${trial}`);
  }
});

Deno.test("maxPoolTable float32 2×2/2, SIMD: many blocks, a growing memory, row bands", () => {
  // The driver copies blocks of 128 KiB of x: W4's 1280 maps are 23 blocks of 56 images; an image
  // larger than a block goes in bands of rows (257×255: 2 bands; 5×40001: one row pair, itself
  // larger than a block, per band, which grows the memory); then small again in the grown memory.
  const rng = rngFor(32);
  const shapes = [[1280, 24, 24], [300, 13, 27], [2, 257, 255], [1, 5, 40001], [3, 3, 20000]];
  for (const [S, H, W] of [...shapes, [7, 6, 6]]) {
    for (const special of [false, true]) {
      checkSimdPool(poolInput(rng, S * H * W, special), S, H, W, `special ${special}`);
    }
  }
});

Deno.test("maxPoolTable float32 2×2/2, SIMD: every window over 8 special values", () => {
  // 8⁴ = 4096 windows, every ordering of NaN, ±Infinity, ±0 (equal, different bits) and ties, in
  // every tap, laid out as rows of Wo = 1 (one group reading past each row), 5 (an overlapping
  // last group) and 4096 windows; each checked against the sequential definition,
  // maxPoolColumns, on its own 4 cells.
  const vals = [NaN, -Infinity, -1, -0, 0, 1, 1, Infinity];
  const windows = vals.length ** 4;
  for (const Wo of [1, 5, 4096]) {
    const S = Math.ceil(windows / Wo), W = 2 * Wo, H = 2;
    const x = new Float32Array(S * H * W);
    for (let k = 0; k < S * Wo; k++) {
      const s = Math.floor(k / Wo), ow = k % Wo, c = s * H * W + 2 * ow;
      for (let r = 0, q = k % windows; r < 4; r++, q = Math.floor(q / vals.length)) {
        x[c + (r >> 1) * W + (r & 1)] = vals[q % vals.length];
      }
    }
    const table = tables({ channels: 1, height: H, width: W, kernel: [2, 2], stride: [2, 2] });
    const max = new Float32Array(S * Wo), route = new Int32Array(S * Wo);
    maxPoolTable(x, table, { max, route });
    const maxBits = new Uint32Array(max.buffer);
    // the maxima-only kernel (pmax, and the exact rule for groups with a NaN past tap 0)
    const alone = new Float32Array(S * Wo);
    maxPoolTable(x, table, { max: alone });
    assertEquals(new Uint32Array(alone.buffer), maxBits, `Wo ${Wo}: maxima only`);
    for (let k = 0; k < S * Wo; k++) {
      const c = Math.floor(k / Wo) * H * W + 2 * (k % Wo), taps = [c, c + 1, c + W, c + W + 1];
      const cells = Float32Array.from(taps, (i) => x[i]);
      const ref = maxPoolColumns(cells, { rows: 4, cols: 1 });
      const want = `${taps[ref.argmax[0]]} ${new Uint32Array(ref.max.buffer)[0]}`;
      assertEquals(`${route[k]} ${maxBits[k]}`, want, `Wo ${Wo}, window [${Array.from(cells)}]`);
    }
  }
});

Deno.test("maxPoolTable float32: 4-tap tables other than 2×2/2 take the TypeScript path", () => {
  // [1,4], [4,1], 2×2 with strides 1 or 3 or unequal: the SIMD kernel must not take them (its
  // windows would be the wrong ones); the results equal im2col + maxPoolColumns. 2×2/2 last, the
  // one the SIMD kernel does take, against the same reference.
  const rng = rngFor(33);
  const geoms: [number, number, number, number][] = [
    [1, 4, 1, 4],
    [4, 1, 4, 1],
    [2, 2, 1, 1],
    [2, 2, 3, 3],
    [2, 2, 2, 1],
    [2, 2, 1, 2],
    [2, 2, 2, 2],
  ];
  for (const [kh, kw, sh, sw] of geoms) {
    const S = 3, H = randInt(rng, 4, 12), W = randInt(rng, 4, 12);
    const table = tables({
      channels: 1,
      height: H,
      width: W,
      kernel: [kh, kw],
      stride: [sh, sw],
    });
    const x = poolInput(rng, S * H * W, true), P = table.cols;
    const max = new Float32Array(S * P), route = new Int32Array(S * P);
    const simd = kh === 2 && kw === 2 && sh === 2 && sw === 2 ? "simd" : "four";
    assertEquals(
      maxPoolKernel(table, tapOffsets(table), true),
      simd,
      `[${kh},${kw}]/[${sh},${sw}]`,
    );
    maxPoolTable(x, table, { max, route });
    for (let s = 0; s < S; s++) {
      const x_s = x.subarray(s * H * W, (s + 1) * H * W);
      const ref = maxPoolColumns(im2col(x_s, table), { rows: 4, cols: P });
      assertEquals(max.subarray(s * P, (s + 1) * P), ref.max, `[${kh},${kw}]/[${sh},${sw}]`);
      for (let p = 0; p < P; p++) {
        assertEquals(route[s * P + p], s * H * W + table.indices[ref.argmax[p] * P + p]);
      }
    }
  }
});

Deno.test("maxPoolTable float64 2×2/2 keeps float64 (not the float32 SIMD kernel)", () => {
  // (and any window size goes to the general kernel, which agrees: forced here on a 2×2)
  // 1 and 1 + 2⁻⁴⁰ are one float32: a float32 kernel would call it a tie and pick the first.
  const table = tables({ channels: 1, height: 2, width: 8, kernel: [2, 2], stride: [2, 2] });
  const x = new Float64Array(16).fill(1);
  x[9] = 1 + 2 ** -40; // window 0, bottom right
  const max = new Float64Array(4), route = new Int32Array(4);
  maxPoolTable(x, table, { max, route });
  assertEquals(Array.from(max), [1 + 2 ** -40, 1, 1, 1]);
  assertEquals(Array.from(route), [9, 2, 4, 6]);
});

Deno.test("maxPoolTable: the general kernel forced on 4-tap windows gives the 4-tap kernel's bits", () => {
  const rng = rngFor(34);
  for (let trial = 0; trial < 50; trial++) {
    const S = randInt(rng, 1, 4), H = randInt(rng, 2, 12), W = randInt(rng, 2, 12);
    const table = tables({ channels: 1, height: H, width: W, kernel: [2, 2], stride: [1, 2] });
    const x = poolInput(rng, S * H * W, trial % 2 === 0), n = S * table.cols;
    const four = { max: new Float32Array(n), route: new Int32Array(n) };
    const any = { max: new Float32Array(n), route: new Int32Array(n) };
    maxPoolTable(x, table, four);
    forceKernels({ maxPool: "any" });
    try {
      maxPoolTable(x, table, any);
    } finally {
      forceKernels(null);
    }
    assertEquals(new Uint32Array(any.max.buffer), new Uint32Array(four.max.buffer));
    assertEquals(any.route, four.route);
  }
});

// The padded kernel (maxPoolPadded, which dispatch.ts runs for every pool with padding): each
// window clipped to the image gives the reference's winners, the padding read as −∞ and the
// window's first cell of x taking a tie with it.

/** The reference's winners of one image through a padded table: im2col with −∞ in the padding,
 * maxPoolColumns, and a tie with the padding moved to the window's first cell of x. */
function paddedReference(
  x_s: Float64Array,
  table: FastTable,
): { max: Float64Array; arg: number[] } {
  const idx = table.indices, P = table.cols;
  const x_col = im2col(x_s, table).map((v, t) => idx[t] < 0 ? -Infinity : v);
  const { max, argmax } = maxPoolColumns(x_col, { rows: table.rows, cols: P });
  const arg = Array.from(argmax, (r, p) => {
    while (idx[r * P + p] < 0) r++;
    return idx[r * P + p];
  });
  return { max, arg };
}

Deno.test("maxPoolPadded equals the −∞-padded im2col + maxPoolColumns (300 random geometries)", () => {
  const rng = rngFor(35);
  const vals = [NaN, -Infinity, -Infinity, -1, -0, 0, 1, Infinity];
  for (let trial = 0; trial < 300; trial++) {
    const S = randInt(rng, 1, 3), H = randInt(rng, 1, 9), W = randInt(rng, 1, 9);
    const kh = randInt(rng, 1, 6), kw = randInt(rng, 1, 6);
    const padding: [number, number] = [randInt(rng, 0, kh >> 1), randInt(rng, 0, kw >> 1)];
    if (kh > H + 2 * padding[0] || kw > W + 2 * padding[1]) continue;
    const geometry = {
      channels: 1,
      height: H,
      width: W,
      kernel: [kh, kw] as [number, number],
      stride: [randInt(rng, 1, 3), randInt(rng, 1, 3)] as [number, number],
      padding,
    };
    const table = fastTable(geometry), P = table.cols;
    const x = trial % 2 === 0
      ? randomArray(rng, S * H * W, Float64Array)
      : Float64Array.from({ length: S * H * W }, () => vals[Math.floor(rng() * vals.length)]);
    const max = new Float64Array(S * P), route = new Int32Array(S * P);
    runMaxPool({ x, table, geometry, slices: S, max, route }, (n) => new Int32Array(n));
    const alone = new Float64Array(S * P);
    runMaxPool(
      { x, table, geometry, slices: S, max: alone, route: null },
      (n) => new Int32Array(n),
    );
    assertEquals(alone, max, `trial ${trial}: maxima only`);
    for (let s = 0; s < S; s++) {
      const ref = paddedReference(x.subarray(s * H * W, (s + 1) * H * W), table);
      assertEquals(max.subarray(s * P, (s + 1) * P), ref.max, `trial ${trial}`);
      assertEquals(
        Array.from(route.subarray(s * P, (s + 1) * P)),
        ref.arg.map((i) => s * H * W + i),
      );
    }
    const padded = padding[0] + padding[1] > 0;
    assertEquals(maxPoolKernel(table, tapOffsets(table), false, padded) === "padded", padded);
  }
});

Deno.test("maxPoolPadded forced on unpadded tables gives the other kernels' bits", () => {
  const rng = rngFor(36);
  for (let trial = 0; trial < 100; trial++) {
    const S = randInt(rng, 1, 3), H = randInt(rng, 2, 12), W = randInt(rng, 2, 12);
    const geometry = {
      channels: 1,
      height: H,
      width: W,
      kernel: [randInt(rng, 1, H), randInt(rng, 1, W)] as [number, number],
      stride: [randInt(rng, 1, 3), randInt(rng, 1, 3)] as [number, number],
    };
    if (trial % 3 === 0) [geometry.kernel, geometry.stride] = [[2, 2], [2, 2]]; // the SIMD one
    const table = fastTable(geometry), n = S * table.cols;
    const x = poolInput(rng, S * H * W, trial % 2 === 0);
    const chosen = { max: new Float32Array(n), route: new Int32Array(n) };
    const padded = { max: new Float32Array(n), route: new Int32Array(n) };
    runMaxPool({ x, table, geometry, slices: S, ...chosen }, (m) => new Int32Array(m));
    forceKernels({ maxPool: "padded" });
    try {
      assertEquals(maxPoolKernel(table, tapOffsets(table), true), "padded");
      runMaxPool({ x, table, geometry, slices: S, ...padded }, (m) => new Int32Array(m));
    } finally {
      forceKernels(null);
    }
    assertEquals(new Uint32Array(padded.max.buffer), new Uint32Array(chosen.max.buffer));
    assertEquals(padded.route, chosen.route);
  }
});
