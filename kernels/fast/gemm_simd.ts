/**
 * The WebAssembly SIMD GEMM for Float32Array: the fast backend's kernel for float32 products.
 *
 * The compute kernel is one of two WebAssembly modules: kernels/gemm_simd_fma.wat (5×8 tiles,
 * relaxed SIMD's fused multiply-add) where the runtime accepts relaxed SIMD (Deno, Chrome 114+,
 * Node 22+), else kernels/gemm_simd.wat (3×8 tiles, SIMD128 mul and add: Node 20, older
 * browsers). The FMA kernel is 15–25% faster here (measurements in its header). This file is
 * their driver: the same cache blocking as the TypeScript path, writing the blocks of op(A) and
 * op(B) straight into the module's memory in the order the kernel reads them. Which of the two
 * modules runs, and when SIMD runs at all, is decided in dispatch.ts.
 *
 * Memory. WebAssembly code can only touch its own linear memory, so every call copies in and out.
 * Copy-in: each block of op(A) is packed (kernels/fast/gemm_pack.ts), or copied with one memcpy
 * from the panels `packOpA` made once; each block of op(B) is copied with one memcpy when it is a
 * contiguous range of B, row by row when B's rows are contiguous and long, or packed otherwise;
 * each C block is copied in only when its old value is needed (beta ≠ 0, or a later k block
 * adding to the earlier ones). Copy-out: each C block after the kernel has written it. C blocks
 * spanning C's whole width are one memcpy each way, others one per row. The memory holds one
 * block of each at a time, laid out as
 *
 *     [ A block: mc·kc | B block: kc·ldb or kc·nc | C block: mc·nc ]   float32, 64-byte aligned
 *
 * so its size is bounded by the block sizes below (about 2.2 MiB), whatever the problem size. It
 * is grown on demand (a grow detaches the old ArrayBuffer, so the Float32Array view is remade)
 * and then reused by every later call: nothing accumulates across calls. The state kept between
 * calls is the module instance and which packed A its memory holds (docs/architecture.md).
 *
 * @module
 */

import type { GemmProblem } from "../_gemm_args.ts";
import { blockSize, packPanels } from "./gemm_pack.ts";
import { GEMM_SIMD_WASM_BASE64 } from "./gemm_simd_wasm.ts";
import { GEMM_SIMD_FMA_WASM_BASE64 } from "./gemm_simd_fma_wasm.ts";
import { growTo, instantiate, roundUp } from "./wasm.ts";

/** Tile width of both micro-kernels: 8 columns (2 f32x4 vectors). Their heights differ (mr). */
const NR = 8;

// Cache blocks, in float32 elements (4 bytes), for an L1 of 32–48 KiB and an L2 of 256 KiB–1 MiB:
// - KC = 512: while one tile is computed, its A micro-panel (KC·mr·4 = 6–10 KiB) and B micro-panel
//   (KC·NR·4 = 16 KiB packed; KC cache lines, shared with the next micro-panel, when B is copied
//   row by row) stay in L1. 512 rather than 256 halves the passes over C (each k block copies
//   the C block in and out; measured 2–5% faster), and the layer shapes' k (25, 500, 576, 800)
//   take one or two blocks.
// - MC = 63 or 65 (21 tiles of 3 rows, 13 of 5): the packed A block (MC·KC·4 = 126 KiB) stays
//   in L2 (half of a 256 KiB L2) while the kernel sweeps the B micro-panels across it. 126
//   measured the same here.
// - NC = 512: the B block (KC·NC·4 = 1 MiB) is reused by every A block, from L2 or L3; the C
//   block is MC·NC·4 = 126 KiB.
// Each extent is split into equal blocks (blockSize: k = 576 → two of 288, not 512 + 64), so no
// block is a sliver.
const KC = 512, NC = 512;

/** Widest B block when k is short (the B block stays under KC·NC floats; the C block under
 * MC·NC_WIDE floats, 504 KiB). */
const NC_WIDE = 2048;

/** The largest packed A kept whole in the memory between calls (floats; 4 MiB). */
const RESIDENT_A_MAX = 1 << 20;

/** B blocks at least this wide are copied row by row instead of packed (see gemmSimd). */
const ROW_COPY_MIN = 96;

/** One instantiated micro-kernel module and its memory. */
export interface SimdKernel {
  /** Which module: "fma" (gemm_simd_fma.wat) or "plain" (gemm_simd.wat). */
  name: SimdKernelName;
  /** Tile height: rows of C per micro-kernel call (5 or 3), the height of A's panels. */
  mr: number;
  /** Rows of A per cache block (MC above): a multiple of mr near 64. */
  mc: number;
  memory: WebAssembly.Memory;
  /** Float32 view of `memory`; remade after every grow. */
  f32: Float32Array;
  /** The version of the packed A (from packOpA) whose panels are in the memory's A region now, or
   * 0. Every packOpA call gets a new version, even when it reuses storage. */
  residentA: number;
  /** gemm_simd.wat's `block`: C = alpha·Ap·Bp + beta·C on one block (byte addresses). */
  block: (
    mc: number,
    nc: number,
    kc: number,
    pa: number,
    pb: number,
    bstep: number,
    bpanel: number,
    c: number,
    ldc: number,
    alpha: number,
    beta: number,
  ) => void;
}

/** The two micro-kernels, fastest first. */
export type SimdKernelName = "fma" | "plain";

const MODULES: readonly { name: SimdKernelName; base64: string; mr: number; mc: number }[] = [
  { name: "fma", base64: GEMM_SIMD_FMA_WASM_BASE64, mr: 5, mc: 65 },
  { name: "plain", base64: GEMM_SIMD_WASM_BASE64, mr: 3, mc: 63 },
];

/** Each module instantiated once, or null where this runtime rejects it. */
const loaded = new Map<SimdKernelName, SimdKernel | null>();

/**
 * One micro-kernel module, instantiated on first use; null where this runtime cannot run it
 * (validating the module is the feature test: Node 20 rejects the FMA module's relaxed SIMD, a
 * runtime without SIMD128 both).
 *
 * @param name "fma" (5×8 tiles, relaxed SIMD fused multiply-add) or "plain" (3×8, SIMD128).
 * @returns The kernel, or null.
 *
 * @example
 * ```ts
 * import { simdKernel } from "./gemm_simd.ts";
 * const k = simdKernel("plain");
 * console.assert(k === null || k.mr === 3);
 * ```
 */
export function simdKernel(name: SimdKernelName): SimdKernel | null {
  if (loaded.has(name)) return loaded.get(name)!;
  const spec = MODULES.find((m) => m.name === name)!;
  const m = instantiate(spec.base64);
  const kern: SimdKernel | null = m === null ? null : {
    name,
    mr: spec.mr,
    mc: spec.mc,
    memory: m.memory,
    f32: new Float32Array(m.memory.buffer),
    residentA: 0,
    block: m.exports.block as SimdKernel["block"],
  };
  loaded.set(name, kern);
  return kern;
}

/**
 * C = alpha·op(A)·op(B) + beta·C in float32 on a WebAssembly SIMD micro-kernel. The problem is
 * trusted (gemmArgs has checked it; m, n, k ≥ 1).
 *
 * Sums are accumulated in float32 (f32x4 lanes, k-step order), so results differ from the
 * float64-summing TypeScript paths by float32 rounding, within the usual k·ε bound. alpha and
 * beta are rounded to float32.
 *
 * @param kern The micro-kernel (dispatch.ts chooses it).
 * @param problem The product; its arrays are Float32Array.
 * @param aPacked op(A) already packed by {@link packOpA} with the same m and k for this kernel
 *   (then `a`, rsA and csA are not read), or null to pack it here.
 * @returns Nothing; `problem.c` holds the result.
 * @throws {RangeError} If the module's memory cannot grow to the blocks' size.
 *
 * @example A 2×2 product
 * ```ts
 * import { gemmSimd, simdKernel } from "./gemm_simd.ts";
 * import { assertEquals } from "@std/assert";
 * const kern = simdKernel("fma") ?? simdKernel("plain");
 * if (kern !== null) {
 *   const a = new Float32Array([1, 2, 3, 4]), b = new Float32Array([5, 6, 7, 8]);
 *   const c = new Float32Array(4);
 *   gemmSimd(kern, { a, rsA: 2, csA: 1, b, rsB: 2, csB: 1, m: 2, n: 2, k: 2, alpha: 1, beta: 0, c });
 *   assertEquals(Array.from(c), [19, 22, 43, 50]);
 * }
 * ```
 */
export function gemmSimd(
  kern: SimdKernel,
  problem: GemmProblem<Float32Array>,
  aPacked: PackedPanels | null = null,
): void {
  const { a, rsA, csA, b, rsB, csB, m, n, k, alpha, beta, c } = problem;
  const MR = kern.mr, mcMax = blockSize(m, kern.mc, MR), kcMax = blockSize(k, KC, 1);
  // NC bounds the B block (kc·nc floats, reused by every A block from L2/L3); when k is short
  // the same budget holds more columns, so n is not split needlessly (conv1 [20,25]·[25,576]:
  // one block of 576 instead of two of 288, half the calls and row copies).
  const ncWide = Math.min(NC_WIDE, Math.max(NC, roundUp(Math.floor(KC * NC / kcMax), NR)));
  const ncMax = blockSize(n, ncWide, NR);
  // How op(B) goes into the memory (the two layouts of gemm_simd.wat's header):
  // - B not transposed and the block is B's whole width (n ≤ ncMax): its kc rows are one
  //   contiguous range of B, copied with a single TypedArray.set (a memcpy) and read in place,
  //   rows n floats apart. Used when n is small (the micro-panel's kc lines then stay few
  //   hundred bytes apart, measured as fast as packed: conv2 [50,500]·[500,64] 17 µs of packing
  //   become 1 µs) or already the padded stride below.
  // - B not transposed and long rows: each row of the block is copied as it is, one
  //   TypedArray.set per k step, into rows ldb floats apart. ldb is an odd number of 64-byte
  //   cache lines: with a power-of-two stride (nc = 512: 2 KiB) the kc rows that one
  //   micro-panel touches would all fall in the same few L1 sets and evict each other (measured
  //   29 vs 41 GFLOP/s at kc = 512); padded, it runs as fast as the packed layout.
  // - otherwise (B transposed, or rows too short to pay for one TypedArray.set call each, about
  //   30 ns: packing costs ~0.5 ns per value, so it wins below ~96 columns): the 8 values of a
  //   k step are gathered once into packed micro-panels (kernels/fast/gemm_pack.ts).
  let ldb = roundUp(ncMax, 16);
  if ((ldb / 16) % 2 === 0) ldb += 16;
  const wholeB = csB === 1 && rsB === n && ncMax >= n && (n < ROW_COPY_MIN || n === ldb);
  if (wholeB) ldb = n;
  const rowMajorB = wholeB || (csB === 1 && ncMax >= ROW_COPY_MIN);
  // Layout of the memory for this call (float32 indices; ×4 for byte addresses). Each region
  // starts on a 64-byte boundary. The B region has NR floats of slack: in the whole-B layout
  // the last row's padding columns (n not a multiple of 8) are read past the block; those
  // stale values reach only C's padding columns, which are never copied out.
  const mPad = roundUp(m, MR); // rows of op(A) in aPacked (see packOpA)
  // Panels packed for the other kernel have the wrong height: pack here.
  const panels = aPacked !== null && aPacked.mr === MR ? aPacked.data : null;
  // A packed once (a layer's weights, one product per sample) is copied into the memory whole,
  // at its own offsets, and stays there for the next call with the same panels: conv2's
  // [50,500] weights are 98 KiB that 64 samples would otherwise copy 64 times. Any other call
  // overwrites the A region, so residency is tracked per module.
  const wholeA = panels !== null && mPad * k <= RESIDENT_A_MAX;
  const pa = 0, pb = roundUp(pa + (wholeA ? mPad * k : mcMax * kcMax), 16);
  const pc = roundUp(pb + kcMax * (rowMajorB ? ldb : ncMax) + NR, 16);
  const end = pc + mcMax * ncMax;
  if (!growTo(kern.memory, end * 4)) {
    throw new RangeError(`gemm: the WebAssembly memory cannot grow to ${end * 4} bytes`);
  }
  if (kern.f32.buffer !== kern.memory.buffer) kern.f32 = new Float32Array(kern.memory.buffer);
  const f32 = kern.f32, block = kern.block;
  if (!wholeA) kern.residentA = 0;
  else if (kern.residentA !== aPacked!.version) {
    f32.set(panels, pa);
    kern.residentA = aPacked!.version;
  }
  // When one A block spans all of m, the C block stays in the memory from one k block to the
  // next: copied in once (if beta ≠ 0) and out once, instead of once per k block.
  const oneA = mcMax >= m;
  // jc: one column panel of C and op(B) at a time (ncMax wide), so the copied B block is
  // bounded and reused by every A block below it.
  for (let jc = 0; jc < n; jc += ncMax) {
    const nc = Math.min(ncMax, n - jc), ncPad = roundUp(nc, NR);
    // When the panel is all of C's width and needs no padding columns, a C block is one
    // contiguous range of C: copied in and out with one TypedArray.set instead of one per row.
    const wholeC = nc === n && ncPad === n;
    // pc: one k block at a time (KC deep), so a B micro-panel fits L1; the first writes beta·C,
    // the next ones add to it.
    for (let p0 = 0; p0 < k; p0 += kcMax) {
      const kc = Math.min(kcMax, k - p0);
      if (wholeB) {
        f32.set(b.subarray(p0 * rsB, (p0 + kc) * rsB), pb);
      } else if (rowMajorB) {
        // p: one row of the op(B) block per k step, a memcpy each.
        for (let p = 0, s = p0 * rsB + jc, d = pb; p < kc; p++, s += rsB, d += ldb) {
          f32.set(b.subarray(s, s + nc), d);
        }
      } else {
        packPanels(f32, pb, b, p0 * rsB + jc * csB, csB, rsB, nc, kc, NR);
      }
      const bstep = rowMajorB ? ldb * 4 : NR * 4, bpanel = rowMajorB ? NR * 4 : kc * NR * 4;
      const bt = p0 === 0 ? beta : 1;
      // ic: one row block of op(A) at a time (MC tall), kept in L2 for the kernel: packed now,
      // or copied from the panels packOpA made (block (p0, ic) starts at p0·mPad + ic·kc).
      for (let ic = 0; ic < m; ic += mcMax) {
        const mc = Math.min(mcMax, m - ic), mcPad = roundUp(mc, MR);
        let ablock = pa; // where the kernel reads this A block
        if (wholeA) {
          ablock = pa + p0 * mPad + ic * kc;
        } else if (panels !== null) {
          const o = p0 * mPad + ic * kc;
          f32.set(panels.subarray(o, o + mcPad * kc), pa);
        } else {
          packPanels(f32, pa, a, ic * rsA + p0 * csA, rsA, csA, mc, kc, MR);
        }
        // Copy-in of C only when the kernel will read it; the C block's row stride is ncPad, and
        // its padding rows/columns are scratch that is never copied out.
        if (bt !== 0 && (p0 === 0 || !oneA)) {
          if (wholeC) f32.set(c.subarray(ic * n, (ic + mc) * n), pc);
          else {
            for (let i = 0, s = ic * n + jc, d = pc; i < mc; i++, s += n, d += ncPad) {
              f32.set(c.subarray(s, s + nc), d);
            }
          }
        }
        block(mcPad, ncPad, kc, ablock * 4, pb * 4, bstep, bpanel, pc * 4, ncPad, alpha, bt);
        // Copy-out: the mc×nc live part of the C block (with oneA, after the last k block).
        if (oneA && p0 + kc < k) continue;
        if (wholeC) c.set(f32.subarray(pc, pc + mc * n), ic * n);
        else {
          for (let i = 0, s = pc, d = ic * n + jc; i < mc; i++, s += ncPad, d += n) {
            c.set(f32.subarray(s, s + nc), d);
          }
        }
      }
    }
  }
}

/** op(A) packed by {@link packOpA}: the panels and the tile height they were packed for. */
export interface PackedPanels {
  /** The panels, mPad·k floats (mPad = m rounded up to mr). */
  readonly data: Float32Array;
  /** Rows per panel: the micro-kernel's tile height at packing time. */
  readonly mr: number;
  /** A number no other packing has: what the module's memory records as resident. */
  readonly version: number;
}

/** The last version handed out by packOpA. */
let lastVersion = 0;

/**
 * Packs the whole op(A) [m, k] in the order {@link gemmSimd} reads it, for its `aPacked`
 * argument: for each k block (p0 = 0, kc, 2·kc, ...), each m block's panels as packPanels lays
 * them out, block (p0, ic) at offset p0·mPad + ic·kc, where mPad = m rounded up to the tile
 * height mr of the kernel in use. The blocking depends on m and k only, so the same panels serve
 * every n.
 *
 * @param kern The micro-kernel whose tile height the panels are for.
 * @param a A's data.
 * @param rsA Distance between rows of op(A).
 * @param csA Distance between columns of op(A).
 * @param m Rows of op(A), at least 1.
 * @param k Columns of op(A), at least 1.
 * @param into Storage to pack into when its length is mPad·k (earlier panels of the same shape,
 *   no longer used), instead of a new array: a fresh 100 KiB array costs more in page faults
 *   than the packing itself. Default: a new array.
 * @returns The panels (mPad·k floats), their tile height and a new version, in a new object.
 *
 * @example The panels of a 2×2 matrix, as the driver reads them
 * ```ts
 * import { gemmSimd, packOpA, simdKernel } from "./gemm_simd.ts";
 * import { assertEquals } from "@std/assert";
 * const kern = simdKernel("fma") ?? simdKernel("plain");
 * if (kern !== null) {
 *   const a = new Float32Array([1, 2, 3, 4]);
 *   const panels = packOpA(kern, a, 2, 1, 2, 2);
 *   // one panel of mr rows, zero-padded: k step 0 is column 0 of A, then step 1
 *   const zeros = new Array(panels.mr - 2).fill(0);
 *   assertEquals(Array.from(panels.data), [1, 3, ...zeros, 2, 4, ...zeros]);
 *   const c = new Float32Array(4);
 *   const b = new Float32Array([5, 6, 7, 8]);
 *   gemmSimd(kern, { a, rsA: 2, csA: 1, b, rsB: 2, csB: 1, m: 2, n: 2, k: 2, alpha: 1, beta: 0, c }, panels);
 *   assertEquals(Array.from(c), [19, 22, 43, 50]);
 * }
 * ```
 */
export function packOpA(
  kern: SimdKernel,
  a: Float32Array,
  rsA: number,
  csA: number,
  m: number,
  k: number,
  into?: Float32Array,
): PackedPanels {
  const MR = kern.mr;
  const mcMax = blockSize(m, kern.mc, MR), kcMax = blockSize(k, KC, 1), mPad = roundUp(m, MR);
  const out = into?.length === mPad * k ? into : new Float32Array(mPad * k);
  // The same two loops as gemmSimd's pc and ic, so the offsets match.
  for (let p0 = 0; p0 < k; p0 += kcMax) {
    const kc = Math.min(kcMax, k - p0);
    for (let ic = 0; ic < m; ic += mcMax) {
      const mc = Math.min(mcMax, m - ic);
      packPanels(out, p0 * mPad + ic * kc, a, ic * rsA + p0 * csA, rsA, csA, mc, kc, MR);
    }
  }
  return { data: out, mr: MR, version: ++lastVersion };
}
