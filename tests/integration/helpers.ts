/**
 * Real processes on 127.0.0.1 for the integration tests: the compiled `secure-msg` CLI
 * (tests/global-setup.ts builds dist/), relays started with `secure-msg relay --port 0`
 * (the real port is read from its `listening on` line), and `inbox --watch --json`
 * followers. Every child is tracked, and `killAll` ends the ones a failed test left.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const MAIN = join(ROOT, "dist", "cli", "main.js");
export const PASSWORD = "integration test password";

/** The runner's environment without SECURE_MSG_* or relay settings of its own. */
const RESERVED = /^(SECURE_MSG_|HOST$|PORT$|DATABASE_URL$|LOG_LEVEL$)/;
const baseEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !RESERVED.test(k)),
) as Record<string, string>;
const cliEnv = { ...baseEnv, SECURE_MSG_PASSWORD: PASSWORD, SECURE_MSG_KDF: "1024,1,1" };

const children = new Set<ChildProcessWithoutNullStreams>();

/** Detached: no controlling terminal, so a missing password fails instead of prompting. */
function start(args: string[], opts: { cwd?: string; command?: string } = {}) {
  const child = spawn(opts.command ?? process.execPath, opts.command ? args : [MAIN, ...args], {
    env: cliEnv,
    cwd: opts.cwd ?? ROOT,
    detached: true,
  });
  children.add(child);
  child.on("exit", () => children.delete(child));
  child.stdin.on("error", () => undefined); // the CLI may exit before reading stdin
  return child;
}

export function killAll(): void {
  for (const c of children) c.kill("SIGKILL");
}

function exited(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `secure-msg ARGS` to its end, with `input` on stdin. */
export function cli(
  args: string[],
  opts: { input?: string; command?: string; timeoutMs?: number } = {},
): Promise<Run> {
  const child = start(args, opts.command ? { command: opts.command } : {});
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (d: Buffer) => out.push(d));
  child.stderr.on("data", (d: Buffer) => err.push(d));
  child.stdin.end(opts.input ?? "");
  const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
  });
}

/** Runs and expects exit 0. */
export async function ok(args: string[], input?: string): Promise<Run> {
  const r = await cli(args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`secure-msg ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r;
}

/** Collects a child's stdout lines and waits for the ones a test expects. */
class Lines {
  readonly lines: string[] = [];
  private buf = "";
  private waiters: (() => void)[] = [];
  stderr = "";

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on("data", (d: Buffer) => {
      this.buf += d.toString("utf8");
      const parts = this.buf.split("\n");
      this.buf = parts.pop()!;
      this.lines.push(...parts);
      for (const w of this.waiters.splice(0)) w();
    });
    child.stderr.on("data", (d: Buffer) => {
      this.stderr += d.toString("utf8");
      for (const w of this.waiters.splice(0)) w();
    });
    child.on("exit", () => {
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Waits until `done(lines)` is defined (stdout lines; `stderr` may be read too); fails after `timeoutMs` or if the child exits first. */
  async until<T>(done: (lines: string[]) => T | undefined, what: string, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = done(this.lines);
      if (v !== undefined) return v;
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(`exited before ${what}: ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

export interface RelayProcess {
  url: string;
  port: number;
  host: string;
  fingerprint: string;
  child: ChildProcessWithoutNullStreams;
  output: Lines;
  /** Sends `signal` and resolves with the exit code (null when killed by the signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `secure-msg relay` on 127.0.0.1 (port 0: a free one) and waits until it listens. */
export async function startRelay(
  dataDir: string,
  port = 0,
  extra: string[] = [],
): Promise<RelayProcess> {
  const child = start([
    "relay",
    "--port",
    String(port),
    "--data",
    dataDir,
    "--log-level",
    "warn",
    ...extra,
  ]);
  const output = new Lines(child);
  const [url, p] = await output.until((lines) => {
    for (const l of lines) {
      const m = /^listening on (http:\/\/127\.0\.0\.1:(\d+))$/.exec(l);
      if (m) return [m[1]!, Number(m[2])] as const;
    }
    return undefined;
  }, "the relay to listen");
  const fingerprint = await output.until(
    (lines) => lines.map((l) => /^relay fingerprint: (.+)$/.exec(l)?.[1]).find(Boolean),
    "the relay fingerprint",
  );
  await output.until(
    () => (output.stderr.includes("relay key file") ? true : undefined),
    "the key file note",
  );
  return {
    url,
    port: p,
    host: `127.0.0.1:${p}`,
    fingerprint,
    child,
    output,
    stop: (signal = "SIGTERM") => {
      const done = exited(child);
      child.kill(signal);
      return done;
    },
  };
}

/**
 * Starts `secure-msg relay --database-url URL` (PostgreSQL). Processes started with one
 * `dataDir` share its key file, as the README tells operators to.
 */
export function startPgRelay(
  dataDir: string,
  databaseUrl: string,
  extra: string[] = [],
): Promise<RelayProcess> {
  return startRelay(dataDir, 0, ["--database-url", databaseUrl, ...extra]);
}

export interface Watcher {
  output: Lines;
  /** Waits until `n` messages (JSON lines) have arrived and returns them. */
  messages(n: number): Promise<Message[]>;
  /** SIGINT, as Ctrl-C would; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export interface Message {
  id: string;
  from: string;
  at: string;
  text: string;
  verified: boolean;
}

/** `secure-msg inbox --watch --json` as a child process. */
export function watch(profile: string): Watcher {
  const child = start(["inbox", "--profile", profile, "--watch", "--json"]);
  child.stdin.end();
  const output = new Lines(child);
  const parsed = () => output.lines.filter(Boolean).map((l) => JSON.parse(l) as Message);
  return {
    output,
    messages: (n) =>
      output.until(() => (parsed().length >= n ? parsed() : undefined), `${n} messages`),
    stop: () => {
      const done = exited(child);
      child.kill("SIGINT");
      return done;
    },
  };
}
