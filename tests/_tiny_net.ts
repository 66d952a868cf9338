// Test helper: a tiny network (a 5×5 conv with stride 4, then fc), quick to train a step of and to
// evaluate on all 10,000 MNIST test digits, and the MNIST normalisation.

import { buildNetwork, type LayerSpec, type Sequential } from "../mod.ts";

/** MNIST's pixel mean and standard deviation (of the 60,000 training images). */
export const NORM = { mean: 0.1307, std: 0.3081 };

/** The tiny network's layer list: 28×28 -> conv 5×5 stride 4 -> 2×6×6 -> fc -> 10. */
export const TINY: LayerSpec[] = [
  { type: "conv", inChannels: 1, outChannels: 2, size: 5, stride: 4 },
  { type: "relu" },
  { type: "flatten" },
  { type: "fc", inFeatures: 2 * 6 * 6, outFeatures: 10 },
];

/** The tiny network, seeded. */
export function tiny(dtype: "float32" | "float64" = "float32"): Sequential {
  return buildNetwork(TINY, { seed: 3, dtype });
}
