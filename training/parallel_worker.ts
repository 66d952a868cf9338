/**
 * The worker of the data-parallel trainer (training/parallel.ts): a module Web Worker in Deno
 * and the browser, a `worker_threads` Worker on Node, started by `DataParallel.create` from
 * `new URL("./parallel_worker.js", import.meta.url)` (`.ts` in the sources). It holds a replica
 * of the network and answers the main thread's messages: `init` (build the replica, check its
 * layout), `step` (load the step's parameters and buffers, compute the gradients of its shards),
 * `evaluate` (per-batch sums of its share of a labelled set). Any error is posted back, with its
 * message, and the main thread stops every worker. It exports nothing; imported on a main
 * thread it does nothing.
 *
 * @module
 */

import type { FloatArray } from "../tensor.ts";
import { type FlatBuffers, floatsOf, Replica } from "./_parallel_shard.ts";
import type { ToMain, ToWorker } from "./_parallel_protocol.ts";
import { type ThreadPort, threadPort } from "./_threads.ts";

function serve(port: ThreadPort): void {
  let replica: Replica | undefined;
  let seed = 0;
  // shared memory (mode "shared"): parameters, one gradient slot per shard, two input slots
  let sharedParams: FloatArray | undefined;
  let sharedGrads: ArrayBufferLike | undefined;
  let inputs: { x: Float32Array; labels: Uint8Array }[] = [];
  const post = (m: ToMain, transfer: Transferable[] = []) => port.post(m, transfer);

  function handle(m: ToWorker): void {
    switch (m.kind) {
      case "init": {
        replica = new Replica(m.spec, m.dtype);
        seed = m.seed;
        const got = replica.layout.params.map((p) => `${p.name}:${p.length}`).join(",");
        const want = m.params.map((p) => `${p.name}:${p.length}`).join(",");
        if (got !== want) {
          throw new RangeError(
            `the worker's network has parameters ${got}, the main thread's ${want}`,
          );
        }
        if (m.shared !== undefined) {
          sharedParams = floatsOf(replica.layout, replica.layout.paramLength, m.shared.params);
          sharedGrads = m.shared.grads;
        }
        post({ kind: "ready" });
        return;
      }
      case "inputs":
        inputs = m.slots.map((s) => ({
          x: new Float32Array(s.x),
          labels: new Uint8Array(s.labels),
        }));
        return;
      case "step": {
        if (replica === undefined) throw new Error("step before init");
        const L = replica.layout.paramLength;
        const params = m.params ?? sharedParams!;
        const buffers: FlatBuffers = m.buffers;
        replica.load(params, buffers, m.backend);
        const [, C, H, W] = m.shape;
        const P = C * H * W;
        const results = [], grads: FloatArray[] = [], transfer: Transferable[] = [];
        let after0: FlatBuffers | undefined;
        for (const s of m.shards) {
          const n = s.end - s.start;
          const x = s.x ??
            inputs[m.slot].x.subarray(s.start * P, s.end * P);
          const labels = s.labels ?? inputs[m.slot].labels.subarray(s.start, s.end);
          const grad = sharedGrads === undefined
            ? floatsOf(replica.layout, L)
            : (replica.layout.dtype === "float64"
              ? new Float64Array(sharedGrads, s.shard * L * 8, L)
              : new Float32Array(sharedGrads, s.shard * L * 4, L));
          results.push(
            replica.shard(
              { shape: [n, C, H, W], data: x },
              labels,
              { step: m.step, shard: s.shard, seed, buffers },
              grad,
            ),
          );
          if (sharedGrads === undefined) {
            grads.push(grad);
            transfer.push(grad.buffer as ArrayBuffer);
          }
          if (s.shard === 0 && (buffers.floats.length > 0 || buffers.ints.length > 0)) {
            after0 = replica.buffers();
          }
        }
        post({
          kind: "step",
          results,
          grads: sharedGrads === undefined ? grads : undefined,
          buffers: after0,
        }, transfer);
        return;
      }
      case "evaluate": {
        if (replica === undefined) throw new Error("evaluate before init");
        replica.load(m.params ?? sharedParams!, m.buffers, m.backend);
        const confusion = new Uint32Array(m.classes * m.classes);
        const batches = replica.evaluate(m.set, m, confusion);
        post({ kind: "evaluate", batches, confusion }, [confusion.buffer]);
        return;
      }
    }
  }

  port.listen((data) => {
    try {
      handle(data as ToWorker);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      post({ kind: "error", name: err.name, message: err.message, stack: err.stack ?? "" });
    }
  });
}

// No top-level await: the CommonJS build of this module must load too.
threadPort().then((port) => {
  if (port !== null) serve(port);
});
