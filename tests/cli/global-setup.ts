/**
 * Builds the CLI once before the tests (`npm run build:cli`, as `npm ci` does), so the
 * CLI tests run the compiled `secure-msg` exactly as a user would, never a stale build.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export default function setup(): void {
  execFileSync("npm", ["run", "--silent", "build:cli"], {
    cwd: fileURLToPath(new URL("../..", import.meta.url)),
    stdio: "inherit",
  });
}
