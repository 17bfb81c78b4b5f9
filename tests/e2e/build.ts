/**
 * Builds the extension for one target, as `npm run build:extension` does, so the browser
 * tests and the lint never load a stale `dist/extension/<target>`.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Runs `vite build` for `target` and returns the absolute path of the unpacked build. */
export async function buildExtension(target: "chrome" | "firefox"): Promise<string> {
  try {
    await promisify(execFile)("npx", ["--no-install", "vite", "build", "--logLevel", "warn"], {
      cwd: ROOT,
      env: { ...process.env, TARGET: target },
    });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`vite build for ${target} failed:\n${stdout ?? ""}${stderr ?? ""}`, {
      cause: err,
    });
  }
  return `${ROOT}dist/extension/${target}`;
}
