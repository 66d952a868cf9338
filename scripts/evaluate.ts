// Re-evaluates a saved model on the MNIST test set: the checkpoint alone rebuilds the network
// (its layer list and input normalisation are in the safetensors metadata).
//
//   deno task evaluate --load runs/small.safetensors [--json] [--batch-size N] [--workers N]
//
// Deno only (file system); the library modules it uses run anywhere.

import { restoreCheckpoint } from "../io/checkpoint.ts";
import { DataParallel } from "../training/parallel.ts";
import { loadMnistTest } from "./_mnist.ts";
import { hardwareThreads } from "../training/_threads.ts";
import { integerFlag, parseFlags, pathFlag, UsageError } from "./_cli.ts";
import { confusionRows, confusionTable, duration, percent } from "./_report.ts";

const USAGE = `Evaluate a saved convprop model on the MNIST test set.

Usage: deno task evaluate --load FILE [options]

  --load FILE          a checkpoint written by \`deno task train\` (safetensors)
  --batch-size N       images per forward pass (default 500; only memory depends on it)
  --workers N          worker threads sharing the batches, or auto: the cores the runtime
                       reports (default auto); any count gives the same numbers
  --json               print one JSON summary line on stdout (everything else goes to stderr)
  --help               this text`;

async function main(args: string[]): Promise<void> {
  const values = parseFlags(args, {
    load: { type: "string" },
    "batch-size": { type: "string" },
    workers: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean" },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.load === undefined) throw new UsageError("--load FILE is required");
  const path = pathFlag("load", values.load, "");
  const batchSize = integerFlag("batch-size", values["batch-size"], 500, { min: 1 });
  const workers = values.workers === undefined || values.workers === "auto"
    ? await hardwareThreads()
    : integerFlag("workers", values.workers, 1, { min: 1, max: 1024 });
  const say = values.json ? console.error : console.log;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new Error(
      e instanceof Deno.errors.NotFound
        ? `${path}: no such file`
        : `${path}: ${(e as Error).message}`,
    );
  }
  const { net, norm, metadata, spec } = restoreCheckpoint(bytes, path);
  const model = metadata["convprop.model"] ?? "custom";
  const count = net.params().reduce((n, p) => n + p.value.data.length, 0);
  say(
    `convprop: evaluating ${path} ("${model}", ${count.toLocaleString("en-US")} parameters) on ` +
      `the MNIST test set`,
  );
  const test = await loadMnistTest(); // the training set is not read: only the test set matters
  // evaluation splits whole batches among the workers: one shard per worker is all it needs
  const dp = await DataParallel.create(spec, { net, workers, shards: workers });
  let ev, seconds;
  try {
    const t0 = performance.now();
    ev = await dp.evaluate(test, { norm, batchSize });
    seconds = (performance.now() - t0) / 1000;
  } finally {
    await dp.close();
  }
  say(
    `test accuracy ${percent(ev.accuracy)} (${ev.errors} errors in ${ev.count}), test loss ${
      ev.loss.toFixed(4)
    }, ${duration(seconds)} (${(ev.count / seconds).toFixed(0)} img/s, ${workers} worker${
      workers === 1 ? "" : "s"
    }, ${dp.memory} memory)`,
  );
  say(confusionTable(ev));
  if (values.json) {
    console.log(JSON.stringify({
      checkpoint: path,
      model,
      parameters: count,
      testImages: ev.count,
      testAccuracy: ev.accuracy,
      testLoss: ev.loss,
      testErrors: ev.errors,
      seconds,
      workers,
      confusion: confusionRows(ev),
    }));
  }
}

try {
  await main(Deno.args);
} catch (e) {
  if (e instanceof UsageError) {
    console.error(`evaluate: ${(e as Error).message}\n\n${USAGE}`);
    Deno.exit(2);
  }
  // a library error already names its function (which may share the command's name)
  const message = (e as Error).message;
  console.error(message.startsWith("evaluate: ") ? message : `evaluate: ${message}`);
  Deno.exit(1);
}
