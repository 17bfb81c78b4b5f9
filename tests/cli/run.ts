/**
 * The compiled `secure-msg` CLI, run as a user runs it: `node dist/cli/main.js` in a child
 * process, passwords in the environment, input on stdin (tests/global-setup.ts builds
 * dist/). Children are detached (no controlling terminal), so a missing password fails
 * instead of prompting. Shared by the CLI test files.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const MAIN = join(ROOT, "dist", "cli", "main.js");

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

type Env = Record<string, string | undefined>;

/** The test runner's environment without any SECURE_MSG_* setting of its own. */
const baseEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith("SECURE_MSG_")),
);

export function spawnRun(
  command: string,
  args: string[],
  opts: { input?: string | Buffer; env?: Env; cwd?: string },
): Promise<Run> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...baseEnv, ...opts.env })) if (v !== undefined) env[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd: opts.cwd ?? ROOT, detached: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({
        code,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
    child.stdin.on("error", () => undefined); // the CLI may exit before reading stdin
    child.stdin.end(opts.input ?? "");
  });
}

/**
 * `cli(args)` runs `secure-msg ARGS` with `defaults` in its environment (unless `env`
 * overrides them); `ok` also expects exit 0.
 */
export function cliRunner(defaults: Env) {
  const cli = (args: string[], opts: { input?: string | Buffer; env?: Env } = {}) =>
    spawnRun(process.execPath, [MAIN, ...args], { ...opts, env: { ...defaults, ...opts.env } });
  const ok = async (...a: Parameters<typeof cli>): Promise<Run> => {
    const r = await cli(...a);
    if (r.code !== 0) throw new Error(`secure-msg ${a[0].join(" ")} exited ${r.code}: ${r.stderr}`);
    return r;
  };
  return { cli, ok };
}
