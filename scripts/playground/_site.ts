// Shared by the playground's build (build.ts), data (data.ts), server (serve.ts) and check
// (scripts/check/playground.ts): where things are, and a plain static file server.

import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT: string = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
/** The page sources. */
export const PLAYGROUND: string = join(ROOT, "playground");

/** Content types by extension: all a static host needs to know (no other header is sent). */
export const MIME: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
  ".json": "application/json",
  ".ts": "text/plain; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".bin": "application/octet-stream",
  ".safetensors": "application/octet-stream",
};

/** Where a server finds a file: site-relative path ("im2col.html") → bytes, or undefined. */
export type Lookup = (path: string) => Uint8Array | undefined | Promise<Uint8Array | undefined>;

/**
 * Serves `lookup` on 127.0.0.1:`port` (0: any free port) as a static host would: GET and HEAD,
 * "/" and "/dir/" mean index.html, a content type by extension and nothing else.
 *
 * @returns The server and its origin ("http://127.0.0.1:PORT").
 */
export function serveStatic(
  lookup: Lookup,
  port: number,
): { server: Deno.HttpServer<Deno.NetAddr>; origin: string } {
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (req) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed", { status: 405 });
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url).pathname);
    } catch {
      return new Response("bad request", { status: 400 });
    }
    if (path.endsWith("/")) path += "index.html";
    path = path.replace(/^\/+/, "");
    if (path.split("/").some((part) => part === ".." || part === ".")) {
      return new Response("forbidden", { status: 403 });
    }
    const bytes = await lookup(path);
    if (bytes === undefined) return new Response("not found", { status: 404 });
    const headers = { "content-type": MIME[extname(path)] ?? "application/octet-stream" };
    return new Response(req.method === "HEAD" ? null : bytes as Uint8Array<ArrayBuffer>, {
      headers,
    });
  });
  return { server, origin: `http://127.0.0.1:${server.addr.port}` };
}

/** A lookup reading files under `dir` from disk (what a static host does with site/). */
export function fromDisk(dir: string): Lookup {
  return (path) => {
    try {
      return Deno.readFileSync(join(dir, path));
    } catch {
      return undefined;
    }
  };
}
