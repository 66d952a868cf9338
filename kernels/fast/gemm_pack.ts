/**
 * Packing for the blocked GEMM (shared by kernels/fast/gemm_blocked.ts, gemm_simd.ts and conv_simd.ts).
 *
 * A micro-kernel that computes an `r`×`s` tile of C walks k one step at a time and, at each
 * step, needs `r` values of op(A) (one column of the tile's rows) and `s` values of op(B) (one row
 * of the tile's columns). Packing copies a cache-sized block of op(A) or op(B) once into exactly
 * that order, so the micro-kernel then reads both operands sequentially, with no stride, no
 * transpose and no edge test:
 *
 *     block X [rows, cols], element [i, p] = data[offset + i*rowStride + p*colStride]
 *     packed  [ceil(rows/r), cols, r]: panel q holds rows q*r .. q*r+r-1, interleaved by p
 *
 * op(A) [m, k] is packed as X directly; op(B) [k, n] is packed as its transpose op(B)ᵀ [n, k], so
 * the same routine serves both. A transpose costs nothing: it only swaps the two strides. The
 * last panel is padded with zero rows; those rows only produce C entries outside the matrix,
 * which are never stored, so a NaN or Inf in the data still reaches every C entry it should.
 *
 * @module
 */

import type { FloatArray } from "../../tensor.ts";

/**
 * Packs the block X[rows, cols] of a strided matrix into panels of `r` rows (layout in the
 * module comment), zero-padding the last panel to `r` rows.
 *
 * Private: positional arguments because it is called once per cache block from the blocked
 * drivers, which already hold every number.
 *
 * @param dst Where the panels go: `ceil(rows / r) * r * cols` values from `dstOffset`.
 * @param dstOffset First index written in `dst`.
 * @param src The stored matrix.
 * @param offset Index in `src` of X[0, 0].
 * @param rowStride Distance in `src` between X[i, p] and X[i + 1, p].
 * @param colStride Distance in `src` between X[i, p] and X[i, p + 1].
 * @param rows Rows of the block (the m or n extent).
 * @param cols Columns of the block (the k extent).
 * @param r Rows per panel: the micro-kernel's tile height (op(A)) or width (op(B)).
 * @returns Nothing; `dst` is filled.
 *
 * @example Packing a 3×2 block into panels of 2 rows (the third row is padded with zeros)
 * ```ts
 * import { packPanels } from "./gemm_pack.ts";
 * import { assertEquals } from "@std/assert";
 * // X = [[1, 2], [3, 4], [5, 6]] stored row-major
 * const x = new Float64Array([1, 2, 3, 4, 5, 6]);
 * const dst = new Float64Array(8);
 * packPanels(dst, 0, x, 0, 2, 1, 3, 2, 2);
 * // panel 0: p=0 -> rows 0,1; p=1 -> rows 0,1; panel 1: row 2 and a zero row
 * assertEquals(Array.from(dst), [1, 3, 2, 4, 5, 0, 6, 0]);
 * // the same storage read as Xᵀ [2, 3] (strides swapped), one panel of 2 rows
 * packPanels(dst, 0, x, 0, 1, 2, 2, 3, 2);
 * assertEquals(Array.from(dst.subarray(0, 6)), [1, 2, 3, 4, 5, 6]);
 * ```
 */
export function packPanels(
  dst: FloatArray,
  dstOffset: number,
  src: FloatArray,
  offset: number,
  rowStride: number,
  colStride: number,
  rows: number,
  cols: number,
  r: number,
): void {
  let d = dstOffset;
  const full = rows - rows % r;
  // Full panels (i0 steps by r): each k step p emits the r values of one column of the panel,
  // contiguously; whichever stride is 1 makes the reads sequential across p or across i. The
  // tile sizes in use (3, 5 and 8 for SIMD, 4 for TypeScript) are unrolled: measured 2× faster
  // than the generic inner loop, and each call site then sees one destination array type.
  if (r === 3) {
    for (let i0 = 0; i0 < full; i0 += 3) {
      for (
        let p = 0, s = offset + i0 * rowStride;
        p < cols;
        p++, s += colStride, d += 3
      ) {
        dst[d] = src[s];
        dst[d + 1] = src[s + rowStride];
        dst[d + 2] = src[s + 2 * rowStride];
      }
    }
  } else if (r === 4) {
    for (let i0 = 0; i0 < full; i0 += 4) {
      for (
        let p = 0, s = offset + i0 * rowStride;
        p < cols;
        p++, s += colStride, d += 4
      ) {
        dst[d] = src[s];
        dst[d + 1] = src[s + rowStride];
        dst[d + 2] = src[s + 2 * rowStride];
        dst[d + 3] = src[s + 3 * rowStride];
      }
    }
  } else if (r === 5) {
    for (let i0 = 0; i0 < full; i0 += 5) {
      for (
        let p = 0, s = offset + i0 * rowStride;
        p < cols;
        p++, s += colStride, d += 5
      ) {
        dst[d] = src[s];
        dst[d + 1] = src[s + rowStride];
        dst[d + 2] = src[s + 2 * rowStride];
        dst[d + 3] = src[s + 3 * rowStride];
        dst[d + 4] = src[s + 4 * rowStride];
      }
    }
  } else if (r === 8) {
    for (let i0 = 0; i0 < full; i0 += 8) {
      for (
        let p = 0, s = offset + i0 * rowStride;
        p < cols;
        p++, s += colStride, d += 8
      ) {
        dst[d] = src[s];
        dst[d + 1] = src[s + rowStride];
        dst[d + 2] = src[s + 2 * rowStride];
        dst[d + 3] = src[s + 3 * rowStride];
        dst[d + 4] = src[s + 4 * rowStride];
        dst[d + 5] = src[s + 5 * rowStride];
        dst[d + 6] = src[s + 6 * rowStride];
        dst[d + 7] = src[s + 7 * rowStride];
      }
    }
  } else {
    for (let i0 = 0; i0 < full; i0 += r) {
      for (
        let p = 0, s0 = offset + i0 * rowStride;
        p < cols;
        p++, s0 += colStride
      ) {
        for (let i = 0, s = s0; i < r; i++, s += rowStride) dst[d++] = src[s];
      }
    }
  }
  // Last partial panel: the real rows, then zeros up to r.
  if (full < rows) {
    const live = rows - full, base = offset + full * rowStride;
    for (let p = 0, s0 = base; p < cols; p++, s0 += colStride) {
      let i = 0;
      for (let s = s0; i < live; i++, s += rowStride) dst[d++] = src[s];
      for (; i < r; i++) dst[d++] = 0;
    }
  }
}

/**
 * The block size for one loop of the blocked GEMM: `extent` is split into the fewest blocks of at
 * most `max`, all of (nearly) equal size, rounded up to a multiple of the tile `r`. So k = 576
 * with max 256 gives three blocks of 192, not 256 + 256 + 64: no block is a thin sliver that
 * would pay the packing and loop overhead of a full one.
 *
 * @param extent The dimension being blocked (m, n or k), at least 1.
 * @param max The largest block that fits its cache level.
 * @param r The tile size the block must be a multiple of (1 for k).
 * @returns The block size: at most `max` rounded up to `r`, at least `r`.
 *
 * @example
 * ```ts
 * import { blockSize } from "./gemm_pack.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(blockSize(576, 256, 1), 192);
 * assertEquals(blockSize(500, 512, 8), 504); // one block, padded to whole 8-column tiles
 * assertEquals(blockSize(20, 128, 4), 20);
 * ```
 */
export function blockSize(extent: number, max: number, r: number): number {
  return Math.ceil(Math.ceil(extent / Math.ceil(extent / max)) / r) * r;
}
