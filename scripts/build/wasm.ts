/**
 * Assembles the WebAssembly text kernels (the readable sources) into generated TypeScript modules
 * that embed each binary as a base64 string, so the library stays one set of plain TypeScript files with zero runtime dependencies (no .wasm file to fetch,
 * works the same in Deno, Node and browsers):
 *
 * - kernels/fast/gemm_simd.wat → kernels/fast/gemm_simd_wasm.ts (SIMD128: every runtime with SIMD)
 * - kernels/fast/gemm_simd_fma.wat → kernels/fast/gemm_simd_fma_wasm.ts (relaxed SIMD's fused
 *   multiply-add, used where the runtime accepts it)
 * - kernels/fast/conv_simd.wat → kernels/fast/conv_simd_wasm.ts (stride-1 convolution without im2col's
 *   array, relaxed SIMD)
 * - kernels/fast/max_pool_simd.wat → kernels/fast/max_pool_simd_wasm.ts (2×2 max-pooling, SIMD128)
 * - kernels/fast/depthwise_simd.wat → kernels/fast/depthwise_simd_wasm.ts (depthwise convolution,
 *   forward and backward, SIMD128)
 *
 * The assembler is the npm package wabt, pinned to one version so the bytes, and so the generated
 * file, are reproducible; it is a build-time tool only.
 *
 * Usage:
 *
 *     deno task build:wasm                    # regenerate every generated module
 *     deno run --allow-read scripts/build/wasm.ts --check
 *                                             # exit 1 if a committed module is out of date (CI)
 *
 * @module
 */

// Pinned inline rather than in deno.json "imports": a build-time tool, not a library dependency.
// deno-lint-ignore no-import-prefix
import wabtInit from "npm:wabt@1.0.39";

/** One kernel to assemble: its source, its generated module and the constant that module exports. */
interface Kernel {
  /** Path of the WebAssembly text, from the repository root. */
  wat: string;
  /** Path of the generated TypeScript module. */
  out: string;
  /** Name of the exported base64 string. */
  constant: string;
  /** What the kernel is, for the generated module's doc comment. */
  what: string;
  /** Whether the text uses relaxed SIMD (the assembler must be told). */
  relaxed: boolean;
  /** The private module that instantiates it. */
  loader: string;
}

const KERNELS: readonly Kernel[] = [
  {
    wat: "kernels/fast/gemm_simd.wat",
    out: "kernels/fast/gemm_simd_wasm.ts",
    constant: "GEMM_SIMD_WASM_BASE64",
    what: "The float32 GEMM micro-kernel (3×8 tile, SIMD128 mul and add)",
    relaxed: false,
    loader: "kernels/fast/gemm_simd.ts",
  },
  {
    wat: "kernels/fast/gemm_simd_fma.wat",
    out: "kernels/fast/gemm_simd_fma_wasm.ts",
    constant: "GEMM_SIMD_FMA_WASM_BASE64",
    what: "The float32 GEMM micro-kernel with fused multiply-add (5×8 tile, relaxed SIMD)",
    relaxed: true,
    loader: "kernels/fast/gemm_simd.ts",
  },
  {
    wat: "kernels/fast/conv_simd.wat",
    out: "kernels/fast/conv_simd_wasm.ts",
    constant: "CONV_SIMD_WASM_BASE64",
    what: "The float32 stride-1 convolution kernel, im2col read through tap offsets (relaxed SIMD)",
    relaxed: true,
    loader: "kernels/fast/conv_simd.ts",
  },
  {
    wat: "kernels/fast/max_pool_simd.wat",
    out: "kernels/fast/max_pool_simd_wasm.ts",
    constant: "MAX_POOL_SIMD_WASM_BASE64",
    what: "The float32 max-pool kernel for 2×2 windows with stride 2 (4 windows per SIMD128 step)",
    relaxed: false,
    loader: "kernels/fast/max_pool_simd.ts",
  },
  {
    wat: "kernels/fast/depthwise_simd.wat",
    out: "kernels/fast/depthwise_simd_wasm.ts",
    constant: "DEPTHWISE_SIMD_WASM_BASE64",
    what: "The float32 depthwise convolution, forward and backward, on polyphase planes (SIMD128)",
    relaxed: false,
    loader: "kernels/fast/depthwise_simd.ts",
  },
];

/**
 * Browsers refuse synchronous `new WebAssembly.Module` on the main thread above 4 KiB, and gemm
 * is synchronous; so the build fails rather than ship a module that only works off-thread.
 */
const MAX_BYTES = 4096;

/**
 * Assembles WebAssembly text into binary bytes, with the SIMD feature on (and relaxed SIMD when
 * asked) and no name section (smaller, and nothing in it depends on the file's path).
 *
 * @param wat The module as WebAssembly text.
 * @param filename Used in the assembler's error messages.
 * @param relaxed Accept relaxed-SIMD instructions (f32x4.relaxed_madd). Default false.
 * @returns The module's bytes.
 * @throws {Error} If the text does not parse or does not validate.
 *
 * @example An empty module is the 8-byte header
 * ```ts
 * import { assemble } from "./wasm.ts";
 * import { assertEquals } from "@std/assert";
 * const bytes = await assemble("(module)", "empty.wat");
 * assertEquals(Array.from(bytes), [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]); // "\0asm", version 1
 * ```
 */
export async function assemble(
  wat: string,
  filename: string,
  relaxed = false,
): Promise<Uint8Array<ArrayBuffer>> {
  const wabt = await wabtInit();
  const mod = wabt.parseWat(filename, wat, { simd: true, relaxed_simd: relaxed });
  try {
    mod.resolveNames();
    mod.validate();
    return new Uint8Array(mod.toBinary({ log: false, write_debug_names: false }).buffer);
  } finally {
    mod.destroy();
  }
}

/** What {@link render} writes about the module; the default is gemm_simd.wat's. */
export interface RenderOptions {
  /** Path of the WebAssembly text, from the repository root. */
  wat?: string;
  /** Path of the generated module, from the repository root. */
  out?: string;
  /** Name of the exported base64 string. */
  constant?: string;
  /** What the kernel is, for the doc comment. */
  what?: string;
  /** The private module that instantiates it. */
  loader?: string;
}

/**
 * The text of a generated TypeScript module for the given bytes: a header saying it is
 * generated, then the base64 in lines of 76 characters (so `deno fmt` leaves it as it is).
 *
 * @param bytes The assembled module.
 * @param opts Which kernel it is (default: kernels/fast/gemm_simd.wat's names).
 * @returns The contents of the generated module.
 *
 * @example
 * ```ts
 * import { render } from "./wasm.ts";
 * import { assert } from "@std/assert";
 * const text = render(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
 * assert(text.startsWith("// GENERATED"));
 * assert(text.includes('"AGFzbQEAAAA=",'));
 * ```
 */
export function render(bytes: Uint8Array<ArrayBuffer>, opts: RenderOptions = {}): string {
  const { wat, out, constant, what, loader } = { ...KERNELS[0], ...opts };
  const file = out.slice(out.lastIndexOf("/") + 1);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  const b64 = btoa(binary);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(`  "${b64.slice(i, i + 76)}",`);
  return `// GENERATED by scripts/build/wasm.ts from ${wat}: do not edit by hand.
// Regenerate with \`deno task build:wasm\`; CI runs \`scripts/build/wasm.ts --check\`, which fails
// when this file differs from what the .wat assembles to.

/**
 * ${what}:
 * ${wat} assembled to WebAssembly (${bytes.length} bytes), embedded as base64 so the library
 * needs no separate .wasm file. Loaded by ${loader}.
 *
 * @module
 */

/**
 * The WebAssembly binary of ${wat}, base64-encoded (${bytes.length} bytes).
 *
 * @example Decoding it gives a WebAssembly module
 * \`\`\`ts
 * import { ${constant} } from "./${file}";
 * const bytes = Uint8Array.from(atob(${constant}), (ch) => ch.charCodeAt(0));
 * console.assert(bytes[0] === 0 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d);
 * \`\`\`
 */
export const ${constant}: string = [
${lines.join("\n")}
].join("");
`;
}

/** Assembles one kernel and writes (or, with `check`, compares) its generated module. */
async function build(kernel: Kernel, check: boolean): Promise<boolean> {
  const root = new URL("../../", import.meta.url);
  const wat = await Deno.readTextFile(new URL(kernel.wat, root));
  const bytes = await assemble(wat, kernel.wat, kernel.relaxed);
  if (!WebAssembly.validate(bytes)) {
    console.error(`build:wasm: ${kernel.wat} assembled does not validate in this runtime`);
    return false;
  }
  if (bytes.length > MAX_BYTES) {
    console.error(
      `build:wasm: ${kernel.wat} is ${bytes.length} bytes; keep it at most ${MAX_BYTES} so ` +
        "browsers can compile it synchronously on the main thread",
    );
    return false;
  }
  const text = render(bytes, kernel);
  const out = new URL(kernel.out, root);
  if (!check) {
    await Deno.writeTextFile(out, text);
    console.log(`build:wasm: wrote ${kernel.out} (${bytes.length} bytes of wasm)`);
    return true;
  }
  let committed = "";
  try {
    committed = await Deno.readTextFile(out);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (committed !== text) {
    console.error(
      `build:wasm --check: ${kernel.out} is out of date with ${kernel.wat};` +
        " run `deno task build:wasm` and commit the result",
    );
    return false;
  }
  console.log(`build:wasm --check: ${kernel.out} is current (${bytes.length} bytes)`);
  return true;
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  const unknown = Deno.args.filter((a) => a !== "--check");
  if (unknown.length > 0) {
    console.error(`build:wasm: unknown argument ${unknown[0]} (usage: wasm.ts [--check])`);
    Deno.exit(2);
  }
  let ok = true;
  for (const kernel of KERNELS) ok = (await build(kernel, check)) && ok;
  if (!ok) Deno.exit(1);
}
