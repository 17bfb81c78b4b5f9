/**
 * Once per test run, before any test file:
 * - builds the CLI (`npm run build:cli`, as `npm ci` does), so the CLI tests run the
 *   compiled `secure-msg` exactly as a user would, never a stale build;
 * - builds the extension for both targets into a temporary folder (tests/e2e/build.ts),
 *   which the browser tests and the manifest lint read through `extensionDist()`.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { buildExtension } from "./e2e/build.js";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  execFileSync("npm", ["run", "--silent", "build:cli"], {
    cwd: fileURLToPath(new URL("..", import.meta.url)),
    stdio: "inherit",
  });
  const dir = await mkdtemp(join(tmpdir(), "secure-msg-extension-"));
  await buildExtension("chrome", join(dir, "chrome"));
  await buildExtension("firefox", join(dir, "firefox"));
  project.provide("extensionDist", dir);
  return () => rm(dir, { recursive: true, force: true });
}
