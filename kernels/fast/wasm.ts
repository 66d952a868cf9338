/**
 * What the WebAssembly drivers (kernels/fast/gemm_simd.ts, conv_simd.ts, max_pool_simd.ts,
 * depthwise_simd.ts) share:
 * instantiating an embedded module, where the runtime accepts it, and growing its one memory.
 * Private to kernels/.
 *
 * @module
 */

/**
 * Instantiates a module embedded as base64, or returns null where this runtime cannot run it.
 * Validating the bytes is the feature test: a runtime without SIMD128 (or, for a module that
 * uses it, without relaxed SIMD) rejects them. The compile is synchronous: the modules are under
 * the 4 KiB that browsers allow on the main thread.
 *
 * @param base64 The module's bytes, base64-encoded (a generated kernels/_*_wasm.ts).
 * @returns The instance's exports and its memory (exported as "memory"), or null.
 *
 * @example The smallest module with a memory
 * ```ts
 * import { instantiate } from "./wasm.ts";
 * import { assertEquals } from "@std/assert";
 * // (module (memory (export "memory") 1))
 * const m = instantiate("AGFzbQEAAAAFAwEAAQcKAQZtZW1vcnkCAA==");
 * assertEquals(m?.memory.buffer.byteLength, 65536);
 * assertEquals(instantiate("AGFzbQ=="), null); // truncated bytes: not a module
 * ```
 */
export function instantiate(
  base64: string,
): { exports: WebAssembly.Exports; memory: WebAssembly.Memory } | null {
  try {
    if (typeof WebAssembly !== "object") return null;
    const bytes = Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
    if (!WebAssembly.validate(bytes)) return null;
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    return { exports: instance.exports, memory: instance.exports.memory as WebAssembly.Memory };
  } catch {
    return null; // e.g. a content security policy that forbids WebAssembly: use TypeScript
  }
}

/**
 * Grows a memory to at least `bytes` bytes (in whole 64 KiB pages). A grow detaches the old
 * ArrayBuffer: the caller remakes its typed-array views when `memory.buffer` has changed.
 *
 * @param memory The module's memory.
 * @param bytes The size needed.
 * @returns false when the runtime refuses to grow it (out of memory), true otherwise.
 *
 * @example
 * ```ts
 * import { growTo } from "./wasm.ts";
 * import { assert, assertEquals } from "@std/assert";
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * assert(growTo(memory, 100_000));
 * assertEquals(memory.buffer.byteLength, 2 * 65536);
 * ```
 */
export function growTo(memory: WebAssembly.Memory, bytes: number): boolean {
  const need = bytes - memory.buffer.byteLength;
  if (need <= 0) return true;
  try {
    memory.grow(Math.ceil(need / 65536));
    return true;
  } catch {
    return false;
  }
}

/**
 * x rounded up to a multiple of r.
 *
 * @param x A non-negative number.
 * @param r The multiple.
 * @returns The smallest multiple of r that is at least x.
 *
 * @example
 * ```ts
 * import { roundUp } from "./wasm.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals([roundUp(13, 8), roundUp(16, 8)], [16, 16]);
 * ```
 */
export function roundUp(x: number, r: number): number {
  return Math.ceil(x / r) * r;
}

/** A module's memory with the float32 and int32 views a driver reads and writes it through. */
export interface MemoryViews {
  memory: WebAssembly.Memory;
  /** Float32 and Int32 views of `memory`; remade after every grow. */
  f32: Float32Array;
  i32: Int32Array;
}

/**
 * Grows `k.memory` to at least `floats` 4-byte words and remakes `k.f32` and `k.i32` when the grow
 * detached their buffer.
 *
 * @param k The memory and its views, updated in place.
 * @param floats The words needed.
 * @returns false when the runtime refuses to grow it (out of memory: the caller runs TypeScript).
 *
 * @example
 * ```ts
 * import { reserveViews } from "./wasm.ts";
 * import { assert } from "@std/assert";
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const k = { memory, f32: new Float32Array(memory.buffer), i32: new Int32Array(memory.buffer) };
 * assert(reserveViews(k, 20000)); // 80,000 bytes: a second page
 * assert(k.f32.length >= 20000 && k.f32.buffer === memory.buffer);
 * ```
 */
export function reserveViews(k: MemoryViews, floats: number): boolean {
  if (!growTo(k.memory, floats * 4)) return false;
  if (k.f32.buffer !== k.memory.buffer) {
    k.f32 = new Float32Array(k.memory.buffer);
    k.i32 = new Int32Array(k.memory.buffer);
  }
  return true;
}
