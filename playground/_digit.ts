/**
 * A drawn digit made into an MNIST image, the way the MNIST digits themselves were made (LeCun
 * et al.: "normalized to fit in a 20x20 pixel box while preserving their aspect ratio ... centered
 * in a 28x28 image by computing the center of mass of the pixels, and translating the image so
 * as to position this point at the center of the 28x28 field"):
 *
 * 1. ink: the drawing's grey levels in [0, 1] (0 background, 1 ink), any size;
 * 2. the bounding box of the ink is scaled, aspect ratio kept, so its longer side is 20 pixels,
 *    by area averaging (each output pixel is the mean of the input area it covers: the
 *    anti-aliasing MNIST's grey edges come from);
 * 3. the scaled digit is put into a 28×28 field, translated by whole pixels so its centre of mass
 *    lands on the field's centre (13.5, 13.5 in pixel-centre coordinates; whole pixels so
 *    nothing is blurred a second time);
 * 4. grey levels become uint8 0..255, as MNIST stores them. The network's input is then made from
 *    these bytes by the library's makeBatch, x = (p/255 − mean)/std, exactly as in training.
 *
 * Pure functions, no DOM: tested in Deno (playground/_digit_test.ts).
 *
 * @module
 */

/** The MNIST geometry. */
export const FIELD = 28;
/** The box the digit's longer side is scaled to. */
export const BOX = 20;

/**
 * Area-averaging resampling of a w×h image (row-major) into an ow×oh one: output pixel (r, c)
 * is the mean of the input over the rectangle it covers, [c·w/ow, (c+1)·w/ow) ×
 * [r·h/oh, (r+1)·h/oh), with fractional coverage at the edges.
 */
export function resampleArea(
  src: Float64Array,
  w: number,
  h: number,
  ow: number,
  oh: number,
): Float64Array {
  // separable: along x, then along y; weights[o] lists (input index, covered length)
  const weights = (n: number, on: number): [number, number][][] => {
    const scale = n / on;
    return Array.from({ length: on }, (_, o) => {
      const a = o * scale, b = (o + 1) * scale;
      const out: [number, number][] = [];
      for (let i = Math.floor(a); i < Math.min(n, Math.ceil(b)); i++) {
        const len = Math.min(b, i + 1) - Math.max(a, i);
        if (len > 0) out.push([i, len / scale]);
      }
      return out;
    });
  };
  const wx = weights(w, ow), wy = weights(h, oh);
  const tmp = new Float64Array(ow * h); // [h, ow]
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < ow; c++) {
      let s = 0;
      for (const [i, k] of wx[c]) s += src[r * w + i] * k;
      tmp[r * ow + c] = s;
    }
  }
  const out = new Float64Array(ow * oh); // [oh, ow]
  for (let r = 0; r < oh; r++) {
    for (let c = 0; c < ow; c++) {
      let s = 0;
      for (const [i, k] of wy[r]) s += tmp[i * ow + c] * k;
      out[r * ow + c] = s;
    }
  }
  return out;
}

/**
 * A drawing as a 28×28 MNIST digit (steps 2–4 of the module's description).
 *
 * @param ink Grey levels in [0, 1], row-major, `width`·`height` of them (0 is background).
 * @param width The drawing's width in pixels.
 * @param height Its height.
 * @returns 784 bytes, row-major: the digit as MNIST would store it (all zero for an empty
 *   drawing).
 * @throws {RangeError} If `ink` does not hold width·height values.
 */
export function toMnist(ink: ArrayLike<number>, width: number, height: number): Uint8Array {
  if (ink.length !== width * height) {
    throw new RangeError(`toMnist: ink holds ${ink.length} values, expected ${width}×${height}`);
  }
  let top = height, bottom = -1, left = width, right = -1;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      if (ink[r * width + c] > 0) {
        if (r < top) top = r;
        if (r > bottom) bottom = r;
        if (c < left) left = c;
        if (c > right) right = c;
      }
    }
  }
  const out = new Uint8Array(FIELD * FIELD);
  if (bottom < 0) return out;
  const bw = right - left + 1, bh = bottom - top + 1;
  const box = new Float64Array(bw * bh);
  for (let r = 0; r < bh; r++) {
    for (let c = 0; c < bw; c++) box[r * bw + c] = ink[(top + r) * width + left + c];
  }
  // the longer side becomes BOX pixels; the shorter keeps the aspect ratio (at least 1 pixel)
  const scale = BOX / Math.max(bw, bh);
  const ow = Math.max(1, Math.round(bw * scale)), oh = Math.max(1, Math.round(bh * scale));
  const small = resampleArea(box, bw, bh, ow, oh);
  // centre of mass of the scaled digit, in its own pixel-centre coordinates
  let m = 0, mr = 0, mc = 0;
  for (let r = 0; r < oh; r++) {
    for (let c = 0; c < ow; c++) {
      const v = small[r * ow + c];
      m += v;
      mr += v * r;
      mc += v * c;
    }
  }
  const centre = (FIELD - 1) / 2;
  const dr = Math.round(centre - mr / m), dc = Math.round(centre - mc / m);
  for (let r = 0; r < oh; r++) {
    const R = r + dr;
    if (R < 0 || R >= FIELD) continue;
    for (let c = 0; c < ow; c++) {
      const C = c + dc;
      if (C < 0 || C >= FIELD) continue;
      out[R * FIELD + C] = Math.round(Math.min(1, Math.max(0, small[r * ow + c])) * 255);
    }
  }
  return out;
}
