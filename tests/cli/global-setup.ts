/**
 * Builds dist/ once before the tests, so the CLI tests run the compiled `secure-msg`
 * exactly as a user would, never a stale build.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export default function setup(): void {
  execFileSync("npx", ["--no-install", "tsc", "-p", "tsconfig.build.json"], {
    cwd: fileURLToPath(new URL("../..", import.meta.url)),
    stdio: "inherit",
  });
}
