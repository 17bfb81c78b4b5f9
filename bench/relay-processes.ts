/**
 * The relay suite's child processes (relay.ts): the servers (relay-server.ts, one process
 * each) and the load generator (relay-load.ts), each run through tsx as `npm run bench`
 * runs, and never left behind when the bench exits.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { LoadJob, LoadResult } from "./relay-load.js";

const HERE = fileURLToPath(new URL(".", import.meta.url));

/** Runs a bench TypeScript file in a new Node process (through tsx, as `npm run bench` does). */
function spawnTs(file: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", join(HERE, file), ...args], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  // Never leave a server behind, whatever happens to this process.
  const kill = () => child.kill("SIGKILL");
  process.once("exit", kill);
  child.once("exit", () => process.off("exit", kill));
  return child;
}

async function firstLine(child: ChildProcess): Promise<string> {
  const lines = createInterface({ input: child.stdout! });
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code) =>
      reject(new Error(`${child.spawnargs.slice(3).join(" ")} exited with ${code}`)),
    ),
  );
  try {
    return await Promise.race([
      new Promise<string>((resolve) => lines.once("line", resolve)),
      exited,
    ]);
  } finally {
    lines.close();
  }
}

export async function server(args: string[]): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawnTs("relay-server.ts", args);
  const { url } = JSON.parse(await firstLine(child)) as { url: string };
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        const force = setTimeout(() => child.kill("SIGKILL"), 5000);
        child.once("exit", () => {
          clearTimeout(force);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}

/** The load process (relay-load.ts): one job in, one result out. */
export function loader() {
  const child = spawnTs("relay-load.ts", []);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    async run(job: LoadJob): Promise<LoadResult> {
      child.stdin!.write(`${JSON.stringify(job)}\n`);
      const line = await lines.next();
      if (line.done) throw new Error("the load process exited");
      return JSON.parse(line.value) as LoadResult;
    },
    stop: () => child.stdin!.end(),
  };
}
