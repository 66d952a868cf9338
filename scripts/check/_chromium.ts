// Headless Chromium for the browser checks (scripts/check/browser.ts, scripts/check/playground.ts):
// Debian's /usr/bin/chromium (or CHROMIUM_PATH) driven by playwright-core, with the network features
// that would reach outside 127.0.0.1 switched off, so a request outside the local server can only
// come from the page, which the checks then catch.

import { type Browser, chromium } from "playwright-core";
import { fail } from "../build/_npm_common.ts";

/** The Chromium binary: $CHROMIUM_PATH, or Debian's package. */
export const CHROMIUM: string = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox", // root in a container: the setuid sandbox is unavailable
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-extensions",
  "--disable-dev-shm-usage",
];

/** Starts headless Chromium, or fails the check with the command that installs it. */
export async function launchChromium(): Promise<Browser> {
  try {
    Deno.statSync(CHROMIUM);
  } catch {
    fail(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 60_000,
  });
}
