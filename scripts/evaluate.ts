// Re-evaluates a saved model on the MNIST test set: the checkpoint alone rebuilds the network
// (its layer list and input normalisation are in the safetensors metadata).
//
//   deno task evaluate --load runs/small.safetensors [--json] [--batch-size N]
//
// Deno only (file system); the library modules it uses run anywhere.

import { parseArgs } from "node:util";
import { restoreCheckpoint } from "../io/checkpoint.ts";
import { evaluate } from "../training/loop.ts";
import { loadMnist } from "./_mnist.ts";
import { confusionRows, confusionTable, duration, percent } from "./_report.ts";

const USAGE = `Evaluate a saved convprop model on the MNIST test set.

Usage: deno task evaluate --load FILE [options]

  --load FILE          a checkpoint written by \`deno task train\` (safetensors)
  --batch-size N       images per forward pass (default 500; only memory depends on it)
  --json               print one JSON summary line on stdout (everything else goes to stderr)
  --help               this text`;

class UsageError extends Error {}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      load: { type: "string" },
      "batch-size": { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.load === undefined) throw new UsageError("--load FILE is required");
  const batchSize = values["batch-size"] === undefined ? 500 : Number(values["batch-size"]);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new UsageError(`--batch-size must be a positive integer, got "${values["batch-size"]}"`);
  }
  const say = values.json ? console.error : console.log;
  const path = values.load;
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
  const { net, norm, metadata } = restoreCheckpoint(bytes, path);
  const model = metadata["convprop.model"] ?? "custom";
  const count = net.params().reduce((n, p) => n + p.value.data.length, 0);
  say(
    `convprop: evaluating ${path} ("${model}", ${count.toLocaleString("en-US")} parameters) on ` +
      `the MNIST test set`,
  );
  const { test } = await loadMnist();
  const t0 = performance.now();
  const ev = evaluate(net, test, { norm, batchSize });
  const seconds = (performance.now() - t0) / 1000;
  say(
    `test accuracy ${percent(ev.accuracy)} (${ev.errors} errors in ${ev.count}), test loss ${
      ev.loss.toFixed(4)
    }, ${duration(seconds)} (${(ev.count / seconds).toFixed(0)} img/s)`,
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
      confusion: confusionRows(ev),
    }));
  }
}

try {
  await main(Deno.args);
} catch (e) {
  if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
    console.error(`evaluate: ${(e as Error).message}\n\n${USAGE}`);
    Deno.exit(2);
  }
  console.error(`evaluate: ${(e as Error).message}`);
  Deno.exit(1);
}
