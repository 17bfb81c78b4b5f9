/**
 * The extension as the browser tests load it. The global setup (tests/global-setup.ts)
 * builds both targets once per test run, as `npm run build:extension` does, into a fresh
 * folder of its own, so test files never rebuild under each other and a developer's
 * `dist/` is never touched. Tests read the folder with `extensionDist(target)`.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { inject } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export type Target = "chrome" | "firefox";

declare module "vitest" {
  export interface ProvidedContext {
    /** Absolute folder holding `chrome/` and `firefox/` builds of the extension. */
    extensionDist: string;
  }
}

/** Runs `vite build` for `target` into `outDir` (absolute). */
export async function buildExtension(target: Target, outDir: string): Promise<void> {
  try {
    await promisify(execFile)("npx", ["--no-install", "vite", "build", "--logLevel", "warn"], {
      cwd: ROOT,
      env: { ...process.env, TARGET: target, EXTENSION_OUT_DIR: outDir },
    });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`vite build for ${target} failed:\n${stdout ?? ""}${stderr ?? ""}`, {
      cause: err,
    });
  }
}

/** The absolute path of this run's unpacked build for `target`. */
export function extensionDist(target: Target): string {
  return join(inject("extensionDist"), target);
}
