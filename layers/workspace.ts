/**
 * A workspace: the arrays a layer keeps from call to call, owned by whoever passes it.
 *
 * A fresh large typed array costs page faults on first touch, which dominate small layers, so
 * the fast backend writes its results and its scratch (y, dx, every sample's x_col, the winners
 * of a max pool, packed weights) into arrays it can reuse. Those arrays live in a Workspace that
 * the caller owns and passes in (each layer object owns one): no module keeps buffers for it,
 * and two layers never share one by accident. The reference backend ignores workspaces.
 *
 * An array is looked up by its role ("y", "dx", "x_col", ...): the same array comes back while
 * its type and length fit, so what a call returned from a workspace is valid until the next call
 * that uses the same workspace. Each hand-out of a role is stamped, so a cache that refers to a
 * kept array (x_col for the backward pass) can tell whether a later call has overwritten it.
 *
 * @module
 */

import type { FloatArray } from "../tensor.ts";
import { overlaps } from "../_validate.ts";

/** An array a cache refers to, with the stamp its role had when it was written. */
export interface Kept<A extends FloatArray | Int32Array> {
  /** The array. */
  readonly data: A;
  /** The workspace that owns it. */
  readonly owner: Workspace;
  /** Its role in the workspace. */
  readonly role: string;
  /** The role's stamp when the array was written. */
  readonly stamp: number;
}

/**
 * The reusable arrays of one layer (or of one caller's repeated functional calls).
 *
 * @example Results reused from call to call
 * ```ts
 * import { Workspace } from "./workspace.ts";
 * import { assert, assertEquals } from "@std/assert";
 * const ws = new Workspace();
 * const a = ws.floats("y", new Float32Array(0), 8);
 * const b = ws.floats("y", new Float32Array(0), 8);
 * assert(a === b); // the same array while type and length fit
 * assertEquals(ws.floats("y", new Float64Array(0), 8) instanceof Float64Array, true);
 * // an array that would overlap an input is never handed out for writing
 * const x = ws.floats("y", new Float32Array(0), 8);
 * assert(ws.floats("y", x, 8, [x]) !== x);
 * ```
 */
export class Workspace {
  #arrays = new Map<string, FloatArray | Int32Array>();
  #stamps = new Map<string, number>();

  /**
   * A float array for `role`: the one kept from the last call when it has `like`'s type and
   * `length` elements and shares no memory with any of `avoid`, else a new zero array, which is
   * kept. Its contents are whatever the last user left: the caller overwrites what it reads.
   * Every call stamps the role anew (see {@link Workspace.keep}).
   *
   * @param role What the array is for, unique within this workspace.
   * @param like An array of the type wanted (its contents are not read).
   * @param length The number of elements.
   * @param avoid Arrays the result must not overlap (a call's inputs).
   * @returns The array.
   */
  floats<T extends FloatArray>(
    role: string,
    like: T,
    length: number,
    avoid: readonly ArrayBufferView[] = [],
  ): T {
    const old = this.#arrays.get(role);
    const fits = old !== undefined && old.constructor === like.constructor &&
      old.length === length && !avoid.some((a) => overlaps(a, old));
    const array = fits
      ? old as T
      : (like instanceof Float32Array ? new Float32Array(length) : new Float64Array(length)) as T;
    return this.#handOut(role, array);
  }

  /**
   * An Int32Array for `role`, kept and reused as {@link Workspace.floats} does.
   *
   * @param role What the array is for, unique within this workspace.
   * @param length The number of elements.
   * @param avoid Arrays the result must not overlap.
   * @returns The array.
   */
  ints(role: string, length: number, avoid: readonly ArrayBufferView[] = []): Int32Array {
    const old = this.#arrays.get(role);
    const fits = old instanceof Int32Array && old.length === length &&
      !avoid.some((a) => overlaps(a, old));
    return this.#handOut(role, fits ? old : new Int32Array(length));
  }

  /**
   * Records that `data`, just written into `role`'s array, is to be read again later (by a
   * backward pass): the returned record stays {@link Workspace.isCurrent} until the role is
   * handed out again.
   *
   * @param role The role `data` was handed out for.
   * @param data The array.
   * @returns What a cache keeps.
   */
  keep<A extends FloatArray | Int32Array>(role: string, data: A): Kept<A> {
    return { data, owner: this, role, stamp: this.#stamps.get(role) ?? 0 };
  }

  /**
   * Whether a kept array still holds what was written when it was kept.
   *
   * @param kept A record from {@link Workspace.keep}.
   * @returns false once a later call has been handed the same role.
   */
  isCurrent(kept: Kept<FloatArray | Int32Array>): boolean {
    return kept.owner === this && this.#stamps.get(kept.role) === kept.stamp &&
      this.#arrays.get(kept.role) === kept.data;
  }

  #handOut<A extends FloatArray | Int32Array>(role: string, array: A): A {
    this.#arrays.set(role, array);
    this.#stamps.set(role, (this.#stamps.get(role) ?? 0) + 1);
    return array;
  }
}
