/**
 * One interface over the two kinds of thread JavaScript runtimes have: Web Workers (Deno, the
 * browser; module workers) and Node's `worker_threads`. The data-parallel trainer
 * (training/parallel.ts) and its worker (training/parallel_worker.ts) speak only to these two
 * small interfaces, so the same library code runs in all three runtimes. Node's module is
 * imported dynamically with a computed name: bundlers for the browser leave it alone, and the
 * library keeps no static dependency on Node.
 *
 * @module
 */

/** The main thread's handle on one worker. */
export interface ThreadHandle {
  /** Posts a message; the buffers in `transfer` move to the worker (they are detached here). */
  post(message: unknown, transfer?: Transferable[]): void;
  /** Stops the worker at once; resolves when the runtime says it has stopped. */
  terminate(): Promise<void>;
}

/** What a {@link ThreadHandle} reports. */
export interface ThreadEvents {
  /** A message from the worker. */
  message(data: unknown): void;
  /** The worker failed outside any message (an uncaught error, a load error, an exit). */
  failure(error: Error): void;
}

/** The worker side: its messages in, and a way to post back. */
export interface ThreadPort {
  /** Posts a message to the main thread, moving the buffers in `transfer`. */
  post(message: unknown, transfer?: Transferable[]): void;
  /** Installs the message handler. */
  listen(handler: (data: unknown) => void): void;
}

// Computed so that no bundler or module graph (deno info, esbuild) sees a static "node:" import.
const NODE_WORKER_THREADS = ["node", "worker_threads"].join(":");

interface NodeWorker {
  on(event: string, fn: (arg: unknown) => void): void;
  postMessage(message: unknown, transfer?: readonly Transferable[]): void;
  terminate(): Promise<number>;
}
interface NodeWorkerThreads {
  Worker: new (url: URL) => NodeWorker;
  parentPort: {
    on(event: "message", fn: (data: unknown) => void): void;
    postMessage(message: unknown, transfer?: readonly Transferable[]): void;
  } | null;
}

/**
 * A browser starts a Worker only from its page's origin: a library loaded from a CDN starts its
 * worker module through a same-origin `blob:` module that imports it (the CDN must allow CORS, as
 * jsDelivr and unpkg do). Elsewhere (Deno, the same origin, file: URLs) the URL itself.
 */
function workerScript(url: URL): URL | string {
  const here = (globalThis as { location?: { origin?: string } }).location?.origin;
  if (here === undefined || here === "null" || url.protocol === "file:" || url.origin === here) {
    return url;
  }
  const source = `import ${JSON.stringify(url.href)};\n`;
  return URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
}

/** Whether this runtime has Web Workers (Deno, browsers, Bun) rather than only Node's threads. */
function hasWebWorkers(): boolean {
  return typeof (globalThis as { Worker?: unknown }).Worker === "function";
}

/**
 * Starts a worker running the module at `url`: a module Web Worker where the runtime has them,
 * a `worker_threads` Worker on Node.
 *
 * @param url The worker module.
 * @param events Where its messages and failures go.
 * @returns The handle.
 * @throws {Error} If the runtime has neither kind of thread.
 */
export async function spawnThread(url: URL, events: ThreadEvents): Promise<ThreadHandle> {
  if (hasWebWorkers()) {
    const script = workerScript(url);
    const w = new Worker(script, { type: "module" });
    let stopped = false;
    w.onmessage = (e: MessageEvent) => events.message(e.data);
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault(); // handled here: the runtime must not also report it as uncaught
      events.failure(new Error(e.message || `the worker module ${url} failed to load`));
    };
    w.onmessageerror = () =>
      events.failure(new Error("a message from the worker could not be read"));
    return {
      post: (message, transfer = []) => w.postMessage(message, transfer),
      terminate: () => {
        if (!stopped) w.terminate();
        if (!stopped && typeof script === "string") URL.revokeObjectURL(script);
        stopped = true;
        return Promise.resolve();
      },
    };
  }
  let wt: NodeWorkerThreads;
  try {
    wt = await import(NODE_WORKER_THREADS) as NodeWorkerThreads;
  } catch {
    throw new Error("this runtime has neither Web Workers nor node:worker_threads");
  }
  const w = new wt.Worker(url);
  let stopping = false;
  w.on("message", (data) => events.message(data));
  w.on("error", (e) => events.failure(e instanceof Error ? e : new Error(String(e))));
  w.on("messageerror", () => events.failure(new Error("a message could not be read")));
  w.on("exit", (code) => {
    if (!stopping) events.failure(new Error(`the worker thread exited with code ${code}`));
  });
  return {
    post: (message, transfer = []) => w.postMessage(message, transfer),
    terminate: async () => {
      stopping = true;
      await w.terminate();
    },
  };
}

/**
 * The port of the worker this module runs in, or null on a main thread.
 *
 * @returns The port.
 */
export async function threadPort(): Promise<ThreadPort | null> {
  const g = globalThis as unknown as {
    WorkerGlobalScope?: unknown;
    postMessage(message: unknown, transfer: Transferable[]): void;
    addEventListener(type: "message", fn: (e: MessageEvent) => void): void;
  };
  if (typeof g.WorkerGlobalScope === "function") {
    return {
      post: (message, transfer = []) => g.postMessage(message, transfer),
      listen: (handler) => g.addEventListener("message", (e) => handler(e.data)),
    };
  }
  if (hasWebWorkers()) return null; // a Web main thread (Deno's, a page's)
  let wt: NodeWorkerThreads;
  try {
    wt = await import(NODE_WORKER_THREADS) as NodeWorkerThreads;
  } catch {
    return null;
  }
  const port = wt.parentPort;
  if (port === null) return null;
  return {
    post: (message, transfer = []) => port.postMessage(message, transfer),
    listen: (handler) => port.on("message", handler),
  };
}

/**
 * The number of hardware threads the runtime reports: `navigator.hardwareConcurrency` (Deno,
 * browsers, Node 21+), else Node's `os.availableParallelism()`, else 1.
 *
 * @returns At least 1.
 */
export async function hardwareThreads(): Promise<number> {
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
    ?.hardwareConcurrency;
  if (typeof n === "number" && n >= 1) return Math.floor(n);
  try {
    const os = await import(["node", "os"].join(":")) as { availableParallelism?: () => number };
    const m = os.availableParallelism?.();
    if (typeof m === "number" && m >= 1) return m;
  } catch { /* not Node */ }
  return 1;
}
