/**
 * `deno task compare`'s W6 on several cores: convprop's data-parallel trainer (DataParallel,
 * N workers, N shards: one shard per worker) takes the LeNet training step of W6, on W6's own
 * inputs and weights, next to PyTorch with torch.set_num_threads(N) (run by compare.ts through
 * compare_ref.py). Timing only: the step's numbers are checked by the one-thread W6 row, and
 * DataParallel's equality with the one-thread loop by training/parallel_test.ts.
 *
 * @module
 */

import type { LayerSpec } from "../../network/models.ts";
import { SGD } from "../../optim/sgd.ts";
import { DataParallel } from "../../training/parallel.ts";
import { LENET_PARAMS, type Workload } from "./compare_workloads.ts";

/** W6's network as a layer list (the layers of compare_impls.ts's lenetLayers, in order). */
export const LENET_SPEC: readonly LayerSpec[] = [
  { type: "conv", inChannels: 1, outChannels: 20, size: 5 },
  { type: "maxpool", size: 2 },
  { type: "conv", inChannels: 20, outChannels: 50, size: 5 },
  { type: "maxpool", size: 2 },
  { type: "flatten" },
  { type: "fc", inFeatures: 800, outFeatures: 500 },
  { type: "relu" },
  { type: "fc", inFeatures: 500, outFeatures: 10 },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * Median milliseconds of W6's training step with DataParallel(workers, shards = workers):
 * warm-up for `warmMs` (at least 3 steps), then steps until `budgetMs` and `minReps`, at most
 * `maxReps`.
 */
export async function timeParallelStep(
  w6: Workload,
  workers: number,
  opts: { warmMs: number; budgetMs: number; minReps: number; maxReps: number },
): Promise<{ median: number; samples: number[]; memory: string }> {
  const dp = await DataParallel.create(LENET_SPEC, { workers, shards: workers });
  try {
    dp.net.params().forEach((p, i) => p.value.data.set(w6.arrays[LENET_PARAMS[i]].data));
    const x = { shape: w6.arrays.x.shape, data: w6.arrays.x.data };
    const labels = Uint8Array.from(w6.labels!);
    const optimizer = new SGD(dp.net.params(), { lr: 0.01 });
    const t0 = performance.now();
    for (let i = 0; i < 3 || performance.now() - t0 < opts.warmMs; i++) {
      await dp.step({ x, labels }, optimizer);
    }
    const samples: number[] = [];
    const t1 = performance.now();
    while (
      samples.length < opts.maxReps &&
      (samples.length < opts.minReps || performance.now() - t1 < opts.budgetMs)
    ) {
      const s = performance.now();
      await dp.step({ x, labels }, optimizer);
      samples.push(performance.now() - s);
    }
    return { median: median(samples), samples, memory: dp.memory };
  } finally {
    await dp.close();
  }
}
