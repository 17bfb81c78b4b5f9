// Marks the compiled CLI executable, so `npx secure-msg` can run it (tsc writes 0644).
import { chmodSync } from "node:fs";

chmodSync(new URL("../dist/cli/main.js", import.meta.url), 0o755);
