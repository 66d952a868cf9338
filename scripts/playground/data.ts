// The data files of the playground site, beside the bundled pages: site-relative path → bytes.
// Each view's data is one block of additions below; keep them blocks (one per view) so that
// views added on other branches merge without conflicts.

import { join } from "node:path";
import { ROOT } from "./_site.ts";
import { mnistSubsetFiles } from "./mnist_subset.ts";

/**
 * The reference sources the step-through view (playground/step.ts) shows, as the library has
 * them: the page loads `src/<path>` and highlights the lines that computed each step, found by
 * their text (never by line numbers).
 */
export const REFERENCE_SOURCES: readonly string[] = [
  "layers/conv.ts",
  "layers/relu.ts",
  "layers/max_pool.ts",
  "layers/fully_connected.ts",
  "layers/softmax_cross_entropy.ts",
  "kernels/im2col.ts",
  "kernels/add_at.ts",
  "kernels/gemm.ts",
  "kernels/max_pool.ts",
];

/**
 * Every data file of the site: site-relative path → bytes.
 *
 * @returns The files, in the order they were added.
 */
export async function siteData(): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();

  // step.html: the reference sources, verbatim
  for (const path of REFERENCE_SOURCES) {
    files.set(`src/${path}`, await Deno.readFile(join(ROOT, path)));
  }

  // train.html: the MNIST subset, gzipped IDX (scripts/playground/mnist_subset.ts)
  for (const [path, bytes] of await mnistSubsetFiles()) files.set(path, bytes);

  return files;
}
